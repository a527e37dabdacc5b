package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/resume"
	"github.com/ckptinspect/ckptinspect/verify"
)

// Verification is the document `ckptinspect verify --format json` prints.
type Verification struct {
	Findings []FindingInfo `json:"findings"`
	Summary  VerifySummary `json:"summary"`
	// Resume is the plan of verify --resume (resume.Plan), absent
	// otherwise.
	Resume *resume.Plan `json:"resume,omitempty"`
}

// FindingInfo is one problem found by verify.
type FindingInfo struct {
	Check    string `json:"check"`
	Severity string `json:"severity"` // "error" or "warning"
	// Layout names the copy the finding is about when the folder holds
	// several (summary.checked); "" otherwise.
	Layout  string `json:"layout"`
	Param   string `json:"param"`
	File    string `json:"file"`
	Message string `json:"message"`
	// Fix says what to do about a finding of verify --resume.
	Fix string `json:"fix,omitempty"`
}

// VerifySummary sums up a verification. Layout, tag and step are the
// first checked copy's; params are its parameters; files and bytes count
// every copy.
type VerifySummary struct {
	Path         string `json:"path"`
	Layout       string `json:"layout"`
	Tag          string `json:"tag"`
	Step         *int64 `json:"step"`
	Params       int    `json:"params"`
	Files        int    `json:"files"`
	BytesScanned int64  `json:"bytes_scanned"`
	Deep         bool   `json:"deep"`
	BytesDeep    int64  `json:"bytes_deep"`
	Errors       int    `json:"errors"`
	Warnings     int    `json:"warnings"`
	// Config names the model config the scale factors were checked under
	// ("" when none was found: only their names were checked).
	Config string `json:"config"`
	// OK is true when there is no error (warnings allowed).
	OK bool `json:"ok"`
	// Checked lists what was checked: every copy of the checkpoint the
	// folder holds (what a resume reads), each cross-checked with the
	// first.
	Checked []CheckedCopy `json:"checked"`
	// Notes say how the path was read (a run folder's last checkpoint).
	Notes []string `json:"notes"`
}

// CheckedCopy is one copy verify checked: its layout and tag, the files
// and parameters checked, its header (as stats gives it) and health, and
// the checks that did not apply.
type CheckedCopy struct {
	Layout       string         `json:"layout"`
	Tag          string         `json:"tag"`
	Files        int            `json:"files"`
	Params       int            `json:"params"`
	BytesScanned int64          `json:"bytes_scanned"`
	Skipped      []SkippedCheck `json:"skipped"`
	Checkpoint   CheckpointInfo `json:"checkpoint"`
	Health       Summary        `json:"health"`
}

// SkippedCheck is a check that did not apply, and why.
type SkippedCheck struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// BuildVerification turns verify's checks of a target into the document
// verify prints.
func BuildVerification(path string, deep bool, tg *verify.Target, tr *verify.TargetReport) Verification {
	doc := Verification{Findings: []FindingInfo{}, Summary: VerifySummary{Path: path, Deep: deep, Errors: tr.Errors, Warnings: tr.Warnings,
		Checked: []CheckedCopy{}, Notes: []string{}}}
	if tg.Note != "" {
		doc.Summary.Notes = append(doc.Summary.Notes, tg.Note)
	}
	for _, f := range tr.Findings {
		doc.Findings = append(doc.Findings, FindingInfo{Check: string(f.Check), Severity: f.Severity.String(), Layout: f.Layout,
			Param: f.Param, File: f.File, Message: f.Message})
	}
	s := &doc.Summary
	for i, c := range tg.Copies {
		r := tr.Copies[i]
		if i == 0 {
			s.Layout, s.Tag, s.Step, s.Params, s.Config = c.Layout, c.Tag, c.Step, r.Params, r.Config
		}
		s.Files += r.Files
		s.BytesScanned += r.BytesScanned
		s.BytesDeep += r.BytesDeep
		cc := CheckedCopy{Layout: c.Layout, Tag: c.Tag, Files: r.Files, Params: r.Params, BytesScanned: r.BytesScanned,
			Skipped: []SkippedCheck{}, Checkpoint: CheckpointInfoOf(c), Health: summaryOf(r)}
		for _, sk := range r.Skipped {
			cc.Skipped = append(cc.Skipped, SkippedCheck{Check: string(sk.Check), Reason: sk.Reason})
		}
		s.Checked = append(s.Checked, cc)
	}
	return doc
}

// summaryOf converts the value scan's summary of a verify report.
func summaryOf(r *verify.Report) Summary {
	s := r.Summary
	out := Summary{Step: s.Step, Params: s.Params, Numel: s.Numel, BytesScanned: s.BytesScanned,
		WeightNorm: output.Float(s.WeightNorm), ExpAvgNorm: output.Float(s.ExpAvgNorm),
		ExpAvgSqNorm: output.Float(s.ExpAvgSqNorm), BF16Norm: output.Float(s.BF16Norm), NaN: s.NaN, Inf: s.Inf,
		States: map[string]int{}, NonFinite: []string{}}
	for st, n := range s.States {
		out.States[string(st)] = n
	}
	for _, f := range r.Findings {
		if f.Check == ckpt.CheckNonFinite && !slices.Contains(out.NonFinite, f.Param) {
			out.NonFinite = append(out.NonFinite, f.Param)
		}
	}
	return out
}

