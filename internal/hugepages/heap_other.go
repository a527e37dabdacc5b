//go:build !linux

package hugepages

// Heap does nothing where the kernel has no madvise(MADV_HUGEPAGE): the
// heap keeps the platform's pages.
func Heap(n int) (Advised, error) { return Advised{}, nil }
