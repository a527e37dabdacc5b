//go:build amd64 && !purego && !noasm

package kernel

// This file holds the entry points on amd64. Assembly kernels, when added,
// are dispatched from here by CPU feature (kernel_amd64.s beside it); an
// entry point without assembly calls its pure-Go implementation.

// F32 accumulates n float32 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(u)), shift)
//	}
func F32(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F32Generic(b, n, strideBytes, shift, m)
}

// BF16 accumulates n bfloat16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(uint32(u)<<16)), shift)
//	}
func BF16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	BF16Generic(b, n, strideBytes, shift, m)
}

// F16 accumulates n float16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		h := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(FromF16(h), shift)
//	}
func F16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F16Generic(b, n, strideBytes, shift, m)
}

// F64 accumulates n float64 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint64(b[i*strideBytes:])
//		m.Add(math.Float64frombits(u), shift)
//	}
func F64(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F64Generic(b, n, strideBytes, shift, m)
}

// Table8 accumulates n one-byte elements of b, decoded through tab, into m:
//
//	for i := 0; i < n; i++ {
//		m.Add(tab[b[i*strideBytes]], shift)
//	}
func Table8(b []byte, n, strideBytes int, tab *[256]float64, shift float64, m *Moments) {
	Table8Generic(b, n, strideBytes, tab, shift, m)
}
