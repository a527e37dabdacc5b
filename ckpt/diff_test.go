package ckpt

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// memTensor builds a logical tensor over in-memory data, cut into pieces
// of the given sizes (one piece when none are given).
func memTensor(t *testing.T, state State, dt tensor.DType, shape []int64, vals []float64, pieces ...int64) *Tensor {
	t.Helper()
	if len(pieces) == 0 {
		pieces = []int64{int64(len(vals))}
	}
	tt := &Tensor{State: state, File: string(state) + ".pt", DType: dt, Shape: shape}
	var at int64
	for _, n := range pieces {
		size := int64(dt.Size())
		b := make([]byte, n*size)
		for i := range n {
			x := vals[at+i]
			switch dt {
			case tensor.Float32:
				binary.LittleEndian.PutUint32(b[i*4:], math.Float32bits(float32(x)))
			case tensor.BFloat16:
				binary.LittleEndian.PutUint16(b[i*2:], tensor.Float32ToBFloat16(float32(x)))
			case tensor.Float64:
				binary.LittleEndian.PutUint64(b[i*8:], math.Float64bits(x))
			default:
				t.Fatalf("memTensor: dtype %v", dt)
			}
		}
		v, err := tensor.NewView(dt, b, 0, []int64{n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tt.Pieces = append(tt.Pieces, Piece{View: v, File: tt.File})
		at += n
	}
	if at != int64(len(vals)) {
		t.Fatalf("memTensor: pieces cover %d of %d values", at, len(vals))
	}
	return tt
}

// wave returns n values with mixed signs and magnitudes.
func wave(n int, phase float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(math.Sin(float64(i)*0.37+phase) * 0.02 * float64(1+i%5)))
	}
	return out
}

