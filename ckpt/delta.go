package ckpt

import (
	"fmt"
	"slices"

	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// prevParams indexes the parameters of ScanOptions.Prev by name (nil
// without Prev).
func prevParams(c *Checkpoint) map[string]*Param {
	if c == nil {
		return nil
	}
	m := make(map[string]*Param, len(c.Params))
	for _, p := range c.Params {
		m[p.Name] = p
	}
	return m
}

// deltaPart is the partial result of one chunk of a delta task.
type deltaPart struct {
	m    tensor.Moments
	sums tensor.PairSums
}

// deltaTask sets pr.Delta, the comparison of p's fp32 master weight (B)
// with q's (A, the same parameter in the previous checkpoint), and returns
// the task that reads the two together; with stats it also measures p's
// fp32 statistics (pr.FP32) from the same reads. It returns nil when there
// is nothing to compare: q is nil, either side has no fp32 weight, or
// their shapes differ (then pr.Delta says so and nothing is read).
func deltaTask(p, q *Param, pr *ParamResult, stats bool, fail func(*ParamResult, error)) *stream.Task {
	if q == nil || p.FP32 == nil || q.FP32 == nil {
		return nil
	}
	w, a := p.FP32, q.FP32
	sd := &StateDiff{State: FP32, ShapeA: a.Shape, ShapeB: w.Shape, Compared: slices.Equal(a.Shape, w.Shape)}
	pr.Delta = sd
	if !sd.Compared {
		return nil
	}
	shiftW := lazyShift(w)
	return &stream.Task{
		Numel:   w.Numel(),
		Sources: append(sources(w), sources(a)...),
		Prepare: prepareIf(stats, shiftW),
		ChunkRead: func(lo, hi int64, win []stream.Window) any {
			ww, wa := win[:len(w.Pieces)], win[len(w.Pieces):]
			shiftW.from(ww, lo, hi)
			part := deltaPart{}
			if stats {
				part.m = tensor.NewMoments(shiftW.k())
			}
			for x := lo; x < hi; x += block {
				e := min(x+block, hi)
				if stats {
					accumulateWindows(w, ww, x, e, &part.m)
				}
				for _, s := range pairSpans(nil, a, w, x, e) {
					u, v := wa[s.a], ww[s.b]
					part.sums.Merge(tensor.DiffPairs(u.View, v.View, s.aLo-u.Base, s.bLo-v.Base, s.n))
				}
			}
			return part
		},
		Done: func(parts []any, err error) {
			if err != nil {
				fail(pr, fmt.Errorf("%s, %s: %w", w.File, a.File, err))
				return
			}
			var m tensor.Moments
			if stats {
				m = tensor.NewMoments(shiftW.k())
			}
			var sums tensor.PairSums
			for _, x := range parts {
				if x == nil {
					continue
				}
				part := x.(deltaPart)
				if stats {
					m.Merge(part.m)
				}
				sums.Merge(part.sums)
			}
			sd.Sums = sums
			if stats {
				st := m.Result(w.DType, w.Shape, w.Numel())
				pr.FP32 = &st
			}
		},
	}
}

// deltaTotal adds up the compared deltas of a scan.
func deltaTotal(prs []*ParamResult) *StateDiff {
	t := &StateDiff{State: FP32, Compared: true}
	for _, pr := range prs {
		if pr.Delta != nil && pr.Delta.Compared {
			t.Sums.Merge(pr.Delta.Sums)
		}
	}
	return t
}
