package tensor

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"

	"github.com/x448/float16"
)

// This file holds the test-side references: element decoding written
// independently of the package's decoders, a naive index walk, and a
// compensated two-pass computation of the statistics.

var allDTypes = []DType{Bool, Uint8, Int8, Int16, Int32, Int64, Uint16, Uint32, Uint64,
	Float16, BFloat16, Float32, Float64, Complex64, Complex128, Float8E4M3FN, Float8E5M2}

// same reports whether a and b are the same float64, telling -0 from +0 and
// any NaN equal to any NaN.
func same(a, b float64) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// refE4M3FN decodes float8_e4m3fn with integer arithmetic.
func refE4M3FN(b uint8) float64 {
	if b&0x7f == 0x7f {
		return math.NaN()
	}
	e, m := int(b>>3&15), int64(b&7)
	var v float64
	if e == 0 {
		v = float64(m) / 512
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

func refModulus(re, im float64) float64 {
	switch {
	case math.IsNaN(re) || math.IsNaN(im):
		return math.NaN()
	case math.IsInf(re, 0) || math.IsInf(im, 0):
		return math.Inf(1)
	}
	// Correctly rounded, through exact big.Float arithmetic.
	x := new(big.Float).SetPrec(300).SetFloat64(re)
	y := new(big.Float).SetPrec(300).SetFloat64(im)
	x.Mul(x, x)
	y.Mul(y, y)
	f, _ := x.Add(x, y).Sqrt(x).Float64()
	return f
}

// refValue decodes the element of dtype dt at the start of b.
func refValue(dt DType, b []byte) float64 {
	le := binary.LittleEndian
	switch dt {
	case Bool:
		if b[0] != 0 {
			return 1
		}
		return 0
	case Uint8:
		return float64(b[0])
	case Int8:
		return float64(int8(b[0]))
	case Int16:
		return float64(int16(le.Uint16(b)))
	case Int32:
		return float64(int32(le.Uint32(b)))
	case Int64:
		return float64(int64(le.Uint64(b)))
	case Uint16:
		return float64(le.Uint16(b))
	case Uint32:
		return float64(le.Uint32(b))
	case Uint64:
		return float64(le.Uint64(b))
	case Float16:
		return float64(float16.Frombits(le.Uint16(b)).Float32())
	case BFloat16:
		return float64(math.Float32frombits(uint32(le.Uint16(b)) << 16))
	case Float32:
		return float64(math.Float32frombits(le.Uint32(b)))
	case Float64:
		return math.Float64frombits(le.Uint64(b))
	case Complex64:
		return refModulus(float64(math.Float32frombits(le.Uint32(b))), float64(math.Float32frombits(le.Uint32(b[4:]))))
	case Complex128:
		return refModulus(math.Float64frombits(le.Uint64(b)), math.Float64frombits(le.Uint64(b[8:])))
	case Float8E4M3FN:
		return refE4M3FN(b[0])
	case Float8E5M2:
		return refE5M2(b[0])
	}
	panic("bad dtype")
}

// put encodes x as one element of dt at the start of b (rounding or
// saturating as a cast would; complex numbers get x as real part and im as
// imaginary part).
func put(dt DType, b []byte, x, im float64) {
	le := binary.LittleEndian
	switch dt {
	case Bool:
		b[0] = 0
		if x != 0 {
			b[0] = 1
		}
	case Uint8, Int8:
		b[0] = byte(int64(x))
	case Int16, Uint16:
		le.PutUint16(b, uint16(int64(x)))
	case Int32, Uint32:
		le.PutUint32(b, uint32(int64(x)))
	case Int64:
		le.PutUint64(b, uint64(int64(x)))
	case Uint64:
		le.PutUint64(b, uint64(x))
	case Float16:
		le.PutUint16(b, float16.Fromfloat32(float32(x)).Bits())
	case BFloat16:
		le.PutUint16(b, Float32ToBFloat16(float32(x)))
	case Float32:
		le.PutUint32(b, math.Float32bits(float32(x)))
	case Float64:
		le.PutUint64(b, math.Float64bits(x))
	case Complex64:
		le.PutUint32(b, math.Float32bits(float32(x)))
		le.PutUint32(b[4:], math.Float32bits(float32(im)))
	case Complex128:
		le.PutUint64(b, math.Float64bits(x))
		le.PutUint64(b[8:], math.Float64bits(im))
	case Float8E4M3FN, Float8E5M2:
		b[0] = nearest8(dt, x)
	}
}

// nearest8 returns the float8 byte closest to x (NaN for NaN).
func nearest8(dt DType, x float64) byte {
	dec := refE4M3FN
	if dt == Float8E5M2 {
		dec = refE5M2
	}
	best, bestD := byte(0x7f), math.Inf(1)
	for i := 0; i < 256; i++ {
		v := dec(byte(i))
		if math.IsNaN(v) {
			if math.IsNaN(x) {
				return byte(i)
			}
			continue
		}
		if d := math.Abs(v - x); d < bestD || (d == bestD && math.Signbit(v) == math.Signbit(x)) {
			best, bestD = byte(i), d
		}
	}
	return best
}

// specials returns raw bit patterns of dt worth planting: NaNs with
// payloads, infinities, signed zeros, extremes.
func specials(dt DType) []uint64 {
	switch dt {
	case Float16:
		return []uint64{0x7c01, 0xfe00, 0x7e55, 0x7c00, 0xfc00, 0x8000, 0, 1, 0x7bff, 0xfbff}
	case BFloat16:
		return []uint64{0x7f81, 0xffc1, 0x7fc0, 0x7f80, 0xff80, 0x8000, 0, 1, 0x7f7f}
	case Float32:
		return []uint64{0x7f800001, 0xffc12345, 0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 0, 1, 0x7f7fffff}
	case Float64, Complex64:
		// Not the largest float64: its square overflows the references too.
		return []uint64{0x7ff0000000000001, 0xfff8000000000123, 0x7ff0000000000000, 0xfff0000000000000, 1 << 63, 0, 1, 0x4fefffffffffffff}
	case Float8E4M3FN, Float8E5M2:
		return []uint64{0x7f, 0xff, 0x7c, 0xfc, 0x7e, 0x80, 0, 1, 0x7d}
	case Int64, Uint64:
		return []uint64{1<<63 - 1, 1 << 63, 1<<53 + 1, 0, math.MaxUint64}
	}
	return []uint64{0, 1, math.MaxUint64}
}

func putBits(dt DType, b []byte, u uint64) {
	switch dt.Size() {
	case 1:
		b[0] = byte(u)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(u))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(u))
	case 8:
		binary.LittleEndian.PutUint64(b, u)
	case 16:
		binary.LittleEndian.PutUint64(b, u)
		binary.LittleEndian.PutUint64(b[8:], u>>1)
	}
}

