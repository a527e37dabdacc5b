// Package cli implements the ckptinspect command line: one constructor per
// command, each taking the I/O streams and an options struct, and the one
// place where errors become exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ckptinspect/ckptinspect/internal/buildinfo"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/suggest"
	"github.com/ckptinspect/ckptinspect/internal/term"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // success
	ExitFindings = 1 // the command ran and found problems (verify errors, dangerous pickles)
	ExitInput    = 2 // an input could not be read: missing, unreadable, malformed, not a checkpoint
	ExitUsage    = 3 // bad command line
	ExitInternal = 4 // a bug: please report it
)

// Streams are the command's standard streams.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrIsTerminal reports whether ErrOut is a terminal (for progress
	// bars).
	ErrIsTerminal bool
	// Width is the columns tables on Out may use: the terminal's width,
	// or $COLUMNS; 0 for no bound.
	Width int
}

// System returns the process's standard streams.
func System() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTerminal: term.IsTerminal(os.Stderr), Width: term.Width(os.Stdout)}
}

// ExitError carries an exit code with an error. A nil Err means the
// command already reported what it found and only the code matters.
type ExitError struct {
	Code int
	Err  error
	// Hint is printed on a line of its own after the error: what to do.
	Hint string
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// inputError marks err as a problem with an input (exit code 2); an
// interruption stays one.
func inputError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return &ExitError{Code: ExitInput, Err: err}
}

// usageError marks a bad command line (exit code 3).
func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// NewRoot builds the command tree.
func NewRoot(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "ckptinspect",
		Short: "Inspect PyTorch and DeepSpeed checkpoints without Python",
		Long: `ckptinspect opens PyTorch (torch.save) files and DeepSpeed checkpoints natively,
never executing pickle code, and reports what is inside them: the object tree,
exact per-tensor statistics, and per-parameter AdamW state.`,
		Example: `  ckptinspect ls model_states.pt
  ckptinspect stats testdata/sample/checkpoint-120
  ckptinspect stats fp32.pt --format json
  source <(ckptinspect completion bash)`,
		Version:            buildinfo.Version(),
		SilenceUsage:       true,
		SilenceErrors:      true,
		DisableSuggestions: true,
		Args:               unknownCommand,
		RunE:               func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(NewLsCmd(s, nil), NewStatsCmd(s, nil), NewScanCmd(s, nil), NewVerifyCmd(s, nil), NewDiffCmd(s, nil), NewReportCmd(s, nil),
		NewHistCmd(s, nil), NewSeriesCmd(s, nil), NewMergeCmd(s, nil), NewExportCmd(s, nil), newVersionCmd(s))
	addCompletions(root)
	return root
}

// Main runs the command line args and returns the exit code. An error is
// printed to s.ErrOut on one line; what to do (a suggestion, the help to
// read) follows on lines of its own.
func Main(args []string, s Streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitInternal
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	case isUsage(err):
		code = ExitUsage
	case errors.Is(err, context.Canceled):
		code = 130
	case errors.As(err, new(*fs.PathError)):
		code = ExitInput // a file (standard output, say) could not be read or written
	}
	fmt.Fprintf(s.ErrOut, "ckptinspect: %s\n", output.OneLine(err.Error()))
	if ee != nil && ee.Hint != "" {
		fmt.Fprintln(s.ErrOut, ee.Hint)
	}
	if code == ExitUsage {
		cmd := "ckptinspect"
		if c, _, err := root.Find(args); err == nil && c != root {
			cmd = c.CommandPath()
		}
		fmt.Fprintf(s.ErrOut, "Run '%s --help' for usage.\n", cmd)
	}
	return code
}

// isUsage recognises cobra's own argument errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// args checks a command's positional arguments, named by names (a last
// name ending in "..." takes one or more): the error names the first
// missing one ("stats: missing PATH") or the first one too many.
func args(names ...string) cobra.PositionalArgs {
	return func(c *cobra.Command, got []string) error {
		more := len(names) > 0 && strings.HasSuffix(names[len(names)-1], "...")
		if len(names) == 0 && len(got) > 0 {
			return usageError("%s: unexpected argument %q (it takes none)", c.Name(), got[0])
		}
		if len(got) < len(names) {
			return usageError("%s: missing %s", c.Name(), strings.TrimSuffix(names[len(got)], "..."))
		}
		if len(got) > len(names) && !more {
			return usageError("%s: unexpected argument %q (it takes %s)", c.Name(), got[len(names)], strings.Join(names, " "))
		}
		return nil
	}
}

// unknownCommand rejects a mistyped command, with the commands it was
// probably meant to be.
func unknownCommand(c *cobra.Command, got []string) error {
	if len(got) == 0 {
		return nil
	}
	var names []string
	for _, sub := range c.Commands() {
		names = append(names, sub.Name())
	}
	e := &ExitError{Code: ExitUsage, Err: fmt.Errorf("unknown command %q", got[0])}
	if s := suggest.Similar(got[0], names, 3); len(s) > 0 {
		e.Hint = "Did you mean: ckptinspect " + strings.Join(s, ", ckptinspect ") + "?"
	}
	return e
}

// flagError turns cobra's flag errors into usage errors, with the flags an
// unknown one was probably meant to be.
func flagError(c *cobra.Command, err error) error {
	e := &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", c.Name(), err)}
	if name, ok := strings.CutPrefix(err.Error(), "unknown flag: "); ok {
		var flags []string
		c.Flags().VisitAll(func(f *pflag.Flag) { flags = append(flags, "--"+f.Name) })
		if s := suggest.Similar(name, flags, 3); len(s) > 0 {
			e.Hint = "Did you mean " + strings.Join(s, " or ") + "?"
		}
	}
	return e
}
