package ckpt

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// ScanOptions configures [Scan].
type ScanOptions struct {
	Workers  int               // parallel workers; 0 for all cores
	Progress func(bytes int64) // called as bytes are read
	Filter   func(*Param) bool // when set, only matching parameters are scanned
	Tuning   Tuning            // chunking and page handling
	// Compare reads each parameter's fp32 master and bf16 module weights
	// together and compares them (ParamResult.Master).
	Compare bool
	// Prev, when set, is an earlier checkpoint of the same model: each
	// parameter's fp32 master weight is compared with the fp32 master
	// weight of the parameter of the same name in Prev, the two read
	// together in the same pass as the statistics, so that a run of
	// checkpoints is measured in one pass per neighbouring pair
	// (ParamResult.Delta). With Compare too, the fp32 weight is read once
	// more for the comparison with Prev.
	Prev *Checkpoint
}

// Result is what [Scan] measured.
type Result struct {
	Params  []*ParamResult // in the checkpoint's parameter order
	Summary Summary
	// DeltaTotal adds up the sums of every parameter's Delta that was
	// compared (nil without ScanOptions.Prev).
	DeltaTotal *StateDiff
}

// ParamResult holds the measurements of one parameter. A nil statistics
// pointer means the state is absent.
type ParamResult struct {
	Param                        *Param
	FP32, ExpAvg, ExpAvgSq, BF16 *tensor.Stats
	// Adam is nil when the update cannot be computed: a moment, the step,
	// or the group's lr, betas or eps is missing, or the step is 0.
	Adam *Adam
	// Scale is true for a re-parameterisation scale factor (one element,
	// name ending in "_alpha"), whose fp32 value is ScaleValue.
	Scale      bool
	ScaleValue float64
	// Master compares the module weight with the fp32 master rounded to
	// the module's dtype (with ScanOptions.Compare, when both exist and
	// their shapes allow: equal, or the module having extra padding rows).
	Master *tensor.Comparison
	// Delta compares the fp32 master weight with ScanOptions.Prev's (A =
	// Prev, B = this checkpoint), as [Diff] does; nil without Prev, or
	// when either side has no fp32 weight. When the shapes differ,
	// Delta.Compared is false and nothing was compared.
	Delta *StateDiff
	// Err is the first error met while reading the parameter's data.
	Err error
}

// Adam holds the AdamW update statistics of a parameter (FORMATS.md §10):
// with t its step and (b1, b2, eps, lr) its group's, m̂ = exp_avg/(1−b1^t),
// v̂ = exp_avg_sq/(1−b2^t) and u = m̂/(sqrt(v̂)+eps) elementwise.
type Adam struct {
	Step           int64
	LR             float64
	SumSq          float64 // Σ u² over the elements where u is finite
	N              int64   // elements where u is finite
	UpdateRMS      float64 // sqrt(SumSq / N)
	UpdateToWeight float64 // lr · UpdateRMS / RMS(fp32 weight)
	// HasRatio is false when the ratio is undefined (no fp32 weight, or
	// its RMS is 0).
	HasRatio bool
}

// Summary aggregates a scan.
type Summary struct {
	Step         *int64
	Params       int
	Numel        int64
	BytesScanned int64
	// Global norms: the square root of the sum over parameters of the
	// squared L2 norms of the state.
	WeightNorm, ExpAvgNorm, ExpAvgSqNorm, BF16Norm float64
	NaN, Inf                                       int64 // totals over every state of every parameter
}

// ScanBytes returns the tensor bytes Scan reads for the parameters that
// filter keeps (all when nil): the bytes of their four states.
func (c *Checkpoint) ScanBytes(filter func(*Param) bool) int64 {
	var n int64
	for _, p := range c.Params {
		if filter != nil && !filter(p) {
			continue
		}
		for _, t := range []*Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
			if t != nil {
				n += t.NBytes()
			}
		}
	}
	return n
}

