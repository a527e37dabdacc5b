//go:build !linux

package stream

// newBuffer returns n bytes of memory for a worker; free releases it.
func newBuffer(n int) (b []byte, free func()) {
	return make([]byte, n), func() {}
}
