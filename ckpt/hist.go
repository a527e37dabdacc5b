package ckpt

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// HistSpec says how [Histogram] bins the values of a tensor: Bins
// equal-width bins over [Lo, Hi], or, when Log is set, bins of the
// magnitude |x| with PerDecade bins per power of ten.
type HistSpec struct {
	Lo, Hi    float64
	Bins      int
	Log       bool
	PerDecade int
}

// Hist is a histogram of one tensor, with the statistics of the same pass.
// Only finite values are binned; NaN, infinities and (for log bins) zeros
// are counted in Stats.
//
// Linear bins: Counts[i] counts the finite x in [Lo, Hi] whose bin index
// ⌊(x−Lo)·Bins/(Hi−Lo)⌋, computed in float64 and clamped to Bins−1 (x = Hi
// is in the last bin), is i; Below and Above count the finite x < Lo and
// x > Hi.
//
// Log bins: bin k holds the x with LogEdge(k) ≤ |x| < LogEdge(k+1), where
// LogEdge(k) = 10^(k/PerDecade); Neg[i] and Pos[i] count the negative and
// the positive x of bin MinBin+i. Bins beyond the last non-empty one are
// left out.
type Hist struct {
	Spec         HistSpec
	Counts       []int64
	Below, Above int64
	MinBin       int
	Neg, Pos     []int64
	Stats        tensor.Stats
}

// LogEdge returns the lower edge of log bin k, 10^(k/PerDecade).
func (h *Hist) LogEdge(k int) float64 { return logEdge(k, h.Spec.PerDecade) }

func logEdge(k, perDecade int) float64 { return math.Pow(10, float64(k)/float64(perDecade)) }

// Validate checks a spec: Bins ≥ 1 and Lo < Hi, both finite, for linear
// bins; 1 ≤ PerDecade ≤ 100 for log bins.
func (s HistSpec) Validate() error {
	if s.Log {
		if s.PerDecade < 1 || s.PerDecade > 100 {
			return fmt.Errorf("histogram: %d bins per decade (want 1 to 100)", s.PerDecade)
		}
		return nil
	}
	if s.Bins < 1 {
		return fmt.Errorf("histogram: %d bins (want at least 1)", s.Bins)
	}
	if !(s.Lo < s.Hi) || math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		return fmt.Errorf("histogram: range [%g, %g] is not a finite interval", s.Lo, s.Hi)
	}
	return nil
}

// PassOptions configures a pass over one tensor.
type PassOptions struct {
	Workers  int               // parallel workers; 0 for all cores
	Progress func(bytes int64) // called as bytes are read
	Tuning   Tuning            // chunking and page handling
}

func (o PassOptions) stream() stream.Options { return o.Tuning.stream(o.Workers, o.Progress) }

// TensorStats returns the statistics of one logical tensor, in one pass.
func TensorStats(ctx context.Context, t *Tensor, opt PassOptions) (tensor.Stats, error) {
	st, errs, err := TensorsStats(ctx, []*Tensor{t}, opt)
	if err != nil {
		return tensor.Stats{}, err
	}
	if errs[0] != nil {
		return tensor.Stats{}, fmt.Errorf("%s: %w", t.File, errs[0])
	}
	return st[0], nil
}

// TensorsStats returns the statistics of each tensor of ts, in one pass
// over all of them. errs[i] is the error that stopped reading ts[i] (the
// others are still measured); err is only set when the pass itself stopped
// (ctx was cancelled).
func TensorsStats(ctx context.Context, ts []*Tensor, opt PassOptions) (st []tensor.Stats, errs []error, err error) {
	st, errs = make([]tensor.Stats, len(ts)), make([]error, len(ts))
	tasks := make([]*stream.Task, len(ts))
	for i, t := range ts {
		tasks[i] = statsTask(t, func(s tensor.Stats, err error) { st[i], errs[i] = s, err })
	}
	if err := stream.Run(ctx, tasks, opt.stream()); err != nil {
		return nil, nil, err
	}
	return st, errs, nil
}

// histPart is the partial result of one chunk of a histogram task.
type histPart struct {
	m            tensor.Moments
	counts       []int64
	below, above int64
	minBin       int
	neg, pos     []int64
}

// logBins is the range of log bin indices of finite nonzero float64
// magnitudes (4.9e-324 to 1.8e308) for a number of bins per decade, and
// their lower edges.
type logBins struct {
	per   int
	first int       // index of edges[0]
	edges []float64 // edges[i] = logEdge(first+i)
}

func newLogBins(per int) *logBins {
	first := -324*per - 1
	last := 309*per + 1
	lb := &logBins{per: per, first: first, edges: make([]float64, last-first+2)}
	for i := range lb.edges {
		lb.edges[i] = logEdge(first+i, per)
	}
	return lb
}

// bin returns the index into edges of the bin of the finite magnitude
// ax > 0: edges[i] ≤ ax < edges[i+1].
func (lb *logBins) bin(ax float64) int {
	i := int(math.Floor(math.Log10(ax)*float64(lb.per))) - lb.first
	i = min(max(i, 0), len(lb.edges)-2)
	for i > 0 && ax < lb.edges[i] {
		i--
	}
	for i < len(lb.edges)-2 && ax >= lb.edges[i+1] {
		i++
	}
	return i
}

