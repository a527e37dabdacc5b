package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// StatsOptions are the inputs of `ckptinspect stats`.
type StatsOptions struct {
	commonFlags
	Path string

	// Checkpoint folders only.
	selectFlags
	Layout string
	// Effective adds the statistics of the effective weights, under the
	// multipliers of Config (a config.json; "" finds the checkpoint's).
	Effective bool
	Config    string
	// accumulateEffective accumulates every effective weight's values
	// rather than deriving its statistics (tests of the two paths).
	accumulateEffective bool
}

// NewStatsCmd builds `ckptinspect stats`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewStatsCmd(s Streams, runF func(*StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "stats PATH",
		Short: "Exact statistics of every parameter of a checkpoint, or every tensor of a file",
		Long: `Compute, in one streaming pass, exact statistics (float64 sums over the finite
elements): L2 norm, RMS, mean, population standard deviation, min, max and
largest magnitude, and the counts of NaN, infinite and zero elements.

PATH is a checkpoint — a Hugging Face Trainer folder (checkpoint-N/), a
DeepSpeed universal tag folder (global_stepN_universal/) or its zero/ folder, a
DeepSpeed ZeRO shard folder (global_stepN/, read in place), or a safetensors
model folder or index (weights only); --layout chooses when a folder holds
several — or a single torch.save or safetensors file.

For a checkpoint, each parameter gets the statistics of its fp32 master weight,
its bf16 module weight and its AdamW moments (exp_avg, exp_avg_sq), its step and
group, the AdamW update RMS and update-to-weight ratio, and scale factors (one-
element *_alpha parameters, YuLan-Mini's WeSaR) are listed with their values.
--filter, --sort, --top and --group-by layer shape the report.

The header (layout, tag, step, ZeRO stage, parallel sizes, DeepSpeed version,
optimizer groups, notes) and the health summary (NaN/Inf totals, the parameters
holding them, global norms) come first; the summary is repeated in one line at
the end. Tables fit the terminal's width (or $COLUMNS): names are shortened in
the middle and the least important columns left out; --wide prints them all.
A run folder holding several checkpoint-N/ is read through the highest N.

--effective adds, per parameter, the statistics of its effective weight: the
weight YuLan-Mini's forward pass computes with, effective_scale × (w +
effective_offset), w the fp32 master weight, with the WeSaR scale factors
(*_alpha) and the config's multipliers (scale_emb, ln_scale,
hidden_states_shrink, dim_model_base_attn, dim_model_base_logits; offset 1 for
the norms of rms_type gemma) as the README's fold-in table gives them; and the
AdamW update-to-weight ratio against it (column "eff rms"). They come from the
same pass (derived exactly from the float64 sums, or accumulated beside them).
The config is --config FILE, else the Trainer folder's config.json, else a
config.json beside PATH or in its parent; the values used are noted.

For a file, each tensor gets one row, named by its dotted key path (or its
safetensors name).

Tensors are read in place from read-only memory maps, in parallel (-j), and
their pages are released behind the scan, so memory stays bounded whatever the
checkpoint size. A progress bar is drawn on stderr when it is a terminal.`,
		Example: `  ckptinspect stats testdata/sample/checkpoint-120
  ckptinspect stats checkpoint-120 --group-by layer
  ckptinspect stats checkpoint-120 --sort adam.update_to_weight --top 10
  ckptinspect stats checkpoint-120 --filter 'alpha$' --format csv > alphas.csv
  ckptinspect stats checkpoint-120 --effective --sort effective.rms --top 10
  ckptinspect stats model-folder/ --effective --config config.json --format json
  ckptinspect stats global_step120_universal/zero/lm_head.weight/fp32.pt --format json`,
		Args: args("PATH"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := opts.selectFlags.parse(report.ValidSort, report.SortFieldNames()); err != nil {
				return err
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if strings.HasPrefix(opts.Sort, "effective.") && !opts.Effective {
				return usageError("--sort %s needs --effective", opts.Sort)
			}
			if opts.Config != "" && !opts.Effective {
				return usageError("--config is read by --effective only")
			}
			if runF != nil {
				return runF(opts)
			}
			return runStats(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	opts.addJobs(cmd)
	opts.addWide(cmd)
	opts.selectFlags.add(cmd, "largest first (name sorts A-Z): "+report.SortFieldNames())
	layoutFlag(cmd, &opts.Layout)
	cmd.Flags().BoolVar(&opts.Effective, "effective", false, "also the statistics of the effective weights (scale factors and config multipliers applied; see --help)")
	cmd.Flags().StringVar(&opts.Config, "config", "", "with --effective: the model's config.json (default: the checkpoint's)")
	return cmd
}

func runStats(c *cobra.Command, o *StatsOptions) error {
	fi, err := os.Stat(o.Path)
	if err != nil {
		return inputError(err)
	}
	if fi.IsDir() {
		return runCheckpointStats(c, o)
	}
	if o.selectFlags.set() || o.Layout != "" || o.Effective {
		return usageError("--filter, --sort, --top, --group-by, --layout and --effective apply to checkpoint folders, not to single files")
	}
	return runFileStats(c, o)
}

func runFileStats(c *cobra.Command, o *StatsOptions) error {
	f, err := layout.OpenTensorFile(o.Path, o.policy())
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	for _, w := range f.Warnings {
		fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: warning: %s: %s\n", o.Path, w)
	}
	named := f.Tensors
	ts := make([]*ckpt.Tensor, len(named))
	var total int64
	for i, nt := range named {
		ts[i] = nt.Tensor
		total += nt.Tensor.NBytes()
	}
	bar := progress.New(o.Streams.ErrOut, "stats", total, o.Streams.ErrIsTerminal)
	results, errs, err := ckpt.TensorsStats(c.Context(), ts, ckpt.PassOptions{Workers: o.Jobs, Progress: bar.Add})
	bar.Finish()
	if err != nil {
		return inputError(err)
	}
	for i, e := range errs {
		if e != nil {
			return inputError(fmt.Errorf("%s: tensor %s: %w", o.Path, named[i].Name, e))
		}
	}
	rows := make([]report.NamedStats, len(named))
	for i, nt := range named {
		rows[i] = report.NamedStats{Name: nt.Name, Stats: report.FromStats(results[i])}
	}
	return report.WriteFileStats(o.Streams.Out, o.Format, report.FileStats{File: o.Path, Format: f.Format, Tensors: rows}, o.text())
}
