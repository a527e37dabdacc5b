package layout

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		path string
		want []string
	}{
		{"../testdata/sample/checkpoint-120", []string{Universal}},
		{"../testdata/zero-dp3/checkpoint-50", []string{Universal, Zero}},
		{"../testdata/safetensors/sharded", []string{Safetensors}},
		{"../testdata/safetensors/model.safetensors", []string{Safetensors}},
		{"../testdata/pytorch/good", []string{PyTorch}},
		{"../testdata/pytorch/good/pytorch_model.bin", []string{PyTorch}},
		{"../testdata/torch", nil},
	}
	for _, c := range cases {
		if got, _ := Detect(c.path); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
	}
}

// TestOpenPyTorch opens a state_dict saved by torch.save as a weights-only
// checkpoint, with the config.json beside it.
func TestOpenPyTorch(t *testing.T) {
	for _, path := range []string{"../testdata/pytorch/good", "../testdata/pytorch/good/pytorch_model.bin"} {
		c, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Lookup("model.layers.0.mlp.down_proj.weight")
		if err != nil {
			t.Fatal(err)
		}
		if c.Layout != PyTorch || !c.WeightsOnly || len(c.Params) != 25 || c.Config["hidden_size"] != 16.0 ||
			p.BF16 == nil || p.FP32 != nil || !slices.Equal(p.Shape, []int64{16, 40}) || c.Missing() != nil {
			t.Errorf("%s: layout %s, weights only %v, %d params, config %v, %+v", path, c.Layout, c.WeightsOnly, len(c.Params), c.Config["hidden_size"], p)
		}
		c.Close()
	}
}

// TestRunFolder opens a training run's output folder: its last
// checkpoint-N/ (by N, not by name), with a note.
func TestRunFolder(t *testing.T) {
	run := t.TempDir()
	for _, n := range []string{"checkpoint-9", "checkpoint-120", "checkpoint-50"} {
		fixture.CopyTreeTo(t, "../testdata/universal-intstep/checkpoint-7", filepath.Join(run, n))
	}
	os.Mkdir(filepath.Join(run, "runs"), 0o755)
	os.WriteFile(filepath.Join(run, "checkpoint-7.txt"), nil, 0o644)
	runs := Runs(run)
	var names []string
	for _, r := range runs {
		names = append(names, filepath.Base(r.Dir))
	}
	if !slices.Equal(names, []string{"checkpoint-9", "checkpoint-50", "checkpoint-120"}) {
		t.Fatalf("runs %v", names)
	}
	c, err := Open(run, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Path != filepath.Join(run, "checkpoint-120") || len(c.Notes) == 0 || !strings.Contains(c.Notes[0], "read the last, checkpoint-120") {
		t.Errorf("path %s, notes %q", c.Path, c.Notes)
	}
	u, err := Open(run, Options{Layout: Universal})
	if err != nil || u.Path != filepath.Join(run, "checkpoint-120") {
		t.Fatalf("--layout universal: %v", err)
	}
	u.Close()
	if Runs("../testdata/sample/checkpoint-120") != nil {
		t.Error("a checkpoint folder is not a run")
	}
}

func TestLookupLayout(t *testing.T) {
	if _, err := Lookup("foo"); !errors.Is(err, ErrUnknownLayout) || !strings.Contains(err.Error(), "universal, zero, safetensors, pytorch") {
		t.Errorf("%v", err)
	}
}
