package ckpt

import (
	"fmt"
)

// Err returns the first error met reading a parameter of the scan, naming
// the checkpoint and the parameter, or nil.
func (r *Result) Err(c *Checkpoint) error {
	for _, pr := range r.Params {
		if pr.Err != nil {
			return fmt.Errorf("%s: parameter %s: %w", c.Path, pr.Param.Name, pr.Err)
		}
	}
	return nil
}

// Err returns the first error met reading a parameter of the comparison,
// naming the parameter, or nil.
func (r *DiffResult) Err() error {
	for _, pd := range r.Params {
		if pd.Err != nil {
			return fmt.Errorf("parameter %s: %w", pd.Name, pd.Err)
		}
	}
	return nil
}

// DiffBytes returns the tensor bytes Diff reads with opt: the bytes of the
// compared states of the parameters opt.Filter keeps, on both sides.
func DiffBytes(a, b *Checkpoint, opt DiffOptions) int64 {
	var total int64
	states := opt.States
	if states == nil {
		states = DiffStates()
	}
	for _, side := range []*Checkpoint{a, b} {
		for _, p := range side.Params {
			if opt.Filter != nil && !opt.Filter(p.Name) {
				continue
			}
			for _, st := range states {
				if t := p.Tensor(st); t != nil {
					total += t.NBytes()
				}
			}
		}
	}
	return total
}
