package scan

import (
	"context"
	"sort"
	"testing"
)

// TestPaths scans a folder and a file given twice over: every file once,
// in path order, one summary, exit 1 for the dangerous ones; a cancelled
// context stops it.
func TestPaths(t *testing.T) {
	r, err := Paths(context.Background(), []string{"../testdata/scan", "../testdata/scan/zip_eval.pt", "../testdata/missing.pt"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) < 5 || !sort.SliceIsSorted(r.Files, func(i, j int) bool { return r.Files[i].Path < r.Files[j].Path }) {
		t.Fatalf("%d files, sorted %v", len(r.Files), r.Files)
	}
	if r.Summary.Files != len(r.Files) || r.Summary.Dangerous == 0 || r.Summary.ExitCode != 1 || r.Skipped == nil {
		t.Errorf("summary %+v", r.Summary)
	}
	missing := false
	for _, f := range r.Files {
		missing = missing || (f.Path == "../testdata/missing.pt" && f.Error != "")
	}
	if !missing {
		t.Error("the missing file is not reported")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Paths(ctx, []string{"../testdata/scan"}, Options{}); err == nil {
		t.Error("a cancelled scan went on")
	}
}
