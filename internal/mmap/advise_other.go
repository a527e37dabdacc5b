//go:build !linux

package mmap

import "os"

// advise does nothing where the standard library has no madvise: advice
// never changes what is read, only how fast pages come and go.
func advise([]byte, int64, int64, Advice) error { return nil }

// adviseReads does nothing where the standard library has no fadvise.
func adviseReads(*os.File, Advice) {}

// adviseSequential does nothing where the standard library has no fadvise.
func adviseSequential(*os.File) {}
