package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// Target is what a resume from a path reads: every layout the folder holds
// (a Hugging Face Trainer folder may hold ZeRO shards, read through
// latest, and their universal conversion, read through latest_universal
// with DeepSpeed's load_universal), opened for checking.
type Target struct {
	Path string
	// Note says how Path was resolved (a training run's folder read
	// through its last checkpoint-N/), or "".
	Note string
	// Copies are the layouts opened, in registry order.
	Copies []*ckpt.Checkpoint
	// findings are found before any copy is checked: pointer files naming
	// missing tags.
	findings []Finding
}

// ErrNothing is wrapped by the error of [Open] when the path holds no
// checkpoint at all.
var ErrNothing = errors.New("nothing to verify")

// Open opens every layout path holds (only the named one when name is not
// empty), tolerantly, so that every problem becomes a finding. A pointer
// file (latest, latest_universal) naming a missing tag folder is a
// structure.latest finding, not an error; with a layout named, only that
// layout's pointer is checked. opt.Layout names the layout, and opt.Policy
// judges the pickles read. The error says why nothing could be opened.
func Open(path string, opt layout.Options) (*Target, error) {
	name := opt.Layout
	if name != "" {
		if _, err := layout.Lookup(name); err != nil {
			return nil, err
		}
	}
	resolved, note := layout.Resolve(path)
	t := &Target{Path: resolved, Note: note}
	found, why := layout.Detect(resolved)
	for _, p := range layout.Pointers(resolved) {
		if p.Problem != "" && (name == "" || name == p.Layout) {
			t.findings = append(t.findings, Finding{Check: ckpt.CheckLatest, Severity: ckpt.Error, File: p.File, Message: p.Problem})
		}
	}
	if name != "" {
		found = []string{name}
	}
	for _, n := range found {
		c, err := layout.Open(resolved, layout.Options{Layout: n, Tolerant: true, Policy: opt.Policy})
		if err != nil {
			if name == "" && len(found) > 1 {
				t.findings = append(t.findings, Finding{Check: ckpt.CheckUnreadable, Severity: ckpt.Error, File: resolved,
					Message: fmt.Sprintf("the %s checkpoint could not be opened: %v", layout.Title(n), err)})
				continue
			}
			if errors.Is(why[n], layout.ErrMissingTag) {
				break // already a finding
			}
			t.Close()
			return nil, err
		}
		t.Copies = append(t.Copies, c)
	}
	if len(t.Copies) == 0 && len(t.findings) == 0 {
		_, err := layout.Open(resolved, layout.Options{Policy: opt.Policy})
		if err == nil {
			err = fmt.Errorf("%s: %w", resolved, ErrNothing)
		}
		return nil, err
	}
	return t, nil
}

// Close closes every copy.
func (t *Target) Close() {
	for _, c := range t.Copies {
		c.Close()
	}
}

// Bytes returns the bytes Run reads: every copy's tensors, and with deep
// every file once more.
func (t *Target) Bytes(deep bool) int64 {
	var n int64
	for _, c := range t.Copies {
		n += c.ScanBytes(nil)
		if deep {
			// The CRC pass reads what the value scan did not: about the
			// files' bytes beside their tensors'.
			var extra int64
			for _, f := range c.Files {
				extra += f.Size
			}
			for _, p := range c.Params {
				for _, t := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
					if t != nil {
						extra -= t.NBytes()
					}
				}
			}
			n += max(extra, 0)
		}
	}
	return n
}

// TargetReport is what [Target.Run] found.
type TargetReport struct {
	// Copies holds each copy's checks, in the order of Target.Copies.
	Copies []*Report
	// Findings are every finding: the pointer files', each copy's (with
	// Layout set), and the cross-check's.
	Findings         []Finding
	Errors, Warnings int
}

// Run checks every copy (see [Run]) and, when there are several,
// cross-checks them: the same parameter names, shapes and step
// (structure.copies).
func (t *Target) Run(ctx context.Context, opt Options) (*TargetReport, error) {
	var reports []*Report
	for _, c := range t.Copies {
		r, err := Run(ctx, c, opt)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return t.Combine(reports), nil
}

// Combine returns the report of the target from its copies' reports (in
// the order of Copies): the pointer files' findings, each copy's (with
// Layout set when there are several), then the cross-checks'.
func (t *Target) Combine(reports []*Report) *TargetReport {
	tr := &TargetReport{}
	add := func(f Finding) {
		tr.Findings = append(tr.Findings, f)
		switch f.Severity {
		case ckpt.Error:
			tr.Errors++
		case ckpt.Warning:
			tr.Warnings++
		}
	}
	for _, f := range t.findings {
		add(f)
	}
	for i, c := range t.Copies {
		r := reports[i]
		tr.Copies = append(tr.Copies, r)
		for _, f := range r.Findings {
			if len(t.Copies) > 1 {
				f.Layout = c.Layout
			}
			add(f)
		}
	}
	for i := 1; i < len(t.Copies); i++ {
		for _, f := range crossCheck(t.Copies[0], t.Copies[i]) {
			add(f)
		}
	}
	return tr
}

// crossCheck compares two copies of one checkpoint.
func crossCheck(a, b *ckpt.Checkpoint) []Finding {
	var out []Finding
	name := func(c *ckpt.Checkpoint) string { return fmt.Sprintf("the %s copy (%s)", c.Layout, c.Tag) }
	f := func(format string, args ...any) {
		out = append(out, Finding{Check: ckpt.CheckCopies, Severity: ckpt.Error, File: a.Path, Message: fmt.Sprintf(format, args...)})
	}
	sa, okA := ckpt.StepOf(a)
	sb, okB := ckpt.StepOf(b)
	if okA && okB && sa != sb {
		f("%s is at step %d, %s at step %d", name(a), sa, name(b), sb)
	}
	inB := map[string]*ckpt.Param{}
	for _, p := range b.Params {
		inB[p.Name] = p
	}
	var onlyA, shapes []string
	for _, p := range a.Params {
		q, ok := inB[p.Name]
		switch {
		case !ok:
			onlyA = append(onlyA, p.Name)
		case !slices.Equal(p.Shape, q.Shape):
			shapes = append(shapes, fmt.Sprintf("%s %v and %v", p.Name, p.Shape, q.Shape))
		}
		delete(inB, p.Name)
	}
	var onlyB []string
	for _, q := range b.Params {
		if _, ok := inB[q.Name]; ok {
			onlyB = append(onlyB, q.Name)
		}
	}
	if len(onlyA) > 0 {
		f("%d parameters of %s are not in %s: %s", len(onlyA), name(a), name(b), few(onlyA))
	}
	if len(onlyB) > 0 {
		f("%d parameters of %s are not in %s: %s", len(onlyB), name(b), name(a), few(onlyB))
	}
	if len(shapes) > 0 {
		f("%d parameters have other shapes in %s and %s: %s", len(shapes), name(a), name(b), few(shapes))
	}
	return out
}

// few lists up to 5 names.
func few(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}
