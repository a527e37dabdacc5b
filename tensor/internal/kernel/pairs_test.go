package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// pairKern is one pair kernel under test, with its element decoding.
type pairKern struct {
	name    string
	size    int
	fn      func(a, b []byte, n int, s *Pairs)
	dec     func(b []byte) float64
	special []uint64 // bit patterns worth planting: NaNs with payloads, ±Inf, ±0, subnormals
}

func pairKernels() []pairKern {
	f32 := func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	bf16 := func(b []byte) float64 { return FromBF16(binary.LittleEndian.Uint16(b)) }
	f32s := []uint64{0x7f800001, 0xffc12345, 0x7f800000, 0xff800000, 0x80000000, 0, 1, 0x80000001, 0x7f7fffff, 0xff7fffff}
	h16s := []uint64{0x7f81, 0xffc1, 0x7f80, 0xff80, 0x8000, 0, 1, 0x8001, 0x7f7f, 0xff7f}
	return []pairKern{
		{"F32", 4, PairsF32, f32, f32s},
		{"F32Generic", 4, PairsF32Generic, f32, f32s},
		{"BF16", 2, PairsBF16, bf16, h16s},
		{"BF16Generic", 2, PairsBF16Generic, bf16, h16s},
	}
}

// pairRef is the reference loop of the pair kernels (Pairs.Add on every
// pair), with Neumaier-compensated sums, and Σ|ab| to judge SumAB by.
func pairRef(k pairKern, a, b []byte, n int) (s Pairs, absAB float64) {
	var c [4]float64
	for i := 0; i < n; i++ {
		x, y := k.dec(a[i*k.size:]), k.dec(b[i*k.size:])
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		d := y - x
		s.Pairs++
		if d != 0 {
			s.Changed++
		}
		s.SumDD, c[0] = neumaier(s.SumDD, c[0], d*d)
		s.SumAA, c[1] = neumaier(s.SumAA, c[1], x*x)
		s.SumBB, c[2] = neumaier(s.SumBB, c[2], y*y)
		s.SumAB, c[3] = neumaier(s.SumAB, c[3], x*y)
		absAB += math.Abs(x * y)
		s.MaxAbs = max(s.MaxAbs, math.Abs(d))
	}
	s.SumDD += c[0]
	s.SumAA += c[1]
	s.SumBB += c[2]
	s.SumAB += c[3]
	return s, absAB
}

// checkPairs compares a kernel's result with the reference: counts and
// MaxAbs exactly, SumDD, SumAA and SumBB to tol relative, SumAB to tol
// relative to Σ|ab| (it may cancel). n bounds the error of sums of
// subnormal squares.
func checkPairs(t *testing.T, what string, got, want Pairs, absAB, tol float64, n int) {
	t.Helper()
	if got.Pairs != want.Pairs || got.Changed != want.Changed || !same(got.MaxAbs, want.MaxAbs) {
		t.Fatalf("%s: pairs %d changed %d max %v, want %d %d %v", what, got.Pairs, got.Changed, got.MaxAbs, want.Pairs, want.Changed, want.MaxAbs)
	}
	if math.IsInf(want.SumDD, 0) || math.IsInf(want.SumAA, 0) || math.IsInf(want.SumBB, 0) || math.IsNaN(want.SumDD) || math.IsNaN(want.SumAB) || absAB > 1e300 {
		return // squares beyond the float64 range: the order decides where the sums overflow
	}
	slack := float64(n) * 0x1p-1074
	for _, f := range []struct {
		name            string
		got, want, size float64
	}{{"SumDD", got.SumDD, want.SumDD, want.SumDD}, {"SumAA", got.SumAA, want.SumAA, want.SumAA},
		{"SumBB", got.SumBB, want.SumBB, want.SumBB}, {"SumAB", got.SumAB, want.SumAB, absAB}} {
		if d := math.Abs(f.got - f.want); !(d <= tol*f.size+slack) {
			t.Fatalf("%s: %s = %v, want %v", what, f.name, f.got, f.want)
		}
	}
}

// fillPairs writes n pairs of kernel k into a and b: b mostly a plus a
// small change, some pairs equal (also −0 against +0), specials planted at
// rate pSpecial on either side.
func fillPairs(r *rand.Rand, k pairKern, a, b []byte, n int, pSpecial float64) {
	put := func(p []byte, x float64) {
		if k.size == 4 {
			binary.LittleEndian.PutUint32(p, math.Float32bits(float32(x)))
		} else {
			binary.LittleEndian.PutUint16(p, uint16(math.Float32bits(float32(x))>>16))
		}
	}
	for i := 0; i < n; i++ {
		pa, pb := a[i*k.size:], b[i*k.size:]
		x := r.NormFloat64() * 0.02
		put(pa, x)
		switch u := r.Float64(); {
		case u < 0.1:
			copy(pb[:k.size], pa[:k.size])
		case u < 0.12:
			putBits(k.size, pa, 0)
			putBits(k.size, pb, 1<<(8*k.size-1))
		default:
			put(pb, x+r.NormFloat64()*1e-3)
		}
		if r.Float64() < pSpecial {
			putBits(k.size, pa, k.special[r.IntN(len(k.special))])
		}
		if r.Float64() < pSpecial {
			putBits(k.size, pb, k.special[r.IntN(len(k.special))])
		}
	}
}

