package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// DiffOptions are the inputs of `ckptinspect diff`.
type DiffOptions struct {
	commonFlags
	selectFlags
	PathA, PathB string
	// LayoutA and LayoutB force the layouts of A and B ("" detects).
	LayoutA, LayoutB string
	// Force compares checkpoints of different models.
	Force bool
	// Effective also compares the effective weights, under the
	// multipliers of each side's config (ConfigA, ConfigB: config.json
	// files; "" finds the checkpoint's).
	Effective        bool
	ConfigA, ConfigB string
}

// NewDiffCmd builds `ckptinspect diff`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewDiffCmd(s Streams, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{commonFlags: commonFlags{Streams: s}}
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
largest first; with --group-by layer, --sort and --top apply to the layers. A
and B may be in different layouts (--layout, --layout-b).

--effective also compares the effective weights, the weights YuLan-Mini's
forward pass computes with (scale × (w + offset): WeSaR scale factors and the
config's multipliers, see stats --help), each side under its own scale factors
and config (--config, --config-b; default: each checkpoint's config.json), in
the same pass: "effective" in JSON, "eff rel" in the table.

Checkpoints of different models (config.json architecture keys, or parameter
names or shapes that mostly differ) are refused with exit status 2 unless
--force; parameters on one side only are listed, never compared. The exit
status is 0 whatever the differences.`,
		Example: `  ckptinspect diff checkpoint-1000 checkpoint-2000
  ckptinspect diff checkpoint-1000 checkpoint-2000 --sort fp32.rel_change --top 10
  ckptinspect diff checkpoint-1000 checkpoint-2000 --group-by layer
  ckptinspect diff a/checkpoint-7 b/checkpoint-12 --filter 'alpha$' --format csv
  ckptinspect diff checkpoint-1000 checkpoint-2000 --effective --sort effective.rel_change --top 10`,
		Args: args("A", "B"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.PathA, opts.PathB = args[0], args[1]
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			validSort := func(f string) bool { get, _ := report.DiffSortKey(f); return get != nil }
			if err := opts.selectFlags.parse(validSort, report.DiffSortNames()); err != nil {
				return err
			}
			if !c.Flags().Lookup("layout-b").Changed {
				opts.LayoutB = opts.LayoutA
			}
			if err := checkLayouts(opts.LayoutA, opts.LayoutB); err != nil {
				return err
			}
			if !c.Flags().Lookup("config-b").Changed {
				opts.ConfigB = opts.ConfigA
			}
			if strings.HasPrefix(opts.Sort, "effective.") && !opts.Effective {
				return usageError("--sort %s needs --effective", opts.Sort)
			}
			if (opts.ConfigA != "" || opts.ConfigB != "") && !opts.Effective {
				return usageError("--config and --config-b are read by --effective only")
			}
			if runF != nil {
				return runF(opts)
			}
			return runDiff(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	opts.addJobs(cmd)
	opts.addWide(cmd)
	opts.selectFlags.add(cmd, "name A-Z; cosine smallest first; others largest first: "+report.DiffSortNames())
	layoutFlag(cmd, &opts.LayoutA)
	cmd.Flags().StringVar(&opts.LayoutB, "layout-b", "", "layout of B, when it differs from --layout")
	forceFlag(cmd, &opts.Force)
	cmd.Flags().BoolVar(&opts.Effective, "effective", false, "also compare the effective weights (scale factors and config multipliers applied)")
	cmd.Flags().StringVar(&opts.ConfigA, "config", "", "with --effective: the model's config.json for both sides (default: each checkpoint's)")
	cmd.Flags().StringVar(&opts.ConfigB, "config-b", "", "with --effective: the config.json of B, when it differs from --config")
	return cmd
}

// forceFlag adds --force, which compares checkpoints of different models.
func forceFlag(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVar(dst, "force", false, "compare checkpoints even when they are of different models")
}

// sameModel refuses checkpoints of different models (exit 2) unless force;
// with force it returns a note saying what differs.
func sameModel(a, b *ckpt.Checkpoint, force bool) (string, error) {
	err := ckpt.SameModel(a, b)
	switch {
	case err == nil:
		return "", nil
	case force:
		return fmt.Sprintf("compared with --force: %v", err), nil
	}
	return "", modelError(err)
}

// modelError is an input error, with a hint about --force for checkpoints
// of different models.
func modelError(err error) error {
	if errors.Is(err, ckpt.ErrDifferentModels) {
		return &ExitError{Code: ExitInput, Err: err, Hint: "These are checkpoints of different models; --force compares them anyway."}
	}
	return inputError(err)
}

func runDiff(c *cobra.Command, o *DiffOptions) error {
	a, err := layout.Open(o.PathA, layout.Options{Layout: o.LayoutA, Select: o.matcher(), Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer a.Close()
	b, err := layout.Open(o.PathB, layout.Options{Layout: o.LayoutB, Select: o.matcher(), Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer b.Close()
	note, err := sameModel(a, b, o.Force)
	if err != nil {
		return err
	}
	opt := ckpt.DiffOptions{Workers: o.Jobs}
	opt.Filter = o.matcher()
	var info *report.DiffEffectiveInfo
	if o.Effective {
		info = &report.DiffEffectiveInfo{}
		if opt.EffectiveA, info.A, err = effectiveMultipliers(a, o.ConfigA); err != nil {
			return err
		}
		if opt.EffectiveB, info.B, err = effectiveMultipliers(b, o.ConfigB); err != nil {
			return err
		}
	}
	res, err := diffCheckpoints(c, o.Streams, "diff", a, b, opt)
	if err != nil {
		return err
	}
	o.noMatch(o.Streams.ErrOut, a, len(res.Params)+len(res.OnlyA)+len(res.OnlyB))
	doc := report.BuildDiff(res)
	if note != "" {
		doc.Summary.Notes = append(doc.Summary.Notes, note)
	}
	if o.GroupBy == "layer" {
		doc.Groups = report.GroupDiffs(res)
	}
	if info != nil {
		report.AddEffectiveDiff(&doc, res, info)
	}
	doc.Groups = report.OrderGroupDiffs(doc.Groups, o.Sort, o.Top)
	doc.Params = report.OrderDiffs(doc.Params, o.Sort, o.Top)
	return report.WriteDiff(o.Streams.Out, o.Format, doc, o.text())
}

// diffCheckpoints runs ckpt.Diff with a progress bar and turns a
// parameter's read error into an input error.
func diffCheckpoints(c *cobra.Command, s Streams, label string, a, b *ckpt.Checkpoint, opt ckpt.DiffOptions) (*ckpt.DiffResult, error) {
	bar := progress.New(s.ErrOut, label, ckpt.DiffBytes(a, b, opt), s.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := ckpt.Diff(c.Context(), a, b, opt)
	bar.Finish()
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return nil, inputError(err)
	}
	return res, nil
}
