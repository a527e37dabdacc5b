package htmlreport

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/series"
)

// unitRE matches an axis title that says its unit: "step (optimizer
// steps)", "RMS (value, log)".
var unitRE = regexp.MustCompile(`^\S.* \([^()]+\)$`)

// checkCharts checks what every chart of a report must have: a title, an
// x and a y axis title, each with its unit, a legend, and data marks.
func checkCharts(t *testing.T, charts []ChartOutline) {
	t.Helper()
	for _, c := range charts {
		if c.Title == "" || len(c.AxisLabels) != 2 || len(c.Legend) == 0 || c.Marks == 0 {
			t.Errorf("chart %s: title %q, axis titles %q, legend %q, %d marks", c.ID, c.Title, c.AxisLabels, c.Legend, c.Marks)
		}
		for _, l := range c.AxisLabels {
			if !unitRE.MatchString(l) {
				t.Errorf("chart %s: axis title %q gives no unit", c.ID, l)
			}
		}
	}
}

// seriesReport measures the bundled run with a histogram of one tensor.
func seriesReport(t *testing.T, state ckpt.State) *SeriesReport {
	t.Helper()
	h := &series.HistOptions{Param: "model.layers.1.mlp.down_proj.weight", State: state, Bins: 30, Log: state == ckpt.ExpAvgSq, PerDecade: 4}
	s, err := series.Open([]string{"../../testdata/series"}, series.Options{Workers: 2, Hist: h})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := CollectSeries(context.Background(), s, []string{"../../testdata/series"}, h)
	if err != nil {
		t.Fatal(err)
	}
	rep.Title, rep.Version, rep.Date = "run <&>", "v-test", "2026-11-29"
	return rep
}

// TestWriteSeries renders the report of the bundled run and checks its
// charts: per kind against step, the heatmaps, the scale factors, the
// histograms; and the header.
func TestWriteSeries(t *testing.T) {
	for _, state := range []ckpt.State{ckpt.FP32, ckpt.ExpAvgSq} {
		rep := seriesReport(t, state)
		var buf bytes.Buffer
		if err := WriteSeries(&buf, rep); err != nil {
			t.Fatal(err)
		}
		html := buf.String()
		charts, err := Outline(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		checkCharts(t, charts)
		ids := map[string]ChartOutline{}
		for _, c := range charts {
			if _, dup := ids[c.ID]; dup {
				t.Errorf("chart id %s twice", c.ID)
			}
			ids[c.ID] = c
		}
		for _, m := range []string{"wrms", "uw", "rel", "m", "v"} {
			for _, k := range []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "input_layernorm", "post_attention_layernorm", "outside"} {
				c, ok := ids[m+"-"+k]
				if !ok {
					t.Errorf("no chart %s-%s", m, k)
					continue
				}
				if c.AxisLabels[1] != "step (optimizer steps)" {
					t.Errorf("chart %s: x axis %q", c.ID, c.AxisLabels[1])
				}
			}
		}
		// Three layers: a legend entry per layer, and a point per layer
		// and step (the relative change from the second step on).
		if c := ids["wrms-q_proj"]; strings.Join(c.Legend, ",") != "layer 0,layer 1,layer 2" || c.Marks != 3*5 {
			t.Errorf("wrms-q_proj: legend %q, %d marks", c.Legend, c.Marks)
		}
		if c := ids["rel-q_proj"]; c.Marks != 3*4 {
			t.Errorf("rel-q_proj: %d marks", c.Marks)
		}
		// Heatmaps: 3 layers × 9 kinds and the 3 kinds outside the layers.
		for _, id := range []string{"heat-uw", "heat-rel"} {
			if c := ids[id]; c.Marks != 3*9+3 {
				t.Errorf("%s: %d cells", id, c.Marks)
			}
		}
		for _, id := range []string{"scale-q_proj_alpha", "scale-gate_up_proj_alpha", "scale-global"} {
			if c, ok := ids[id]; !ok || c.Marks == 0 {
				t.Errorf("scale chart %s: %+v", id, c)
			}
		}
		for i := range 5 {
			c, ok := ids["hist-"+string(rune('0'+i))]
			if !ok {
				t.Errorf("no histogram of checkpoint %d", i)
				continue
			}
			if log := strings.Contains(c.AxisLabels[1], "log"); log != (state == ckpt.ExpAvgSq) {
				t.Errorf("histogram %d of %s: x axis %q", i, state, c.AxisLabels[1])
			}
		}
		for _, s := range []string{"<th>optimizer group 0 (", "lr 1.200e-04 at step 10 → 3.000e-04 at step 60", "betas (0.9, 0.95)", "eps 1.000e-15",
			"weight decay 0.1", "<th>DeepSpeed version</th><td>0.15.1</td>", "<th>ckptinspect version</th><td>v-test</td>", "<th>date</th><td>2026-11-29</td>",
			"run &lt;&amp;&gt;", "<title>layer 1, step 60: "} {
			if !strings.Contains(html, s) {
				t.Errorf("%s report lacks %q", state, s)
			}
		}
		for _, bad := range []string{"<script", "<link", "<img", "src=", "href=", "url(", "@import", "http:", "https:"} {
			if strings.Contains(html, bad) {
				t.Errorf("the report contains %q", bad)
			}
		}
	}
}

// TestSeriesSummary checks the table report prints for a series.
func TestSeriesSummary(t *testing.T) {
	rep := seriesReport(t, ckpt.FP32)
	var buf bytes.Buffer
	if err := WriteSeriesSummary(&buf, "csv", rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "path,step,") || !strings.Contains(lines[1], ",10,65,8170,") || !strings.HasSuffix(lines[1], ",,") {
		t.Errorf("csv summary:\n%s", buf.String())
	}
}
