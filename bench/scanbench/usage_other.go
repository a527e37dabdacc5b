//go:build !unix

package main

// usage is unknown where getrusage is missing: zeros.
func usage() rusage { return rusage{} }
