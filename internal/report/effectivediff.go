package report

import (
	"fmt"
	"io"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// ParamEffectiveDiff are the effective-weight fields of a parameter of
// `diff --effective`: the comparison of the effective weights
// effective_scale_a × (w_A + effective_offset_a) and effective_scale_b ×
// (w_B + effective_offset_b), w the weight named by effective_state. Every
// field is null for a parameter whose multipliers are not known on both
// sides or whose weights were not compared.
type ParamEffectiveDiff struct {
	Effective        *StateDiff    `json:"effective"`
	EffectiveState   *string       `json:"effective_state"`
	EffectiveScaleA  *output.Float `json:"effective_scale_a"`
	EffectiveScaleB  *output.Float `json:"effective_scale_b"`
	EffectiveOffsetA *output.Float `json:"effective_offset_a"`
	EffectiveOffsetB *output.Float `json:"effective_offset_b"`
}

// GroupEffectiveDiff is the effective comparison of a --group-by layer
// group, or of all parameters in the summary's global figures (the
// parameters' sums added up).
type GroupEffectiveDiff struct {
	Effective *StateDiff `json:"effective"`
}

// DiffEffectiveInfo says where the multipliers of each side of `diff
// --effective` come from.
type DiffEffectiveInfo struct {
	A *EffectiveInfo `json:"a"`
	B *EffectiveInfo `json:"b"`
}

// ParamEffectiveDiffOf converts an effective comparison to its JSON form;
// nil gives the all-null fields.
func ParamEffectiveDiffOf(e *ckpt.EffectiveDiff) *ParamEffectiveDiff {
	if e == nil {
		return &ParamEffectiveDiff{}
	}
	state := string(e.State)
	return &ParamEffectiveDiff{Effective: StateDiffOf(&e.StateDiff), EffectiveState: &state,
		EffectiveScaleA: output.Opt(e.A.Scale, true), EffectiveScaleB: output.Opt(e.B.Scale, true),
		EffectiveOffsetA: output.Opt(e.A.Offset, true), EffectiveOffsetB: output.Opt(e.B.Offset, true)}
}

// AddEffectiveDiff adds the effective comparisons of a diff made with
// ckpt.DiffOptions.EffectiveA/B to a document BuildDiff made from it
// (before OrderDiffs): info, every parameter's and group's comparison, and
// the global one.
func AddEffectiveDiff(doc *Diff, res *ckpt.DiffResult, info *DiffEffectiveInfo) {
	doc.Effective = info
	for i := range doc.Params {
		doc.Params[i].ParamEffectiveDiff = ParamEffectiveDiffOf(res.Params[i].Effective)
	}
	doc.Summary.Global.GroupEffectiveDiff = &GroupEffectiveDiff{Effective: StateDiffOf(res.EffectiveTotal)}
	if doc.Groups == nil {
		return
	}
	sums := map[string]*ckpt.StateDiff{}
	for _, pd := range res.Params {
		name, _ := yulan.Group(pd.Name)
		if pd.Effective == nil {
			continue
		}
		if sums[name] == nil {
			sums[name] = &ckpt.StateDiff{State: pd.Effective.State, Compared: true}
		}
		sums[name].Sums.Merge(pd.Effective.Sums)
	}
	for i := range doc.Groups {
		doc.Groups[i].GroupEffectiveDiff = &GroupEffectiveDiff{Effective: StateDiffOf(sums[doc.Groups[i].Name])}
	}
}

// effectiveOfDiff returns the effective comparison of a parameter row, or
// nil.
func effectiveOfDiff(p *ParamDiff) *StateDiff {
	if p.ParamEffectiveDiff == nil {
		return nil
	}
	return p.ParamEffectiveDiff.Effective
}

// addEffectiveDiffColumn adds `eff rel` (after `rel`) to the text table of
// a diff's parameters or groups, given each row's effective comparison.
func addEffectiveDiffColumn(tw *output.TableWriter, on bool, effs []*StateDiff) {
	if !on {
		return
	}
	cells := make([]string, len(effs))
	for i, d := range effs {
		cells[i] = relOf(d)
	}
	insertColumn(tw, "rel", "eff rel", cells)
}

// addEffectiveDiffCSV appends the effective columns to a diff's CSV
// table, given each row's effective comparison.
func addEffectiveDiffCSV(tw *output.TableWriter, on bool, effs []*StateDiff) {
	if !on {
		return
	}
	for _, c := range diffStateColumns {
		tw.Headers = append(tw.Headers, "effective_"+c)
	}
	for i, d := range effs {
		tw.Rows[i] = append(tw.Rows[i], diffStateCells(d)...)
	}
}

// writeEffectiveDiffNotes writes, under a diff's header, where each side's
// multipliers of --effective came from.
func writeEffectiveDiffNotes(w io.Writer, doc Diff) {
	if doc.Effective == nil {
		return
	}
	for _, side := range []struct {
		name string
		info *EffectiveInfo
	}{{"A", doc.Effective.A}, {"B", doc.Effective.B}} {
		if side.info == nil {
			continue
		}
		fmt.Fprintf(w, "effective weights of %s: ", side.name)
		writeEffectiveInfo(w, side.info)
	}
	fmt.Fprintln(w)
}
