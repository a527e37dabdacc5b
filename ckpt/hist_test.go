package ckpt

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// refLinear bins values as Hist documents it, one by one.
func refLinear(vals []float64, lo, hi float64, bins int) (counts []int64, below, above int64) {
	counts = make([]int64, bins)
	for _, x := range vals {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
		case x < lo:
			below++
		case x > hi:
			above++
		default:
			i := int((x - lo) * float64(bins) / (hi - lo))
			counts[min(i, bins-1)]++
		}
	}
	return counts, below, above
}

// refLog bins magnitudes by searching the edges 10^(k/per) directly.
func refLog(vals []float64, per int) map[int][2]int64 {
	out := map[int][2]int64{}
	for _, x := range vals {
		if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		ax := math.Abs(x)
		k := -400 * per
		for logEdge(k+1, per) <= ax {
			k++
		}
		c := out[k]
		if x < 0 {
			c[0]++
		} else {
			c[1]++
		}
		out[k] = c
	}
	return out
}

func TestHistogram(t *testing.T) {
	vals := wave(1000, 0.3)
	vals[5], vals[6], vals[7], vals[8] = math.NaN(), math.Inf(1), math.Inf(-1), 0
	vals[9], vals[10], vals[11] = 1e-30, -5e-40, 1 // tiny, subnormal in float32, exactly an edge
	vals[12], vals[13] = math.Pow(10, 0.25), -100
	cases := []struct {
		name    string
		spec    HistSpec
		cuts    []int64
		chunk   int
		workers int
	}{
		{"linear, one chunk", HistSpec{Lo: -0.1, Hi: 0.1, Bins: 20}, nil, 0, 1},
		{"linear, values outside, pieces and chunks", HistSpec{Lo: -0.05, Hi: 0.03, Bins: 7}, []int64{300, 1, 699}, 64, 3},
		{"linear, one bin", HistSpec{Lo: -1, Hi: 1, Bins: 1}, nil, 100, 2},
		{"log, 4 per decade", HistSpec{Log: true, PerDecade: 4}, nil, 0, 1},
		{"log, pieces and chunks", HistSpec{Log: true, PerDecade: 3}, []int64{500, 500}, 37, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tt := memTensor(t, "fp32", tensor.Float32, []int64{1000}, vals, c.cuts...)
			var stored []float64
			for _, p := range tt.Pieces {
				for i := range p.View.Numel() {
					stored = append(stored, p.View.Float64At(i))
				}
			}
			h, err := Histogram(context.Background(), tt, c.spec, PassOptions{Workers: c.workers, Tuning: Tuning{ChunkElems: int64(c.chunk)}})
			if err != nil {
				t.Fatal(err)
			}
			if h.Stats.Numel != 1000 || h.Stats.NaN != 1 || h.Stats.PosInf != 1 || h.Stats.NegInf != 1 {
				t.Errorf("stats %+v", h.Stats)
			}
			if !c.spec.Log {
				counts, below, above := refLinear(stored, c.spec.Lo, c.spec.Hi, c.spec.Bins)
				if !slices.Equal(h.Counts, counts) || h.Below != below || h.Above != above {
					t.Errorf("counts %v below %d above %d, want %v %d %d", h.Counts, h.Below, h.Above, counts, below, above)
				}
				return
			}
			want := refLog(stored, c.spec.PerDecade)
			got := map[int][2]int64{}
			for i := range h.Neg {
				if h.Neg[i] != 0 || h.Pos[i] != 0 {
					got[h.MinBin+i] = [2]int64{h.Neg[i], h.Pos[i]}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d bins, want %d", len(got), len(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("bin %d [%g, %g): %v, want %v", k, h.LogEdge(k), h.LogEdge(k+1), got[k], w)
				}
			}
			if h.Neg[0] == 0 && h.Pos[0] == 0 || h.Neg[len(h.Neg)-1] == 0 && h.Pos[len(h.Pos)-1] == 0 {
				t.Error("empty bins at the ends were kept")
			}
		})
	}
}

func TestHistSpecValidate(t *testing.T) {
	cases := []struct {
		spec HistSpec
		ok   bool
	}{
		{HistSpec{Lo: 0, Hi: 1, Bins: 10}, true},
		{HistSpec{Lo: 1, Hi: 1, Bins: 10}, false},
		{HistSpec{Lo: 0, Hi: math.Inf(1), Bins: 10}, false},
		{HistSpec{Lo: math.NaN(), Hi: 1, Bins: 10}, false},
		{HistSpec{Lo: 0, Hi: 1, Bins: 0}, false},
		{HistSpec{Log: true, PerDecade: 4}, true},
		{HistSpec{Log: true, PerDecade: 0}, false},
	}
	for _, c := range cases {
		if err := c.spec.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.spec, err)
		}
	}
}

func TestTensorStats(t *testing.T) {
	vals := wave(500, 1)
	tt := memTensor(t, "fp32", tensor.Float32, []int64{500}, vals, 123, 377)
	got, err := TensorStats(context.Background(), tt, PassOptions{Workers: 2, Tuning: Tuning{ChunkElems: 50}})
	if err != nil {
		t.Fatal(err)
	}
	one := memTensor(t, "fp32", tensor.Float32, []int64{500}, vals)
	want := one.Pieces[0].View.Stats()
	if got.Min != want.Min || got.Max != want.Max || got.Finite != want.Finite || !near(got.L2, want.L2) {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}
