// Package mmap maps files read-only into memory.
//
// A [File] is a read-only view of a whole file: on Unix systems a shared,
// read-only memory mapping, elsewhere the file's bytes read into memory (as
// is a small file everywhere: see [SmallFile]). The mapping is released by
// [File.Close]; a finalizer is only a safety net.
// Writing into the bytes returned by [File.Bytes] is a programmer error (on
// Unix it faults), and nothing in this package ever opens a file for writing.
package mmap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// Advice tells the kernel how a range of the mapping will be used.
type Advice int

// The advice values understood by [File.Advise]. Where the platform has no
// such advice, Advise does nothing.
const (
	Normal     Advice = iota
	Sequential        // read in order: read ahead aggressively
	WillNeed          // read soon: start reading it in now
	DontNeed          // done with it: the pages may be dropped from this process
	Random            // touched in a few places: read only the pages touched
)

// File is a file mapped read-only into memory. It is safe for concurrent
// use; Close must not race with other methods.
type File struct {
	name string
	data []byte
	mmap bool
	file *os.File // kept open while mapped, for ReadAt
	held int64    // bytes of a small file read into memory (see Open), 0 otherwise
}

// Open maps the named file read-only. Directories and other non-regular
// files are refused.
//
// A new mapping is advised Random: a first touch reads only its own page
// from the file, not the megabytes around it the kernel would otherwise
// read. Callers read a file's headers in a few places (a zip directory, a
// pickle) with ReadAt advised Random (see [File.AdviseReads]), or where
// they must, through the mapping, and read tensor bytes in order with
// pread, whose read-ahead caches them in large pages; pages read around a
// touch would be cached in small ones instead (see [File.ReadAtUncached]).
// A caller that reads a range through the mapping in order advises
// WillNeed first. The descriptor kept for [File.ReadAt] is advised
// sequential (as cat advises its input), which doubles the kernel's
// read-ahead window for it.
func Open(name string) (*File, error) {
	o, err := openFile(name)
	if err != nil {
		return nil, err
	}
	m := &File{name: name}
	if o.small != nil {
		// One read costs less than a mapping's setup, first touches and
		// teardown, which for a checkpoint of thousands of small files
		// dominate its opening.
		m.data, m.held = o.small, int64(len(o.small))
		runtime.SetFinalizer(m, (*File).Close)
		return m, nil
	}
	f, size := o.file, o.size
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	if size < 0 || int64(int(size)) != size {
		return nil, &os.PathError{Op: "mmap", Path: name, Err: fmt.Errorf("file size %d too large to map", size)}
	}
	if size == 0 {
		return m, nil
	}
	data, mapped, err := mapFile(f, int(size))
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: name, Err: err}
	}
	m.data, m.mmap = data, mapped
	if mapped {
		advise(data, 0, int64(len(data)), Random)
	}
	if mapped && keptFiles.Add(1) <= fdBudget() {
		m.file, keep = f, true
		adviseSequential(f)
	} else if mapped {
		keptFiles.Add(-1) // over budget: ReadAt reads through the mapping
	}
	runtime.SetFinalizer(m, (*File).Close)
	return m, nil
}

// opened is a regular file openFile opened: either a small file's bytes,
// read whole (see takeSmall), or the open file and its size.
type opened struct {
	small []byte
	file  *os.File
	size  int64
}

// takeSmall reports whether a file of size bytes is to be read into
// memory, counting it in the small files' budget if so.
func takeSmall(size int64) bool {
	if size <= 0 || size > SmallFile {
		return false
	}
	if heldSmall.Add(size) <= SmallBudget {
		return true
	}
	heldSmall.Add(-size)
	return false
}

var (
	errNotFile    = errors.New("is a directory, not a file")
	errNotRegular = errors.New("not a regular file")
)

// SmallFile is the size up to which [Open] reads a file into memory
// instead of mapping it, while the small files open in the process hold
// at most SmallBudget bytes in all (past it, they are mapped too).
const (
	SmallFile   = 64 << 10
	SmallBudget = 32 << 20
)

// heldSmall counts the bytes of the small files read into memory and not
// closed.
var heldSmall atomic.Int64

// keptFiles counts the descriptors mapped Files keep open for ReadAt.
// It is process-wide because the limit it respects is.
var keptFiles atomic.Int64

// fdBudget is how many descriptors mapped Files may keep open: half the
// process's limit on open files, so that checkpoints of many thousands of
// files never exhaust it (the files beyond are read through their mapping).
var fdBudget = sync.OnceValue(func() int64 {
	if n := openFileLimit(); n > 0 {
		return n / 2
	}
	return 512
})

// FromBytes wraps data already in memory as a File named name (for data
// that does not come from a file, and for tests). Close does not free it.
func FromBytes(name string, data []byte) *File {
	return &File{name: name, data: data}
}

// Name returns the path the file was opened with.
func (m *File) Name() string { return m.name }

// Len returns the file's length in bytes.
func (m *File) Len() int { return len(m.data) }

// Mapped reports whether the file's bytes are a memory mapping (not read
// into memory, as a small file's are).
func (m *File) Mapped() bool { return m.mmap }

// ReadsFile reports whether [File.ReadAt] reads the file with pread, so
// that reading with it leaves the mapping untouched (it copies from the
// mapping where no descriptor was kept).
func (m *File) ReadsFile() bool { return m.file != nil }

// AdviseReads passes advice about the reads of [File.ReadAt] to the
// kernel, for the descriptor it reads with (it is advised Sequential when
// the file is opened). Random turns read-ahead off: a read brings in only
// the pages it asks for, which suits reading a few places of a file (its
// headers) before, or instead of, reading it in order. Only Random,
// Sequential and Normal apply; it must not race with ReadAt.
func (m *File) AdviseReads(a Advice) {
	if m.file != nil {
		adviseReads(m.file, a)
	}
}

// Bytes returns the whole mapping. The slice must not be written to, and
// must not be used after Close.
func (m *File) Bytes() []byte { return m.data }

// ReadAt implements io.ReaderAt. For a mapped file it reads with pread
// from the file behind the mapping instead of through the mapping: the
// kernel copies the bytes from the page cache, and the mapping is not
// touched, so the pages are not faulted into (nor counted in) the process.
// Reading a large range once this way can be much faster than through a
// fresh mapping (notably in virtual machines, where first touches of mapped
// pages are slow). The bytes are those of the file now, as the mapping's
// are. Where no descriptor is kept (see [Open]) it copies from the mapping.
func (m *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mmap: negative offset")
	}
	if m.file != nil {
		return m.file.ReadAt(p, off)
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Advise passes advice about the byte range [off, off+n) to the kernel.
// Ranges are widened to whole pages; errors are ignored by most callers,
// since advice never changes what is read.
func (m *File) Advise(off, n int64, a Advice) error {
	if !m.mmap || n <= 0 || off < 0 || off >= int64(len(m.data)) {
		return nil
	}
	if off+n > int64(len(m.data)) || off+n < off {
		n = int64(len(m.data)) - off
	}
	return advise(m.data, off, n, a)
}

// Close releases the mapping. It is safe to call more than once.
func (m *File) Close() error {
	if m == nil || m.data == nil {
		return nil
	}
	data := m.data
	m.data = nil
	runtime.SetFinalizer(m, nil)
	if m.held > 0 {
		heldSmall.Add(-m.held)
		m.held = 0
	}
	if m.file != nil {
		m.file.Close()
		m.file = nil
		keptFiles.Add(-1)
	}
	if m.mmap {
		return unmap(data)
	}
	return nil
}
