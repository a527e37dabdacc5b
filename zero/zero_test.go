package zero

import (
	"context"
	"errors"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/universal"
)

const zero2Dir = "../testdata/zero-dp3/checkpoint-50"

func scan(t *testing.T, c *ckpt.Checkpoint) map[string]*ckpt.ParamResult {
	t.Helper()
	res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ckpt.ParamResult{}
	for _, pr := range res.Params {
		if pr.Err != nil {
			t.Fatalf("%s: %v", pr.Param.Name, pr.Err)
		}
		out[pr.Param.Name] = pr
	}
	return out
}

func same(a, b *tensor.Stats) bool {
	if a == nil || b == nil {
		return a == b
	}
	rel := func(x, y float64) bool { return x == y || math.Abs(x-y) <= 1e-12*math.Max(math.Abs(x), math.Abs(y)) }
	return a.Numel == b.Numel && a.Finite == b.Finite && a.NaN == b.NaN && a.Inf == b.Inf && a.Zeros == b.Zeros &&
		a.Min == b.Min && a.Max == b.Max && rel(a.L2, b.L2) && rel(a.Mean, b.Mean) && rel(a.Std, b.Std)
}

// TestShardsMatchUniversal reads the ZeRO-2 shards (3 ranks, parameters
// straddling partitions, a padded last partition) and the universal
// checkpoint made from them, and requires identical statistics.
func TestShardsMatchUniversal(t *testing.T) {
	for _, f := range []struct{ dir, tag string }{{zero2Dir, "global_step50"}, {zero3Dir, "global_step9"}} {
		t.Run(f.dir, func(t *testing.T) { matchUniversal(t, f.dir, f.tag) })
	}
}

const zero3Dir = "../testdata/zero3-dp3/checkpoint-9"

func matchUniversal(t *testing.T, dir, tag string) {
	z, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	u, err := universal.Open(dir, universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if z.Layout != Layout || z.Tag != tag || *z.Step != *u.Step {
		t.Errorf("layout %s tag %s step %v", z.Layout, z.Tag, z.Step)
	}
	if len(z.Issues) != 0 {
		t.Errorf("issues: %+v", z.Issues)
	}
	zs, us := scan(t, z), scan(t, u)
	if len(zs) != len(us) || len(zs) == 0 {
		t.Fatalf("%d params from shards, %d from universal", len(zs), len(us))
	}
	straddling := 0
	for _, p := range z.Params {
		if p.FP32 != nil && len(p.FP32.Pieces) > 1 {
			straddling++
		}
	}
	if straddling == 0 {
		t.Error("no parameter straddles a partition boundary")
	}
	for name, a := range zs {
		b := us[name]
		if b == nil {
			t.Errorf("%s missing from universal", name)
			continue
		}
		for _, st := range []struct {
			n    string
			x, y *tensor.Stats
		}{{"fp32", a.FP32, b.FP32}, {"exp_avg", a.ExpAvg, b.ExpAvg}, {"exp_avg_sq", a.ExpAvgSq, b.ExpAvgSq}, {"bf16", a.BF16, b.BF16}} {
			if st.n == "bf16" && st.x == nil && dir == zero3Dir {
				continue // ZeRO-3 keeps no whole module weight
			}
			if !same(st.x, st.y) {
				t.Errorf("%s %s: shards %+v, universal %+v", name, st.n, st.x, st.y)
			}
		}
		if *a.Param.Step != *b.Param.Step || a.Param.Group != b.Param.Group || a.Adam == nil || b.Adam == nil ||
			math.Abs(a.Adam.UpdateRMS-b.Adam.UpdateRMS) > 1e-12*b.Adam.UpdateRMS {
			t.Errorf("%s: step/group/adam differ", name)
		}
	}
}

// TestShardsGolden checks the shards against PyTorch's float64 goldens.
func TestShardsGolden(t *testing.T) {
	var raw struct {
		Params []struct {
			Name     string       `json:"name"`
			FP32     golden.Stats `json:"fp32"`
			ExpAvg   golden.Stats `json:"exp_avg"`
			ExpAvgSq golden.Stats `json:"exp_avg_sq"`
			BF16     golden.Stats `json:"bf16"`
		} `json:"params"`
	}
	if err := golden.Load("../testdata/zero-dp3.golden.json", &raw); err != nil {
		t.Fatal(err)
	}
	z, err := Open(zero2Dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	got := scan(t, z)
	for _, want := range raw.Params {
		pr := got[want.Name]
		if pr == nil {
			t.Errorf("%s missing", want.Name)
			continue
		}
		for _, st := range []struct {
			n string
			s *tensor.Stats
			w golden.Stats
		}{{"fp32", pr.FP32, want.FP32}, {"exp_avg", pr.ExpAvg, want.ExpAvg}, {"exp_avg_sq", pr.ExpAvgSq, want.ExpAvgSq}, {"bf16", pr.BF16, want.BF16}} {
			for _, d := range golden.Compare(*st.s, st.w) {
				t.Errorf("%s %s: %s", want.Name, st.n, d)
			}
		}
	}
}

func TestDamagedShards(t *testing.T) {
	shard := func(dir string, r int) string {
		return filepath.Join(dir, "global_step50", "bf16_zero_pp_rank_"+string(rune('0'+r))+"_mp_rank_00_optim_states.pt")
	}
	t.Run("missing rank", func(t *testing.T) {
		dir := fixture.CopyTree(t, zero2Dir)
		os.Remove(shard(dir, 2))
		c, err := Open(dir, Options{Tolerant: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var checks []string
		for _, is := range c.Issues {
			checks = append(checks, string(is.Check))
		}
		s := strings.Join(checks, " ")
		if !strings.Contains(s, string(ckpt.CheckMissingRank)) || !strings.Contains(s, string(ckpt.CheckFragments)) {
			t.Errorf("issues %v", checks)
		}
		if _, err := Open(dir, Options{}); err == nil {
			t.Error("strict open of a checkpoint with a missing rank succeeded")
		}
	})
	t.Run("overlapping mapping", func(t *testing.T) {
		dir := fixture.CopyTree(t, zero2Dir)
		b, _ := os.ReadFile(shard(dir, 0))
		os.WriteFile(shard(dir, 1), b, 0o644) // rank 1 now maps rank 0's fragments
		c, err := Open(dir, Options{Tolerant: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		found := false
		for _, is := range c.Issues {
			if is.Check == ckpt.CheckFragments && (strings.Contains(is.Message, "overlap") || strings.Contains(is.Message, "gap")) {
				found = true
			}
		}
		if !found {
			t.Errorf("no fragment issue: %+v", c.Issues)
		}
	})
	t.Run("latest names a missing tag", func(t *testing.T) {
		dir := fixture.CopyTree(t, zero2Dir)
		os.WriteFile(filepath.Join(dir, "latest"), []byte("global_step99"), 0o644)
		if _, err := Open(dir, Options{}); !errors.Is(err, ErrMissingTag) {
			t.Errorf("err = %v", err)
		}
	})
}