// IsScale reports whether p is a re-parameterisation scale factor, such as
// YuLan-Mini's WeSaR *_alpha parameters: a trainable parameter with one
// element whose name is a scale factor's (yulan.IsAlpha: its last
// component ends in "_alpha").
func IsScale(p *Param) bool {
	return p.Numel() == 1 && yulan.IsAlpha(p.Name)
}

// Scan measures every parameter of c in one pass over its bytes: the
// statistics of each state, and the AdamW update from the two moments read
// together.
func Scan(ctx context.Context, c *Checkpoint, opt ScanOptions) (*Result, error) {
	res := &Result{}
	var tasks []*stream.Task
	var mu sync.Mutex
	fail := func(pr *ParamResult, err error) {
		mu.Lock()
		defer mu.Unlock()
		if pr.Err == nil {
			pr.Err = err
		}
	}
	prev := prevParams(opt.Prev)
	for _, p := range c.Params {
		if opt.Filter != nil && !opt.Filter(p) {
			continue
		}
		pr := &ParamResult{Param: p}
		res.Params = append(res.Params, pr)
		if IsScale(p) && p.FP32 != nil && len(p.FP32.Pieces) > 0 && p.FP32.Numel() == 1 {
			pr.Scale = true
			pr.ScaleValue = p.FP32.Pieces[0].View.Float64At(0)
		}
		weights := []struct {
			t   *Tensor
			dst **tensor.Stats
		}{{p.FP32, &pr.FP32}, {p.BF16, &pr.BF16}}
		measured := false // the fp32 statistics have a task
		if opt.Compare && comparable(p.FP32, p.BF16) {
			tasks = append(tasks, weightsTask(p, pr, fail))
			weights, measured = nil, true
		}
		if t := deltaTask(p, prev[p.Name], pr, !measured, fail); t != nil {
			tasks = append(tasks, t)
			if !measured {
				weights = weights[1:] // the delta task measures the fp32 weight
			}
		}
		for _, st := range weights {
			if st.t == nil {
				continue
			}
			dst := st.dst
			tasks = append(tasks, statsTask(st.t, func(s tensor.Stats, err error) {
				if err != nil {
					fail(pr, fmt.Errorf("%s: %w", st.t.File, err))
					return
				}
				*dst = &s
			}))
		}
		switch {
		case p.ExpAvg != nil && p.ExpAvgSq != nil && p.ExpAvg.Numel() == p.ExpAvgSq.Numel():
			tasks = append(tasks, momentsTask(c, p, pr, fail))
		default:
			for _, st := range []struct {
				t   *Tensor
				dst **tensor.Stats
			}{{p.ExpAvg, &pr.ExpAvg}, {p.ExpAvgSq, &pr.ExpAvgSq}} {
				if st.t == nil {
					continue
				}
				dst := st.dst
				tasks = append(tasks, statsTask(st.t, func(s tensor.Stats, err error) {
					if err != nil {
						fail(pr, fmt.Errorf("%s: %w", st.t.File, err))
						return
					}
					*dst = &s
				}))
			}
		}
	}
	sopt := opt.Tuning.stream(opt.Workers, opt.Progress)
	for _, t := range tasks {
		res.Summary.BytesScanned += t.Bytes()
	}
	if err := stream.Run(ctx, tasks, sopt); err != nil {
		return nil, err
	}
	for _, pr := range res.Params {
		if pr.Adam != nil && pr.FP32 != nil && pr.FP32.Valid() && pr.FP32.RMS > 0 {
			pr.Adam.UpdateToWeight = pr.Adam.LR * pr.Adam.UpdateRMS / pr.FP32.RMS
			pr.Adam.HasRatio = true
		}
	}
	res.Summary = summarize(c, res.Params, res.Summary.BytesScanned)
	if opt.Prev != nil {
		res.DeltaTotal = deltaTotal(res.Params)
	}
	return res, nil
}

