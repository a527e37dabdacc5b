package hugepages

import (
	"runtime"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Heap maps n bytes of heap address space and advises the kernel to back
// them with huge pages (MADV_HUGEPAGE), then lets the heap have them back:
// the heap's next allocations, lowest addresses first, reuse that range.
// Nothing is touched, so nothing becomes resident until used, and the
// kernel falls back to small pages where it has no huge page at hand.
// Once free, the range is the heap's like any other: Go's scavenger may
// return parts of it to the kernel (its first collections released all 64
// MiB within ~30 ms here, GODEBUG=scavtrace=1), which splits those huge
// pages, and allocations there later fault in small pages again; what is
// touched before that stays huge.
// Call it at start-up, before the heap grows. It returns the advised range,
// or the error of madvise (transparent huge pages compiled out, or an
// old kernel); errors change nothing but speed.
func Heap(n int) (Advised, error) {
	if n <= 0 {
		return Advised{}, nil
	}
	// The allocation would start a collection of its own (the heap grows
	// past the first goal), and b would still be live for it: one
	// collection, once b is dropped, is all it takes (two cost ~1 ms more
	// at start-up).
	old := debug.SetGCPercent(-1)
	b := make([]byte, n) // fresh from the OS: the runtime does not clear it
	a := Advised{Start: uintptr(unsafe.Pointer(unsafe.SliceData(b))), Len: n}
	err := unix.Madvise(b, unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	b = nil
	debug.SetGCPercent(old)
	runtime.GC() // frees b's pages for the allocations to come
	return a, err
}
