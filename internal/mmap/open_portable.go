//go:build !unix

package mmap

import (
	"io"
	"os"
)

// openFile opens name for reading through package os, after checking that
// it is a regular file (opening a FIFO would block until a writer comes),
// and reads a small file whole.
func openFile(name string) (opened, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return opened{}, err
	}
	if err := checkRegular(name, fi); err != nil {
		return opened{}, err
	}
	f, err := os.Open(name)
	if err != nil {
		return opened{}, err
	}
	fi, err = f.Stat()
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