func summarize(c *Checkpoint, prs []*ParamResult, scanned int64) Summary {
	s := Summary{Step: c.Step, Params: len(prs), BytesScanned: scanned}
	var w, m, v, b float64
	add := func(acc *float64, st *tensor.Stats) {
		if st == nil {
			return
		}
		s.NaN += st.NaN
		s.Inf += st.Inf
		if st.Valid() {
			*acc += st.L2 * st.L2
		}
	}
	for _, pr := range prs {
		s.Numel += pr.Param.Numel()
		add(&w, pr.FP32)
		add(&m, pr.ExpAvg)
		add(&v, pr.ExpAvgSq)
		add(&b, pr.BF16)
	}
	s.WeightNorm, s.ExpAvgNorm, s.ExpAvgSqNorm, s.BF16Norm = math.Sqrt(w), math.Sqrt(m), math.Sqrt(v), math.Sqrt(b)
	return s
}

// sources lists a logical tensor's pieces as stream sources.
func sources(t *Tensor) []stream.Source {
	out := make([]stream.Source, len(t.Pieces))
	var start int64
	for i, p := range t.Pieces {
		out[i] = p.source(start)
		start += p.View.Numel()
	}
	return out
}

// span is a part of a flat range that lies in one piece.
type span struct {
	piece  int
	lo, hi int64 // piece-local flat indices
}

// spans splits the tensor's flat range [lo, hi) at piece boundaries.
func spans(t *Tensor, lo, hi int64) []span {
	var out []span
	var start int64
	for i, p := range t.Pieces {
		n := p.View.Numel()
		a, b := max(lo, start), min(hi, start+n)
		if b > a {
			out = append(out, span{piece: i, lo: a - start, hi: b - start})
		}
		start += n
	}
	return out
}

// shift picks one shift for a whole logical tensor: that of its largest
// piece.
func shift(t *Tensor) float64 {
	best, k := int64(-1), 0.0
	for _, p := range t.Pieces {
		if n := p.View.Numel(); n > best {
			best, k = n, stream.Shift(p.source(0))
		}
	}
	return k
}

// lazyShift returns a function giving shift(t), computed once, on first
// use.
func lazyShift(t *Tensor) func() float64 {
	return sync.OnceValue(func() float64 { return shift(t) })
}

func accumulate(t *Tensor, lo, hi int64, m *tensor.Moments) {
	for _, s := range spans(t, lo, hi) {
		t.Pieces[s.piece].View.Accumulate(s.lo, s.hi, m)
	}
}

// accumulateWindows adds the elements [lo, hi) of t to m, reading them from
// w, the chunk's windows of t's pieces.
func accumulateWindows(t *Tensor, w []stream.Window, lo, hi int64, m *tensor.Moments) {
	for _, s := range spans(t, lo, hi) {
		win := w[s.piece]
		win.View.Accumulate(s.lo-win.Base, s.hi-win.Base, m)
	}
}

func statsTask(t *Tensor, done func(tensor.Stats, error)) *stream.Task {
	// The shift is sampled by the first chunk to run (16 small reads), so
	// that tasks sample in parallel, overlapped with other tasks' chunks.
	shiftK := lazyShift(t)
	return &stream.Task{
		Numel:   t.Numel(),
		Sources: sources(t),
		ChunkRead: func(lo, hi int64, w []stream.Window) any {
			m := tensor.NewMoments(shiftK())
			accumulateWindows(t, w, lo, hi, &m)
			return m
		},
		Done: func(parts []any, err error) {
			if err != nil {
				done(tensor.Stats{}, err)
				return
			}
			m := tensor.NewMoments(shiftK())
			for _, p := range parts {
				if p != nil {
					m.Merge(p.(tensor.Moments))
				}
			}
			done(m.Result(t.DType, t.Shape, t.Numel()), nil)
		},
	}
}

