package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// diffFigures are the per-state figures --sort accepts, with how to read
// each and whether the smallest value sorts first.
var diffFigures = []struct {
	name      string
	get       func(*StateDiff) *output.Float
	ascending bool
}{
	{"delta_l2", func(d *StateDiff) *output.Float { return d.DeltaL2 }, false},
	{"rel_change", func(d *StateDiff) *output.Float { return d.RelChange }, false},
	{"cosine", func(d *StateDiff) *output.Float { return d.Cosine }, true},
	{"norm_ratio", func(d *StateDiff) *output.Float { return d.NormRatio }, false},
	{"max_abs_delta", func(d *StateDiff) *output.Float { return d.MaxAbsDelta }, false},
}

// diffState returns the comparison of the named state of a parameter row.
func diffState(p *ParamDiff, state string) *StateDiff {
	switch state {
	case "fp32":
		return p.FP32
	case "bf16":
		return p.BF16
	case "exp_avg":
		return p.ExpAvg
	case "exp_avg_sq":
		return p.ExpAvgSq
	case "effective":
		return effectiveOfDiff(p)
	}
	return nil
}

// DiffSortKey returns how to read a --sort field of diff, or nil when the
// field is unknown: name and numel, or <state>.<figure>.
func DiffSortKey(field string) (get func(*ParamDiff) (float64, bool), ascending bool) {
	if field == "numel" {
		return func(p *ParamDiff) (float64, bool) { return float64(p.Numel), true }, false
	}
	state, fig, ok := strings.Cut(field, ".")
	if !ok || !slices.Contains(ckpt.DiffStates(), ckpt.State(state)) && state != "effective" {
		return nil, false
	}
	for _, f := range diffFigures {
		if f.name == fig {
			return func(p *ParamDiff) (float64, bool) {
				d := diffState(p, state)
				if d == nil || f.get(d) == nil {
					return 0, false
				}
				return float64(*f.get(d)), true
			}, f.ascending
		}
	}
	return nil, false
}

// DiffSortFields lists every --sort field of diff.
func DiffSortFields() []string {
	names := []string{"name", "numel"}
	for _, s := range ckpt.DiffStates() {
		for _, f := range diffFigures {
			names = append(names, string(s)+"."+f.name)
		}
	}
	return names
}

// DiffSortNames lists the --sort fields of diff, for help and errors.
func DiffSortNames() string {
	names := []string{"name", "numel"}
	for _, s := range ckpt.DiffStates() {
		names = append(names, string(s)+".{delta_l2,rel_change,cosine,norm_ratio,max_abs_delta}")
	}
	names = append(names, "effective.{...} (with --effective)")
	return strings.Join(names, ", ")
}

// CheckpointRefOf describes an opened checkpoint in documents.
func CheckpointRefOf(c *ckpt.Checkpoint) CheckpointRef {
	r := CheckpointRef{Path: c.Path, Layout: c.Layout, Tag: c.Tag, Params: len(c.Params)}
	if s, ok := ckpt.StepOf(c); ok {
		r.Step = &s
	}
	return r
}

// StateDiffOf converts a state comparison to its JSON form.
func StateDiffOf(d *ckpt.StateDiff) *StateDiff {
	if d == nil {
		return nil
	}
	s := d.Sums
	r := &StateDiff{Compared: d.Compared, Numel: s.Numel, Pairs: s.Pairs, Skipped: s.Numel - s.Pairs, Changed: s.Changed}
	if !d.Compared {
		r.ShapeA, r.ShapeB = NonNil(d.ShapeA), NonNil(d.ShapeB)
		return r
	}
	r.DeltaL2 = output.Opt(d.DeltaL2())
	r.RelChange = output.Opt(d.RelChange())
	r.Cosine = output.Opt(d.Cosine())
	r.NormRatio = output.Opt(d.NormRatio())
	r.AL2 = output.Opt(d.NormA())
	r.BL2 = output.Opt(d.NormB())
	r.MaxAbsDelta = output.Opt(d.MaxAbsDelta())
	return r
}