// Histogram bins the values of one logical tensor in one pass, which also
// gives its statistics (Hist.Stats).
func Histogram(ctx context.Context, t *Tensor, spec HistSpec, opt PassOptions) (*Hist, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	var lb *logBins
	if spec.Log {
		lb = newLogBins(spec.PerDecade)
	}
	k := shift(t)
	h := &Hist{Spec: spec}
	var terr error
	task := &stream.Task{
		Numel:   t.Numel(),
		Sources: sources(t),
		Chunk: func(lo, hi int64) any {
			part := histPart{m: tensor.NewMoments(k)}
			accumulate(t, lo, hi, &part.m)
			var buf [512]float64
			var neg, pos []int64
			if lb != nil {
				neg, pos = make([]int64, len(lb.edges)), make([]int64, len(lb.edges))
			} else {
				part.counts = make([]int64, spec.Bins)
			}
			width, n := spec.Hi-spec.Lo, float64(spec.Bins)
			for _, s := range spans(t, lo, hi) {
				v := t.Pieces[s.piece].View
				for at := s.lo; at < s.hi; at += int64(len(buf)) {
					vals := buf[:min(int64(len(buf)), s.hi-at)]
					v.Float64s(at, vals)
					for _, x := range vals {
						switch {
						case x-x != 0: // NaN or ±Inf: counted in the statistics
						case lb != nil:
							if x < 0 {
								neg[lb.bin(-x)]++
							} else if x > 0 {
								pos[lb.bin(x)]++
							}
						case x < spec.Lo:
							part.below++
						case x > spec.Hi:
							part.above++
						default:
							i := int((x - spec.Lo) * n / width)
							part.counts[min(max(i, 0), spec.Bins-1)]++
						}
					}
				}
			}
			if lb != nil {
				part.minBin, part.neg, part.pos = trimBins(neg, pos, lb.first)
			}
			return part
		},
		Done: func(parts []any, err error) {
			if err != nil {
				terr = err
				return
			}
			m := tensor.NewMoments(k)
			if lb == nil {
				h.Counts = make([]int64, spec.Bins)
			}
			for _, x := range parts {
				if x == nil {
					continue
				}
				p := x.(histPart)
				m.Merge(p.m)
				h.Below += p.below
				h.Above += p.above
				for i, c := range p.counts {
					h.Counts[i] += c
				}
				if len(p.neg) > 0 {
					h.MinBin, h.Neg, h.Pos = mergeBins(h.MinBin, h.Neg, h.Pos, p.minBin, p.neg, p.pos)
				}
			}
			h.Stats = m.Result(t.DType, t.Shape, t.Numel())
		},
	}
	if err := stream.Run(ctx, []*stream.Task{task}, opt.stream()); err != nil {
		return nil, err
	}
	if terr != nil {
		return nil, fmt.Errorf("%s: %w", t.File, terr)
	}
	return h, nil
}

// trimBins copies the bins from the first to the last non-empty one of neg
// and pos, whose index 0 is bin first; it returns the first kept bin.
func trimBins(neg, pos []int64, first int) (int, []int64, []int64) {
	lo, hi := -1, -1
	for i := range neg {
		if neg[i] != 0 || pos[i] != 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	if lo < 0 {
		return 0, nil, nil
	}
	return first + lo, slices.Clone(neg[lo : hi+1]), slices.Clone(pos[lo : hi+1])
}

// mergeBins adds the bins (bMin, bNeg, bPos) to (aMin, aNeg, aPos), either
// of which may be empty, and returns the union.
func mergeBins(aMin int, aNeg, aPos []int64, bMin int, bNeg, bPos []int64) (int, []int64, []int64) {
	if len(aNeg) == 0 {
		return bMin, append([]int64(nil), bNeg...), append([]int64(nil), bPos...)
	}
	lo := min(aMin, bMin)
	hi := max(aMin+len(aNeg), bMin+len(bNeg))
	neg, pos := make([]int64, hi-lo), make([]int64, hi-lo)
	for i := range aNeg {
		neg[aMin-lo+i] += aNeg[i]
		pos[aMin-lo+i] += aPos[i]
	}
	for i := range bNeg {
		neg[bMin-lo+i] += bNeg[i]
		pos[bMin-lo+i] += bPos[i]
	}
	return lo, neg, pos
}

// LinearSpec returns bins equal bins over [lo, hi], widened around a
// single value so that it falls in a bin of non-zero width.
func LinearSpec(lo, hi float64, bins int) HistSpec {
	if lo == hi {
		d := math.Max(math.Abs(lo)/2, 0.5)
		lo, hi = lo-d, hi+d
	}
	return HistSpec{Lo: lo, Hi: hi, Bins: bins}
}

// HistPasses returns the passes over the tensor AutoHistogram makes for
// spec: two for linear bins whose range is not given (Lo == Hi == 0), the
// first to measure it; else one.
func HistPasses(spec HistSpec) int {
	if !spec.Log && spec.Lo == 0 && spec.Hi == 0 {
		return 2
	}
	return 1
}

// AutoHistogram bins t with spec, measuring first the range of linear
// bins that have none (HistPasses): then the bins span [min, max] of the
// finite values (LinearSpec), and a tensor without finite values is not
// binned (its statistics are returned alone). It returns the passes made.
func AutoHistogram(ctx context.Context, t *Tensor, spec HistSpec, opt PassOptions) (*Hist, int, error) {
	if HistPasses(spec) == 1 {
		h, err := Histogram(ctx, t, spec, opt)
		return h, 1, err
	}
	st, err := TensorStats(ctx, t, opt)
	if err != nil {
		return nil, 1, err
	}
	if !st.Valid() {
		return &Hist{Stats: st}, 1, nil
	}
	h, err := Histogram(ctx, t, LinearSpec(st.Min, st.Max, spec.Bins), opt)
	return h, 2, err
}
