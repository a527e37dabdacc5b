//go:build unix

package mmap

import (
	"io"
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

// openFileLimit returns the soft limit on open files, or 0 if unknown.
func openFileLimit() int64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<40 {
		return 0
	}
	return int64(r.Cur)
}

// openFile opens name for reading without blocking (a FIFO opened for
// reading would wait for a writer; it is refused as not a regular file,
// from the descriptor's own mode). It works on the bare descriptor: a
// small file takes open, fstat, read and close and nothing more (an
// os.File would also offer a non-blocking descriptor to Go's poller, a
// wasted system call per file of a checkpoint of thousands). A file to be
// mapped gets an os.File, blocking again, for ReadAt.
func openFile(name string) (opened, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return opened{}, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return opened{}, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		syscall.Close(fd)
		return opened{}, &os.PathError{Op: "open", Path: name, Err: errNotFile}
	default:
		syscall.Close(fd)
		return opened{}, &os.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	size := int64(st.Size)
	if takeSmall(size) {
		defer syscall.Close(fd)
		data := make([]byte, size)
		if err := readFull(fd, data); err != nil {
			heldSmall.Add(-size)
			return opened{}, &os.PathError{Op: "read", Path: name, Err: err}
		}
		return opened{small: data}, nil
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return opened{}, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return opened{file: os.NewFile(uintptr(fd), name), size: size}, nil
}

// readFull fills b from the start of the file fd.
func readFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Read(fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return io.ErrUnexpectedEOF // the file shrank since fstat
		}
		b = b[n:]
	}
	return nil
}
