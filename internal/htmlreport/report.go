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
func Write(w io.Writer, r *Report) error {
	var b strings.Builder
	title := r.Title
	if title == "" {
		title = "ckptinspect report"
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), css)
	fmt.Fprintf(&b, "<header><h1>%s</h1><p class=\"sub\">%s</p></header>\n", esc(title), esc(subtitle(r)))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "<p class=\"note\">%s</p>\n", esc(n))
	}
	writeSummary(&b, r)
	cats := layerCategories(r)
	b.WriteString("<section id=\"layers\"><h2>By layer</h2>\n<p class=\"explain\">Layers in depth order: the embedding, the transformer layers, the final norm and the head. Each figure is over all the elements of the layer's parameters.</p>\n<div class=\"charts\">\n")
	figure(&b, (&lineChart{id: "weight-rms", title: "Weight RMS by layer", xLabel: "depth (layer)", yLabel: "fp32 weight RMS (log)",
		categories: shortCategories(cats), series: checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.WeightRMS }), logY: true}).render(),
		"Root mean square of the fp32 master weights of each layer.")
	figure(&b, (&lineChart{id: "update-ratio", title: "AdamW update-to-weight ratio by layer", xLabel: "depth (layer)", yLabel: "lr·RMS(update) / RMS(weight) (log)",
		categories: shortCategories(cats), series: checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.UpdateToWeight }), logY: true}).render(),
		"The step the optimizer's state asks for, relative to the weights: u = m̂/(√v̂+ε), ratio = RMS(lr·u)/RMS(w) over the layer.")
	figure(&b, momentChart(r, cats), "Solid: RMS of exp_avg (first moment). Dashed: √(mean of exp_avg_sq), the RMS of √v (second moment).")
	if len(r.Changes) > 0 {
		figure(&b, layerChangeChart(r, cats), "‖W_b − W_a‖ / ‖W_a‖ of the fp32 weights of each layer, between consecutive checkpoints.")
	}
	b.WriteString("</div></section>\n")
	writeScales(&b, r)
	writeChanges(&b, r)
	writeHist(&b, r)
	b.WriteString(footer)
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
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