// WriteVerification writes verify's findings and summary in the given
// output format.
func WriteVerification(w io.Writer, f output.Format, doc Verification, t Text) error {
	doc.Summary.OK = doc.Summary.Errors == 0
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"check", "severity", "param", "file", "message", "layout", "fix"}}
		for _, f := range doc.Findings {
			tw.Add(f.Check, f.Severity, f.Param, f.File, f.Message, f.Layout, f.Fix)
		}
		return tw.WriteCSV(w)
	}
	return writeVerifyText(w, doc, t)
}

// skippedText groups skipped checks by reason.
func skippedText(sk []SkippedCheck) string {
	var reasons []string
	by := map[string][]string{}
	for _, s := range sk {
		if by[s.Reason] == nil {
			reasons = append(reasons, s.Reason)
		}
		by[s.Reason] = append(by[s.Reason], s.Check)
	}
	var parts []string
	for _, r := range reasons {
		ids := by[r]
		if len(ids) > 3 {
			parts = append(parts, fmt.Sprintf("%d checks of optimizer state (%s)", len(ids), r))
			continue
		}
		parts = append(parts, strings.Join(ids, ", ")+" ("+r+")")
	}
	return strings.Join(parts, "; ")
}

func writeVerifyText(w io.Writer, doc Verification, t Text) error {
	ew, check := guard(w)
	return check(writeVerifyTextBody(ew, doc, t))
}

func writeVerifyTextBody(w io.Writer, doc Verification, t Text) error {
	s := doc.Summary
	for _, n := range s.Notes {
		t.printf(w, "    ", "note: %s", n)
	}
	for i, c := range s.Checked {
		if i > 0 {
			fmt.Fprintln(w)
		}
		t.writeHeader(w, c.Checkpoint)
		errs, warns := 0, 0
		for _, f := range doc.Findings {
			if f.Layout == "" || f.Layout == c.Layout {
				switch f.Severity {
				case "error":
					errs++
				case "warning":
					warns++
				}
			}
		}
		t.health(w, c.Health, fmt.Sprintf("%d errors, %d warnings", errs, warns))
		if len(c.Skipped) > 0 {
			t.printf(w, "    ", "  not checked: %s", skippedText(c.Skipped))
		}
	}
	fmt.Fprintln(w)
	if doc.Resume != nil {
		t.writeResumePlan(w, doc.Resume)
		fmt.Fprintln(w)
	}
	var check string
	for _, f := range doc.Findings {
		if f.Check != check {
			check = f.Check
			n := 0
			for _, g := range doc.Findings {
				if g.Check == check {
					n++
				}
			}
			fmt.Fprintf(w, "%s  %s (%d)\n", check, f.Severity, n)
		}
		where := ""
		if f.Layout != "" {
			where = "[" + f.Layout + "] "
		}
		t.printf(w, "    ", "  %s%s", where, f.Message)
		if f.File != "" {
			t.printf(w, "      ", "    file: %s", f.File)
		}
		if f.Fix != "" {
			t.printf(w, "      ", "    fix: %s", f.Fix)
		}
	}
	if len(doc.Findings) > 0 {
		fmt.Fprintln(w)
	}
	verdict := "OK"
	if s.Errors > 0 {
		verdict = "FAILED"
	}
	var copies []string
	var nan, inf int64
	for _, c := range s.Checked {
		copies = append(copies, fmt.Sprintf("%s %s (%d parameters, %d files)", c.Layout, c.Tag, c.Params, c.Files))
		nan += c.Health.NaN
		inf += c.Health.Inf
	}
	checked := "nothing could be checked"
	switch len(copies) {
	case 1:
		checked = "checked " + copies[0]
	case 2:
		checked = "checked " + copies[0] + " and " + copies[1] + ", cross-checked"
	default:
		if len(copies) > 2 {
			checked = "checked " + strings.Join(copies, ", ") + ", cross-checked"
		}
	}
	deep := ""
	if s.Deep {
		deep = fmt.Sprintf(", CRC-32 of %s checked", output.Bytes(s.BytesDeep))
	}
	step := ""
	if s.Step != nil {
		step = fmt.Sprintf("; step %d", *s.Step)
	}
	health := ""
	if len(s.Checked) > 0 {
		health = "; " + norms(s.Checked[0].Health)
	}
	t.printf(w, "  ", "verify %s: %s: %d errors, %d warnings; %s%s; %s scanned%s; NaN %s, Inf %s%s",
		verdict, s.Path, s.Errors, s.Warnings, checked, step, output.Bytes(s.BytesScanned), deep, output.Count(nan), output.Count(inf), health)
	return nil
}
