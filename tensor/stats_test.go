package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// checkStats compares s with the reference: counts, Min, Max and AbsMax
// exactly; Mean, Std, L2 and RMS to within tol, relative to the natural
// scale of each.
func checkStats(t *testing.T, what string, got, want Stats, tol float64) {
	t.Helper()
	if !checkCounts(t, what, got, want) {
		return
	}
	near := func(name string, g, w, scale float64) {
		if math.IsNaN(w) || math.IsInf(w, 0) || math.IsNaN(scale) || math.IsInf(scale, 0) {
			return // the reference's float64 sums overflowed (float64 data beyond 1e154)
		}
		if !(math.Abs(g-w) <= tol*scale) {
			t.Fatalf("%s: %s = %v, want %v (error %.3g of scale %.3g)", what, name, g, w, math.Abs(g-w), scale)
		}
	}
	near("Mean", got.Mean, want.Mean, math.Abs(want.Mean)+want.Std)
	// The reference's mean is off by up to an ulp or so, which adds δ² to its
	// variance: negligible unless the spread is that small (constant data,
	// where the package's shifted sums give exactly 0).
	u := 2 * (math.Nextafter(math.Abs(want.Mean), math.Inf(1)) - math.Abs(want.Mean))
	slack := want.Std - math.Sqrt(max(0, want.Std*want.Std-u*u))
	if d := math.Abs(got.Std - want.Std); !(d <= tol*want.Std+slack) && !math.IsInf(want.Std, 0) && !math.IsNaN(want.Std) {
		t.Fatalf("%s: Std = %v, want %v (error %.3g)", what, got.Std, want.Std, d)
	}
	near("L2", got.L2, want.L2, want.L2)
	near("RMS", got.RMS, want.RMS, want.RMS)
}

// checkCounts compares the counts, Valid, Min, Max and AbsMax of got and
// want exactly, and reports whether the float figures are worth comparing
// (the statistics are valid).
func checkCounts(t *testing.T, what string, got, want Stats) bool {
	t.Helper()
	if got.Numel != want.Numel || got.Finite != want.Finite || got.NaN != want.NaN || got.Inf != want.Inf ||
		got.PosInf != want.PosInf || got.NegInf != want.NegInf || got.Zeros != want.Zeros {
		t.Fatalf("%s: counts numel=%d finite=%d nan=%d inf=%d (+%d -%d) zeros=%d, want %d %d %d %d (+%d -%d) %d", what,
			got.Numel, got.Finite, got.NaN, got.Inf, got.PosInf, got.NegInf, got.Zeros,
			want.Numel, want.Finite, want.NaN, want.Inf, want.PosInf, want.NegInf, want.Zeros)
	}
	if got.Valid() != want.Valid() {
		t.Fatalf("%s: Valid = %v", what, got.Valid())
	}
	if !got.Valid() {
		for _, f := range []float64{got.L2, got.RMS, got.Mean, got.Std, got.Min, got.Max, got.AbsMax} {
			if !math.IsNaN(f) {
				t.Fatalf("%s: invalid stats with a non-NaN figure: %+v", what, got)
			}
		}
		return false
	}
	if !same(got.Min, want.Min) || !same(got.Max, want.Max) || !same(got.AbsMax, want.AbsMax) {
		t.Fatalf("%s: min %v max %v absmax %v, want %v %v %v", what, got.Min, got.Max, got.AbsMax, want.Min, want.Max, want.AbsMax)
	}
	return true
}

// extreme reports whether some finite nonzero value's square is outside the
// normal float64 range (|x| below 1e-150 or above 1e150): the float64 sums
// of squares then lose precision or overflow, in the references as in the
// package, so only counts and extremes are comparable.
func extreme(xs []float64) bool {
	for _, x := range xs {
		if a := math.Abs(x); a != 0 && (a < 1e-150 || a > 1e150) && !math.IsInf(a, 0) {
			return true
		}
	}
	return false
}

