package cli

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/series"
)

// ReportOptions are the inputs of `ckptinspect report`.
type ReportOptions struct {
	commonFlags
	Paths     []string
	Output    string // the HTML file; "-" for stdout
	Hist      string // the parameter to draw a histogram of ("" for none), of state HistState
	HistState string
	Bins      int
	Top       int
	Layout    string // forces the checkpoints' layout ("" detects)
	Force     bool   // report on checkpoints of different models
	Cache     string // series: the cache folder of package series ("" for none)
	Effective bool   // also the effective weights, under Config ("": config.json)
	Config    string
}

// NewReportCmd builds `ckptinspect report`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewReportCmd(s Streams, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "report -o FILE CHECKPOINT...",
		Short: "Write an HTML report with charts of one or more checkpoints of one model",
		Long: `Write one self-contained HTML file (inline SVG charts and CSS, no script, nothing
fetched: it opens offline) about one or more checkpoints of one model, taken in
the order of their steps:

  - a summary table: norms, NaN/Inf counts, and the change from the previous
    checkpoint;
  - by layer (a line per checkpoint): fp32 weight RMS, AdamW update-to-weight
    ratio, RMS of exp_avg and of √exp_avg_sq, and the relative weight change
    between consecutive checkpoints;
  - the re-parameterisation scale factors (one-element *_alpha parameters,
    YuLan-Mini's WeSaR) by layer;
  - the parameters whose fp32 weights changed most between consecutive
    checkpoints (--top);
  - with --hist NAME, a histogram of that parameter's --hist-state tensor in
    every checkpoint, over common bins.

Each checkpoint is read once in full (the statistics of stats --group-by layer);
then each consecutive pair's fp32 weights are compared (one more read of the
fp32 weights), and the --hist tensor is binned over the range the statistics
gave (one more read of that tensor). Standard output gets the summary table
(--format table, csv or json: json prints all the report's data).

With three checkpoints or more (a Trainer output_dir, a DeepSpeed save folder,
or checkpoints one by one, as for series), the report draws the run against
step instead: per kind of parameter, small multiples of weight RMS,
update-to-weight ratio, relative change and moment RMS (a line per layer,
coloured by depth); layer × kind heatmaps at the latest step; the scale
factors; and with --hist a histogram per checkpoint over its own range (log
bins for exp_avg_sq). It is measured as series measures it (one pass per
checkpoint; --cache as for series); --top is not used. --effective adds the
effective weights (stats --effective): their relative change per pair, their
RMS against step for a run.`,
		Example: `  ckptinspect report -o report.html checkpoint-1000 checkpoint-2000 checkpoint-3000
  ckptinspect report -o report.html testdata/sample/checkpoint-120 --hist model.layers.0.mlp.down_proj.weight
  ckptinspect report -o report.html run/checkpoint-* --hist lm_head.weight --hist-state exp_avg --top 20
  ckptinspect report -o run.html output_dir/ --hist model.layers.0.mlp.down_proj.weight --cache ~/.cache/ckptinspect`,
		Args: args("CHECKPOINT..."),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if opts.Output == "" {
				return usageError("-o FILE is required (- for standard output)")
			}
			if !slices.Contains(ckpt.DiffStates(), ckpt.State(opts.HistState)) {
				return usageError("--hist-state %q: want fp32, bf16, exp_avg or exp_avg_sq", opts.HistState)
			}
			if opts.Bins < 1 || opts.Bins > 10000 {
				return usageError("--bins %d: want 1 to 10000", opts.Bins)
			}
			if opts.Top < 1 {
				return usageError("--top must be at least 1")
			} else if opts.Config != "" && !opts.Effective {
				return usageError("--config is read by --effective only")
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runReport(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the HTML file to write (- for standard output)")
	opts.addJobs(cmd)
	cmd.Flags().StringVar(&opts.Hist, "hist", "", "draw a histogram of this parameter")
	cmd.Flags().StringVar(&opts.HistState, "hist-state", "fp32", "the tensor of --hist: fp32, bf16, exp_avg or exp_avg_sq")
	cmd.Flags().IntVar(&opts.Bins, "bins", 60, "number of histogram bins")
	cmd.Flags().IntVar(&opts.Top, "top", 12, "most changed parameters shown per pair of checkpoints")
	layoutFlag(cmd, &opts.Layout)
	forceFlag(cmd, &opts.Force)
	cmd.Flags().BoolVar(&opts.Effective, "effective", false, "also the effective weights (scale factors and config multipliers applied)")
	cmd.Flags().StringVar(&opts.Config, "config", "", "with --effective: the model's config.json (default: each checkpoint's)")
	cmd.Flags().StringVar(&opts.Cache, "cache", "", "with 3 checkpoints or more: keep each checkpoint's figures in this folder (as series --cache)")
	return cmd
}

func runReport(c *cobra.Command, o *ReportOptions) error {
	if err := output.CheckWritable(o.Output); err != nil {
		return inputError(err)
	}
	cands, err := series.Find(o.Paths, o.Layout)
	if err != nil {
		return inputError(err)
	}
	if len(cands) >= seriesReportMin {
		return runSeriesReport(c, o)
	}
	o.Paths = o.Paths[:0]
	for _, cd := range cands {
		o.Paths = append(o.Paths, cd.Path)
	}
	notes, err := htmlreport.Precheck(o.Paths, layout.Options{Layout: o.Layout, Policy: o.policy()}, o.Hist, o.Force)
	if err != nil {
		return modelsError(err)
	}
	rep, err := htmlreport.Collect(c.Context(), htmlreport.CollectOptions{Paths: o.Paths, Layout: o.Layout, Policy: o.policy(), Workers: o.Jobs,
		Hist: o.Hist, HistState: ckpt.State(o.HistState), Bins: o.Bins, Top: o.Top, Notes: notes, Effective: o.Effective, Config: o.Config, Progress: progress.Bars(o.Streams.ErrOut, o.Streams.ErrIsTerminal)})
	if err != nil {
		return inputError(err)
	}
	return writeHTML(o, func(w io.Writer) error { return htmlreport.Write(w, rep) },
		func() error { return htmlreport.WriteSummary(o.Streams.Out, o.Format, rep) })
}

// writeHTML writes a report's HTML (html) to -o FILE (atomically, with a
// note) or to standard output, and then, with a file, its summary.
func writeHTML(o *ReportOptions, html func(io.Writer) error, summary func() error) error {
	var b bytes.Buffer
	if err := html(&b); err != nil {
		return err
	}
	if o.Output == "-" {
		_, err := o.Streams.Out.Write(b.Bytes())
		return err
	}
	if err := output.WriteFile(o.Output, b.Bytes()); err != nil {
		return inputError(err)
	}
	fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: wrote %s (%s)\n", o.Output, output.Bytes(int64(b.Len())))
	return summary()
}
