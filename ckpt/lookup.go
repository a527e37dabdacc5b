package ckpt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/suggest"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// ErrNoParam is wrapped by the errors of [Checkpoint.Lookup].
var ErrNoParam = errors.New("no such parameter")

// Lookup returns the named parameter; the error for a name the checkpoint
// does not have wraps ErrNoParam and suggests the names it was probably
// meant to be (a typo, or part of a name).
func (c *Checkpoint) Lookup(name string) (*Param, error) {
	names := make([]string, len(c.Params))
	for i, p := range c.Params {
		if p.Name == name {
			return p, nil
		}
		names[i] = p.Name
	}
	err := fmt.Errorf("%s: %w %q among its %d parameters", c.Path, ErrNoParam, name, len(c.Params))
	if s := suggest.Similar(name, names, 5); len(s) > 0 {
		err = fmt.Errorf("%w (did you mean %s?)", err, strings.Join(s, ", "))
	}
	return nil, err
}

// Missing is a state a parameter lacks although the checkpoint's layout
// keeps it for every parameter.
type Missing struct {
	Param string
	State State // or "step"
}

// StepState names the optimizer step in [Missing]: a universal checkpoint
// keeps it in a file of its own beside the states.
const StepState State = "step"

// Missing lists the states each parameter lacks: the fp32 master weight
// and both AdamW moments in a checkpoint with optimizer state (none for a
// weights-only one), and the step when any parameter has one. A parameter
// whose state file could not be read lacks it too.
func (c *Checkpoint) Missing() []Missing {
	if c.WeightsOnly {
		return nil
	}
	anyStep := false
	for _, p := range c.Params {
		anyStep = anyStep || p.Step != nil
	}
	var out []Missing
	for _, p := range c.Params {
		for _, st := range []State{FP32, ExpAvg, ExpAvgSq} {
			if p.Tensor(st) == nil {
				out = append(out, Missing{p.Name, st})
			}
		}
		if anyStep && p.Step == nil {
			out = append(out, Missing{p.Name, StepState})
		}
	}
	return out
}

// Tensor returns the tensor of state s of the named parameter; the error
// names what is missing.
func (c *Checkpoint) Tensor(name string, s State) (*Tensor, error) {
	p, err := c.Lookup(name)
	if err != nil {
		return nil, err
	}
	t := p.Tensor(s)
	if t == nil {
		return nil, fmt.Errorf("%s: parameter %s has no %s tensor", c.Path, name, s)
	}
	return t, nil
}

// Stats returns the scan's statistics of state s of the parameter, or nil
// when it was not measured.
func (pr *ParamResult) Stats(s State) *tensor.Stats {
	switch s {
	case FP32:
		return pr.FP32
	case BF16:
		return pr.BF16
	case ExpAvg:
		return pr.ExpAvg
	case ExpAvgSq:
		return pr.ExpAvgSq
	}
	return nil
}
