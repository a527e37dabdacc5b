package cli

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/series"
)

// SeriesOptions are the inputs of `ckptinspect series`.
type SeriesOptions struct {
	commonFlags
	Paths    []string
	Format   string // one of report.SeriesFormats()
	Output   string // the file to write; "" or "-" for standard output
	Filter   string
	CacheDir string
	Layout   string
	// Effective adds rows of state "effective", under Config (or config.json).
	Effective bool
	Config    string
}

// NewSeriesCmd builds `ckptinspect series`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewSeriesCmd(s Streams, runF func(*SeriesOptions) error) *cobra.Command {
	opts := &SeriesOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "series RUN...",
		Short: "Statistics of every parameter at every step of a run, as long-format rows for pandas",
		Long: `Measure a run of checkpoints of one model, ordered by step: one row per
(checkpoint, parameter, state) with every statistic of stats (l2, rms, mean,
std, min, max, absmax, nan, inf, zeros), and on the fp32 rows the AdamW update
(update_rms, update_to_weight) and the change from the previous checkpoint
(delta_l2, rel_change, cosine, as diff computes them). --effective adds rows of
state "effective": the effective weights of stats --effective (scale factors
and config multipliers applied; --config FILE, default each config.json).

RUN is a Hugging Face Trainer output_dir holding checkpoint-N/ folders, a
DeepSpeed save folder holding global_stepN tag folders, or checkpoints given
one by one. Checkpoints of different models are refused. Each checkpoint is
read in one pass, together with its predecessor's fp32 weights. With --cache
DIR, a checkpoint whose files (sizes, modification times) have not changed is
not read again: after a new checkpoint lands, only it (and its predecessor's
fp32 weights) are read.

Formats: csv (default), jsonl (one JSON object per row), json ({"checkpoints":
[...], "rows": [...]}), parquet (typed columns; needs -o FILE, or -o - for
standard output).`,
		Example: `  ckptinspect series output_dir/ > run.csv
  ckptinspect series output_dir/ --format parquet -o run.parquet --cache ~/.cache/ckptinspect
  ckptinspect series ckpt/checkpoint-1000 ckpt/checkpoint-2000 ckpt/checkpoint-3000 --format jsonl
  ckptinspect series deepspeed_save_dir/ --filter 'alpha$'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := opts.parsePart(opts.Format); err != nil {
				return err
			}
			if !slices.Contains(report.SeriesFormats(), opts.Format) && opts.part == nil {
				return usageError("--format %q: want %s", opts.Format, strings.Join(report.SeriesFormats(), ", "))
			}
			if opts.Format == "parquet" && opts.Output == "" {
				return usageError("--format parquet writes a binary file: give -o FILE (or -o - for standard output)")
			}
			if _, err := regexp.Compile(opts.Filter); err != nil {
				return usageError("--filter: %v", err)
			} else if opts.Config != "" && !opts.Effective {
				return usageError("--config is read by --effective only")
			}
			if runF != nil {
				return runF(opts)
			}
			return runSeries(c, opts)
		},
	}
	opts.addShard(cmd)
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "csv", "output format: "+strings.Join(report.SeriesFormats(), ", ")+" (part: a part file, see --shard)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (- for standard output, the default)")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "only parameters whose name matches this regular expression")
	cmd.Flags().StringVar(&opts.CacheDir, "cache", "", "keep each checkpoint's figures in this folder, to read only what changed next time")
	opts.addJobs(cmd)
	opts.addPolicy(cmd)
	layoutFlag(cmd, &opts.Layout)
	cmd.Flags().BoolVar(&opts.Effective, "effective", false, "also rows of the effective weights (state \"effective\": scale factors and config multipliers applied)")
	cmd.Flags().StringVar(&opts.Config, "config", "", "with --effective: the model's config.json (default: each checkpoint's)")
	return cmd
}

func runSeries(c *cobra.Command, o *SeriesOptions) error {
	s, err := series.Open(o.Paths, series.Options{Layout: o.Layout, Filter: o.Filter, Policy: o.policy(), Workers: o.Jobs,
		CacheDir: o.CacheDir, Effective: o.Effective, Config: o.Config, Progress: progress.Bars(o.Streams.ErrOut, o.Streams.ErrIsTerminal)})
	if err != nil {
		return inputError(err)
	}
	out, commit, err := output.Create(o.Streams.Out, o.Output)
	if err != nil {
		return err
	}
	if o.part != nil {
		return inputError(commit(o.part.Series(c.Context(), out, s)))
	}
	run := s.Run
	if o.merged != nil {
		run = func(_ context.Context, emit func(series.Part) error) error { return o.merged.Series(s, emit) }
	}
	w, err := report.NewSeriesWriter(out, o.Format, report.SeriesCheckpointsOf(s.Checkpoints))
	if err == nil {
		err = run(c.Context(), func(p series.Part) error { return w.WriteRows(p.Rows) })
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err = commit(err); err != nil {
		return inputError(err)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: note: %s\n", n)
	}
	output.Fprintw(o.Streams.ErrOut, o.Streams.Width, "  ", "series: %s", s.Summary())
	return nil
}
