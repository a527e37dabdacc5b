//go:build linux

package stream

import "syscall"

// newBuffer returns n bytes of memory for a worker, with its pages already
// in place (MAP_POPULATE): touching fresh pages one by one costs a page
// fault each, which on some systems (virtual machines, kernels isolating
// their page tables) is ten times the cost of populating them in one call.
// free releases it.
func newBuffer(n int) (b []byte, free func()) {
	if n <= 0 {
		return nil, func() {}
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_POPULATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { syscall.Munmap(b) }
}