// figure writes a chart in a figure with a caption; nothing for an empty
// chart.
func figure(b *strings.Builder, svg, caption string) {
	if svg == "" {
		return
	}
	fmt.Fprintf(b, "<figure>%s<figcaption>%s</figcaption></figure>\n", svg, esc(caption))
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

// checkpointSeries returns a series per checkpoint of a per-layer figure.
func checkpointSeries(r *Report, cats []string, get func(report.GroupStats) *output.Float) []series {
	var out []series
	for i, c := range r.Checkpoints {
		s := series{name: c.Label, color: seriesColor(i, len(r.Checkpoints)), marker: i, values: make([]float64, len(cats))}
		for k := range s.values {
			s.values[k] = math.NaN()
		}
		for _, g := range c.Stats.Groups {
			if k := slices.Index(cats, g.Name); k >= 0 {
				s.values[k] = val(get(g))
			}
		}
		out = append(out, s)
	}
	return out
}

func momentChart(r *Report, cats []string) string {
	m := checkpointSeries(r, cats, func(g report.GroupStats) *output.Float { return g.ExpAvgRMS })
	v := checkpointSeries(r, cats, func(g report.GroupStats) *output.Float {
		if g.ExpAvgSqMean == nil {
			return nil
		}
		x := output.Float(math.Sqrt(float64(*g.ExpAvgSqMean)))
		return &x
	})
	var all []series
	var legend []legendEntry
	for i := range m {
		m[i].name = m[i].name + " exp_avg"
		v[i].name, v[i].dashed = v[i].name+" √exp_avg_sq", true
		all = append(all, m[i], v[i])
		legend = append(legend, legendEntry{name: m[i].name, color: m[i].color, marker: i}, legendEntry{name: v[i].name, color: v[i].color, dashed: true, marker: i})
	}
	return (&lineChart{id: "moments", title: "Adam moment RMS by layer", xLabel: "depth (layer)", yLabel: "RMS (log)",
		categories: shortCategories(cats), series: all, logY: true, legend: legend}).render()
}

func layerChangeChart(r *Report, cats []string) string {
	var ss []series
	for i, ch := range r.Changes {
		s := series{name: ch.Label, color: seriesColor(i+1, len(r.Checkpoints)), marker: i + 1, values: make([]float64, len(cats))}
		for k := range s.values {
			s.values[k] = math.NaN()
		}
		for _, g := range ch.Diff.Groups {
			if k := slices.Index(cats, g.Name); k >= 0 && g.FP32 != nil {
				s.values[k] = val(g.FP32.RelChange)
			}
		}
		ss = append(ss, s)
	}
	return (&lineChart{id: "layer-change", title: "Relative weight change by layer", xLabel: "depth (layer)", yLabel: "‖ΔW‖ / ‖W‖ (log)",
		categories: shortCategories(cats), series: ss, logY: true}).render()
}

// scaleRE splits the name of a per-layer scale factor into its layer and
// its kind (q_proj_alpha, gate_up_proj_alpha, ...).
var scaleRE = regexp.MustCompile(`(?:^|\.)layers\.(\d+)\.(?:self_attn\.|mlp\.)?(.+)$`)

func writeScales(b *strings.Builder, r *Report) {
	b.WriteString("<section id=\"scales\"><h2>Scale factors</h2>\n")
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
				global[p.Name] = make([]float64, len(r.Checkpoints))
				for j := range global[p.Name] {
					global[p.Name][j] = math.NaN()
				}
				globalNames = append(globalNames, p.Name)
			}
			global[p.Name][i] = float64(*p.ScaleValue)
		}
	}
	if len(kinds) == 0 && len(globalNames) == 0 {
		b.WriteString("<p class=\"explain\">No scale factors (one-element <code>*_alpha</code> parameters, as YuLan-Mini's WeSaR re-parameterisation adds) in these checkpoints.</p></section>\n")
		return
	}
	b.WriteString("<p class=\"explain\">Re-parameterisation scale factors (one-element <code>*_alpha</code> parameters, YuLan-Mini's WeSaR): each multiplies a projection's output, the MLP input or output, or a norm's output.</p>\n")
	if len(kinds) > 0 {
		last := len(r.Checkpoints) - 1
		cats := make([]string, layers)
		for i := range cats {
			cats[i] = strconv.Itoa(i)
		}
		var ss []series
		var legend []legendEntry
		shown := []int{last}
		if last > 0 {
			shown = append(shown, 0)
		}
		for ki, kind := range kinds {
			color := palette[ki%len(palette)]
			for _, ck := range shown {
				s := series{name: kind + " (" + r.Checkpoints[ck].Label + ")", color: color, dashed: ck != last, values: make([]float64, layers)}
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
		b.WriteString("<div class=\"charts\">\n")
		figure(b, (&lineChart{id: "scales", title: "Scale factors by layer", xLabel: "layer", yLabel: "value",
			categories: cats, series: ss, legend: legend}).render(), caption)
		b.WriteString("</div>\n")
	}
	if len(globalNames) > 0 {
		b.WriteString("<table class=\"scales\"><thead><tr><th>scale factor</th>")
		for _, c := range r.Checkpoints {
			fmt.Fprintf(b, "<th>%s</th>", esc(c.Label))
		}
		b.WriteString("</tr></thead><tbody>\n")
		for _, n := range globalNames {
			fmt.Fprintf(b, "<tr><td class=\"name\">%s</td>", esc(n))
			for _, v := range global[n] {
				fmt.Fprintf(b, "<td>%s</td>", fmtVal(v))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</tbody></table>\n")
	}
	b.WriteString("</section>\n")
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

func writeChanges(b *strings.Builder, r *Report) {
	b.WriteString("<section id=\"changes\"><h2>Parameters that changed most</h2>\n")
	if len(r.Changes) == 0 {
		b.WriteString("<p class=\"explain\">Give two or more checkpoints to compare consecutive ones.</p></section>\n")
		return
	}
	top := r.Top
	if top <= 0 {
		top = 12
	}
	b.WriteString("<p class=\"explain\">Relative change ‖W_b − W_a‖ / ‖W_a‖ of each parameter's fp32 master weight between consecutive checkpoints, largest first.</p>\n")
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
		b.WriteString("<div class=\"charts\">\n")
		figure(b, (&barChart{id: fmt.Sprintf("changed-%d", i), title: "Most changed parameters, " + ch.Label, xLabel: "‖ΔW‖ / ‖W‖ (fp32)", yLabel: "parameter",
			labels: labels, values: values, legend: ch.Label, color: seriesColor(i+1, len(r.Checkpoints))}).render(),
			fmt.Sprintf("The %d parameters with the largest relative change.", len(labels)))
		b.WriteString("</div>\n<div class=\"tablebox\"><table><thead><tr><th>parameter</th><th>shape</th><th>‖ΔW‖/‖W‖</th><th>‖ΔW‖</th><th>‖W‖</th><th>1−cos</th><th>‖W_b‖/‖W_a‖</th></tr></thead><tbody>\n")
		for _, p := range ps {
			d := p.FP32
			if d == nil {
				d = &report.StateDiff{}
			}
			cos := "–"
			if d.Cosine != nil {
				cos = valueLabel(1 - float64(*d.Cosine))
			}
			fmt.Fprintf(b, "<tr><td class=\"name\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				esc(p.Name), output.ShapeCompact(p.ShapeA), fmtF(d.RelChange), fmtF(d.DeltaL2), fmtF(d.AL2), cos, ratioLabel(d.NormRatio))
		}
		b.WriteString("</tbody></table></div>\n")
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
			fmt.Fprintf(b, "<p class=\"note\">%s: %s.</p>\n", esc(ch.Label), esc(strings.Join(odd, ", ")))
		}
	}
	b.WriteString("</section>\n")
}

func rel(p report.ParamDiff) *output.Float {
	if p.FP32 == nil {
		return nil
	}
	return p.FP32.RelChange
}

func writeHist(b *strings.Builder, r *Report) {
	h := r.Hist
	if h == nil {
		return
	}
	b.WriteString("<section id=\"histogram\"><h2>Histogram</h2>\n<div class=\"charts\">\n")
	var ss []histSeries
	var notes []string
	for i, s := range h.Series {
		ss = append(ss, histSeries{name: s.Label, counts: s.Counts, color: seriesColor(i, len(h.Series))})
		if s.NonFinite > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d NaN/Inf not binned", s.Label, s.NonFinite))
		}
	}
	caption := fmt.Sprintf("%d equal-width bins over [%s, %s], the smallest and largest finite values over the checkpoints.", h.Bins, valueLabel(h.Lo), valueLabel(h.Hi))
	if len(notes) > 0 {
		caption += " " + strings.Join(notes, "; ") + "."
	}
	figure(b, (&histChart{id: "hist", title: "Histogram of " + h.Param + " (" + h.State + ")", xLabel: "value", yLabel: "elements per bin",
		lo: h.Lo, hi: h.Hi, series: ss}).render(), caption)
	b.WriteString("</div></section>\n")
}

func writeSummary(b *strings.Builder, r *Report) {
	b.WriteString("<section id=\"summary\"><h2>Summary</h2>\n<div class=\"tablebox\"><table><thead><tr>")
	for _, h := range []string{"checkpoint", "path", "params", "elements", "‖W‖ fp32", "‖W‖ bf16", "‖exp_avg‖", "‖exp_avg_sq‖", "NaN+Inf", "Δstep", "‖ΔW‖", "‖ΔW‖/‖W‖", "1−cos"} {
		fmt.Fprintf(b, "<th>%s</th>", esc(h))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for i, c := range r.Checkpoints {
		s, info := c.Stats.Summary, c.Stats.Checkpoint
		fmt.Fprintf(b, "<tr><td>%s</td><td class=\"path\">%s <span class=\"layout\">(%s)</span></td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
			esc(c.Label), strings.ReplaceAll(esc(info.Path), "/", "/<wbr/>"), esc(info.Layout), s.Params, output.Count(s.Numel),
			valueLabel(float64(s.WeightNorm)), valueLabel(float64(s.BF16Norm)), valueLabel(float64(s.ExpAvgNorm)), valueLabel(float64(s.ExpAvgSqNorm)),
			output.Count(s.NaN+s.Inf))
		if i == 0 || i-1 >= len(r.Changes) {
			b.WriteString("<td>–</td><td>–</td><td>–</td><td>–</td></tr>\n")
			continue
		}
		d := r.Changes[i-1].Diff.Summary
		ds := "–"
		if d.StepDelta != nil {
			ds = fmt.Sprintf("%+d", *d.StepDelta)
		}
		cos := "–"
		if g := d.Global.FP32; g != nil && g.Cosine != nil {
			cos = valueLabel(1 - float64(*g.Cosine))
		}
		fmt.Fprintf(b, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", ds, fmtF(d.DeltaNorm), fmtF(d.RelChange), cos)
	}
	b.WriteString("</tbody></table></div>\n<p class=\"explain\">Norms are √(Σ over parameters of ‖·‖²). The Δ columns compare each checkpoint with the previous one (fp32 master weights).</p></section>\n")
}

const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:24px auto;max-width:1340px;padding:0 16px;color:#1b1b1b;background:#ffffff;line-height:1.4}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:30px 0 8px;border-bottom:1px solid #d8d8d8;padding-bottom:4px}
.sub{color:#555;margin:0 0 12px}
.note{background:#fff7e0;border-left:4px solid #e6a700;padding:6px 10px;margin:8px 0}
.explain{color:#444;font-size:14px;margin:4px 0 10px}
.charts{margin:0 0 12px;display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:16px;align-items:start}
figure{margin:0;border:1px solid #e2e2e2;border-radius:6px;padding:8px 8px 4px;background:#fdfdfd}
figcaption{font-size:13px;color:#444;margin:2px 6px 4px}
svg.chart{display:block;max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg .chart-title{font-size:14.5px;font-weight:600;fill:#1b1b1b}
svg .grid line{stroke:#e8e8e8;stroke-width:1}
svg .axis-line{stroke:#555555;stroke-width:1}
svg .axis-label{font-size:13px;fill:#222222}
svg .ticks text{fill:#444444}
svg .legend text{fill:#222222}
svg .bar-label{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px;fill:#222222}
svg .bar-value{font-size:11px;fill:#444444}
.tablebox{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{padding:4px 9px;border-bottom:1px solid #e6e6e6;text-align:right;white-space:nowrap}
th{background:#f4f4f4;font-weight:600}
th:first-child,td:first-child{text-align:left}
td.name,td.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
td.path{white-space:normal;min-width:180px;max-width:340px;text-align:left}
#summary th:nth-child(2){text-align:left}
.layout{color:#666;font-family:system-ui,sans-serif}
code{font-size:12.5px}
footer{margin-top:36px;border-top:1px solid #d8d8d8;color:#555;font-size:13px}
`

const footer = `<footer>
<p>Made by <code>ckptinspect report</code> from the checkpoints' bytes, read in place (no Python, no pickle code run). Statistics are float64 over the finite elements; a layer's RMS is over all the elements of its parameters. Relative change = ‖W_b − W_a‖/‖W_a‖ and cosine = Σab/(‖W_a‖·‖W_b‖), over the element pairs where both values are finite. Missing values are shown as gaps or –.</p>
</footer>
`

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