// randomStorage returns n elements of dt: values center + scale·N(0,1),
// and with probability pSpecial a special bit pattern instead.
func randomStorage(r *rand.Rand, dt DType, n int, center, scale, pSpecial float64) []byte {
	size := dt.Size()
	b := make([]byte, n*size)
	sp := specials(dt)
	for i := 0; i < n; i++ {
		p := b[i*size:]
		if r.Float64() < pSpecial {
			putBits(dt, p, sp[r.IntN(len(sp))])
			continue
		}
		x := center + scale*r.NormFloat64()
		if !dt.IsFloat() && !dt.IsComplex() {
			x = math.Round(x)
			if dt == Bool || dt == Uint8 || dt == Uint16 || dt == Uint32 || dt == Uint64 {
				x = math.Abs(x)
			}
		}
		put(dt, p, x, scale*r.NormFloat64())
	}
	return b
}

// naiveIndices returns the storage element index of every element of the
// view in row-major order, by an odometer over the multi-index.
func naiveIndices(shape, strides []int64, offset int64) []int64 {
	numel := int64(1)
	for _, d := range shape {
		numel *= d
	}
	out := make([]int64, 0, numel)
	if numel == 0 {
		return out
	}
	idx := make([]int64, len(shape))
	for {
		e := offset
		for k := range idx {
			e += idx[k] * strides[k]
		}
		out = append(out, e)
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out
		}
	}
}

// naiveValues decodes the view's elements in row-major order with refValue,
// except complex moduli: the package's are within an ulp of refValue's
// (TestFloat64AtAllDTypes checks that), and statistics tests compare Min and
// Max exactly, so they use the package's.
func naiveValues(v *View) []float64 {
	size := int64(v.DType.Size())
	var out []float64
	for _, e := range naiveIndices(v.Shape, v.Strides, v.Offset) {
		if v.DType.IsComplex() {
			out = append(out, decode(v.DType, v.Data[e*size:]))
		} else {
			out = append(out, refValue(v.DType, v.Data[e*size:]))
		}
	}
	return out
}

type kahan struct{ s, c float64 }

func (k *kahan) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *kahan) sum() float64 { return k.s + k.c }

// refStats computes the statistics of xs by two passes with compensated
// sums: the mean first, then Σ(x−mean)².
func refStats(xs []float64) Stats {
	s := Stats{Numel: int64(len(xs)), Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, sq kahan
	for _, x := range xs {
		switch {
		case math.IsNaN(x):
			s.NaN++
		case math.IsInf(x, 1):
			s.PosInf++
		case math.IsInf(x, -1):
			s.NegInf++
		default:
			s.Finite++
			if x == 0 {
				s.Zeros++
			}
			sum.add(x)
			sq.add(x * x)
			if x < s.Min || x == 0 && s.Min == 0 && math.Signbit(x) {
				s.Min = x
			}
			if x > s.Max || x == 0 && s.Max == 0 && !math.Signbit(x) {
				s.Max = x
			}
		}
	}
	s.Inf = s.PosInf + s.NegInf
	if s.Finite == 0 {
		nan := math.NaN()
		s.L2, s.RMS, s.Mean, s.Std, s.Min, s.Max, s.AbsMax = nan, nan, nan, nan, nan, nan, nan
		return s
	}
	n := float64(s.Finite)
	s.Mean = sum.sum() / n
	var dev kahan
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			d := x - s.Mean
			dev.add(d * d)
		}
	}
	s.Std = math.Sqrt(dev.sum() / n)
	s.L2 = math.Sqrt(sq.sum())
	s.RMS = math.Sqrt(sq.sum() / n)
	s.AbsMax = max(math.Abs(s.Min), math.Abs(s.Max))
	return s
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
