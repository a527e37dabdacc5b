package kernel

import (
	"encoding/binary"
	"math"
)

// FromBF16 returns the value of the bfloat16 with bits u: the float32 whose top
// 16 bits are u. Every bfloat16, NaN payloads included, is exact in float64.
func FromBF16(u uint16) float64 {
	return float64(math.Float32frombits(uint32(u) << 16))
}

// FromF16 returns the value of the IEEE 754 binary16 with bits h (1 sign bit, 5
// exponent bits with bias 15, 10 mantissa bits; subnormals, ±Inf and NaN).
// Every binary16 is exact in float64. The decoding is branch-free: the
// magnitude bits are moved into a float64 and re-biased, exponent 31 (Inf and
// NaN) is mapped to 2047, and a subnormal m·2⁻²⁴ is formed exactly as
// 2⁻¹⁴·(1+m/1024) − 2⁻¹⁴.
func FromF16(h uint16) float64 {
	u := uint64(h)
	mag := u & 0x7fff
	e := mag >> 10
	sub := (e - 1) >> 63 // 1 when e == 0 (zero or subnormal)
	inf := (e + 1) >> 5  // 1 when e == 31 (Inf or NaN)
	bits := mag<<42 + (1008+sub+1008*inf)<<52
	f := math.Float64frombits(bits) - math.Float64frombits(sub*0x3f10000000000000) // 0x3f1... is 2⁻¹⁴
	return math.Float64frombits(math.Float64bits(f) | (u&0x8000)<<48)
}

// FromE4M3FN returns the value of the float8_e4m3fn byte b: 1 sign bit, 4
// exponent bits with bias 7, 3 mantissa bits, subnormals, no infinities; the
// patterns S.1111.111 are NaN, so the largest magnitude is 448.
func FromE4M3FN(b uint8) float64 {
	e := int(b>>3) & 0xf
	mant := float64(b & 7)
	var v float64
	switch {
	case e == 15 && b&7 == 7:
		return math.NaN()
	case e == 0:
		v = math.Ldexp(mant/8, -6)
	default:
		v = math.Ldexp(1+mant/8, e-7)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return v
}

// FromE5M2 returns the value of the float8_e5m2 byte b: 1 sign bit, 5 exponent
// bits with bias 15, 2 mantissa bits, with subnormals, ±Inf (exponent 31,
// mantissa 0) and NaN (exponent 31, mantissa != 0), like IEEE 754.
func FromE5M2(b uint8) float64 {
	e := int(b>>2) & 0x1f
	mant := float64(b & 3)
	var v float64
	switch {
	case e == 31 && b&3 != 0:
		return math.NaN()
	case e == 31:
		v = math.Inf(1)
	case e == 0:
		v = math.Ldexp(mant/4, -14)
	default:
		v = math.Ldexp(1+mant/4, e-15)
	}
	if b&0x80 != 0 {
		v = -v
	}
	return v
}

// Tables of the 256 values of each one-byte dtype, for Table8.
var (
	TableBool   = makeTable(func(b uint8) float64 { return float64(min(b, 1)) }) // any nonzero byte is true (1)
	TableUint8  = makeTable(func(b uint8) float64 { return float64(b) })
	TableInt8   = makeTable(func(b uint8) float64 { return float64(int8(b)) })
	TableE4M3FN = makeTable(FromE4M3FN)
	TableE5M2   = makeTable(FromE5M2)
)

func makeTable(f func(uint8) float64) *[256]float64 {
	var t [256]float64
	for i := range t {
		t[i] = f(uint8(i))
	}
	return &t
}

// A Decoder returns the value of the element stored at the start of b.
type Decoder func(b []byte) float64

// Decoders for the multi-byte dtypes without a dedicated kernel. Integers
// wider than 53 bits are rounded to the nearest float64. Complex numbers
// decode to their modulus |z|: NaN if either part is NaN, otherwise +Inf if
// either part is infinite; complex64 as sqrt(re²+im²) in float64 (the
// squares of float32 parts are exact and cannot overflow), complex128 as Abs.
var (
	DecodeInt16  Decoder = func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) }
	DecodeInt32  Decoder = func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) }
	DecodeInt64  Decoder = func(b []byte) float64 { return float64(int64(binary.LittleEndian.Uint64(b))) }
	DecodeUint16 Decoder = func(b []byte) float64 { return float64(binary.LittleEndian.Uint16(b)) }
	DecodeUint32 Decoder = func(b []byte) float64 { return float64(binary.LittleEndian.Uint32(b)) }
	DecodeUint64 Decoder = func(b []byte) float64 { return float64(binary.LittleEndian.Uint64(b)) }

	DecodeComplex64 Decoder = func(b []byte) float64 {
		_ = b[7]
		re := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[0:])))
		im := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4:])))
		if re != re || im != im {
			return math.NaN()
		}
		return math.Sqrt(re*re + im*im) // the squares are exact and cannot overflow
	}
	DecodeComplex128 Decoder = func(b []byte) float64 {
		_ = b[15]
		re := math.Float64frombits(binary.LittleEndian.Uint64(b[0:]))
		im := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
		return Abs(re, im)
	}
)

// Abs returns the modulus of re+im·i: NaN if either part is NaN, otherwise
// +Inf if either part is infinite, otherwise sqrt(re²+im²). When the larger
// part is between 2⁻⁴⁵⁰ and 2⁵⁰⁰ the sum of squares is carried with its
// rounding errors (exact products by FMA, an exact two-sum) and the square
// root gets one Newton correction, which makes the result correctly rounded
// in all but astronomically rare cases, as C's hypot (used by NumPy and
// PyTorch) is; math.Hypot, used outside that range, can be an ulp off.
func Abs(re, im float64) float64 {
	if re != re || im != im {
		return math.NaN()
	}
	a, b := math.Abs(re), math.Abs(im)
	if hi := max(a, b); hi > 0x1p-450 && hi < 0x1p500 {
		// a² + b² cannot overflow; a part whose square is subnormal is
		// far below an ulp of the larger square.
		p1, p2 := a*a, b*b
		e1, e2 := math.FMA(a, a, -p1), math.FMA(b, b, -p2)
		s := p1 + p2
		bv := s - p1
		e3 := (p1 - (s - bv)) + (p2 - bv) // two-sum error of p1 + p2
		h := math.Sqrt(s)
		if h == 0 {
			return 0
		}
		r := math.FMA(-h, h, s) + (e1 + e2 + e3)
		return h + r/(2*h)
	}
	return math.Hypot(re, im)
}
