package series_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/series"
)

// TestSeriesEffective: the rows of state "effective" hold the statistics
// of the effective weights PyTorch computed in float64
// (testdata/gen/gen_wesar.py), measured and then read back from the cache
// (kept apart from a cache of the same run without --effective).
func TestSeriesEffective(t *testing.T) {
	var g struct {
		Params []struct {
			Name           string       `json:"name"`
			Effective      golden.Stats `json:"effective"`
			UpdateToWeight *float64     `json:"update_to_weight"`
		} `json:"params"`
	}
	if err := golden.Load("../testdata/wesar-llama.effective.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	var ck *series.Checkpoint
	run := func(effective bool) []series.Row {
		s, err := series.Open([]string{"../testdata/wesar-llama/checkpoint-30"}, series.Options{Workers: 2, CacheDir: cache, Effective: effective})
		if err != nil {
			t.Fatal(err)
		}
		var rows []series.Row
		ck = s.Checkpoints[0]
		for _, p := range collect(t, s) {
			rows = append(rows, p.Rows...)
		}
		return rows
	}
	plain := run(false)
	if n := countState(plain); n != 0 {
		t.Fatalf("%d effective rows without Effective", n)
	}
	// The aggregate of a run's report: the RMS of the effective weights
	// per layer and kind, the totals unchanged.
	var a, b series.Aggregate
	a.Add(series.Part{Checkpoint: ck, Rows: plain})
	b.Add(series.Part{Checkpoint: ck, Rows: run(true)})
	if a.Totals[0].NaN != b.Totals[0].NaN || a.Totals[0].Params != b.Totals[0].Params || len(a.Points) != len(b.Points) {
		t.Errorf("totals with effective rows %+v, without %+v", b.Totals[0], a.Totals[0])
	}
	for i, p := range b.Points {
		if !math.IsNaN(a.Points[i].EffectiveRMS) || math.IsNaN(p.EffectiveRMS) || p.EffectiveRMS <= 0 {
			t.Errorf("point %d: effective RMS %v (without: %v)", i, p.EffectiveRMS, a.Points[i].EffectiveRMS)
		}
	}
	for _, pass := range []string{"measured", "cached"} {
		rows := run(true)
		byName := map[string]series.Row{}
		for _, r := range rows {
			if r.State == series.EffectiveState {
				byName[r.Param] = r
			}
		}
		if len(byName) != len(g.Params) {
			t.Fatalf("%s: %d effective rows, want %d", pass, len(byName), len(g.Params))
		}
		for _, p := range g.Params {
			r := byName[p.Name]
			want := p.Effective
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"l2", r.L2, *want.L2}, {"rms", r.RMS, *want.RMS}, {"mean", r.Mean, *want.Mean}, {"std", r.Std, *want.Std},
				{"min", r.Min, *want.Min}, {"max", r.Max, *want.Max}, {"absmax", r.AbsMax, *want.AbsMax},
			} {
				if !near(c.got, c.want) {
					t.Errorf("%s: %s %s = %v, want %v", pass, p.Name, c.what, c.got, c.want)
				}
			}
			if p.UpdateToWeight != nil && !near(r.UpdateToWeight, *p.UpdateToWeight) {
				t.Errorf("%s: %s update_to_weight = %v, want %v", pass, p.Name, r.UpdateToWeight, *p.UpdateToWeight)
			}
			if r.Numel != want.Numel || r.HasDelta() {
				t.Errorf("%s: %s numel %d (want %d), delta %v", pass, p.Name, r.Numel, want.Numel, r.DeltaL2)
			}
		}
	}
}

func countState(rows []series.Row) int {
	n := 0
	for _, r := range rows {
		if r.State == series.EffectiveState {
			n++
		}
	}
	return n
}

// near compares to PyTorch's float64 within 1e-9 relative (absolute near 0).
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
