package cli

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/shard"
)

// commonFlags are the flags most commands share: --format, -j and --wide.
// Each command's options embed it; register adds the flags, parse checks
// them once the command line is read.
type commonFlags struct {
	Streams Streams
	Format  output.Format
	Jobs    int
	Wide    bool // print tables at their full width, names unshortened
	// Allow: more pickle globals judged safe (never a dangerous one); Lenient lets unknown ones pass.
	Allow              []string
	Lenient            bool
	format             string
	hasJobs, hasFormat bool // -j and --format added (series has a --format of its own)

	// A split scan: cmd has --shard (addShard); part is set when the
	// command writes a part file (--shard I/N, --format part), merged when
	// ckptinspect merge runs the command over parts.
	cmd    *cobra.Command
	shard  string
	part   *shard.Task
	merged *shard.Set
}

// addShard adds --shard: the command can do one part of a split scan.
func (f *commonFlags) addShard(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringVar(&f.shard, "shard", "", "do part I of N of the work and write it as a part file for ckptinspect merge: I/N (from 0), or auto in a Slurm array task (implies --format part)")
}

// parsePart sets up the part file the command writes with --shard or
// --format part (format is the --format value).
func (f *commonFlags) parsePart(format string) error {
	if f.cmd == nil || (format != "part" && f.shard == "") {
		return nil
	}
	if format != "part" && f.cmd.Flags().Changed("format") {
		return usageError("--shard writes a part file for ckptinspect merge: --format part (or none), not %s", format)
	}
	var err error
	flags := shard.FlagArgs(f.cmd.Flags(), "shard", "format", "jobs", "output", "wide")
	if f.part, err = shard.NewTask(f.cmd.Name(), f.cmd.Flags().Args(), flags, f.shard, os.Getenv); err != nil {
		return usageError("%v", err)
	}
	return nil
}

// addScanFlags adds the flags of a command scanning whole checkpoints:
// --shard, --format, --allow, --lenient, -j and --wide.
func (f *commonFlags) addScanFlags(cmd *cobra.Command) {
	f.addShard(cmd)
	f.addFormat(cmd)
	f.addPolicy(cmd)
	f.addJobs(cmd)
	f.addWide(cmd)
}

// addPolicy adds --allow and --lenient, for the commands that read pickles.
func (f *commonFlags) addPolicy(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.Allow, "allow", nil, "also judge safe this pickle global: module.Name or module.* (repeatable; never overrides dangerous)")
	cmd.Flags().BoolVar(&f.Lenient, "lenient", false, "read pickles with globals not known as data (dangerous ones are still refused)")
}

// policy returns the pickle policy of --allow and --lenient.
func (f *commonFlags) policy() pickle.Policy {
	return pickle.Policy{Allow: f.Allow, Lenient: f.Lenient}
}

// addWide adds --wide.
func (f *commonFlags) addWide(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.Wide, "wide", false, "print full parameter names and every column, whatever the terminal's width")
}

// text returns how tables are fitted: to the terminal's width (or
// $COLUMNS) unless --wide, with remarks to standard error.
func (f *commonFlags) text() report.Text {
	t := report.Text{Width: f.Streams.Width, Note: func(s string) { output.Fprintw(f.Streams.ErrOut, f.Streams.Width, "  ", "ckptinspect: note: %s", s) }}
	if f.Wide {
		t.Width = 0
	}
	return t
}

// addFormat adds --format.
func (f *commonFlags) addFormat(cmd *cobra.Command) {
	f.hasFormat = true
	help := "output format: table, json or csv"
	if f.cmd != nil {
		help += " (part: a part file, see --shard)"
	}
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", help)
}

// addJobs adds -j/--jobs.
func (f *commonFlags) addJobs(cmd *cobra.Command) {
	f.hasJobs = true
	cmd.Flags().IntVarP(&f.Jobs, "jobs", "j", runtime.NumCPU(), "number of parallel workers")
}

// parse checks the values of the flags added.
func (f *commonFlags) parse() error {
	if f.format == "" {
		f.format = "table"
	}
	if f.hasJobs && f.Jobs < 0 {
		return usageError("-j must be positive")
	}
	for _, a := range f.Allow {
		if err := pickle.CheckAllow(a); err != nil {
			return usageError("--allow %q: want module.Name or module.*", a)
		}
	}
	if f.hasFormat {
		if err := f.parsePart(f.format); err != nil || f.part != nil {
			return err
		}
	}
	format, err := output.ParseFormat(f.format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	f.Format = format
	return nil
}

// selectFlags choose and order the parameters of a report: --filter,
// --sort, --top and --group-by.
type selectFlags struct {
	Filter  string
	Sort    string
	Top     int
	GroupBy string
	re      *regexp.Regexp
}

// add adds the flags; sortHelp lists the --sort fields.
func (s *selectFlags) add(cmd *cobra.Command, sortHelp string) {
	cmd.Flags().StringVar(&s.Filter, "filter", "", "only parameters whose name matches this regular expression")
	cmd.Flags().StringVar(&s.Sort, "sort", "", "sort parameters by a field: "+sortHelp)
	cmd.Flags().IntVar(&s.Top, "top", 0, "show only the first N parameters (after --sort)")
	cmd.Flags().StringVar(&s.GroupBy, "group-by", "", `aggregate parameters: "layer" (per transformer layer)`)
}

// parse checks the flags: validSort tells the command's --sort fields,
// names lists them for the error.
func (s *selectFlags) parse(validSort func(string) bool, names string) error {
	if s.Filter != "" {
		re, err := regexp.Compile(s.Filter)
		if err != nil {
			return usageError("--filter: %v", err)
		}
		s.re = re
	}
	if s.Sort != "" && s.Sort != "name" && !validSort(s.Sort) {
		return usageError("--sort %q: unknown field (want one of %s)", s.Sort, names)
	}
	if s.Top < 0 {
		return usageError("--top must not be negative")
	}
	if s.GroupBy != "" && s.GroupBy != "layer" {
		return usageError("--group-by %q: only \"layer\" is supported", s.GroupBy)
	}
	return nil
}

// set reports whether any of the flags was given.
func (s *selectFlags) set() bool {
	return s.Filter != "" || s.Sort != "" || s.Top != 0 || s.GroupBy != ""
}

// noMatch says on w that --filter matched none of a checkpoint's
// parameters (matched of them).
func (s *selectFlags) noMatch(w io.Writer, cp *ckpt.Checkpoint, matched int) {
	if s.re != nil && matched == 0 {
		fmt.Fprintf(w, "ckptinspect: --filter %q matches none of the %d parameters of %s\n", s.Filter, len(cp.Params), cp.Path)
	}
}

// matcher returns match, or nil when there is no --filter.
func (s *selectFlags) matcher() func(string) bool {
	if s.re == nil {
		return nil
	}
	return s.re.MatchString
}

// layoutFlag adds --layout to a command reading checkpoint folders.
func layoutFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "layout", "", `checkpoint layout: "universal", "zero", "safetensors" or "pytorch" (default: detect; a folder with both a universal checkpoint and ZeRO shards is read as universal)`)
}

// checkLayouts checks --layout values: names of the layout registry.
func checkLayouts(names ...string) error {
	for _, n := range names {
		if n == "" {
			continue
		}
		if _, err := layout.Lookup(n); err != nil {
			return usageError("--layout: %v", err)
		}
	}
	return nil
}
