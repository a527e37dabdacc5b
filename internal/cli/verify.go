package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/universal"
	"github.com/ckptinspect/ckptinspect/verify"
	"github.com/ckptinspect/ckptinspect/zero"
)

// VerifyOptions are the inputs of `ckptinspect verify`.
type VerifyOptions struct {
	commonFlags
	Path   string
	Deep   bool
	Layout string
	Config string // --config FILE: the model config of the scale-factor check
}

// NewVerifyCmd builds `ckptinspect verify`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewVerifyCmd(s Streams, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "verify CHECKPOINT",
		Short: "Check that a checkpoint's optimizer state is intact before resuming",
		Long: `Check a DeepSpeed checkpoint (Trainer folder, universal tag or zero/ folder, or
ZeRO shard folder; --layout chooses) before resuming training from it, in one
pass over its data:
structure (every state file present and readable, no truncated file, parameter
folders matching the model states' param_shapes), shapes, values (no NaN or
Inf, exp_avg_sq >= 0, no all-zero moments at step > 0), steps, the bf16
module weights against the fp32 masters rounded to bf16, and the optimizer
groups; for ZeRO shards also that every rank's shard is present and each
parameter's fragments cover it exactly once; and that every WeSaR scale factor
(*_alpha) has a known target under the model config (--config FILE, else the
checkpoint's config.json). --deep also recomputes the CRC-32
of every zip record.

Exit status: 0 when no check failed (warnings allowed), 1 when one or more
checks failed, 2 when the checkpoint could not be checked at all.`,
		Example: `  ckptinspect verify checkpoint-120
  ckptinspect verify checkpoint-120 --deep
  ckptinspect verify global_step120_universal --format json | jq '.findings[] | select(.severity=="error")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runVerify(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addJobs(cmd)
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "also recompute the CRC-32 of every zip record, storage bytes included")
	layoutFlag(cmd, &opts.Layout)
	cmd.Flags().StringVar(&opts.Config, "config", "", "the model's config.json, for the scale-factor check (default: the checkpoint's)")
	return cmd
}

func runVerify(c *cobra.Command, o *VerifyOptions) error {
	doc := report.Verification{Findings: []report.FindingInfo{}, Summary: report.VerifySummary{Path: o.Path, Deep: o.Deep}}
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Tolerant: true})
	switch {
	case errors.Is(err, universal.ErrMissingTag) || errors.Is(err, zero.ErrMissingTag):
		doc.Findings = append(doc.Findings, report.FindingInfo{Check: "structure.tag", Severity: "error", File: o.Path, Message: err.Error()})
		doc.Summary.Errors = 1
		return verified(o, doc)
	case err != nil:
		return inputError(err)
	}
	defer cp.Close()
	total := cp.ScanBytes(nil)
	if o.Deep {
		for _, f := range cp.Files {
			total += f.Size
		}
	}
	bar := progress.New(o.Streams.ErrOut, "verify", total, o.Streams.ErrIsTerminal)
	r, err := verify.Run(c.Context(), cp, verify.Options{Workers: o.Jobs, Progress: bar.Add, Deep: o.Deep, Config: o.Config})
	bar.Finish()
	if errors.Is(err, verify.ErrConfig) {
		return inputError(err)
	}
	if err != nil {
		return err
	}
	for _, f := range r.Findings {
		doc.Findings = append(doc.Findings, report.FindingInfo{Check: string(f.Check), Severity: f.Severity.String(), Param: f.Param, File: f.File, Message: f.Message})
	}
	doc.Summary = report.VerifySummary{Path: o.Path, Layout: cp.Layout, Tag: cp.Tag, Step: cp.Step, Params: r.Params, Files: r.Files,
		BytesScanned: r.BytesScanned, Deep: o.Deep, BytesDeep: r.BytesDeep, Errors: r.Errors, Warnings: r.Warnings, Config: r.Config}
	return verified(o, doc)
}

// verified prints the verification and returns the exit status it calls
// for.
func verified(o *VerifyOptions, doc report.Verification) error {
	if err := report.WriteVerification(o.Streams.Out, o.Format, doc); err != nil {
		return err
	}
	if doc.Summary.Errors > 0 {
		return &ExitError{Code: ExitFindings}
	}
	return nil
}
