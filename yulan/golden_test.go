package yulan_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// effectiveGolden is testdata/<fixture>.effective.golden.json, written by
// testdata/gen/gen_wesar.py.
type effectiveGolden struct {
	Config map[string]any     `json:"config"`
	Alphas map[string]float64 `json:"alphas"`
	Params []struct {
		Name    string  `json:"name"`
		Layer   *int    `json:"layer"`
		Kind    string  `json:"kind"`
		Alpha   *string `json:"alpha"`
		Scale   float64 `json:"scale"`
		Offset  float64 `json:"offset"`
		Factors []struct {
			Source string  `json:"source"`
			Value  float64 `json:"value"`
			Absent bool    `json:"absent"`
		} `json:"factors"`
		Effective      golden.Stats `json:"effective"`
		UpdateToWeight *float64     `json:"update_to_weight"`
	} `json:"params"`
}

// params lists a checkpoint's parameters for Resolve, reading each scale
// factor's fp32 value.
func params(c *ckpt.Checkpoint) []yulan.Param {
	var ps []yulan.Param
	for _, p := range c.Params {
		p := p
		ps = append(ps, yulan.Param{Name: p.Name, Numel: p.Numel(), Value: func() (float64, error) {
			return p.FP32.Pieces[0].View.Float64At(0), nil
		}})
	}
	return ps
}

// relErr is the error of got against want, relative to want or, for a
// figure that cancels (a mean or std near 0), to ref.
func relErr(got, want, ref float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / max(math.Abs(want), math.Abs(ref))
}

// TestEffectiveGolden checks, for every parameter of checkpoints whose
// config sets every multiplier to a non-default value and whose scale
// factors are far from 1, the multiplier against the generator's and the
// effective statistics, derived from one scan (EffectiveStats) and
// accumulated directly (AccumulateEffective), against PyTorch float64.
func TestEffectiveGolden(t *testing.T) {
	for _, fx := range []string{"wesar-llama", "wesar-gemma"} {
		t.Run(fx, func(t *testing.T) {
			var g effectiveGolden
			if err := golden.Load(filepath.Join("..", "testdata", fx+".effective.golden.json"), &g); err != nil {
				t.Fatal(err)
			}
			c, err := layout.Open(filepath.Join("..", "testdata", fx, "checkpoint-30"), layout.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg, err := yulan.ParseConfig(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range g.Config {
				found := false
				for _, s := range cfg.Settings() {
					if s.Key == k {
						found = true
						if s.Defaulted {
							t.Errorf("setting %s defaulted", k)
						}
					}
				}
				if !found {
					t.Errorf("config key %s (%v) not among Settings()", k, v)
				}
			}
			sc, err := yulan.Resolve(cfg, params(c))
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Notes) != 0 {
				t.Errorf("notes %v", sc.Notes)
			}
			res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*ckpt.ParamResult{}
			for _, pr := range res.Params {
				byName[pr.Param.Name] = pr
			}
			if len(g.Params) != len(c.Params) {
				t.Fatalf("%d golden params, %d in the checkpoint", len(g.Params), len(c.Params))
			}
			var worstDerived, worstDirect, worstRatio float64
			for _, gp := range g.Params {
				n := yulan.Parse(gp.Name)
				wantLayer := -1
				if gp.Layer != nil {
					wantLayer = *gp.Layer
				}
				if n.Layer != wantLayer || string(n.Kind) != gp.Kind || (gp.Alpha != nil && string(n.Alpha) != *gp.Alpha) {
					t.Errorf("%s: parsed %+v, generator says layer %d kind %s", gp.Name, n, wantLayer, gp.Kind)
				}
				m, ok := sc.Of(gp.Name)
				if !ok || !m.Known || m.Scale != gp.Scale || m.Offset != gp.Offset || len(m.Factors) != len(gp.Factors) {
					t.Errorf("%s: multiplier %v, want scale %v offset %v (%d factors)", gp.Name, m, gp.Scale, gp.Offset, len(gp.Factors))
					continue
				}
				for i, f := range gp.Factors {
					if m.Factors[i] != (yulan.Factor{Source: f.Source, Value: f.Value, Absent: f.Absent}) {
						t.Errorf("%s: factor %d %+v, want %+v", gp.Name, i, m.Factors[i], f)
					}
				}
				pr := byName[gp.Name]
				if pr == nil || pr.FP32 == nil {
					t.Errorf("%s: not scanned", gp.Name)
					continue
				}
				want := gp.Effective
				want.DType = pr.FP32.DType.String()
				// derived from the scan's statistics
				eff, err := yulan.EffectiveStats(*pr.FP32, m)
				if err != nil {
					t.Errorf("%s: %v", gp.Name, err)
				} else {
					for _, d := range golden.Compare(eff, want) {
						t.Errorf("%s (derived): %s", gp.Name, d)
					}
					for _, e := range []float64{relErr(eff.L2, *want.L2, *want.RMS), relErr(eff.RMS, *want.RMS, *want.RMS),
						relErr(eff.Mean, *want.Mean, *want.RMS), relErr(eff.Std, *want.Std, *want.RMS)} {
						worstDerived = max(worstDerived, e)
					}
				}
				// accumulated directly, in the scan's chunks
				direct := accumulate(pr.Param.FP32, m)
				for _, d := range golden.Compare(direct, want) {
					t.Errorf("%s (direct): %s", gp.Name, d)
				}
				for _, e := range []float64{relErr(direct.L2, *want.L2, *want.RMS), relErr(direct.Mean, *want.Mean, *want.RMS), relErr(direct.Std, *want.Std, *want.RMS)} {
					worstDirect = max(worstDirect, e)
				}
				// update-to-weight against the effective weight
				if gp.UpdateToWeight != nil {
					if pr.Adam == nil {
						t.Errorf("%s: no AdamW figures", gp.Name)
						continue
					}
					r, ok := yulan.EffectiveUpdateToWeight(pr.Adam.LR, pr.Adam.UpdateRMS, eff, m)
					if !ok || !golden.Close(r, *gp.UpdateToWeight, 0) {
						t.Errorf("%s: effective update/weight %v, want %v", gp.Name, r, *gp.UpdateToWeight)
					}
					worstRatio = max(worstRatio, relErr(r, *gp.UpdateToWeight, 0))
				}
			}
			t.Logf("largest relative error against PyTorch float64: derived %.2g, direct %.2g, update/weight %.2g", worstDerived, worstDirect, worstRatio)
		})
	}
}

// accumulate computes the effective statistics of a logical tensor with
// AccumulateEffective, piece by piece and in chunks as a scan would.
func accumulate(t *ckpt.Tensor, m yulan.Multiplier) tensor.Stats {
	mom := tensor.NewMoments(yulan.EffectiveShift(t.Pieces[0].View.Shift(), m))
	for _, p := range t.Pieces {
		n := p.View.Numel()
		for lo := int64(0); lo < n; lo += 1000 {
			part := tensor.NewMoments(mom.Shift)
			yulan.AccumulateEffective(p.View, lo, min(lo+1000, n), m, &part)
			mom.Merge(part)
		}
	}
	return mom.Result(t.DType, t.Shape, t.Numel())
}
