package report

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/resume"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/torchsave"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// sortFields are the values --sort accepts, with how to read each.
var sortFields = map[string]func(*ParamStats) (float64, bool){
	"numel":                 func(p *ParamStats) (float64, bool) { return float64(p.Numel), true },
	"fp32.l2":               statField(func(p *ParamStats) *Stats { return p.FP32 }, "l2"),
	"fp32.rms":              statField(func(p *ParamStats) *Stats { return p.FP32 }, "rms"),
	"fp32.absmax":           statField(func(p *ParamStats) *Stats { return p.FP32 }, "absmax"),
	"fp32.std":              statField(func(p *ParamStats) *Stats { return p.FP32 }, "std"),
	"exp_avg.rms":           statField(func(p *ParamStats) *Stats { return p.ExpAvg }, "rms"),
	"exp_avg.absmax":        statField(func(p *ParamStats) *Stats { return p.ExpAvg }, "absmax"),
	"exp_avg_sq.mean":       statField(func(p *ParamStats) *Stats { return p.ExpAvgSq }, "mean"),
	"exp_avg_sq.max":        statField(func(p *ParamStats) *Stats { return p.ExpAvgSq }, "max"),
	"bf16.rms":              statField(func(p *ParamStats) *Stats { return p.BF16 }, "rms"),
	"adam.update_rms":       adamField(func(a *AdamStats) *output.Float { return a.UpdateRMS }),
	"adam.update_to_weight": adamField(func(a *AdamStats) *output.Float { return a.UpdateToWeight }),
	"nan":                   func(p *ParamStats) (float64, bool) { return float64(countAll(p, "nan")), true },
	"inf":                   func(p *ParamStats) (float64, bool) { return float64(countAll(p, "inf")), true },
	"effective.update_to_weight": func(p *ParamStats) (float64, bool) {
		if p.ParamEffective == nil || p.EffectiveUpdateToWeight == nil {
			return 0, false
		}
		return float64(*p.EffectiveUpdateToWeight), true
	},
	"effective.l2":     statField(effectiveStats, "l2"),
	"effective.rms":    statField(effectiveStats, "rms"),
	"effective.absmax": statField(effectiveStats, "absmax"),
	"effective.std":    statField(effectiveStats, "std"),
}

func statField(state func(*ParamStats) *Stats, field string) func(*ParamStats) (float64, bool) {
	return func(p *ParamStats) (float64, bool) {
		s := state(p)
		if s == nil {
			return 0, false
		}
		var f *output.Float
		switch field {
		case "l2":
			f = s.L2
		case "rms":
			f = s.RMS
		case "absmax":
			f = s.AbsMax
		case "std":
			f = s.Std
		case "mean":
			f = s.Mean
		case "max":
			f = s.Max
		}
		if f == nil {
			return 0, false
		}
		return float64(*f), true
	}
}

// effectiveStats returns the effective statistics of a parameter, or nil.
func effectiveStats(p *ParamStats) *Stats {
	if p.ParamEffective == nil {
		return nil
	}
	return p.Effective
}

func adamField(get func(*AdamStats) *output.Float) func(*ParamStats) (float64, bool) {
	return func(p *ParamStats) (float64, bool) {
		if p.Adam == nil || get(p.Adam) == nil {
			return 0, false
		}
		return float64(*get(p.Adam)), true
	}
}

func countAll(p *ParamStats, what string) int64 {
	var n int64
	for _, s := range []*Stats{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
		if s == nil {
			continue
		}
		if what == "nan" {
			n += s.NaN
		} else {
			n += s.Inf
		}
	}
	return n
}

// SortFields lists the --sort fields of stats: name, then the others A-Z.
func SortFields() []string {
	names := []string{"name"}
	for k := range sortFields {
		names = append(names, k)
	}
	sort.Strings(names[1:])
	return names
}

// SortFieldNames lists the --sort fields of stats, for help and errors.
func SortFieldNames() string { return strings.Join(SortFields(), ", ") }

