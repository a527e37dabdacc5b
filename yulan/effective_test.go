package yulan

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

func f32View(t testing.TB, xs []float32) *tensor.View {
	t.Helper()
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	v, err := tensor.NewView(tensor.Float32, b, 0, []int64{int64(len(xs))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// direct accumulates the effective values themselves.
func direct(v *tensor.View, m Multiplier) tensor.Stats {
	mom := tensor.NewMoments(EffectiveShift(v.Shift(), m))
	AccumulateEffective(v, 0, v.Numel(), m, &mom)
	return mom.Result(v.DType, v.Shape, v.Numel())
}

// naive is the textbook definition, in float64, of what direct computes.
func naive(xs []float32, m Multiplier) (mean, rms, minV, maxV float64, zeros, nan, pinf, ninf int64) {
	var sum, sq float64
	var n int64
	minV, maxV = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		y := m.Apply(float64(x))
		switch {
		case math.IsNaN(y):
			nan++
			continue
		case math.IsInf(y, 1):
			pinf++
			continue
		case math.IsInf(y, -1):
			ninf++
			continue
		}
		if y == 0 {
			zeros++
		}
		n++
		sum += y
		sq += y * y
		minV, maxV = min(minV, y), max(maxV, y)
	}
	return sum / float64(n), math.Sqrt(sq / float64(n)), minV, maxV, zeros, nan, pinf, ninf
}

func relClose(a, b, tol float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= tol*max(math.Abs(a), math.Abs(b))
}

func sameFloat(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
}

func TestEffectiveStats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := map[string]func(int) []float32{
		"matrix": func(n int) []float32 {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(0.02 * r.NormFloat64())
			}
			xs[3], xs[17] = 0, float32(math.Copysign(0, -1))
			return xs
		},
		"norm": func(n int) []float32 {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(1 + 0.05*r.NormFloat64())
			}
			return xs
		},
		"gemma-norm": func(n int) []float32 {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(0.05 * r.NormFloat64())
			}
			return xs
		},
		"specials": func(n int) []float32 {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(r.NormFloat64())
			}
			xs[0], xs[1], xs[2] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			xs[3], xs[4] = math.MaxFloat32, math.SmallestNonzeroFloat32
			return xs
		},
	}
	mults := map[string]Multiplier{
		"identity":  {Scale: 1, Known: true},
		"scale":     {Scale: 0.3 * math.Sqrt(2), Known: true},
		"negative":  {Scale: -2.75, Known: true},
		"tiny":      {Scale: 1e-30, Known: true},
		"zero":      {Scale: 0, Known: true},
		"gemma":     {Scale: 1.7, Offset: 1, Known: true},
		"gemma-neg": {Scale: -0.4, Offset: 1, Known: true},
	}
	for gname, g := range gen {
		xs := g(5000)
		v := f32View(t, xs)
		raw := v.Stats()
		for mname, m := range mults {
			got, err := EffectiveStats(raw, m)
			if m.Offset != 0 && raw.Min <= -m.Offset && -m.Offset <= raw.Max {
				if !errors.Is(err, ErrNotDerivable) {
					t.Errorf("%s/%s: -offset in [min, max] but err %v", gname, mname, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", gname, mname, err)
				continue
			}
			want := direct(v, m)
			if got.Finite != want.Finite || got.NaN != want.NaN || got.PosInf != want.PosInf || got.NegInf != want.NegInf ||
				got.Inf != want.Inf || got.Zeros != want.Zeros || got.Numel != want.Numel {
				t.Errorf("%s/%s: counts %+v, direct %+v", gname, mname, got, want)
			}
			if !sameFloat(got.Min, want.Min) || !sameFloat(got.Max, want.Max) || !sameFloat(got.AbsMax, want.AbsMax) {
				t.Errorf("%s/%s: min/max/absmax %v %v %v, direct %v %v %v", gname, mname, got.Min, got.Max, got.AbsMax, want.Min, want.Max, want.AbsMax)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"mean", got.Mean, want.Mean}, {"std", got.Std, want.Std}, {"rms", got.RMS, want.RMS}, {"l2", got.L2, want.L2}} {
				// relative to the value, or to the RMS for a mean or std that cancels
				if !relClose(f.got, f.want, 1e-13) && math.Abs(f.got-f.want) > 1e-13*want.RMS {
					t.Errorf("%s/%s: %s %v, direct %v (rel %.2g)", gname, mname, f.name, f.got, f.want, math.Abs(f.got-f.want)/math.Abs(f.want))
				}
			}
			mean, rms, lo, hi, zeros, nan, pinf, ninf := naive(xs, m)
			if !relClose(want.Mean, mean, 1e-12) || !relClose(want.RMS, rms, 1e-12) || !sameFloat(want.Min, lo) || !sameFloat(want.Max, hi) ||
				want.Zeros != zeros || want.NaN != nan || want.PosInf != pinf || want.NegInf != ninf {
				t.Errorf("%s/%s: direct %+v disagrees with the textbook loop (mean %v rms %v min %v max %v zeros %d)", gname, mname, want, mean, rms, lo, hi, zeros)
			}
		}
	}
}

