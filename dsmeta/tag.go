package dsmeta

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TagRule says how a layout finds its tag folder in a DeepSpeed save
// folder (a Trainer checkpoint-N/ folder, or the folder given to
// save_checkpoint): the folder its pointer file names, or, without a
// pointer file, the only subfolder matching Pattern that is a tag.
type TagRule struct {
	Pointer string                // the pointer file: "latest", "latest_universal"
	Pattern string                // glob of candidate tag folders: "global_step*"
	IsTag   func(dir string) bool // whether a folder is a tag of the layout
	Holds   string                // what a tag has, for errors: "a zero/ folder"
	Kind    string                // what the tags are, for errors: "universal tag folders"
	// Missing is wrapped by the error of a pointer file naming a folder
	// that is not a tag; None by the error of a folder holding no tag.
	Missing, None error
}

// Find returns the tag folder of the save folder dir.
func (r TagRule) Find(dir string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(dir, r.Pointer)); err == nil {
		tag := strings.TrimSpace(string(b))
		if tag == "" || strings.ContainsAny(tag, "/\\") || tag == "." || tag == ".." {
			return "", fmt.Errorf("%s: %s names %q, not a tag folder", dir, r.Pointer, tag)
		}
		t := filepath.Join(dir, tag)
		if !r.IsTag(t) {
			return "", fmt.Errorf("%s: %w: %s names %s, which lacks %s", dir, r.Missing, r.Pointer, tag, r.Holds)
		}
		return t, nil
	}
	matches, _ := filepath.Glob(filepath.Join(dir, r.Pattern))
	var tags []string
	for _, m := range matches {
		if r.IsTag(m) {
			tags = append(tags, m)
		}
	}
	switch len(tags) {
	case 1:
		return tags[0], nil
	case 0:
		return "", fmt.Errorf("%s: %w: no %s file, and no %s/ folder has %s", dir, r.None, r.Pointer, r.Pattern, r.Holds)
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = filepath.Base(t)
	}
	return "", fmt.Errorf("%s: %d %s and no %s file to choose: %s", dir, len(tags), r.Kind, r.Pointer, strings.Join(names, ", "))
}