// TestPairs runs the pair kernels, on every path, on tight sub-slices at
// several misalignments, over lengths around the vector, block and
// assembly-call boundaries, with and without non-finite values, and
// compares with the reference loop: counts and MaxAbs exactly, sums to
// 1e-13.
func TestPairs(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 1000, asmBlockTest - 1, asmBlockTest + 37, 2*asmBlockTest + 5}
		for _, k := range pairKernels() {
			for _, n := range lengths {
				for _, pSpecial := range []float64{0, 0.001, 0.3, 1} {
					for _, mis := range []int{0, 1, 3} {
						bufA, bufB := make([]byte, mis+n*k.size+16), make([]byte, n*k.size+mis+16)
						for i := range bufA {
							bufA[i], bufB[i] = 0xff, 0xff // guards decode to NaN
						}
						a := bufA[mis : mis+n*k.size : mis+n*k.size]
						b := bufB[: n*k.size : n*k.size]
						fillPairs(r, k, a, b, n, pSpecial)
						want, absAB := pairRef(k, a, b, n)
						var got Pairs
						k.fn(a, b, n, &got)
						checkPairs(t, fmt.Sprintf("%s n=%d special=%v mis=%d", k.name, n, pSpecial, mis), got, want, absAB, 1e-13, n)
					}
				}
			}
		}
	})
}

// TestPairsAccumulate checks that the pair kernels add to s, and that the
// sums of a range split anywhere merge to those of the whole.
func TestPairsAccumulate(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(23, 24))
		for _, k := range pairKernels() {
			n := 3000
			a, b := make([]byte, n*k.size), make([]byte, n*k.size)
			fillPairs(r, k, a, b, n, 0.01)
			want, absAB := pairRef(k, a, b, n)
			for _, cut := range []int{0, 1, 17, 700, n} {
				var got Pairs
				k.fn(a, b, cut, &got)
				k.fn(a[cut*k.size:], b[cut*k.size:], n-cut, &got)
				checkPairs(t, fmt.Sprintf("%s cut %d", k.name, cut), got, want, absAB, 1e-13, n)
			}
		}
	})
}

// TestPairsF64s checks the float64 pair loop against the reference.
func TestPairsF64s(t *testing.T) {
	k := pairKernels()[0]
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{0, 1, 511, 512, 513, 5000} {
		a, b := make([]byte, 4*n), make([]byte, 4*n)
		fillPairs(r, k, a, b, n, 0.05)
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i], y[i] = k.dec(a[4*i:]), k.dec(b[4*i:])
		}
		want, absAB := pairRef(k, a, b, n)
		var got Pairs
		PairsF64s(x, y, &got)
		checkPairs(t, fmt.Sprintf("n=%d", n), got, want, absAB, 1e-13, n)
	}
}

// TestPairsExhaustiveBF16 pairs every bfloat16 bit pattern with a few
// others (each pattern in every lane position), on every path, against the
// generic code: counts and MaxAbs exactly, sums to 1e-13.
func TestPairsExhaustiveBF16(t *testing.T) {
	const n = 1 << 16
	a := make([]byte, 2*n)
	for u := 0; u < n; u++ {
		binary.LittleEndian.PutUint16(a[2*u:], uint16(u))
	}
	k := pairKernels()[2]
	forPaths(t, func(t *testing.T) {
		for _, partner := range []uint16{0, 0x8000, 0x3f80, 0x7f80, 0x7fc0, 0x0001} {
			for _, shift := range []int{0, 1, 5} {
				b := make([]byte, 2*n)
				for i := 0; i < n; i++ {
					u := binary.LittleEndian.Uint16(a[2*((i+shift)%n):])
					if i%3 == 0 {
						u = partner
					}
					binary.LittleEndian.PutUint16(b[2*i:], u)
				}
				want, absAB := pairRef(k, a, b, n)
				var got Pairs
				k.fn(a, b, n, &got)
				checkPairs(t, fmt.Sprintf("partner %#04x shift %d", partner, shift), got, want, absAB, 1e-13, n)
			}
		}
	})
}

// BenchmarkPairs measures the pair kernels on every path, over close pairs
// of normally distributed values, in bytes of both tensors per second.
func BenchmarkPairs(b *testing.B) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, k := range pairKernels() {
		if k.name != "F32" && k.name != "BF16" {
			continue
		}
		for _, size := range benchSizes {
			n := size / k.size / 2
			x, y := make([]byte, n*k.size), make([]byte, n*k.size)
			fillPairs(r, k, x, y, n, 0)
			for _, p := range Paths() {
				b.Run(fmt.Sprintf("%s/%v/%s", k.name, p, sizeName(size)), func(b *testing.B) {
					defer Use(p)()
					loop(b, int64(2*n*k.size), func() {
						var s Pairs
						k.fn(x, y, n, &s)
					})
				})
			}
		}
	}
}
