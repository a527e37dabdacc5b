package htmlreport

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

func f(x float64) *output.Float { v := output.Float(x); return &v }

func i64(x int64) *int64 { return &x }

// sampleReport is a two-checkpoint report of a two-layer model.
func sampleReport() *Report {
	ck := func(step int64, scale float64) Checkpoint {
		groups := []report.GroupStats{}
		for _, g := range []string{"embedding", "layer 0", "layer 1", "final norm", "lm_head"} {
			groups = append(groups, report.GroupStats{Name: g, WeightRMS: f(0.02 * scale), UpdateToWeight: f(1e-3 * scale),
				ExpAvgRMS: f(1e-4), ExpAvgSqMean: f(1e-8)})
		}
		params := []report.ParamStats{
			{Name: "model.layers.0.self_attn.q_proj_alpha", Scale: true, ScaleValue: f(1.5 * scale)},
			{Name: "model.layers.1.self_attn.q_proj_alpha", Scale: true, ScaleValue: f(1.2 * scale)},
			{Name: "model.layers.0.gate_up_proj_alpha", Scale: true, ScaleValue: f(0.9)},
			{Name: "lm_head_alpha", Scale: true, ScaleValue: f(2)},
			{Name: "model.layers.0.mlp.up_proj.weight"},
		}
		return Checkpoint{Label: "step " + string(rune('0'+step)), Stats: report.CheckpointStats{
			Checkpoint: report.CheckpointInfo{Path: "run/checkpoint-" + string(rune('0'+step)), Layout: "universal"},
			Params:     params, Groups: groups,
			Summary: report.Summary{Step: i64(step), Params: len(params), Numel: 1000, WeightNorm: 3, ExpAvgNorm: 0.1, ExpAvgSqNorm: 0.01, BF16Norm: 3}}}
	}
	diff := report.Diff{
		Params: []report.ParamDiff{
			{Name: "small", ShapeA: []int64{4}, FP32: &report.StateDiff{Compared: true, RelChange: f(1e-4), DeltaL2: f(1e-4), AL2: f(1), Cosine: f(0.999999), NormRatio: f(1)}},
			{Name: "big <&> name", ShapeA: []int64{2, 2}, FP32: &report.StateDiff{Compared: true, RelChange: f(0.05), DeltaL2: f(0.05), AL2: f(1), Cosine: f(0.99), NormRatio: f(1.01)}},
			{Name: "reshaped", ShapeA: []int64{2}, ShapeB: []int64{3}, ShapeMismatch: true, FP32: &report.StateDiff{}},
		},
		Groups: []report.GroupDiff{{Name: "layer 0", FP32: &report.StateDiff{Compared: true, RelChange: f(0.01)}},
			{Name: "lm_head", FP32: &report.StateDiff{Compared: true, RelChange: f(0.02)}}},
		Summary: report.DiffSummary{StepDelta: i64(2), DeltaNorm: f(0.05), RelChange: f(0.01), ShapeMismatch: []string{"reshaped"},
			Global: report.GlobalDiff{FP32: &report.StateDiff{Compared: true, Cosine: f(0.9999)}}},
	}
	return &Report{
		Checkpoints: []Checkpoint{ck(1, 1), ck(3, 1.1)},
		Changes:     []Change{{Label: "step 1 → step 3", Diff: diff}},
		Hist: &Hist{Param: "model.layers.0.mlp.up_proj.weight", State: "fp32", Lo: -0.1, Hi: 0.1, Bins: 4,
			Series: []HistSeries{{Label: "step 1", Counts: []int64{1, 5, 6, 2}}, {Label: "step 3", Counts: []int64{2, 4, 5, 3}, NonFinite: 1}}},
		Notes: []string{"a <note> & more"},
	}
}

