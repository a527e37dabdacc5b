// Package htmlreport renders the training-dynamics report of `ckptinspect
// report`: one self-contained HTML file with inline SVG charts and inline
// CSS — no script, no font, image or style sheet fetched from anywhere — so
// it opens offline in any browser and can be mailed or archived as is.
//
// The input is a [Report]: the statistics documents of one or more
// checkpoints of one model, ordered by step (with their per-layer groups),
// the comparisons of consecutive checkpoints, and optionally a histogram
// of one tensor. [Write] draws, with labelled axes and a legend on every
// chart: weight RMS, AdamW update-to-weight ratio and moment RMS by layer
// (a line per checkpoint), the relative weight change by layer between
// consecutive checkpoints, the re-parameterisation scale factors by layer,
// the parameters that changed most, the histogram, and a summary table.
// The output is also well-formed XML, which tests use to check it.
package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

// Report is what [Write] renders.
type Report struct {
	Title string `json:"title"`
	// Checkpoints are ordered by step; each Stats should hold its layer
	// groups (Groups).
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Changes compare consecutive checkpoints: Changes[i] goes from
	// Checkpoints[i] to Checkpoints[i+1]. Each Diff should hold its layer
	// groups (Groups).
	Changes []Change `json:"changes"`
	// Hist is a histogram of one tensor in every checkpoint, or nil.
	Hist *Hist `json:"hist"`
	// Top is the number of most-changed parameters shown per change
	// (default 12).
	Top int `json:"top"`
	// Notes are shown at the top of the report.
	Notes []string `json:"notes"`
}

// Checkpoint is one checkpoint of the report.
type Checkpoint struct {
	Label string                 `json:"label"` // short name in legends: "step 120"
	Stats report.CheckpointStats `json:"stats"`
}

// Change compares two consecutive checkpoints.
type Change struct {
	Label string      `json:"label"` // "step 100 → 120"
	Diff  report.Diff `json:"diff"`
}

// Hist holds histograms of one tensor in several checkpoints over common
// bins: Bins equal-width bins over [Lo, Hi].
type Hist struct {
	Param  string       `json:"param"`
	State  string       `json:"state"`
	Lo     float64      `json:"lo"`
	Hi     float64      `json:"hi"`
	Bins   int          `json:"bins"`
	Series []HistSeries `json:"series"`
}

// HistSeries is the histogram of the tensor in one checkpoint.
type HistSeries struct {
	Label     string  `json:"label"`
	Counts    []int64 `json:"counts"`
	NonFinite int64   `json:"non_finite"` // NaN and infinite values, not binned
}

// Write renders r as one HTML document.
// Write renders r as one HTML document.
func Write(w io.Writer, r *Report) error {
	title := r.Title
	if title == "" {
		title = "ckptinspect report"
	}
	p := &page{Title: title, Sub: subtitle(r), Notes: r.Notes}
	p.Secs = append(p.Secs, summarySection(r))
	cats := layerCategories(r)
	short := shortCategories(cats)
	layers := section{ID: "layers", Title: "By layer",
		Explain: []template.HTML{"Layers in depth order: the embedding, the transformer layers, the final norm and the head. Each figure is over all the elements of the layer's parameters."}}
	figs := []figure{
		{(&lineChart{id: "weight-rms", title: "Weight RMS by layer", xLabel: "depth (layer)", yLabel: "fp32 weight RMS (value, log scale)",
			categories: short, series: checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.WeightRMS }), logY: true}).build(),
			"Root mean square of the fp32 master weights of each layer."},
		{(&lineChart{id: "update-ratio", title: "AdamW update-to-weight ratio by layer", xLabel: "depth (layer)", yLabel: "lr·RMS(update) / RMS(weight) (ratio, log scale)",
			categories: short, series: checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.UpdateToWeight }), logY: true}).build(),
			"The step the optimizer's state asks for, relative to the weights: u = m̂/(√v̂+ε), ratio = RMS(lr·u)/RMS(w) over the layer."},
		{momentChart(r, cats), "Solid: RMS of exp_avg (first moment). Dashed: √(mean of exp_avg_sq), the RMS of √v (second moment)."},
	}
	if len(r.Changes) > 0 {
		figs = append(figs, figure{layerChangeChart(r, cats), "‖W_b − W_a‖ / ‖W_a‖ of the fp32 weights of each layer, between consecutive checkpoints."})
	}
	layers.Blocks = append(layers.Blocks, figures(false, figs...))
	p.Secs = append(p.Secs, layers, scalesSection(r), changesSection(r))
	if r.Hist != nil {
		p.Secs = append(p.Secs, histSection(r))
	}
	return p.render(w)
}

