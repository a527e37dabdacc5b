package cli

import (
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// HistOptions are the inputs of `ckptinspect hist`.
type HistOptions struct {
	commonFlags
	Name      string // the parameter
	Path      string // the checkpoint
	State     string // fp32, bf16, exp_avg or exp_avg_sq
	Bins      int
	Log       bool
	PerDecade int
	// Range, when set, is the linear range (one pass); else it is measured
	// by a first pass.
	Range     []float64
	LogCounts bool
	Width     int
	Layout    string // forces the checkpoint's layout ("" detects)
}

// NewHistCmd builds `ckptinspect hist`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewHistCmd(s Streams, runF func(*HistOptions) error) *cobra.Command {
	opts := &HistOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "hist NAME CHECKPOINT",
		Short: "Histogram of one tensor of a checkpoint, in the terminal",
		Long: `Draw the histogram of one state of one parameter: the fp32 master weight
(default), the bf16 module weight, or the AdamW moments exp_avg and exp_avg_sq
(--state). Only that tensor is read, with the statistics of the same pass.

Linear bins (default): --bins equal-width bins over [min, max] of the finite
values. The range is not known before the tensor is read, so the tensor is read
twice: a first pass measures min and max (and the statistics), a second bins.
Give --range LO,HI to bin in one pass (values outside are counted as below and
above). A value x falls in bin ⌊(x−lo)·bins/(hi−lo)⌋ (x = hi in the last).

--log bins the magnitude |x| by powers of ten, --per-decade bins per decade
(fixed edges 10^(k/per-decade), so one pass), with negative and positive values
counted apart and zeros on their own; suited to exp_avg_sq and to weights
spanning decades. --log-counts draws bar lengths on a log scale.

NaN and infinite values are never binned; they are counted in the header.

NAME and CHECKPOINT may be given in either order: with the checkpoint first,
shell completion completes the parameter names.`,
		Example: `  ckptinspect hist model.layers.0.mlp.down_proj.weight checkpoint-120
  ckptinspect hist model.layers.0.mlp.down_proj.weight checkpoint-120 --state exp_avg_sq --log
  ckptinspect hist lm_head.weight checkpoint-120 --range -0.1,0.1 --bins 20 --log-counts
  ckptinspect hist model.norm.weight checkpoint-120 --format json`,
		Args: args("NAME", "CHECKPOINT"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name, opts.Path = args[0], args[1]
			if _, err := os.Stat(opts.Name); err == nil {
				if _, err := os.Stat(opts.Path); err != nil {
					opts.Name, opts.Path = opts.Path, opts.Name // hist CHECKPOINT NAME
				}
			}
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if !slices.Contains(ckpt.DiffStates(), ckpt.State(opts.State)) {
				return usageError("--state %q: want fp32, bf16, exp_avg or exp_avg_sq", opts.State)
			}
			if opts.Bins < 1 || opts.Bins > 10000 {
				return usageError("--bins %d: want 1 to 10000", opts.Bins)
			}
			if opts.PerDecade < 1 || opts.PerDecade > 100 {
				return usageError("--per-decade %d: want 1 to 100", opts.PerDecade)
			}
			if opts.Width < 1 || opts.Width > 1000 {
				return usageError("--width %d: want 1 to 1000", opts.Width)
			}
			if r := c.Flags().Lookup("range"); r.Changed {
				if opts.Log {
					return usageError("--range applies to linear bins, not to --log")
				}
				rng, err := parseRange(r.Value.String())
				if err != nil {
					return err
				}
				opts.Range = rng
			}
			if runF != nil {
				return runF(opts)
			}
			return runHist(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	opts.addJobs(cmd)
	cmd.Flags().StringVar(&opts.State, "state", "fp32", "the tensor: fp32, bf16, exp_avg or exp_avg_sq")
	cmd.Flags().IntVar(&opts.Bins, "bins", 40, "number of linear bins")
	cmd.Flags().BoolVar(&opts.Log, "log", false, "bin |x| by powers of ten (one pass)")
	cmd.Flags().IntVar(&opts.PerDecade, "per-decade", 4, "log bins per power of ten")
	cmd.Flags().String("range", "", "linear range LO,HI (one pass; default: min and max, measured by a first pass)")
	cmd.Flags().BoolVar(&opts.LogCounts, "log-counts", false, "draw bar lengths on a log scale")
	cmd.Flags().IntVar(&opts.Width, "width", 50, "length of the longest bar, in characters")
	layoutFlag(cmd, &opts.Layout)
	return cmd
}

func parseRange(s string) ([]float64, error) {
	lo, hi, ok := strings.Cut(s, ",")
	if ok {
		a, errA := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		b, errB := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if errA == nil && errB == nil && a < b && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			return []float64{a, b}, nil
		}
	}
	return nil, usageError("--range %q: want LO,HI with LO < HI, both finite", s)
}

func runHist(c *cobra.Command, o *HistOptions) error {
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Policy: o.policy(), Select: func(name string) bool { return name == o.Name }})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	t, err := cp.Tensor(o.Name, ckpt.State(o.State))
	if err != nil {
		return inputError(err)
	}
	spec := ckpt.HistSpec{Bins: o.Bins} // linear over [min, max]: two passes
	switch {
	case o.Log:
		spec = ckpt.HistSpec{Log: true, PerDecade: o.PerDecade}
	case o.Range != nil:
		spec = ckpt.HistSpec{Lo: o.Range[0], Hi: o.Range[1], Bins: o.Bins}
	}
	passes := ckpt.HistPasses(spec)
	bar := progress.New(o.Streams.ErrOut, "hist", int64(passes)*t.NBytes(), o.Streams.ErrIsTerminal)
	h, passes, err := ckpt.AutoHistogram(c.Context(), t, spec, ckpt.PassOptions{Workers: o.Jobs, Progress: bar.Add})
	bar.Finish()
	if err != nil {
		return inputError(err)
	}
	doc := report.BuildHist(cp, o.Name, o.State, h, passes)
	return report.WriteHist(o.Streams.Out, o.Format, doc, o.Width, o.LogCounts, o.text())
}
