package series_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/series"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// goldenRow is one row of testdata/series.golden.json (written by
// testdata/gen/gen_series.py with PyTorch in float64).
type goldenRow struct {
	Step           int64    `json:"step"`
	Param          string   `json:"param"`
	State          string   `json:"state"`
	Numel          int64    `json:"numel"`
	Finite         int64    `json:"finite"`
	NaN            int64    `json:"nan"`
	Inf            int64    `json:"inf"`
	Zeros          int64    `json:"zeros"`
	L2             *float64 `json:"l2"`
	RMS            *float64 `json:"rms"`
	Mean           *float64 `json:"mean"`
	Std            *float64 `json:"std"`
	Min            *float64 `json:"min"`
	Max            *float64 `json:"max"`
	AbsMax         *float64 `json:"absmax"`
	UpdateRMS      *float64 `json:"update_rms"`
	UpdateToWeight *float64 `json:"update_to_weight"`
	DeltaL2        *float64 `json:"delta_l2"`
	RelChange      *float64 `json:"rel_change"`
	Cosine         *float64 `json:"cosine"`
}

type seriesGolden struct {
	Checkpoints []struct {
		Path string `json:"path"`
		Step int64  `json:"step"`
	} `json:"checkpoints"`
	Rows []goldenRow `json:"rows"`
}

func loadGolden(t *testing.T) seriesGolden {
	t.Helper()
	var g seriesGolden
	if err := golden.Load("../testdata/series.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Checkpoints) < 5 {
		t.Fatalf("the golden run has %d checkpoints, want at least 5", len(g.Checkpoints))
	}
	return g
}

type rowKey struct {
	step  int64
	param string
	state ckpt.State
}

