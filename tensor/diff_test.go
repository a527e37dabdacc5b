package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// refDiffPairs is DiffPairs' documented reference loop, with one running
// sum.
func refDiffPairs(a, b *View, aLo, bLo, n int64) PairSums {
	var s PairSums
	for i := int64(0); i < n; i++ {
		x, y := a.Float64At(aLo+i), b.Float64At(bLo+i)
		s.Numel++
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		d := y - x
		s.Pairs++
		if d != 0 {
			s.Changed++
		}
		s.SumDD += d * d
		s.SumAA += x * x
		s.SumBB += y * y
		s.SumAB += x * y
		s.MaxAbs = max(s.MaxAbs, math.Abs(d))
	}
	return s
}

func f32View(t *testing.T, vals []float32, offset int64, shape, strides []int64) *View {
	t.Helper()
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	v, err := NewView(Float32, b, offset, shape, strides)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bf16View(t *testing.T, vals []float32) *View {
	t.Helper()
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToBFloat16(v))
	}
	v, err := NewView(BFloat16, b, 0, []int64{int64(len(vals))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ramp returns n float32 values with mixed signs and magnitudes.
func ramp(n int, seed float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.Sin(float64(i)*0.7+float64(seed))) * float32(1+i%7) * 0.01
	}
	return out
}