// momentsPart is the partial result of one chunk of a moments task.
type momentsPart struct {
	m, v  tensor.Moments
	sumSq float64
	n     int64
}

// block bounds the elements of both moments processed together, so that
// the AdamW pass reads them from cache right after their statistics.
const block = 1 << 14

// momentsTask reads exp_avg and exp_avg_sq together: the statistics of each
// and Σu² of the AdamW update.
func momentsTask(c *Checkpoint, p *Param, pr *ParamResult, fail func(*ParamResult, error)) *stream.Task {
	ma, va := p.ExpAvg, p.ExpAvgSq
	shiftM, shiftV := lazyShift(ma), lazyShift(va)
	coef, adamOK := adamCoefficients(c, p)
	return &stream.Task{
		Numel:   ma.Numel(),
		Sources: append(sources(ma), sources(va)...),
		ChunkRead: func(lo, hi int64, w []stream.Window) any {
			wm, wv := w[:len(ma.Pieces)], w[len(ma.Pieces):]
			part := momentsPart{m: tensor.NewMoments(shiftM()), v: tensor.NewMoments(shiftV())}
			for b := lo; b < hi; b += block {
				e := min(b+block, hi)
				if !adamOK {
					accumulateWindows(ma, wm, b, e, &part.m)
					accumulateWindows(va, wv, b, e, &part.v)
					continue
				}
				// Both moments' statistics and the AdamW update in one
				// pass over the pairs.
				for _, s := range pairSpans(ma, va, b, e) {
					x, y := wm[s.a], wv[s.b]
					sq, n := tensor.MomentsAdam(x.View, y.View, s.aLo-x.Base, s.bLo-y.Base, s.n, &part.m, &part.v, coef.c1, coef.c2, coef.eps)
					part.sumSq += sq
					part.n += n
				}
			}
			return part
		},
		Done: func(parts []any, err error) {
			if err != nil {
				fail(pr, fmt.Errorf("%s: %w", ma.File, err))
				return
			}
			total := momentsPart{m: tensor.NewMoments(shiftM()), v: tensor.NewMoments(shiftV())}
			for _, x := range parts {
				if x == nil {
					continue
				}
				part := x.(momentsPart)
				total.m.Merge(part.m)
				total.v.Merge(part.v)
				total.sumSq += part.sumSq
				total.n += part.n
			}
			sm := total.m.Result(ma.DType, ma.Shape, ma.Numel())
			sv := total.v.Result(va.DType, va.Shape, va.Numel())
			pr.ExpAvg, pr.ExpAvgSq = &sm, &sv
			if adamOK && total.n > 0 {
				pr.Adam = &Adam{Step: coef.step, LR: coef.lr, SumSq: total.sumSq, N: total.n,
					UpdateRMS: math.Sqrt(total.sumSq / float64(total.n))}
			}
		},
	}
}

type adamCoef struct {
	step            int64
	lr, c1, c2, eps float64
}

// adamCoefficients gathers what the AdamW update of p needs.
func adamCoefficients(c *Checkpoint, p *Param) (adamCoef, bool) {
	step := p.Step
	if step == nil {
		step = c.Step
	}
	if step == nil || *step <= 0 || p.Group < 0 || p.Group >= len(c.ParamGroups) {
		return adamCoef{}, false
	}
	g := c.ParamGroups[p.Group]
	if g.LR == nil || g.Betas == nil || g.Eps == nil {
		return adamCoef{}, false
	}
	t := float64(*step)
	return adamCoef{
		step: *step, lr: *g.LR, eps: *g.Eps,
		c1: 1 - math.Pow(g.Betas[0], t),
		c2: 1 - math.Pow(g.Betas[1], t),
	}, true
}

// pairSpan is a run of elements lying in one piece of each of two tensors.
type pairSpan struct {
	a, b     int   // piece indices
	aLo, bLo int64 // piece-local start indices
	n        int64
}

