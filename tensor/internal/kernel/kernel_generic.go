package kernel

import (
	"encoding/binary"
	"math"
	"sync"
)

// block is the number of elements a contiguous kernel processes with fresh
// partial sums before adding them to the Moments. Summing in blocks keeps the
// rounding error of S1 and S2 far below that of one long running sum, and
// bounds the work redone when a block holds a NaN or an Inf.
const block = 512

// F32Generic is the pure-Go implementation of F32:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(u)), shift)
//	}
func F32Generic(b []byte, n, strideBytes int, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 4:
		b = b[:4*n]
		for len(b) > 0 {
			k := min(len(b), 4*block)
			if !f32Block(b[:k], shift, m) {
				for i := 0; i < k; i += 4 {
					m.Add(float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))), shift)
				}
			}
			b = b[k:]
		}
	case strideBytes == 0:
		addRepeated(m, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*strideBytes:]))), shift)
		}
	}
}

// f32Block adds the float32 elements of b (len(b) a multiple of 4, > 0) to m
// and reports true if they are all finite; otherwise it leaves m untouched and
// reports false.
//
// Four elements are loaded per step. Their shifted values are added in pairs
// to two partial sums of each kind (four independent accumulators for S1 and
// S2: more only spill registers in Go). Zeros are counted without branches.
// The minimum and maximum are updated only when a comparison of the four
// against the current extremes says so, a branch rarely taken once the
// extremes are found. A NaN or an infinity makes the sums non-finite, so the
// sums detect them for free (see commit). Comparisons cannot tell -0 from +0:
// when an extreme is zero, settleZeros gives it its sign.
func f32Block(b []byte, shift float64, m *Moments) bool {
	var s0, s1, q0, q1 float64
	lo := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	hi := lo
	var z int64
	n := int64(len(b) / 4)
	p := b
	for len(p) >= 16 {
		u0 := binary.LittleEndian.Uint32(p[0:4])
		u1 := binary.LittleEndian.Uint32(p[4:8])
		u2 := binary.LittleEndian.Uint32(p[8:12])
		u3 := binary.LittleEndian.Uint32(p[12:16])
		if u0<<1 == 0 {
			z++
		}
		if u1<<1 == 0 {
			z++
		}
		if u2<<1 == 0 {
			z++
		}
		if u3<<1 == 0 {
			z++
		}
		x0 := float64(math.Float32frombits(u0))
		x1 := float64(math.Float32frombits(u1))
		x2 := float64(math.Float32frombits(u2))
		x3 := float64(math.Float32frombits(u3))
		if x0 < lo || x0 > hi || x1 < lo || x1 > hi || x2 < lo || x2 > hi || x3 < lo || x3 > hi {
			lo, hi = min(lo, x0, x1, x2, x3), max(hi, x0, x1, x2, x3)
		}
		d0, d1, d2, d3 := x0-shift, x1-shift, x2-shift, x3-shift
		s0 += d0 + d1
		s1 += d2 + d3
		q0 += d0*d0 + d1*d1
		q1 += d2*d2 + d3*d3
		p = p[16:]
	}
	for ; len(p) >= 4; p = p[4:] {
		u0 := binary.LittleEndian.Uint32(p[0:4])
		if u0<<1 == 0 {
			z++
		}
		x0 := float64(math.Float32frombits(u0))
		if x0 < lo || x0 > hi {
			lo, hi = min(lo, x0), max(hi, x0)
		}
		d0 := x0 - shift
		s0, q0 = s0+d0, q0+d0*d0
	}
	if lo == 0 || hi == 0 {
		var neg, pos bool
		for p := b; len(p) >= 4; p = p[4:] {
			u := binary.LittleEndian.Uint32(p)
			neg = neg || u == 0x80000000
			pos = pos || u == 0
		}
		lo, hi = settleZeros(lo, hi, neg, pos)
	}
	return commit(m, n, z, s0+s1, q0+q1, lo, hi)
}

// BF16Generic is the pure-Go implementation of BF16:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(uint32(u)<<16)), shift)
//	}
func BF16Generic(b []byte, n, strideBytes int, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 2:
		b = b[:2*n]
		for len(b) > 0 {
			k := min(len(b), 2*block)
			if !bf16Block(b[:k], shift, m) {
				for i := 0; i < k; i += 2 {
					m.Add(FromBF16(binary.LittleEndian.Uint16(b[i:])), shift)
				}
			}
			b = b[k:]
		}
	case strideBytes == 0:
		addRepeated(m, FromBF16(binary.LittleEndian.Uint16(b)), n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(FromBF16(binary.LittleEndian.Uint16(b[i*strideBytes:])), shift)
		}
	}
}

