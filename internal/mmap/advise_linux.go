package mmap

import (
	"os"
	"syscall"
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
	default:
		adv = syscall.MADV_NORMAL
	}
	return syscall.Madvise(data[lo:hi], adv)
}