// pairSpans splits [lo, hi) where either tensor changes piece.
func pairSpans(x, y *Tensor, lo, hi int64) []pairSpan {
	sx, sy := spans(x, lo, hi), spans(y, lo, hi)
	var out []pairSpan
	i, j := 0, 0
	var ux, uy int64 // elements of sx[i] and sy[j] already paired
	for i < len(sx) && j < len(sy) {
		n := min(sx[i].hi-sx[i].lo-ux, sy[j].hi-sy[j].lo-uy)
		out = append(out, pairSpan{a: sx[i].piece, b: sy[j].piece, aLo: sx[i].lo + ux, bLo: sy[j].lo + uy, n: n})
		ux += n
		uy += n
		if ux == sx[i].hi-sx[i].lo {
			i, ux = i+1, 0
		}
		if uy == sy[j].hi-sy[j].lo {
			j, uy = j+1, 0
		}
	}
	return out
}

// comparable reports whether a master and a module weight can be compared
// element by element: the module is bf16 or fp16 and has the master's shape,
// or the same shape with more rows (vocabulary padding): then the master is
// compared with the module's leading elements.
func comparable(master, module *Tensor) bool {
	if master == nil || module == nil || master.DType != tensor.Float32 ||
		(module.DType != tensor.BFloat16 && module.DType != tensor.Float16) {
		return false
	}
	a, b := master.Shape, module.Shape
	if len(a) != len(b) {
		return master.Numel() == module.Numel()
	}
	for i := range a {
		if a[i] != b[i] && !(i == 0 && b[0] > a[0]) {
			return false
		}
	}
	return true
}

// weightsPart is the partial result of one chunk of a weights task.
type weightsPart struct {
	w, b tensor.Moments
	cmp  tensor.Comparison
}

// weightsTask reads the fp32 master and the module weight together: the
// statistics of each and their comparison. The task runs over the longer
// of the two (the module may have padding rows).
func weightsTask(p *Param, pr *ParamResult, fail func(*ParamResult, error)) *stream.Task {
	w, b := p.FP32, p.BF16
	shiftW, shiftB := lazyShift(w), lazyShift(b)
	nw, nb := w.Numel(), b.Numel()
	return &stream.Task{
		Numel:   max(nw, nb),
		Sources: append(sources(w), sources(b)...),
		ChunkRead: func(lo, hi int64, win []stream.Window) any {
			ww, wb := win[:len(w.Pieces)], win[len(w.Pieces):]
			part := weightsPart{w: tensor.NewMoments(shiftW()), b: tensor.NewMoments(shiftB()), cmp: tensor.Comparison{First: -1}}
			for x := lo; x < hi; x += block {
				e := min(x+block, hi)
				if x < nw {
					accumulateWindows(w, ww, x, min(e, nw), &part.w)
					for _, s := range pairSpans(w, b, x, min(e, nw)) {
						p, q := ww[s.a], wb[s.b]
						part.cmp.Merge(tensor.CompareRounded(p.View, q.View, s.aLo-p.Base, s.bLo-q.Base, s.n, x))
					}
				}
				if x < nb {
					accumulateWindows(b, wb, x, min(e, nb), &part.b)
				}
			}
			return part
		},
		Done: func(parts []any, err error) {
			if err != nil {
				fail(pr, fmt.Errorf("%s: %w", w.File, err))
				return
			}
			total := weightsPart{w: tensor.NewMoments(shiftW()), b: tensor.NewMoments(shiftB()), cmp: tensor.Comparison{First: -1}}
			for _, x := range parts {
				if x == nil {
					continue
				}
				part := x.(weightsPart)
				total.w.Merge(part.w)
				total.b.Merge(part.b)
				total.cmp.Merge(part.cmp)
			}
			sw := total.w.Result(w.DType, w.Shape, nw)
			sb := total.b.Result(b.DType, b.Shape, nb)
			pr.FP32, pr.BF16, pr.Master = &sw, &sb, &total.cmp
		},
	}
}