func closeRel(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestDiffPairs(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	long := ramp(3000, 0)
	longB := ramp(3000, 0.01)
	cases := []struct {
		name     string
		a, b     *View
		aLo, bLo int64
		n        int64
		want     PairSums // checked when Numel > 0
	}{
		{name: "empty", a: f32View(t, nil, 0, []int64{0}, nil), b: f32View(t, nil, 0, []int64{0}, nil)},
		{name: "simple", a: f32View(t, []float32{1, 2, 3}, 0, []int64{3}, nil), b: f32View(t, []float32{1, 4, -3}, 0, []int64{3}, nil), n: 3,
			want: PairSums{Numel: 3, Pairs: 3, Changed: 2, SumDD: 0 + 4 + 36, SumAA: 14, SumBB: 26, SumAB: 1 + 8 - 9, MaxAbs: 6}},
		{name: "nonfinite pairs skipped", a: f32View(t, []float32{nan, 1, inf, 2, -inf}, 0, []int64{5}, nil), b: f32View(t, []float32{0, nan, 1, 3, 4}, 0, []int64{5}, nil), n: 5,
			want: PairSums{Numel: 5, Pairs: 1, Changed: 1, SumDD: 1, SumAA: 4, SumBB: 9, SumAB: 6, MaxAbs: 1}},
		{name: "signed zeros are equal", a: f32View(t, []float32{0, negZero}, 0, []int64{2}, nil), b: f32View(t, []float32{negZero, 0}, 0, []int64{2}, nil), n: 2,
			want: PairSums{Numel: 2, Pairs: 2}},
		{name: "offsets", a: f32View(t, []float32{9, 9, 1, 2}, 2, []int64{2}, nil), b: f32View(t, []float32{7, 1, 3}, 0, []int64{3}, nil), aLo: 0, bLo: 1, n: 2,
			want: PairSums{Numel: 2, Pairs: 2, Changed: 1, SumDD: 1, SumAA: 5, SumBB: 10, SumAB: 7, MaxAbs: 1}},
		{name: "transposed vs contiguous", a: f32View(t, []float32{1, 2, 3, 4, 5, 6}, 0, []int64{3, 2}, []int64{1, 3}), b: f32View(t, []float32{1, 4, 2, 5, 3, 7}, 0, []int64{3, 2}, nil), n: 6,
			want: PairSums{Numel: 6, Pairs: 6, Changed: 1, SumDD: 1, SumAA: 91, SumBB: 104, SumAB: 97, MaxAbs: 1}},
		{name: "bf16 vs float32", a: bf16View(t, []float32{1.5, -2, 0.25}), b: f32View(t, []float32{1.5, -2.5, 0.5}, 0, []int64{3}, nil), n: 3,
			want: PairSums{Numel: 3, Pairs: 3, Changed: 2, SumDD: 0.25 + 0.0625, SumAA: 2.25 + 4 + 0.0625, SumBB: 2.25 + 6.25 + 0.25, SumAB: 2.25 + 5 + 0.125, MaxAbs: 0.5}},
		{name: "several blocks, misaligned", a: f32View(t, long, 0, []int64{3000}, nil), b: f32View(t, longB, 0, []int64{3000}, nil), aLo: 7, bLo: 7, n: 2990},
		{name: "strided over blocks", a: f32View(t, long, 1, []int64{1000}, []int64{3}), b: f32View(t, longB, 0, []int64{3000}, nil), aLo: 3, bLo: 100, n: 997},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DiffPairs(c.a, c.b, c.aLo, c.bLo, c.n)
			want := refDiffPairs(c.a, c.b, c.aLo, c.bLo, c.n)
			if c.want.Numel > 0 && c.want != want {
				t.Fatalf("reference loop = %+v, want %+v", want, c.want)
			}
			if got.Numel != want.Numel || got.Pairs != want.Pairs || got.Changed != want.Changed || got.MaxAbs != want.MaxAbs {
				t.Errorf("counts = %+v, want %+v", got, want)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"SumDD", got.SumDD, want.SumDD}, {"SumAA", got.SumAA, want.SumAA}, {"SumBB", got.SumBB, want.SumBB}, {"SumAB", got.SumAB, want.SumAB}} {
				if !closeRel(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
}

// TestDiffPairsMerge checks that sums over split ranges merge to the sums
// over the whole range.
func TestDiffPairsMerge(t *testing.T) {
	a := f32View(t, ramp(2000, 1), 0, []int64{2000}, nil)
	b := f32View(t, ramp(2000, 1.2), 0, []int64{2000}, nil)
	whole := DiffPairs(a, b, 0, 0, 2000)
	for _, cut := range []int64{0, 1, 511, 512, 513, 1999, 2000} {
		s := DiffPairs(a, b, 0, 0, cut)
		s.Merge(DiffPairs(a, b, cut, cut, 2000-cut))
		if s.Numel != whole.Numel || s.Pairs != whole.Pairs || s.Changed != whole.Changed || s.MaxAbs != whole.MaxAbs ||
			!closeRel(s.SumDD, whole.SumDD) || !closeRel(s.SumAB, whole.SumAB) {
			t.Errorf("cut %d: %+v, want %+v", cut, s, whole)
		}
	}
}

func BenchmarkDiffPairs(b *testing.B) {
	const n = 1 << 20
	t := &testing.T{}
	x := f32View(t, ramp(n, 0), 0, []int64{n}, nil)
	y := f32View(t, ramp(n, 0.1), 0, []int64{n}, nil)
	b.SetBytes(2 * 4 * n)
	for b.Loop() {
		DiffPairs(x, y, 0, 0, n)
	}
}

// TestDiffPairsPaths checks DiffPairs on contiguous ranges (the pair
// kernels, on every path) against the general decoding path over the same
// elements read through non-contiguous views: counts and MaxAbs exactly,
// sums to 1e-12.
func TestDiffPairsPaths(t *testing.T) {
	r := newRand(45)
	for _, dt := range []DType{Float32, BFloat16} {
		for _, n := range []int{0, 5, 100, 1000, 40000} {
			for _, p := range []float64{0, 0.01, 0.5} {
				ad := randomStorage(r, dt, n, 0, 0.02, p)
				bd := randomStorage(r, dt, n, 0, 0.02, p)
				copy(bd[:len(bd)/4], ad) // a quarter of the pairs unchanged
				a, b := view1(t, dt, ad), view1(t, dt, bd)
				as, bs := spread(t, dt, ad), spread(t, dt, bd)
				for _, lo := range []int64{0, int64(n / 3)} {
					k := int64(n) - lo
					want := DiffPairs(as, bs, lo, lo, k)
					forPaths(t, func(t *testing.T) {
						got := DiffPairs(a, b, lo, lo, k)
						what := fmt.Sprintf("%v n=%d p=%v lo=%d", dt, n, p, lo)
						if got.Numel != want.Numel || got.Pairs != want.Pairs || got.Changed != want.Changed || !same(got.MaxAbs, want.MaxAbs) {
							t.Fatalf("%s: %+v, general path %+v", what, got, want)
						}
						bound := math.Sqrt(want.SumAA * want.SumBB)
						for _, f := range []struct {
							name            string
							got, want, size float64
						}{{"SumDD", got.SumDD, want.SumDD, want.SumDD}, {"SumAA", got.SumAA, want.SumAA, want.SumAA},
							{"SumBB", got.SumBB, want.SumBB, want.SumBB}, {"SumAB", got.SumAB, want.SumAB, bound}} {
							if math.Abs(f.got-f.want) > 1e-12*f.size {
								t.Fatalf("%s: %s %v, general path %v", what, f.name, f.got, f.want)
							}
						}
					})
				}
			}
		}
	}
}
