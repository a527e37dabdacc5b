package cli

import (
	"fmt"
	"regexp"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// DiffOptions are the inputs of `ckptinspect diff`.
type DiffOptions struct {
	Streams      Streams
	PathA, PathB string
	Format       output.Format
	Jobs         int
	Filter       string
	Sort         string
	Top          int
	GroupBy      string
	// LayoutA and LayoutB force the layouts of A and B ("" detects).
	LayoutA, LayoutB string
	filterRE         *regexp.Regexp
}

// NewDiffCmd builds `ckptinspect diff`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewDiffCmd(s Streams, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{Streams: s}
	var format string
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two checkpoints of one model, parameter by parameter",
		Long: `Compare two checkpoints of one model (any layout ckptinspect reads), in one
streaming pass over both: for every parameter present in both, and for each of
its states present on both sides (fp32 master weight, bf16 module weight, AdamW
exp_avg and exp_avg_sq), the change from A to B:

  delta_l2    ‖B−A‖ = √Σ(b−a)²
  rel_change  ‖B−A‖ / ‖A‖            (null when ‖A‖ = 0)
  cosine      Σab / (‖A‖·‖B‖)         (null when a norm is 0)
  norm_ratio  ‖B‖ / ‖A‖              (null when ‖A‖ = 0)

all in float64 over the element pairs where both values are finite (pairs with
a NaN or Inf are counted as skipped). States whose shapes differ are reported,
not compared. The summary gives the step delta, the parameters present on one
side only, and the global change of the fp32 weights.

The table shows 1−cos instead of the cosine (readable when it is near 1), and
the relative change of the bf16 weights (bf16 rel) and of the moments (m rel,
v rel). --sort <state>.cosine puts the least similar first; other figures sort
largest first. A and B may be in different layouts (--layout, --layout-b).
The exit status is 0 whatever the differences.`,
		Example: `  ckptinspect diff checkpoint-1000 checkpoint-2000
  ckptinspect diff checkpoint-1000 checkpoint-2000 --sort fp32.rel_change --top 10
  ckptinspect diff checkpoint-1000 checkpoint-2000 --group-by layer
  ckptinspect diff a/checkpoint-7 b/checkpoint-12 --filter 'alpha$' --format csv`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.PathA, opts.PathB = args[0], args[1]
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			opts.Format = f
			if opts.Jobs < 0 {
				return usageError("-j must be positive")
			}
			if opts.Filter != "" {
				if opts.filterRE, err = regexp.Compile(opts.Filter); err != nil {
					return usageError("--filter: %v", err)
				}
			}
			if opts.Sort != "" && opts.Sort != "name" {
				if get, _ := report.DiffSortKey(opts.Sort); get == nil {
					return usageError("--sort %q: unknown field (want one of %s)", opts.Sort, report.DiffSortNames())
				}
			}
			if opts.Top < 0 {
				return usageError("--top must not be negative")
			}
			if opts.GroupBy != "" && opts.GroupBy != "layer" {
				return usageError("--group-by %q: only \"layer\" is supported", opts.GroupBy)
			}
			if !c.Flags().Lookup("layout-b").Changed {
				opts.LayoutB = opts.LayoutA
			}
			if runF != nil {
				return runF(opts)
			}
			return runDiff(c, opts)
		},
	}
	formatFlag(cmd, &format)
	cmd.Flags().IntVarP(&opts.Jobs, "jobs", "j", runtime.NumCPU(), "number of parallel workers")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "only parameters whose name matches this regular expression")
	cmd.Flags().StringVar(&opts.Sort, "sort", "", "sort parameters by a field (name A-Z; cosine smallest first; others largest first): "+report.DiffSortNames())
	cmd.Flags().IntVar(&opts.Top, "top", 0, "show only the first N parameters (after --sort)")
	cmd.Flags().StringVar(&opts.GroupBy, "group-by", "", `aggregate parameters: "layer" (per transformer layer)`)
	layoutFlag(cmd, &opts.LayoutA)
	cmd.Flags().StringVar(&opts.LayoutB, "layout-b", "", "layout of B, when it differs from --layout")
	return cmd
}

func runDiff(c *cobra.Command, o *DiffOptions) error {
	a, err := layout.Open(o.PathA, layout.Options{Layout: o.LayoutA})
	if err != nil {
		return inputError(err)
	}
	defer a.Close()
	b, err := layout.Open(o.PathB, layout.Options{Layout: o.LayoutB})
	if err != nil {
		return inputError(err)
	}
	defer b.Close()
	opt := ckpt.DiffOptions{Workers: o.Jobs}
	if o.filterRE != nil {
		opt.Filter = o.filterRE.MatchString
	}
	res, err := diffCheckpoints(c, o.Streams, "diff", a, b, opt)
	if err != nil {
		return err
	}
	doc := report.BuildDiff(res)
	if o.GroupBy == "layer" {
		doc.Groups = report.GroupDiffs(res)
	}
	doc.Params = report.OrderDiffs(doc.Params, o.Sort, o.Top)
	switch o.Format {
	case output.JSON:
		return output.WriteJSON(o.Streams.Out, doc)
	case output.CSV:
		if doc.Groups != nil {
			return report.DiffGroupCSV(doc.Groups).WriteCSV(o.Streams.Out)
		}
		return report.DiffCSV(doc.Params).WriteCSV(o.Streams.Out)
	}
	return report.WriteDiffText(o.Streams.Out, doc)
}

// diffCheckpoints runs ckpt.Diff with a progress bar and turns a
// parameter's read error into an input error.
func diffCheckpoints(c *cobra.Command, s Streams, label string, a, b *ckpt.Checkpoint, opt ckpt.DiffOptions) (*ckpt.DiffResult, error) {
	var total int64
	states := opt.States
	if states == nil {
		states = ckpt.DiffStates()
	}
	for _, side := range []*ckpt.Checkpoint{a, b} {
		for _, p := range side.Params {
			if opt.Filter != nil && !opt.Filter(p.Name) {
				continue
			}
			for _, st := range states {
				if t := p.Tensor(st); t != nil {
					total += t.NBytes()
				}
			}
		}
	}
	bar := progress.New(s.ErrOut, label, total, s.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := ckpt.Diff(c.Context(), a, b, opt)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	for _, pd := range res.Params {
		if pd.Err != nil {
			return nil, inputError(fmt.Errorf("parameter %s: %w", pd.Name, pd.Err))
		}
	}
	return res, nil
}
