package verify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/layout"
)

// runTarget opens and checks path as `verify` does.
func runTarget(t *testing.T, path, layoutName string) (*Target, *TargetReport) {
	t.Helper()
	tg, err := Open(path, layout.Options{Layout: layoutName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	tr, err := tg.Run(context.Background(), Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return tg, tr
}

func checksOf(tr *TargetReport) []string {
	var ids []string
	for _, f := range tr.Findings {
		ids = append(ids, string(f.Check)+"/"+f.Layout)
	}
	return ids
}

func layouts(tg *Target) []string {
	var out []string
	for _, c := range tg.Copies {
		out = append(out, c.Layout+" "+c.Tag)
	}
	return out
}

// TestBothCopies verifies a Trainer folder holding ZeRO shards and their
// universal conversion: both are checked, and cross-checked.
func TestBothCopies(t *testing.T) {
	const shards = "../testdata/zero-dp3/checkpoint-50"
	tg, tr := runTarget(t, shards, "")
	if got := layouts(tg); !slices.Equal(got, []string{"universal global_step50_universal", "zero global_step50"}) || tr.Errors+tr.Warnings != 0 {
		t.Fatalf("copies %v, findings %v", got, tr.Findings)
	}
	tg, tr = runTarget(t, shards, "zero")
	if got := layouts(tg); !slices.Equal(got, []string{"zero global_step50"}) || len(tr.Copies) != 1 || tr.Errors != 0 {
		t.Fatalf("--layout zero: copies %v, findings %v", got, tr.Findings)
	}

	// A parameter folder missing from the universal copy: a finding of
	// that copy, and the cross-check names the difference.
	dir := fixture.CopyTree(t, shards)
	if err := os.RemoveAll(filepath.Join(dir, "global_step50_universal", "zero", "model.norm.weight")); err != nil {
		t.Fatal(err)
	}
	_, tr = runTarget(t, dir, "")
	if got := checksOf(tr); !slices.Equal(got, []string{"structure.param_names/universal", "structure.copies/"}) ||
		!strings.Contains(tr.Findings[1].Message, "1 parameters of the zero copy (global_step50) are not in the universal copy (global_step50_universal): model.norm.weight") {
		t.Errorf("findings %v: %v", got, tr.Findings)
	}
}

// TestLatestMissing: a latest file naming a tag folder that is not there
// is an error, and the copy that is there is still checked.
func TestLatestMissing(t *testing.T) {
	dir := fixture.CopyTree(t, intstep)
	if err := os.WriteFile(filepath.Join(dir, "latest"), []byte("global_step7"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg, tr := runTarget(t, dir, "")
	if got := checksOf(tr); !slices.Equal(got, []string{"structure.latest/"}) || len(tg.Copies) != 1 ||
		tr.Findings[0].Message != "latest names global_step7, which is not in "+dir+": a resume without load_universal reads it and fails" {
		t.Errorf("findings %v: %v", got, tr.Findings)
	}
	// Checking the universal copy only leaves latest alone.
	_, tr = runTarget(t, dir, "universal")
	if tr.Errors != 0 {
		t.Errorf("--layout universal: %v", tr.Findings)
	}
	// Only a dangling latest_universal: nothing to check but the finding.
	os.Remove(filepath.Join(dir, "latest"))
	os.Rename(filepath.Join(dir, "global_step7_universal"), filepath.Join(dir, "old"))
	tg, tr = runTarget(t, dir, "")
	if got := checksOf(tr); !slices.Equal(got, []string{"structure.latest/"}) || len(tg.Copies) != 0 {
		t.Errorf("findings %v, copies %v", got, layouts(tg))
	}
	if _, err := Open(t.TempDir(), layout.Options{}); err == nil || !strings.Contains(err.Error(), "not a checkpoint") {
		t.Errorf("an empty folder: %v", err)
	}
}

// TestWeightsOnly verifies models without optimizer state: the checks that
// apply (values, shapes against config.json) run, the others are listed as
// skipped, and no state is reported missing.
func TestWeightsOnly(t *testing.T) {
	for _, path := range []string{"../testdata/pytorch/good", "../testdata/pytorch/good/pytorch_model.bin", "../testdata/wesar-llama-st", "../testdata/safetensors/sharded"} {
		tg, tr := runTarget(t, path, "")
		r := tr.Copies[0]
		var skipped []ckpt.CheckID
		for _, s := range r.Skipped {
			skipped = append(skipped, s.Check)
		}
		if tr.Errors+tr.Warnings != 0 || !tg.Copies[0].WeightsOnly || !slices.Contains(skipped, ckpt.CheckMissingState) || !slices.Contains(skipped, ckpt.CheckMaster) {
			t.Errorf("%s: findings %v, skipped %v", path, tr.Findings, skipped)
		}
		configChecked := !slices.Contains(skipped, ckpt.CheckConfigShapes)
		if want := !strings.Contains(path, "sharded"); configChecked != want {
			t.Errorf("%s: config shapes checked %v, want %v (skipped %v)", path, configChecked, want, r.Skipped)
		}
	}
	_, tr := runTarget(t, "../testdata/pytorch/bad", "")
	if got := checksOf(tr); !slices.Equal(got, []string{"shapes.config/", "values.nonfinite/"}) ||
		!strings.Contains(tr.Findings[0].Message, "model.layers.0.mlp.down_proj.weight has shape [16 36], config.json gives [16 40]") ||
		!strings.Contains(tr.Findings[1].Message, "has 1 NaN and 2 Inf of 640 elements; the first at flat index 5") {
		t.Errorf("findings %v: %v", got, tr.Findings)
	}
}
