package ckpt_test

import (
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// effectiveGolden is the part of testdata/<fixture>.effective.golden.json
// (testdata/gen/gen_wesar.py) a scan is checked against.
type effectiveGolden struct {
	Params []struct {
		Name           string       `json:"name"`
		Scale          float64      `json:"scale"`
		Offset         float64      `json:"offset"`
		Effective      golden.Stats `json:"effective"`
		UpdateToWeight *float64     `json:"update_to_weight"`
	} `json:"params"`
}

// TestScanEffective checks the effective statistics Scan measures in its
// one pass, derived and accumulated, through both the statistics task and
// the weights task (Compare), from universal and ZeRO checkpoints, against
// PyTorch float64; and that measuring them leaves the raw figures as they
// are, bit for bit.
func TestScanEffective(t *testing.T) {
	for _, c := range []struct {
		fixture, path, layout string
	}{
		{"wesar-llama", "wesar-llama/checkpoint-30", "universal"},
		{"wesar-llama", "wesar-llama/checkpoint-30", "zero"},
		{"wesar-gemma", "wesar-gemma/checkpoint-30", "universal"},
	} {
		var g effectiveGolden
		if err := golden.Load(filepath.Join("..", "testdata", c.fixture+".effective.golden.json"), &g); err != nil {
			t.Fatal(err)
		}
		cp, err := layout.Open(filepath.Join("..", "testdata", c.path), layout.Options{Layout: c.layout})
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		cfg, _, err := ckpt.FindConfig(cp, "")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ckpt.Scales(cp, cfg)
		if err != nil {
			t.Fatal(err)
		}
		of := func(p *ckpt.Param) (yulan.Multiplier, bool) { return sc.Of(p.Name) }
		for _, compare := range []bool{false, true} {
			// chunks of 333 elements, so that partial results merge; the
			// mapped read path with Compare, pread without
			tuning := ckpt.Tuning{ChunkElems: 333, Mapped: compare}
			plain, err := ckpt.Scan(context.Background(), cp, ckpt.ScanOptions{Workers: 2, Compare: compare, Tuning: tuning})
			if err != nil {
				t.Fatal(err)
			}
			for _, accumulate := range []bool{false, true} {
				name := c.fixture + "/" + c.layout
				if compare {
					name += "/compare"
				}
				if accumulate {
					name += "/accumulated"
				}
				t.Run(name, func(t *testing.T) {
					res, err := ckpt.Scan(context.Background(), cp, ckpt.ScanOptions{Workers: 3, Compare: compare, Tuning: tuning,
						Effective: of, AccumulateEffective: accumulate})
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Params) != len(g.Params) {
						t.Fatalf("%d parameters, golden %d", len(res.Params), len(g.Params))
					}
					var worst, sumSq float64
					for i, pr := range res.Params {
						gp := g.Params[i]
						if pr.Err != nil || pr.Param.Name != gp.Name {
							t.Fatalf("%s: %v (golden %s)", pr.Param.Name, pr.Err, gp.Name)
						}
						raw := plain.Params[i]
						if !sameStats(*pr.FP32, *raw.FP32) {
							t.Errorf("%s: raw fp32 statistics changed: %+v, without --effective %+v", gp.Name, *pr.FP32, *raw.FP32)
						}
						e := pr.Effective
						if e == nil {
							t.Errorf("%s: no effective statistics", gp.Name)
							continue
						}
						if e.State != ckpt.FP32 || e.Multiplier.Scale != gp.Scale || e.Multiplier.Offset != gp.Offset || e.Accumulated != accumulate {
							t.Errorf("%s: state %s, multiplier %v, accumulated %v", gp.Name, e.State, e.Multiplier, e.Accumulated)
						}
						want := gp.Effective
						for _, d := range golden.Compare(e.Stats, want) {
							t.Errorf("%s: %s", gp.Name, d)
						}
						if want.L2 != nil {
							ref := *want.RMS
							for _, f := range [][2]float64{{e.Stats.L2, *want.L2}, {e.Stats.RMS, *want.RMS}, {e.Stats.Mean, *want.Mean}, {e.Stats.Std, *want.Std}} {
								worst = max(worst, math.Abs(f[0]-f[1])/max(math.Abs(f[1]), ref))
							}
							sumSq += *want.L2 * *want.L2
						}
						if gp.UpdateToWeight != nil {
							if !e.HasRatio || !golden.Close(e.UpdateToWeight, *gp.UpdateToWeight, 0) {
								t.Errorf("%s: effective update/weight %v (%v), want %v", gp.Name, e.UpdateToWeight, e.HasRatio, *gp.UpdateToWeight)
							}
						}
					}
					if s := res.Summary; !s.HasEffective || !golden.Close(s.EffectiveNorm, math.Sqrt(sumSq), 0) {
						t.Errorf("summary effective norm %v (%v), want %v", s.EffectiveNorm, s.HasEffective, math.Sqrt(sumSq))
					}
					t.Logf("largest relative error against PyTorch float64: %.2g", worst)
				})
			}
		}
	}
}

