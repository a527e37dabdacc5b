// Package cli implements the ckptinspect command line: one constructor per
// command, each taking the I/O streams and an options struct, and the one
// place where errors become exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
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
}

// System returns the process's standard streams.
func System() Streams {
	return Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, ErrIsTerminal: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// ExitError carries an exit code with an error. A nil Err means the
// command already reported what it found and only the code matters.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// inputError marks err as a problem with an input (exit code 2).
func inputError(err error) error { return &ExitError{Code: ExitInput, Err: err} }

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
  ckptinspect stats fp32.pt --format json`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})
	root.AddCommand(NewLsCmd(s, nil), NewStatsCmd(s, nil))
	root.AddCommand(NewScanCmd(s, nil))
	root.AddCommand(NewVerifyCmd(s, nil))
	root.AddCommand(NewDiffCmd(s, nil), NewReportCmd(s, nil), NewHistCmd(s, nil))
	root.AddCommand(NewExportCmd(s, nil))
	return root
}

// Main runs the command line args and returns the exit code. Errors are
// printed to s.ErrOut, one line each.
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
	}
	fmt.Fprintf(s.ErrOut, "ckptinspect: %s\n", oneLine(err.Error()))
	if code == ExitUsage {
		fmt.Fprintln(s.ErrOut, "Run 'ckptinspect --help' for usage.")
	}
	return code
}

// isUsage recognises cobra's own argument errors.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
