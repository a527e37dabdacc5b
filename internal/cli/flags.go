package cli

import (
	"regexp"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
)

// commonFlags are the flags most commands share: --format and -j. Each
// command's options embed it; register adds the flags, parse checks them
// once the command line is read.
type commonFlags struct {
	Streams Streams
	Format  output.Format
	Jobs    int
	format  string
	hasJobs bool
}

// addFormat adds --format.
func (f *commonFlags) addFormat(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.format, "format", "f", "table", "output format: table, json or csv")
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
	format, err := output.ParseFormat(f.format)
	if err != nil {
		return usageError("%v", err)
	}
	f.Format = format
	if f.hasJobs && f.Jobs < 0 {
		return usageError("-j must be positive")
	}
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

// match reports whether a parameter name passes --filter.
func (s *selectFlags) match(name string) bool { return s.re == nil || s.re.MatchString(name) }

// matcher returns match, or nil when there is no --filter.
func (s *selectFlags) matcher() func(string) bool {
	if s.re == nil {
		return nil
	}
	return s.match
}

// layoutFlag adds --layout to a command reading checkpoint folders.
func layoutFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "layout", "", `checkpoint layout: "universal", "zero" or "safetensors" (default: detect; a folder with both a universal checkpoint and ZeRO shards is read as universal)`)
}