// bf16Block is f32Block for bfloat16 elements (len(b) a multiple of 2, > 0).
func bf16Block(b []byte, shift float64, m *Moments) bool {
	var s0, s1, q0, q1 float64
	lo := FromBF16(binary.LittleEndian.Uint16(b))
	hi := lo
	var z int64
	n := int64(len(b) / 2)
	p := b
	for len(p) >= 8 {
		h0 := binary.LittleEndian.Uint16(p[0:2])
		h1 := binary.LittleEndian.Uint16(p[2:4])
		h2 := binary.LittleEndian.Uint16(p[4:6])
		h3 := binary.LittleEndian.Uint16(p[6:8])
		if h0&0x7fff == 0 {
			z++
		}
		if h1&0x7fff == 0 {
			z++
		}
		if h2&0x7fff == 0 {
			z++
		}
		if h3&0x7fff == 0 {
			z++
		}
		x0 := float64(math.Float32frombits(uint32(h0) << 16))
		x1 := float64(math.Float32frombits(uint32(h1) << 16))
		x2 := float64(math.Float32frombits(uint32(h2) << 16))
		x3 := float64(math.Float32frombits(uint32(h3) << 16))
		if x0 < lo || x0 > hi || x1 < lo || x1 > hi || x2 < lo || x2 > hi || x3 < lo || x3 > hi {
			lo, hi = min(lo, x0, x1, x2, x3), max(hi, x0, x1, x2, x3)
		}
		d0, d1, d2, d3 := x0-shift, x1-shift, x2-shift, x3-shift
		s0 += d0 + d1
		s1 += d2 + d3
		q0 += d0*d0 + d1*d1
		q1 += d2*d2 + d3*d3
		p = p[8:]
	}
	for ; len(p) >= 2; p = p[2:] {
		h0 := binary.LittleEndian.Uint16(p[0:2])
		if h0&0x7fff == 0 {
			z++
		}
		x0 := FromBF16(h0)
		if x0 < lo || x0 > hi {
			lo, hi = min(lo, x0), max(hi, x0)
		}
		d0 := x0 - shift
		s0, q0 = s0+d0, q0+d0*d0
	}
	if lo == 0 || hi == 0 {
		neg, pos := zeroSigns16(b)
		lo, hi = settleZeros(lo, hi, neg, pos)
	}
	return commit(m, n, z, s0+s1, q0+q1, lo, hi)
}

// F16Generic is the pure-Go implementation of F16:
//
//	for i := 0; i < n; i++ {
//		h := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(FromF16(h), shift)
//	}
func F16Generic(b []byte, n, strideBytes int, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 2:
		tab := f16Table()
		b = b[:2*n]
		for len(b) > 0 {
			k := min(len(b), 2*block)
			if !f16Block(b[:k], tab, shift, m) {
				for i := 0; i < k; i += 2 {
					m.Add(FromF16(binary.LittleEndian.Uint16(b[i:])), shift)
				}
			}
			b = b[k:]
		}
	case strideBytes == 0:
		addRepeated(m, FromF16(binary.LittleEndian.Uint16(b)), n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(FromF16(binary.LittleEndian.Uint16(b[i*strideBytes:])), shift)
		}
	}
}

// f16Block is f32Block for float16 elements (len(b) a multiple of 2, > 0),
// decoded through tab, the table of all float16 values: a lookup is cheaper
// in Go than the arithmetic of FromF16.
func f16Block(b []byte, tab *[1 << 16]float32, shift float64, m *Moments) bool {
	var s0, s1, q0, q1 float64
	lo := FromF16(binary.LittleEndian.Uint16(b))
	hi := lo
	var z int64
	n := int64(len(b) / 2)
	p := b
	for len(p) >= 8 {
		h0 := binary.LittleEndian.Uint16(p[0:2])
		h1 := binary.LittleEndian.Uint16(p[2:4])
		h2 := binary.LittleEndian.Uint16(p[4:6])
		h3 := binary.LittleEndian.Uint16(p[6:8])
		if h0&0x7fff == 0 {
			z++
		}
		if h1&0x7fff == 0 {
			z++
		}
		if h2&0x7fff == 0 {
			z++
		}
		if h3&0x7fff == 0 {
			z++
		}
		x0, x1, x2, x3 := float64(tab[h0]), float64(tab[h1]), float64(tab[h2]), float64(tab[h3])
		if x0 < lo || x0 > hi || x1 < lo || x1 > hi || x2 < lo || x2 > hi || x3 < lo || x3 > hi {
			lo, hi = min(lo, x0, x1, x2, x3), max(hi, x0, x1, x2, x3)
		}
		d0, d1, d2, d3 := x0-shift, x1-shift, x2-shift, x3-shift
		s0 += d0 + d1
		s1 += d2 + d3
		q0 += d0*d0 + d1*d1
		q1 += d2*d2 + d3*d3
		p = p[8:]
	}
	for ; len(p) >= 2; p = p[2:] {
		h0 := binary.LittleEndian.Uint16(p[0:2])
		if h0&0x7fff == 0 {
			z++
		}
		x0 := FromF16(h0)
		if x0 < lo || x0 > hi {
			lo, hi = min(lo, x0), max(hi, x0)
		}
		d0 := x0 - shift
		s0, q0 = s0+d0, q0+d0*d0
	}
	if lo == 0 || hi == 0 {
		neg, pos := zeroSigns16(b)
		lo, hi = settleZeros(lo, hi, neg, pos)
	}
	return commit(m, n, z, s0+s1, q0+q1, lo, hi)
}

