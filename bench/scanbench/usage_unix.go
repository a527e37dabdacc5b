//go:build unix

package main

import "syscall"

// usage returns the process's CPU times and peak resident set.
func usage() rusage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)*1e-6 }
	return rusage{user: sec(ru.Utime), sys: sec(ru.Stime), maxRSS: int64(ru.Maxrss) << 10}
}
