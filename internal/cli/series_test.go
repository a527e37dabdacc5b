package cli

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

func TestSeriesFlags(t *testing.T) {
	streams := Streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *SeriesOptions
	c := NewSeriesCmd(streams, func(o *SeriesOptions) error { got = o; return nil })
	c.SetArgs([]string{"run", "ck", "-f", "parquet", "-o", "x.parquet", "--cache", "cdir", "--filter", "alpha$", "-j", "3", "--layout", "zero"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Paths, []string{"run", "ck"}) || got.Format != "parquet" || got.Output != "x.parquet" || got.CacheDir != "cdir" ||
		got.Filter != "alpha$" || got.Jobs != 3 || got.Layout != "zero" {
		t.Errorf("series options %+v", got)
	}
	var r *ReportOptions
	rc := NewReportCmd(streams, func(o *ReportOptions) error { r = o; return nil })
	rc.SetArgs([]string{"run", "-o", "x.html", "--cache", "cdir"})
	if err := rc.Execute(); err != nil {
		t.Fatal(err)
	}
	if r.Cache != "cdir" {
		t.Errorf("report --cache: %+v", r)
	}
	for _, args := range [][]string{
		{"series", "run", "-f", "xml"},
		{"series", "run", "-f", "parquet"},
		{"series", "run", "--filter", "("},
		{"series"},
	} {
		if _, _, code := run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestSeriesCommand runs series over the bundled run in every format.
func TestSeriesCommand(t *testing.T) {
	out, errOut, code := run("series", "../../testdata/series", "-j", "2")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], report.SeriesColumns()) || len(recs) != 1+5*65*4 {
		t.Errorf("csv: header %v, %d records", recs[0], len(recs))
	}
	if !strings.Contains(errOut, "series: 5 checkpoints, steps 10 to 60: 5 read in full") {
		t.Errorf("stderr: %q", errOut)
	}
	dir := t.TempDir()
	pq := filepath.Join(dir, "run.parquet")
	if _, errOut, code := run("series", "../../testdata/series", "-f", "parquet", "-o", pq, "--filter", "alpha$", "--cache", filepath.Join(dir, "cache")); code != ExitOK {
		t.Fatalf("parquet: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(pq); err != nil || !bytes.HasPrefix(b, []byte("PAR1")) || !bytes.HasSuffix(b, []byte("PAR1")) {
		t.Errorf("parquet file: %v, %d bytes", err, len(b))
	}
	if _, errOut, _ := run("series", "../../testdata/series", "-f", "parquet", "-o", pq, "--filter", "alpha$", "--cache", filepath.Join(dir, "cache")); !strings.Contains(errOut, "0 read in full, 0 compared with their predecessor only, 5 from the cache") {
		t.Errorf("cached run: %q", errOut)
	}
	out, _, code = run("series", "../../testdata/series/checkpoint-10", "../../testdata/series/checkpoint-20", "-f", "jsonl", "--filter", `^lm_head\.weight$`)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != ExitOK || len(lines) != 8 || !strings.Contains(lines[4], `"step":20`) || !strings.Contains(lines[4], `"delta_l2":0.`) {
		t.Errorf("jsonl: exit %d, %q", code, out)
	}
	// --effective: a row of state effective per parameter with a weight.
	out, _, code = run("series", "../../testdata/wesar-llama/checkpoint-30", "-f", "jsonl", "--effective", "--filter", "alpha$")
	if code != ExitOK || strings.Count(out, `"state":"effective"`) != strings.Count(out, `"state":"fp32"`) || !strings.Contains(out, `"state":"effective"`) {
		t.Errorf("--effective: exit %d, %q", code, out)
	}
	if _, _, code := run("series", "../../testdata/wesar-llama/checkpoint-30", "--config", "x.json"); code != ExitUsage {
		t.Errorf("--config without --effective: exit %d", code)
	}
	// Different models: refused before anything is read.
	if _, errOut, code := run("series", "../../testdata/series/checkpoint-10", "../../testdata/sample/checkpoint-120"); code != ExitInput || !strings.Contains(errOut, "not checkpoints of one model") {
		t.Errorf("mixed models: exit %d, %q", code, errOut)
	}
}

// TestSeriesReportCommand writes the report of the bundled run: a run
// against step, every chart with its axis titles and legend.
func TestSeriesReportCommand(t *testing.T) {
	html := filepath.Join(t.TempDir(), "run.html")
	out, errOut, code := run("report", "-o", html, "../../testdata/series", "--hist", "model.layers.0.mlp.up_proj.weight", "--hist-state", "exp_avg_sq", "-f", "csv")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 6 || !strings.HasPrefix(lines[0], "path,step,") {
		t.Errorf("summary: %q", out)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	charts, err := htmlreport.Outline(b)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range charts {
		ids[c.ID] = true
		if len(c.AxisLabels) != 2 || len(c.Legend) == 0 || c.Marks == 0 {
			t.Errorf("chart %s: %+v", c.ID, c)
		}
	}
	for _, id := range []string{"wrms-q_proj", "uw-down_proj", "rel-outside", "m-gate_proj", "v-up_proj", "heat-uw", "heat-rel", "scale-q_proj_alpha", "hist-0", "hist-4"} {
		if !ids[id] {
			t.Errorf("no chart %s", id)
		}
	}
	if _, errOut, code := run("report", "-o", html, "../../testdata/series", "--hist", "no.such.param"); code != ExitInput || !strings.Contains(errOut, "no.such.param") {
		t.Errorf("--hist of a missing parameter: exit %d, %q", code, errOut)
	}
}
