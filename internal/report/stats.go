package report

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
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

// SortFieldNames lists the --sort fields of stats, for help and errors.
func SortFieldNames() string {
	names := []string{"name"}
	for k := range sortFields {
		names = append(names, k)
	}
	sort.Strings(names[1:])
	return strings.Join(names, ", ")
}

// BuildStats turns a scan of a checkpoint into the document stats prints.
func BuildStats(c *ckpt.Checkpoint, res *ckpt.Result) CheckpointStats {
	info := CheckpointInfo{Path: c.Path, Layout: c.Layout, Tag: c.Tag, Step: c.Step, TrainerStep: c.TrainerStep,
		DSVersion: c.DSVersion, Notes: NonNilS(c.Notes), ParamGroups: []ParamGroupInfo{}}
	for _, g := range c.ParamGroups {
		pg := ParamGroupInfo{LR: optPtr(g.LR), Eps: optPtr(g.Eps), WeightDecay: optPtr(g.WeightDecay), Params: NonNilS(g.Params)}
		if g.Betas != nil {
			pg.Betas = []output.Float{output.Float(g.Betas[0]), output.Float(g.Betas[1])}
		}
		info.ParamGroups = append(info.ParamGroups, pg)
	}
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
	s := res.Summary
	doc.Summary = Summary{Step: s.Step, Params: s.Params, Numel: s.Numel, BytesScanned: s.BytesScanned,
		WeightNorm: output.Float(s.WeightNorm), ExpAvgNorm: output.Float(s.ExpAvgNorm),
		ExpAvgSqNorm: output.Float(s.ExpAvgSqNorm), BF16Norm: output.Float(s.BF16Norm), NaN: s.NaN, Inf: s.Inf}
	return doc
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

// LayerOf names the aggregate a parameter belongs to.
var layerRE = regexp.MustCompile(`(?:^|\.)layers\.(\d+)\.`)

// LayerOf names the group --group-by layer puts a parameter in, with its
// rank in the order groups are listed.
func LayerOf(name string) (string, int) {
	if m := layerRE.FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[1])
		return "layer " + m[1], n
	}
	switch {
	case strings.Contains(name, "embed"):
		return "embedding", -1
	case strings.HasPrefix(name, "lm_head"):
		return "lm_head", 1 << 30
	case strings.Contains(name, "norm"):
		return "final norm", 1<<30 - 1
	}
	return "other", 1<<30 + 1
}

