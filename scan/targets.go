package scan

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/sniff"
)

// Targets lists the files to scan for the given paths: each file given,
// and below each folder given every regular file that some loader reads
// as a checkpoint, chosen by content ([sniff]), never by name. Symbolic
// links to files are followed; symbolic links to folders are not (they
// are listed as skipped), so link loops end. Paths that cannot be read
// become reports with their error. lookedAt counts the files looked at.
func Targets(paths []string) (files []string, failedFiles []File, skipped []Skipped, lookedAt int) {
	seen := map[string]bool{}
	addFile := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	addErr := func(p string, err error) {
		if !seen[p] {
			seen[p] = true
			failedFiles = append(failedFiles, failed(p, err))
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			lookedAt++
			addErr(root, pathError(root, err))
			continue
		}
		if !fi.IsDir() {
			lookedAt++
			addFile(root)
			continue
		}
		walkRoot := root
		if li, err := os.Lstat(root); err == nil && li.Mode()&fs.ModeSymlink != 0 {
			walkRoot = root + string(filepath.Separator) // WalkDir does not follow a symlinked root
		}
		filepath.WalkDir(walkRoot, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				lookedAt++
				addErr(p, pathError(p, err))
				return nil
			}
			if d.IsDir() {
				return nil
			}
			lookedAt++
			if d.Type()&fs.ModeSymlink != 0 {
				ti, err := os.Stat(p)
				switch {
				case err == nil && ti.IsDir():
					skipped = append(skipped, Skipped{Path: p, Reason: "symbolic link to a folder: not followed"})
					return nil
				case err != nil:
					addErr(p, pathError(p, err))
					return nil
				}
			} else if !d.Type().IsRegular() {
				ti, err := d.Info()
				if err == nil {
					addErr(p, pathError(p, &fs.PathError{Op: "open", Path: p, Err: errNotRegular(ti.Mode())}))
				}
				return nil
			}
			if why := notCheckpoint(p); why != "" {
				skipped = append(skipped, Skipped{Path: p, Reason: why})
				return nil
			}
			addFile(p)
			return nil
		})
	}
	sort.Strings(files)
	return files, failedFiles, skipped, lookedAt
}

type notRegular string

func (e notRegular) Error() string { return string(e) }

func errNotRegular(m fs.FileMode) error {
	return notRegular("not a regular file (" + fileKind(m) + ")")
}

// notCheckpoint says why no loader reads the file at p as a checkpoint, or
// "" when some loader does (or when it cannot be read: then the scan says
// why).
func notCheckpoint(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	conts := sniff.Sniff(f, fi.Size())
	if len(conts) == 0 {
		if fi.Size() == 0 {
			return "empty file"
		}
		return "not a checkpoint: no loader reads it (neither zip, tar, safetensors nor pickle)"
	}
	if len(conts) == 1 && conts[0] == sniff.Pickle {
		// Text files often start with a letter that is a pickle opcode:
		// a pickle reader fails on them before importing anything.
		var head [512]byte
		n, _ := f.ReadAt(head[:], 0)
		if n > 0 && head[0] != 0x80 && looksText(head[:n]) {
			m, err := mmap.Open(p)
			if err != nil {
				return ""
			}
			defer m.Close()
			prog, err := pickle.Inspect(m.Bytes(), pickle.Limits{})
			if err != nil && len(prog.Globals) == 0 && len(prog.Computed) == 0 && !errors.Is(err, pickle.ErrLimit) {
				return "not a checkpoint: text that a pickle reader rejects before importing anything"
			}
		}
	}
	return ""
}

// looksText reports whether b is printable text (UTF-8 or ASCII control
// characters of text files only).
func looksText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}
