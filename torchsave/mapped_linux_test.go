package torchsave

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
)

// TestOpenMappedUntouched opens every fixture large enough to be mapped:
// a zip file is parsed from copies read with pread, so its mapping has no
// page in the process afterwards, and what is read equals what Parse reads
// from the same bytes in memory.
func TestOpenMappedUntouched(t *testing.T) {
	var files []string
	filepath.Walk("../testdata", func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.HasSuffix(p, ".pt") && fi.Size() > mmap.SmallFile {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 5 {
		t.Fatalf("only %d mapped fixtures", len(files))
	}
	for _, p := range files {
		f, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !f.m.Mapped() {
			f.Close()
			continue // over the small files' budget of the process: read into memory
		}
		if f.Format == FormatZip {
			if f.touched {
				t.Errorf("%s: read through its mapping", p)
			}
			if rss := mappedRSS(t, f.m.Bytes()); rss != 0 {
				t.Errorf("%s: %d kB of the mapping resident after Open", p, rss)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(p, data, Options{})
		if err != nil {
			t.Fatalf("%s: Parse: %v", p, err)
		}
		if got, want := describe(t, f), describe(t, g); got != want {
			t.Errorf("%s: Open read\n%s\nParse read\n%s", p, got, want)
		}
		f.Close()
	}
}

// mappedRSS returns the resident kilobytes of the mapping holding b, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, b []byte) int {
	t.Helper()
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	fh, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		var kb int
		if in {
			if n, _ := fmt.Sscanf(line, "Rss: %d kB", &kb); n == 1 {
				return kb
			}
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}
