package htmlreport

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/series"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// SeriesReport is what [WriteSeries] renders: a run of checkpoints of one
// model, measured by package series, with steps on the x-axis.
type SeriesReport struct {
	Title string
	Run   []string // the RUN arguments
	// Checkpoints are in step order; Agg holds their rows added up (one
	// Add per checkpoint, in the same order).
	Checkpoints []*series.Checkpoint
	Agg         *series.Aggregate
	// Hist holds the histogram of one tensor in every checkpoint, or nil.
	Hist    *SeriesHist
	Version string // ckptinspect's version
	Date    string // when the report was made
	Notes   []string
}

// SeriesHist is the histogram of one tensor in each checkpoint, each over
// its own range (or over decades, for log bins).
type SeriesHist struct {
	Param string
	State ckpt.State
	// Hists is parallel to SeriesReport.Checkpoints; nil where the
	// checkpoint lacks the tensor or it has no finite value.
	Hists []*ckpt.Hist
}

// maxHistPanels is the most histogram panels drawn (checkpoints chosen
// evenly, the first and the last included).
const maxHistPanels = 12

// Version returns the version of the running ckptinspect: the module's
// version, or "(devel)" with the VCS revision for a build from a clone.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v
}

// CollectSeries measures a series (Series.Run) and returns its report,
// with the histograms Options.Hist asked for; run names the RUN arguments.
func CollectSeries(ctx context.Context, s *series.Series, run []string, hist *series.HistOptions) (*SeriesReport, error) {
	agg := &series.Aggregate{}
	rep := &SeriesReport{Title: "ckptinspect report: " + RunLabel(run), Run: run, Checkpoints: s.Checkpoints, Agg: agg,
		Version: Version(), Date: time.Now().Format("2006-01-02 15:04 MST")}
	var hists []*ckpt.Hist
	err := s.Run(ctx, func(p series.Part) error {
		agg.Add(p)
		hists = append(hists, p.Hist)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Notes = s.Notes
	if hist != nil {
		rep.Hist = &SeriesHist{Param: hist.Param, State: hist.State, Hists: hists}
		if !slices.ContainsFunc(hists, func(h *ckpt.Hist) bool { return h != nil }) {
			return nil, fmt.Errorf("histogram: no checkpoint has a %s tensor with a finite value for parameter %q", hist.State, hist.Param)
		}
	}
	return rep, nil
}

// WriteSeries renders a series report as one HTML document.
func WriteSeries(w io.Writer, r *SeriesReport) error {
	title := r.Title
	if title == "" {
		title = "ckptinspect report"
	}
	p := &page{Title: title, Notes: r.Notes}
	n := len(r.Checkpoints)
	if n == 0 || r.Agg == nil {
		p.Sub = "no checkpoint"
		return p.render(w)
	}
	p.Sub = fmt.Sprintf("%d checkpoints of one run, step %d to %d, ordered by step", n, r.Checkpoints[0].Step, r.Checkpoints[n-1].Step)
	p.Facts = seriesFacts(r)
	p.Secs = append(p.Secs, seriesSummary(r))
	d := newDepth(r.Agg)
	for _, m := range seriesMetrics() {
		if m.id == "eff" && !hasEffective(r.Agg) {
			continue // a run measured without --effective
		}
		p.Secs = append(p.Secs, m.section(r, d))
	}
	p.Secs = append(p.Secs, heatmaps(r, d), seriesScales(r, d))
	if r.Hist != nil {
		p.Secs = append(p.Secs, seriesHists(r))
	}
	return p.render(w)
}

// seriesFacts is the report's header: the run, its steps and optimizer
// settings, the versions and the date.
func seriesFacts(r *SeriesReport) []fact {
	cks := r.Checkpoints
	first, last := cks[0], cks[len(cks)-1]
	var steps []string
	for _, c := range cks {
		steps = append(steps, strconv.FormatInt(c.Step, 10))
	}
	facts := []fact{{"run", strings.Join(r.Run, " ")}, {"steps", fmt.Sprintf("%d checkpoints: %s", len(cks), strings.Join(steps, ", "))}}
	layouts, ds := map[string]bool{}, map[string]bool{}
	var ls, dss []string
	for _, c := range cks {
		if !layouts[c.Layout] {
			layouts[c.Layout] = true
			ls = append(ls, c.Layout)
		}
		if c.DSVersion != "" && !ds[c.DSVersion] {
			ds[c.DSVersion] = true
			dss = append(dss, c.DSVersion)
		}
	}
	facts = append(facts, fact{"layout", strings.Join(ls, ", ")})
	for i, g := range last.ParamGroups {
		var parts []string
		lr := "–"
		if g.LR != nil {
			lr = valueLabel(*g.LR)
			if i < len(first.ParamGroups) && first.ParamGroups[i].LR != nil && *first.ParamGroups[i].LR != *g.LR {
				lr = fmt.Sprintf("%s at step %d → %s at step %d", valueLabel(*first.ParamGroups[i].LR), first.Step, valueLabel(*g.LR), last.Step)
			}
		}
		parts = append(parts, "lr "+lr)
		if g.Betas != nil {
			parts = append(parts, fmt.Sprintf("betas (%s, %s)", valueLabel(g.Betas[0]), valueLabel(g.Betas[1])))
		}
		if g.Eps != nil {
			parts = append(parts, "eps "+valueLabel(*g.Eps))
		}
		if g.WeightDecay != nil {
			parts = append(parts, "weight decay "+valueLabel(*g.WeightDecay))
		}
		facts = append(facts, fact{fmt.Sprintf("optimizer group %d (%d params)", i, len(g.Params)), strings.Join(parts, ", ")})
	}
	if len(last.ParamGroups) == 0 {
		facts = append(facts, fact{"optimizer", "no parameter groups (lr, betas, eps, weight decay unknown)"})
	}
	dsv := strings.Join(dss, ", ")
	if dsv == "" {
		dsv = "unknown"
	}
	facts = append(facts, fact{"DeepSpeed version", dsv}, fact{"ckptinspect version", r.Version}, fact{"date", r.Date})
	return facts
}

const seriesNormsExplain template.HTML = "Norms are √(Σ over parameters of ‖·‖²); ‖ΔW‖ compares each checkpoint's fp32 master weights with the previous checkpoint's, relative to the previous norms. lr is each optimizer group's at that step."

func seriesSummary(r *SeriesReport) section {
	t := &table{Head: []string{"step", "path", "params", "elements", "lr", "‖W‖ fp32", "‖W‖ bf16", "‖exp_avg‖", "‖exp_avg_sq‖", "NaN+Inf", "‖ΔW‖", "‖ΔW‖/‖W‖"}}
	for i, c := range r.Checkpoints {
		if i >= len(r.Agg.Totals) {
			break
		}
		tot := r.Agg.Totals[i]
		var lrs []string
		for _, g := range c.ParamGroups {
			if g.LR != nil && !slices.Contains(lrs, valueLabel(*g.LR)) {
				lrs = append(lrs, valueLabel(*g.LR))
			}
		}
		norm := func(s ckpt.State) string {
			if v, ok := tot.Norm[s]; ok {
				return valueLabel(v)
			}
			return "–"
		}
		t.Rows = append(t.Rows, []cell{{Text: strconv.FormatInt(c.Step, 10)}, pathCell(c.Path, c.Layout), {Text: strconv.Itoa(tot.Params)},
			{Text: output.Count(tot.Numel)}, {Text: orDash(strings.Join(lrs, ", "))}, {Text: norm(ckpt.FP32)}, {Text: norm(ckpt.BF16)},
			{Text: norm(ckpt.ExpAvg)}, {Text: norm(ckpt.ExpAvgSq)}, {Text: output.Count(tot.NaN + tot.Inf)},
			{Text: fmtVal(tot.DeltaNorm)}, {Text: fmtVal(tot.RelChange)}})
	}
	return section{ID: "summary", Title: "Checkpoints", Blocks: []block{{Table: t}, {Explain: []template.HTML{seriesNormsExplain}}}}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// depth knows the run's decoder layers, for colours and legends.
type depth struct {
	layers int // 1 + the largest layer index
}

func newDepth(a *series.Aggregate) depth {
	d := depth{}
	for _, p := range a.Points {
		d.layers = max(d.layers, p.Layer+1)
	}
	return d
}

// legend returns the legend of lines coloured by depth: every layer for a
// few, else the first, middle and last.
func (d depth) legend() []legendEntry {
	var ls []int
	if d.layers <= 6 {
		for i := range d.layers {
			ls = append(ls, i)
		}
	} else {
		ls = []int{0, d.layers / 2, d.layers - 1}
	}
	var out []legendEntry
	for _, l := range ls {
		out = append(out, legendEntry{name: "layer " + strconv.Itoa(l), color: depthColor(l, d.layers)})
	}
	if d.layers > 6 {
		out[len(out)-1].name += " (colour by depth)"
	}
	return out
}

// metric is one figure of the Aggregate's points drawn against step, per
// kind.
type metric struct {
	id, title, yLabel string
	explain           template.HTML
	get               func(series.Point) float64
}

func seriesMetrics() []metric {
	return []metric{
		{"wrms", "Weight RMS", "RMS (value)",
			"Root mean square of the fp32 master weights of each kind of parameter, one line per decoder layer (weight and bias together).",
			func(p series.Point) float64 { return p.WeightRMS }},
		{"eff", "Effective weight RMS", "RMS (value)",
			"Root mean square of the effective weights, scale × (W + offset): the weights the network computes with, WeSaR scale factors and the config's multipliers applied (report --effective; see stats --help).",
			func(p series.Point) float64 { return p.EffectiveRMS }},
		{"uw", "AdamW update-to-weight ratio", "update / weight (ratio)",
			"The step AdamW's state asks for, relative to the weights: u = m̂/(√v̂+ε) (FORMATS.md §10), RMS of lr·u over the layer's elements divided by the RMS of its weights.",
			func(p series.Point) float64 { return p.UpdateToWeight }},
		{"rel", "Relative weight change from the previous checkpoint", "‖ΔW‖ / ‖W_prev‖ (ratio)",
			"‖W − W_prev‖ / ‖W_prev‖ of the fp32 master weights, over the element pairs finite in both checkpoints, drawn at the later step (the interval between checkpoints varies: see the steps).",
			func(p series.Point) float64 { return p.RelChange }},
		{"m", "exp_avg RMS (first moment)", "RMS (gradient units)",
			"Root mean square of AdamW's first moment over the finite elements.",
			func(p series.Point) float64 { return p.ExpAvgRMS }},
		{"v", "√mean exp_avg_sq (second moment)", "√mean v (gradient units)",
			"Square root of the mean of AdamW's second moment: the RMS of √v.",
			func(p series.Point) float64 {
				if math.IsNaN(p.ExpAvgSqMean) {
					return math.NaN()
				}
				return math.Sqrt(p.ExpAvgSqMean)
			}},
	}
}

// hasEffective reports whether the run was measured with its effective
// weights.
func hasEffective(a *series.Aggregate) bool {
	for _, p := range a.Points {
		if !math.IsNaN(p.EffectiveRMS) {
			return true
		}
	}
	return false
}

// layerKinds are the kinds drawn one panel each, in the order a layer
// uses them; outsideKinds share one panel.
func layerKinds() []yulan.Kind {
	return []yulan.Kind{yulan.InputLayernorm, yulan.QProj, yulan.KProj, yulan.VProj, yulan.OProj,
		yulan.PostAttentionLayernorm, yulan.GateProj, yulan.UpProj, yulan.DownProj}
}

func outsideKinds() []yulan.Kind { return []yulan.Kind{yulan.EmbedTokens, yulan.Norm, yulan.LMHead} }

// steps returns the steps of the report's checkpoints.
func (r *SeriesReport) steps() []float64 {
	out := make([]float64, len(r.Checkpoints))
	for i, c := range r.Checkpoints {
		out[i] = float64(c.Step)
	}
	return out
}

// byStep returns values indexed like r.Checkpoints, NaN where missing.
func (r *SeriesReport) byStep(points []series.Point, get func(series.Point) float64) []float64 {
	idx := map[int64]int{}
	for i, c := range r.Checkpoints {
		idx[c.Step] = i
	}
	out := nans(len(r.Checkpoints))
	for _, p := range points {
		if i, ok := idx[p.Step]; ok {
			out[i] = get(p)
		}
	}
	return out
}

// pointsOf returns the aggregate's points of one layer and kind.
func pointsOf(a *series.Aggregate, layer int, kind yulan.Kind) []series.Point {
	var out []series.Point
	for _, p := range a.Points {
		if p.Layer == layer && p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

const stepAxis = "step (optimizer steps)"

// section draws the metric against step: one small panel per kind of
// layer parameter (a line per layer, coloured by depth), one for the
// parameters outside the layers, and one for other parameters.
func (m metric) section(r *SeriesReport, d depth) section {
	x := r.steps()
	var figs []figure
	for _, k := range layerKinds() {
		var ss []curve
		for l := range d.layers {
			pts := pointsOf(r.Agg, l, k)
			if len(pts) == 0 {
				continue
			}
			ss = append(ss, curve{name: "layer " + strconv.Itoa(l), color: depthColor(l, d.layers), values: r.byStep(pts, m.get)})
		}
		figs = append(figs, figure{Chart: (&lineChart{id: m.id + "-" + string(k), title: string(k), xLabel: stepAxis, yLabel: m.yLabel,
			x: x, xName: "step", series: ss, autoLog: true, legend: d.legend(), g: smallGeom}).build()})
	}
	var out []curve
	for i, k := range outsideKinds() {
		if pts := pointsOf(r.Agg, -1, k); len(pts) > 0 {
			out = append(out, curve{name: string(k), color: palette[i], marker: i, values: r.byStep(pts, m.get)})
		}
	}
	figs = append(figs, figure{Chart: (&lineChart{id: m.id + "-outside", title: "outside the layers", xLabel: stepAxis, yLabel: m.yLabel,
		x: x, xName: "step", series: out, autoLog: true, g: smallGeom}).build()})
	var other []curve
	for l := -1; l < d.layers; l++ {
		if pts := pointsOf(r.Agg, l, yulan.Other); len(pts) > 0 {
			name, color := "layer "+strconv.Itoa(l), depthColor(max(l, 0), d.layers)
			if l < 0 {
				name, color = "outside the layers", palette[6]
			}
			other = append(other, curve{name: name, color: color, values: r.byStep(pts, m.get)})
		}
	}
	figs = append(figs, figure{Chart: (&lineChart{id: m.id + "-other", title: "other parameters", xLabel: stepAxis, yLabel: m.yLabel,
		x: x, xName: "step", series: other, autoLog: true, g: smallGeom}).build()})
	return section{ID: m.id, Title: m.title + " against step, by kind", Explain: []template.HTML{m.explain + " A panel's y axis is logarithmic when its values span more than a factor 30."},
		Blocks: []block{figures(true, figs...)}}
}

// heatmaps draws the update-to-weight ratio and the relative change of
// every layer and kind at the latest step.
func heatmaps(r *SeriesReport, d depth) section {
	last := r.Checkpoints[len(r.Checkpoints)-1].Step
	cols := append(layerKinds(), outsideKinds()...)
	var colNames []string
	for _, k := range cols {
		colNames = append(colNames, string(k))
	}
	var rows []string
	for l := range d.layers {
		rows = append(rows, "layer "+strconv.Itoa(l))
	}
	rows = append(rows, "outside")
	grid := func(get func(series.Point) float64) [][]float64 {
		out := make([][]float64, len(rows))
		for i := range out {
			out[i] = nans(len(cols))
		}
		for _, p := range r.Agg.Points {
			if p.Step != last {
				continue
			}
			row := p.Layer
			if row < 0 {
				row = len(rows) - 1
			}
			if j := slices.Index(cols, p.Kind); j >= 0 && row < len(rows) {
				out[row][j] = get(p)
			}
		}
		return out
	}
	label := fmt.Sprintf("step %d", last)
	uw := (&heatmap{id: "heat-uw", title: "Update-to-weight ratio at " + label, xLabel: "kind (parameter type)", yLabel: "layer (index)",
		rows: rows, cols: colNames, values: grid(func(p series.Point) float64 { return p.UpdateToWeight }), what: "ratio"}).build()
	rel := (&heatmap{id: "heat-rel", title: "Relative weight change into " + label, xLabel: "kind (parameter type)", yLabel: "layer (index)",
		rows: rows, cols: colNames, values: grid(func(p series.Point) float64 { return p.RelChange }), what: "‖ΔW‖/‖W‖"}).build()
	return section{ID: "heatmaps", Title: "Layer × kind at the latest step",
		Explain: []template.HTML{"Each cell is one kind of parameter in one layer (the last row: the parameters outside the layers), coloured on a log scale; hover for the value. The relative change is from the previous checkpoint."},
		Blocks:  []block{figures(false, figure{uw, ""}, figure{rel, ""})}}
}

// seriesScales draws each scale factor kind against step.
func seriesScales(r *SeriesReport, d depth) section {
	sec := section{ID: "scales", Title: "Scale factors against step"}
	byAlpha := map[yulan.Alpha]map[int][]series.Point{}
	var alphas []yulan.Alpha
	for _, s := range r.Agg.Scales {
		if byAlpha[s.Alpha] == nil {
			byAlpha[s.Alpha] = map[int][]series.Point{}
			alphas = append(alphas, s.Alpha)
		}
		byAlpha[s.Alpha][s.Layer] = append(byAlpha[s.Alpha][s.Layer], series.Point{Step: s.Step, WeightRMS: s.Value})
	}
	if len(alphas) == 0 {
		sec.Explain = []template.HTML{noScales}
		return sec
	}
	sec.Explain = []template.HTML{scalesExplain + " One panel per factor, a line per layer (coloured by depth); the factors outside the layers share the last panel."}
	order := yulan.Alphas()
	slices.SortStableFunc(alphas, func(a, b yulan.Alpha) int { return idx(order, a) - idx(order, b) })
	get := func(p series.Point) float64 { return p.WeightRMS }
	x := r.steps()
	var figs []figure
	var global []curve
	for _, a := range alphas {
		var ss []curve
		for l := -1; l < d.layers; l++ {
			pts := byAlpha[a][l]
			if len(pts) == 0 {
				continue
			}
			if l < 0 {
				global = append(global, curve{name: string(a), color: palette[len(global)%len(palette)], marker: len(global), values: r.byStep(pts, get)})
				continue
			}
			ss = append(ss, curve{name: "layer " + strconv.Itoa(l), color: depthColor(l, d.layers), values: r.byStep(pts, get)})
		}
		if len(ss) > 0 {
			figs = append(figs, figure{Chart: (&lineChart{id: "scale-" + string(a), title: string(a), xLabel: stepAxis, yLabel: "value (multiplier)",
				x: x, xName: "step", series: ss, autoLog: true, legend: d.legend(), g: smallGeom}).build()})
		}
	}
	if len(global) > 0 {
		figs = append(figs, figure{Chart: (&lineChart{id: "scale-global", title: "outside the layers", xLabel: stepAxis, yLabel: "value (multiplier)",
			x: x, xName: "step", series: global, autoLog: true, g: smallGeom}).build()})
	}
	sec.Blocks = []block{figures(true, figs...)}
	return sec
}

func idx[T comparable](s []T, v T) int {
	if i := slices.Index(s, v); i >= 0 {
		return i
	}
	return len(s)
}

// seriesHists draws the histogram of one tensor in each checkpoint, each
// over its own range.
func seriesHists(r *SeriesReport) section {
	h := r.Hist
	var shown []int
	for i, x := range h.Hists {
		if x != nil && i < len(r.Checkpoints) {
			shown = append(shown, i)
		}
	}
	if len(shown) > maxHistPanels {
		pick := make([]int, maxHistPanels)
		for k := range pick {
			pick[k] = shown[k*(len(shown)-1)/(maxHistPanels-1)]
		}
		shown = pick
	}
	sec := section{ID: "histograms", Title: "Histograms of " + h.Param + " (" + string(h.State) + ")"}
	log := false
	var figs []figure
	for _, i := range shown {
		x := h.Hists[i]
		step := r.Checkpoints[i].Step
		var ss []histSeries
		var xLabel, caption string
		if x.Spec.Log {
			log = true
			var edges []float64
			for k := 0; k <= len(x.Pos); k++ {
				edges = append(edges, x.LogEdge(x.MinBin+k))
			}
			ss = append(ss, histSeries{name: "x > 0", edges: edges, counts: x.Pos, color: palette[0]})
			var neg int64
			for _, c := range x.Neg {
				neg += c
			}
			if neg > 0 {
				ss = append(ss, histSeries{name: "x < 0 (by |x|)", edges: edges, counts: x.Neg, color: palette[1]})
			}
			xLabel = "|value| (" + string(h.State) + ", log scale)"
			caption = fmt.Sprintf("%d bins per decade; %d zeros", x.Spec.PerDecade, x.Stats.Zeros)
		} else {
			ss = append(ss, histSeries{name: fmt.Sprintf("step %d", step), edges: linearEdges(x.Spec.Lo, x.Spec.Hi, x.Spec.Bins), counts: x.Counts, color: palette[0]})
			xLabel = "value (" + string(h.State) + ")"
			caption = fmt.Sprintf("%d bins over [%s, %s]", x.Spec.Bins, valueLabel(x.Spec.Lo), valueLabel(x.Spec.Hi))
		}
		if bad := x.Stats.NaN + x.Stats.Inf; bad > 0 {
			caption += fmt.Sprintf("; %d NaN/Inf not binned", bad)
		}
		figs = append(figs, figure{(&histChart{id: fmt.Sprintf("hist-%d", i), title: fmt.Sprintf("step %d", step), xLabel: xLabel,
			yLabel: "elements (count per bin)", logX: x.Spec.Log, series: ss, g: smallGeom}).build(), caption})
	}
	explain := template.HTML("Each checkpoint's histogram over the range of its own finite values (equal-width bins), so that an early checkpoint with a narrow range is as readable as a late one.")
	if log {
		explain = "Each checkpoint's histogram of |x| over decades (log bins), suited to values spanning orders of magnitude such as exp_avg_sq."
	}
	if len(shown) < len(h.Hists) {
		explain += template.HTML(fmt.Sprintf(" %d of the checkpoints shown, evenly spaced.", len(shown)))
	}
	sec.Explain = []template.HTML{explain}
	sec.Blocks = []block{figures(true, figs...)}
	return sec
}

// RunLabel names a run for the report's title: the folder the
// checkpoints share, or the one argument.
func RunLabel(args []string) string {
	if len(args) == 1 {
		return filepath.Base(filepath.Clean(args[0]))
	}
	return fmt.Sprintf("%d checkpoints", len(args))
}

// SeriesSummaryRow is one checkpoint of the summary `report` prints for a
// series (JSON keys as in the CSV header).
type SeriesSummaryRow struct {
	Path         string        `json:"path"`
	Step         int64         `json:"step"`
	Layout       string        `json:"layout"`
	Params       int           `json:"params"`
	Numel        int64         `json:"numel"`
	WeightNorm   *output.Float `json:"weight_norm"`
	BF16Norm     *output.Float `json:"bf16_norm"`
	ExpAvgNorm   *output.Float `json:"exp_avg_norm"`
	ExpAvgSqNorm *output.Float `json:"exp_avg_sq_norm"`
	NaN          int64         `json:"nan"`
	Inf          int64         `json:"inf"`
	DeltaNorm    *output.Float `json:"delta_norm"`
	RelChange    *output.Float `json:"rel_change"`
}

// WriteSeriesSummary writes a series report's table of checkpoints as a
// text table, CSV, or JSON ({"checkpoints": [SeriesSummaryRow]}).
func WriteSeriesSummary(w io.Writer, f output.Format, r *SeriesReport) error {
	var rows []SeriesSummaryRow
	for i, c := range r.Checkpoints {
		if r.Agg == nil || i >= len(r.Agg.Totals) {
			break
		}
		t := r.Agg.Totals[i]
		norm := func(s ckpt.State) *output.Float {
			v, ok := t.Norm[s]
			return output.Opt(v, ok)
		}
		rows = append(rows, SeriesSummaryRow{Path: c.Path, Step: c.Step, Layout: c.Layout, Params: t.Params, Numel: t.Numel,
			WeightNorm: norm(ckpt.FP32), BF16Norm: norm(ckpt.BF16), ExpAvgNorm: norm(ckpt.ExpAvg), ExpAvgSqNorm: norm(ckpt.ExpAvgSq),
			NaN: t.NaN, Inf: t.Inf, DeltaNorm: output.Opt(t.DeltaNorm, !math.IsNaN(t.DeltaNorm)), RelChange: output.Opt(t.RelChange, !math.IsNaN(t.RelChange))})
	}
	if f == output.JSON {
		if rows == nil {
			rows = []SeriesSummaryRow{}
		}
		return output.WriteJSON(w, struct {
			Checkpoints []SeriesSummaryRow `json:"checkpoints"`
		}{rows})
	}
	csv := f == output.CSV
	tw := output.TableWriter{Headers: []string{"path", "step", "params", "numel", "weight_norm", "exp_avg_norm", "exp_avg_sq_norm", "nan", "inf", "delta_norm", "rel_change"},
		Align: output.RightAligned(11)}
	num, cnt := output.Num, output.Count
	if csv {
		num = func(f *output.Float) string {
			if f == nil {
				return ""
			}
			return strconv.FormatFloat(float64(*f), 'g', -1, 64)
		}
		cnt = func(n int64) string { return strconv.FormatInt(n, 10) }
	} else {
		tw.Headers = []string{"checkpoint", "step", "params", "elements", "w norm", "m norm", "v norm", "nan", "inf", "|dW|", "|dW|/|W|"}
	}
	for _, r := range rows {
		tw.Add(r.Path, strconv.FormatInt(r.Step, 10), strconv.Itoa(r.Params), cnt(r.Numel), num(r.WeightNorm), num(r.ExpAvgNorm), num(r.ExpAvgSqNorm),
			cnt(r.NaN), cnt(r.Inf), num(r.DeltaNorm), num(r.RelChange))
	}
	if csv {
		return tw.WriteCSV(w)
	}
	return tw.WriteText(w)
}
