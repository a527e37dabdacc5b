package report

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/resume"
)

// AddResume adds verify --resume's plan and findings to a verification:
// the findings after verify's own (each with its fix), the counts, and
// the plan under "resume".
//
// A pointer file naming a missing folder (structure.latest) that the
// planned resume does not read — latest when it loads the universal
// checkpoint, latest_universal when it does not — becomes a warning: the
// resume the configuration describes is not affected.
func AddResume(doc *Verification, p *resume.Plan) {
	doc.Resume = p
	unread := "latest"
	if !p.Load.LoadUniversal {
		unread = "latest_universal"
	}
	for i, f := range doc.Findings {
		if f.Check == string(ckpt.CheckLatest) && f.Severity == "error" && filepath.Base(f.File) == unread {
			doc.Findings[i].Severity = "warning"
			doc.Findings[i].Message += fmt.Sprintf(" (the planned resume does not read %s: load_universal is %v)", unread, p.Load.LoadUniversal)
			doc.Summary.Errors--
			doc.Summary.Warnings++
		}
	}
	for _, f := range p.Findings {
		doc.Findings = append(doc.Findings, FindingInfo{Check: string(f.Check), Severity: f.Severity.String(), Param: f.Param,
			File: f.File, Message: f.Message, Fix: f.Fix})
	}
	doc.Summary.Errors += p.Errors
	doc.Summary.Warnings += p.Warnings
}

// writeResumePlan writes the plan's main lines: what will be loaded, the
// batch and where its numbers came from, the optimizer settings, the
// scheduler's position, and the notes.
func (t Text) writeResumePlan(w io.Writer, p *resume.Plan) {
	L := p.Load
	fmt.Fprintln(w, "resume plan:")
	found := "found"
	if !L.TagFound {
		found = "NOT FOUND"
	}
	t.printf(w, "    ", "  loads %s (%s, %s) with load_universal %v (%s)", L.Tag, L.Layout, found, L.LoadUniversal, L.From)
	if ta := p.TrainingArgs; ta != nil {
		t.printf(w, "    ", "  training arguments: %s", ta.Summary())
	}
	b := p.Batch
	if b.Global != nil {
		line := fmt.Sprintf("  global batch %d = %s per device x %s ranks x %s accumulation", b.Global.Value, intFrom(b.PerDevice), intFrom(b.WorldSize), intFrom(b.GradAccum))
		if b.Checkpoint != nil {
			line += fmt.Sprintf("; the checkpoint's %d (%s)", b.Checkpoint.Value, b.Checkpoint.From)
		}
		t.printf(w, "    ", "%s", line)
	}
	s := p.Scheduler
	if s.Checkpoint != "" {
		t.printf(w, "    ", "  scheduler: saved %s, resumed %s", s.Checkpoint, s.Resume)
	}
	for _, n := range p.Notes {
		t.printf(w, "    ", "  note: %s", n)
	}
}

func intFrom(v *resume.Int) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprintf("%d (%s)", v.Value, v.From)
}
