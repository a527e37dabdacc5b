package mmap

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// evicted writes content to a file, flushes it and drops it from the page
// cache, and returns its path; it skips the test where the file system
// keeps the pages (tmpfs) or has no direct I/O, since then there is nothing
// to observe.
func evicted(t *testing.T, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.bin")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	evict(t, path)
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n := residentPages(t, m, 0, int64(m.Len())); n > 0 {
		t.Skipf("the file system keeps %d pages of an evicted file (tmpfs?)", n)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Skipf("no direct I/O here: %v", err)
	}
	syscall.Close(fd)
	return path
}

// evict drops the file's pages from the page cache.
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Skipf("fadvise: %v", err)
	}
}

// residentPages counts the pages of the bytes [off, off+n) of m's file
// that are in the page cache.
func residentPages(t *testing.T, m *File, off, n int64) int {
	t.Helper()
	vec, err := m.residency(off, n, nil)
	if err != nil {
		t.Fatalf("mincore: %v", err)
	}
	k := 0
	for _, v := range vec {
		k += int(v & 1)
	}
	return k
}

// TestReadAtUncached checks that ReadAtUncached returns what ReadAt does,
// everywhere in a file (unaligned ranges, ranges cut by the end), and
// leaves nothing of an uncached file in the page cache.
func TestReadAtUncached(t *testing.T) {
	const size = 1<<20 + 12345 // not a multiple of the page size
	content := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	path := evicted(t, content)
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cases := []struct{ off, n int64 }{
		{0, 1}, {0, 4096}, {1, 8191}, {4095, 2}, {500000, 256}, {size - 100, 100},
		{size - 100, 200}, {size - 1, 1}, {size - 5000, 5000}, {123456, 70000},
	}
	for range 50 {
		off := rng.Int64N(size)
		cases = append(cases, struct{ off, n int64 }{off, 1 + rng.Int64N(20000)})
	}
	for _, c := range cases {
		got := make([]byte, c.n)
		n, err := m.ReadAtUncached(got, c.off)
		want := content[c.off:min(c.off+c.n, size)]
		if n != len(want) || !bytes.Equal(got[:n], want) {
			t.Fatalf("ReadAtUncached(%d bytes at %d) = %d bytes, differing from the file", c.n, c.off, n)
		}
		var wantErr error
		if int64(len(want)) < c.n {
			wantErr = io.EOF
		}
		if err != wantErr {
			t.Fatalf("ReadAtUncached(%d bytes at %d): error %v, want %v", c.n, c.off, err, wantErr)
		}
	}
	if k := residentPages(t, m, 0, size); k > 0 {
		t.Fatalf("%d pages of the file are cached after uncached reads", k)
	}
	// Cached bytes are read through the cache.
	buf := make([]byte, 100)
	if _, err := m.ReadAt(buf, 300000); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadAtUncached(buf, 300000); err != nil || !bytes.Equal(buf, content[300000:300100]) {
		t.Fatalf("cached read: %v", err)
	}
}

// openEvicted opens a 4 MiB file none of whose pages are cached (see
// evicted), closed when the test ends.
func openEvicted(t *testing.T) (*File, []byte) {
	t.Helper()
	content := bytes.Repeat([]byte("ckptinspect "), 4<<20/12)
	m, err := Open(evicted(t, content))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, content
}

// TestOpenReadsOnlyTouchedPages checks that a touch of a fresh mapping
// reads the page touched, not the pages around it (Open advises Random).
func TestOpenReadsOnlyTouchedPages(t *testing.T) {
	m, content := openEvicted(t)
	mid := int64(len(content) / 2)
	if m.Bytes()[mid] != content[mid] {
		t.Fatal("mapping differs from file")
	}
	if k := residentPages(t, m, 0, int64(m.Len())); k > 1 {
		t.Fatalf("touching one byte cached %d pages of the file, want 1", k)
	}
}

// TestAdviseReads checks that a read after AdviseReads(Random) brings in
// only its own page of an uncached file, and that Sequential gives the
// kernel's read-ahead back (the same read then brings in more).
func TestAdviseReads(t *testing.T) {
	m, _ := openEvicted(t)
	if !m.ReadsFile() {
		t.Skip("no descriptor kept")
	}
	page := int64(os.Getpagesize())
	buf := make([]byte, 64)
	m.AdviseReads(Random)
	if _, err := m.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if k := residentPages(t, m, 0, int64(m.Len())); k != 1 {
		t.Fatalf("a read of 64 bytes advised Random cached %d pages, want 1", k)
	}
	m.AdviseReads(Sequential)
	if _, err := m.ReadAt(buf, page); err != nil { // the next page: reading in order
		t.Fatal(err)
	}
	if k := residentPages(t, m, 0, int64(m.Len())); k <= 2 {
		t.Fatalf("a read of 64 bytes advised Sequential cached %d pages in all, want read-ahead", k)
	}
}
