package cli

import (
	"fmt"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// scanCheckpoint runs ckpt.Scan with a progress bar over the bytes it
// reads, and turns a parameter's read error into an input error.
func scanCheckpoint(c *cobra.Command, s Streams, label string, cp *ckpt.Checkpoint, opt ckpt.ScanOptions) (*ckpt.Result, error) {
	bar := progress.New(s.ErrOut, label, cp.ScanBytes(opt.Filter), s.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := ckpt.Scan(c.Context(), cp, opt)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	for _, pr := range res.Params {
		if pr.Err != nil {
			return nil, inputError(fmt.Errorf("%s: parameter %s: %w", cp.Path, pr.Param.Name, pr.Err))
		}
	}
	return res, nil
}

func addCheckpointFlags(cmd *cobra.Command, o *StatsOptions) {
	cmd.Flags().StringVar(&o.Filter, "filter", "", "only parameters whose name matches this regular expression")
	cmd.Flags().StringVar(&o.Sort, "sort", "", "sort parameters by a field, largest first (name sorts A-Z): "+report.SortFieldNames())
	cmd.Flags().IntVar(&o.Top, "top", 0, "show only the first N parameters (after --sort)")
	cmd.Flags().StringVar(&o.GroupBy, "group-by", "", `aggregate parameters: "layer" (per transformer layer)`)
	layoutFlag(cmd, &o.Layout)
}

func (o *StatsOptions) validateCheckpointFlags() error {
	if o.Filter != "" {
		re, err := regexp.Compile(o.Filter)
		if err != nil {
			return usageError("--filter: %v", err)
		}
		o.filterRE = re
	}
	if !report.ValidSort(o.Sort) {
		return usageError("--sort %q: unknown field (want one of %s)", o.Sort, report.SortFieldNames())
	}
	if o.Top < 0 {
		return usageError("--top must not be negative")
	}
	if o.GroupBy != "" && o.GroupBy != "layer" {
		return usageError("--group-by %q: only \"layer\" is supported", o.GroupBy)
	}
	return nil
}

func runCheckpointStats(c *cobra.Command, o *StatsOptions) error {
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	opt := ckpt.ScanOptions{Workers: o.Jobs}
	if o.filterRE != nil {
		opt.Filter = func(p *ckpt.Param) bool { return o.filterRE.MatchString(p.Name) }
	}
	res, err := scanCheckpoint(c, o.Streams, "stats", cp, opt)
	if err != nil {
		return err
	}
	doc := report.BuildStats(cp, res)
	if o.GroupBy == "layer" {
		doc.Groups = report.GroupByLayer(res)
	}
	doc.Params = report.OrderParams(doc.Params, o.Sort, o.Top)
	return report.WriteStats(o.Streams.Out, o.Format, doc)
}

// layoutFlag adds --layout to a command reading checkpoint folders.
func layoutFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "layout", "", `checkpoint layout: "universal", "zero" or "safetensors" (default: detect; a folder with both a universal checkpoint and ZeRO shards is read as universal)`)
}
