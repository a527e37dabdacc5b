package ckpt

import (
	"context"
	"fmt"
	"io"
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
	// Effective, when set, gives the multiplier of a parameter's weight
	// (yulan.Resolve's), or false for a parameter without one: the scan
	// then also measures the effective weight Scale·(w + Offset) of w, the
	// fp32 master weight (the module weight of a parameter without one), in
	// the same pass (ParamResult.Effective). Its statistics are derived
	// from w's (yulan.EffectiveStats) where that is exact, and otherwise
	// accumulated from the effective values in the kernel pass over w's
	// chunks (yulan.AccumulateEffective): w is read once either way.
	Effective func(*Param) (yulan.Multiplier, bool)
	// AccumulateEffective accumulates the effective values of every
	// weight instead of deriving their statistics where EffectiveStats
	// can: the direct definition, at a scalar loop's speed (to check the
	// derivation).
	AccumulateEffective bool
	// OnRead, when set, is called with every range of file bytes the scan
	// reads into memory (file, offset, bytes), from several workers at
	// once, once the statistics have read them; b is valid only during
	// the call.
	OnRead func(file io.ReaderAt, off int64, b []byte)
	// OnReadCRC is OnRead with the CRC-32 (IEEE) of b: verify --deep puts
	// the CRC-32s of the zip records together from them, in the same
	// pass. The kernels that read both AdamW moments, and those that
	// compare a master with its module weight, compute the CRC-32s of
	// their bytes in the loops that read them; the bytes of other tensors
	// are hashed right after the statistics read them.
	OnReadCRC func(file io.ReaderAt, off int64, b []byte, crc uint32)
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
	// Effective measures the effective weight (with ScanOptions.Effective,
	// for a parameter with a known multiplier and a weight).
	Effective *Effective
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

// Effective holds the statistics of a parameter's effective weight, the
// weight the network computes with: Multiplier.Scale·(w + Multiplier.Offset)
// elementwise in float64, w the weight named by State.
type Effective struct {
	Multiplier yulan.Multiplier
	// State is the weight multiplied: FP32, or BF16 for a parameter
	// without an fp32 master (a weights-only bf16 model).
	State State
	Stats tensor.Stats
	// Accumulated is true when Stats were accumulated from the effective
	// values (yulan.AccumulateEffective), false when they were derived from
	// the statistics of w (yulan.EffectiveStats).
	Accumulated bool
	// UpdateToWeight is the AdamW update-to-weight ratio against the
	// effective weight (yulan.EffectiveUpdateToWeight) of an fp32 master
	// with AdamW figures; HasRatio is false when it is undefined.
	UpdateToWeight float64
	HasRatio       bool
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
	// States counts the parameters measured that have each of the four
	// states (a norm over no parameter is not a measurement).
	States map[State]int
	// EffectiveNorm is the global norm of the effective weights of the
	// parameters that have one (HasEffective: ScanOptions.Effective gave
	// at least one).
	EffectiveNorm float64
	HasEffective  bool
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
		eff := effectiveOf(p, pr, opt)
		weights := []struct {
			t   *Tensor
			dst **tensor.Stats
		}{{p.FP32, &pr.FP32}, {p.BF16, &pr.BF16}}
		measured := false // the fp32 statistics have a task
		if opt.Compare && comparable(p.FP32, p.BF16) {
			tasks = append(tasks, weightsTask(p, pr, eff.forState(FP32), fail))
			weights, measured = nil, true
		}
		// Effective values accumulated from the fp32 weight keep their own
		// task; the delta task then only compares.
		measured = measured || eff.forState(FP32) != nil
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
			tasks = append(tasks, effStatsTask(st.t, eff.forState(st.t.State), func(s tensor.Stats, err error) {
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
	if opt.OnRead != nil || opt.OnReadCRC != nil {
		sopt.CRC = opt.OnReadCRC != nil
		sopt.OnRead = func(file io.ReaderAt, off int64, b []byte, crc uint32) {
			if opt.OnRead != nil {
				opt.OnRead(file, off, b)
			}
			if opt.OnReadCRC != nil {
				opt.OnReadCRC(file, off, b, crc)
			}
		}
	}
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
		if pr.Effective != nil && pr.Err == nil {
			if err := finishEffective(pr, opt.AccumulateEffective); err != nil {
				fail(pr, err)
			}
		}
	}
	return Assemble(c, res.Params, res.Summary.BytesScanned, opt), nil
}

// Assemble returns the Result that Scan of c with opt returns when its
// parameters' results are prs (in c.Params order) and it read
// bytesScanned bytes: the summary's global figures, and with opt.Prev the
// total of the deltas, added up over prs in their order. Each parameter's
// results depend on that parameter alone (fixed chunks merged in chunk
// order, a shift sampled from the tensor itself), so the results of scans
// of disjoint sets of parameters (ScanOptions.Filter), put back in
// c.Params order, assemble into the Result of one scan of them all, bit
// for bit.
func Assemble(c *Checkpoint, prs []*ParamResult, bytesScanned int64, opt ScanOptions) *Result {
	res := &Result{Params: prs, Summary: summarize(c, prs, bytesScanned)}
	if opt.Prev != nil {
		res.DeltaTotal = deltaTotal(prs)
	}
	return res
}

func summarize(c *Checkpoint, prs []*ParamResult, scanned int64) Summary {
	s := Summary{Step: c.Step, Params: len(prs), BytesScanned: scanned, States: map[State]int{}}
	var w, m, v, b float64
	add := func(acc *float64, st *tensor.Stats) {
		if st == nil {
			return
		}
		switch acc {
		case &w:
			s.States[FP32]++
		case &m:
			s.States[ExpAvg]++
		case &v:
			s.States[ExpAvgSq]++
		case &b:
			s.States[BF16]++
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
	var e float64
	for _, pr := range prs {
		if pr.Effective != nil {
			s.HasEffective = true
			if st := pr.Effective.Stats; st.Valid() {
				e += st.L2 * st.L2
			}
		}
	}
	s.EffectiveNorm = math.Sqrt(e)
	return s
}

// effectiveAcc is how a scan measures one parameter's effective weight:
// the multiplier, and whether its values are accumulated in the pass.
type effectiveAcc struct {
	pr         *ParamResult
	m          yulan.Multiplier
	state      State
	accumulate bool
}

// effectiveOf sets up the measure of p's effective weight, or returns nil.
func effectiveOf(p *Param, pr *ParamResult, opt ScanOptions) *effectiveAcc {
	if opt.Effective == nil {
		return nil
	}
	m, ok := opt.Effective(p)
	t, state := p.FP32, FP32
	if t == nil {
		t, state = p.BF16, BF16
	}
	if !ok || !m.Known || t == nil {
		return nil
	}
	pr.Effective = &Effective{Multiplier: m, State: state}
	return &effectiveAcc{pr: pr, m: m, state: state,
		accumulate: opt.AccumulateEffective || !yulan.AlwaysDerivable(t.DType, m)}
}

// forState returns e when the effective values of the state's tensor are
// to be accumulated in its pass, else nil.
func (e *effectiveAcc) forState(s State) *effectiveAcc {
	if e == nil || !e.accumulate || e.state != s {
		return nil
	}
	return e
}

// finishEffective completes pr.Effective once the scan is over: the
// statistics derived from the weight's where that is exact (unless only
// accumulated ones are wanted), else those accumulated in the pass; then
// the update-to-weight ratio.
func finishEffective(pr *ParamResult, accumulatedOnly bool) error {
	e := pr.Effective
	raw := pr.FP32
	if e.State == BF16 {
		raw = pr.BF16
	}
	if raw == nil {
		return fmt.Errorf("effective weight: the %s statistics are missing", e.State)
	}
	if !accumulatedOnly {
		s, err := yulan.EffectiveStats(*raw, e.Multiplier)
		switch {
		case err == nil:
			e.Stats, e.Accumulated = s, false
		case !e.Accumulated:
			return fmt.Errorf("effective weight under %v: %w, and it was not accumulated", e.Multiplier, err)
		}
	} else if !e.Accumulated {
		return fmt.Errorf("effective weight under %v: not accumulated", e.Multiplier)
	}
	if pr.Adam != nil && e.State == FP32 {
		e.UpdateToWeight, e.HasRatio = yulan.EffectiveUpdateToWeight(pr.Adam.LR, pr.Adam.UpdateRMS, e.Stats, e.Multiplier)
	}
	return nil
}

// statsPart is the partial result of one chunk of a statistics task: the
// raw moments and, when the effective values are accumulated, theirs.
type statsPart struct {
	m, e tensor.Moments
}

// accumulateEffectiveWindows adds the effective values of the elements
// [lo, hi) of t to m, reading them from w, the chunk's windows of t's
// pieces.
func accumulateEffectiveWindows(t *Tensor, w []stream.Window, lo, hi int64, mult yulan.Multiplier, m *tensor.Moments) {
	for _, s := range spans(t, lo, hi) {
		win := w[s.piece]
		yulan.AccumulateEffective(win.View, s.lo-win.Base, s.hi-win.Base, mult, m)
	}
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

// lazyShift returns shift(t), computed once, on first use.
func lazyShift(t *Tensor) *shifter { return &shifter{t: t} }

// shifter computes shift(t) once: from a chunk's windows when the first
// chunk holds all of t in memory (the same sampled elements, without the
// 16 small reads of the file), else by sampling the file.
type shifter struct {
	t    *Tensor
	once sync.Once
	v    float64
}

// from offers the windows of t (its sources' windows, in order) of the
// chunk [lo, hi); call it before k in a chunk.
func (s *shifter) from(w []stream.Window, lo, hi int64) {
	s.once.Do(func() {
		t := s.t
		if len(t.Pieces) == 1 && len(w) == 1 && lo == 0 && hi >= t.Numel() && w[0].View != nil && w[0].Base == 0 && w[0].View.Numel() >= t.Numel() {
			s.v = tensor.ShiftSample(t.Numel(), w[0].View.Float64s)
			return
		}
		s.v = shift(t)
	})
}

// prepare takes the shifts, ahead of the chunks, of the tensors whose first
// chunk of chunkElems elements will not hold them whole (see
// stream.Task.Prepare): their 16 sampled runs are read while the workers
// read other tensors, rather than by the worker that reaches their first
// chunk.
func prepare(shifters ...*shifter) func(chunkElems int64) {
	return func(chunkElems int64) {
		for _, s := range shifters {
			if len(s.t.Pieces) > 1 || s.t.Numel() > chunkElems {
				s.k()
			}
		}
	}
}

// prepareIf is prepare(shifters...) when do is set, else nil.
func prepareIf(do bool, shifters ...*shifter) func(chunkElems int64) {
	if !do {
		return nil
	}
	return prepare(shifters...)
}

// k returns the shift.
func (s *shifter) k() float64 {
	s.once.Do(func() { s.v = shift(s.t) })
	return s.v
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
	return effStatsTask(t, nil, done)
}

// effStatsTask is statsTask that, with eff, also accumulates the effective
// values of t's elements, from the same windows, into
// eff.pr.Effective.Stats.
func effStatsTask(t *Tensor, eff *effectiveAcc, done func(tensor.Stats, error)) *stream.Task {
	// The shift is taken by the first chunk to run (from its window when
	// it holds all of t, else by 16 small reads of the file), so that
	// tasks sample in parallel, overlapped with other tasks' chunks.
	shiftK := lazyShift(t)
	var shiftE func() float64
	if eff != nil {
		shiftE = sync.OnceValue(func() float64 { return yulan.EffectiveShift(shiftK.k(), eff.m) })
	}
	return &stream.Task{
		Numel:   t.Numel(),
		Sources: sources(t),
		Prepare: prepare(shiftK),
		ChunkRead: func(lo, hi int64, w []stream.Window) any {
			shiftK.from(w, lo, hi)
			part := statsPart{m: tensor.NewMoments(shiftK.k())}
			accumulateWindows(t, w, lo, hi, &part.m)
			if eff != nil {
				// the chunk's copy is still in cache (a read chunk is
				// sized for it); the raw sums are the same as without eff
				part.e = tensor.NewMoments(shiftE())
				accumulateEffectiveWindows(t, w, lo, hi, eff.m, &part.e)
			}
			return part
		},
		Done: func(parts []any, err error) {
			if err != nil {
				done(tensor.Stats{}, err)
				return
			}
			total := statsPart{m: tensor.NewMoments(shiftK.k())}
			if eff != nil {
				total.e = tensor.NewMoments(shiftE())
			}
			for _, p := range parts {
				if p == nil {
					continue
				}
				part := p.(statsPart)
				total.m.Merge(part.m)
				if eff != nil {
					total.e.Merge(part.e)
				}
			}
			if eff != nil {
				e := eff.pr.Effective
				e.Stats, e.Accumulated = total.e.Result(t.DType, t.Shape, t.Numel()), true
			}
			done(total.m.Result(t.DType, t.Shape, t.Numel()), nil)
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
		Prepare: prepare(shiftM, shiftV),
		ChunkRead: func(lo, hi int64, w []stream.Window) any {
			var ps []pairSpan
			wm, wv := w[:len(ma.Pieces)], w[len(ma.Pieces):]
			shiftM.from(wm, lo, hi)
			shiftV.from(wv, lo, hi)
			part := momentsPart{m: tensor.NewMoments(shiftM.k()), v: tensor.NewMoments(shiftV.k())}
			for b := lo; b < hi; b += block {
				e := min(b+block, hi)
				if !adamOK {
					accumulateWindows(ma, wm, b, e, &part.m)
					accumulateWindows(va, wv, b, e, &part.v)
					continue
				}
				// Both moments' statistics and the AdamW update in one
				// pass over the pairs.
				ps = pairSpans(ps, ma, va, b, e)
				for _, s := range ps {
					x, y := wm[s.a], wv[s.b]
					sq, n := tensor.MomentsAdamSum(x.View, y.View, s.aLo-x.Base, s.bLo-y.Base, s.n, &part.m, &part.v, coef.c1, coef.c2, coef.eps, x.Sum, y.Sum)
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
			total := momentsPart{m: tensor.NewMoments(shiftM.k()), v: tensor.NewMoments(shiftV.k())}
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

// pairSpans splits [lo, hi) where either tensor changes piece, appending
// the spans to buf[:0] (the callers reuse it from block to block).
func pairSpans(buf []pairSpan, x, y *Tensor, lo, hi int64) []pairSpan {
	out := buf[:0]
	if len(x.Pieces) == 1 && len(y.Pieces) == 1 {
		start, end := max(lo, 0), min(hi, x.Pieces[0].View.Numel(), y.Pieces[0].View.Numel())
		if end > start {
			out = append(out, pairSpan{aLo: start, bLo: start, n: end - start})
		}
		return out
	}
	return pairSpansPieces(out, x, y, lo, hi)
}

// pairSpansPieces is pairSpans for tensors of any number of pieces.
func pairSpansPieces(out []pairSpan, x, y *Tensor, lo, hi int64) []pairSpan {
	sx, sy := spans(x, lo, hi), spans(y, lo, hi)
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
	w, b, e tensor.Moments // e: the effective values of w, when accumulated
	cmp     tensor.Comparison
}

// weightsTask reads the fp32 master and the module weight together: the
// statistics of each and their comparison. The task runs over the longer
// of the two (the module may have padding rows). With eff it also
// accumulates the effective values of the master's elements.
func weightsTask(p *Param, pr *ParamResult, eff *effectiveAcc, fail func(*ParamResult, error)) *stream.Task {
	w, b := p.FP32, p.BF16
	shiftW, shiftB := lazyShift(w), lazyShift(b)
	shiftE := func() float64 { return 0 }
	if eff != nil {
		shiftE = sync.OnceValue(func() float64 { return yulan.EffectiveShift(shiftW.k(), eff.m) })
	}
	nw, nb := w.Numel(), b.Numel()
	return &stream.Task{
		Numel:   max(nw, nb),
		Sources: append(sources(w), sources(b)...),
		Prepare: prepare(shiftW, shiftB),
		ChunkRead: func(lo, hi int64, win []stream.Window) any {
			var ps []pairSpan
			ww, wb := win[:len(w.Pieces)], win[len(w.Pieces):]
			shiftW.from(ww, lo, hi)
			shiftB.from(wb, lo, hi)
			part := weightsPart{w: tensor.NewMoments(shiftW.k()), b: tensor.NewMoments(shiftB.k()), e: tensor.NewMoments(shiftE()),
				cmp: tensor.Comparison{First: -1}}
			for x := lo; x < hi; x += block {
				e := min(x+block, hi)
				if x < nw {
					accumulateWindows(w, ww, x, min(e, nw), &part.w)
					if eff != nil {
						accumulateEffectiveWindows(w, ww, x, min(e, nw), eff.m, &part.e)
					}
					ps = pairSpans(ps, w, b, x, min(e, nw))
					for _, s := range ps {
						p, q := ww[s.a], wb[s.b]
						part.cmp.Merge(tensor.CompareRoundedSum(p.View, q.View, s.aLo-p.Base, s.bLo-q.Base, s.n, x, p.Sum, q.Sum))
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
			total := weightsPart{w: tensor.NewMoments(shiftW.k()), b: tensor.NewMoments(shiftB.k()), e: tensor.NewMoments(shiftE()),
				cmp: tensor.Comparison{First: -1}}
			for _, x := range parts {
				if x == nil {
					continue
				}
				part := x.(weightsPart)
				total.w.Merge(part.w)
				total.b.Merge(part.b)
				total.e.Merge(part.e)
				total.cmp.Merge(part.cmp)
			}
			if eff != nil {
				e := eff.pr.Effective
				e.Stats, e.Accumulated = total.e.Result(w.DType, w.Shape, nw), true
			}
			sw := total.w.Result(w.DType, w.Shape, nw)
			sb := total.b.Result(b.DType, b.Shape, nb)
			pr.FP32, pr.BF16, pr.Master = &sw, &sb, &total.cmp
		},
	}
}
