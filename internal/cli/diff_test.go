package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

// The two generator-made checkpoints of one model (testdata/gen/gen_drift.py):
// B is A after 5 AdamW steps.
const (
	ckptA = "../../testdata/universal-intstep/checkpoint-7"
	ckptB = "../../testdata/drift/checkpoint-12"
)

func TestDiffHistReportGoldens(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"diff_pair.txt", []string{"diff", ckptA, ckptB}},
		{"diff_pair_top.txt", []string{"diff", ckptA, ckptB, "--sort", "fp32.cosine", "--top", "4", "--filter", "weight$"}},
		{"diff_pair_layers.txt", []string{"diff", ckptA, ckptB, "--group-by", "layer"}},
		{"diff_pair.json", []string{"diff", ckptA, ckptB, "--format", "json", "--filter", `^model\.layers\.0\.self_attn\.(q_proj|k_proj_alpha)`}},
		{"diff_pair.csv", []string{"diff", ckptA, ckptB, "--format", "csv", "--filter", "alpha$"}},
		{"diff_models.txt", []string{"diff", sample, ckptA, "--filter", "layers|norm", "--force"}},
		{"hist_sample.txt", []string{"hist", "model.layers.0.mlp.down_proj.weight", sample, "--bins", "16"}},
		{"hist_sample_log.txt", []string{"hist", "model.layers.0.mlp.down_proj.weight", sample, "--state", "exp_avg_sq", "--log", "--width", "30"}},
		{"hist_sample_range.json", []string{"hist", "model.norm.weight", sample, "--range", "0.9,1.1", "--bins", "4", "--format", "json"}},
		{"hist_sample_bf16.csv", []string{"hist", "lm_head.weight", sample, "--state", "bf16", "--log", "--per-decade", "1", "--format", "csv"}},
		{"report_pair.txt", []string{"report", "-o", "@tmp", ckptB, ckptA, "--format", "table"}},
		{"report_pair.csv", []string{"report", "-o", "@tmp", ckptB, ckptA, "--format", "csv"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			args := slices.Clone(c.args)
			if i := slices.Index(args, "@tmp"); i >= 0 {
				args[i] = filepath.Join(t.TempDir(), "report.html")
			}
			out, errOut, code := run(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, c.golden, out)
		})
	}
}

// pairGolden is one PAIR of testdata/drift.golden.json, PyTorch's float64
// figures (see testdata/gen/gen_drift.py).
type pairGolden struct {
	Pairs       int64    `json:"pairs"`
	Skipped     int64    `json:"skipped"`
	Changed     int64    `json:"changed"`
	AL2         float64  `json:"a_l2"`
	BL2         float64  `json:"b_l2"`
	DeltaL2     float64  `json:"delta_l2"`
	MaxAbsDelta *float64 `json:"max_abs_delta"`
	RelChange   *float64 `json:"rel_change"`
	Cosine      *float64 `json:"cosine"`
	NormRatio   *float64 `json:"norm_ratio"`
}

type statesGolden struct {
	Name     string     `json:"name"`
	Shape    []int64    `json:"shape"`
	FP32     pairGolden `json:"fp32"`
	BF16     pairGolden `json:"bf16"`
	ExpAvg   pairGolden `json:"exp_avg"`
	ExpAvgSq pairGolden `json:"exp_avg_sq"`
}

// comparePair checks one state of `diff --format json` against its golden.
func comparePair(t *testing.T, what string, got *report.StateDiff, want pairGolden) {
	t.Helper()
	if got == nil || !got.Compared {
		t.Errorf("%s: not compared", what)
		return
	}
	if got.Pairs != want.Pairs || got.Skipped != want.Skipped || got.Changed != want.Changed {
		t.Errorf("%s: pairs %d skipped %d changed %d, want %d %d %d", what, got.Pairs, got.Skipped, got.Changed, want.Pairs, want.Skipped, want.Changed)
	}
	p := func(x float64) *float64 { return &x }
	for _, f := range []struct {
		name  string
		got   *output.Float
		want  *float64
		exact bool
	}{
		{"delta_l2", got.DeltaL2, p(want.DeltaL2), false}, {"a_l2", got.AL2, p(want.AL2), false}, {"b_l2", got.BL2, p(want.BL2), false},
		{"rel_change", got.RelChange, want.RelChange, false}, {"cosine", got.Cosine, want.Cosine, false},
		{"norm_ratio", got.NormRatio, want.NormRatio, false}, {"max_abs_delta", got.MaxAbsDelta, want.MaxAbsDelta, true},
	} {
		switch {
		case (f.got == nil) != (f.want == nil):
			t.Errorf("%s: %s = %v, want %v", what, f.name, f.got, f.want)
		case f.got == nil:
		case f.exact && float64(*f.got) != *f.want, !f.exact && !golden.Close(float64(*f.got), *f.want, 0):
			t.Errorf("%s: %s = %.17g, want %.17g", what, f.name, float64(*f.got), *f.want)
		}
	}
}