// F64Generic is the pure-Go implementation of F64:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint64(b[i*strideBytes:])
//		m.Add(math.Float64frombits(u), shift)
//	}
func F64Generic(b []byte, n, strideBytes int, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 8:
		b = b[:8*n]
		for len(b) > 0 {
			k := min(len(b), 8*block)
			if !f64Block(b[:k], shift, m) {
				for i := 0; i < k; i += 8 {
					m.Add(math.Float64frombits(binary.LittleEndian.Uint64(b[i:])), shift)
				}
			}
			b = b[k:]
		}
	case strideBytes == 0:
		addRepeated(m, math.Float64frombits(binary.LittleEndian.Uint64(b)), n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(math.Float64frombits(binary.LittleEndian.Uint64(b[i*strideBytes:])), shift)
		}
	}
}

// f64Block is f32Block for float64 elements (len(b) a multiple of 8, > 0).
func f64Block(b []byte, shift float64, m *Moments) bool {
	var s0, s1, q0, q1 float64
	lo := math.Float64frombits(binary.LittleEndian.Uint64(b))
	hi := lo
	var z int64
	n := int64(len(b) / 8)
	p := b
	for len(p) >= 32 {
		u0 := binary.LittleEndian.Uint64(p[0:8])
		u1 := binary.LittleEndian.Uint64(p[8:16])
		u2 := binary.LittleEndian.Uint64(p[16:24])
		u3 := binary.LittleEndian.Uint64(p[24:32])
		if u0<<1 == 0 {
			z++
		}
		if u1<<1 == 0 {
			z++
		}
		if u2<<1 == 0 {
			z++
		}
		if u3<<1 == 0 {
			z++
		}
		x0 := math.Float64frombits(u0)
		x1 := math.Float64frombits(u1)
		x2 := math.Float64frombits(u2)
		x3 := math.Float64frombits(u3)
		if x0 < lo || x0 > hi || x1 < lo || x1 > hi || x2 < lo || x2 > hi || x3 < lo || x3 > hi {
			lo, hi = min(lo, x0, x1, x2, x3), max(hi, x0, x1, x2, x3)
		}
		d0, d1, d2, d3 := x0-shift, x1-shift, x2-shift, x3-shift
		s0 += d0 + d1
		s1 += d2 + d3
		q0 += d0*d0 + d1*d1
		q1 += d2*d2 + d3*d3
		p = p[32:]
	}
	for ; len(p) >= 8; p = p[8:] {
		u0 := binary.LittleEndian.Uint64(p[0:8])
		if u0<<1 == 0 {
			z++
		}
		x0 := math.Float64frombits(u0)
		if x0 < lo || x0 > hi {
			lo, hi = min(lo, x0), max(hi, x0)
		}
		d0 := x0 - shift
		s0, q0 = s0+d0, q0+d0*d0
	}
	if lo == 0 || hi == 0 {
		var neg, pos bool
		for p := b; len(p) >= 8; p = p[8:] {
			u := binary.LittleEndian.Uint64(p)
			neg = neg || u == 1<<63
			pos = pos || u == 0
		}
		lo, hi = settleZeros(lo, hi, neg, pos)
	}
	return commit(m, n, z, s0+s1, q0+q1, lo, hi)
}

// Table8Generic is the pure-Go implementation of Table8:
//
//	for i := 0; i < n; i++ {
//		m.Add(tab[b[i*strideBytes]], shift)
//	}
func Table8Generic(b []byte, n, strideBytes int, tab *[256]float64, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 1:
		b = b[:n]
		for len(b) > 0 {
			k := min(len(b), block)
			if !table8Block(b[:k], tab, shift, m) {
				for _, c := range b[:k] {
					m.Add(tab[c], shift)
				}
			}
			b = b[k:]
		}
	case strideBytes == 0:
		addRepeated(m, tab[b[0]], n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(tab[b[i*strideBytes]], shift)
		}
	}
}

