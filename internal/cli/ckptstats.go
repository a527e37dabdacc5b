package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// scanCheckpoint runs ckpt.Scan with a progress bar over the bytes it
// reads, and turns a parameter's read error into an input error.
func scanCheckpoint(c *cobra.Command, s Streams, label string, cp *ckpt.Checkpoint, opt ckpt.ScanOptions) (*ckpt.Result, error) {
	bar := progress.New(s.ErrOut, label, cp.ScanBytes(opt.Filter), s.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := ckpt.Scan(c.Context(), cp, opt)
	bar.Finish()
	if err == nil {
		err = res.Err(cp)
	}
	if err != nil {
		return nil, inputError(err)
	}
	return res, nil
}

func runCheckpointStats(c *cobra.Command, o *StatsOptions) error {
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Select: o.matcher(), Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	opt := ckpt.ScanOptions{Workers: o.Jobs}
	if o.re != nil {
		opt.Filter = func(p *ckpt.Param) bool { return o.match(p.Name) }
	}
	var info *report.EffectiveInfo
	if o.Effective {
		if opt.Effective, info, err = effectiveMultipliers(cp, o.Config); err != nil {
			return err
		}
		opt.AccumulateEffective = o.accumulateEffective
	}
	res, err := scanCheckpoint(c, o.Streams, "stats", cp, opt)
	if err != nil {
		return err
	}
	o.noMatch(o.Streams.ErrOut, cp, len(res.Params))
	doc := report.BuildStats(cp, res)
	if o.GroupBy == "layer" {
		doc.Groups = report.GroupByLayer(res)
	}
	if info != nil {
		report.AddEffective(&doc, res, info)
	}
	doc.Groups = report.OrderGroups(doc.Groups, o.Sort, o.Top)
	doc.Params = report.OrderParams(doc.Params, o.Sort, o.Top)
	return report.WriteStats(o.Streams.Out, o.Format, doc, o.text())
}

// effectiveMultipliers resolves the effective multiplier of every
// parameter of a checkpoint under its config (explicit, else found), for
// --effective; errors are input errors naming the config and the factor.
func effectiveMultipliers(cp *ckpt.Checkpoint, explicit string) (func(*ckpt.Param) (yulan.Multiplier, bool), *report.EffectiveInfo, error) {
	cfg, src, err := ckpt.FindConfig(cp, explicit)
	if err != nil {
		return nil, nil, inputError(fmt.Errorf("--effective: %w", err))
	}
	sc, err := ckpt.Scales(cp, cfg)
	if err != nil {
		return nil, nil, inputError(fmt.Errorf("--effective: %s (config: %s): %w", cp.Path, src, err))
	}
	of := func(p *ckpt.Param) (yulan.Multiplier, bool) { return sc.Of(p.Name) }
	return of, report.EffectiveInfoOf(src, cfg, sc), nil
}