func subtitle(r *Report) string {
	n := len(r.Checkpoints)
	if n == 0 {
		return "no checkpoint"
	}
	first, last := r.Checkpoints[0].Label, r.Checkpoints[n-1].Label
	if n == 1 {
		return fmt.Sprintf("1 checkpoint (%s), %s", first, r.Checkpoints[0].Stats.Checkpoint.Path)
	}
	return fmt.Sprintf("%d checkpoints, %s to %s, ordered by step", n, first, last)
}

// layerCategories lists the layer groups of every checkpoint, in depth
// order (the order of stats --group-by layer), the first checkpoint's
// first.
func layerCategories(r *Report) []string {
	var cats []string
	for _, c := range r.Checkpoints {
		for _, g := range c.Stats.Groups {
			if !slices.Contains(cats, g.Name) {
				cats = append(cats, g.Name)
			}
		}
	}
	return cats
}

// shortCategories shortens layer group names for tick labels.
func shortCategories(cats []string) []string {
	out := make([]string, len(cats))
	for i, c := range cats {
		switch {
		case strings.HasPrefix(c, "layer "):
			out[i] = strings.TrimPrefix(c, "layer ")
		case c == "embedding":
			out[i] = "emb"
		case c == "final norm":
			out[i] = "norm"
		case c == "lm_head":
			out[i] = "head"
		default:
			out[i] = c
		}
	}
	return out
}

func val(f *output.Float) float64 {
	if f == nil {
		return math.NaN()
	}
	return float64(*f)
}

// nans returns n NaN values.
func nans(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// checkpointSeries returns a series per checkpoint of a per-layer figure.
func checkpointSeries(r *Report, cats []string, get func(report.GroupStats) *output.Float) []curve {
	var out []curve
	for i, c := range r.Checkpoints {
		s := curve{name: c.Label, color: seriesColor(i, len(r.Checkpoints)), marker: i, values: nans(len(cats))}
		for _, g := range c.Stats.Groups {
			if k := slices.Index(cats, g.Name); k >= 0 {
				s.values[k] = val(get(g))
			}
		}
		out = append(out, s)
	}
	return out
}

func momentChart(r *Report, cats []string) *svgChart {
	m := checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.ExpAvgRMS })
	v := checkpointSeries(r, cats, func(g report.GroupStats) *output.Float {
		if g.ExpAvgSqMean == nil {
			return nil
		}
		x := output.Float(math.Sqrt(float64(*g.ExpAvgSqMean)))
		return &x
	})
	var all []curve
	var legend []legendEntry
	for i := range m {
		m[i].name = m[i].name + " exp_avg"
		v[i].name, v[i].dashed = v[i].name+" √exp_avg_sq", true
		all = append(all, m[i], v[i])
		legend = append(legend, legendEntry{name: m[i].name, color: m[i].color, marker: i}, legendEntry{name: v[i].name, color: v[i].color, dashed: true, marker: i})
	}
	return (&lineChart{id: "moments", title: "Adam moment RMS by layer", xLabel: "depth (layer)", yLabel: "RMS (gradient units, log scale)",
		categories: shortCategories(cats), series: all, logY: true, legend: legend}).build()
}

func layerChangeChart(r *Report, cats []string) *svgChart {
	var ss []curve
	for i, ch := range r.Changes {
		s := curve{name: ch.Label, color: seriesColor(i+1, len(r.Checkpoints)), marker: i + 1, values: nans(len(cats))}
		for _, g := range ch.Diff.Groups {
			if k := slices.Index(cats, g.Name); k >= 0 && g.FP32 != nil {
				s.values[k] = val(g.FP32.RelChange)
			}
		}
		ss = append(ss, s)
	}
	return (&lineChart{id: "layer-change", title: "Relative weight change by layer", xLabel: "depth (layer)", yLabel: "‖ΔW‖ / ‖W‖ (ratio, log scale)",
		categories: shortCategories(cats), series: ss, logY: true}).build()
}

// scaleRE splits the name of a per-layer scale factor into its layer and
// its kind (q_proj_alpha, gate_up_proj_alpha, ...).
var scaleRE = regexp.MustCompile(`(?:^|\.)layers\.(\d+)\.(?:self_attn\.|mlp\.)?(.+)$`)

