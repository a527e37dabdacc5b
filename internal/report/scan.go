package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/scan"
)

// maxWhere is the number of references the CSV lists per global.
const maxWhere = 16

// WriteScan writes a scan report in the given output format. The text
// gives the summary first, then only the files that are not clean (all
// of them with all), each with its globals; JSON and CSV are complete.
func WriteScan(w io.Writer, f output.Format, doc scan.Report, all bool, t Text) error {
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
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
	return writeScanText(w, doc, all, t)
}

func writeScanText(w io.Writer, doc scan.Report, all bool, t Text) error {
	s := doc.Summary
	notCkpt := 0
	for _, sk := range doc.Skipped {
		if strings.HasPrefix(sk.Reason, "not a checkpoint") || sk.Reason == "empty file" {
			notCkpt++
		}
	}
	line := fmt.Sprintf("scanned %s (%s): %d clean, %d unknown, %d dangerous, %d unreadable",
		plural(s.Files, "file"), plural(s.Pickles, "pickle"), s.Clean, s.Unknown, s.Dangerous, s.Unreadable)
	if s.LookedAt != s.Files {
		line += fmt.Sprintf("; looked at %s, skipped %d that no loader reads as a checkpoint", plural(s.LookedAt, "file"), notCkpt)
	}
	if s.Lenient {
		line += " (lenient)"
	}
	t.printf(w, "  ", "%s", line)
	hidden := 0
	for _, f := range doc.Files {
		if f.Verdict == "clean" && !all {
			hidden++
			continue
		}
		info := []string{}
		if f.Format != "" {
			info = append(info, f.Format)
		}
		info = append(info, plural(f.Pickles, "pickle"), plural(len(f.Globals), "global"))
		fmt.Fprintln(w)
		t.printf(w, "  ", "%s: %s (%s)", f.Path, strings.ToUpper(f.Verdict), strings.Join(info, ", "))
		if f.Error != "" {
			t.printf(w, "    ", "  error: %s", f.Error)
		}
		if len(f.Globals) > 0 {
			tw := &output.TableWriter{Headers: []string{"  verdict", "count", "global", "where", "reason"},
				Align: []output.Align{output.Left, output.Right}, Elastic: 2, MinElastic: 24, Drop: []int{0, 2, 0, 3, 1}}
			for _, g := range f.Globals {
				tw.Add("  "+g.Verdict, strconv.Itoa(g.Count), g.Module+"."+g.Name, whereText(g, 3), g.Reason)
			}
			if err := t.table(w, tw); err != nil {
				return err
			}
		}
	}
	for _, sk := range doc.Skipped {
		if !strings.HasPrefix(sk.Reason, "not a checkpoint") && sk.Reason != "empty file" {
			t.printf(w, "  ", "skipped %s: %s", sk.Path, sk.Reason)
		}
	}
	if hidden > 0 {
		fmt.Fprintln(w)
		t.printf(w, "  ", "%s not listed (--all lists them)", plural(hidden, "clean file"))
	}
	return nil
}

// whereText formats the first references of a global: "pickle@offset",
// with the pickle name left out when it repeats, and "+N" for the ones not
// listed.
func whereText(g scan.Global, limit int) string {
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

// AllowHint returns the remark for standard error when a scan found
// globals not known as data: which --allow flags would let them pass (the
// first eight), or "" when there are none or the scan was lenient.
func AllowHint(doc scan.Report) string {
	if doc.Summary.Lenient {
		return ""
	}
	seen := map[string]bool{}
	var unknown []string
	for _, r := range doc.Files {
		for _, g := range r.Globals {
			if n := g.Module + "." + g.Name; g.Verdict == "unknown" && !seen[n] {
				seen[n] = true
				unknown = append(unknown, n)
			}
		}
	}
	if len(unknown) == 0 {
		return ""
	}
	sort.Strings(unknown)
	hint := ""
	for i, u := range unknown {
		if i == 8 {
			hint += " ..."
			break
		}
		hint += " --allow " + u
	}
	return fmt.Sprintf("%s not known as data; if you trust the code that defines them:%s (or --lenient)", plural(len(unknown), "global"), hint)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
