package cli

import (
	"bytes"
	"fmt"
	"time"

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
	opt := series.Options{Layout: o.Layout, Workers: o.Jobs, CacheDir: o.Cache, Progress: progressBars(o.Streams)}
	if o.Hist != "" {
		st := ckpt.State(o.HistState)
		opt.Hist = &series.HistOptions{Param: o.Hist, State: st, Bins: o.Bins, Log: st == ckpt.ExpAvgSq, PerDecade: 4}
	}
	s, err := series.Open(o.Paths, opt)
	if err != nil {
		return inputError(err)
	}
	agg := &series.Aggregate{}
	rep := &htmlreport.SeriesReport{Title: "ckptinspect report: " + htmlreport.RunLabel(o.Paths), Run: o.Paths,
		Checkpoints: s.Checkpoints, Agg: agg, Version: htmlreport.Version(), Date: time.Now().Format("2006-01-02 15:04 MST")}
	var hists []*ckpt.Hist
	err = s.Run(c.Context(), func(p series.Part) error {
		agg.Add(p)
		hists = append(hists, p.Hist)
		return nil
	})
	if err != nil {
		return inputError(err)
	}
	rep.Notes = s.Notes
	if opt.Hist != nil {
		rep.Hist = &htmlreport.SeriesHist{Param: o.Hist, State: opt.Hist.State, Hists: hists}
		if !hasHist(hists) {
			return inputError(fmt.Errorf("--hist: no checkpoint has a %s tensor with a finite value for parameter %q", o.HistState, o.Hist))
		}
	}
	var html bytes.Buffer
	if err := htmlreport.WriteSeries(&html, rep); err != nil {
		return err
	}
	if o.Output == "-" {
		_, err := o.Streams.Out.Write(html.Bytes())
		return err
	}
	if err := writeFileAtomic(o.Output, html.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: wrote %s (%s)\n", o.Output, output.Bytes(int64(html.Len())))
	return htmlreport.WriteSeriesSummary(o.Streams.Out, o.Format, rep)
}

func hasHist(hs []*ckpt.Hist) bool {
	for _, h := range hs {
		if h != nil {
			return true
		}
	}
	return false
}
