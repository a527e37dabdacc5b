package scan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const corpus = "../testdata/hostile"

// golden is testdata/hostile/golden.json: per corpus file, the globals
// CPython 3.11's unpickler imports (what find_class receives), recorded by
// testdata/gen/gen_hostile_record.py with a find_class that resolves
// nothing.
type golden struct {
	Files map[string]struct {
		Imports [][2]string `json:"imports"`
		Dynamic bool        `json:"dynamic"`
		Note    string      `json:"note"`
	} `json:"files"`
}

func readGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Files) == 0 {
		t.Fatal("empty golden")
	}
	return g
}

// TestCorpusVerdicts scans every corpus file: each hostile one is flagged
// (dangerous or unknown: exit 1), each benign one is clean.
func TestCorpusVerdicts(t *testing.T) {
	g := readGolden(t)
	hostile, benign := 0, 0
	for name := range g.Files {
		data, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		f := New(Options{}).Bytes(name, data)
		switch {
		case strings.HasPrefix(name, "hostile/"):
			hostile++
			if f.Verdict != "dangerous" && f.Verdict != "unknown" {
				t.Errorf("%s: %s, want flagged (%s)", name, f.Verdict, g.Files[name].Note)
			}
			if strings.HasPrefix(name, "hostile/policy_unknown") != (f.Verdict == "unknown") {
				t.Errorf("%s: %s (%+v)", name, f.Verdict, f.Globals)
			}
		case strings.HasPrefix(name, "benign/"):
			benign++
			if f.Verdict != "clean" {
				t.Errorf("%s: %s, want clean: %+v %s", name, f.Verdict, f.Globals, f.Error)
			}
		}
	}
	if hostile < 150 || benign < 30 {
		t.Errorf("%d hostile and %d benign files, want at least 150 and 30", hostile, benign)
	}
}

// TestCorpusDifferential checks that the globals scan reports for each
// corpus file are exactly those CPython's unpickler imports.
func TestCorpusDifferential(t *testing.T) {
	g := readGolden(t)
	names := make([]string, 0, len(g.Files))
	for n := range g.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(name, "hostile/limit_") {
			continue // past a limit the scan stops (and flags the file)
		}
		want := g.Files[name]
		data, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		f := New(Options{}).Bytes(name, data)
		got := map[[2]string]bool{}
		dynamic := false
		for _, gl := range f.Globals {
			if gl.Module == "?" {
				dynamic = dynamic || gl.Name != "(computed callable)"
				continue
			}
			for _, r := range gl.raw {
				got[r] = true
			}
		}
		wantSet := map[[2]string]bool{}
		for _, r := range want.Imports {
			wantSet[r] = true
		}
		var missing, extra []string
		for r := range wantSet {
			if !got[r] {
				missing = append(missing, r[0]+" "+r[1])
			}
		}
		for r := range got {
			if !wantSet[r] {
				extra = append(extra, r[0]+" "+r[1])
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 || dynamic != want.Dynamic {
			t.Errorf("%s: scan misses %q, adds %q; dynamic %v, CPython %v", name, missing, extra, dynamic, want.Dynamic)
		}
	}
}
