package cli

import (
	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/resume"
	"github.com/ckptinspect/ckptinspect/verify"
)

// VerifyOptions are the inputs of `ckptinspect verify`.
type VerifyOptions struct {
	commonFlags
	Path   string
	Deep   bool
	Layout string
	Config string // --config FILE: the model config of the scale-factor check
	// Resume adds the resume plan and checks of package resume, under Plan.
	Resume bool
	Plan   resume.Options
}

// NewVerifyCmd builds `ckptinspect verify`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewVerifyCmd(s Streams, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "verify CHECKPOINT",
		Short: "Check that a checkpoint's optimizer state is intact before resuming",
		Long: `Check a DeepSpeed checkpoint (Trainer folder, universal tag or zero/ folder, or
ZeRO shard folder) before resuming training from it, in one pass over its data.
Every copy a resume may read is checked: a Trainer folder holding ZeRO shards
(read through latest) and their universal conversion (read through
latest_universal, with load_universal) has both checked and cross-checked
(same parameter names, shapes and step); --layout checks one. A latest or
latest_universal file naming a missing folder is an error. The OK or FAILED
line names what was checked. Weights-only models (safetensors,
pytorch_model.bin) get the checks that apply (NaN/Inf, shapes against
config.json); the optimizer checks are listed as not checked.

The checks: structure (every state file present and readable, no truncated
file, parameter folders matching the model states' param_shapes), shapes,
values (no NaN or Inf, exp_avg_sq >= 0, no all-zero moments at step > 0),
steps, the bf16 module weights against the fp32 masters rounded to bf16, and
the optimizer groups; for ZeRO shards also that every rank's shard is present
and each parameter's fragments cover it exactly once; and that every WeSaR
scale factor (*_alpha) has a known target under the model config (--config
FILE, else the checkpoint's config.json). --deep also recomputes the CRC-32 of
every zip record.

Exit status: 0 when no check failed (warnings allowed), 1 when one or more
checks failed, 2 when the checkpoint could not be checked at all.

--resume also checks that resuming from a Hugging Face Trainer folder goes as
intended (see README, "verify --resume"): which copy DeepSpeed will load
(load_universal, latest, latest_universal), the data-parallel size and ZeRO
stage, the global batch, the optimizer settings the checkpoint restores over
the configuration, the scheduler's position, trainer_state.json and the rng
states. The resumed run's DeepSpeed configuration is --ds-config (default: the
one the checkpoint was trained with); --world-size, --per-device-batch and
--grad-accum override its numbers. Each finding comes with a fix.`,
		Example: `  ckptinspect verify checkpoint-120
  ckptinspect verify checkpoint-120 --deep
  ckptinspect verify --resume checkpoint-250 --ds-config ds_config.json --world-size 48
  ckptinspect verify global_step120_universal --format json | jq '.findings[] | select(.severity=="error")'`,
		Args: args("CHECKPOINT"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if opts.Plan.WorldSize < 0 || opts.Plan.PerDeviceBatch < 0 || opts.Plan.GradAccum < 0 {
				return usageError("--world-size, --per-device-batch and --grad-accum must be positive")
			}
			opts.Resume = opts.Resume || c.Flags().Changed("ds-config")
			if runF != nil {
				return runF(opts)
			}
			return runVerify(c, opts)
		},
	}
	opts.addScanFlags(cmd)
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "also recompute the CRC-32 of every zip record, storage bytes included")
	layoutFlag(cmd, &opts.Layout)
	cmd.Flags().StringVar(&opts.Config, "config", "", "the model's config.json, for the scale-factor check (default: the checkpoint's)")
	cmd.Flags().BoolVar(&opts.Resume, "resume", false, "also check that resuming from this Trainer folder goes as intended")
	cmd.Flags().StringVar(&opts.Plan.DSConfig, "ds-config", "", "with --resume: the resumed run's DeepSpeed config (default: the checkpoint's)")
	cmd.Flags().Int64Var(&opts.Plan.WorldSize, "world-size", 0, "with --resume: the resumed run's number of processes")
	cmd.Flags().Int64Var(&opts.Plan.PerDeviceBatch, "per-device-batch", 0, "with --resume: --per_device_train_batch_size of the resumed run")
	cmd.Flags().Int64Var(&opts.Plan.GradAccum, "grad-accum", 0, "with --resume: --gradient_accumulation_steps of the resumed run")
	return cmd
}

func runVerify(c *cobra.Command, o *VerifyOptions) error {
	tg, err := verify.Open(o.Path, layout.Options{Layout: o.Layout, Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer tg.Close()
	vopt := verify.Options{Workers: o.Jobs, Deep: o.Deep, Config: o.Config}
	var tr *verify.TargetReport
	switch {
	case o.part != nil:
		return inputError(o.part.Verify(c.Context(), o.Streams.Out, tg, vopt))
	case o.merged != nil:
		tr, err = o.merged.Verify(tg, vopt)
	default:
		bar := progress.New(o.Streams.ErrOut, "verify", tg.Bytes(o.Deep), o.Streams.ErrIsTerminal)
		vopt.Progress = bar.Add
		tr, err = tg.Run(c.Context(), vopt)
		bar.Finish()
	}
	if err != nil {
		return inputError(err) // verify.ErrConfig included
	}
	doc := report.BuildVerification(o.Path, o.Deep, tg, tr)
	if o.Resume {
		o.Plan.Torch.Policy = o.policy()
		p, err := resume.Inspect(tg.Path, o.Plan)
		if err != nil {
			return inputError(err)
		}
		report.AddResume(&doc, p)
	}
	if err := report.WriteVerification(o.Streams.Out, o.Format, doc, o.text()); err != nil {
		return err
	}
	if doc.Summary.Errors > 0 {
		return &ExitError{Code: ExitFindings}
	}
	return nil
}