// layouts returns views of several kinds over a storage of n elements
// (n >= 40): contiguous, offset, transposed, sliced with a step, broadcast.
func layouts(dt DType, data []byte) map[string]*View {
	n := int64(len(data) / dt.Size())
	mk := func(offset int64, shape, strides []int64) *View {
		v, err := NewView(dt, data, offset, shape, strides)
		if err != nil {
			panic(err)
		}
		return v
	}
	rows := n / 8
	return map[string]*View{
		"contiguous": mk(0, []int64{n}, nil),
		"offset":     mk(3, []int64{(n - 5) / 2, 2}, nil),
		"transposed": mk(0, []int64{8, rows}, []int64{1, 8}),
		"step":       mk(1, []int64{rows / 2, 7}, []int64{16, 1}),
		"column":     mk(5, []int64{rows}, []int64{8}),
		"broadcast":  mk(2, []int64{3, 10, 4}, []int64{0, 4, 1}),
	}
}

func TestStatsRandom(t *testing.T) {
	r := newRand(21)
	for _, dt := range allDTypes {
		for _, pSpecial := range []float64{0, 0.002, 0.3} {
			for _, center := range []float64{0, 100} {
				n := 3000 + r.IntN(2000)
				data := randomStorage(r, dt, n, center, 10, pSpecial)
				for name, v := range layouts(dt, data) {
					what := fmt.Sprintf("%v %s special=%v center=%v", dt, name, pSpecial, center)
					checkStats(t, what, v.Stats(), refStats(naiveValues(v)), 1e-11)
				}
			}
		}
	}
}

func TestStatsRawBits(t *testing.T) {
	// Random bit patterns: subnormals, NaNs, infinities, huge integers.
	r := newRand(22)
	for _, dt := range allDTypes {
		data := make([]byte, 2500*dt.Size())
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		if dt == Float64 || dt == Complex128 {
			// Keep exponents within ±64 (NaN and Inf then come from the
			// other dtypes' runs): squares a float64 sum holds precisely.
			for i := 7; i < len(data); i += 8 {
				data[i] = data[i]&0x80 | (0x3c + data[i]&7)
			}
		}
		for name, v := range layouts(dt, data) {
			checkStats(t, fmt.Sprintf("%v %s", dt, name), v.Stats(), refStats(naiveValues(v)), 1e-11)
		}
	}
}

