package pickle

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// reusable returns the bytes Load would give a reused machine, or nil when
// Load would not reuse one for data.
func reusable(data []byte) []byte {
	prog, err := Inspect(data, Limits{})
	if err != nil || prog.fresh || prog.End > maxReused || prog.Straddle || prog.End != prog.StreamEnd {
		return nil
	}
	return applyRewrites(data[:prog.End], prog.rewrites)
}

// checkReuse runs a then b on one machine and requires b to read as it
// does on a new machine.
func checkReuse(t *testing.T, a, b []byte, what string) {
	t.Helper()
	ra, rb := reusable(a), reusable(b)
	if ra == nil || rb == nil {
		return
	}
	want, werr := runVM(rb, nil)
	m := newMachine()
	if _, err := runVM(ra, m); err != nil {
		return // a failed machine is never reused
	}
	got, gerr := runVM(rb, m)
	if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: on a reused machine %v (%v), on a new one %v (%v)", what, got, gerr, want, werr)
	}
}

// reuseSeeds are the pickles of testdata and the data.pkl records of the
// torch.save fixtures written by real PyTorch.
func reuseSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pkl"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds[filepath.Base(p)] = b
	}
	pts, _ := filepath.Glob(filepath.Join("..", "testdata", "torch", "*.pt"))
	for _, p := range pts {
		zr, err := zip.OpenReader(p)
		if err != nil {
			continue // the legacy format
		}
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "data.pkl") {
				rc, _ := zf.Open()
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				seeds[filepath.Base(p)+"/"+zf.Name] = b
			}
		}
		zr.Close()
	}
	return seeds
}

// TestMachineReuse checks that a machine reused by Load reads every pickle
// as a new machine does, whatever pickle it read before (the memo still
// holds that one's entries).
func TestMachineReuse(t *testing.T) {
	seeds := reuseSeeds(t)
	n := 0
	for an, a := range seeds {
		for bn, b := range seeds {
			if reusable(a) != nil && reusable(b) != nil {
				n++
			}
			checkReuse(t, a, b, an+" then "+bn)
		}
	}
	if n < 50 {
		t.Errorf("only %d pairs of reusable pickles", n)
	}
	// Pickles with MEMOIZE or FRAME never get a reused machine.
	for name, b := range seeds {
		prog, err := Inspect(b, Limits{})
		if err != nil {
			continue
		}
		if want := prog.Proto >= 4; prog.fresh != want {
			t.Errorf("%s: protocol %d, fresh %v", name, prog.Proto, prog.fresh)
		}
	}
}

// FuzzMachineReuse is TestMachineReuse on any two pickles.
func FuzzMachineReuse(f *testing.F) {
	seeds := reuseSeeds(f)
	for _, a := range seeds {
		for _, b := range seeds {
			f.Add(a, b)
			break
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		checkReuse(t, a, b, "fuzzed pair")
	})
}