func TestEffectiveStatsNotDerivable(t *testing.T) {
	xs := []float32{-1, -0.5, 0, 0.5}
	v := f32View(t, xs)
	raw := v.Stats()
	for name, m := range map[string]Multiplier{
		"unknown":          {},
		"offset in range":  {Scale: 2, Offset: 1, Known: true},
		"nan scale":        {Scale: math.NaN(), Known: true},
		"inf scale":        {Scale: math.Inf(1), Known: true},
		"huge scale":       {Scale: 1e160, Known: true},
		"subnormal scale":  {Scale: 1e-250, Known: true},
		"non-finite shift": {Scale: 1, Offset: math.Inf(1), Known: true},
	} {
		if _, err := EffectiveStats(raw, m); !errors.Is(err, ErrNotDerivable) {
			t.Errorf("%s: err %v, want ErrNotDerivable", name, err)
		}
	}
	raw64 := raw
	raw64.DType = tensor.Float64
	if _, err := EffectiveStats(raw64, Multiplier{Scale: 2, Known: true}); !errors.Is(err, ErrNotDerivable) {
		t.Errorf("float64 elements: err %v", err)
	}
	// -Offset outside the range: derivable, no effective zeros
	got, err := EffectiveStats(f32View(t, []float32{-0.5, 0, 0.5}).Stats(), Multiplier{Scale: 2, Offset: 1, Known: true})
	if err != nil || got.Zeros != 0 || got.Min != 1 || got.Max != 3 {
		t.Errorf("offset outside range: %+v, %v", got, err)
	}
	// the direct accumulation handles what cannot be derived
	d := direct(v, Multiplier{Scale: 2, Offset: 1, Known: true})
	if d.Zeros != 1 || d.Min != 0 || d.Max != 3 {
		t.Errorf("direct with offset: %+v", d)
	}
	// no finite element: counts only
	nan := f32View(t, []float32{float32(math.NaN()), float32(math.Inf(1))})
	got, err = EffectiveStats(nan.Stats(), Multiplier{Scale: -1, Known: true})
	if err != nil || got.NaN != 1 || got.NegInf != 1 || got.PosInf != 0 || got.Valid() {
		t.Errorf("non-finite only: %+v, %v", got, err)
	}
}

