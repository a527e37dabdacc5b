package torchsave

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/pickle"
)

func seeds(f *testing.F, pattern string, zip bool) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 64<<10 {
			continue
		}
		if bytes.HasPrefix(b, []byte("PK")) == zip {
			f.Add(b)
		}
	}
}

// fuzzOpen requires that a file either opens, with every tensor's view
// valid and its statistics computable, or fails with a categorised error.
func fuzzOpen(t *testing.T, data []byte) {
	file, err := Parse("fuzz.pt", data, Options{})
	// Read as a mapped file is (headers and pickles copied with ReadAt),
	// the same bytes give the same file or the same error.
	at, atErr := parseFile("fuzz.pt", mmap.FromBytes("fuzz.pt", data), Options{}, true)
	if (err == nil) != (atErr == nil) || category(err) != category(atErr) {
		t.Fatalf("read in place: %v; read with ReadAt: %v", err, atErr)
	}
	if err == nil {
		if got, want := describe(t, at), describe(t, file); got != want {
			t.Fatalf("read with ReadAt\n%s\nread in place\n%s", got, want)
		}
	}
	if err != nil {
		for _, s := range []error{ErrFormat, ErrTruncated, ErrUnsupported, pickle.ErrFormat, pickle.ErrTruncated, pickle.ErrLimit, pickle.ErrUnsafe} {
			if errors.Is(err, s) {
				return
			}
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			return
		}
		t.Fatalf("uncategorised error: %v", err)
	}
	named, err := file.Tensors()
	if err != nil {
		return
	}
	for _, nt := range named {
		v, err := nt.Tensor.View()
		if err != nil {
			continue // an inflate error of a compressed record
		}
		if v.Numel() <= 1<<16 {
			_ = v.Stats()
		}
	}
}

// category names the sentinel errors err wraps (the messages of the two
// ways of reading may differ in the reader's own words).
func category(err error) string {
	var out []string
	for _, s := range []error{ErrFormat, ErrTruncated, ErrUnsupported, pickle.ErrFormat, pickle.ErrTruncated, pickle.ErrLimit, pickle.ErrUnsafe} {
		if errors.Is(err, s) {
			out = append(out, s.Error())
		}
	}
	return strings.Join(out, "; ")
}

// FuzzZip fuzzes the zip container reader, seeded with PyTorch's files.
func FuzzZip(f *testing.F) {
	seeds(f, "../testdata/torch/*.pt", true)
	seeds(f, "../testdata/deepspeed/*.pt", true)
	f.Fuzz(fuzzOpen)
}

// FuzzLegacy fuzzes the legacy-format reader, seeded with PyTorch's files
// and plain pickles.
func FuzzLegacy(f *testing.F) {
	seeds(f, "../testdata/torch/*.pt", false)
	seeds(f, "../pickle/testdata/*.pkl", false)
	f.Fuzz(fuzzOpen)
}
