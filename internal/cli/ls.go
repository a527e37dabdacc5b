package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/resume"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/scan"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// LsOptions are the inputs of `ckptinspect ls`.
type LsOptions struct {
	commonFlags
	Path     string
	MaxItems int
	Layout   string
}

// NewLsCmd builds `ckptinspect ls`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewLsCmd(s Streams, runF func(*LsOptions) error) *cobra.Command {
	opts := &LsOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "ls PATH",
		Short: "Show a file's object tree, a checkpoint's parameters, or a run's checkpoints",
		Long: `Show what a torch.save file (zip or legacy format, or a plain pickle) holds:
dicts, lists and scalars, tensors as dtype[shape] with their size, and objects
of other classes (DeepSpeed's LossScaler, DeepSpeedConfig, ...) as module.Class
with their fields. Nothing in the file is executed. With --format json the
output is the tree plus a flat list of tensors with their dotted key paths;
--format csv prints that tensor list only. A safetensors file shows its
metadata and tensors.

A checkpoint folder (any layout stats reads; --layout chooses) lists its
parameters: name, shape, dtype, which states exist (fp32 master weight, m =
exp_avg, v = exp_avg_sq, bf16 module weight) and step. A training run's folder
lists its checkpoint-N/ folders.`,
		Example: `  ckptinspect ls checkpoint-120/global_step120_universal/mp_rank_00_model_states.pt
  ckptinspect ls optimizer_state.pt --max-items 5
  ckptinspect ls fp32.pt --format json | jq '.tensors[].name'
  ckptinspect ls checkpoint-120
  ckptinspect ls output_dir`,
		Args: args("PATH"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runLs(opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	opts.addWide(cmd)
	cmd.Flags().IntVar(&opts.MaxItems, "max-items", 50, "show at most this many items of each container in the table format (0: all)")
	layoutFlag(cmd, &opts.Layout)
	return cmd
}

func runLs(o *LsOptions) error {
	if fi, err := os.Stat(o.Path); err == nil && fi.IsDir() {
		return runLsFolder(o)
	}
	if safetensors.IsFile(o.Path) {
		if err := scan.Refusal(scan.New(scan.Options{Policy: o.policy()}).Path(o.Path), o.policy()); err != nil {
			return inputError(err)
		}
		return runLsSafetensors(o)
	}
	f, err := torchsave.Open(o.Path, torchsave.Options{Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	for _, w := range f.Warnings {
		fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: warning: %s: %s\n", o.Path, w)
	}
	tensors, err := f.Tensors()
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", o.Path, err))
	}
	if ta, err := resume.ParseTrainingArgs(f.Root); err == nil && o.Format == output.Table {
		output.Fprintw(o.Streams.Out, o.Streams.Width, "  ", "%s: training arguments: %s", o.Path, ta.Summary())
	}
	return report.WriteTorchListing(o.Streams.Out, o.Format, o.Path, f, tensors, o.MaxItems)
}

// runLsSafetensors lists a safetensors file: its metadata and tensors.
func runLsSafetensors(o *LsOptions) error {
	f, err := safetensors.Open(o.Path)
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	return report.WriteSafetensorsListing(o.Streams.Out, o.Format, o.Path, f, o.MaxItems)
}

// runLsFolder lists a checkpoint's parameters, or a run's checkpoints.
func runLsFolder(o *LsOptions) error {
	if found, _ := layout.Detect(o.Path); len(found) == 0 && o.Layout == "" {
		if doc := report.BuildRunListing(o.Path); len(doc.Checkpoints) > 0 {
			return report.WriteRunListing(o.Streams.Out, o.Format, doc, o.text())
		}
	}
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Tolerant: true, Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	return report.WriteParamListing(o.Streams.Out, o.Format, report.BuildParamListing(cp), o.text())
}