func TestEffectiveUpdateToWeight(t *testing.T) {
	v := f32View(t, []float32{0.5, -0.25, 1, 2})
	raw := v.Stats()
	m := Multiplier{Scale: -3, Known: true}
	eff, err := EffectiveStats(raw, m)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := EffectiveUpdateToWeight(0.01, 0.2, eff, m)
	want := 0.01 * 0.2 / raw.RMS // a pure scale leaves the ratio unchanged
	if !ok || !relClose(got, want, 1e-15) {
		t.Errorf("ratio %v, %v; want %v", got, ok, want)
	}
	g := Multiplier{Scale: 2, Offset: 1, Known: true}
	eff, _ = EffectiveStats(raw, g)
	got, ok = EffectiveUpdateToWeight(0.01, 0.2, eff, g)
	if !ok || !relClose(got, 2*0.01*0.2/eff.RMS, 1e-15) {
		t.Errorf("gemma ratio %v", got)
	}
	if _, ok := EffectiveUpdateToWeight(0.01, 0.2, tensor.Stats{}, m); ok {
		t.Error("ratio without elements")
	}
	if _, ok := EffectiveUpdateToWeight(0.01, 0.2, eff, Multiplier{}); ok {
		t.Error("ratio with an unknown multiplier")
	}
}

func TestEffectiveDiffPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 3000
	xa, xb := make([]float32, n), make([]float32, n)
	for i := range xa {
		xa[i] = float32(0.02 * r.NormFloat64())
		xb[i] = xa[i] + float32(1e-4*r.NormFloat64())
	}
	xa[5], xb[9] = float32(math.NaN()), float32(math.Inf(1))
	xb[11] = xa[11]
	a, b := f32View(t, xa), f32View(t, xb)
	// identity multipliers: exactly DiffPairs
	id := Multiplier{Scale: 1, Known: true}
	if got, want := EffectiveDiffPairs(a, b, 0, 0, int64(n), id, id), tensor.DiffPairs(a, b, 0, 0, int64(n)); got.Numel != want.Numel ||
		got.Pairs != want.Pairs || got.Changed != want.Changed || got.MaxAbs != want.MaxAbs ||
		!relClose(got.SumDD, want.SumDD, 1e-14) || !relClose(got.SumAB, want.SumAB, 1e-14) {
		t.Errorf("identity: %+v, DiffPairs %+v", got, want)
	}
	// different scales and an offset: against the textbook loop
	ma, mb := Multiplier{Scale: 2.5, Offset: 1, Known: true}, Multiplier{Scale: 2.6, Offset: 1, Known: true}
	got := EffectiveDiffPairs(a, b, 100, 100, int64(n-100), ma, mb)
	var dd, ab, maxAbs float64
	var pairs, changed int64
	for i := 100; i < n; i++ {
		x, y := ma.Apply(float64(xa[i])), mb.Apply(float64(xb[i]))
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		pairs++
		if y != x {
			changed++
		}
		dd += (y - x) * (y - x)
		ab += x * y
		maxAbs = max(maxAbs, math.Abs(y-x))
	}
	if got.Numel != int64(n-100) || got.Pairs != pairs || got.Changed != changed || got.MaxAbs != maxAbs ||
		!relClose(got.SumDD, dd, 1e-12) || !relClose(got.SumAB, ab, 1e-12) {
		t.Errorf("scaled: %+v; want pairs %d changed %d dd %v ab %v max %v", got, pairs, changed, dd, ab, maxAbs)
	}
}

// TestAlwaysDerivable checks that EffectiveStats never refuses a tensor
// AlwaysDerivable vouches for, with values at the dtype's extremes.
func TestAlwaysDerivable(t *testing.T) {
	xs := []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 0, 1,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	raw := f32View(t, xs).Stats()
	for _, a := range []float64{0, 1, -1, 1e-200, -1e-200, 2.9e111, -2.9e111, 0.25, 3.5} {
		m := Multiplier{Scale: a, Known: true}
		if !AlwaysDerivable(tensor.Float32, m) {
			t.Errorf("scale %v: not always derivable", a)
			continue
		}
		if _, err := EffectiveStats(raw, m); err != nil {
			t.Errorf("scale %v: AlwaysDerivable but %v", a, err)
		}
	}
	for name, c := range map[string]struct {
		dt tensor.DType
		m  Multiplier
	}{
		"offset":   {tensor.Float32, Multiplier{Scale: 1, Offset: 1, Known: true}},
		"unknown":  {tensor.Float32, Multiplier{Scale: 1}},
		"float64":  {tensor.Float64, Multiplier{Scale: 1, Known: true}},
		"complex":  {tensor.Complex64, Multiplier{Scale: 1, Known: true}},
		"huge":     {tensor.Float32, Multiplier{Scale: 1e112, Known: true}},
		"tiny":     {tensor.Float32, Multiplier{Scale: 1e-201, Known: true}},
		"nan":      {tensor.Float32, Multiplier{Scale: math.NaN(), Known: true}},
		"inf":      {tensor.BFloat16, Multiplier{Scale: math.Inf(-1), Known: true}},
		"no dtype": {tensor.Invalid, Multiplier{Scale: 1, Known: true}},
	} {
		if AlwaysDerivable(c.dt, c.m) {
			t.Errorf("%s: always derivable", name)
		}
	}
}