// BuildDiff turns a comparison of two checkpoints into the document diff
// prints.
func BuildDiff(res *ckpt.DiffResult) Diff {
	doc := Diff{A: CheckpointRefOf(res.A), B: CheckpointRefOf(res.B), Params: []ParamDiff{}}
	sum := DiffSummary{StepA: doc.A.Step, StepB: doc.B.Step, ParamsCompared: len(res.Params),
		OnlyInA: NonNilS(res.OnlyA), OnlyInB: NonNilS(res.OnlyB), ShapeMismatch: []string{}, BytesScanned: res.BytesScanned, Notes: []string{}}
	for _, n := range res.A.Notes {
		sum.Notes = append(sum.Notes, "A: "+n)
	}
	for _, n := range res.B.Notes {
		sum.Notes = append(sum.Notes, "B: "+n)
	}
	if sum.StepA != nil && sum.StepB != nil {
		d := *sum.StepB - *sum.StepA
		sum.StepDelta = &d
		if d < 0 {
			sum.Notes = append(sum.Notes, fmt.Sprintf("B (step %d) is older than A (step %d): the changes are from the later checkpoint back to the earlier one; swap A and B to see the training's progress", *sum.StepB, *sum.StepA))
		}
	}
	for _, pd := range res.Params {
		p := ParamDiff{Name: pd.Name, ShapeA: NonNil(pd.A.Shape), ShapeB: NonNil(pd.B.Shape), Numel: pd.A.Numel(),
			ShapeMismatch: pd.ShapeMismatch(),
			FP32:          StateDiffOf(pd.States["fp32"]), BF16: StateDiffOf(pd.States["bf16"]),
			ExpAvg: StateDiffOf(pd.States["exp_avg"]), ExpAvgSq: StateDiffOf(pd.States["exp_avg_sq"])}
		if p.ShapeMismatch {
			sum.ShapeMismatch = append(sum.ShapeMismatch, pd.Name)
		}
		doc.Params = append(doc.Params, p)
	}
	sum.Global = GlobalDiff{FP32: StateDiffOf(res.Totals["fp32"]), BF16: StateDiffOf(res.Totals["bf16"]),
		ExpAvg: StateDiffOf(res.Totals["exp_avg"]), ExpAvgSq: StateDiffOf(res.Totals["exp_avg_sq"])}
	if g := sum.Global.FP32; g != nil {
		sum.DeltaNorm, sum.RelChange = g.DeltaL2, g.RelChange
	}
	doc.Summary = sum
	return doc
}

// GroupDiffs adds up the comparisons per transformer layer (as stats
// --group-by layer groups parameters).
func GroupDiffs(res *ckpt.DiffResult) []GroupDiff {
	type acc struct {
		order  int
		params int
		states map[ckpt.State]*ckpt.StateDiff
	}
	groups := map[string]*acc{}
	var names []string
	for _, pd := range res.Params {
		name, order := yulan.Group(pd.Name)
		g := groups[name]
		if g == nil {
			g = &acc{order: order, states: map[ckpt.State]*ckpt.StateDiff{}}
			groups[name] = g
			names = append(names, name)
		}
		g.params++
		for s, sd := range pd.States {
			if !sd.Compared {
				continue
			}
			t := g.states[s]
			if t == nil {
				t = &ckpt.StateDiff{State: s, Compared: true}
				g.states[s] = t
			}
			t.Sums.Merge(sd.Sums)
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return groups[names[i]].order < groups[names[j]].order })
	out := make([]GroupDiff, 0, len(names))
	for _, n := range names {
		g := groups[n]
		out = append(out, GroupDiff{Name: n, Params: g.params, FP32: StateDiffOf(g.states[ckpt.FP32]), BF16: StateDiffOf(g.states[ckpt.BF16]),
			ExpAvg: StateDiffOf(g.states[ckpt.ExpAvg]), ExpAvgSq: StateDiffOf(g.states[ckpt.ExpAvgSq])})
	}
	return out
}

