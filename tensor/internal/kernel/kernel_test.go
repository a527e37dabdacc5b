package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"
)

// same reports whether a and b are the same float64, telling -0 from +0 and
// any NaN equal to any NaN.
func same(a, b float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func TestFromBF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		u := uint16(i)
		want := float64(math.Float32frombits(uint32(u) << 16))
		got := FromBF16(u)
		if !same(got, want) {
			t.Fatalf("FromBF16(%#04x) = %v, want %v", u, got, want)
		}
		mag := u & 0x7fff
		if isNaN := mag > 0x7f80; math.IsNaN(got) != isNaN {
			t.Fatalf("FromBF16(%#04x) = %v: NaN classification wrong", u, got)
		}
		if isInf := mag == 0x7f80; math.IsInf(got, 0) != isInf {
			t.Fatalf("FromBF16(%#04x) = %v: Inf classification wrong", u, got)
		}
	}
}

func TestFromF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		u := uint16(i)
		ref := float16.Frombits(u)
		want := float64(ref.Float32())
		got := FromF16(u)
		if !same(got, want) {
			t.Fatalf("FromF16(%#04x) = %v (%#x), want %v", u, got, math.Float64bits(got), want)
		}
		if math.IsNaN(got) != ref.IsNaN() || math.IsInf(got, 1) != ref.IsInf(1) || math.IsInf(got, -1) != ref.IsInf(-1) {
			t.Fatalf("FromF16(%#04x) = %v: classification differs from float16", u, got)
		}
		mag := u & 0x7fff
		if isNaN := mag > 0x7c00; math.IsNaN(got) != isNaN {
			t.Fatalf("FromF16(%#04x) = %v: NaN classification wrong", u, got)
		}
		if isInf := mag == 0x7c00; math.IsInf(got, 0) != isInf {
			t.Fatalf("FromF16(%#04x) = %v: Inf classification wrong", u, got)
		}
	}
}

// refE4M3FN decodes float8_e4m3fn with integer arithmetic: the significand
// as an integer times a power of two.
func refE4M3FN(b uint8) float64 {
	if b&0x7f == 0x7f {
		return math.NaN()
	}
	e, m := int(b>>3&15), int64(b&7)
	var v float64
	if e == 0 {
		v = float64(m) / 512 // m/8 · 2⁻⁶
	} else {
		v = float64(8+m) * math.Pow(2, float64(e-10))
	}
	if b >= 0x80 {
		v = -v
	}
	return v
}

// refE5M2 decodes float8_e5m2 as the top byte of a float16.
func refE5M2(b uint8) float64 {
	return float64(float16.Frombits(uint16(b) << 8).Float32())
}

func TestFloat8Exhaustive(t *testing.T) {
	for i := 0; i < 256; i++ {
		b := uint8(i)
		if got, want := FromE4M3FN(b), refE4M3FN(b); !same(got, want) || !same(TableE4M3FN[b], want) {
			t.Errorf("e4m3fn %#02x: got %v (table %v), want %v", b, got, TableE4M3FN[b], want)
		}
		if got := FromE4M3FN(b); math.IsInf(got, 0) || math.IsNaN(got) != (b&0x7f == 0x7f) {
			t.Errorf("e4m3fn %#02x = %v: wrong NaN/Inf classification", b, got)
		}
		if got, want := FromE5M2(b), refE5M2(b); !same(got, want) || !same(TableE5M2[b], want) {
			t.Errorf("e5m2 %#02x: got %v (table %v), want %v", b, got, TableE5M2[b], want)
		}
		got := FromE5M2(b)
		if math.IsNaN(got) != (b&0x7f > 0x7c) || math.IsInf(got, 1) != (b == 0x7c) || math.IsInf(got, -1) != (b == 0xfc) {
			t.Errorf("e5m2 %#02x = %v: wrong NaN/Inf classification", b, got)
		}
	}
	for _, c := range []struct {
		b    uint8
		e4m3 float64
		e5m2 float64
	}{
		{0x00, 0, 0},
		{0x01, 0x1p-9, 0x1p-16},
		{0x08, 0x1p-6, 0x1p-13},
		{0x38, 1, 0.5},
		{0x3c, 1.5, 1},
		{0x7e, 448, math.NaN()},
		{0x7b, 0x1.6p8, 57344},
		{0xb8, -1, -0.5},
	} {
		if !same(FromE4M3FN(c.b), c.e4m3) || !same(FromE5M2(c.b), c.e5m2) {
			t.Errorf("%#02x: e4m3fn %v e5m2 %v, want %v and %v", c.b, FromE4M3FN(c.b), FromE5M2(c.b), c.e4m3, c.e5m2)
		}
	}
	if !same(FromE4M3FN(0x80), math.Copysign(0, -1)) || !same(FromE5M2(0x80), math.Copysign(0, -1)) {
		t.Error("0x80 is not -0")
	}
}

