package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// EffectiveInfo says where the multipliers of `stats --effective` come
// from: the config file and the values of it that were used.
type EffectiveInfo struct {
	// Config names the config.json read ("config.json of PATH" for a
	// Trainer folder's).
	Config string `json:"config"`
	// Settings are the config values the multipliers depend on, each with
	// whether it was absent (defaulted as configuration_yulanmini.py does).
	Settings []Setting `json:"settings"`
	// Notes say what was assumed (scale factors the checkpoint does not
	// have, taken as 1).
	Notes []string `json:"notes"`
}

// Setting is one config value used.
type Setting struct {
	Key       string `json:"key"`
	Value     any    `json:"value"` // a number, string or bool
	Defaulted bool   `json:"defaulted"`
}

// Factor is one factor of an effective multiplier: a scale factor
// parameter's name or a config expression, its value, and whether it is a
// scale factor the checkpoint does not have (taken as 1).
type Factor struct {
	Source string       `json:"source"`
	Value  output.Float `json:"value"`
	Absent bool         `json:"absent"`
}

// ParamEffective are the effective-weight fields of a parameter
// (`stats --effective`): the weight the network computes with,
// effective_scale × (w + effective_offset), w the weight named by
// effective_state. Every field is null (factors empty) for a parameter
// whose multiplier is unknown.
type ParamEffective struct {
	EffectiveScale  *output.Float `json:"effective_scale"`
	EffectiveOffset *output.Float `json:"effective_offset"`
	// EffectiveFactors are the factors whose product is effective_scale.
	EffectiveFactors []Factor `json:"effective_factors"`
	// EffectiveState is "fp32", or "bf16" for a parameter without an fp32
	// master weight.
	EffectiveState *string `json:"effective_state"`
	// EffectiveMethod is "derived" (from the statistics of w, exactly) or
	// "accumulated" (from the effective values, in the same pass).
	EffectiveMethod *string `json:"effective_method"`
	Effective       *Stats  `json:"effective"`
	// EffectiveUpdateToWeight is the AdamW update-to-weight ratio against
	// the effective weight: |effective_scale| · lr · update_rms / rms of
	// the effective weight.
	EffectiveUpdateToWeight *output.Float `json:"effective_update_to_weight"`
}

// GroupEffective are the effective-weight figures of a --group-by layer
// group: the norm and RMS of its parameters' effective weights.
type GroupEffective struct {
	EffectiveNorm *output.Float `json:"effective_norm"`
	EffectiveRMS  *output.Float `json:"effective_rms"`
}

// SummaryEffective is the global norm of the effective weights.
type SummaryEffective struct {
	EffectiveNorm output.Float `json:"effective_norm"`
}

// EffectiveInfoOf describes the config the multipliers came from.
func EffectiveInfoOf(source string, cfg *yulan.Config, sc *yulan.Scales) *EffectiveInfo {
	info := &EffectiveInfo{Config: source, Settings: []Setting{}, Notes: []string{}}
	for _, s := range cfg.Settings() {
		info.Settings = append(info.Settings, Setting{Key: s.Key, Value: s.Value, Defaulted: s.Defaulted})
	}
	if sc != nil {
		info.Notes = append(info.Notes, sc.Notes...)
	}
	return info
}

// ParamEffectiveOf converts a scan's effective measure to its JSON form;
// nil gives the all-null fields of a parameter without one.
func ParamEffectiveOf(e *ckpt.Effective) *ParamEffective {
	pe := &ParamEffective{EffectiveFactors: []Factor{}}
	if e == nil {
		return pe
	}
	m := e.Multiplier
	pe.EffectiveScale, pe.EffectiveOffset = output.Opt(m.Scale, true), output.Opt(m.Offset, true)
	for _, f := range m.Factors {
		pe.EffectiveFactors = append(pe.EffectiveFactors, Factor{Source: f.Source, Value: output.Float(f.Value), Absent: f.Absent})
	}
	state, method := string(e.State), "derived"
	if e.Accumulated {
		method = "accumulated"
	}
	pe.EffectiveState, pe.EffectiveMethod = &state, &method
	pe.Effective = StatsOf(&e.Stats)
	if e.HasRatio {
		pe.EffectiveUpdateToWeight = output.Opt(e.UpdateToWeight, true)
	}
	return pe
}

// AddEffective adds the effective-weight figures of a scan made with
// ckpt.ScanOptions.Effective to a document BuildStats made from it (before
// OrderParams): info, every parameter's fields, every group's and the
// summary's norm.
func AddEffective(doc *CheckpointStats, res *ckpt.Result, info *EffectiveInfo) {
	doc.Effective = info
	for i := range doc.Params {
		doc.Params[i].ParamEffective = ParamEffectiveOf(res.Params[i].Effective)
	}
	doc.Summary.SummaryEffective = &SummaryEffective{EffectiveNorm: output.Float(res.Summary.EffectiveNorm)}
	if doc.Groups == nil {
		return
	}
	type acc struct{ sq, n float64 }
	groups := map[string]*acc{}
	for _, pr := range res.Params {
		name, _ := yulan.Group(pr.Param.Name)
		a := groups[name]
		if a == nil {
			a = &acc{}
			groups[name] = a
		}
		if e := pr.Effective; e != nil && e.Stats.Valid() {
			a.sq += e.Stats.L2 * e.Stats.L2
			a.n += float64(e.Stats.Finite)
		}
	}
	for i := range doc.Groups {
		a := groups[doc.Groups[i].Name]
		ge := &GroupEffective{}
		if a != nil && a.n > 0 {
			ge.EffectiveNorm, ge.EffectiveRMS = output.Opt(math.Sqrt(a.sq), true), output.Opt(math.Sqrt(a.sq/a.n), true)
		}
		doc.Groups[i].GroupEffective = ge
	}
}