// table8Block is f32Block for one-byte elements decoded through tab.
func table8Block(b []byte, tab *[256]float64, shift float64, m *Moments) bool {
	var s0, s1, q0, q1 float64
	lo := tab[b[0]]
	hi := lo
	var z int64
	n := int64(len(b))
	p := b
	for len(p) >= 4 {
		x0, x1, x2, x3 := tab[p[0]], tab[p[1]], tab[p[2]], tab[p[3]]
		if x0 == 0 {
			z++
		}
		if x1 == 0 {
			z++
		}
		if x2 == 0 {
			z++
		}
		if x3 == 0 {
			z++
		}
		if x0 < lo || x0 > hi || x1 < lo || x1 > hi || x2 < lo || x2 > hi || x3 < lo || x3 > hi {
			lo, hi = min(lo, x0, x1, x2, x3), max(hi, x0, x1, x2, x3)
		}
		d0, d1, d2, d3 := x0-shift, x1-shift, x2-shift, x3-shift
		s0 += d0 + d1
		s1 += d2 + d3
		q0 += d0*d0 + d1*d1
		q1 += d2*d2 + d3*d3
		p = p[4:]
	}
	for _, c := range p {
		x0 := tab[c]
		if x0 == 0 {
			z++
		}
		if x0 < lo || x0 > hi {
			lo, hi = min(lo, x0), max(hi, x0)
		}
		d0 := x0 - shift
		s0, q0 = s0+d0, q0+d0*d0
	}
	if lo == 0 || hi == 0 {
		var neg, pos bool
		for _, c := range b {
			if x := tab[c]; x == 0 {
				neg = neg || math.Signbit(x)
				pos = pos || !math.Signbit(x)
			}
		}
		lo, hi = settleZeros(lo, hi, neg, pos)
	}
	return commit(m, n, z, s0+s1, q0+q1, lo, hi)
}

// Decode accumulates n elements of itemsize bytes through dec; it is the
// path for the dtypes without a dedicated kernel, and has no assembly:
//
//	for i := 0; i < n; i++ {
//		m.Add(dec(b[i*strideBytes:]), shift)
//	}
func Decode(b []byte, n, strideBytes int, dec Decoder, shift float64, m *Moments) {
	switch {
	case n <= 0:
	case strideBytes == 0:
		addRepeated(m, dec(b), n, shift)
	default:
		for i := 0; i < n; i++ {
			m.Add(dec(b[i*strideBytes:]), shift)
		}
	}
}

// commit adds the partial results of a block of n elements to m if its sums
// s1 and s2 are finite, and reports whether it did. A NaN or an infinite
// element makes the sum of its lane, and so s1, NaN or infinite; finite
// elements whose sums overflow (float64 data beyond about 1e154) give a false
// alarm, and the caller's per-element path is then just as right.
func commit(m *Moments, n, z int64, s1, s2, lo, hi float64) bool {
	if s1-s1 != 0 || s2-s2 != 0 {
		return false
	}
	m.N += n
	m.Zeros += z
	m.S1 += s1
	m.S2 += s2
	m.Min = min(m.Min, lo)
	m.Max = max(m.Max, hi)
	return true
}

// f16Table returns the table of the float32 values of all float16 bit
// patterns (256 KiB), built on first use.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = float32(FromF16(uint16(i)))
	}
	return &t
})

// settleZeros gives a zero extreme of a block its sign, as min and max would:
// lo becomes -0 if the block holds a -0 (neg), and hi becomes +0 if it holds
// a +0 (pos).
func settleZeros(lo, hi float64, neg, pos bool) (float64, float64) {
	negZero := math.Copysign(0, -1)
	if lo == 0 {
		lo = 0
		if neg {
			lo = negZero
		}
	}
	if hi == 0 {
		hi = negZero
		if pos {
			hi = 0
		}
	}
	return lo, hi
}

// zeroSigns16 reports whether the 16-bit floats (bfloat16 or float16) of b
// include a -0 and a +0.
func zeroSigns16(b []byte) (neg, pos bool) {
	for ; len(b) >= 2; b = b[2:] {
		u := binary.LittleEndian.Uint16(b)
		neg = neg || u == 0x8000
		pos = pos || u == 0
	}
	return neg, pos
}

// addRepeated adds n copies of x (a stride-0, broadcast run) to m at the cost
// of one: the counts and sums of a single Add, multiplied by n.
func addRepeated(m *Moments, x float64, n int, shift float64) {
	t := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
	t.Add(x, shift)
	k := int64(n)
	t.N *= k
	t.NaN *= k
	t.PosInf *= k
	t.NegInf *= k
	t.Zeros *= k
	t.S1 *= float64(n)
	t.S2 *= float64(n)
	m.Merge(&t)
}
