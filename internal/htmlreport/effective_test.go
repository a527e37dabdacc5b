package htmlreport

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/golden"
)

// TestCollectEffective: report --effective compares the effective weights
// of a pair as diff --effective does (PyTorch float64 goldens,
// testdata/gen/gen_wesar.py), and the page shows their relative change.
func TestCollectEffective(t *testing.T) {
	var g struct {
		Params []struct {
			Name      string `json:"name"`
			Effective *struct {
				RelChange *float64 `json:"rel_change"`
			} `json:"effective"`
		} `json:"params"`
	}
	if err := golden.Load("../../testdata/wesar-gemma-drift.effective-diff.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	rep, err := Collect(context.Background(), CollectOptions{Paths: []string{"../../testdata/wesar-gemma/checkpoint-30", "../../testdata/wesar-gemma-drift/checkpoint-33"},
		Workers: 2, Top: 12, Bins: 10, Effective: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, p := range rep.Changes[0].Diff.Params {
		if p.ParamEffectiveDiff != nil && p.Effective != nil && p.Effective.RelChange != nil {
			got[p.Name] = float64(*p.Effective.RelChange)
		}
	}
	checked := 0
	for _, p := range g.Params {
		if p.Effective == nil || p.Effective.RelChange == nil {
			continue
		}
		want := *p.Effective.RelChange
		if v, ok := got[p.Name]; !ok || math.Abs(v-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: effective rel_change %v (found %v), want %v", p.Name, v, ok, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no effective comparison in the golden")
	}
	var b bytes.Buffer
	if err := Write(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "effective ‖ΔW‖/‖W‖") {
		t.Error("the page has no effective change column")
	}
}