// GroupByLayer adds up a scan's figures per transformer layer.
func GroupByLayer(res *ckpt.Result) []GroupStats {
	type acc struct {
		name              string
		order             int
		params            int
		numel             int64
		wSq, wN, mSq, mN  float64
		vSum, vN, bSq, bN float64
		uSq, uN, luSq     float64
		nan, inf          int64
	}
	groups := map[string]*acc{}
	var names []string
	for _, pr := range res.Params {
		name, order := LayerOf(pr.Param.Name)
		a := groups[name]
		if a == nil {
			a = &acc{name: name, order: order}
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
		if s := pr.ExpAvgSq; s != nil && s.Valid() {
			a.vSum += s.Mean * float64(s.Finite)
			a.vN += float64(s.Finite)
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
	out := make([]GroupStats, 0, len(names))
	for _, n := range names {
		a := groups[n]
		g := GroupStats{Name: n, Params: a.params, Numel: a.numel, NaN: a.nan, Inf: a.inf,
			WeightNorm: output.Opt(math.Sqrt(a.wSq), a.wN > 0), WeightRMS: output.Opt(math.Sqrt(a.wSq/a.wN), a.wN > 0),
			ExpAvgRMS: output.Opt(math.Sqrt(a.mSq/a.mN), a.mN > 0), ExpAvgSqMean: output.Opt(a.vSum/a.vN, a.vN > 0),
			BF16RMS: output.Opt(math.Sqrt(a.bSq/a.bN), a.bN > 0), UpdateRMS: output.Opt(math.Sqrt(a.uSq/a.uN), a.uN > 0)}
		if a.uN > 0 && a.wN > 0 && a.wSq > 0 {
			g.UpdateToWeight = output.Opt(math.Sqrt(a.luSq/a.uN)/math.Sqrt(a.wSq/a.wN), true)
		}
		out = append(out, g)
	}
	return out
}

// GroupTable returns the table of --group-by layer groups: short headers
// for text, snake_case ones for CSV.
func GroupTable(gs []GroupStats, csv bool) *output.TableWriter {
	tw := &output.TableWriter{Headers: []string{"group", "params", "numel", "weight_norm", "weight_rms", "exp_avg_rms",
		"exp_avg_sq_mean", "bf16_rms", "update_rms", "update_to_weight", "nan", "inf"}, Align: output.RightAligned(12)}
	if !csv {
		tw.Headers = []string{"group", "params", "numel", "w norm", "w rms", "m rms", "v mean", "bf16 rms", "upd rms", "upd/w", "nan", "inf"}
	}
	num, cnt := output.Num, output.Count
	if csv {
		num = CSVNum
		cnt = func(n int64) string { return strconv.FormatInt(n, 10) }
	}
	for _, g := range gs {
		tw.Add(g.Name, strconv.Itoa(g.Params), cnt(g.Numel), num(g.WeightNorm), num(g.WeightRMS), num(g.ExpAvgRMS),
			num(g.ExpAvgSqMean), num(g.BF16RMS), num(g.UpdateRMS), num(g.UpdateToWeight), cnt(g.NaN), cnt(g.Inf))
	}
	addEffectiveGroupColumn(tw, gs, csv)
	return tw
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

// ShortName keeps a parameter name within width runes by eliding its
// middle.
func ShortName(s string, width int) string {
	if len(s) <= width {
		return s
	}
	keep := width - 1
	return s[:keep/2] + "…" + s[len(s)-(keep-keep/2):]
}

// WriteStatsText writes a checkpoint's statistics as text tables.
func WriteStatsText(w io.Writer, doc CheckpointStats) error {
	ci := doc.Checkpoint
	fmt.Fprintf(w, "%s: %s checkpoint %s", ci.Path, layout.Title(ci.Layout), ci.Tag)
	if ci.Step != nil {
		fmt.Fprintf(w, ", step %d", *ci.Step)
	}
	if ci.DSVersion != "" {
		fmt.Fprintf(w, ", DeepSpeed %s", ci.DSVersion)
	}
	fmt.Fprintln(w)
	for i, g := range ci.ParamGroups {
		betas := "-"
		if len(g.Betas) == 2 {
			betas = output.NumF(float64(g.Betas[0])) + ", " + output.NumF(float64(g.Betas[1]))
		}
		fmt.Fprintf(w, "  group %d: %d params, lr %s, betas (%s), eps %s, weight decay %s\n", i, len(g.Params),
			output.Num(g.LR), betas, output.Num(g.Eps), output.Num(g.WeightDecay))
	}
	for _, n := range ci.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	writeEffectiveNotes(w, doc)
	fmt.Fprintln(w)
	if doc.Groups != nil {
		if err := GroupTable(doc.Groups, false).WriteText(w); err != nil {
			return err
		}
	} else {
		ps := doc.Params
		tw := output.TableWriter{Headers: []string{"parameter", "shape", "fp32 rms", "absmax", "bf16 rms", "m rms", "v mean", "upd rms", "upd/w", "bad"},
			Align: output.RightAligned(10)}
		tw.Align[1] = output.Left
		var scales []ParamStats
		for _, p := range ps {
			get := func(s *Stats, f func(*Stats) *output.Float) string {
				if s == nil {
					return "-"
				}
				return output.Num(f(s))
			}
			rms := func(s *Stats) *output.Float { return s.RMS }
			upd, ratio := "-", "-"
			if p.Adam != nil {
				upd, ratio = output.Num(p.Adam.UpdateRMS), output.Num(p.Adam.UpdateToWeight)
			}
			bad := countAll(&p, "nan") + countAll(&p, "inf")
			tw.Add(ShortName(p.Name, 44), output.ShapeCompact(p.Shape), get(p.FP32, rms), get(p.FP32, func(s *Stats) *output.Float { return s.AbsMax }),
				get(p.BF16, rms), get(p.ExpAvg, rms), get(p.ExpAvgSq, func(s *Stats) *output.Float { return s.Mean }),
				upd, ratio, output.Count(bad))
			if p.Scale {
				scales = append(scales, p)
			}
		}
		addEffectiveColumn(&tw, doc, ps)
		if err := tw.WriteText(w); err != nil {
			return err
		}
		if len(scales) > 0 {
			fmt.Fprintln(w)
			st := output.TableWriter{Headers: []string{"scale factor", "value", "bf16", "m", "v", "upd/w"}, Align: output.RightAligned(6)}
			for _, p := range scales {
				bf, m, v, ratio := "-", "-", "-", "-"
				if p.BF16 != nil {
					bf = output.Num(p.BF16.Mean)
				}
				if p.ExpAvg != nil {
					m = output.Num(p.ExpAvg.Mean)
				}
				if p.ExpAvgSq != nil {
					v = output.Num(p.ExpAvgSq.Mean)
				}
				if p.Adam != nil {
					ratio = output.Num(p.Adam.UpdateToWeight)
				}
				st.Add(ShortName(p.Name, 44), output.Num(p.ScaleValue), bf, m, v, ratio)
			}
			if err := st.WriteText(w); err != nil {
				return err
			}
		}
	}
	s := doc.Summary
	fmt.Fprintln(w)
	step := "-"
	if s.Step != nil {
		step = strconv.FormatInt(*s.Step, 10)
	}
	fmt.Fprintf(w, "step %s: %d parameters, %s elements, %s scanned\n", step, s.Params, output.Count(s.Numel), output.Bytes(s.BytesScanned))
	fmt.Fprintf(w, "global norms: weights %s, bf16 %s, exp_avg %s, exp_avg_sq %s; NaN %s, Inf %s\n",
		output.NumF(float64(s.WeightNorm)), output.NumF(float64(s.BF16Norm)), output.NumF(float64(s.ExpAvgNorm)),
		output.NumF(float64(s.ExpAvgSqNorm)), output.Count(s.NaN), output.Count(s.Inf))
	if s.SummaryEffective != nil {
		fmt.Fprintf(w, "effective weights: global norm %s\n", output.NumF(float64(s.EffectiveNorm)))
	}
	return nil
}

// WriteFileStats writes the statistics of a file's tensors in the given
// output format.
func WriteFileStats(w io.Writer, f output.Format, doc FileStats) error {
	if f == output.JSON {
		return output.WriteJSON(w, doc)
	}
	tw := output.TableWriter{
		Headers: []string{"name", "dtype", "shape", "numel", "l2", "rms", "mean", "std", "min", "max", "absmax", "nan", "inf", "zeros"},
		Align:   []output.Align{output.Left, output.Left, output.Left, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right},
	}
	for _, r := range doc.Tensors {
		if f == output.CSV {
			tw.Add(r.Name, r.DType, output.ShapeCompact(r.Shape), strconv.FormatInt(r.Numel, 10),
				CSVNum(r.L2), CSVNum(r.RMS), CSVNum(r.Mean), CSVNum(r.Std), CSVNum(r.Min), CSVNum(r.Max), CSVNum(r.AbsMax),
				strconv.FormatInt(r.NaN, 10), strconv.FormatInt(r.Inf, 10), strconv.FormatInt(r.Zeros, 10))
			continue
		}
		tw.Add(r.Name, r.DType, output.ShapeCompact(r.Shape), output.Count(r.Numel),
			output.Num(r.L2), output.Num(r.RMS), output.Num(r.Mean), output.Num(r.Std), output.Num(r.Min), output.Num(r.Max), output.Num(r.AbsMax),
			output.Count(r.NaN), output.Count(r.Inf), output.Count(r.Zeros))
	}
	if f == output.CSV {
		return tw.WriteCSV(w)
	}
	return tw.WriteText(w)
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

// WriteStats writes a checkpoint's statistics in the given output format:
// the document as JSON; the group or parameter table as CSV; text tables.
func WriteStats(w io.Writer, f output.Format, doc CheckpointStats) error {
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
		if doc.Groups != nil {
			return GroupTable(doc.Groups, true).WriteCSV(w)
		}
		return ParamCSV(doc.Params).WriteCSV(w)
	}
	return WriteStatsText(w, doc)
}
