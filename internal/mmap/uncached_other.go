//go:build !linux

package mmap

// ReadAtUncached is [File.ReadAt] where direct I/O is not available. On
// Linux it reads bytes that are not in the page cache past it, so that a
// few scattered reads ahead of a sequential pass leave nothing cached.
func (m *File) ReadAtUncached(p []byte, off int64) (int, error) { return m.ReadAt(p, off) }