// insertColumn inserts a column into a table after the column headed
// after (at the end when there is none), cells holding one cell per row.
func insertColumn(tw *output.TableWriter, after, header string, cells []string) {
	at := slices.Index(tw.Headers, after) + 1
	if at == 0 {
		at = len(tw.Headers)
	}
	tw.Headers = slices.Insert(slices.Clone(tw.Headers), at, header)
	if at < len(tw.Align) {
		tw.Align = slices.Insert(slices.Clone(tw.Align), at, output.Right)
	} else if len(tw.Align) > 0 {
		tw.Align = append(slices.Clone(tw.Align), make([]output.Align, at-len(tw.Align))...)
		tw.Align = append(tw.Align, output.Right)
	}
	if at <= len(tw.Drop) {
		tw.Drop = slices.Insert(slices.Clone(tw.Drop), at, 0)
	}
	for i := range tw.Rows {
		if at <= len(tw.Rows[i]) {
			tw.Rows[i] = slices.Insert(tw.Rows[i], at, cells[i])
		}
	}
}

// addEffectiveColumn adds the `eff rms` column (after `fp32 rms`) to the
// text table of parameters when the document has effective figures.
func addEffectiveColumn(tw *output.TableWriter, doc CheckpointStats, ps []ParamStats) {
	if doc.Effective == nil {
		return
	}
	cells := make([]string, len(ps))
	for i, p := range ps {
		cells[i] = "-"
		if p.ParamEffective != nil && p.Effective != nil {
			cells[i] = output.Num(p.Effective.RMS)
		}
	}
	insertColumn(tw, "fp32 rms", "eff rms", cells)
}

// addEffectiveGroupColumn adds `eff rms` (after `fp32 rms`) to the group
// table when the groups have effective figures.
func addEffectiveGroupColumn(tw *output.TableWriter, gs []GroupStats, csv bool) {
	if len(gs) == 0 || gs[0].GroupEffective == nil {
		return
	}
	rms := make([]string, len(gs))
	norm := make([]string, len(gs))
	for i, g := range gs {
		if csv {
			rms[i], norm[i] = CSVNum(g.EffectiveRMS), CSVNum(g.EffectiveNorm)
		} else {
			rms[i] = output.Num(g.EffectiveRMS)
		}
	}
	if csv {
		insertColumn(tw, "", "effective_norm", norm)
		insertColumn(tw, "", "effective_rms", rms)
		return
	}
	insertColumn(tw, "fp32 rms", "eff rms", rms)
}

// effectiveCSVColumns are the CSV columns `stats --effective` adds, after
// the others.
var effectiveCSVColumns = []string{"effective_scale", "effective_offset", "effective_state", "effective_method",
	"effective_l2", "effective_rms", "effective_mean", "effective_std", "effective_min", "effective_max", "effective_absmax",
	"effective_nan", "effective_inf", "effective_zeros", "effective_update_to_weight"}

// addEffectiveCSV appends the effective columns to the CSV table of
// parameters when they have effective figures.
func addEffectiveCSV(tw *output.TableWriter, ps []ParamStats) {
	if len(ps) == 0 || ps[0].ParamEffective == nil {
		return
	}
	tw.Headers = append(slices.Clone(tw.Headers), effectiveCSVColumns...)
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for i, p := range ps {
		e := p.ParamEffective
		row := []string{CSVNum(e.EffectiveScale), CSVNum(e.EffectiveOffset), str(e.EffectiveState), str(e.EffectiveMethod)}
		if s := e.Effective; s != nil {
			row = append(row, CSVNum(s.L2), CSVNum(s.RMS), CSVNum(s.Mean), CSVNum(s.Std), CSVNum(s.Min), CSVNum(s.Max),
				CSVNum(s.AbsMax), strconv.FormatInt(s.NaN, 10), strconv.FormatInt(s.Inf, 10), strconv.FormatInt(s.Zeros, 10))
		} else {
			row = append(row, make([]string, 10)...)
		}
		row = append(row, CSVNum(e.EffectiveUpdateToWeight))
		tw.Rows[i] = append(tw.Rows[i], row...)
	}
}

// writeEffectiveNotes writes, under a checkpoint's header, where the
// multipliers of --effective came from and the values used.
func writeEffectiveNotes(w io.Writer, doc CheckpointStats) {
	if doc.Effective == nil {
		return
	}
	fmt.Fprint(w, "  effective weights: ")
	writeEffectiveInfo(w, doc.Effective)
}

// writeEffectiveInfo writes the config and values an EffectiveInfo
// gives, and its notes.
func writeEffectiveInfo(w io.Writer, info *EffectiveInfo) {
	var used, defaulted []string
	for _, s := range info.Settings {
		v := fmt.Sprint(s.Value)
		if f, ok := s.Value.(float64); ok {
			v = strconv.FormatFloat(f, 'g', -1, 64)
		}
		used = append(used, s.Key+" "+v)
		if s.Defaulted {
			defaulted = append(defaulted, s.Key)
		}
	}
	fmt.Fprintf(w, "config %s: %s", info.Config, strings.Join(used, ", "))
	if len(defaulted) > 0 {
		fmt.Fprintf(w, " (absent, defaulted: %s)", strings.Join(defaulted, ", "))
	}
	fmt.Fprintln(w)
	for _, n := range info.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}
