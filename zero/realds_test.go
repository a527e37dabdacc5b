package zero

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/dsmeta"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/internal/golden/goldenscan"
	"github.com/ckptinspect/ckptinspect/universal"
)

// realds holds checkpoints written by DeepSpeed 0.15.1 itself and their
// PyTorch float64 goldens (testdata/gen/realds).
const realds = "../testdata/realds"

// TestRealDeepSpeedGolden reads every shard folder DeepSpeed's engine
// wrote — ZeRO-2 bf16 and fp32, the BF16_Optimizer, ZeRO-3 with one and
// two param groups, 3 data-parallel ranks each — through the tag folder
// and through the save folder's latest, and checks names, shapes, groups,
// steps and every statistic against PyTorch's float64 values, with no
// issue.
func TestRealDeepSpeedGolden(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(realds, "*.golden.json"))
	n := 0
	for _, p := range paths {
		if filepath.Base(p) == "diff.golden.json" {
			continue
		}
		var g golden.Checkpoint
		if err := golden.Load(p, &g); err != nil {
			t.Fatal(err)
		}
		if g.Layouts["zero"] == "" {
			continue
		}
		n++
		tag := filepath.Join(realds, g.Layouts["zero"])
		entries := []string{tag}
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(tag), "latest")); err == nil && string(b) == filepath.Base(tag) {
			entries = append(entries, filepath.Dir(tag))
		}
		for _, entry := range entries {
			t.Run(strings.TrimPrefix(entry, realds+"/"), func(t *testing.T) {
				c, err := Open(entry, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if c.Tag != filepath.Base(tag) || c.Layout != Layout {
					t.Errorf("layout %s tag %s", c.Layout, c.Tag)
				}
				for _, is := range c.Issues {
					if is.Severity != ckpt.Info {
						t.Errorf("issue %+v", is)
					}
				}
				res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2, Compare: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range goldenscan.Compare(&g, c, res) {
					t.Error(d)
				}
				for _, pr := range res.Params {
					if m := pr.Master; m != nil && m.Mismatch > 0 {
						t.Errorf("%s: module weight differs from the master in %d elements", pr.Param.Name, m.Mismatch)
					}
				}
				checkRankFiles(t, c, tag)
			})
		}
	}
	if n < 5 {
		t.Errorf("%d shard goldens", n)
	}
}

// checkRankFiles requires every file of the tag folder that a resume reads
// among the checkpoint's files (so that verify --deep covers them).
func checkRankFiles(t *testing.T, c *ckpt.Checkpoint, tag string) {
	t.Helper()
	opened := map[string]bool{}
	for _, f := range c.Files {
		opened[f.Path] = true
	}
	entries, _ := os.ReadDir(tag)
	for _, e := range entries {
		if p := filepath.Join(tag, e.Name()); !opened[p] {
			t.Errorf("%s was not opened", p)
		}
	}
}

// TestRealShardsMatchUniversal reads the shards and the universal
// checkpoint DeepSpeed's ds_to_universal made of them, and requires the
// same statistics (the converter's extra elements are not read).
func TestRealShardsMatchUniversal(t *testing.T) {
	for _, dir := range []string{"z2_dp3_bf16", "z3onegroup_dp3_bf16"} {
		t.Run(dir, func(t *testing.T) {
			z, err := Open(filepath.Join(realds, dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			u, err := universal.Open(filepath.Join(realds, dir), universal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			zs, us := scan(t, z), scan(t, u)
			if len(zs) != len(us) || len(zs) != 45 {
				t.Fatalf("%d params from shards, %d from universal", len(zs), len(us))
			}
			for name, a := range zs {
				b := us[name]
				if b == nil {
					t.Errorf("%s missing from universal", name)
					continue
				}
				if !same(a.FP32, b.FP32) || !same(a.ExpAvg, b.ExpAvg) || !same(a.ExpAvgSq, b.ExpAvgSq) || !same(a.BF16, b.BF16) {
					t.Errorf("%s: shards and universal differ", name)
				}
				if *a.Param.Step != *b.Param.Step || a.Param.Group != b.Param.Group {
					t.Errorf("%s: step/group differ", name)
				}
			}
		})
	}
}

// TestZeRO3RankModelStates damages the per-rank model states of a ZeRO-3
// shard folder: each is checked, since every rank loads its own to resume.
func TestZeRO3RankModelStates(t *testing.T) {
	const src = realds + "/z3_dp3_bf16"
	ms := func(dir string, r int) string {
		return filepath.Join(dir, "global_step9", dsmeta.RankModelStatesName(r, 0))
	}
	open := func(t *testing.T, dir string) []ckpt.Issue {
		c, err := Open(dir, Options{Tolerant: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Issues
	}
	for _, r := range []int{0, 2} {
		t.Run("missing rank "+string(rune('0'+r)), func(t *testing.T) {
			dir := fixture.CopyTree(t, src)
			os.Remove(ms(dir, r))
			is := open(t, dir)
			if !hasIssue(is, ckpt.CheckMissingRank, ms(dir, r)) {
				t.Errorf("no missing_rank issue naming %s: %+v", ms(dir, r), is)
			}
		})
	}
	t.Run("other param_shapes", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		b, err := os.ReadFile(filepath.Join(realds, "z3onegroup_dp3_bf16", "global_step9", dsmeta.RankModelStatesName(1, 0)))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(ms(dir, 1), b, 0o644)
		if is := open(t, dir); !hasIssue(is, ckpt.CheckModelStates, ms(dir, 1)) {
			t.Errorf("no model_states issue: %+v", is)
		}
	})
	t.Run("not a checkpoint", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		os.WriteFile(ms(dir, 2), []byte("not a zip"), 0o644)
		if is := open(t, dir); !hasIssue(is, ckpt.CheckUnreadable, ms(dir, 2)) {
			t.Errorf("no unreadable issue: %+v", is)
		}
	})
}

func hasIssue(issues []ckpt.Issue, check ckpt.CheckID, file string) bool {
	for _, is := range issues {
		if is.Check == check && is.File == file && is.Severity == ckpt.Error {
			return true
		}
	}
	return false
}
