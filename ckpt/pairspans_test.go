package ckpt

import (
	"reflect"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// TestPairSpansOnePiece checks pairSpans' path for two tensors of one piece
// each (no allocation but the caller's buffer) against the general one,
// over ranges inside, across and past the shorter tensor (a module weight
// longer than its master: vocabulary padding).
func TestPairSpansOnePiece(t *testing.T) {
	one := func(n int64) *Tensor {
		v, err := tensor.NewView(tensor.Float32, make([]byte, 4*n), 0, []int64{n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &Tensor{Pieces: []Piece{{View: v}}}
	}
	x, y := one(100), one(130)
	var buf []pairSpan
	for _, r := range [][2]int64{{0, 100}, {0, 50}, {10, 90}, {90, 120}, {100, 130}, {120, 200}, {0, 0}, {50, 50}, {0, 1000}} {
		for _, pair := range [][2]*Tensor{{x, y}, {y, x}, {x, x}} {
			buf = pairSpans(buf, pair[0], pair[1], r[0], r[1])
			want := pairSpansPieces(nil, pair[0], pair[1], r[0], r[1])
			if len(buf) != len(want) || len(want) > 0 && !reflect.DeepEqual(buf, want) {
				t.Errorf("%v of %d and %d elements: %+v, want %+v", r, pair[0].Numel(), pair[1].Numel(), buf, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = pairSpans(buf, x, y, 10, 90) }); n != 0 {
		t.Errorf("%v allocations a call with a buffer", n)
	}
}