// TestFloat32FastPaths checks that the loops over contiguous float32 bytes
// (fp32 master weights) agree with the general path (any dtype or layout,
// through View.Float64s) on the same values: counts, extremes and the
// largest difference exactly, sums to rounding.
func TestFloat32FastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 3*effBlock + 17
	xs, ys := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i] = float32(0.05 * r.NormFloat64())
		ys[i] = xs[i] + float32(1e-3*r.NormFloat64())
	}
	xs[1], xs[2], xs[3], xs[4] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1))
	xs[5], ys[6], ys[7] = 0, float32(math.NaN()), -1
	// the same values at every other element of a larger storage: not
	// contiguous, so the general path
	strided := func(vs []float32) *tensor.View {
		w := make([]float32, 2*len(vs))
		for i, v := range vs {
			w[2*i] = v
		}
		v, err := tensor.NewView(tensor.Float32, f32View(t, w).Data, 0, []int64{int64(len(vs))}, []int64{2})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fastX, slowX, fastY, slowY := f32View(t, xs), strided(xs), f32View(t, ys), strided(ys)
	if _, ok := float32Range(slowX, 0, 1); ok {
		t.Fatal("strided view taken for contiguous")
	}
	for _, m := range []Multiplier{{Scale: 1, Known: true}, {Scale: -2.5, Known: true}, {Scale: 1.7, Offset: 1, Known: true}, {Scale: 0, Known: true}} {
		for _, span := range [][2]int64{{0, int64(n)}, {3, 1500}, {effBlock - 1, effBlock + 2}} {
			a, b := tensor.NewMoments(0.25), tensor.NewMoments(0.25)
			AccumulateEffective(fastX, span[0], span[1], m, &a)
			AccumulateEffective(slowX, span[0], span[1], m, &b)
			if a.N != b.N || a.NaN != b.NaN || a.PosInf != b.PosInf || a.NegInf != b.NegInf || a.Zeros != b.Zeros ||
				!sameFloat(a.Min, b.Min) || !sameFloat(a.Max, b.Max) || !relClose(a.S2, b.S2, 1e-13) || math.Abs(a.S1-b.S1) > 1e-13*math.Sqrt(a.S2*float64(a.N)) {
				t.Errorf("%v %v: fast %+v, general %+v", m, span, a, b)
			}
			mb := Multiplier{Scale: m.Scale * 1.01, Offset: m.Offset, Known: true}
			p := EffectiveDiffPairs(fastX, fastY, span[0], span[0], span[1]-span[0], m, mb)
			q := EffectiveDiffPairs(slowX, slowY, span[0], span[0], span[1]-span[0], m, mb)
			if p.Numel != q.Numel || p.Pairs != q.Pairs || p.Changed != q.Changed || p.MaxAbs != q.MaxAbs ||
				!relClose(p.SumDD, q.SumDD, 1e-13) || !relClose(p.SumAA, q.SumAA, 1e-13) || !relClose(p.SumBB, q.SumBB, 1e-13) || !relClose(p.SumAB, q.SumAB, 1e-13) {
				t.Errorf("%v %v: diff fast %+v, general %+v", m, span, p, q)
			}
		}
	}
}