// OrderGroupDiffs sorts --group-by layer groups by a <state>.<figure>
// --sort field of diff (as OrderDiffs; name, numel and "" keep depth
// order) and keeps the first top.
func OrderGroupDiffs(gs []GroupDiff, field string, top int) []GroupDiff {
	if state, fig, ok := strings.Cut(field, "."); ok {
		for _, f := range diffFigures {
			if f.name != fig {
				continue
			}
			get := func(g *GroupDiff) *output.Float {
				d := diffState(&ParamDiff{FP32: g.FP32, BF16: g.BF16, ExpAvg: g.ExpAvg, ExpAvgSq: g.ExpAvgSq}, state)
				if state == "effective" && g.GroupEffectiveDiff != nil {
					d = g.Effective
				}
				if d == nil {
					return nil
				}
				return f.get(d)
			}
			sort.SliceStable(gs, func(i, j int) bool {
				a, b := get(&gs[i]), get(&gs[j])
				if (a == nil) != (b == nil) {
					return a != nil
				}
				if a == nil {
					return false
				}
				if f.ascending {
					return *a < *b
				}
				return *a > *b
			})
		}
	}
	if top > 0 && len(gs) > top {
		gs = gs[:top]
	}
	return gs
}

// OrderDiffs sorts by field (see DiffSortKey; missing values last; name
// A-Z) and keeps the first top.
func OrderDiffs(ps []ParamDiff, field string, top int) []ParamDiff {
	switch {
	case field == "name":
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	case field != "":
		get, asc := DiffSortKey(field)
		sort.SliceStable(ps, func(i, j int) bool {
			a, okA := get(&ps[i])
			b, okB := get(&ps[j])
			if okA != okB {
				return okA
			}
			if asc {
				return a < b
			}
			return a > b
		})
	}
	if top > 0 && len(ps) > top {
		ps = ps[:top]
	}
	return ps
}

// oneMinusCos formats 1 − cosine for tables.
func oneMinusCos(d *StateDiff) string {
	if d == nil || d.Cosine == nil {
		return "-"
	}
	return output.NumF(1 - float64(*d.Cosine))
}

// ratio formats a norm ratio with 6 significant digits: ratios are near 1.
func ratio(f *output.Float) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(float64(*f), 'g', 6, 64)
}

func relOf(d *StateDiff) string {
	if d == nil {
		return "-"
	}
	return output.Num(d.RelChange)
}

func describeRef(r CheckpointRef) string {
	s := fmt.Sprintf("%s (%s %s", r.Path, r.Layout, r.Tag)
	if r.Step != nil {
		s += fmt.Sprintf(", step %d", *r.Step)
	}
	return s + fmt.Sprintf(", %d parameters)", r.Params)
}

// WriteDiffText writes a comparison as text tables.
func WriteDiffText(w io.Writer, doc Diff, t Text) error {
	ew, check := guard(w)
	return check(writeDiffTextBody(ew, doc, t))
}