const scalesExplain template.HTML = "Re-parameterisation scale factors (one-element <code>*_alpha</code> parameters, YuLan-Mini's WeSaR): each multiplies a projection's output, the MLP input or output, or a norm's output."

const noScales template.HTML = "No scale factors (one-element <code>*_alpha</code> parameters, as YuLan-Mini's WeSaR re-parameterisation adds) in these checkpoints."

func scalesSection(r *Report) section {
	sec := section{ID: "scales", Title: "Scale factors"}
	type key struct {
		ckpt int
		kind string
	}
	values := map[key]map[int]float64{}
	var kinds []string
	layers := 0
	global := map[string][]float64{}
	var globalNames []string
	for i, c := range r.Checkpoints {
		for _, p := range c.Stats.Params {
			if !p.Scale || p.ScaleValue == nil {
				continue
			}
			if m := scaleRE.FindStringSubmatch(p.Name); m != nil {
				layer, _ := strconv.Atoi(m[1])
				k := key{i, m[2]}
				if values[k] == nil {
					values[k] = map[int]float64{}
				}
				values[k][layer] = float64(*p.ScaleValue)
				layers = max(layers, layer+1)
				if !slices.Contains(kinds, m[2]) {
					kinds = append(kinds, m[2])
				}
				continue
			}
			if global[p.Name] == nil {
				global[p.Name] = nans(len(r.Checkpoints))
				globalNames = append(globalNames, p.Name)
			}
			global[p.Name][i] = float64(*p.ScaleValue)
		}
	}
	if len(kinds) == 0 && len(globalNames) == 0 {
		sec.Explain = []template.HTML{noScales}
		return sec
	}
	sec.Explain = []template.HTML{scalesExplain}
	if len(kinds) > 0 {
		last := len(r.Checkpoints) - 1
		cats := make([]string, layers)
		for i := range cats {
			cats[i] = strconv.Itoa(i)
		}
		var ss []curve
		var legend []legendEntry
		shown := []int{last}
		if last > 0 {
			shown = append(shown, 0)
		}
		for ki, kind := range kinds {
			color := palette[ki%len(palette)]
			for _, ck := range shown {
				s := curve{name: kind + " (" + r.Checkpoints[ck].Label + ")", color: color, dashed: ck != last, values: make([]float64, layers)}
				for l := range s.values {
					v, ok := values[key{ck, kind}][l]
					if !ok {
						v = math.NaN()
					}
					s.values[l] = v
				}
				ss = append(ss, s)
			}
			legend = append(legend, legendEntry{name: kind, color: color})
		}
		caption := "Value of each per-layer scale factor in " + r.Checkpoints[last].Label + "."
		if last > 0 {
			legend = append(legend, legendEntry{name: "dashed: " + r.Checkpoints[0].Label, color: "#777777", dashed: true})
			caption = "Solid: " + r.Checkpoints[last].Label + "; dashed: " + r.Checkpoints[0].Label + "."
		}
		sec.Blocks = append(sec.Blocks, figures(false, figure{(&lineChart{id: "scales", title: "Scale factors by layer", xLabel: "layer (index)", yLabel: "value (multiplier)",
			categories: cats, series: ss, legend: legend}).build(), caption}))
	}
	if len(globalNames) > 0 {
		t := &table{Class: "scales", Head: []string{"scale factor"}}
		for _, c := range r.Checkpoints {
			t.Head = append(t.Head, c.Label)
		}
		for _, n := range globalNames {
			row := []cell{{Text: n, Class: "name"}}
			for _, v := range global[n] {
				row = append(row, cell{Text: fmtVal(v)})
			}
			t.Rows = append(t.Rows, row)
		}
		sec.Blocks = append(sec.Blocks, block{Table: t})
	}
	return sec
}

func fmtVal(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return valueLabel(v)
}

func fmtF(f *output.Float) string { return fmtVal(val(f)) }

// ratioLabel formats a norm ratio, near 1, with 6 significant digits.
func ratioLabel(f *output.Float) string {
	if f == nil {
		return "–"
	}
	return strconv.FormatFloat(float64(*f), 'g', 6, 64)
}

