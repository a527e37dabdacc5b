package universal

import (
	"context"
	"errors"
	"fmt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/tensor"
)

type goldenCheckpoint struct {
	Checkpoint struct {
		Step        int64  `json:"step"`
		DSVersion   string `json:"ds_version"`
		ParamGroups []struct {
			LR          float64    `json:"lr"`
			Betas       [2]float64 `json:"betas"`
			Eps         float64    `json:"eps"`
			WeightDecay float64    `json:"weight_decay"`
			Params      []string   `json:"params"`
		} `json:"param_groups"`
	} `json:"checkpoint"`
	Params []struct {
		Name       string        `json:"name"`
		Shape      []int64       `json:"shape"`
		Numel      int64         `json:"numel"`
		Step       int64         `json:"step"`
		Group      int           `json:"group"`
		Scale      bool          `json:"scale"`
		ScaleValue *float64      `json:"scale_value"`
		FP32       *golden.Stats `json:"fp32"`
		ExpAvg     *golden.Stats `json:"exp_avg"`
		ExpAvgSq   *golden.Stats `json:"exp_avg_sq"`
		BF16       *golden.Stats `json:"bf16"`
		Adam       struct {
			UpdateRMS      *float64 `json:"update_rms"`
			UpdateToWeight *float64 `json:"update_to_weight"`
		} `json:"adam"`
	} `json:"params"`
	Summary struct {
		Step         int64   `json:"step"`
		Params       int     `json:"params"`
		Numel        int64   `json:"numel"`
		WeightNorm   float64 `json:"weight_norm"`
		ExpAvgNorm   float64 `json:"exp_avg_norm"`
		ExpAvgSqNorm float64 `json:"exp_avg_sq_norm"`
		BF16Norm     float64 `json:"bf16_norm"`
		NaN          int64   `json:"nan"`
		Inf          int64   `json:"inf"`
	} `json:"summary"`
}