func TestWriteOutline(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	charts, err := Outline(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		legend []string
		marks  int
	}{
		{"weight-rms", []string{"step 1", "step 3"}, 10},
		{"update-ratio", []string{"step 1", "step 3"}, 10},
		{"moments", []string{"step 1 exp_avg", "step 1 √exp_avg_sq", "step 3 exp_avg", "step 3 √exp_avg_sq"}, 20},
		{"layer-change", []string{"step 1 → step 3"}, 2},
		{"scales", []string{"q_proj_alpha", "gate_up_proj_alpha", "dashed: step 1"}, 6},
		{"changed-0", []string{"step 1 → step 3"}, 2},
		{"hist", []string{"step 1", "step 3"}, 2},
	}
	if len(charts) != len(want) {
		t.Fatalf("%d charts, want %d: %+v", len(charts), len(want), charts)
	}
	checkCharts(t, charts)
	for i, w := range want {
		c := charts[i]
		if c.ID != w.id || !slices.Equal(c.Legend, w.legend) || c.Marks != w.marks {
			t.Errorf("chart %d: %s legend %q marks %d; want %s %q %d", i, c.ID, c.Legend, c.Marks, w.id, w.legend, w.marks)
		}
		if len(c.AxisLabels) != 2 || slices.Contains(c.AxisLabels, "") || c.Title == "" {
			t.Errorf("chart %s: title %q, axis labels %q", c.ID, c.Title, c.AxisLabels)
		}
	}
	for _, bad := range []string{"<script", "<link", "<img", "src=", "href=", "url(", "@import", "http:", "https:"} {
		if strings.Contains(html, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
	for _, s := range []string{"big &lt;&amp;&gt; name", "a &lt;note&gt; &amp; more", "1 with different shapes", "1 NaN/Inf not binned"} {
		if !strings.Contains(html, s) {
			t.Errorf("the report lacks %q", s)
		}
	}
}

// TestWriteOneCheckpoint checks a report without comparisons or histogram.
func TestWriteOneCheckpoint(t *testing.T) {
	r := sampleReport()
	r.Checkpoints, r.Changes, r.Hist = r.Checkpoints[:1], nil, nil
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	charts, err := Outline(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range charts {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, []string{"weight-rms", "update-ratio", "moments", "scales"}) {
		t.Errorf("charts %v", ids)
	}
	if !strings.Contains(buf.String(), "Give two or more checkpoints") {
		t.Error("no word about comparisons")
	}
}

func TestOutlineRejectsMalformed(t *testing.T) {
	for _, s := range []string{`<svg class="chart"><g></svg>`, `<p>a & b</p>`, `<p>`} {
		if _, err := Outline([]byte(s)); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func TestAxes(t *testing.T) {
	cases := []struct {
		name      string
		a         axis
		lo, hi    float64
		ticks     int
		firstTick float64
	}{
		{"linear", linearAxis(0.013, 0.087, false), 0, 0.1, 6, 0},
		{"linear pinned to zero", linearAxis(3, 7, true), 0, 7, 8, 0},
		{"linear negative", linearAxis(-0.07, 0.06, false), -0.08, 0.06, 8, -0.08},
		{"linear constant", linearAxis(5, 5, false), 4.4, 5.6, 7, 4.4},
		{"log over decades", logAxis(3e-5, 0.02), 1e-5, 0.1, 5, 1e-5},
		{"log within a decade", logAxis(0.3, 0.6), 0.1, 1, 4, 0.1},
		{"exact", exactAxis(-0.065, 0.0645), -0.065, 0.0645, 7, -0.06},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }
			if !near(c.a.lo, c.lo) || !near(c.a.hi, c.hi) || len(c.a.ticks) != c.ticks || !near(c.a.ticks[0], c.firstTick) {
				t.Errorf("axis %+v, want [%g, %g] with %d ticks from %g", c.a, c.lo, c.hi, c.ticks, c.firstTick)
			}
			slack := (c.a.hi - c.a.lo) * 1e-9
			for _, tk := range c.a.ticks {
				if tk < c.a.lo-slack || tk > c.a.hi+slack || math.Signbit(tk) && tk == 0 {
					t.Errorf("tick %g outside [%g, %g]", tk, c.a.lo, c.a.hi)
				}
			}
		})
	}
}

func TestLabels(t *testing.T) {
	cases := []struct {
		v           float64
		tick, value string
	}{
		{0, "0", "0"},
		{0.02, "0.02", "0.02"},
		{1e-5, "1e-05", "1.000e-05"},
		{2.5e-7, "2.5e-07", "2.500e-07"},
		{1500, "1500", "1500"},
		{123456, "1.23e+05", "1.235e+05"},
		{-0.05, "-0.05", "-0.05"},
	}
	for _, c := range cases {
		if got := tickLabel(c.v); got != c.tick {
			t.Errorf("tickLabel(%g) = %q, want %q", c.v, got, c.tick)
		}
		if got := valueLabel(c.v); got != c.value {
			t.Errorf("valueLabel(%g) = %q, want %q", c.v, got, c.value)
		}
	}
}

func TestSeriesColor(t *testing.T) {
	if seriesColor(1, 3) != palette[1] {
		t.Error("few series do not use the palette")
	}
	hex := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	seen := map[string]bool{}
	for i := range 12 {
		c := seriesColor(i, 12)
		if !hex.MatchString(c) || seen[c] {
			t.Errorf("colour %d of 12: %q (repeated %v)", i, c, seen[c])
		}
		seen[c] = true
	}
	if seriesColor(0, 12) != "#440154" || seriesColor(11, 12) != "#fde725" {
		t.Errorf("ramp ends %s, %s", seriesColor(0, 12), seriesColor(11, 12))
	}
}
