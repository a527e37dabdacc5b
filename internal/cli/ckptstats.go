package cli

import (
	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

func runCheckpointStats(c *cobra.Command, o *StatsOptions) error {
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Select: o.matcher(), Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	opt := ckpt.ScanOptions{Workers: o.Jobs}
	if o.re != nil {
		opt.Filter = func(p *ckpt.Param) bool { return o.re.MatchString(p.Name) }
	}
	var info *report.EffectiveInfo
	if o.Effective {
		if opt.Effective, info, err = report.EffectiveOf(cp, o.Config); err != nil {
			return inputError(err)
		}
		opt.AccumulateEffective = o.accumulateEffective
	}
	var res *ckpt.Result
	switch {
	case o.part != nil:
		return inputError(o.part.Stats(c.Context(), o.Streams.Out, cp, opt, o.Config))
	case o.merged != nil:
		res, err = o.merged.Stats(cp, opt, o.Config)
		err = inputError(err)
	default:
		bar := progress.New(o.Streams.ErrOut, "stats", cp.ScanBytes(opt.Filter), o.Streams.ErrIsTerminal)
		opt.Progress = bar.Add
		if res, err = ckpt.Scan(c.Context(), cp, opt); err == nil {
			err = res.Err(cp)
		}
		bar.Finish()
		err = inputError(err)
	}
	if err != nil {
		return err
	}
	o.noMatch(o.Streams.ErrOut, cp, len(res.Params))
	doc := report.StatsDoc(cp, res, report.StatsView{GroupBy: o.GroupBy, Effective: info, Sort: o.Sort, Top: o.Top})
	return report.WriteStats(o.Streams.Out, o.Format, doc, o.text())
}
