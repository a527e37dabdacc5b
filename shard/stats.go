package shard

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// paramBytes returns the bytes ckpt.Scan reads for p: its four states.
func paramBytes(p *ckpt.Param) int64 {
	var n int64
	for _, t := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
		if t != nil {
			n += t.NBytes()
		}
	}
	return n
}

// statsUnits returns the units of a split stats of c: the parameters keep
// accepts (all when nil), in c.Params order, with the bytes Scan reads for
// each.
func statsUnits(c *ckpt.Checkpoint, keep func(*ckpt.Param) bool) ([]Unit, []*ckpt.Param) {
	var units []Unit
	var params []*ckpt.Param
	for _, p := range c.Params {
		if keep == nil || keep(p) {
			units = append(units, Unit{Name: p.Name, Bytes: paramBytes(p)})
			params = append(params, p)
		}
	}
	return units, params
}

// inputsOf returns the roots whose files are a checkpoint's inputs (its
// folder, a training run's folder resolved to the checkpoint read) and
// the files it opened, with extra.
func inputsOf(cs []*ckpt.Checkpoint, extra ...string) (roots, files []string) {
	for _, c := range cs {
		root, _ := layout.Resolve(c.Path)
		roots = append(roots, root)
		for _, f := range c.Files {
			files = append(files, f.Path)
		}
	}
	for _, e := range extra {
		if e != "" {
			files = append(files, e)
		}
	}
	return roots, files
}

// Stats does part t.Spec of the scan of `stats` of c with opt, and writes
// the part to w: the parameters opt.Filter keeps (all when nil) are split
// by bytes ([Balance]), and the part's are scanned (ckpt.Scan with opt,
// restricted to them). extra names files the command read besides the
// checkpoint (an explicit config).
func (t *Task) Stats(ctx context.Context, w io.Writer, c *ckpt.Checkpoint, opt ckpt.ScanOptions, extra ...string) error {
	started := time.Now()
	roots, files := inputsOf([]*ckpt.Checkpoint{c}, extra...)
	in, _, err := StatInputs(roots, files)
	if err != nil {
		return err
	}
	units, params := statsUnits(c, opt.Filter)
	p, err := t.begin(Balance("parameter", units, t.Spec.Count), in, started)
	if err != nil {
		return err
	}
	mine := map[*ckpt.Param]int{}
	for _, u := range p.Split.Owned {
		mine[params[u]] = u
	}
	opt.Filter = func(x *ckpt.Param) bool { _, ok := mine[x]; return ok }
	res, err := ckpt.Scan(ctx, c, opt)
	if err == nil {
		err = res.Err(c)
	}
	if err != nil {
		return err
	}
	for _, pr := range res.Params {
		p.Params = append(p.Params, paramOf(mine[pr.Param], pr))
	}
	p.BytesScanned = res.Summary.BytesScanned
	return t.finish(w, p, roots, files, started)
}

// Stats returns the result of `stats` of c with opt from the parts, as one
// ckpt.Scan would give it, bit for bit (ckpt.Assemble of every
// parameter's result, in c.Params order), after checking the parts against
// c's files as they are now and the plan c gives now. opt and extra are
// those of the tasks.
func (s *Set) Stats(c *ckpt.Checkpoint, opt ckpt.ScanOptions, extra ...string) (*ckpt.Result, error) {
	if err := s.is("stats"); err != nil {
		return nil, err
	}
	units, params := statsUnits(c, opt.Filter)
	plan := Balance("parameter", units, len(s.Parts))
	roots, files := inputsOf([]*ckpt.Checkpoint{c}, extra...)
	if err := s.fresh(plan, true, func(int) ([]string, []string) { return roots, files }); err != nil {
		return nil, err
	}
	rs, err := collect(s, plan, func(p *Part) []Param { return p.Params }, func(x Param) int { return x.Unit }, nil)
	if err != nil {
		return nil, err
	}
	prs := make([]*ckpt.ParamResult, len(rs))
	for u, r := range rs {
		if prs[u], err = r.result(params[u], opt.Effective); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Parts[plan.Part[u]].file, err)
		}
	}
	return ckpt.Assemble(c, prs, s.bytesScanned(), opt), nil
}

// is checks that the parts are of command.
func (s *Set) is(command string) error {
	if c := s.Command(); c != command {
		return fmt.Errorf("%w: the parts are of %s, not of %s", ErrParts, c, command)
	}
	return nil
}

// bytesScanned adds up the parts' bytes.
func (s *Set) bytesScanned() int64 {
	var n int64
	for _, p := range s.Parts {
		n += p.BytesScanned
	}
	return n
}
