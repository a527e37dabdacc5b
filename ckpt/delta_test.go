package ckpt_test

import (
	"context"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/universal"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// TestScanPrevGolden checks the pass that measures B and compares its fp32
// weights with A's at once (ScanOptions.Prev) against PyTorch's float64
// figures of the drift pair, and its statistics against a plain Scan.
func TestScanPrevGolden(t *testing.T) {
	var g diffGolden
	if err := golden.Load("../testdata/drift.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	a, err := universal.Open("../"+g.A.Path, universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := universal.Open("../"+g.B.Path, universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	plain, err := ckpt.Scan(context.Background(), b, ckpt.ScanOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		worst := 0.0
		res, err := ckpt.Scan(context.Background(), b, ckpt.ScanOptions{Workers: workers, Prev: a})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Params) != len(g.Params) {
			t.Fatalf("%d params, want %d", len(res.Params), len(g.Params))
		}
		for i, pr := range res.Params {
			if pr.Err != nil {
				t.Fatal(pr.Err)
			}
			want := g.Params[i]
			if pr.Param.Name != want.Name || pr.Delta == nil || !pr.Delta.Compared {
				t.Fatalf("param %d: %s, delta %+v; want %s compared", i, pr.Param.Name, pr.Delta, want.Name)
			}
			checkPair(t, pr.Param.Name+" fp32", pr.Delta, want.FP32, &worst)
			for _, st := range []struct {
				name      string
				got, want tensor.Stats
			}{{"fp32", *pr.FP32, *plain.Params[i].FP32}, {"exp_avg", *pr.ExpAvg, *plain.Params[i].ExpAvg},
				{"bf16", *pr.BF16, *plain.Params[i].BF16}} {
				if !deltaSameStats(st.got, st.want) {
					t.Errorf("%s %s: %+v with Prev, %+v without", pr.Param.Name, st.name, st.got, st.want)
				}
			}
			if (pr.Adam == nil) != (plain.Params[i].Adam == nil) || pr.Adam != nil && *pr.Adam != *plain.Params[i].Adam {
				t.Errorf("%s adam: %+v with Prev, %+v without", pr.Param.Name, pr.Adam, plain.Params[i].Adam)
			}
		}
		checkPair(t, "total fp32", res.DeltaTotal, g.Summary.FP32, &worst)
		if res.Summary.BytesScanned != plain.Summary.BytesScanned+fp32Bytes(a) {
			t.Errorf("%d bytes scanned, want B's %d + A's fp32 %d", res.Summary.BytesScanned, plain.Summary.BytesScanned, fp32Bytes(a))
		}
		t.Logf("%d workers: largest relative difference from PyTorch %.2g", workers, worst)
	}
}

func fp32Bytes(c *ckpt.Checkpoint) int64 {
	var n int64
	for _, p := range c.Params {
		if p.FP32 != nil {
			n += p.FP32.NBytes()
		}
	}
	return n
}

// sameStats compares statistics up to the rounding of sums taken over
// blocks of another size: counts and extremes exactly.
func deltaSameStats(x, y tensor.Stats) bool {
	return x.Numel == y.Numel && x.Finite == y.Finite && x.NaN == y.NaN && x.Inf == y.Inf && x.Zeros == y.Zeros &&
		x.Min == y.Min && x.Max == y.Max && x.AbsMax == y.AbsMax &&
		golden.Close(x.L2, y.L2, 0) && golden.Close(x.RMS, y.RMS, 0) && golden.Close(x.Mean, y.Mean, x.RMS) && golden.Close(x.Std, y.Std, x.RMS)
}

// TestScanPrevMismatch checks that a parameter whose shape differs in Prev
// is reported, not compared, and still measured; one missing from Prev
// gets no delta.
func TestScanPrevMismatch(t *testing.T) {
	a, err := universal.Open("../testdata/universal-intstep/checkpoint-7", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := universal.Open("../testdata/drift/checkpoint-12", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Give A's first parameter another shape and drop its second.
	first, second := a.Params[0].Name, a.Params[1].Name
	a.Params[0].FP32.Shape = []int64{a.Params[0].FP32.Numel(), 1}
	a.Params = append(a.Params[:1], a.Params[2:]...)
	res, err := ckpt.Scan(context.Background(), b, ckpt.ScanOptions{Prev: a})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range res.Params {
		switch pr.Param.Name {
		case first:
			if pr.Delta == nil || pr.Delta.Compared || pr.FP32 == nil {
				t.Errorf("%s: delta %+v, fp32 %v; want not compared, measured", first, pr.Delta, pr.FP32)
			}
		case second:
			if pr.Delta != nil || pr.FP32 == nil {
				t.Errorf("%s: delta %+v, fp32 %v; want none, measured", second, pr.Delta, pr.FP32)
			}
		}
	}
}

// TestScanPrevEffective checks that comparing with Prev changes nothing of
// the effective weights' figures, derived or accumulated.
func TestScanPrevEffective(t *testing.T) {
	a, err := universal.Open("../testdata/universal-intstep/checkpoint-7", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := universal.Open("../testdata/drift/checkpoint-12", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := yulan.Multiplier{Scale: 2, Offset: 1, Known: true}
	eff := func(*ckpt.Param) (yulan.Multiplier, bool) { return m, true }
	for _, accumulate := range []bool{false, true} {
		plain, err := ckpt.Scan(context.Background(), b, ckpt.ScanOptions{Workers: 2, Effective: eff, AccumulateEffective: accumulate})
		if err != nil {
			t.Fatal(err)
		}
		with, err := ckpt.Scan(context.Background(), b, ckpt.ScanOptions{Workers: 2, Effective: eff, AccumulateEffective: accumulate, Prev: a})
		if err != nil {
			t.Fatal(err)
		}
		for i, pr := range with.Params {
			q := plain.Params[i]
			if pr.Err != nil || pr.Delta == nil || !pr.Delta.Compared || (pr.Effective == nil) != (q.Effective == nil) {
				t.Fatalf("%s: err %v, delta %+v, effective %v", pr.Param.Name, pr.Err, pr.Delta, pr.Effective)
			}
			if pr.Effective != nil && !deltaSameStats(pr.Effective.Stats, q.Effective.Stats) || !deltaSameStats(*pr.FP32, *q.FP32) {
				t.Errorf("%s accumulate=%v: effective %+v with Prev, %+v without", pr.Param.Name, accumulate, pr.Effective, q.Effective)
			}
		}
	}
}
