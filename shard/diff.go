package shard

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// ParamDiff is the result of a parameter unit of a split diff:
// ckpt.ParamDiff, every state's raw pair sums included.
type ParamDiff struct {
	Unit   int          `json:"unit"`
	Name   string       `json:"name"`
	States []*StateDiff `json:"states"`
	// Effective compares the effective weights (its multipliers are taken
	// from the checkpoints' metadata, as the task took them).
	Effective *StateDiff `json:"effective"`
	Err       string     `json:"error,omitempty"`
}

// diffUnits returns the units of a split diff of a and b: the parameters
// of a that b has too and opt.Filter keeps, in a.Params order, each with
// the bytes Diff reads for it on both sides.
func diffUnits(a, b *ckpt.Checkpoint, opt ckpt.DiffOptions) ([]Unit, []*ckpt.Param) {
	inB := map[string]*ckpt.Param{}
	for _, q := range b.Params {
		inB[q.Name] = q
	}
	states := opt.States
	if states == nil {
		states = ckpt.DiffStates()
	}
	var units []Unit
	var params []*ckpt.Param
	for _, p := range a.Params {
		q := inB[p.Name]
		if q == nil || (opt.Filter != nil && !opt.Filter(p.Name)) {
			continue
		}
		var n int64
		for _, s := range states {
			if x, y := p.Tensor(s), q.Tensor(s); x != nil && y != nil && slices.Equal(x.Shape, y.Shape) {
				n += x.NBytes() + y.NBytes()
			}
		}
		units = append(units, Unit{Name: p.Name, Bytes: n})
		params = append(params, p)
	}
	return units, params
}

// Diff does part t.Spec of `diff` of a and b with opt and writes the part
// to w: the parameters both have are split by bytes ([Balance]) and the
// part's are compared (ckpt.Diff restricted to them). extra names files
// the command read besides the checkpoints (explicit configs).
func (t *Task) Diff(ctx context.Context, w io.Writer, a, b *ckpt.Checkpoint, opt ckpt.DiffOptions, extra ...string) error {
	started := time.Now()
	roots, files := inputsOf([]*ckpt.Checkpoint{a, b}, extra...)
	in, _, err := StatInputs(roots, files)
	if err != nil {
		return err
	}
	units, params := diffUnits(a, b, opt)
	p, err := t.begin(Balance("parameter", units, t.Spec.Count), in, started)
	if err != nil {
		return err
	}
	mine := map[string]int{}
	for _, u := range p.Split.Owned {
		mine[params[u].Name] = u
	}
	opt.Filter = func(name string) bool { _, ok := mine[name]; return ok }
	res, err := ckpt.Diff(ctx, a, b, opt)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return err
	}
	for _, pd := range res.Params {
		x := ParamDiff{Unit: mine[pd.Name], Name: pd.Name, States: []*StateDiff{}}
		for _, s := range ckpt.DiffStates() {
			if sd := pd.States[s]; sd != nil {
				x.States = append(x.States, stateDiffOf(sd))
			}
		}
		if pd.Effective != nil {
			x.Effective = stateDiffOf(&pd.Effective.StateDiff)
		}
		if pd.Err != nil {
			x.Err = pd.Err.Error()
		}
		p.Diffs = append(p.Diffs, x)
	}
	p.BytesScanned = res.BytesScanned
	return t.finish(w, p, roots, files, started)
}

// Diff returns the result of `diff` of a and b with opt from the parts,
// as one ckpt.Diff would give it, bit for bit (ckpt.AssembleDiff of every
// parameter's comparison, in a.Params order), after checking the parts
// against the files of both checkpoints as they are now and the plan they
// give now. opt and extra are those of the tasks.
func (s *Set) Diff(a, b *ckpt.Checkpoint, opt ckpt.DiffOptions, extra ...string) (*ckpt.DiffResult, error) {
	if err := s.is("diff"); err != nil {
		return nil, err
	}
	units, params := diffUnits(a, b, opt)
	plan := Balance("parameter", units, len(s.Parts))
	roots, files := inputsOf([]*ckpt.Checkpoint{a, b}, extra...)
	if err := s.fresh(plan, true, func(int) ([]string, []string) { return roots, files }); err != nil {
		return nil, err
	}
	rs, err := collect(s, plan, func(p *Part) []ParamDiff { return p.Diffs }, func(x ParamDiff) int { return x.Unit }, nil)
	if err != nil {
		return nil, err
	}
	inB := map[string]*ckpt.Param{}
	for _, q := range b.Params {
		inB[q.Name] = q
	}
	pds := make([]*ckpt.ParamDiff, len(rs))
	for u, r := range rs {
		p := params[u]
		if r.Name != p.Name {
			return nil, fmt.Errorf("%w: %s: unit %d is parameter %s in the part, %s in the checkpoint", ErrParts, s.Parts[plan.Part[u]].file, u, r.Name, p.Name)
		}
		pd := &ckpt.ParamDiff{Name: p.Name, A: p, B: inB[p.Name], States: map[ckpt.State]*ckpt.StateDiff{}}
		for _, sd := range r.States {
			pd.States[ckpt.State(sd.State)] = sd.stateDiff()
		}
		if r.Effective != nil {
			ma, okA := multiplier(opt.EffectiveA, p)
			mb, okB := multiplier(opt.EffectiveB, pd.B)
			if !okA || !okB {
				return nil, fmt.Errorf("%w: %s: parameter %s has an effective comparison in the part, no multiplier in the checkpoints", ErrParts, s.Parts[plan.Part[u]].file, p.Name)
			}
			pd.Effective = &ckpt.EffectiveDiff{StateDiff: *r.Effective.stateDiff(), A: ma, B: mb}
		}
		if r.Err != "" {
			pd.Err = fmt.Errorf("%s", r.Err)
		}
		pds[u] = pd
	}
	return ckpt.AssembleDiff(a, b, pds, s.bytesScanned(), opt), nil
}

// multiplier calls of, when set.
func multiplier(of func(*ckpt.Param) (yulan.Multiplier, bool), p *ckpt.Param) (yulan.Multiplier, bool) {
	if of == nil {
		return yulan.Multiplier{}, false
	}
	return of(p)
}
