package cli

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/shard"
)

// MergeOptions are the inputs of `ckptinspect merge`.
type MergeOptions struct {
	Streams Streams
	Paths   []string
	Format  string // "" for the command's default
	Output  string
	Wide    bool
}

// NewMergeCmd builds `ckptinspect merge`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewMergeCmd(s Streams, runF func(*MergeOptions) error) *cobra.Command {
	opts := &MergeOptions{Streams: s}
	cmd := &cobra.Command{
		Use:   "merge PART...|DIR",
		Short: "Put together the parts of a split stats, verify, series or diff: the output of one run",
		Long: `Read the part files of a split scan (written by stats, verify, series or diff
run with --shard I/N, one task per part, e.g. a Slurm job array) and print what
one run of the command would have printed: the same figures, bit for bit, in any
--format. A folder stands for every *.json file in it.

First the parts are checked to make one whole: the same command line, build,
kernels and split, each part exactly once (a missing or duplicated part is named),
and the same input files, as each task saw them (sizes and modification times,
checked by each task after its scan too). Then the checkpoint's metadata is read
(no tensor data) and its files checked again: a file changed since the parts were
written makes them stale, and they are refused with the file named. Run merge
in the folder the tasks ran in (their relative paths are relative to it).

Exit status: that of the command (verify: 1 when errors were found), 2 when the
parts do not make a whole, are stale, or a file cannot be read.`,
		Example: `  ckptinspect merge parts/ --format json
  ckptinspect merge parts/stats.part-*-of-16.json -o stats.csv --format csv
  ckptinspect merge verify-parts/ ; echo "verify exit status: $?"`,
		Args: args("PART..."),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if runF != nil {
				return runF(opts)
			}
			return runMerge(c, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "", "output format: those of the command (default: its default)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (atomically; kept when verify found errors) instead of standard output")
	cmd.Flags().BoolVar(&opts.Wide, "wide", false, "tables: full parameter names and every column")
	return cmd
}

// runMerge runs the parts' command line with the parts' results in place
// of its scan.
func runMerge(c *cobra.Command, o *MergeOptions) error {
	set, err := shard.Load(o.Paths)
	if err != nil {
		return inputError(err)
	}
	out, commit, err := output.Create(o.Streams.Out, o.Output)
	if err != nil {
		return err
	}
	s := o.Streams
	s.Out = out
	var extra []string
	if o.Format != "" {
		extra = append(extra, "--format", o.Format)
	}
	if o.Wide {
		extra = append(extra, "--wide")
	}
	if o.Output != "" && set.Command() == "series" {
		extra = append(extra, "-o", "-")
	}
	var cmd *cobra.Command
	switch set.Command() {
	case "stats":
		cmd = NewStatsCmd(s, func(x *StatsOptions) error { x.merged = set; return runStats(cmd, x) })
	case "verify":
		cmd = NewVerifyCmd(s, func(x *VerifyOptions) error { x.merged = set; return runVerify(cmd, x) })
	case "series":
		cmd = NewSeriesCmd(s, func(x *SeriesOptions) error { x.merged = set; return runSeries(cmd, x) })
	case "diff":
		cmd = NewDiffCmd(s, func(x *DiffOptions) error { x.merged = set; return runDiff(cmd, x) })
	default:
		return commit(inputError(fmt.Errorf("%s: parts of %q, which merge does not know", set.Parts[0].File(), set.Command())))
	}
	cmd.SetArgs(set.CommandLine(extra...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(c.Context())
	if ee := (*ExitError)(nil); errors.As(err, &ee) && ee.Code == ExitFindings && ee.Err == nil {
		return cmp.Or(commit(nil), err) // the findings are whole: keep them
	}
	return commit(err)
}
