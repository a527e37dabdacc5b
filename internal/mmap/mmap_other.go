//go:build !unix && !windows

package mmap

import (
	"io"
	"os"
)

// mapFile reads the file into memory where mmap is not available.
func mapFile(f *os.File, size int) ([]byte, bool, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false, err
	}
	return data, false, nil
}

func unmap([]byte) error { return nil }

func openFileLimit() int64 { return 0 }

// openFile opens name for reading, after checking that it is a regular
// file (opening a FIFO would block until a writer comes).
func openFile(name string) (opened, error) { return openPortable(name, openChecked) }

func openChecked(name string) (*os.File, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(name, fi); err != nil {
		return nil, err
	}
	return os.Open(name)
}
