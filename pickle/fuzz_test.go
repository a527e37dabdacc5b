package pickle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad requires that Load never panics, hangs or allocates without
// bound, and that every failure wraps one of the package's sentinels.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pkl"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, prog, err := Load(data, Options{Resolve: func(o *Object) (any, error) { return nil, nil }})
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrUnsafe) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if prog.End <= 0 || prog.End > int64(len(data)) {
			t.Fatalf("End %d outside 1..%d", prog.End, len(data))
		}
		_ = Repr(v)
	})
}

// FuzzInspect requires that Inspect never panics and that a pickle it
// accepts ends where it says.
func FuzzInspect(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pkl"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		prog, err := Inspect(data, Limits{})
		// Also after an error: what was found lies inside the data.
		for _, g := range prog.Globals {
			if g.Offset < 0 || g.Offset >= int64(len(data)) {
				t.Fatalf("global %s.%s at offset %d of %d bytes", g.Module, g.Name, g.Offset, len(data))
			}
			for _, p := range g.Payloads {
				if p.Offset < 0 || p.Length < 0 || p.Offset+p.Length > int64(len(data)) {
					t.Fatalf("payload %+v outside %d bytes", p, len(data))
				}
			}
		}
		if err != nil {
			return
		}
		// One of Python's readers ends the pickle: just past a STOP for a
		// reader with look-ahead; within the data for one without.
		if prog.End == 0 && prog.StreamEnd == 0 {
			t.Fatal("no reading ends the pickle, yet no error")
		}
		if prog.End > 0 && (prog.End > int64(len(data)) || data[prog.End-1] != '.') {
			t.Fatalf("End %d is not just past a STOP", prog.End)
		}
		if prog.StreamEnd < 0 || prog.StreamEnd > int64(len(data)) {
			t.Fatalf("StreamEnd %d outside %d bytes", prog.StreamEnd, len(data))
		}
		if !prog.Straddle && prog.End > 0 && prog.StreamEnd != prog.End && prog.StreamEnd == 0 {
			t.Fatalf("readers disagree without a straddle: End %d, StreamEnd %d", prog.End, prog.StreamEnd)
		}
		for _, g := range prog.Globals {
			(Policy{}).Judge(g)
		}
	})
}
