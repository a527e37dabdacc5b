// Package goldenscan compares a checkpoint and its scan with a checkpoint
// golden (golden.Checkpoint). It is used by tests only; it is apart from
// package golden, which packages below ckpt use.
package goldenscan

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Compare returns the differences between a checkpoint, its scan and
// the golden g: step, version, groups (hyper-parameters exactly, members in
// order), every parameter's shape, group, step, scale value, the
// statistics of its four states (Compare), its AdamW figures (RelTol) and
// the summary.
func Compare(g *golden.Checkpoint, c *ckpt.Checkpoint, res *ckpt.Result) []string {
	var diffs []string
	bad := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if c.Step == nil || *c.Step != g.Checkpoint.Step {
		bad("step %v, want %d", c.Step, g.Checkpoint.Step)
	}
	if c.DSVersion != g.Checkpoint.DSVersion {
		bad("ds_version %q, want %q", c.DSVersion, g.Checkpoint.DSVersion)
	}
	if len(c.ParamGroups) != len(g.Checkpoint.ParamGroups) {
		bad("%d param groups, want %d", len(c.ParamGroups), len(g.Checkpoint.ParamGroups))
	} else {
		for i, want := range g.Checkpoint.ParamGroups {
			got := c.ParamGroups[i]
			if got.LR == nil || *got.LR != want.LR || got.Betas == nil || *got.Betas != want.Betas || got.Eps == nil ||
				*got.Eps != want.Eps || got.WeightDecay == nil || *got.WeightDecay != want.WeightDecay ||
				fmt.Sprint(got.Params) != fmt.Sprint(want.Params) {
				bad("group %d = %s, want %+v", i, groupString(got), want)
			}
		}
	}
	byName := map[string]*ckpt.ParamResult{}
	var order []string
	for _, pr := range res.Params {
		byName[pr.Param.Name] = pr
		order = append(order, pr.Param.Name)
	}
	var wantOrder []string
	for _, p := range g.Params {
		wantOrder = append(wantOrder, p.Name)
	}
	if fmt.Sprint(order) != fmt.Sprint(wantOrder) {
		bad("parameters %v, want %v", order, wantOrder)
	}
	for _, want := range g.Params {
		pr := byName[want.Name]
		if pr == nil {
			continue
		}
		p := pr.Param
		if fmt.Sprint(p.Shape) != fmt.Sprint(want.Shape) || p.Numel() != want.Numel || p.Group != want.Group ||
			p.Step == nil || *p.Step != want.Step || pr.Err != nil {
			bad("%s: shape %v group %d step %v err %v; want %v %d %d", want.Name, p.Shape, p.Group, p.Step, pr.Err, want.Shape, want.Group, want.Step)
		}
		if pr.Scale != want.Scale || (want.Scale && pr.ScaleValue != *want.ScaleValue) {
			bad("%s: scale %v %v, want %v %v", want.Name, pr.Scale, pr.ScaleValue, want.Scale, want.ScaleValue)
		}
		for _, st := range []struct {
			name string
			got  *tensor.Stats
			want *golden.Stats
		}{{"fp32", pr.FP32, want.FP32}, {"exp_avg", pr.ExpAvg, want.ExpAvg}, {"exp_avg_sq", pr.ExpAvgSq, want.ExpAvgSq}, {"bf16", pr.BF16, want.BF16}} {
			switch {
			case st.got == nil && st.want == nil:
			case st.got == nil || st.want == nil:
				bad("%s %s: present %v, want %v", want.Name, st.name, st.got != nil, st.want != nil)
			default:
				for _, d := range golden.Compare(*st.got, *st.want) {
					bad("%s %s: %s", want.Name, st.name, d)
				}
			}
		}
		switch {
		case want.Adam.UpdateRMS == nil:
			if pr.Adam != nil {
				bad("%s: adam %+v, want none", want.Name, pr.Adam)
			}
		case pr.Adam == nil:
			bad("%s: no adam statistics", want.Name)
		case !golden.Close(pr.Adam.UpdateRMS, *want.Adam.UpdateRMS, 0) || !golden.Close(pr.Adam.UpdateToWeight, *want.Adam.UpdateToWeight, 0):
			bad("%s: adam %v %v, want %v %v", want.Name, pr.Adam.UpdateRMS, pr.Adam.UpdateToWeight, *want.Adam.UpdateRMS, *want.Adam.UpdateToWeight)
		}
	}
	s := res.Summary
	if s.Step == nil || *s.Step != g.Summary.Step || s.Params != g.Summary.Params || s.Numel != g.Summary.Numel || s.NaN != g.Summary.NaN || s.Inf != g.Summary.Inf {
		bad("summary %+v, want %+v", s, g.Summary)
	}
	for _, n := range []struct {
		name      string
		got, want float64
	}{{"weight", s.WeightNorm, g.Summary.WeightNorm}, {"exp_avg", s.ExpAvgNorm, g.Summary.ExpAvgNorm},
		{"exp_avg_sq", s.ExpAvgSqNorm, g.Summary.ExpAvgSqNorm}, {"bf16", s.BF16Norm, g.Summary.BF16Norm}} {
		if !golden.Close(n.got, n.want, 0) {
			bad("%s norm %v, want %v", n.name, n.got, n.want)
		}
	}
	return diffs
}

func groupString(g ckpt.ParamGroup) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	betas := "nil"
	if g.Betas != nil {
		betas = fmt.Sprint(*g.Betas)
	}
	return fmt.Sprintf("{lr %s betas %s eps %s wd %s params %v}", f(g.LR), betas, f(g.Eps), f(g.WeightDecay), g.Params)
}
