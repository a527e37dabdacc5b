package scan

import (
	"errors"

	"github.com/ckptinspect/ckptinspect/pickle"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzScan fuzzes the scan of one file's bytes — zip records, legacy
// pickles, back-to-back pickles and nested _load_from_bytes payloads —
// seeded with the hostile fixtures and PyTorch's files. The scan must never
// panic, must locate every error in the file, and must list references
// inside the data.
func FuzzScan(f *testing.F) {
	for _, pattern := range []string{"../testdata/scan/*", "../testdata/torch/*.pt", "../pickle/testdata/*.pkl", "../testdata/hostile/*/*"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newResult("fuzz.pt")
		New(Options{}).scanData(r, memoryInput(data), ctx{})
		checkParseAt(t, "fuzz.pt", data)
		if r.err != nil {
			var fe *Error
			if !errors.As(r.err, &fe) || fe.Path != "fuzz.pt" {
				t.Fatalf("error not located in the file: %v", r.err)
			}
		}
		doc := r.report(pickle.Policy{})
		for _, g := range doc.Globals {
			if g.Count < len(g.Where) || len(g.Where) == 0 {
				t.Fatalf("%s.%s: count %d, %d places", g.Module, g.Name, g.Count, len(g.Where))
			}
			for _, w := range g.Where {
				nested := strings.Contains(w.Pickle, " > ") || strings.Contains(w.Pickle, "(inflated)")
				if w.Offset < 0 || !nested && w.Offset >= int64(len(data)) {
					t.Fatalf("%s.%s at %s@%d, outside %d bytes", g.Module, g.Name, w.Pickle, w.Offset, len(data))
				}
			}
		}
		if doc.Verdict == "" {
			t.Fatal("no verdict")
		}
	})
}

func TestLatin1(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"\u0080\u00ff\u0000", "\x80\xff\x00", true},
		{"\u0100", "", false},
		{"\xff", "", false},
	}
	for _, c := range cases {
		got, err := latin1([]byte(c.in))
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("latin1(%q) = %q, %v", c.in, got, err)
		}
	}
}