// TestGolden opens the bundled samples through every entry point (Trainer
// folder, tag folder, zero/ folder) and checks every statistic of every
// parameter against PyTorch's float64 values. The sample saves step as a
// 0-dim tensor, universal-intstep as a Python int.
func TestGolden(t *testing.T) {
	samples := []struct {
		golden, trainer, tag string
	}{
		{"../testdata/sample.golden.json", "../testdata/sample/checkpoint-120", "global_step120_universal"},
		{"../testdata/universal-intstep.golden.json", "../testdata/universal-intstep/checkpoint-7", "global_step7_universal"},
	}
	for _, s := range samples {
		var g goldenCheckpoint
		if err := golden.Load(s.golden, &g); err != nil {
			t.Fatal(err)
		}
		tag := filepath.Join(s.trainer, s.tag)
		for _, entry := range []string{s.trainer, tag, filepath.Join(tag, "zero")} {
			t.Run(entry, func(t *testing.T) {
				c, err := Open(entry, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				checkGolden(t, c, &g, entry == s.trainer)
			})
		}
	}
}

func checkGolden(t *testing.T, c *ckpt.Checkpoint, g *goldenCheckpoint, inTrainer bool) {
	t.Helper()
	if c.Step == nil || *c.Step != g.Checkpoint.Step || c.DSVersion != g.Checkpoint.DSVersion {
		t.Errorf("step %v, ds_version %q", c.Step, c.DSVersion)
	}
	if inTrainer && (c.TrainerStep == nil || *c.TrainerStep != g.Checkpoint.Step || c.Config == nil) {
		t.Errorf("trainer step %v, config %v", c.TrainerStep, c.Config != nil)
	}
	if len(c.ParamGroups) != len(g.Checkpoint.ParamGroups) {
		t.Fatalf("%d param groups, want %d", len(c.ParamGroups), len(g.Checkpoint.ParamGroups))
	}
	for i, want := range g.Checkpoint.ParamGroups {
		got := c.ParamGroups[i]
		if *got.LR != want.LR || *got.Betas != want.Betas || *got.Eps != want.Eps || *got.WeightDecay != want.WeightDecay ||
			fmt.Sprint(got.Params) != fmt.Sprint(want.Params) {
			t.Errorf("group %d = %+v, want %+v", i, got, want)
		}
	}
	res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*ckpt.ParamResult{}
	for _, pr := range res.Params {
		byName[pr.Param.Name] = pr
	}
	if len(res.Params) != len(g.Params) {
		t.Errorf("%d params, want %d", len(res.Params), len(g.Params))
	}
	for _, want := range g.Params {
		pr := byName[want.Name]
		if pr == nil {
			t.Errorf("param %s missing", want.Name)
			continue
		}
		p := pr.Param
		if fmt.Sprint(p.Shape) != fmt.Sprint(want.Shape) || p.Numel() != want.Numel || p.Group != want.Group ||
			p.Step == nil || *p.Step != want.Step || pr.Err != nil {
			t.Errorf("%s: shape %v group %d step %v err %v; want %v %d %d", want.Name, p.Shape, p.Group, p.Step, pr.Err, want.Shape, want.Group, want.Step)
		}
		if pr.Scale != want.Scale || (want.Scale && pr.ScaleValue != *want.ScaleValue) {
			t.Errorf("%s: scale %v %v, want %v %v", want.Name, pr.Scale, pr.ScaleValue, want.Scale, want.ScaleValue)
		}
		for _, st := range []struct {
			name string
			got  *tensor.Stats
			want *golden.Stats
		}{{"fp32", pr.FP32, want.FP32}, {"exp_avg", pr.ExpAvg, want.ExpAvg}, {"exp_avg_sq", pr.ExpAvgSq, want.ExpAvgSq}, {"bf16", pr.BF16, want.BF16}} {
			if st.got == nil {
				t.Errorf("%s %s missing", want.Name, st.name)
				continue
			}
			for _, d := range golden.Compare(*st.got, *st.want) {
				t.Errorf("%s %s: %s", want.Name, st.name, d)
			}
		}
		if pr.Adam == nil {
			t.Errorf("%s: no adam statistics", want.Name)
			continue
		}
		if !golden.Close(pr.Adam.UpdateRMS, *want.Adam.UpdateRMS, 0) || !golden.Close(pr.Adam.UpdateToWeight, *want.Adam.UpdateToWeight, 0) {
			t.Errorf("%s: adam %v %v, want %v %v", want.Name, pr.Adam.UpdateRMS, pr.Adam.UpdateToWeight, *want.Adam.UpdateRMS, *want.Adam.UpdateToWeight)
		}
	}
	s := res.Summary
	if *s.Step != g.Summary.Step || s.Params != g.Summary.Params || s.Numel != g.Summary.Numel || s.NaN != g.Summary.NaN || s.Inf != g.Summary.Inf {
		t.Errorf("summary %+v, want %+v", s, g.Summary)
	}
	for _, n := range []struct {
		name      string
		got, want float64
	}{{"weight", s.WeightNorm, g.Summary.WeightNorm}, {"exp_avg", s.ExpAvgNorm, g.Summary.ExpAvgNorm},
		{"exp_avg_sq", s.ExpAvgSqNorm, g.Summary.ExpAvgSqNorm}, {"bf16", s.BF16Norm, g.Summary.BF16Norm}} {
		if !golden.Close(n.got, n.want, 0) {
			t.Errorf("%s norm %v, want %v", n.name, n.got, n.want)
		}
	}
}

// TestChunkingInvariant checks that tiny chunks and one worker give the
// same counts, extremes and (to rounding) sums as the default.
func TestChunkingInvariant(t *testing.T) {
	c, err := Open("../testdata/sample/checkpoint-120", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var opt ckpt.ScanOptions
	opt.Workers = 1
	opt.Tuning.ChunkElems = 100
	b, err := ckpt.Scan(context.Background(), c, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Params {
		x, y := a.Params[i], b.Params[i]
		if x.FP32.Min != y.FP32.Min || x.FP32.Max != y.FP32.Max || x.ExpAvgSq.Zeros != y.ExpAvgSq.Zeros ||
			math.Abs(x.FP32.L2-y.FP32.L2) > 1e-12*x.FP32.L2 || math.Abs(x.Adam.UpdateRMS-y.Adam.UpdateRMS) > 1e-12*x.Adam.UpdateRMS {
			t.Errorf("%s differs with small chunks", x.Param.Name)
		}
	}
}

func TestNotUniversal(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotUniversal) {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Open("../testdata/torch/dtypes.pt", Options{}); !errors.Is(err, ErrNotUniversal) {
		t.Errorf("file: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// copySample copies the bundled sample's Trainer folder into a temporary
// folder that a test may damage.
func copySample(t *testing.T) string {
	return fixture.CopyTree(t, "../testdata/universal-intstep/checkpoint-7")
}

// TestMissingOptionalPieces removes what a checkpoint may lack and checks
// that each absence is a note, never an error.
func TestMissingOptionalPieces(t *testing.T) {
	dir := copySample(t)
	tag := filepath.Join(dir, "global_step7_universal")
	for _, p := range []string{
		filepath.Join(tag, "mp_rank_00_model_states.pt"),
		filepath.Join(tag, "zero", "optimizer_state.pt"),
		filepath.Join(dir, "trainer_state.json"),
		filepath.Join(dir, "config.json"),
	} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	// An extra state and a stray file are reported, not fatal.
	emb := filepath.Join(tag, "zero", "model.embed_tokens.weight")
	b, _ := os.ReadFile(filepath.Join(emb, "exp_avg.pt"))
	os.WriteFile(filepath.Join(emb, "max_exp_avg_sq.pt"), b, 0o644)
	os.WriteFile(filepath.Join(emb, "README.txt"), []byte("x"), 0o644)
	// Folders named like states, one of them through a symbolic link, are
	// stray entries too.
	os.Mkdir(filepath.Join(emb, "old.pt"), 0o755)
	if err := os.Symlink(filepath.Join(emb, "old.pt"), filepath.Join(emb, "linked.pt")); err != nil {
		t.Fatal(err)
	}

	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	notes := fmt.Sprint(c.Notes)
	for _, want := range []string{"model states", "optimizer_state.pt", "trainer_state.json", "config.json", "README.txt", "old.pt", "linked.pt"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q: %s", want, notes)
		}
	}
	if c.Step != nil || len(c.ParamGroups) != 0 {
		t.Errorf("step %v, %d groups without model states", c.Step, len(c.ParamGroups))
	}
	res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range res.Params {
		if pr.FP32 == nil || pr.ExpAvg == nil || pr.BF16 != nil || pr.Adam != nil || pr.Param.Group != -1 {
			t.Errorf("%s: fp32 %v exp_avg %v bf16 %v adam %v group %d", pr.Param.Name, pr.FP32 != nil, pr.ExpAvg != nil, pr.BF16 != nil, pr.Adam, pr.Param.Group)
		}
		if pr.Param.Name == "model.embed_tokens.weight" && (len(pr.Param.Other) != 1 || pr.Param.Other[0].State != "max_exp_avg_sq") {
			t.Errorf("extra state not reported: %+v", pr.Param.Other)
		}
	}
}

// TestBrokenStateFile checks that a damaged state file is an error naming
// the parameter and the file.
func TestBrokenStateFile(t *testing.T) {
	dir := copySample(t)
	p := filepath.Join(dir, "global_step7_universal", "zero", "model.norm.weight", "exp_avg.pt")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o644)
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "model.norm.weight") || !strings.Contains(err.Error(), p) {
		t.Errorf("err = %v", err)
	}
}