func TestSmallTables(t *testing.T) {
	for i := 0; i < 256; i++ {
		want := 0.0
		if i != 0 {
			want = 1
		}
		if TableBool[i] != want || TableUint8[i] != float64(i) || TableInt8[i] != float64(int8(i)) {
			t.Fatalf("table entry %d: bool %v uint8 %v int8 %v", i, TableBool[i], TableUint8[i], TableInt8[i])
		}
	}
}

func TestDecoders(t *testing.T) {
	b := []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, c := range []struct {
		name string
		dec  Decoder
		want float64
	}{
		{"int16", DecodeInt16, -2},
		{"int32", DecodeInt32, -2},
		{"int64", DecodeInt64, -2},
		{"uint16", DecodeUint16, 65534},
		{"uint32", DecodeUint32, 4294967294},
		{"uint64", DecodeUint64, 18446744073709551614}, // rounds to 2⁶⁴
	} {
		if got := c.dec(b); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct{ re, im, want float64 }{
		{3, 4, 5},
		{-3, 4, 5},
		{0, 0, 0},
		{inf, 1, inf},
		{1, math.Inf(-1), inf},
		{nan, 1, nan},
		{inf, nan, nan},
		{nan, inf, nan},
		{1e300, 1e300, math.Hypot(1e300, 1e300)},
		{3e-320, 4e-320, 5e-320},
		{0x1p-460, 0x1p-460, 0x1p-460 * math.Sqrt2},
	} {
		var b8 [8]byte
		binary.LittleEndian.PutUint32(b8[0:], math.Float32bits(float32(c.re)))
		binary.LittleEndian.PutUint32(b8[4:], math.Float32bits(float32(c.im)))
		var b16 [16]byte
		binary.LittleEndian.PutUint64(b16[0:], math.Float64bits(c.re))
		binary.LittleEndian.PutUint64(b16[8:], math.Float64bits(c.im))
		exact32 := func(x float64) bool { return math.IsNaN(x) || float64(float32(x)) == x }
		if got := DecodeComplex64(b8[:]); exact32(c.re) && exact32(c.im) && !same(got, c.want) {
			t.Errorf("complex64 |%v%+vi| = %v, want %v", c.re, c.im, got, c.want)
		}
		if got := DecodeComplex128(b16[:]); !same(got, c.want) {
			t.Errorf("complex128 |%v%+vi| = %v, want %v", c.re, c.im, got, c.want)
		}
	}
}

// A kern is one kernel under test with its element decoding for the reference.
type kern struct {
	name string
	size int
	fn   func(b []byte, n, s int, shift float64, m *Moments)
	dec  func(b []byte) float64
	// special holds bit patterns worth planting: NaNs with payloads, ±Inf, ±0.
	special []uint64
}

func kernels() []kern {
	f32 := func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	bf16 := func(b []byte) float64 {
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
	}
	f16 := func(b []byte) float64 { return float64(float16.Frombits(binary.LittleEndian.Uint16(b)).Float32()) }
	f64 := func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }
	t8 := func(tab *[256]float64) func(b []byte, n, s int, shift float64, m *Moments) {
		return func(b []byte, n, s int, shift float64, m *Moments) { Table8(b, n, s, tab, shift, m) }
	}
	t8g := func(tab *[256]float64) func(b []byte, n, s int, shift float64, m *Moments) {
		return func(b []byte, n, s int, shift float64, m *Moments) { Table8Generic(b, n, s, tab, shift, m) }
	}
	dec := func(d Decoder) func(b []byte, n, s int, shift float64, m *Moments) {
		return func(b []byte, n, s int, shift float64, m *Moments) { Decode(b, n, s, d, shift, m) }
	}
	f32s := []uint64{0x7f800001, 0xffc12345, 0x7f800000, 0xff800000, 0x80000000, 0, 1, 0x80000001}
	h16s := []uint64{0x7f81, 0xffc1, 0x7f80, 0xff80, 0x8000, 0, 1}
	f16s := []uint64{0x7c01, 0xfe00, 0x7c00, 0xfc00, 0x8000, 0, 1, 0x83ff}
	f64s := []uint64{0x7ff0000000000001, 0xfff8000000000123, 0x7ff0000000000000, 0xfff0000000000000, 1 << 63, 0, 1}
	b8s := []uint64{0, 0x80, 0x7f, 0xff, 0x7c, 0xfc, 0x7e, 1}
	return []kern{
		{"F32", 4, F32, f32, f32s},
		{"F32Generic", 4, F32Generic, f32, f32s},
		{"BF16", 2, BF16, bf16, h16s},
		{"BF16Generic", 2, BF16Generic, bf16, h16s},
		{"F16", 2, F16, f16, f16s},
		{"F16Generic", 2, F16Generic, f16, f16s},
		{"F64", 8, F64, f64, f64s},
		{"F64Generic", 8, F64Generic, f64, f64s},
		{"Table8/e4m3fn", 1, t8(TableE4M3FN), func(b []byte) float64 { return refE4M3FN(b[0]) }, b8s},
		{"Table8Generic/e4m3fn", 1, t8g(TableE4M3FN), func(b []byte) float64 { return refE4M3FN(b[0]) }, b8s},
		{"Table8/e5m2", 1, t8(TableE5M2), func(b []byte) float64 { return refE5M2(b[0]) }, b8s},
		{"Table8/int8", 1, t8(TableInt8), func(b []byte) float64 { return float64(int8(b[0])) }, b8s},
		{"Decode/int32", 4, dec(DecodeInt32), func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) }, f32s},
		{"Decode/complex64", 8, dec(DecodeComplex64), func(b []byte) float64 {
			re := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			im := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4:])))
			if math.IsNaN(re) || math.IsNaN(im) {
				return math.NaN()
			}
			return math.Sqrt(re*re + im*im)
		}, f64s},
	}
}

