package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/pickle"
)

// ScanOptions are the inputs of `ckptinspect scan`.
type ScanOptions struct {
	commonFlags
	Paths []string
	// Strict makes unknown globals fail the scan (exit code 1).
	Strict bool
	// Allow names more globals ("module.Name" or "module.*") to judge
	// safe; it cannot make a dangerous global safe.
	Allow []string
}

// NewScanCmd builds `ckptinspect scan`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewScanCmd(s Streams, runF func(*ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Find pickle globals that would run code when a checkpoint is loaded",
		Long: `List every global (class or function) the pickles of checkpoint files
reference, with how often and where, and judge each one: safe (tensors,
containers, numpy values, the DeepSpeed and Hugging Face data classes),
unknown, or dangerous (it runs code or touches the system when Python's
pickle, torch.load or DeepSpeed load the file: os.system, subprocess,
builtins.eval, getattr other than on a known enum class, ...).

Nothing is loaded: each pickle is only walked opcode by opcode.

PATH is a file — a torch.save zip file (every .pkl record is scanned), a
legacy torch.save file (its five pickles) or a plain pickle file (every
pickle up to the end) — or a folder, searched recursively for .pt, .pth,
.bin, .pkl, .ckpt, .pickle and .safetensors files. Symbolic links to files
are followed, symbolic links to folders are not. Storages pickled by value
(torch.storage._load_from_bytes) are torch.save files of their own and are
scanned in turn. A safetensors file holds no pickle; it is clean unless its
first bytes also start one (torch.load would run that).

Exit status: 0 when no dangerous global is found (unknown ones are allowed
unless --strict), 1 when one is (or an unknown one, with --strict), 2 when a
file cannot be read to its end and nothing dangerous was seen.`,
		Example: `  ckptinspect scan pytorch_model.bin
  ckptinspect scan ~/downloads/checkpoint-120
  ckptinspect scan --strict --format json model.pt | jq '.files[].globals[] | select(.verdict != "safe")'
  ckptinspect scan --allow 'mylib.config.*' runs/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			for _, a := range opts.Allow {
				if i := strings.LastIndexByte(a, '.'); i <= 0 || i == len(a)-1 {
					return usageError("--allow %q: want module.Name or module.*", a)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runScan(c, opts)
		},
	}
	opts.addFormat(cmd)
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail (exit 1) on unknown globals too")
	cmd.Flags().StringArrayVar(&opts.Allow, "allow", nil, "also judge safe this global: module.Name or module.* (repeatable; never overrides dangerous)")
	return cmd
}

func runScan(c *cobra.Command, o *ScanOptions) error {
	files, results, skipped := scanTargets(o.Paths)
	s := &scanner{policy: pickle.Policy{Extra: o.Allow}}
	for _, p := range files {
		if err := c.Context().Err(); err != nil {
			return err
		}
		results = append(results, s.scanFile(p))
	}
	sort.Slice(results, func(i, j int) bool { return results[i].path < results[j].path })
	sort.Slice(skipped, func(i, j int) bool { return skipped[i].Path < skipped[j].Path })
	doc := report.ScanReport{Files: make([]report.ScanFile, len(results)), Skipped: skipped}
	if doc.Skipped == nil {
		doc.Skipped = []report.ScanSkipped{}
	}
	for i, r := range results {
		doc.Files[i] = r.fileReport()
		if r.err != nil {
			fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: %s\n", oneLine(r.err.Error()))
		}
	}
	doc.Summary = scanSummary(doc.Files, o.Strict)
	var err error
	switch o.Format {
	case output.JSON:
		err = output.WriteJSON(o.Streams.Out, doc)
	case output.CSV:
		err = writeScanCSV(o.Streams.Out, doc)
	default:
		err = writeScanTable(o.Streams.Out, doc)
	}
	if err != nil {
		return err
	}
	if doc.Summary.ExitCode != ExitOK {
		return &ExitError{Code: doc.Summary.ExitCode}
	}
	return nil
}

// scanSummary aggregates file reports and decides the exit code: 1 if a
// dangerous global was found, else 2 if a file was unreadable, else 1 if
// an unknown global was found and strict is set, else 0.
func scanSummary(files []report.ScanFile, strict bool) report.ScanSummary {
	s := report.ScanSummary{Files: len(files), Strict: strict, Verdict: "clean"}
	for _, f := range files {
		s.Pickles += f.Pickles
		switch f.Verdict {
		case "clean":
			s.Clean++
		case "unknown":
			s.Unknown++
		case "dangerous":
			s.Dangerous++
		case "unreadable":
			s.Unreadable++
		}
		if verdictRank(f.Verdict) > verdictRank(s.Verdict) {
			s.Verdict = f.Verdict
		}
		for _, g := range f.Globals {
			switch g.Verdict {
			case "safe":
				s.Globals.Safe++
			case "unknown":
				s.Globals.Unknown++
			case "dangerous":
				s.Globals.Dangerous++
			}
		}
	}
	switch {
	case s.Dangerous > 0:
		s.ExitCode = ExitFindings
	case s.Unreadable > 0:
		s.ExitCode = ExitInput
	case s.Unknown > 0 && strict:
		s.ExitCode = ExitFindings
	}
	return s
}

// whereText formats the first references of a global: "pickle@offset",
// with the pickle name left out when it repeats, and "+N" for the ones not
// listed.
func whereText(g report.ScanGlobal, limit int) string {
	var parts []string
	last := ""
	for i, w := range g.Where {
		if i == limit {
			break
		}
		if w.Pickle == last {
			parts = append(parts, "@"+strconv.FormatInt(w.Offset, 10))
		} else {
			parts = append(parts, w.Pickle+"@"+strconv.FormatInt(w.Offset, 10))
		}
		last = w.Pickle
	}
	s := strings.Join(parts, " ")
	if n := g.Count - min(limit, len(g.Where)); n > 0 {
		s += fmt.Sprintf(" +%d", n)
	}
	return s
}

func writeScanTable(w io.Writer, doc report.ScanReport) error {
	var b strings.Builder
	for _, f := range doc.Files {
		fmt.Fprintf(&b, "%s: %s", f.Path, strings.ToUpper(f.Verdict))
		var info []string
		if f.Format != "" {
			info = append(info, f.Format)
		}
		info = append(info, plural(f.Pickles, "pickle"), plural(len(f.Globals), "global"))
		fmt.Fprintf(&b, " (%s)\n", strings.Join(info, ", "))
		if f.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", f.Error)
		}
		if len(f.Globals) > 0 {
			tw := output.TableWriter{Headers: []string{"  verdict", "count", "global", "where", "reason"},
				Align: []output.Align{output.Left, output.Right}}
			for _, g := range f.Globals {
				tw.Add("  "+g.Verdict, strconv.Itoa(g.Count), g.Module+"."+g.Name, whereText(g, 3), g.Reason)
			}
			var tb strings.Builder
			if err := tw.WriteText(&tb); err != nil {
				return err
			}
			for _, line := range strings.SplitAfter(tb.String(), "\n") {
				if line != "" {
					b.WriteString(strings.TrimRight(line, " \n") + "\n")
				}
			}
		}
	}
	for _, s := range doc.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Path, s.Reason)
	}
	s := doc.Summary
	if len(doc.Files) > 0 || len(doc.Skipped) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "scanned %s (%s): %d clean, %d unknown, %d dangerous, %d unreadable",
		plural(s.Files, "file"), plural(s.Pickles, "pickle"), s.Clean, s.Unknown, s.Dangerous, s.Unreadable)
	if s.Strict {
		b.WriteString(" (strict)")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeScanCSV(w io.Writer, doc report.ScanReport) error {
	tw := output.TableWriter{Headers: []string{"path", "format", "file_verdict", "module", "name", "verdict", "count", "where", "reason", "error"}}
	for _, f := range doc.Files {
		if len(f.Globals) == 0 {
			tw.Add(f.Path, f.Format, f.Verdict, "", "", "", "", "", "", f.Error)
		}
		for _, g := range f.Globals {
			tw.Add(f.Path, f.Format, f.Verdict, g.Module, g.Name, g.Verdict, strconv.Itoa(g.Count),
				whereText(g, maxWhere), g.Reason, f.Error)
		}
	}
	return tw.WriteCSV(w)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
