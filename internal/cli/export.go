package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/export"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// ExportOptions are the inputs of `ckptinspect export`.
type ExportOptions struct {
	commonFlags
	Path, Out    string
	To           string // "llama"
	DType        tensor.DType
	MaxShardSize int64
	Force        bool
	Config       string // --config FILE
	Layout       string
}

// NewExportCmd builds `ckptinspect export`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewExportCmd(s Streams, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{commonFlags: commonFlags{Streams: s}}
	var dtype, shard string
	cmd := &cobra.Command{
		Use:   "export --to llama CHECKPOINT OUT",
		Short: "Write a checkpoint's weights as a plain Hugging Face Llama model",
		Long: `Write the weights of CHECKPOINT as a plain Hugging Face Llama model in the
folder OUT: OUT/config.json (LlamaForCausalLM) and OUT/model.safetensors, or
model-0000k-of-0000n.safetensors shards with model.safetensors.index.json when
the tensors exceed --max-shard-size. LlamaForCausalLM.from_pretrained(OUT)
loads it; no trust_remote_code, no YuLan-Mini modelling code.

The weights are the fp32 master weights (a universal checkpoint's, read in
place from ZeRO shards, or a weights-only safetensors model's) with every
multiplier of YuLan-Mini's parameterisation folded in, so that the Llama
network computes the same function (see the README's fold-in table): the WeSaR
scale factors (*_alpha), ln_scale, hidden_states_shrink, scale_emb,
sqrt(dim_model_base_attn/head_dim) and dim_model_base_logits/hidden_size; for
rms_type gemma the norm weights become 1 + w. A checkpoint without scale factors
and a config without those keys is copied unchanged. Vocabulary padding rows
beyond vocab_size are dropped; Llama's o_proj biases are zeros.

Each value is computed in float64 and rounded to float32 (nearest even); with
--dtype bfloat16 (the default) that float32 is rounded to bfloat16 (nearest
even, as torch's .to(torch.bfloat16)).

The model config is --config FILE, else the Trainer folder's config.json, else
a config.json beside CHECKPOINT or in its parent folder. A config with
qk_layernorm, an embedding norm, a sliding window or rope_scaling, a scale
factor with no known target, a parameter with no place in a Llama model, or a
shape that disagrees with the config is refused (exit 2) rather than guessed.

Tensors are streamed one chunk at a time; files are written under temporary
names and renamed when complete. OUT must be empty or missing unless --force,
which replaces an earlier export's files there (and only those).`,
		Example: `  ckptinspect export --to llama checkpoint-120 llama-120/
  ckptinspect export --to llama --dtype float32 checkpoint-120/global_step120 llama-120-fp32/ --layout zero
  ckptinspect export --to llama --config config.json model-folder/ out/ --max-shard-size 2GB --force`,
		Args: args("CHECKPOINT", "OUT"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path, opts.Out = args[0], args[1]
			if opts.To != "llama" {
				return usageError("--to %q: the only target is llama", opts.To)
			}
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if err := checkLayouts(opts.Layout); err != nil {
				return err
			}
			if opts.Format == output.CSV {
				return usageError("--format csv is not available for export (use table or json)")
			}
			switch dtype {
			case "bfloat16", "bf16":
				opts.DType = tensor.BFloat16
			case "float32", "fp32":
				opts.DType = tensor.Float32
			default:
				return usageError("--dtype %q: want bfloat16 or float32", dtype)
			}
			n, err := output.ParseSize(shard)
			if err != nil {
				return usageError("--max-shard-size: %v", err)
			}
			opts.MaxShardSize = n
			if runF != nil {
				return runF(opts)
			}
			return runExport(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addPolicy(cmd)
	cmd.Flags().StringVar(&opts.To, "to", "", "target format: llama (required)")
	cmd.Flags().StringVar(&dtype, "dtype", "bfloat16", "dtype of the exported tensors: bfloat16 or float32")
	cmd.Flags().StringVar(&shard, "max-shard-size", "5GB", "largest shard, in bytes of tensors (5GB = 5e9; KB, MB, GB, KiB, MiB, GiB accepted)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "write into OUT even if it is not empty, replacing an earlier export's files")
	cmd.Flags().StringVar(&opts.Config, "config", "", "the model's config.json (default: the checkpoint's)")
	cmd.Flags().StringVar(&opts.Layout, "layout", "", "read CHECKPOINT as this layout: universal, zero or safetensors (default: detect)")
	return cmd
}

func runExport(c *cobra.Command, o *ExportOptions) error {
	cp, err := layout.Open(o.Path, layout.Options{Layout: o.Layout, Policy: o.policy()})
	if err != nil {
		return inputError(err)
	}
	defer cp.Close()
	cfg, cfgSource, err := ckpt.FindConfig(cp, o.Config)
	if err != nil {
		return inputError(err)
	}
	opt := export.Options{Config: cfg, DType: o.DType, MaxShardSize: o.MaxShardSize, Force: o.Force}
	plan, err := export.Plan(cp, opt)
	if err != nil {
		return inputError(err)
	}
	var total int64
	for _, t := range plan.Tensors {
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if t.Source != "" {
			total += n * 4
		}
	}
	bar := progress.New(o.Streams.ErrOut, "export", total, o.Streams.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := export.Llama(c.Context(), cp, o.Out, opt)
	bar.Finish()
	if errors.Is(err, export.ErrExists) {
		return usageError("%v", err)
	}
	if err != nil {
		return inputError(err)
	}
	for _, n := range cp.Notes {
		fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: note: %s\n", n)
	}
	return report.WriteExport(o.Streams.Out, o.Format, report.ExportInfo{Checkpoint: o.Path, Layout: cp.Layout, Out: o.Out, To: o.To, ConfigSource: cfgSource}, res)
}