// refMoments is the reference loop, with its own classification and
// Neumaier-compensated sums.
func refMoments(k kern, b []byte, n, s int, shift float64) (m Moments, abs1 float64) {
	m = Moments{Min: math.Inf(1), Max: math.Inf(-1)}
	var c1, c2 float64
	for i := 0; i < n; i++ {
		x := k.dec(b[i*s:])
		switch {
		case math.IsNaN(x):
			m.NaN++
		case math.IsInf(x, 1):
			m.PosInf++
		case math.IsInf(x, -1):
			m.NegInf++
		default:
			m.N++
			if x == 0 {
				m.Zeros++
			}
			d := x - shift
			m.S1, c1 = neumaier(m.S1, c1, d)
			m.S2, c2 = neumaier(m.S2, c2, d*d)
			abs1 += math.Abs(d)
			if x < m.Min || (x == 0 && m.Min == 0 && math.Signbit(x)) {
				m.Min = x
			}
			if x > m.Max || (x == 0 && m.Max == 0 && !math.Signbit(x)) {
				m.Max = x
			}
		}
	}
	m.S1 += c1
	m.S2 += c2
	return m, abs1
}

func neumaier(sum, c, x float64) (float64, float64) {
	t := sum + x
	if math.Abs(sum) >= math.Abs(x) {
		c += (sum - t) + x
	} else {
		c += (x - t) + sum
	}
	return t, c
}

// checkMoments compares a kernel's result with the reference: counts, Min
// and Max exactly, sums to within tol relative to Σ|d| (S1) and to S2.
func checkMoments(t *testing.T, what string, got, want Moments, abs1, tol float64) {
	t.Helper()
	if got.N != want.N || got.NaN != want.NaN || got.PosInf != want.PosInf || got.NegInf != want.NegInf || got.Zeros != want.Zeros {
		t.Fatalf("%s: counts N=%d NaN=%d +Inf=%d -Inf=%d zeros=%d, want %d %d %d %d %d", what,
			got.N, got.NaN, got.PosInf, got.NegInf, got.Zeros, want.N, want.NaN, want.PosInf, want.NegInf, want.Zeros)
	}
	if !same(got.Min, want.Min) || !same(got.Max, want.Max) {
		t.Fatalf("%s: min %v max %v, want %v %v", what, got.Min, got.Max, want.Min, want.Max)
	}
	if abs1 > 1e300 || want.S2 > 1e300 || math.IsInf(want.S2, 0) || math.IsNaN(want.S2) {
		return // sums overflowing: order decides where
	}
	if d := math.Abs(got.S1 - want.S1); !(d <= tol*abs1) {
		t.Fatalf("%s: S1 = %v, want %v (Σ|d| %v)", what, got.S1, want.S1, abs1)
	}
	if d := math.Abs(got.S2 - want.S2); !(d <= tol*want.S2) {
		t.Fatalf("%s: S2 = %v, want %v", what, got.S2, want.S2)
	}
}