// groupSortFields read the --sort fields of stats from --group-by layer
// groups: each parameter figure's counterpart over the group.
var groupSortFields = map[string]func(*GroupStats) *output.Float{
	"fp32.l2":               func(g *GroupStats) *output.Float { return g.WeightNorm },
	"fp32.rms":              func(g *GroupStats) *output.Float { return g.WeightRMS },
	"fp32.absmax":           func(g *GroupStats) *output.Float { return g.WeightAbsMax },
	"fp32.std":              func(g *GroupStats) *output.Float { return g.WeightStd },
	"exp_avg.rms":           func(g *GroupStats) *output.Float { return g.ExpAvgRMS },
	"exp_avg.absmax":        func(g *GroupStats) *output.Float { return g.ExpAvgAbsMax },
	"exp_avg_sq.mean":       func(g *GroupStats) *output.Float { return g.ExpAvgSqMean },
	"exp_avg_sq.max":        func(g *GroupStats) *output.Float { return g.ExpAvgSqMax },
	"bf16.rms":              func(g *GroupStats) *output.Float { return g.BF16RMS },
	"adam.update_rms":       func(g *GroupStats) *output.Float { return g.UpdateRMS },
	"adam.update_to_weight": func(g *GroupStats) *output.Float { return g.UpdateToWeight },
	"numel":                 func(g *GroupStats) *output.Float { return output.Opt(float64(g.Numel), true) },
	"nan":                   func(g *GroupStats) *output.Float { return output.Opt(float64(g.NaN), true) },
	"inf":                   func(g *GroupStats) *output.Float { return output.Opt(float64(g.Inf), true) },
	"effective.l2": func(g *GroupStats) *output.Float {
		if g.GroupEffective == nil {
			return nil
		}
		return g.EffectiveNorm
	},
	"effective.rms": func(g *GroupStats) *output.Float {
		if g.GroupEffective == nil {
			return nil
		}
		return g.EffectiveRMS
	},
}

// OrderGroups sorts --group-by layer groups by a --sort field of stats
// (largest first, missing values last; "name" and "" keep depth order) and
// keeps the first top.
func OrderGroups(gs []GroupStats, field string, top int) []GroupStats {
	if get := groupSortFields[field]; get != nil {
		sort.SliceStable(gs, func(i, j int) bool {
			a, b := get(&gs[i]), get(&gs[j])
			if (a == nil) != (b == nil) {
				return a != nil
			}
			return a != nil && *a > *b
		})
	}
	if top > 0 && len(gs) > top {
		gs = gs[:top]
	}
	return gs
}

// CheckpointInfoOf describes an opened checkpoint in documents.
func CheckpointInfoOf(c *ckpt.Checkpoint) CheckpointInfo {
	info := CheckpointInfo{Path: c.Path, Layout: c.Layout, Tag: c.Tag, Step: c.Step, TrainerStep: c.TrainerStep,
		DSVersion: c.DSVersion, Notes: NonNilS(c.Notes), ParamGroups: []ParamGroupInfo{},
		ZeroStage: c.ZeroStage, DPWorldSize: c.DPWorldSize, MPWorldSize: c.MPWorldSize, WeightsOnly: c.WeightsOnly}
	for _, g := range c.ParamGroups {
		pg := ParamGroupInfo{LR: optPtr(g.LR), Eps: optPtr(g.Eps), WeightDecay: optPtr(g.WeightDecay), Params: NonNilS(g.Params)}
		if g.Betas != nil {
			pg.Betas = []output.Float{output.Float(g.Betas[0]), output.Float(g.Betas[1])}
		}
		info.ParamGroups = append(info.ParamGroups, pg)
	}
	if c.TrainerDir != "" {
		// Read as an inert object; a file the policy refuses is left out.
		if ta, err := resume.ReadTrainingArgs(filepath.Join(c.TrainerDir, "training_args.bin"), torchsave.Options{}); err == nil {
			info.TrainingArgs = ta.Summary()
		}
	}
	return info
}

