package mmap

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func advise(data []byte, off, n int64, a Advice) error {
	page := int64(os.Getpagesize())
	lo := off &^ (page - 1)
	hi := off + n
	if a == DontNeed {
		// Only drop pages wholly inside the range.
		lo = (off + page - 1) &^ (page - 1)
		hi = (off + n) &^ (page - 1)
		if off+n == int64(len(data)) {
			hi = off + n
		}
	}
	if hi <= lo {
		return nil
	}
	var adv int
	switch a {
	case Sequential:
		adv = syscall.MADV_SEQUENTIAL
	case WillNeed:
		adv = syscall.MADV_WILLNEED
	case DontNeed:
		adv = syscall.MADV_DONTNEED
	case Random:
		adv = syscall.MADV_RANDOM
	default:
		adv = syscall.MADV_NORMAL
	}
	return syscall.Madvise(data[lo:hi], adv)
}

// adviseReads passes advice about reads of f to the kernel: Random turns
// read-ahead off for its descriptor, Sequential doubles it, Normal
// restores the default.
func adviseReads(f *os.File, a Advice) {
	adv := unix.FADV_NORMAL
	switch a {
	case Random:
		adv = unix.FADV_RANDOM
	case Sequential:
		adv = unix.FADV_SEQUENTIAL
	}
	unix.Fadvise(int(f.Fd()), 0, 0, adv)
}

// adviseSequential tells the kernel that f will be read in order (as cat
// does with its input): read-ahead for its descriptor grows to twice the
// device's default window.
func adviseSequential(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}
