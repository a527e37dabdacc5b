//go:build unix

package mmap

import (
	"os"
	"syscall"
)

func mapFile(f *os.File, size int) ([]byte, bool, error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

func unmap(data []byte) error { return syscall.Munmap(data) }

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

// openFileLimit returns the soft limit on open files, or 0 if unknown.
func openFileLimit() int64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<40 {
		return 0
	}
	return int64(r.Cur)
}
