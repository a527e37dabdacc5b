package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// File is one input file as a part saw it.
type File struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtime_ns"`
}

// Inputs are the files a command read, with a digest of the list: every
// regular file below the checkpoint folders it was given, and the other
// files it read (an explicit config).
type Inputs struct {
	Files  []File `json:"files"`
	SHA256 string `json:"files_sha256"`
}

// StatInputs lists every regular file below each root (a root that is a
// file: that file; symbolic links followed, folders reached through links
// below a root not entered) and every extra file, by path, with sizes and
// modification times. It also returns the bytes of the files below each
// root.
func StatInputs(roots, extra []string) (Inputs, []int64, error) {
	seen := map[string]bool{}
	var in Inputs
	add := func(path string, fi fs.FileInfo) {
		if !seen[path] {
			seen[path] = true
			in.Files = append(in.Files, File{Path: path, Size: fi.Size(), MtimeNS: fi.ModTime().UnixNano()})
		}
	}
	perRoot := make([]int64, len(roots))
	for i, root := range roots {
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			return Inputs{}, nil, err
		}
		err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			fi, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a dangling link
			}
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(real, p)
			if err != nil {
				return err
			}
			path := root
			if rel != "." {
				path = filepath.Join(root, rel)
			}
			perRoot[i] += fi.Size()
			add(path, fi)
			return nil
		})
		if err != nil {
			return Inputs{}, nil, fmt.Errorf("listing the files of %s: %w", root, err)
		}
	}
	for _, p := range extra {
		fi, err := os.Stat(p)
		if err != nil {
			return Inputs{}, nil, err
		}
		add(p, fi)
	}
	sort.Slice(in.Files, func(i, j int) bool { return in.Files[i].Path < in.Files[j].Path })
	in.SHA256 = in.digest()
	return in, perRoot, nil
}

// digest returns the SHA-256 of the list.
func (in Inputs) digest() string {
	h := sha256.New()
	for _, f := range in.Files {
		fmt.Fprintf(h, "%q %d %d\n", f.Path, f.Size, f.MtimeNS)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// difference describes the first file whose state differs between a and
// b: its path, and what each saw; ok is false when the lists are equal.
func difference(a, b Inputs) (path, sawA, sawB string, ok bool) {
	am, bm := map[string]File{}, map[string]File{}
	var paths []string
	for _, f := range a.Files {
		am[f.Path] = f
		paths = append(paths, f.Path)
	}
	for _, f := range b.Files {
		bm[f.Path] = f
		if _, in := am[f.Path]; !in {
			paths = append(paths, f.Path)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		fa, inA := am[p]
		fb, inB := bm[p]
		if inA && inB && fa == fb {
			continue
		}
		return p, fa.describe(inA), fb.describe(inB), true
	}
	return "", "", "", false
}

// describe says what was seen of a file.
func (f File) describe(present bool) string {
	if !present {
		return "no such file"
	}
	return fmt.Sprintf("%d bytes, modified %s", f.Size, time.Unix(0, f.MtimeNS).UTC().Format("2006-01-02T15:04:05.000000000Z"))
}
