//go:build !unix

package mmap

import (
	"io"
	"os"
)

// openPortable is openFile through package os: it opens name with open,
// which must refuse what would block, then reads a small file whole.
func openPortable(name string, open func(string) (*os.File, error)) (opened, error) {
	f, err := open(name)
	if err != nil {
		return opened{}, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(name, fi)
	}
	if err != nil {
		f.Close()
		return opened{}, err
	}
	size := fi.Size()
	if !takeSmall(size) {
		return opened{file: f, size: size}, nil
	}
	defer f.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		heldSmall.Add(-size)
		return opened{}, &os.PathError{Op: "read", Path: name, Err: err}
	}
	return opened{small: data}, nil
}

func checkRegular(name string, fi os.FileInfo) error {
	if fi.IsDir() {
		return &os.PathError{Op: "open", Path: name, Err: errNotFile}
	}
	if !fi.Mode().IsRegular() {
		return &os.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	return nil
}