func writeDiffTextBody(w io.Writer, doc Diff, t Text) error {
	t.printf(w, "   ", "A: %s", describeRef(doc.A))
	t.printf(w, "   ", "B: %s", describeRef(doc.B))
	for _, n := range doc.Summary.Notes {
		t.printf(w, "    ", "note: %s", n)
	}
	fmt.Fprintln(w)
	t.wrapped(w, func(w io.Writer) { writeEffectiveDiffNotes(w, doc) })
	headers := []string{"|A|", "|B-A|", "rel", "1-cos", "|B|/|A|", "bf16 rel", "m rel", "v rel"}
	drop := []int{0, 5, 4, 0, 0, 0, 3, 1, 2}
	if doc.Groups != nil {
		tw := &output.TableWriter{Headers: append([]string{"layer", "params"}, headers...), Align: output.RightAligned(10), Drop: append([]int{0}, drop...)}
		for _, g := range doc.Groups {
			fp := g.FP32
			if fp == nil {
				fp = &StateDiff{}
			}
			tw.Add(g.Name, strconv.Itoa(g.Params), output.Num(fp.AL2), output.Num(fp.DeltaL2), output.Num(fp.RelChange), oneMinusCos(g.FP32),
				ratio(fp.NormRatio), relOf(g.BF16), relOf(g.ExpAvg), relOf(g.ExpAvgSq))
		}
		effs := make([]*StateDiff, len(doc.Groups))
		for i, g := range doc.Groups {
			if g.GroupEffectiveDiff != nil {
				effs[i] = g.Effective
			}
		}
		addEffectiveDiffColumn(tw, doc.Effective != nil, effs)
		if err := t.table(w, tw); err != nil {
			return err
		}
	} else {
		tw := &output.TableWriter{Headers: append([]string{"parameter", "shape"}, headers...), Align: output.RightAligned(10), Drop: append([]int{0}, drop...)}
		tw.Align[1] = output.Left
		for _, p := range doc.Params {
			shape := output.ShapeCompact(p.ShapeA)
			if p.ShapeMismatch {
				shape += " vs " + output.ShapeCompact(p.ShapeB)
			}
			fp := p.FP32
			if fp == nil {
				fp = &StateDiff{}
			}
			tw.Add(p.Name, shape, output.Num(fp.AL2), output.Num(fp.DeltaL2), output.Num(fp.RelChange), oneMinusCos(p.FP32),
				ratio(fp.NormRatio), relOf(p.BF16), relOf(p.ExpAvg), relOf(p.ExpAvgSq))
		}
		effs := make([]*StateDiff, len(doc.Params))
		for i := range doc.Params {
			effs[i] = effectiveOfDiff(&doc.Params[i])
		}
		addEffectiveDiffColumn(tw, doc.Effective != nil, effs)
		if err := t.table(w, tw); err != nil {
			return err
		}
	}
	s := doc.Summary
	fmt.Fprintln(w)
	gt := &output.TableWriter{Headers: []string{"all parameters", "|A|", "|B|", "|B-A|", "rel", "1-cos", "|B|/|A|", "changed", "skipped"},
		Align: output.RightAligned(9), Drop: []int{0, 0, 0, 0, 0, 2, 0, 1, 3}, MinElastic: 10}
	for _, st := range []struct {
		name string
		d    *StateDiff
	}{{"fp32", s.Global.FP32}, {"bf16", s.Global.BF16}, {"exp_avg", s.Global.ExpAvg}, {"exp_avg_sq", s.Global.ExpAvgSq}, {"effective", globalEffective(s.Global)}} {
		if st.d == nil {
			continue
		}
		gt.Add(st.name, output.Num(st.d.AL2), output.Num(st.d.BL2), output.Num(st.d.DeltaL2), output.Num(st.d.RelChange), oneMinusCos(st.d),
			ratio(st.d.NormRatio), output.Count(st.d.Changed), output.Count(st.d.Skipped))
	}
	if len(gt.Rows) > 0 {
		if err := t.table(w, gt); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	list := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		const show = 10
		n, more := len(names), ""
		if n > show {
			more = fmt.Sprintf(" and %d more (--format json lists them all)", n-show)
			names = names[:show]
		}
		t.printf(w, "  ", "%s (%d, not compared): %s%s", what, n, strings.Join(names, ", "), more)
	}
	list("only in A", s.OnlyInA)
	list("only in B", s.OnlyInB)
	list("shapes differ", s.ShapeMismatch)
	step := "step ? -> ?"
	if s.StepA != nil && s.StepB != nil {
		step = fmt.Sprintf("step %d -> %d (%+d)", *s.StepA, *s.StepB, *s.StepDelta)
	} else if s.StepA != nil || s.StepB != nil {
		step = fmt.Sprintf("step %s -> %s", optInt(s.StepA), optInt(s.StepB))
	}
	t.printf(w, "  ", "%s: %d parameters in both, %d only in A, %d only in B, %d with different shapes; %s scanned",
		step, s.ParamsCompared, len(s.OnlyInA), len(s.OnlyInB), len(s.ShapeMismatch), output.Bytes(s.BytesScanned))
	if s.DeltaNorm != nil {
		t.printf(w, "  ", "fp32 weights moved by %s (relative %s)", output.Num(s.DeltaNorm), output.Num(s.RelChange))
	}
	return nil
}