// fill writes n elements of kernel k at stride s into b: mostly normal
// values around center, with special patterns planted at rate pSpecial.
func fill(r *rand.Rand, k kern, b []byte, n, s int, center, pSpecial float64) {
	for i := 0; i < n; i++ {
		p := b[i*s:]
		if r.Float64() < pSpecial {
			putBits(k.size, p, k.special[r.IntN(len(k.special))])
			continue
		}
		x := center + r.NormFloat64()
		switch k.size {
		case 1:
			p[0] = byte(r.IntN(256))
		case 2:
			if k.name[0] == 'B' {
				binary.LittleEndian.PutUint16(p, uint16(math.Float32bits(float32(x))>>16))
			} else {
				binary.LittleEndian.PutUint16(p, float16.Fromfloat32(float32(x)).Bits())
			}
		case 4:
			if k.name[0] == 'D' { // int32
				binary.LittleEndian.PutUint32(p, uint32(int32(x*1000)))
			} else {
				binary.LittleEndian.PutUint32(p, math.Float32bits(float32(x)))
			}
		case 8:
			if k.name[0] == 'D' { // complex64
				binary.LittleEndian.PutUint32(p, math.Float32bits(float32(x)))
				binary.LittleEndian.PutUint32(p[4:], math.Float32bits(float32(r.NormFloat64())))
			} else {
				binary.LittleEndian.PutUint64(p, math.Float64bits(x))
			}
		}
	}
}

func putBits(size int, p []byte, u uint64) {
	switch size {
	case 1:
		p[0] = byte(u)
	case 2:
		binary.LittleEndian.PutUint16(p, uint16(u))
	case 4:
		binary.LittleEndian.PutUint32(p, uint32(u))
	case 8:
		binary.LittleEndian.PutUint64(p, u)
	}
}

// forPaths runs f once for every path the CPU has, with that path active.
func forPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range Paths() {
		t.Run(p.String(), func(t *testing.T) {
			defer Use(p)()
			f(t)
		})
	}
}

// TestKernels runs every kernel, on every path, on tight sub-slices
// (capacity == length, guard bytes decoding to NaN around them) at every
// misalignment, over lengths around the lane, block and assembly-call
// boundaries, contiguous, broadcast and strided, and compares with the
// reference loop: counts, Min and Max exactly, sums to 1e-13.
func TestKernels(t *testing.T) {
	forPaths(t, testKernels)
}

func testKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 63, 64, 65, 100, 511, 512, 513, 1027, 2048, 2051}
	long := []int{asmBlockTest + 37, 3*asmBlockTest + 5}
	for _, k := range kernels() {
		for _, n := range append(lengths, long...) {
			for _, stride := range []int{k.size, 0, 2 * k.size, 3*k.size + 1} {
				for _, pSpecial := range []float64{0, 0.001, 0.3, 1} {
					for _, mis := range []int{0, 1, 3, 7} {
						if n > 2051 && (mis > 1 || pSpecial == 1) {
							continue
						}
						need := 0
						if n > 0 {
							need = (n-1)*stride + k.size
						}
						buf := make([]byte, mis+need+16)
						for i := range buf {
							buf[i] = 0xff // guards decode to NaN (or -1, 255, 1)
						}
						b := buf[mis : mis+need : mis+need]
						if stride == 0 {
							fill(r, k, b, min(n, 1), 1, 3, pSpecial)
						} else {
							fill(r, k, b, n, stride, 3, pSpecial)
						}
						shift := 3.0
						want, abs1 := refMoments(k, b, n, stride, shift)
						got := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
						k.fn(b, n, stride, shift, &got)
						checkMoments(t, fmt.Sprintf("%s n=%d stride=%d special=%v mis=%d", k.name, n, stride, pSpecial, mis), got, want, abs1, 1e-13)
					}
				}
			}
		}
	}
}

// asmBlockTest is a length that makes the entry points split a run into
// several assembly calls.
const asmBlockTest = 1 << 14

// TestKernelsAccumulate checks that kernels add to existing moments rather
// than overwrite them.
func TestKernelsAccumulate(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, k := range kernels() {
			n := 1500
			b := make([]byte, n*k.size)
			fill(r, k, b, n, k.size, -2, 0.01)
			want, abs1 := refMoments(k, b, n, k.size, 0.5)
			got := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
			k.fn(b[:700*k.size], 700, k.size, 0.5, &got)
			k.fn(b[700*k.size:], n-700, k.size, 0.5, &got)
			checkMoments(t, k.name, got, want, abs1, 1e-13)
		}
	})
}

func TestBlockAllFiniteSignedZeros(t *testing.T) {
	// Min and Max must not depend on which lane sees -0 and +0 first.
	forPaths(t, func(t *testing.T) {
		for _, n := range []int{9, 200} {
			for _, order := range [][]float32{{0, float32(math.Copysign(0, -1))}, {float32(math.Copysign(0, -1)), 0}} {
				b := make([]byte, 4*n)
				for i := 0; i < n; i++ {
					binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(order[i%2]))
				}
				m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				F32(b, n, 4, 0, &m)
				if !math.Signbit(m.Min) || math.Signbit(m.Max) || m.Zeros != int64(n) {
					t.Errorf("n=%d order %v: min %v max %v zeros %d", n, order, m.Min, m.Max, m.Zeros)
				}
			}
		}
	})
}
