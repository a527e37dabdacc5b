// Package hugepages asks Linux to back the Go heap with transparent huge
// pages, for a short-lived process whose heap grows from nothing.
//
// A fresh heap page costs a page fault at its first touch. On virtual
// machines a fault is expensive (20 µs a page on the development VM: 160
// ms to touch 32 MiB, against 2.5 ms in 2 MiB pages: BenchmarkTouch), and opening a
// checkpoint of thousands of files touches tens of MiB of fresh heap: most
// of the kernel time of `ckptinspect stats` on such a checkpoint. Where
// transparent huge pages are enabled only on request (the kernel's
// "madvise" mode, the default of many distributions) the Go runtime never
// requests them for the heap; [Heap] does, once, at start-up.
package hugepages

// Advised is the address range [Start, Start+Len) of heap advised to be
// backed by huge pages.
type Advised struct {
	Start uintptr
	Len   int
}