func valuesView(t *testing.T, dt DType, xs []float64) *View {
	t.Helper()
	data := make([]byte, len(xs)*dt.Size())
	for i, x := range xs {
		put(dt, data[i*dt.Size():], x, 0)
	}
	v, err := NewView(dt, data, 0, []int64{int64(len(xs))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func repeat(x float64, n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = x
	}
	return xs
}

func TestStatsSpecialCases(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	negZero := math.Copysign(0, -1)
	r := newRand(23)
	noisy := func(center, scale float64, n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = center + scale*r.NormFloat64()
		}
		return xs
	}
	outlier := noisy(0, 1, 5000)
	outlier[0] = 1e30
	for _, c := range []struct {
		name string
		dts  []DType
		xs   []float64
		tol  float64
	}{
		{"empty", allDTypes, nil, 0},
		{"all NaN", []DType{Float16, BFloat16, Float32, Float64, Complex64, Complex128, Float8E4M3FN, Float8E5M2}, repeat(nan, 1500), 0},
		{"only infinities", []DType{Float16, BFloat16, Float32, Float64, Float8E5M2}, append(repeat(inf, 700), repeat(-inf, 900)...), 0},
		{"constant", allDTypes, repeat(1, 2049), 0},
		{"constant large", []DType{Float32, Float64, Int64, Int32}, repeat(1e6, 3000), 0},
		{"constant negative", []DType{Float16, BFloat16, Float32, Float64, Int8, Float8E4M3FN, Float8E5M2}, repeat(-2.5, 1025), 0},
		{"signed zeros", []DType{Float16, BFloat16, Float32, Float64, Float8E4M3FN, Float8E5M2}, []float64{0, negZero, 0, negZero, 0, 0, negZero, 0, 0}, 0},
		{"zeros and positives", []DType{Float16, BFloat16, Float32, Float64}, append(repeat(negZero, 600), append(repeat(3, 600), repeat(0, 600)...)...), 0},
		{"zeros and negatives", []DType{Float16, BFloat16, Float32, Float64}, append(repeat(0, 600), append(repeat(-3, 600), repeat(negZero, 600)...)...), 0},
		{"mixed", []DType{Float16, BFloat16, Float32, Float64, Float8E5M2}, []float64{1, nan, -inf, 2, negZero, inf, 3, nan, 0, 4}, 1e-15},
		{"huge outlier first", []DType{Float32, Float64}, outlier, 1e-12},
		{"large offset", []DType{Float64}, noisy(1e6, 1e-3, 100000), 1e-9},
		{"large offset float32", []DType{Float32}, noisy(1e4, 1, 100000), 1e-9},
		{"integers beyond 2^53", []DType{Int64}, []float64{1 << 62, 1<<62 + 2048, -(1 << 62), 1 << 53}, 1e-15},
	} {
		for _, dt := range c.dts {
			v := valuesView(t, dt, c.xs)
			got := v.Stats()
			want := refStats(naiveValues(v))
			checkStats(t, c.name+" "+dt.String(), got, want, c.tol)
			if c.tol == 0 && got.Valid() && got.Min == got.Max && got.Std != 0 {
				t.Errorf("%s %v: constant tensor with Std %v", c.name, dt, got.Std)
			}
			if got.DType != dt || !slices.Equal(got.Shape, v.Shape) {
				t.Errorf("%s %v: labelled %v %v", c.name, dt, got.DType, got.Shape)
			}
		}
	}
}

func TestStatsExactFigures(t *testing.T) {
	v := valuesView(t, Float32, []float64{3, -4, 0, math.NaN(), math.Inf(-1), 1, math.Copysign(0, -1)})
	s := v.Stats()
	want := Stats{DType: Float32, Shape: []int64{7}, Numel: 7, Finite: 5, NaN: 1, Inf: 1, NegInf: 1, Zeros: 2,
		L2: math.Sqrt(26), RMS: math.Sqrt(26.0 / 5), Mean: 0, Std: math.Sqrt(26.0 / 5), Min: -4, Max: 3, AbsMax: 4}
	checkStats(t, "exact", s, want, 1e-15)
	// A complex tensor is summarised by its moduli.
	c := make([]byte, 16*4)
	put(Complex64, c[0:], 3, 4)
	put(Complex64, c[8:], math.Inf(1), math.NaN())
	put(Complex64, c[16:], math.Inf(-1), 1)
	put(Complex64, c[24:], 0, -12)
	v, err := NewView(Complex64, c, 0, []int64{4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s = v.Stats()
	if s.Finite != 2 || s.NaN != 1 || s.PosInf != 1 || s.Min != 5 || s.Max != 12 || s.Mean != 8.5 {
		t.Errorf("complex stats %+v", s)
	}
}

// TestAccumulateMerge checks that chunked accumulation, merged in any
// order, equals one pass: counts, Min and Max identical, sums to 1e-12.
func TestAccumulateMerge(t *testing.T) {
	r := newRand(24)
	for _, dt := range allDTypes {
		data := randomStorage(r, dt, 6000, 5, 3, 0.01)
		for name, v := range layouts(dt, data) {
			shift := v.Shift()
			whole := NewMoments(shift)
			numel := v.Numel()
			v.Accumulate(0, numel, &whole)
			for trial := 0; trial < 4; trial++ {
				var cuts []int64
				for lo := int64(0); lo < numel; {
					hi := min(numel, lo+1+r.Int64N(max(numel/3, 1)))
					if trial == 0 {
						hi = min(numel, lo+1) // element by element
					}
					cuts = append(cuts, lo, hi)
					lo = hi
				}
				parts := make([]Moments, len(cuts)/2)
				var wg sync.WaitGroup
				for i := range parts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						parts[i] = NewMoments(shift)
						v.Accumulate(cuts[2*i], cuts[2*i+1], &parts[i])
					}()
				}
				wg.Wait()
				r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
				merged := NewMoments(shift)
				for _, p := range parts {
					merged.Merge(p)
				}
				what := fmt.Sprintf("%v %s trial %d", dt, name, trial)
				if merged.N != whole.N || merged.NaN != whole.NaN || merged.PosInf != whole.PosInf ||
					merged.NegInf != whole.NegInf || merged.Zeros != whole.Zeros ||
					!same(merged.Min, whole.Min) || !same(merged.Max, whole.Max) {
					t.Fatalf("%s: merged %+v, whole %+v", what, merged, whole)
				}
				scale := math.Sqrt(float64(whole.N) * whole.S2) // ≥ Σ|x−K|
				if math.Abs(merged.S1-whole.S1) > 1e-12*scale || math.Abs(merged.S2-whole.S2) > 1e-12*whole.S2 {
					t.Fatalf("%s: sums %v %v, whole %v %v", what, merged.S1, merged.S2, whole.S1, whole.S2)
				}
			}
		}
	}
}

func TestMomentsAddMatchesAccumulate(t *testing.T) {
	r := newRand(25)
	data := randomStorage(r, BFloat16, 3000, 1, 2, 0.05)
	v, _ := NewView(BFloat16, data, 0, []int64{3000}, nil)
	a, b := NewMoments(0.5), NewMoments(0.5)
	v.Accumulate(0, 3000, &a)
	for i := int64(0); i < 3000; i++ {
		b.Add(v.Float64At(i))
	}
	if a.N != b.N || a.NaN != b.NaN || a.PosInf != b.PosInf || a.NegInf != b.NegInf || a.Zeros != b.Zeros ||
		a.Min != b.Min || a.Max != b.Max || math.Abs(a.S1-b.S1) > 1e-12*math.Sqrt(float64(a.N)*a.S2) || math.Abs(a.S2-b.S2) > 1e-12*a.S2 {
		t.Fatalf("Accumulate %+v, Add %+v", a, b)
	}
}

func TestShift(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{nan, nan}, 0},
		{[]float64{math.Inf(1), nan}, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2}, // lower median
		{[]float64{nan, 7, math.Inf(-1), 1e30, 6}, 7},
	} {
		v := valuesView(t, Float64, c.xs)
		if got := v.Shift(); got != c.want {
			t.Errorf("Shift of %v = %v, want %v", c.xs, got, c.want)
		}
	}
	// Beyond 1024 elements, 16 runs of 64 elements at j*numel/16.
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = 100 // not sampled
		if i%256 < 64 {
			xs[i] = float64(i % 3) // sampled: 0, 1, 2, ... (lower median 1)
		}
	}
	if got := valuesView(t, Float64, xs).Shift(); got != 1 {
		t.Errorf("Shift of the sampled runs = %v, want 1", got)
	}
	// A broadcast view with an astronomically large element count.
	v, err := NewView(Float32, make([]byte, 4), 0, []int64{1 << 40, 1 << 20}, []int64{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Shift(); got != 0 {
		t.Errorf("Shift of a zero broadcast = %v", got)
	}
	s := v.Stats()
	if s.Finite != 1<<60 || s.Zeros != 1<<60 || s.Std != 0 || s.L2 != 0 {
		t.Errorf("broadcast stats %+v", s)
	}
}

func TestMomentsPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"NaN shift":       func() { NewMoments(math.NaN()) },
		"Inf shift":       func() { NewMoments(math.Inf(-1)) },
		"different shift": func() { m := NewMoments(1); m.Merge(NewMoments(2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	m := NewMoments(1)
	m.Merge(NewMoments(1)) // same shift: fine
}

func TestResultFormulas(t *testing.T) {
	// Result on hand-made moments: values 1, 2, 3, 4 with K = 2.
	m := Moments{Shift: 2, N: 4, S1: -1 + 0 + 1 + 2, S2: 1 + 0 + 1 + 4, Min: 1, Max: 4}
	s := m.Result(Float64, []int64{2, 2}, 6)
	if s.Mean != 2.5 || s.Std != math.Sqrt(1.25) || s.L2 != math.Sqrt(30) || s.RMS != math.Sqrt(7.5) || s.AbsMax != 4 || s.Numel != 6 {
		t.Errorf("Result = %+v", s)
	}
	var rng = rand.New(rand.NewPCG(1, 1))
	_ = rng
}