// globalEffective returns the global effective comparison, or nil.
func globalEffective(g GlobalDiff) *StateDiff {
	if g.GroupEffectiveDiff == nil {
		return nil
	}
	return g.Effective
}

// diffStateColumns are the CSV columns of one state comparison.
var diffStateColumns = []string{"compared", "delta_l2", "rel_change", "cosine", "norm_ratio", "a_l2", "b_l2", "max_abs_delta", "pairs", "skipped", "changed"}

func diffStateCells(d *StateDiff) []string {
	if d == nil {
		return make([]string, len(diffStateColumns))
	}
	return []string{strconv.FormatBool(d.Compared), CSVNum(d.DeltaL2), CSVNum(d.RelChange), CSVNum(d.Cosine), CSVNum(d.NormRatio),
		CSVNum(d.AL2), CSVNum(d.BL2), CSVNum(d.MaxAbsDelta), strconv.FormatInt(d.Pairs, 10), strconv.FormatInt(d.Skipped, 10),
		strconv.FormatInt(d.Changed, 10)}
}

func diffHeaders(first ...string) []string {
	h := first
	for _, s := range ckpt.DiffStates() {
		for _, c := range diffStateColumns {
			h = append(h, string(s)+"_"+c)
		}
	}
	return h
}

// DiffCSV returns the per-parameter table of a comparison, for CSV.
func DiffCSV(ps []ParamDiff) *output.TableWriter {
	tw := &output.TableWriter{Headers: diffHeaders("name", "shape_a", "shape_b", "numel", "shape_mismatch")}
	for _, p := range ps {
		row := []string{p.Name, output.ShapeCompact(p.ShapeA), output.ShapeCompact(p.ShapeB), strconv.FormatInt(p.Numel, 10), strconv.FormatBool(p.ShapeMismatch)}
		for _, d := range []*StateDiff{p.FP32, p.BF16, p.ExpAvg, p.ExpAvgSq} {
			row = append(row, diffStateCells(d)...)
		}
		tw.Add(row...)
	}
	effs := make([]*StateDiff, len(ps))
	on := false
	for i := range ps {
		effs[i] = effectiveOfDiff(&ps[i])
		on = on || ps[i].ParamEffectiveDiff != nil
	}
	addEffectiveDiffCSV(tw, on, effs)
	return tw
}

// DiffGroupCSV returns the per-group table of a comparison, for CSV.
func DiffGroupCSV(gs []GroupDiff) *output.TableWriter {
	tw := &output.TableWriter{Headers: diffHeaders("group", "params")}
	for _, g := range gs {
		row := []string{g.Name, strconv.Itoa(g.Params)}
		for _, d := range []*StateDiff{g.FP32, g.BF16, g.ExpAvg, g.ExpAvgSq} {
			row = append(row, diffStateCells(d)...)
		}
		tw.Add(row...)
	}
	effs := make([]*StateDiff, len(gs))
	on := false
	for i, g := range gs {
		if g.GroupEffectiveDiff != nil {
			effs[i], on = g.Effective, true
		}
	}
	addEffectiveDiffCSV(tw, on, effs)
	return tw
}

// WriteDiff writes a comparison in the given output format: the document
// as JSON; the group or parameter table as CSV; text tables.
func WriteDiff(w io.Writer, f output.Format, doc Diff, t Text) error {
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
		if doc.Groups != nil {
			return DiffGroupCSV(doc.Groups).WriteCSV(w)
		}
		return DiffCSV(doc.Params).WriteCSV(w)
	}
	return WriteDiffText(w, doc, t)
}
