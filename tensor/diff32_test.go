package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDiffFloat32 pins the float32 fast path of DiffPairs to the reference
// loop: counts and the largest difference exactly, sums to 1e-12, over
// lengths around the block size and blocks holding NaN, ±Inf and −0.
func TestDiffFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0, math.MaxFloat32, -math.SmallestNonzeroFloat32}
	for _, n := range []int{1, 2, 3, 511, 512, 513, 1023, 1024, 1025, 5000} {
		for _, bad := range []int{0, 1, 7} {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 0.02)
				y[i] = x[i]
				if r.IntN(3) > 0 {
					y[i] += float32(r.NormFloat64() * 1e-4)
				}
			}
			for range bad {
				s := specials[r.IntN(len(specials))]
				if r.IntN(2) == 0 {
					x[r.IntN(n)] = s
				} else {
					y[r.IntN(n)] = s
				}
			}
			a, b := f32View(t, x, 0, []int64{int64(n)}, nil), f32View(t, y, 0, []int64{int64(n)}, nil)
			got, want := DiffPairs(a, b, 0, 0, int64(n)), diffPairsRef(a, b, 0, 0, int64(n))
			if got.Numel != want.Numel || got.Pairs != want.Pairs || got.Changed != want.Changed || got.MaxAbs != want.MaxAbs ||
				!closeRel(got.SumDD, want.SumDD) || !closeRel(got.SumAA, want.SumAA) || !closeRel(got.SumBB, want.SumBB) || !closeRel(got.SumAB, want.SumAB) {
				t.Errorf("n %d, %d specials: %+v, want %+v", n, bad, got, want)
			}
		}
	}
}

// TestDiffFloat32Offsets reads ranges that start inside the views.
func TestDiffFloat32Offsets(t *testing.T) {
	x, y := ramp(2000, 0), ramp(2000, 0.3)
	a, b := f32View(t, x, 0, []int64{2000}, nil), f32View(t, y, 0, []int64{2000}, nil)
	for _, c := range []struct{ aLo, bLo, n int64 }{{0, 0, 2000}, {3, 5, 1500}, {1999, 0, 1}, {700, 700, 0}} {
		got, want := DiffPairs(a, b, c.aLo, c.bLo, c.n), diffPairsRef(a, b, c.aLo, c.bLo, c.n)
		if got.Numel != want.Numel || got.Changed != want.Changed || got.MaxAbs != want.MaxAbs || !closeRel(got.SumDD, want.SumDD) || !closeRel(got.SumAB, want.SumAB) {
			t.Errorf("%+v: %+v, want %+v", c, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a range outside the view did not panic")
		}
	}()
	DiffPairs(a, b, 1990, 0, 20)
}

func BenchmarkDiffPairsRef(b *testing.B) {
	const n = 1 << 20
	t := &testing.T{}
	x := f32View(t, ramp(n, 0), 0, []int64{n}, nil)
	y := f32View(t, ramp(n, 0.1), 0, []int64{n}, nil)
	b.SetBytes(2 * 4 * n)
	for b.Loop() {
		diffPairsRef(x, y, 0, 0, n)
	}
}