// sameStats compares statistics whose float figures may be NaN.
func sameStats(a, b tensor.Stats) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return a.Numel == b.Numel && a.Finite == b.Finite && a.NaN == b.NaN && a.Inf == b.Inf && a.Zeros == b.Zeros &&
		eq(a.L2, b.L2) && eq(a.RMS, b.RMS) && eq(a.Mean, b.Mean) && eq(a.Std, b.Std) && eq(a.Min, b.Min) && eq(a.Max, b.Max)
}

// TestScanEffectiveUnknown checks that a parameter without a known
// multiplier gets no effective figures, and that the others are unchanged
// by its presence.
func TestScanEffectiveUnknown(t *testing.T) {
	cp, err := layout.Open(filepath.Join("..", "testdata", "wesar-gemma", "checkpoint-30"), layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	res, err := ckpt.Scan(context.Background(), cp, ckpt.ScanOptions{Workers: 1, Effective: func(p *ckpt.Param) (yulan.Multiplier, bool) {
		switch p.Name {
		case "model.norm.weight":
			return yulan.Multiplier{Scale: 1, Offset: 1}, true // not Known
		case "lm_head.weight":
			return yulan.Multiplier{}, false
		}
		return yulan.Multiplier{Scale: -2, Offset: 1, Known: true}, true
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range res.Params {
		switch pr.Param.Name {
		case "model.norm.weight", "lm_head.weight":
			if pr.Effective != nil {
				t.Errorf("%s: effective figures %+v", pr.Param.Name, pr.Effective)
			}
		default:
			e := pr.Effective
			if e == nil || e.Stats.Numel != pr.FP32.Numel || !(e.Stats.Min == -2*(pr.FP32.Max+1)) {
				t.Errorf("%s: %+v (raw %+v)", pr.Param.Name, e, pr.FP32)
			}
		}
	}
}

// TestDiffEffective compares Diff's effective comparison of a WeSaR
// checkpoint and the same run 3 AdamW steps later (each side under its own
// scale factors) with PyTorch's float64 figures, with small chunks so that
// partial sums merge; checks that the raw comparison is the one made
// without effective multipliers; and that a checkpoint compared with
// itself read from another layout has effective deltas of exactly 0.
func TestDiffEffective(t *testing.T) {
	var g struct {
		Params []struct {
			Name      string     `json:"name"`
			ScaleA    float64    `json:"scale_a"`
			ScaleB    float64    `json:"scale_b"`
			Effective pairGolden `json:"effective"`
		} `json:"params"`
		Summary struct {
			Effective pairGolden `json:"effective"`
		} `json:"summary"`
	}
	if err := golden.Load("../testdata/wesar-gemma-drift.effective-diff.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	open := func(path, lay string) (*ckpt.Checkpoint, func(*ckpt.Param) (yulan.Multiplier, bool)) {
		c, err := layout.Open(filepath.Join("..", "testdata", path), layout.Options{Layout: lay})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cfg, _, err := ckpt.FindConfig(c, "")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ckpt.Scales(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c, func(p *ckpt.Param) (yulan.Multiplier, bool) { return sc.Of(p.Name) }
	}
	a, ma := open("wesar-gemma/checkpoint-30", "")
	b, mb := open("wesar-gemma-drift/checkpoint-33", "")
	tuning := ckpt.Tuning{ChunkElems: 250}
	plain, err := ckpt.Diff(context.Background(), a, b, ckpt.DiffOptions{Workers: 2, Tuning: tuning})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ckpt.Diff(context.Background(), a, b, ckpt.DiffOptions{Workers: 3, Tuning: tuning, EffectiveA: ma, EffectiveB: mb})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Params) != len(g.Params) {
		t.Fatalf("%d parameters, golden %d", len(res.Params), len(g.Params))
	}
	var worst float64
	for i, pd := range res.Params {
		gp := g.Params[i]
		e := pd.Effective
		if pd.Name != gp.Name || e == nil || e.State != ckpt.FP32 || e.A.Scale != gp.ScaleA || e.B.Scale != gp.ScaleB {
			t.Fatalf("%s (golden %s): %+v", pd.Name, gp.Name, e)
		}
		checkPair(t, pd.Name+" effective", &e.StateDiff, gp.Effective, &worst)
		for _, s := range ckpt.DiffStates() {
			if pd.States[s].Sums != plain.Params[i].States[s].Sums {
				t.Errorf("%s %s: raw sums %+v, without effective %+v", pd.Name, s, pd.States[s].Sums, plain.Params[i].States[s].Sums)
			}
		}
	}
	checkPair(t, "total effective", res.EffectiveTotal, g.Summary.Effective, &worst)
	t.Logf("largest relative difference from PyTorch: %.2g", worst)
	if plain.EffectiveTotal != nil || plain.Params[0].Effective != nil {
		t.Error("effective comparison without multipliers")
	}

	// universal against ZeRO shards of the same weights: nothing moved
	u, mu := open("wesar-llama/checkpoint-30", "universal")
	z, mz := open("wesar-llama/checkpoint-30", "zero")
	res, err = ckpt.Diff(context.Background(), u, z, ckpt.DiffOptions{Workers: 2, EffectiveA: mu, EffectiveB: mz})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.EffectiveTotal.Sums; s.Changed != 0 || s.SumDD != 0 || s.Pairs != s.Numel || s.Numel == 0 {
		t.Errorf("universal vs zero: %+v", s)
	}
}

// TestScanEffectiveBF16 checks that a parameter without an fp32 master (a
// weights-only bf16 model) has the effective statistics of its module
// weight, derived and accumulated alike.
func TestScanEffectiveBF16(t *testing.T) {
	n := 1000
	data := make([]byte, 2*n)
	for i := range n {
		// bf16 of values in [-1, 1): the top half of a float32
		f := float32(i-n/2) / float32(n/2)
		binary.LittleEndian.PutUint16(data[2*i:], uint16(math.Float32bits(f)>>16))
	}
	v, err := tensor.NewView(tensor.BFloat16, data, 0, []int64{int64(n)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &ckpt.Param{Name: "model.norm.weight", Shape: []int64{int64(n)}, Group: -1,
		BF16: &ckpt.Tensor{State: ckpt.BF16, File: "mem", DType: tensor.BFloat16, Shape: []int64{int64(n)}, Pieces: []ckpt.Piece{{View: v, File: "mem"}}}}
	c := &ckpt.Checkpoint{Path: "mem", Params: []*ckpt.Param{p}}
	for _, m := range []yulan.Multiplier{{Scale: -0.5, Known: true}, {Scale: 2, Offset: 1, Known: true}} {
		for _, accumulate := range []bool{false, true} {
			res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2, AccumulateEffective: accumulate,
				Effective: func(*ckpt.Param) (yulan.Multiplier, bool) { return m, true }})
			if err != nil {
				t.Fatal(err)
			}
			pr := res.Params[0]
			e := pr.Effective
			// with offset 1, -1 is among the values: only accumulation gives the zeros
			wantAcc := accumulate || m.Offset != 0
			if pr.Err != nil || e == nil || e.State != ckpt.BF16 || e.Accumulated != wantAcc || e.HasRatio {
				t.Fatalf("%v accumulate=%v: %v, %+v", m, accumulate, pr.Err, e)
			}
			want := v.Stats()
			wantMin, wantMax := m.Apply(want.Min), m.Apply(want.Max)
			if m.Scale < 0 {
				wantMin, wantMax = wantMax, wantMin
			}
			if e.Stats.Min != wantMin || e.Stats.Max != wantMax || e.Stats.Finite != int64(n) ||
				math.Abs(e.Stats.Mean-m.Apply(want.Mean)) > 1e-12 {
				t.Errorf("%v accumulate=%v: %+v (raw %+v)", m, accumulate, e.Stats, want)
			}
			if m.Offset != 0 && e.Stats.Zeros != 1 {
				t.Errorf("%v: %d effective zeros, want 1 (the element -1)", m, e.Stats.Zeros)
			}
		}
	}
}
