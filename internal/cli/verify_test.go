package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

func TestVerifyCommand(t *testing.T) {
	out, errOut, code := run("verify", sample)
	if code != 0 || !strings.HasPrefix(lastLine(out), "verify OK: "+sample+": 0 errors, 0 warnings; checked universal global_step120_universal (45 parameters, 182 files); step 120") {
		t.Errorf("clean sample: exit %d, out %q, err %q", code, out, errOut)
	}

	// A latest_universal naming a missing tag is a finding, exit 1.
	dir := fixture.CopyTree(t, "../../testdata/universal-intstep/checkpoint-7")
	os.WriteFile(filepath.Join(dir, "latest_universal"), []byte("global_step9_universal"), 0o644)
	out, _, code = run("verify", dir, "--format", "json")
	var doc struct {
		Findings []struct{ Check, Severity, Param, File, Message string } `json:"findings"`
		Summary  struct {
			Errors int  `json:"errors"`
			OK     bool `json:"ok"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if code != ExitFindings || len(doc.Findings) != 1 || doc.Findings[0].Check != "structure.latest" || doc.Summary.OK {
		t.Errorf("missing tag: exit %d, %+v", code, doc)
	}

	// Missing files are errors grouped by check; a stray file a warning.
	dir = fixture.CopyTree(t, "../../testdata/universal-intstep/checkpoint-7")
	zero := filepath.Join(dir, "global_step7_universal", "zero")
	os.Remove(filepath.Join(zero, "model.norm.weight", "exp_avg.pt"))
	os.Remove(filepath.Join(zero, "lm_head_alpha", "exp_avg.pt"))
	os.WriteFile(filepath.Join(zero, "notes.txt"), []byte("x"), 0o644)
	out, _, code = run("verify", dir)
	if code != ExitFindings || !strings.Contains(out, "structure.missing_state  error (2)") ||
		!strings.Contains(out, "structure.stray  warning (1)") || !strings.Contains(out, "2 errors, 1 warnings") {
		t.Errorf("exit %d:\n%s", code, out)
	}

	// Not a checkpoint at all: could not check.
	_, errOut, code = run("verify", t.TempDir())
	if code != ExitInput || !strings.Contains(errOut, "not a DeepSpeed universal checkpoint") {
		t.Errorf("empty folder: exit %d, %q", code, errOut)
	}
}

// lastLine returns the last line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestVerifyShards(t *testing.T) {
	const shards = "../../testdata/zero-dp3/checkpoint-50"
	out, errOut, code := run("verify", shards, "--layout", "zero", "--deep")
	if code != 0 || !strings.HasPrefix(lastLine(out), "verify OK: "+shards+": 0 errors, 0 warnings; checked zero global_step50 (25 parameters, 4 files)") {
		t.Errorf("clean shards: exit %d %q %q", code, out, errOut)
	}
	dir := fixture.CopyTree(t, shards)
	os.Remove(filepath.Join(dir, "global_step50", "bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt"))
	out, _, code = run("verify", dir, "--layout", "zero")
	if code != ExitFindings || !strings.Contains(out, "structure.missing_rank") || !strings.Contains(out, "structure.fragments") {
		t.Errorf("missing rank: exit %d\n%s", code, out)
	}
	dir = fixture.CopyTree(t, shards)
	b, _ := os.ReadFile(filepath.Join(dir, "global_step50", "bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt"))
	os.WriteFile(filepath.Join(dir, "global_step50", "bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt"), b, 0o644)
	out, _, code = run("verify", dir, "--layout", "zero")
	if code != ExitFindings || !strings.Contains(out, "structure.fragments") || strings.Contains(out, "structure.missing_state") ||
		!(strings.Contains(out, "overlap") || strings.Contains(out, "gap")) {
		t.Errorf("overlapping mapping: exit %d\n%s", code, out)
	}
}

// TestStatsShardsEqualUniversal runs `stats --format json` on the ZeRO-2
// shards and on the universal checkpoint made from them: every parameter's
// statistics agree (counts, extremes exactly; sums to 1e-12).
func TestStatsShardsEqualUniversal(t *testing.T) {
	const shards = "../../testdata/zero-dp3/checkpoint-50"
	type doc struct {
		Params []map[string]any `json:"params"`
	}
	get := func(layout string) map[string]map[string]any {
		out, errOut, code := run("stats", shards, "--layout", layout, "--format", "json")
		if code != 0 {
			t.Fatalf("%s: exit %d %s", layout, code, errOut)
		}
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		m := map[string]map[string]any{}
		for _, p := range d.Params {
			m[p["name"].(string)] = p
		}
		return m
	}
	z, u := get("zero"), get("universal")
	if len(z) != len(u) || len(z) != 25 {
		t.Fatalf("%d and %d params", len(z), len(u))
	}
	for name, zp := range z {
		up := u[name]
		for _, st := range []string{"fp32", "exp_avg", "exp_avg_sq", "bf16"} {
			a, b := zp[st].(map[string]any), up[st].(map[string]any)
			for k, av := range a {
				bv := b[k]
				if af, ok := av.(float64); ok {
					bf := bv.(float64)
					if af != bf && (k == "min" || k == "max" || k == "absmax" || k == "nan" || k == "inf" || k == "zeros" || k == "numel" ||
						math.Abs(af-bf) > 1e-12*math.Max(math.Abs(af), math.Abs(bf))) {
						t.Errorf("%s %s %s: shards %v, universal %v", name, st, k, av, bv)
					}
				}
			}
		}
	}
}
