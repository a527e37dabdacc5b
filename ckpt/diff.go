package ckpt

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// DiffStates returns the states [Diff] compares, in report order.
func DiffStates() []State { return []State{FP32, BF16, ExpAvg, ExpAvgSq} }

// DiffOptions configures [Diff].
type DiffOptions struct {
	Workers  int               // parallel workers; 0 for all cores
	Progress func(bytes int64) // called as bytes are read
	// Filter, when set, restricts the comparison to the parameters whose
	// name it accepts (on either side).
	Filter func(name string) bool
	// States lists the states to compare (see [DiffStates]); nil means all.
	States []State
	Tuning Tuning // chunking and page handling
	// EffectiveA and EffectiveB, when both are set, give the multiplier of
	// a parameter's weight in A and in B (each checkpoint's own scale
	// factors; yulan.Resolve's), or false for a parameter without one.
	// The weights' comparison then also compares the effective weights
	// Scale·(w + Offset) of both sides (ParamDiff.Effective), in the same
	// pass over the same chunks (yulan.EffectiveDiffPairs). The weight is
	// the fp32 master when both sides have one, else the module weight
	// (bf16) when both have that, and it must be among States.
	EffectiveA, EffectiveB func(*Param) (yulan.Multiplier, bool)
}

// DiffResult is what [Diff] measured.
type DiffResult struct {
	A, B *Checkpoint
	// Params are the parameters present on both sides, in A's order.
	Params []*ParamDiff
	// OnlyA and OnlyB name the parameters present on one side only, in
	// that side's order.
	OnlyA, OnlyB []string
	// Totals adds up, per state, the sums of every parameter whose state
	// was compared; a state compared nowhere has no entry.
	Totals map[State]*StateDiff
	// EffectiveTotal adds up the effective comparisons of every parameter
	// (nil when there is none).
	EffectiveTotal *StateDiff
	// BytesScanned counts the bytes read, both sides together.
	BytesScanned int64
}

// ParamDiff compares one parameter present in both checkpoints.
type ParamDiff struct {
	Name string
	A, B *Param
	// States holds a comparison for every state both sides have (among
	// DiffOptions.States), by state name.
	States map[State]*StateDiff
	// Effective compares the effective weights (DiffOptions.EffectiveA and
	// EffectiveB, for a parameter whose multipliers are known on both
	// sides and whose weights were compared).
	Effective *EffectiveDiff
	// Err is the first error met while reading the parameter's data.
	Err error
}

// EffectiveDiff compares the effective weights of a parameter in two
// checkpoints: a = A.Scale·(w_A + A.Offset), b = B.Scale·(w_B + B.Offset)
// elementwise in float64, over the pairs where both are finite. Its
// StateDiff's State is the weight compared (fp32, or bf16).
type EffectiveDiff struct {
	StateDiff
	A, B yulan.Multiplier
}

// ShapeMismatch reports whether the two sides give the parameter different
// shapes.
func (d *ParamDiff) ShapeMismatch() bool { return !slices.Equal(d.A.Shape, d.B.Shape) }

// StateDiff compares one state (fp32, bf16, exp_avg or exp_avg_sq) of a
// parameter in two checkpoints A and B, element by element, over the pairs
// (a, b) of elements at the same flat index where both are finite.
type StateDiff struct {
	State          State
	ShapeA, ShapeB []int64
	// Compared is false when the shapes differ: nothing was read and Sums
	// is zero.
	Compared bool
	Sums     tensor.PairSums
}

// DeltaL2 returns ‖B−A‖ = √Σ(b−a)², and false when no pair was finite.
func (d *StateDiff) DeltaL2() (float64, bool) { return math.Sqrt(d.Sums.SumDD), d.Sums.Pairs > 0 }

// NormA returns ‖A‖ = √Σa² over the finite pairs, and false when there is
// none.
func (d *StateDiff) NormA() (float64, bool) { return math.Sqrt(d.Sums.SumAA), d.Sums.Pairs > 0 }

// NormB returns ‖B‖ = √Σb² over the finite pairs, and false when there is
// none.
func (d *StateDiff) NormB() (float64, bool) { return math.Sqrt(d.Sums.SumBB), d.Sums.Pairs > 0 }

// MaxAbsDelta returns max |b−a|, and false when no pair was finite.
func (d *StateDiff) MaxAbsDelta() (float64, bool) { return d.Sums.MaxAbs, d.Sums.Pairs > 0 }

