package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/series"
)

// seriesReportMin is the number of checkpoints from which report draws a
// run against step; fewer keep the side-by-side views.
const seriesReportMin = 3

// runSeriesReport writes the report of a run of checkpoints (package
// series), with steps on the x-axis.
func runSeriesReport(c *cobra.Command, o *ReportOptions) error {
	opt := series.Options{Layout: o.Layout, Policy: o.policy(), Workers: o.Jobs, CacheDir: o.Cache, Effective: o.Effective, Config: o.Config, Progress: progress.Bars(o.Streams.ErrOut, o.Streams.ErrIsTerminal)}
	if o.Hist != "" {
		st := ckpt.State(o.HistState)
		opt.Hist = &series.HistOptions{Param: o.Hist, State: st, Bins: o.Bins, Log: st == ckpt.ExpAvgSq, PerDecade: 4}
	}
	s, err := series.Open(o.Paths, opt)
	if err != nil {
		return inputError(err)
	}
	rep, err := htmlreport.CollectSeries(c.Context(), s, o.Paths, opt.Hist)
	if err != nil {
		return inputError(err)
	}
	return writeHTML(o, func(w io.Writer) error { return htmlreport.WriteSeries(w, rep) },
		func() error { return htmlreport.WriteSeriesSummary(o.Streams.Out, o.Format, rep) })
}