func changesSection(r *Report) section {
	sec := section{ID: "changes", Title: "Parameters that changed most"}
	if len(r.Changes) == 0 {
		sec.Explain = []template.HTML{"Give two or more checkpoints to compare consecutive ones."}
		return sec
	}
	top := r.Top
	if top <= 0 {
		top = 12
	}
	sec.Explain = []template.HTML{"Relative change ‖W_b − W_a‖ / ‖W_a‖ of each parameter's fp32 master weight between consecutive checkpoints, largest first."}
	for i, ch := range r.Changes {
		ps := slices.Clone(ch.Diff.Params)
		sort.SliceStable(ps, func(i, j int) bool { // largest first, missing last
			a, b := val(rel(ps[i])), val(rel(ps[j]))
			if math.IsNaN(a) != math.IsNaN(b) {
				return !math.IsNaN(a)
			}
			return a > b
		})
		if len(ps) > top {
			ps = ps[:top]
		}
		var labels []string
		var values []float64
		for _, p := range ps {
			if rel(p) != nil {
				labels = append(labels, p.Name)
				values = append(values, val(rel(p)))
			}
		}
		sec.Blocks = append(sec.Blocks, figures(false, figure{(&barChart{id: fmt.Sprintf("changed-%d", i), title: "Most changed parameters, " + ch.Label,
			xLabel: "‖ΔW‖ / ‖W‖ of the fp32 weight (ratio)", yLabel: "parameter (name)",
			labels: labels, values: values, legend: ch.Label, color: seriesColor(i+1, len(r.Checkpoints))}).build(),
			fmt.Sprintf("The %d parameters with the largest relative change.", len(labels))}))
		t := &table{Head: []string{"parameter", "shape", "‖ΔW‖/‖W‖", "‖ΔW‖", "‖W‖", "1−cos", "‖W_b‖/‖W_a‖"}}
		effective := hasEffectiveDiff(ps)
		if effective {
			t.Head = append(t.Head, "effective ‖ΔW‖/‖W‖")
		}
		for _, p := range ps {
			d := p.FP32
			if d == nil {
				d = &report.StateDiff{}
			}
			cos := "–"
			if d.Cosine != nil {
				cos = valueLabel(1 - float64(*d.Cosine))
			}
			row := []cell{{Text: p.Name, Class: "name"}, {Text: output.ShapeCompact(p.ShapeA)}, {Text: fmtF(d.RelChange)},
				{Text: fmtF(d.DeltaL2)}, {Text: fmtF(d.AL2)}, {Text: cos}, {Text: ratioLabel(d.NormRatio)}}
			if effective {
				eff := "–"
				if p.ParamEffectiveDiff != nil && p.Effective != nil {
					eff = fmtF(p.Effective.RelChange)
				}
				row = append(row, cell{Text: eff})
			}
			t.Rows = append(t.Rows, row)
		}
		b := block{Table: t}
		s := ch.Diff.Summary
		var odd []string
		if len(s.OnlyInA) > 0 {
			odd = append(odd, fmt.Sprintf("%d parameters only in the earlier checkpoint", len(s.OnlyInA)))
		}
		if len(s.OnlyInB) > 0 {
			odd = append(odd, fmt.Sprintf("%d only in the later one", len(s.OnlyInB)))
		}
		if len(s.ShapeMismatch) > 0 {
			odd = append(odd, fmt.Sprintf("%d with different shapes (not compared)", len(s.ShapeMismatch)))
		}
		if len(odd) > 0 {
			b.Notes = []string{ch.Label + ": " + strings.Join(odd, ", ") + "."}
		}
		sec.Blocks = append(sec.Blocks, b)
	}
	return sec
}

// hasEffectiveDiff reports whether the comparison measured effective
// weights (report --effective).
func hasEffectiveDiff(ps []report.ParamDiff) bool {
	for _, p := range ps {
		if p.ParamEffectiveDiff != nil {
			return true
		}
	}
	return false
}

func rel(p report.ParamDiff) *output.Float {
	if p.FP32 == nil {
		return nil
	}
	return p.FP32.RelChange
}

func histSection(r *Report) section {
	h := r.Hist
	var ss []histSeries
	var notes []string
	edges := linearEdges(h.Lo, h.Hi, h.Bins)
	for i, s := range h.Series {
		ss = append(ss, histSeries{name: s.Label, edges: edges, counts: s.Counts, color: seriesColor(i, len(h.Series))})
		if s.NonFinite > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d NaN/Inf not binned", s.Label, s.NonFinite))
		}
	}
	caption := fmt.Sprintf("%d equal-width bins over [%s, %s], the smallest and largest finite values over the checkpoints.", h.Bins, valueLabel(h.Lo), valueLabel(h.Hi))
	if len(notes) > 0 {
		caption += " " + strings.Join(notes, "; ") + "."
	}
	return section{ID: "histogram", Title: "Histogram", Blocks: []block{figures(false, figure{(&histChart{id: "hist",
		title: "Histogram of " + h.Param + " (" + h.State + ")", xLabel: "value (" + h.State + ")", yLabel: "elements per bin (count)",
		series: ss}).build(), caption})}}
}