// RelChange returns the relative change ‖B−A‖/‖A‖, and false when ‖A‖ is
// 0 (or no pair was finite).
func (d *StateDiff) RelChange() (float64, bool) {
	if d.Sums.SumAA == 0 {
		return 0, false
	}
	return math.Sqrt(d.Sums.SumDD) / math.Sqrt(d.Sums.SumAA), true
}

// Cosine returns the cosine similarity Σab/√(Σa²·Σb²) = Σab/(‖A‖·‖B‖),
// clamped to [−1, 1] against rounding (identical tensors give exactly 1),
// and false when either norm is 0.
func (d *StateDiff) Cosine() (float64, bool) {
	if d.Sums.SumAA == 0 || d.Sums.SumBB == 0 {
		return 0, false
	}
	s := d.Sums
	// √(Σa²·Σb²) rather than √Σa²·√Σb²: identical tensors give exactly 1.
	den := math.Sqrt(s.SumAA * s.SumBB)
	if den == 0 || math.IsInf(den, 0) { // the product under- or overflowed
		den = math.Sqrt(s.SumAA) * math.Sqrt(s.SumBB)
	}
	return max(-1, min(1, s.SumAB/den)), true
}

// NormRatio returns ‖B‖/‖A‖, and false when ‖A‖ is 0.
func (d *StateDiff) NormRatio() (float64, bool) {
	if d.Sums.SumAA == 0 {
		return 0, false
	}
	return math.Sqrt(d.Sums.SumBB) / math.Sqrt(d.Sums.SumAA), true
}

// StepOf returns the training step of a checkpoint: the model states'
// global_steps, else trainer_state.json's global_step, else the step all
// its parameters share; false when none is known.
func StepOf(c *Checkpoint) (int64, bool) {
	switch {
	case c.Step != nil:
		return *c.Step, true
	case c.TrainerStep != nil:
		return *c.TrainerStep, true
	}
	var step *int64
	for _, p := range c.Params {
		if p.Step == nil || (step != nil && *p.Step != *step) {
			return 0, false
		}
		step = p.Step
	}
	if step == nil {
		return 0, false
	}
	return *step, true
}

// Diff compares two checkpoints of one model, parameter by parameter and
// state by state, in one pass over both: each state present on both sides
// with the same shape is read once from each side, the two streams aligned
// element by element, and [tensor.DiffPairs] sums Σ(b−a)², Σa², Σb² and
// Σab in float64. States whose shapes differ are reported, not read.
// Results do not depend on the number of workers.
func Diff(ctx context.Context, a, b *Checkpoint, opt DiffOptions) (*DiffResult, error) {
	states := opt.States
	if states == nil {
		states = DiffStates()
	}
	keep := func(name string) bool { return opt.Filter == nil || opt.Filter(name) }
	inB := make(map[string]*Param, len(b.Params))
	for _, q := range b.Params {
		inB[q.Name] = q
	}
	var pds []*ParamDiff
	var tasks []*stream.Task
	var mu sync.Mutex
	for _, p := range a.Params {
		if !keep(p.Name) {
			continue
		}
		q := inB[p.Name]
		if q == nil {
			continue
		}
		pd := &ParamDiff{Name: p.Name, A: p, B: q, States: map[State]*StateDiff{}}
		pds = append(pds, pd)
		fail := func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if pd.Err == nil {
				pd.Err = err
			}
		}
		eff := effectiveDiffOf(p, q, opt)
		for _, s := range states {
			x, y := p.Tensor(s), q.Tensor(s)
			if x == nil || y == nil {
				continue
			}
			sd := &StateDiff{State: s, ShapeA: x.Shape, ShapeB: y.Shape, Compared: slices.Equal(x.Shape, y.Shape)}
			pd.States[s] = sd
			if !sd.Compared {
				continue
			}
			var e *EffectiveDiff
			if eff != nil && eff.State == s {
				e = eff
				pd.Effective = eff
				eff.Compared, eff.ShapeA, eff.ShapeB = true, x.Shape, y.Shape
			}
			tasks = append(tasks, diffTask(x, y, sd, e, fail))
		}
	}
	var bytes int64
	for _, t := range tasks {
		bytes += t.Bytes()
	}
	sopt := opt.Tuning.stream(opt.Workers, opt.Progress)
	if err := stream.Run(ctx, tasks, sopt); err != nil {
		return nil, err
	}
	return AssembleDiff(a, b, pds, bytes, opt), nil
}

