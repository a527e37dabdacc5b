package ckpt_test

import (
	"context"
	"math"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/universal"
)

// pairGolden is one PAIR of testdata/drift.golden.json (see
// testdata/gen/gen_drift.py), computed by PyTorch in float64.
type pairGolden struct {
	Numel       int64    `json:"numel"`
	Pairs       int64    `json:"pairs"`
	Skipped     int64    `json:"skipped"`
	Changed     int64    `json:"changed"`
	AL2         float64  `json:"a_l2"`
	BL2         float64  `json:"b_l2"`
	DeltaL2     float64  `json:"delta_l2"`
	MaxAbsDelta *float64 `json:"max_abs_delta"`
	RelChange   *float64 `json:"rel_change"`
	Cosine      *float64 `json:"cosine"`
	NormRatio   *float64 `json:"norm_ratio"`
}

// paramGolden is one parameter of the golden.
type paramGolden struct {
	Name     string     `json:"name"`
	Shape    []int64    `json:"shape"`
	FP32     pairGolden `json:"fp32"`
	BF16     pairGolden `json:"bf16"`
	ExpAvg   pairGolden `json:"exp_avg"`
	ExpAvgSq pairGolden `json:"exp_avg_sq"`
}

// state returns the golden of one state.
func (p *paramGolden) state(s string) pairGolden {
	return map[string]pairGolden{"fp32": p.FP32, "bf16": p.BF16, "exp_avg": p.ExpAvg, "exp_avg_sq": p.ExpAvgSq}[s]
}

type diffGolden struct {
	A, B struct {
		Path string `json:"path"`
		Step int64  `json:"step"`
	}
	Params  []paramGolden `json:"params"`
	Summary struct {
		StepDelta      int64 `json:"step_delta"`
		ParamsCompared int   `json:"params_compared"`
		paramGolden
	} `json:"summary"`
}

// checkPair compares a measured state diff with its golden: counts and the
// largest difference exactly, sums to golden.RelTol. It raises *worst to
// the largest relative difference seen.
func checkPair(t *testing.T, what string, d *ckpt.StateDiff, want pairGolden, worst *float64) {
	t.Helper()
	s := d.Sums
	if s.Numel != want.Numel || s.Pairs != want.Pairs || s.Numel-s.Pairs != want.Skipped || s.Changed != want.Changed {
		t.Errorf("%s: numel %d pairs %d changed %d, want %d %d %d", what, s.Numel, s.Pairs, s.Changed, want.Numel, want.Pairs, want.Changed)
	}
	fig := func(name string, got float64, ok bool, want *float64) {
		t.Helper()
		switch {
		case ok != (want != nil):
			t.Errorf("%s: %s = %v (defined %v), want %v", what, name, got, ok, want)
		case ok && !golden.Close(got, *want, 0):
			t.Errorf("%s: %s = %.17g, want %.17g (rel %.2g)", what, name, got, *want, math.Abs(got-*want)/math.Abs(*want))
		case ok && got != *want:
			*worst = max(*worst, math.Abs(got-*want)/math.Abs(*want))
		}
	}
	p := func(x float64) *float64 { return &x }
	x, ok := d.DeltaL2()
	fig("delta_l2", x, ok, p(want.DeltaL2))
	x, ok = d.NormA()
	fig("a_l2", x, ok, p(want.AL2))
	x, ok = d.NormB()
	fig("b_l2", x, ok, p(want.BL2))
	x, ok = d.MaxAbsDelta()
	if ok != (want.MaxAbsDelta != nil) || (ok && x != *want.MaxAbsDelta) {
		t.Errorf("%s: max_abs_delta = %v, want %v (exactly)", what, x, want.MaxAbsDelta)
	}
	x, ok = d.RelChange()
	fig("rel_change", x, ok, want.RelChange)
	x, ok = d.Cosine()
	fig("cosine", x, ok, want.Cosine)
	x, ok = d.NormRatio()
	fig("norm_ratio", x, ok, want.NormRatio)
}

// TestDiffGolden compares Diff on two generator-made checkpoints of one
// model (B derived from A by 5 AdamW steps) with PyTorch's float64 figures.
func TestDiffGolden(t *testing.T) {
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
	for _, workers := range []int{1, 3} {
		worst := 0.0
		res, err := ckpt.Diff(context.Background(), a, b, ckpt.DiffOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.OnlyA)+len(res.OnlyB) != 0 || len(res.Params) != g.Summary.ParamsCompared {
			t.Fatalf("only in A %v, only in B %v, %d params compared, want %d", res.OnlyA, res.OnlyB, len(res.Params), g.Summary.ParamsCompared)
		}
		sa, _ := ckpt.StepOf(a)
		sb, _ := ckpt.StepOf(b)
		if sa != g.A.Step || sb != g.B.Step || sb-sa != g.Summary.StepDelta {
			t.Errorf("steps %d, %d; want %d, %d", sa, sb, g.A.Step, g.B.Step)
		}
		for i, pd := range res.Params {
			if pd.Name != g.Params[i].Name {
				t.Fatalf("param %d is %s, want %s", i, pd.Name, g.Params[i].Name)
			}
			for _, s := range ckpt.DiffStates() {
				sd := pd.States[s]
				if sd == nil || !sd.Compared {
					t.Errorf("%s %s not compared", pd.Name, s)
					continue
				}
				checkPair(t, pd.Name+" "+string(s), sd, g.Params[i].state(string(s)), &worst)
			}
		}
		for _, s := range ckpt.DiffStates() {
			checkPair(t, "total "+string(s), res.Totals[s], g.Summary.state(string(s)), &worst)
		}
		t.Logf("%d workers: largest relative difference from PyTorch %.2g", workers, worst)
	}
}
