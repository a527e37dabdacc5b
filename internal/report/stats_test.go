package report

import (
	"math"
	"slices"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// TestPooledStd: the standard deviation of a union from its parts'
// statistics equals the direct one.
func TestPooledStd(t *testing.T) {
	parts := [][]float64{{1, 2, 3}, {10, 11}, {-4, 0.5, 2, 7}}
	var all []float64
	var st []tensor.Stats
	for _, p := range parts {
		all = append(all, p...)
		var mean, v float64
		for _, x := range p {
			mean += x
		}
		mean /= float64(len(p))
		for _, x := range p {
			v += (x - mean) * (x - mean)
		}
		st = append(st, tensor.Stats{Finite: int64(len(p)), Mean: mean, Std: math.Sqrt(v / float64(len(p)))})
	}
	var mean, v float64
	for _, x := range all {
		mean += x
	}
	mean /= float64(len(all))
	for _, x := range all {
		v += (x - mean) * (x - mean)
	}
	want := math.Sqrt(v / float64(len(all)))
	if got := pooledStd(st, float64(len(all))); math.Abs(got-want) > 1e-12*want {
		t.Errorf("pooled %v, direct %v", got, want)
	}
}

func TestOrderGroups(t *testing.T) {
	f := func(x float64) *output.Float { return output.Opt(x, true) }
	gs := []GroupStats{{Name: "embedding", WeightRMS: f(0.02)}, {Name: "layer 0", WeightRMS: nil}, {Name: "layer 1", WeightRMS: f(0.06)}, {Name: "final norm", WeightRMS: f(1)}}
	names := func(gs []GroupStats) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	if got := names(OrderGroups(slices.Clone(gs), "fp32.rms", 0)); !slices.Equal(got, []string{"final norm", "layer 1", "embedding", "layer 0"}) {
		t.Errorf("sorted %v", got)
	}
	if got := names(OrderGroups(slices.Clone(gs), "name", 2)); !slices.Equal(got, []string{"embedding", "layer 0"}) {
		t.Errorf("depth order, top 2: %v", got)
	}
	for _, field := range SortFields()[1:] {
		switch field {
		case "effective.absmax", "effective.std", "effective.update_to_weight":
			continue // groups keep only the effective norm and RMS: depth order
		}
		if groupSortFields[field] == nil {
			t.Errorf("--sort %s has no counterpart for groups", field)
		}
	}
}
