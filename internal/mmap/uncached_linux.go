package mmap

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// ReadAtUncached reads like [File.ReadAt], but where the bytes are not in
// the page cache it reads them past it (O_DIRECT), leaving nothing cached.
//
// It is for a few small reads scattered over a file that is about to be
// read in order (sampling a tensor before scanning it). Pages those reads
// left cached would sit as islands in the path of the kernel's read-ahead,
// which then caches the rest of the file in small (4 KiB) pages instead of
// large folios, and every later read of the file, by any process, copies
// it out of the page cache markedly slower (README › Performance).
//
// Whether the bytes are cached is asked of the mapping (mincore). The
// kernel answers that only to a process that owns the file or may write
// it, and says "cached" to others; then, and where the file system has no
// direct I/O, this is ReadAt.
func (m *File) ReadAtUncached(p []byte, off int64) (int, error) {
	if m.file == nil || !m.mmap || len(p) == 0 || off < 0 || off >= int64(len(m.data)) || m.cached(off, int64(len(p))) {
		return m.ReadAt(p, off)
	}
	if n, ok := m.readDirect(p, off); ok {
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	return m.ReadAt(p, off)
}

// directAlign is the alignment of direct reads' offsets, lengths and
// buffers: 4 KiB, a multiple of every block device's logical block size.
const directAlign = 4096

// cached reports whether the pages of the bytes [off, off+n) of the file
// are all in the page cache, as far as the kernel tells.
func (m *File) cached(off, n int64) bool {
	var small [16]byte
	vec, err := m.residency(off, n, small[:])
	if err != nil {
		return true // unknown: read through the cache
	}
	for _, v := range vec {
		if v&1 == 0 {
			return false
		}
	}
	return true
}

// residency returns, a byte per page, whether the pages of the bytes
// [off, off+n) of the mapped file are in the page cache (bit 0, mincore's
// answer), using buf when it is large enough.
func (m *File) residency(off, n int64, buf []byte) ([]byte, error) {
	page := int64(os.Getpagesize())
	lo := off &^ (page - 1)
	hi := min(off+n, int64(len(m.data)))
	pages := int((hi - lo + page - 1) / page)
	if len(buf) < pages {
		buf = make([]byte, pages)
	}
	vec := buf[:pages]
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m.data[lo])), uintptr(hi-lo), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return nil, errno
	}
	return vec, nil
}

// readDirect reads p at off from a second descriptor of the file opened
// with O_DIRECT (through /proc/self/fd, so that it is the same file even if
// its path changed since). ok is false where direct reads are not possible
// (no /proc, a file system without direct I/O); n may then be anything.
func (m *File) readDirect(p []byte, off int64) (n int, ok bool) {
	path := "/proc/self/fd/" + strconv.Itoa(int(m.file.Fd()))
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECT|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer syscall.Close(fd)
	lo := off &^ (directAlign - 1)
	hi := (off + int64(len(p)) + directAlign - 1) &^ (directAlign - 1)
	raw := make([]byte, hi-lo+directAlign)
	skip := int(-uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1))
	buf := raw[skip : skip+int(hi-lo)]
	got := 0
	for got < len(buf) {
		k, err := syscall.Pread(fd, buf[got:], lo+int64(got))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, false
		}
		if k == 0 {
			break // end of file
		}
		got += k
		if k%directAlign != 0 {
			break // a short read ends at the end of the file
		}
	}
	start := int(off - lo)
	if got <= start {
		return 0, true
	}
	return copy(p, buf[start:got]), true
}
