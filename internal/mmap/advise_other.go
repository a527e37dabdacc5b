//go:build !linux

package mmap

// advise does nothing where the standard library has no madvise: advice
// never changes what is read, only how fast pages come and go.
func advise([]byte, int64, int64, Advice) error { return nil }