// refSums computes the pair sums of two value lists directly.
func refSums(a, b []float64) tensor.PairSums {
	var s tensor.PairSums
	for i := range a {
		x, y := a[i], b[i]
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

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func sameSums(t *testing.T, what string, got, want tensor.PairSums) {
	t.Helper()
	if got.Numel != want.Numel || got.Pairs != want.Pairs || got.Changed != want.Changed || got.MaxAbs != want.MaxAbs ||
		!near(got.SumDD, want.SumDD) || !near(got.SumAA, want.SumAA) || !near(got.SumBB, want.SumBB) || !near(got.SumAB, want.SumAB) {
		t.Errorf("%s: sums %+v, want %+v", what, got, want)
	}
}

// TestDiffPieces compares tensors whose two sides are cut into pieces at
// different places, with chunks that cut them elsewhere again.
func TestDiffPieces(t *testing.T) {
	const n = 50
	av, bv := wave(n, 0), wave(n, 0.05)
	av[3], bv[10], av[20], bv[20] = math.NaN(), math.Inf(1), math.Inf(-1), math.NaN()
	bv[30] = av[30]
	cases := []struct {
		name           string
		aCuts, bCuts   []int64
		dtA, dtB       tensor.DType
		chunk, workers int
	}{
		{"one piece each", nil, nil, tensor.Float32, tensor.Float32, 0, 1},
		{"pieces at different places", []int64{7, 20, 23}, []int64{25, 1, 24}, tensor.Float32, tensor.Float32, 0, 1},
		{"small chunks, several workers", []int64{7, 20, 23}, []int64{25, 1, 24}, tensor.Float32, tensor.Float32, 3, 4},
		{"bf16 against float64", []int64{10, 40}, nil, tensor.BFloat16, tensor.Float64, 8, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := memTensor(t, "fp32", c.dtA, []int64{5, 10}, av, c.aCuts...)
			b := memTensor(t, "fp32", c.dtB, []int64{5, 10}, bv, c.bCuts...)
			ca := &Checkpoint{Params: []*Param{{Name: "w", Shape: []int64{5, 10}, FP32: a}}}
			cb := &Checkpoint{Params: []*Param{{Name: "w", Shape: []int64{5, 10}, FP32: b}}}
			res, err := Diff(context.Background(), ca, cb, DiffOptions{Workers: c.workers, Tuning: Tuning{ChunkElems: int64(c.chunk)}})
			if err != nil {
				t.Fatal(err)
			}
			// What the pieces hold, after rounding to their dtypes.
			var ra, rb []float64
			for _, p := range a.Pieces {
				for i := range p.View.Numel() {
					ra = append(ra, p.View.Float64At(i))
				}
			}
			for _, p := range b.Pieces {
				for i := range p.View.Numel() {
					rb = append(rb, p.View.Float64At(i))
				}
			}
			want := refSums(ra, rb)
			sd := res.Params[0].States["fp32"]
			sameSums(t, "param", sd.Sums, want)
			sameSums(t, "total", res.Totals["fp32"].Sums, want)
			if res.BytesScanned != int64(n*(c.dtA.Size()+c.dtB.Size())) {
				t.Errorf("bytes scanned %d", res.BytesScanned)
			}
		})
	}
}

// TestDiffWorkersInvariant checks that results are bit for bit the same
// whatever the number of workers.
func TestDiffWorkersInvariant(t *testing.T) {
	av, bv := wave(10000, 0), wave(10000, 0.01)
	mk := func() (*Checkpoint, *Checkpoint) {
		a := memTensor(t, "fp32", tensor.Float32, []int64{10000}, av, 3333, 6667)
		b := memTensor(t, "fp32", tensor.Float32, []int64{10000}, bv, 5000, 5000)
		return &Checkpoint{Params: []*Param{{Name: "w", Shape: []int64{10000}, FP32: a}}},
			&Checkpoint{Params: []*Param{{Name: "w", Shape: []int64{10000}, FP32: b}}}
	}
	var first tensor.PairSums
	for i, w := range []int{1, 2, 3, 8} {
		ca, cb := mk()
		res, err := Diff(context.Background(), ca, cb, DiffOptions{Workers: w, Tuning: Tuning{ChunkElems: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Params[0].States["fp32"].Sums
		if i == 0 {
			first = got
		} else if got != first {
			t.Errorf("%d workers: %+v, want %+v", w, got, first)
		}
	}
}

// TestDiffStructure covers parameters on one side only, shapes that
// differ, states present on one side, and the filter.
func TestDiffStructure(t *testing.T) {
	v := wave(6, 0)
	ft := func(shape []int64) *Tensor { return memTensor(t, "fp32", tensor.Float32, shape, v[:6]) }
	a := &Checkpoint{Params: []*Param{
		{Name: "both", Shape: []int64{6}, FP32: ft([]int64{6}), ExpAvg: ft([]int64{6})},
		{Name: "only.a", Shape: []int64{6}, FP32: ft([]int64{6})},
		{Name: "reshaped", Shape: []int64{2, 3}, FP32: ft([]int64{2, 3}), ExpAvg: ft([]int64{2, 3})},
		{Name: "skipped", Shape: []int64{6}, FP32: ft([]int64{6})},
	}}
	b := &Checkpoint{Params: []*Param{
		{Name: "only.b", Shape: []int64{6}, FP32: ft([]int64{6})},
		{Name: "reshaped", Shape: []int64{3, 2}, FP32: ft([]int64{3, 2}), ExpAvg: ft([]int64{3, 2})},
		{Name: "both", Shape: []int64{6}, FP32: ft([]int64{6}), BF16: ft([]int64{6})},
		{Name: "skipped", Shape: []int64{6}, FP32: ft([]int64{6})},
	}}
	res, err := Diff(context.Background(), a, b, DiffOptions{Filter: func(n string) bool { return n != "skipped" }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.OnlyA, []string{"only.a"}) || !slices.Equal(res.OnlyB, []string{"only.b"}) {
		t.Errorf("only in A %v, only in B %v", res.OnlyA, res.OnlyB)
	}
	var names []string
	for _, p := range res.Params {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"both", "reshaped"}) {
		t.Fatalf("params %v", names)
	}
	both, reshaped := res.Params[0], res.Params[1]
	if len(both.States) != 1 || both.States["fp32"] == nil || both.ShapeMismatch() {
		t.Errorf("both: states %v, mismatch %v (want fp32 only: exp_avg and bf16 are on one side each)", both.States, both.ShapeMismatch())
	}
	if d, ok := both.States["fp32"].DeltaL2(); !ok || d != 0 {
		t.Errorf("identical tensors: delta %v %v", d, ok)
	}
	if c, ok := both.States["fp32"].Cosine(); !ok || c != 1 {
		t.Errorf("identical tensors: cosine %v %v", c, ok)
	}
	if !reshaped.ShapeMismatch() || reshaped.States["fp32"].Compared || reshaped.States["exp_avg"].Compared {
		t.Errorf("reshaped: %+v", reshaped.States)
	}
	if _, ok := reshaped.States["fp32"].DeltaL2(); ok {
		t.Error("a state not compared has a delta")
	}
	if res.Totals["exp_avg"] != nil {
		t.Error("exp_avg total without any exp_avg compared")
	}
	if res.BytesScanned != 2*6*4 {
		t.Errorf("bytes scanned %d, want only both's fp32 read", res.BytesScanned)
	}
}

// TestStateDiffFigures checks the figures and when they are null.
func TestStateDiffFigures(t *testing.T) {
	cases := []struct {
		name                        string
		s                           tensor.PairSums
		delta, rel, cos, ratio      float64
		okDelta, okRel, okCos, okRt bool
	}{
		{"regular", tensor.PairSums{Numel: 2, Pairs: 2, SumDD: 4, SumAA: 16, SumBB: 9, SumAB: 6}, 2, 0.5, 0.5, 0.75, true, true, true, true},
		{"A is zero", tensor.PairSums{Numel: 2, Pairs: 2, SumDD: 9, SumBB: 9}, 3, 0, 0, 0, true, false, false, false},
		{"B is zero", tensor.PairSums{Numel: 2, Pairs: 2, SumDD: 9, SumAA: 9}, 3, 1, 0, 0, true, true, false, true},
		{"no finite pair", tensor.PairSums{Numel: 2}, 0, 0, 0, 0, false, false, false, false},
		{"cosine rounded above 1 is clamped", tensor.PairSums{Numel: 3, Pairs: 3, SumAA: 3, SumBB: 3, SumAB: 3 * (1 + 1e-15)}, 0, 0, 1, 1, true, true, true, true},
		{"cosine rounded below -1 is clamped", tensor.PairSums{Numel: 3, Pairs: 3, SumDD: 12, SumAA: 3, SumBB: 3, SumAB: -3 * (1 + 1e-15)}, 2 * math.Sqrt(3), 2, -1, 1, true, true, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &StateDiff{Compared: true, Sums: c.s}
			check := func(what string, got float64, ok bool, want float64, wantOK bool) {
				if ok != wantOK || (ok && got != want) {
					t.Errorf("%s = %v, %v; want %v, %v", what, got, ok, want, wantOK)
				}
			}
			x, ok := d.DeltaL2()
			check("delta", x, ok, c.delta, c.okDelta)
			x, ok = d.RelChange()
			check("rel", x, ok, c.rel, c.okRel)
			x, ok = d.Cosine()
			check("cosine", x, ok, c.cos, c.okCos)
			x, ok = d.NormRatio()
			check("ratio", x, ok, c.ratio, c.okRt)
		})
	}
}

func TestStepOf(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	cases := []struct {
		name string
		c    *Checkpoint
		want int64
		ok   bool
	}{
		{"global steps", &Checkpoint{Step: i(9), TrainerStep: i(8)}, 9, true},
		{"trainer step", &Checkpoint{TrainerStep: i(8)}, 8, true},
		{"common param step", &Checkpoint{Params: []*Param{{Step: i(7)}, {Step: i(7)}}}, 7, true},
		{"param steps differ", &Checkpoint{Params: []*Param{{Step: i(7)}, {Step: i(6)}}}, 0, false},
		{"unknown", &Checkpoint{Params: []*Param{{}}}, 0, false},
	}
	for _, c := range cases {
		got, ok := StepOf(c.c)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