// AssembleDiff returns the DiffResult that Diff of a and b with opt
// returns when its parameters' comparisons are pds (in a.Params order) and
// it read bytesScanned bytes: the parameters on one side only (among those
// opt.Filter keeps), and the totals, added up over pds in their order.
// Each parameter's comparison depends on that parameter alone, so the
// comparisons of diffs of disjoint sets of parameters (DiffOptions.Filter),
// put back in a.Params order, assemble into the result of one Diff of them
// all, bit for bit.
func AssembleDiff(a, b *Checkpoint, pds []*ParamDiff, bytesScanned int64, opt DiffOptions) *DiffResult {
	states := opt.States
	if states == nil {
		states = DiffStates()
	}
	res := &DiffResult{A: a, B: b, Params: pds, Totals: map[State]*StateDiff{}, BytesScanned: bytesScanned}
	keep := func(name string) bool { return opt.Filter == nil || opt.Filter(name) }
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, p := range a.Params {
		inA[p.Name] = true
	}
	for _, q := range b.Params {
		inB[q.Name] = true
	}
	for _, p := range a.Params {
		if !inB[p.Name] && keep(p.Name) {
			res.OnlyA = append(res.OnlyA, p.Name)
		}
	}
	for _, q := range b.Params {
		if !inA[q.Name] && keep(q.Name) {
			res.OnlyB = append(res.OnlyB, q.Name)
		}
	}
	for _, pd := range res.Params {
		for _, s := range states {
			sd := pd.States[s]
			if sd == nil || !sd.Compared {
				continue
			}
			t := res.Totals[s]
			if t == nil {
				t = &StateDiff{State: s, Compared: true}
				res.Totals[s] = t
			}
			t.Sums.Merge(sd.Sums)
		}
		if e := pd.Effective; e != nil {
			if res.EffectiveTotal == nil {
				res.EffectiveTotal = &StateDiff{State: e.State, Compared: true}
			}
			res.EffectiveTotal.Sums.Merge(e.Sums)
		}
	}
	return res
}

// effectiveDiffOf returns the effective comparison to make of a parameter
// (p in A, q in B), or nil: with both multipliers known, on the weight
// both sides have (see DiffOptions).
func effectiveDiffOf(p, q *Param, opt DiffOptions) *EffectiveDiff {
	if opt.EffectiveA == nil || opt.EffectiveB == nil {
		return nil
	}
	ma, okA := opt.EffectiveA(p)
	mb, okB := opt.EffectiveB(q)
	if !okA || !okB || !ma.Known || !mb.Known {
		return nil
	}
	state := FP32
	if p.FP32 == nil || q.FP32 == nil {
		if p.FP32 != nil || q.FP32 != nil || p.BF16 == nil || q.BF16 == nil {
			return nil
		}
		state = BF16
	}
	return &EffectiveDiff{StateDiff: StateDiff{State: state}, A: ma, B: mb}
}

// diffPart is the partial result of one chunk of a diff task: the sums of
// the pairs, and of their effective values.
type diffPart struct {
	raw, eff tensor.PairSums
}

// diffTask reads two equally shaped tensors together and sums their pairs;
// with eff, also the pairs of their effective values, from the same views.
func diffTask(x, y *Tensor, sd *StateDiff, eff *EffectiveDiff, fail func(error)) *stream.Task {
	return &stream.Task{
		Numel:   x.Numel(),
		Sources: append(sources(x), sources(y)...),
		// Read into memory (pread): the resident set stays the workers'
		// buffers, however large the two checkpoints.
		ChunkRead: func(lo, hi int64, w []stream.Window) any {
			var s diffPart
			nx := len(x.Pieces)
			for _, sp := range pairSpans(nil, x, y, lo, hi) {
				wa, wb := w[sp.a], w[nx+sp.b]
				a, b := wa.View, wb.View
				aLo, bLo := sp.aLo-wa.Base, sp.bLo-wb.Base
				s.raw.Merge(tensor.DiffPairs(a, b, aLo, bLo, sp.n))
				if eff != nil {
					s.eff.Merge(yulan.EffectiveDiffPairs(a, b, aLo, bLo, sp.n, eff.A, eff.B))
				}
			}
			return s
		},
		Done: func(parts []any, err error) {
			if err != nil {
				fail(fmt.Errorf("%s, %s: %w", x.File, y.File, err))
				return
			}
			var total diffPart
			for _, p := range parts {
				if p != nil {
					part := p.(diffPart)
					total.raw.Merge(part.raw)
					total.eff.Merge(part.eff)
				}
			}
			sd.Sums = total.raw
			if eff != nil {
				eff.Sums = total.eff
			}
		},
	}
}
