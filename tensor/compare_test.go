package tensor

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

// TestRoundToBF16 checks round-to-nearest-even against an exact reference
// for every bf16 neighbourhood: the two bf16 values around x and the
// halfway point between them.
func TestRoundToBF16(t *testing.T) {
	for hi := uint32(0); hi < 1<<16; hi += 7 {
		for _, lo := range []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff} {
			u := hi<<16 | lo
			x := math.Float32frombits(u)
			got := RoundTo(x, BFloat16)
			if x != x {
				if got == got {
					t.Fatalf("NaN %08x rounded to %v", u, got)
				}
				continue
			}
			down := math.Float32frombits(u &^ 0xffff)
			up := math.Float32frombits((u &^ 0xffff) + 0x10000)
			var want float32
			switch {
			case lo < 0x8000:
				want = down
			case lo > 0x8000:
				want = up
			case (u>>16)&1 == 0:
				want = down
			default:
				want = up
			}
			if got != float64(want) && !(math.IsInf(got, 0) && math.IsInf(float64(want), 0)) {
				t.Fatalf("RoundTo(%08x) = %v, want %v", u, got, want)
			}
		}
	}
	if got := RoundTo(1.5, Float16); got != float64(float16.Fromfloat32(1.5).Float32()) {
		t.Errorf("fp16 1.5 -> %v", got)
	}
}

func TestCompareRounded(t *testing.T) {
	xs := []float64{0.1, -2.7, 1e-3, float64(math.NaN()), 3.14159, 0}
	master := valuesView(t, Float32, xs)
	mod := make([]float64, len(xs))
	for i, x := range xs {
		mod[i] = RoundTo(float32(x), BFloat16)
	}
	module := valuesView(t, BFloat16, mod)
	if c := CompareRounded(master, module, 0, 0, int64(len(xs)), 0); c.Mismatch != 0 || c.First != -1 || c.Compared != 6 {
		t.Errorf("exact rounding: %+v", c)
	}
	mod[4] = 3.0 // not the rounded master
	mod[1] = RoundTo(-2.7, BFloat16) + 0.015625
	module = valuesView(t, BFloat16, mod)
	c := CompareRounded(master, module, 0, 0, int64(len(xs)), 100)
	if c.Mismatch != 2 || c.First != 101 || math.Abs(c.MaxDiff-(3.14159-3.0)) > 1e-6 {
		t.Errorf("two mismatches: %+v", c)
	}
}