// linearEdges returns the edges of bins equal-width bins over [lo, hi].
func linearEdges(lo, hi float64, bins int) []float64 {
	edges := make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + float64(i)*(hi-lo)/float64(bins)
	}
	edges[bins] = hi
	return edges
}

const normsExplain template.HTML = "Norms are √(Σ over parameters of ‖·‖²). The Δ columns compare each checkpoint with the previous one (fp32 master weights)."

func summarySection(r *Report) section {
	t := &table{Head: []string{"checkpoint", "path", "params", "elements", "‖W‖ fp32", "‖W‖ bf16", "‖exp_avg‖", "‖exp_avg_sq‖", "NaN+Inf", "Δstep", "‖ΔW‖", "‖ΔW‖/‖W‖", "1−cos"}}
	for i, c := range r.Checkpoints {
		s, info := c.Stats.Summary, c.Stats.Checkpoint
		row := []cell{{Text: c.Label}, pathCell(info.Path, info.Layout), {Text: strconv.Itoa(s.Params)}, {Text: output.Count(s.Numel)},
			{Text: valueLabel(float64(s.WeightNorm))}, {Text: valueLabel(float64(s.BF16Norm))}, {Text: valueLabel(float64(s.ExpAvgNorm))},
			{Text: valueLabel(float64(s.ExpAvgSqNorm))}, {Text: output.Count(s.NaN + s.Inf)}}
		if i == 0 || i-1 >= len(r.Changes) {
			row = append(row, cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"}, cell{Text: "–"})
		} else {
			d := r.Changes[i-1].Diff.Summary
			ds := "–"
			if d.StepDelta != nil {
				ds = fmt.Sprintf("%+d", *d.StepDelta)
			}
			cos := "–"
			if g := d.Global.FP32; g != nil && g.Cosine != nil {
				cos = valueLabel(1 - float64(*g.Cosine))
			}
			row = append(row, cell{Text: ds}, cell{Text: fmtF(d.DeltaNorm)}, cell{Text: fmtF(d.RelChange)}, cell{Text: cos})
		}
		t.Rows = append(t.Rows, row)
	}
	return section{ID: "summary", Title: "Summary", Blocks: []block{{Table: t}, {Explain: []template.HTML{normsExplain}}}}
}

// WriteSummary writes the report's summary table (or, as JSON, its data).
func WriteSummary(w io.Writer, f output.Format, rep *Report) error {
	if f == output.JSON {
		return output.WriteJSON(w, rep)
	}
	csv := f == output.CSV
	tw := output.TableWriter{Headers: []string{"checkpoint", "step", "params", "numel", "weight_norm", "exp_avg_norm", "exp_avg_sq_norm", "nan", "inf",
		"step_delta", "delta_norm", "rel_change"}, Align: output.RightAligned(12)}
	if !csv {
		tw.Headers = []string{"checkpoint", "step", "params", "elements", "w norm", "m norm", "v norm", "nan", "inf", "+steps", "|dW|", "|dW|/|W|"}
	}
	num, cnt := output.Num, output.Count
	if csv {
		num = report.CSVNum
		cnt = func(n int64) string { return strconv.FormatInt(n, 10) }
	}
	for i, ck := range rep.Checkpoints {
		s := ck.Stats.Summary
		w, m, v := output.Float(s.WeightNorm), output.Float(s.ExpAvgNorm), output.Float(s.ExpAvgSqNorm)
		row := []string{ck.Stats.Checkpoint.Path, report.OptInt(s.Step), strconv.Itoa(s.Params), cnt(s.Numel), num(&w), num(&m), num(&v), cnt(s.NaN), cnt(s.Inf)}
		if i > 0 && i-1 < len(rep.Changes) {
			d := rep.Changes[i-1].Diff.Summary
			row = append(row, report.OptInt(d.StepDelta), num(d.DeltaNorm), num(d.RelChange))
		} else if csv {
			row = append(row, "", "", "")
		} else {
			row = append(row, "-", "-", "-")
		}
		tw.Add(row...)
	}
	if csv {
		return tw.WriteCSV(w)
	}
	return tw.WriteText(w)
}
