package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/series"
)

// seriesReportMin is the number of checkpoints from which report draws a
// run against step; fewer keep the side-by-side views.
const seriesReportMin = 3

// runSeriesReport writes the report of a run of checkpoints (package
// series), with steps on the x-axis.
func runSeriesReport(c *cobra.Command, o *ReportOptions) error {
	opt := series.Options{Layout: o.Layout, Policy: o.policy(), Workers: o.Jobs, CacheDir: o.Cache, Progress: progressBars(o.Streams)}
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
	var html bytes.Buffer
	if err := htmlreport.WriteSeries(&html, rep); err != nil {
		return err
	}
	if o.Output == "-" {
		_, err := o.Streams.Out.Write(html.Bytes())
		return err
	}
	if err := output.WriteFile(o.Output, html.Bytes()); err != nil {
		return inputError(err)
	}
	fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: wrote %s (%s)\n", o.Output, output.Bytes(int64(html.Len())))
	return htmlreport.WriteSeriesSummary(o.Streams.Out, o.Format, rep)
}
