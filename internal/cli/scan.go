package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/scan"
)

// ScanOptions are the inputs of `ckptinspect scan`.
type ScanOptions struct {
	commonFlags
	Paths []string
	// MaxInflate bounds the bytes inflated from compressed zip records in
	// the whole run (0: the default, 1 GiB).
	MaxInflate int64
	// All lists every file in the text output, clean ones too.
	All bool
}

// NewScanCmd builds `ckptinspect scan`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewScanCmd(s Streams, runF func(*ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{commonFlags: commonFlags{Streams: s}}
	var strict bool
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Find pickle globals that would run code when a checkpoint is loaded",
		Long: `List every global (class or function) the pickles of checkpoint files
import, with how often and where, and judge each one against an allowlist, the
way torch.load(weights_only=True) works: safe (tensors, containers, numpy
values, the DeepSpeed and Hugging Face data classes), unknown (anything else:
a class of your own, say), or dangerous (it runs code or touches the system
when Python's pickle, torch.load or DeepSpeed load the file: os.system,
subprocess, builtins.eval, getattr other than on a known enum class, ...).

Nothing is loaded: each pickle is only walked opcode by opcode, as CPython's
unpickler reads it.

PATH is a file or a folder. Every interpretation some loader would take is
scanned: the records of a zip archive that hold pickles (whatever their
names), the five pickles of a legacy torch.save file, pickles back to back in
a plain file, the members of a tar archive (torch.save of PyTorch < 0.4), a
pickle that a safetensors header may also start, and the torch.save payloads
of torch.storage._load_from_bytes calls nested in any of them. A folder is
searched recursively and its files are picked by content, never by name;
symbolic links to files are followed, symbolic links to folders are not.

Exit status: 0 when every global is safe; 1 when a dangerous or unknown one is
found (unknown ones pass with --lenient, or when named with --allow); 2 when
a file cannot be read to its end and nothing else failed.`,
		Example: `  ckptinspect scan pytorch_model.bin
  ckptinspect scan ~/downloads/checkpoint-120
  ckptinspect scan --format json model.pt | jq '.files[].globals[] | select(.verdict != "safe")'
  ckptinspect scan --allow 'mylib.config.*' runs/
  ckptinspect scan --lenient old-checkpoints/`,
		Args: args("PATH..."),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if opts.MaxInflate < 0 {
				return usageError("--max-inflate %d: want a positive number of bytes", opts.MaxInflate)
			}
			if runF != nil {
				return runF(opts)
			}
			return runScan(c, opts)
		},
	}
	opts.addFormat(cmd)
	opts.addWide(cmd)
	cmd.Flags().BoolVar(&opts.All, "all", false, "list every file in the table, clean ones too (JSON and CSV always list every file)")
	opts.addPolicy(cmd)
	cmd.Flags().Lookup("lenient").Usage = "let unknown globals pass (exit 0 unless a dangerous one is found): the behaviour before allowlists"
	cmd.Flags().Int64Var(&opts.MaxInflate, "max-inflate", 0, "bytes inflated from compressed zip records in the whole run (default 1 GiB)")
	cmd.Flags().BoolVar(&strict, "strict", false, "unknown globals fail the scan (the default now; kept for old scripts)")
	cmd.Flags().MarkHidden("strict")
	return cmd
}

func runScan(c *cobra.Command, o *ScanOptions) error {
	policy := o.policy()
	doc, err := scan.Paths(c.Context(), o.Paths, scan.Options{Policy: policy, Budget: &scan.Budget{MaxInflate: o.MaxInflate}})
	if err != nil {
		return err
	}
	for _, r := range doc.Files {
		if r.Error != "" {
			fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: %s\n", output.OneLine(r.Error))
		}
	}
	if hint := report.AllowHint(doc); hint != "" {
		output.Fprintw(o.Streams.ErrOut, o.Streams.Width, "  ", "ckptinspect: %s", hint)
	}
	if err := report.WriteScan(o.Streams.Out, o.Format, doc, o.All, o.text()); err != nil {
		return err
	}
	if doc.Summary.ExitCode != ExitOK {
		return &ExitError{Code: doc.Summary.ExitCode}
	}
	return nil
}