// TestDiffMatchesPyTorch checks every figure `diff --format json` prints
// for the two generator-made checkpoints against PyTorch's float64 ones.
func TestDiffMatchesPyTorch(t *testing.T) {
	var g struct {
		Params  []statesGolden `json:"params"`
		Summary struct {
			StepDelta      int64 `json:"step_delta"`
			ParamsCompared int   `json:"params_compared"`
			statesGolden
		} `json:"summary"`
	}
	if err := golden.Load("../../testdata/drift.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("diff", ckptA, ckptB, "--format", "json", "-j", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc report.Diff
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Summary
	if s.StepDelta == nil || *s.StepDelta != g.Summary.StepDelta || s.ParamsCompared != g.Summary.ParamsCompared ||
		len(s.OnlyInA)+len(s.OnlyInB)+len(s.ShapeMismatch) != 0 || len(doc.Params) != len(g.Params) {
		t.Fatalf("summary %+v", s)
	}
	for i, p := range doc.Params {
		w := g.Params[i]
		if p.Name != w.Name || !slices.Equal(p.ShapeA, w.Shape) {
			t.Fatalf("param %d: %s %v, want %s %v", i, p.Name, p.ShapeA, w.Name, w.Shape)
		}
		comparePair(t, p.Name+" fp32", p.FP32, w.FP32)
		comparePair(t, p.Name+" bf16", p.BF16, w.BF16)
		comparePair(t, p.Name+" exp_avg", p.ExpAvg, w.ExpAvg)
		comparePair(t, p.Name+" exp_avg_sq", p.ExpAvgSq, w.ExpAvgSq)
	}
	comparePair(t, "global fp32", s.Global.FP32, g.Summary.FP32)
	comparePair(t, "global bf16", s.Global.BF16, g.Summary.BF16)
	comparePair(t, "global exp_avg", s.Global.ExpAvg, g.Summary.ExpAvg)
	comparePair(t, "global exp_avg_sq", s.Global.ExpAvgSq, g.Summary.ExpAvgSq)
	if s.DeltaNorm == nil || !golden.Close(float64(*s.DeltaNorm), g.Summary.FP32.DeltaL2, 0) ||
		s.RelChange == nil || !golden.Close(float64(*s.RelChange), *g.Summary.FP32.RelChange, 0) {
		t.Errorf("global change %v, %v; want %v, %v", s.DeltaNorm, s.RelChange, g.Summary.FP32.DeltaL2, *g.Summary.FP32.RelChange)
	}
	if s.BytesScanned != 2*(3*4+2)*13482 {
		t.Errorf("bytes scanned %d", s.BytesScanned)
	}
}

// TestDiffStructure compares checkpoints of two different models: what is
// on one side only and what has other shapes is listed, not compared.
func TestDiffStructure(t *testing.T) {
	out, errOut, code := run("diff", sample, ckptA, "--format", "json", "--force")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc report.Diff
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Summary
	if len(s.OnlyInA) != 20 || !slices.Contains(s.OnlyInA, "model.layers.1.mlp.up_proj.weight") || len(s.OnlyInB) != 0 {
		t.Errorf("only in A %v, only in B %v", s.OnlyInA, s.OnlyInB)
	}
	if s.ParamsCompared != 25 || len(s.ShapeMismatch) != 15 {
		t.Errorf("%d compared, shape mismatch %v", s.ParamsCompared, s.ShapeMismatch)
	}
	for _, p := range doc.Params {
		fp := p.FP32
		if p.ShapeMismatch != (fp.ShapeA != nil) || p.ShapeMismatch == fp.Compared || (fp.DeltaL2 == nil) != p.ShapeMismatch {
			t.Errorf("%s: mismatch %v, fp32 %+v", p.Name, p.ShapeMismatch, fp)
		}
	}
	if s.StepDelta == nil || *s.StepDelta != 7-120 {
		t.Errorf("step delta %v", s.StepDelta)
	}
}

// TestDiffSelf compares checkpoints with themselves, also as read from
// another layout (the same values, cut into pieces elsewhere).
func TestDiffSelf(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		params int
	}{
		{"sample", []string{sample, sample}, 45},
		{"universal against ZeRO-2 shards", []string{"../../testdata/zero-dp3/checkpoint-50", "../../testdata/zero-dp3/checkpoint-50", "--layout", "universal", "--layout-b", "zero"}, 25},
		{"ZeRO-3 shards against universal", []string{"../../testdata/zero3-dp3/checkpoint-9", "../../testdata/zero3-dp3/checkpoint-9", "--layout", "zero", "--layout-b", "universal"}, 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(append([]string{"diff", "--format", "json"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc report.Diff
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Summary.ParamsCompared != c.params || len(doc.Summary.ShapeMismatch) != 0 || *doc.Summary.StepDelta != 0 {
				t.Errorf("summary %+v", doc.Summary)
			}
			for _, p := range doc.Params {
				if p.FP32 == nil {
					t.Errorf("%s: fp32 not compared", p.Name)
				}
				for _, d := range []*report.StateDiff{p.FP32, p.BF16, p.ExpAvg, p.ExpAvgSq} {
					if d == nil { // a state one layout lacks (ZeRO-3 keeps no bf16 module weights)
						continue
					}
					if !d.Compared || d.Changed != 0 || *d.DeltaL2 != 0 || *d.MaxAbsDelta != 0 || (d.RelChange != nil && *d.RelChange != 0) ||
						(d.NormRatio != nil && *d.NormRatio != 1) || (d.Cosine != nil && *d.Cosine != 1) {
						t.Errorf("%s: %+v", p.Name, d)
					}
				}
			}
		})
	}
}

// TestReportCharts writes the report of the bundled sample and of the two
// generator-made checkpoints and checks their charts.
func TestReportCharts(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		args   []string
		charts []string
		legend int // legend entries of the first chart: one per checkpoint
	}{
		{"sample", []string{sample, "--hist", "model.layers.1.mlp.down_proj.weight"},
			[]string{"weight-rms", "update-ratio", "moments", "scales", "hist"}, 1},
		{"pair", []string{ckptB, ckptA, "--hist", "model.layers.0.self_attn.q_proj.weight", "--hist-state", "exp_avg", "--bins", "20"},
			[]string{"weight-rms", "update-ratio", "moments", "layer-change", "scales", "changed-0", "hist"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".html")
			out, errOut, code := run(append([]string{"report", "-o", path}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "checkpoint") || !strings.Contains(errOut, "wrote "+path) {
				t.Errorf("stdout %q, stderr %q", out, errOut)
			}
			html, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			charts, err := htmlreport.Outline(html)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ch := range charts {
				ids = append(ids, ch.ID)
				if len(ch.AxisLabels) != 2 || slices.Contains(ch.AxisLabels, "") || ch.Title == "" || len(ch.Legend) == 0 || ch.Marks == 0 {
					t.Errorf("chart %s: title %q, axis labels %q, legend %q, %d marks", ch.ID, ch.Title, ch.AxisLabels, ch.Legend, ch.Marks)
				}
			}
			if !slices.Equal(ids, c.charts) {
				t.Fatalf("charts %v, want %v", ids, c.charts)
			}
			if len(charts[0].Legend) != c.legend {
				t.Errorf("legend %q", charts[0].Legend)
			}
			if charts[0].Legend[0] != "step 7" && charts[0].Legend[0] != "step 120" {
				t.Errorf("checkpoints not ordered by step: legend %q", charts[0].Legend)
			}
			for _, bad := range []string{"<script", "<link", "<img", "src=", "href=", "url(", "@import", "http:", "https:"} {
				if bytes.Contains(html, []byte(bad)) {
					t.Errorf("the report contains %q", bad)
				}
			}
		})
	}
}

func TestDiffHistReportFlags(t *testing.T) {
	streams := Streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var d *DiffOptions
	dc := NewDiffCmd(streams, func(o *DiffOptions) error { d = o; return nil })
	dc.SetArgs([]string{"a", "b", "-j", "2", "-f", "csv", "--sort", "exp_avg.rel_change", "--top", "3", "--filter", "^m", "--group-by", "layer", "--layout", "zero"})
	if err := dc.Execute(); err != nil {
		t.Fatal(err)
	}
	if d.PathA != "a" || d.PathB != "b" || d.Jobs != 2 || d.Format != output.CSV || d.Sort != "exp_avg.rel_change" || d.Top != 3 || d.re == nil || d.GroupBy != "layer" ||
		d.LayoutA != "zero" || d.LayoutB != "zero" {
		t.Errorf("diff options %+v", d)
	}
	dc = NewDiffCmd(streams, func(o *DiffOptions) error { d = o; return nil })
	dc.SetArgs([]string{"a", "b", "--layout-b", "universal"})
	if err := dc.Execute(); err != nil {
		t.Fatal(err)
	}
	if d.LayoutA != "" || d.LayoutB != "universal" {
		t.Errorf("layouts %q, %q", d.LayoutA, d.LayoutB)
	}
	var h *HistOptions
	hc := NewHistCmd(streams, func(o *HistOptions) error { h = o; return nil })
	hc.SetArgs([]string{"w", "ck", "--state", "exp_avg", "--bins", "7", "--range", "-1,2.5", "--log-counts", "--width", "20"})
	if err := hc.Execute(); err != nil {
		t.Fatal(err)
	}
	if h.Name != "w" || h.Path != "ck" || h.State != "exp_avg" || h.Bins != 7 || !slices.Equal(h.Range, []float64{-1, 2.5}) || !h.LogCounts || h.Width != 20 {
		t.Errorf("hist options %+v", h)
	}
	var r *ReportOptions
	rc := NewReportCmd(streams, func(o *ReportOptions) error { r = o; return nil })
	rc.SetArgs([]string{"a", "b", "c", "-o", "x.html", "--hist", "w", "--hist-state", "bf16", "--bins", "9", "--top", "5", "-f", "json"})
	if err := rc.Execute(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Paths, []string{"a", "b", "c"}) || r.Output != "x.html" || r.Hist != "w" || r.HistState != "bf16" || r.Bins != 9 || r.Top != 5 || r.Format != output.JSON {
		t.Errorf("report options %+v", r)
	}
}

func TestDiffHistReportExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"diff", ckptA}, ExitUsage, "diff: missing B"},
		{[]string{"diff", ckptA, ckptB, "--sort", "fp32.bogus"}, ExitUsage, "unknown field"},
		{[]string{"diff", ckptA, ckptB, "--sort", "nope.rel_change"}, ExitUsage, "unknown field"},
		{[]string{"diff", ckptA, ckptB, "--group-by", "block"}, ExitUsage, "--group-by"},
		{[]string{"diff", ckptA, filepath.Join(dir, "missing")}, ExitInput, "missing"},
		{[]string{"hist", "lm_head.weight", sample, "--state", "grad"}, ExitUsage, "--state"},
		{[]string{"hist", "lm_head.weight", sample, "--range", "1,0"}, ExitUsage, "--range"},
		{[]string{"hist", "lm_head.weight", sample, "--range", "0,1", "--log"}, ExitUsage, "--range"},
		{[]string{"hist", "lm_head", sample}, ExitInput, "did you mean lm_head_alpha, lm_head.weight"},
		{[]string{"report", sample}, ExitUsage, "-o FILE"},
		{[]string{"report", "-o", filepath.Join(dir, "r.html"), sample, "--hist", "nope"}, ExitInput, "--hist"},
		{[]string{"report", "-o", filepath.Join(dir, "r.html"), sample, "--top", "0"}, ExitUsage, "--top"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, code := run(c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err == nil {
		t.Error("a failed report left a file")
	}
}