// MissingNotes phrases the states parameters lack (ckpt.Missing) as notes,
// one per state, for the parameters scanned (all when scanned is nil).
func MissingNotes(c *ckpt.Checkpoint, scanned func(*ckpt.Param) bool) []string {
	byState := map[ckpt.State][]string{}
	var states []ckpt.State
	skip := map[string]bool{}
	if scanned != nil {
		for _, p := range c.Params {
			skip[p.Name] = !scanned(p)
		}
	}
	for _, m := range c.Missing() {
		if skip[m.Param] {
			continue
		}
		if byState[m.State] == nil {
			states = append(states, m.State)
		}
		byState[m.State] = append(byState[m.State], m.Param)
	}
	var notes []string
	for _, st := range states {
		names := byState[st]
		what := "its statistics are not shown"
		if st == ckpt.ExpAvg || st == ckpt.ExpAvgSq || st == ckpt.StepState {
			what = "its statistics and the AdamW update are not shown"
		}
		list := strings.Join(names, ", ")
		if len(names) > 5 {
			list = strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
		}
		notes = append(notes, fmt.Sprintf("%d parameters have no %s (%s.pt missing or unreadable): %s; %s", len(names), st, st, list, what))
	}
	return notes
}

// BuildStats turns a scan of a checkpoint into the document stats prints.
func BuildStats(c *ckpt.Checkpoint, res *ckpt.Result) CheckpointStats {
	info := CheckpointInfoOf(c)
	scanned := map[string]bool{}
	for _, pr := range res.Params {
		scanned[pr.Param.Name] = true
	}
	info.Notes = append(info.Notes, MissingNotes(c, func(p *ckpt.Param) bool { return scanned[p.Name] })...)
	doc := CheckpointStats{Checkpoint: info, Params: []ParamStats{}}
	for _, pr := range res.Params {
		p := pr.Param
		ps := ParamStats{Name: p.Name, Shape: NonNil(p.Shape), Numel: p.Numel(), Step: p.Step, Scale: pr.Scale,
			FP32: StatsOf(pr.FP32), ExpAvg: StatsOf(pr.ExpAvg), ExpAvgSq: StatsOf(pr.ExpAvgSq), BF16: StatsOf(pr.BF16)}
		if p.Group >= 0 {
			g := p.Group
			ps.Group = &g
		}
		if pr.Scale {
			ps.ScaleValue = output.Opt(pr.ScaleValue, true)
		}
		if pr.Adam != nil {
			ps.Adam = &AdamStats{UpdateRMS: output.Opt(pr.Adam.UpdateRMS, true),
				UpdateToWeight: output.Opt(pr.Adam.UpdateToWeight, pr.Adam.HasRatio),
				LR:             output.Float(pr.Adam.LR), Step: pr.Adam.Step}
		}
		if len(p.Keys) > 0 {
			ps.Keys = p.Keys
		}
		doc.Params = append(doc.Params, ps)
	}
	doc.Summary = SummaryOf(res)
	return doc
}

// SummaryOf converts a scan's summary, naming the parameters with NaN or
// Inf values.
func SummaryOf(res *ckpt.Result) Summary {
	s := res.Summary
	out := Summary{Step: s.Step, Params: s.Params, Numel: s.Numel, BytesScanned: s.BytesScanned,
		WeightNorm: output.Float(s.WeightNorm), ExpAvgNorm: output.Float(s.ExpAvgNorm),
		ExpAvgSqNorm: output.Float(s.ExpAvgSqNorm), BF16Norm: output.Float(s.BF16Norm), NaN: s.NaN, Inf: s.Inf,
		States: map[string]int{}, NonFinite: []string{}}
	for st, n := range s.States {
		out.States[string(st)] = n
	}
	for _, pr := range res.Params {
		for _, st := range []*tensor.Stats{pr.FP32, pr.ExpAvg, pr.ExpAvgSq, pr.BF16} {
			if st != nil && st.NaN+st.Inf > 0 {
				out.NonFinite = append(out.NonFinite, pr.Param.Name)
				break
			}
		}
	}
	return out
}

