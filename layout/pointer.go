package layout

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Pointer is a file of a Trainer folder naming the tag folder a resume
// reads: DeepSpeed's latest (the ZeRO shards, read without
// load_universal) or ds_to_universal's latest_universal (the universal
// checkpoint, read with load_universal).
type Pointer struct {
	File   string // the pointer file's path
	Layout string // the layout the tag folder should hold
	Tag    string // the folder it names
	// Problem says what is wrong ("" when the tag folder holds the layout).
	Problem string
}

// pointerFiles are the pointer files and the layouts they point to.
var pointerFiles = []struct{ file, layout, reader string }{
	{"latest", Zero, "a resume without load_universal"},
	{"latest_universal", Universal, "a resume with load_universal"},
}

// Pointers reads the pointer files of dir (none when it has none) and
// checks that each names a folder holding its layout.
func Pointers(dir string) []Pointer {
	var out []Pointer
	for _, pf := range pointerFiles {
		file := filepath.Join(dir, pf.file)
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		p := Pointer{File: file, Layout: pf.layout, Tag: strings.TrimSpace(string(b))}
		o, _ := Lookup(pf.layout)
		fi, err := os.Stat(filepath.Join(dir, p.Tag))
		switch {
		case p.Tag == "" || strings.ContainsAny(p.Tag, "/\\") || p.Tag == "." || p.Tag == "..":
			p.Problem = fmt.Sprintf("%s names %q, not a tag folder: %s fails", pf.file, p.Tag, pf.reader)
		case err != nil || !fi.IsDir():
			p.Problem = fmt.Sprintf("%s names %s, which is not in %s: %s reads it and fails", pf.file, p.Tag, dir, pf.reader)
		case o.Detect(dir) != nil:
			p.Problem = fmt.Sprintf("%s names %s, which holds no %s checkpoint: %s reads it and fails", pf.file, p.Tag, o.Title, pf.reader)
		}
		out = append(out, p)
	}
	return out
}
