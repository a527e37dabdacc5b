package universal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/internal/golden/goldenscan"
)

// realds holds checkpoints written by DeepSpeed 0.15.1 itself and their
// PyTorch float64 goldens (testdata/gen/realds).
const realds = "../testdata/realds"

// realGoldens loads the goldens of the real DeepSpeed fixtures that have a
// universal checkpoint, by fixture name.
func realGoldens(t *testing.T) map[string]*golden.Checkpoint {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(realds, "*.golden.json"))
	out := map[string]*golden.Checkpoint{}
	for _, p := range paths {
		if filepath.Base(p) == "diff.golden.json" {
			continue
		}
		var g golden.Checkpoint
		if err := golden.Load(p, &g); err != nil {
			t.Fatal(err)
		}
		if g.Layouts["universal"] != "" {
			out[strings.TrimSuffix(filepath.Base(p), ".golden.json")] = &g
		}
	}
	if len(out) < 3 {
		t.Fatalf("%d universal goldens in %s", len(out), realds)
	}
	return out
}

// TestRealDeepSpeedGolden opens every universal checkpoint DeepSpeed's own
// ds_to_universal wrote — from ZeRO-2 (dict state files, step.pt) and from
// ZeRO-3 with 1 and 3 data-parallel ranks (flat state files, per-rank model
// states, no step.pt) — through its tag folder and its save folder, and
// checks names, shapes, groups, steps and every statistic against PyTorch's
// float64 values. The only issues allowed are the golden's shape findings.
func TestRealDeepSpeedGolden(t *testing.T) {
	for name, g := range realGoldens(t) {
		tag := filepath.Join(realds, g.Layouts["universal"])
		for _, entry := range []string{tag, filepath.Dir(tag)} {
			t.Run(name+"/"+filepath.Base(entry), func(t *testing.T) {
				c, err := Open(entry, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if c.Tag != filepath.Base(tag) {
					t.Errorf("tag %s", c.Tag)
				}
				res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 2, Compare: true})
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range goldenscan.Compare(g, c, res) {
					t.Error(d)
				}
				var want []string
				for _, f := range g.ShapeFindings {
					want = append(want, f.Name)
				}
				var got []string
				for _, is := range c.Issues {
					switch {
					case is.Check == ckpt.CheckShapes:
						got = append(got, is.Param)
					case is.Severity != ckpt.Info:
						t.Errorf("issue %+v", is)
					}
				}
				sort.Strings(got)
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("shape findings on %v, want %v", got, want)
				}
				for _, pr := range res.Params {
					if m := pr.Master; m != nil && m.Mismatch > 0 {
						t.Errorf("%s: module weight differs from the master in %d elements", pr.Param.Name, m.Mismatch)
					}
				}
			})
		}
	}
}

// TestZeRO3Garbage checks what is said and read of the extra elements
// DeepSpeed's converter gives 1-element parameters of a ZeRO-3 checkpoint
// with 3 ranks: an error naming the parameter, the expected and the found
// shape, and statistics of the parameter's own element only.
func TestZeRO3Garbage(t *testing.T) {
	c, err := Open(filepath.Join(realds, "z3onegroup_dp3_bf16"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var msg string
	for _, is := range c.Issues {
		if is.Check == ckpt.CheckShapes && is.Param == "lm_head_alpha" {
			msg = is.Message
			if is.Severity != ckpt.Error || !strings.HasSuffix(is.File, "lm_head_alpha") {
				t.Errorf("issue %+v", is)
			}
		}
	}
	for _, want := range []string{"lm_head_alpha", "shape []", "fp32.pt [2]", "exp_avg.pt [2]", "exp_avg_sq.pt [2]", "only the first 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	for _, p := range c.Params {
		if p.Name != "lm_head_alpha" && p.Name != "model.layers.0.self_attn.q_proj_alpha" {
			continue
		}
		for _, st := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq} {
			if st.Numel() != 1 || len(st.Pieces) != 1 || st.Pieces[0].View.Numel() != 1 {
				t.Errorf("%s %s: shape %v, %d pieces", p.Name, st.State, st.Shape, len(st.Pieces))
			}
		}
	}
}

// TestZeRO3RankModelStates damages the per-rank model states a universal
// checkpoint made from ZeRO-3 carries: each is checked, since every rank
// loads its own to resume.
func TestZeRO3RankModelStates(t *testing.T) {
	const src = realds + "/z3onegroup_dp3_bf16"
	tagOf := func(dir string) string { return filepath.Join(dir, "global_step9_universal") }
	issues := func(t *testing.T, dir string) []ckpt.Issue {
		c, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		n := 0
		for _, f := range c.Files {
			if strings.HasSuffix(f.Path, "_model_states.pt") {
				n++
			}
		}
		if n == 0 {
			t.Error("no model states file opened")
		}
		return c.Issues
	}
	t.Run("missing rank", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		missing := filepath.Join(tagOf(dir), "zero_pp_rank_1_mp_rank_00_model_states.pt")
		os.Remove(missing)
		if !hasIssue(issues(t, dir), ckpt.CheckMissingRank, missing) {
			t.Error("no missing_rank issue")
		}
	})
	t.Run("other param_shapes", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		// rank 2's model states of another run (two param groups)
		other := filepath.Join(realds, "z3_dp3_bf16", "global_step9", "zero_pp_rank_2_mp_rank_00_model_states.pt")
		bad := filepath.Join(tagOf(dir), "zero_pp_rank_2_mp_rank_00_model_states.pt")
		b, err := os.ReadFile(other)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(bad, b, 0o644)
		if !hasIssue(issues(t, dir), ckpt.CheckModelStates, bad) {
			t.Error("no model_states issue")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		bad := filepath.Join(tagOf(dir), "zero_pp_rank_2_mp_rank_00_model_states.pt")
		b, _ := os.ReadFile(bad)
		os.WriteFile(bad, b[:len(b)/2], 0o644)
		is := issues(t, dir)
		if !hasIssue(is, ckpt.CheckUnreadable, bad) && !hasIssue(is, ckpt.CheckTruncated, bad) {
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