func optPtr(p *float64) *output.Float {
	if p == nil {
		return nil
	}
	return output.Opt(*p, true)
}

// StatsOf converts tensor statistics to their JSON form, or nil for nil.
func StatsOf(s *tensor.Stats) *Stats {
	if s == nil {
		return nil
	}
	r := FromStats(*s)
	return &r
}

// OrderParams sorts by field (largest first; missing values last; name
// A-Z) and keeps the first top.
func OrderParams(ps []ParamStats, field string, top int) []ParamStats {
	switch {
	case field == "name":
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	case field != "":
		get := sortFields[field]
		sort.SliceStable(ps, func(i, j int) bool {
			a, okA := get(&ps[i])
			b, okB := get(&ps[j])
			if okA != okB {
				return okA
			}
			return a > b
		})
	}
	if top > 0 && len(ps) > top {
		ps = ps[:top]
	}
	return ps
}

// GroupByLayer adds up a scan's figures per transformer layer (the groups
// of yulan.Group: embedding, layer N, final norm, lm_head, other), in
// depth order.
func GroupByLayer(res *ckpt.Result) []GroupStats {
	type acc struct {
		order             int
		params            int
		numel             int64
		wSq, wN, mSq, mN  float64
		vSum, vN, bSq, bN float64
		uSq, uN, luSq     float64
		w                 []tensor.Stats // fp32 statistics, for the std
		nan, inf          int64
		wAbs, mAbs, vMax  *float64
	}
	maxOf := func(dst **float64, x float64) {
		if *dst == nil || x > **dst {
			*dst = &x
		}
	}
	groups := map[string]*acc{}
	var names []string
	for _, pr := range res.Params {
		name, order := yulan.Group(pr.Param.Name)
		a := groups[name]
		if a == nil {
			a = &acc{order: order}
			groups[name] = a
			names = append(names, name)
		}
		a.params++
		a.numel += pr.Param.Numel()
		sq := func(s *tensor.Stats, dst, n *float64) {
			if s != nil && s.Valid() {
				*dst += s.L2 * s.L2
				*n += float64(s.Finite)
			}
		}
		sq(pr.FP32, &a.wSq, &a.wN)
		sq(pr.ExpAvg, &a.mSq, &a.mN)
		sq(pr.BF16, &a.bSq, &a.bN)
		if s := pr.FP32; s != nil && s.Valid() {
			a.w = append(a.w, *s)
			maxOf(&a.wAbs, s.AbsMax)
		}
		if s := pr.ExpAvg; s != nil && s.Valid() {
			maxOf(&a.mAbs, s.AbsMax)
		}
		if s := pr.ExpAvgSq; s != nil && s.Valid() {
			a.vSum += s.Mean * float64(s.Finite)
			a.vN += float64(s.Finite)
			maxOf(&a.vMax, s.Max)
		}
		if pr.Adam != nil {
			a.uSq += pr.Adam.SumSq
			a.uN += float64(pr.Adam.N)
			a.luSq += pr.Adam.LR * pr.Adam.LR * pr.Adam.SumSq
		}
		for _, s := range []*tensor.Stats{pr.FP32, pr.ExpAvg, pr.ExpAvgSq, pr.BF16} {
			if s != nil {
				a.nan += s.NaN
				a.inf += s.Inf
			}
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return groups[names[i]].order < groups[names[j]].order })
	opt := func(p *float64) *output.Float {
		if p == nil {
			return nil
		}
		return output.Opt(*p, true)
	}
	out := make([]GroupStats, 0, len(names))
	for _, n := range names {
		a := groups[n]
		g := GroupStats{Name: n, Params: a.params, Numel: a.numel, NaN: a.nan, Inf: a.inf,
			WeightNorm: output.Opt(math.Sqrt(a.wSq), a.wN > 0), WeightRMS: output.Opt(math.Sqrt(a.wSq/a.wN), a.wN > 0),
			ExpAvgRMS: output.Opt(math.Sqrt(a.mSq/a.mN), a.mN > 0), ExpAvgSqMean: output.Opt(a.vSum/a.vN, a.vN > 0),
			BF16RMS: output.Opt(math.Sqrt(a.bSq/a.bN), a.bN > 0), UpdateRMS: output.Opt(math.Sqrt(a.uSq/a.uN), a.uN > 0),
			WeightAbsMax: opt(a.wAbs), ExpAvgAbsMax: opt(a.mAbs), ExpAvgSqMax: opt(a.vMax)}
		if a.wN > 0 {
			g.WeightStd = output.Opt(pooledStd(a.w, a.wN), true)
		}
		if a.uN > 0 && a.wN > 0 && a.wSq > 0 {
			g.UpdateToWeight = output.Opt(math.Sqrt(a.luSq/a.uN)/math.Sqrt(a.wSq/a.wN), true)
		}
		out = append(out, g)
	}
	return out
}