// collect runs a series and returns its parts.
func collect(t *testing.T, s *series.Series) []series.Part {
	t.Helper()
	var parts []series.Part
	if err := s.Run(context.Background(), func(p series.Part) error {
		parts = append(parts, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return parts
}

// checkRows compares every row of a run with the golden: counts and
// extremes exactly, sums to golden.RelTol, undefined figures undefined.
func checkRows(t *testing.T, parts []series.Part, g seriesGolden) {
	t.Helper()
	got := map[rowKey]series.Row{}
	for _, p := range parts {
		for _, r := range p.Rows {
			got[rowKey{r.Step, r.Param, r.State}] = r
		}
	}
	if len(got) != len(g.Rows) {
		t.Errorf("%d rows, want %d", len(got), len(g.Rows))
	}
	worst := 0.0
	for _, w := range g.Rows {
		r, ok := got[rowKey{w.Step, w.Param, ckpt.State(w.State)}]
		what := fmt.Sprintf("step %d %s %s", w.Step, w.Param, w.State)
		if !ok {
			t.Errorf("%s: no row", what)
			continue
		}
		if r.Numel != w.Numel || r.Finite() != w.Finite || r.NaN != w.NaN || r.Inf != w.Inf || r.Zeros != w.Zeros {
			t.Errorf("%s: numel %d finite %d nan %d inf %d zeros %d, want %d %d %d %d %d", what,
				r.Numel, r.Finite(), r.NaN, r.Inf, r.Zeros, w.Numel, w.Finite, w.NaN, w.Inf, w.Zeros)
		}
		n := yulan.Parse(w.Param)
		if r.Layer != n.Layer || r.Kind != n.Kind {
			t.Errorf("%s: layer %d kind %s, want %d %s", what, r.Layer, r.Kind, n.Layer, n.Kind)
		}
		ref := 0.0
		if w.RMS != nil {
			ref = *w.RMS
		}
		for _, f := range []struct {
			name  string
			got   float64
			want  *float64
			exact bool
			ref   float64
		}{
			{"l2", r.L2, w.L2, false, 0}, {"rms", r.RMS, w.RMS, false, 0}, {"mean", r.Mean, w.Mean, false, ref},
			{"std", r.Std, w.Std, false, ref}, {"min", r.Min, w.Min, true, 0}, {"max", r.Max, w.Max, true, 0},
			{"absmax", r.AbsMax, w.AbsMax, true, 0},
			{"update_rms", r.UpdateRMS, w.UpdateRMS, false, 0}, {"update_to_weight", r.UpdateToWeight, w.UpdateToWeight, false, 0},
			{"delta_l2", r.DeltaL2, w.DeltaL2, false, 0}, {"rel_change", r.RelChange, w.RelChange, false, 0},
			{"cosine", r.Cosine, w.Cosine, false, 0},
		} {
			switch {
			case f.want == nil:
				if !math.IsNaN(f.got) {
					t.Errorf("%s: %s = %v, want undefined (NaN)", what, f.name, f.got)
				}
			case f.exact && f.got != *f.want:
				t.Errorf("%s: %s = %.17g, want %.17g exactly", what, f.name, f.got, *f.want)
			case !golden.Close(f.got, *f.want, f.ref):
				t.Errorf("%s: %s = %.17g, want %.17g", what, f.name, f.got, *f.want)
			case *f.want != 0:
				worst = max(worst, math.Abs(f.got-*f.want)/math.Abs(*f.want))
			}
		}
	}
	t.Logf("largest relative difference from PyTorch: %.2g", worst)
}

// TestSeriesGolden measures the generated run (a Trainer output_dir of 5
// checkpoints with known AdamW steps between them) and compares every row
// with PyTorch's float64 figures.
func TestSeriesGolden(t *testing.T) {
	g := loadGolden(t)
	for _, workers := range []int{1, 3} {
		s, err := series.Open([]string{"../testdata/series"}, series.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Checkpoints) != len(g.Checkpoints) {
			t.Fatalf("%d checkpoints, want %d", len(s.Checkpoints), len(g.Checkpoints))
		}
		for i, ck := range s.Checkpoints {
			if ck.Step != g.Checkpoints[i].Step || ck.Layout != "universal" || filepath.Base(ck.Path) != filepath.Base(g.Checkpoints[i].Path) {
				t.Errorf("checkpoint %d: %s step %d layout %s, want %s step %d", i, ck.Path, ck.Step, ck.Layout, g.Checkpoints[i].Path, g.Checkpoints[i].Step)
			}
		}
		parts := collect(t, s)
		checkRows(t, parts, g)
		for i, ck := range s.Checkpoints {
			if !ck.Scanned || ck.Compared != (i > 0) || ck.Cached {
				t.Errorf("%s: scanned %v compared %v cached %v", ck.Path, ck.Scanned, ck.Compared, ck.Cached)
			}
		}
	}
}

// TestSeriesOrder gives the checkpoints one by one, out of order, and a
// tag folder: they are ordered by step.
func TestSeriesOrder(t *testing.T) {
	args := []string{"../testdata/series/checkpoint-45", "../testdata/series/checkpoint-10",
		"../testdata/series/checkpoint-30/global_step30_universal", "../testdata/series/checkpoint-10"}
	s, err := series.Open(args, series.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, ck := range s.Checkpoints {
		steps = append(steps, ck.Step)
	}
	if fmt.Sprint(steps) != "[10 30 45]" {
		t.Errorf("steps %v, want [10 30 45]", steps)
	}
}

// TestSeriesRefusesOtherModel mixes a checkpoint of another model in.
func TestSeriesRefusesOtherModel(t *testing.T) {
	_, err := series.Open([]string{"../testdata/series/checkpoint-10", "../testdata/sample/checkpoint-120"}, series.Options{})
	if !errors.Is(err, ckpt.ErrDifferentModels) {
		t.Fatalf("error %v, want ErrDifferentModels", err)
	}
	_, err = series.Open([]string{"../testdata/series/checkpoint-10", "../testdata/series/checkpoint-10/global_step10_universal"}, series.Options{})
	if !errors.Is(err, series.ErrDuplicateStep) {
		t.Fatalf("error %v, want ErrDuplicateStep", err)
	}
}

// TestSeriesDeepSpeedTags reads a DeepSpeed save folder (tag folders side
// by side) as a run.
func TestSeriesDeepSpeedTags(t *testing.T) {
	run := filepath.Join(t.TempDir(), "ds")
	for _, step := range []string{"10", "20", "30"} {
		src := "../testdata/series/checkpoint-" + step + "/global_step" + step + "_universal"
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(fixture.CopyTree(t, src), filepath.Join(run, "global_step"+step+"_universal")); err != nil {
			t.Fatal(err)
		}
	}
	cands, err := series.Find([]string{run}, "")
	if err != nil || len(cands) != 3 || !cands[2].HasNameStep || cands[2].NameStep != 30 {
		t.Fatalf("Find: %+v, %v", cands, err)
	}
	s, err := series.Open([]string{run}, series.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parts := collect(t, s)
	if len(parts) != 3 || parts[2].Checkpoint.Step != 30 || len(parts[2].Rows) == 0 || !parts[2].Rows[0].HasDelta() {
		t.Fatalf("%d parts", len(parts))
	}
}

// TestSeriesCache checks that the cache gives the same rows and that a run
// reads only what changed: a new checkpoint (and its predecessor's fp32
// weights), a changed one (and the fp32 weights of its neighbours).
func TestSeriesCache(t *testing.T) {
	g := loadGolden(t)
	run := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"checkpoint-10", "checkpoint-20", "checkpoint-30", "checkpoint-45", "checkpoint-60"}
	for _, n := range names[:4] {
		if err := os.Rename(fixture.CopyTree(t, "../testdata/series/"+n), filepath.Join(run, n)); err != nil {
			t.Fatal(err)
		}
	}
	opt := series.Options{CacheDir: filepath.Join(t.TempDir(), "cache"), Workers: 2}
	// reads returns, per checkpoint, what a run did: C cached, S scanned,
	// D change computed (s and d when both, - nothing read).
	reads := func() (string, []series.Part) {
		t.Helper()
		s, err := series.Open([]string{run}, opt)
		if err != nil {
			t.Fatal(err)
		}
		parts := collect(t, s)
		out := ""
		for _, ck := range s.Checkpoints {
			c := "-"
			switch {
			case ck.Scanned && ck.Compared:
				c = "SD"
			case ck.Scanned:
				c = "S"
			case ck.Compared:
				c = "D"
			}
			if ck.Cached {
				c = "C" + c
			}
			out += c + " "
		}
		if len(s.Notes) > 0 {
			t.Errorf("notes: %q", s.Notes)
		}
		return out, parts
	}
	check := func(what, got, want string, parts []series.Part) {
		t.Helper()
		if got != want {
			t.Errorf("%s: reads %q, want %q", what, got, want)
		}
		sub := g
		sub.Rows = nil
		for _, r := range g.Rows {
			if r.Step <= parts[len(parts)-1].Checkpoint.Step {
				sub.Rows = append(sub.Rows, r)
			}
		}
		checkRows(t, parts, sub)
	}
	got, parts := reads()
	check("first run", got, "S SD SD SD ", parts)
	got, parts = reads()
	check("again", got, "C- C- C- C- ", parts)
	if err := os.Rename(fixture.CopyTree(t, "../testdata/series/"+names[4]), filepath.Join(run, names[4])); err != nil {
		t.Fatal(err)
	}
	got, parts = reads()
	check("a new checkpoint", got, "C- C- C- C- SD ", parts)
	// A file of checkpoint-30 changes (its modification time): checkpoint-30
	// is read again, with checkpoint-20's fp32 weights, and the change from
	// it to checkpoint-45 computed again.
	touched := filepath.Join(run, "checkpoint-30", "trainer_state.json")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(touched, later, later); err != nil {
		t.Fatal(err)
	}
	got, parts = reads()
	check("a changed checkpoint", got, "C- C- SD CD C- ", parts)
	got, parts = reads()
	check("again", got, "C- C- C- C- C- ", parts)
	// Another filter is another cache entry.
	opt.Filter = `alpha$`
	got, _ = reads()
	if got != "S SD SD SD SD " {
		t.Errorf("with a filter: reads %q", got)
	}
}

// TestSeriesCacheLinked gives checkpoints through symbolic links to their
// folders: a change of a file behind a link is still seen.
func TestSeriesCacheLinked(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for _, n := range []string{"checkpoint-10", "checkpoint-20", "checkpoint-30"} {
		link := filepath.Join(dir, n)
		if err := os.Symlink(fixture.CopyTree(t, "../testdata/series/"+n), link); err != nil {
			t.Fatal(err)
		}
		args = append(args, link)
	}
	opt := series.Options{CacheDir: filepath.Join(dir, "cache")}
	scanned := func() (n int) {
		t.Helper()
		s, err := series.Open(args, opt)
		if err != nil {
			t.Fatal(err)
		}
		collect(t, s)
		for _, ck := range s.Checkpoints {
			if ck.Scanned {
				n++
			}
		}
		return n
	}
	if n := scanned(); n != 3 {
		t.Fatalf("first run scanned %d", n)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(args[1], "config.json"), later, later); err != nil {
		t.Fatal(err)
	}
	if n := scanned(); n != 1 {
		t.Errorf("after a change behind a link, %d scanned, want 1", n)
	}
}