// pooledStd returns the standard deviation of the union of tensors from
// their statistics: the mean of the within-tensor variances plus the
// variance of the means, weighted by their finite counts (n in all).
func pooledStd(st []tensor.Stats, n float64) float64 {
	var mean float64
	for _, s := range st {
		mean += s.Mean * float64(s.Finite)
	}
	mean /= n
	var v float64
	for _, s := range st {
		d := s.Mean - mean
		v += float64(s.Finite) * (s.Std*s.Std + d*d)
	}
	return math.Sqrt(v / n)
}

// ParamCSV returns the per-parameter table of stats, for CSV.
func ParamCSV(ps []ParamStats) *output.TableWriter {
	states := []string{"fp32", "exp_avg", "exp_avg_sq", "bf16"}
	fields := []string{"l2", "rms", "mean", "std", "min", "max", "absmax", "nan", "inf", "zeros"}
	h := []string{"name", "shape", "numel", "step", "group", "scale", "scale_value"}
	for _, s := range states {
		for _, f := range fields {
			h = append(h, s+"_"+f)
		}
	}
	h = append(h, "update_rms", "update_to_weight")
	tw := &output.TableWriter{Headers: h}
	for _, p := range ps {
		row := []string{p.Name, output.ShapeCompact(p.Shape), strconv.FormatInt(p.Numel, 10), OptInt(p.Step), optIntP(p.Group),
			strconv.FormatBool(p.Scale), CSVNum(p.ScaleValue)}
		for _, s := range []*Stats{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
			if s == nil {
				row = append(row, make([]string, len(fields))...)
				continue
			}
			row = append(row, CSVNum(s.L2), CSVNum(s.RMS), CSVNum(s.Mean), CSVNum(s.Std), CSVNum(s.Min), CSVNum(s.Max),
				CSVNum(s.AbsMax), strconv.FormatInt(s.NaN, 10), strconv.FormatInt(s.Inf, 10), strconv.FormatInt(s.Zeros, 10))
		}
		if p.Adam != nil {
			row = append(row, CSVNum(p.Adam.UpdateRMS), CSVNum(p.Adam.UpdateToWeight))
		} else {
			row = append(row, "", "")
		}
		tw.Add(row...)
	}
	addEffectiveCSV(tw, ps)
	return tw
}

// OptInt formats an optional integer, or "" for nil.
func OptInt(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

func optIntP(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// CSVNum writes a float at full precision, or an empty cell for null.
func CSVNum(f *output.Float) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*f), 'g', -1, 64)
}

// ValidSort reports whether field is a --sort field of stats.
func ValidSort(field string) bool { return field == "" || field == "name" || sortFields[field] != nil }
