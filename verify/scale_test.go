package verify

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/layout"
)

const (
	wesarLlama = "../testdata/wesar-llama/checkpoint-30"
	wesarGemma = "../testdata/wesar-gemma/checkpoint-30"
)

// runLayout verifies a checkpoint opened as layout.Open opens it.
func runLayout(t *testing.T, dir, lay, config string) *Report {
	t.Helper()
	c, err := layout.Open(dir, layout.Options{Layout: lay, Tolerant: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := Run(context.Background(), c, Options{Workers: 2, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWeSaRClean checks that the WeSaR fixtures, whose scale factors all
// have their targets under their configs, verify clean, and that the
// report names the config checked.
func TestWeSaRClean(t *testing.T) {
	for _, c := range []struct{ dir, layout string }{{wesarLlama, ""}, {wesarLlama, "zero"}, {wesarGemma, ""}} {
		r := runLayout(t, c.dir, c.layout, "")
		if r.Errors != 0 || r.Warnings != 0 {
			t.Errorf("%s %s: %+v", c.dir, c.layout, r.Findings)
		}
		if !strings.Contains(r.Config, "config.json") {
			t.Errorf("%s %s: config %q", c.dir, c.layout, r.Config)
		}
	}
}

// renameParam renames a parameter of a universal checkpoint everywhere:
// its folder and its entries in the model states, so that the checkpoint
// stays consistent. The two names must have the same length (the pickle's
// string lengths are left as they are).
func renameParam(t *testing.T, dir, tag, from, to string) {
	t.Helper()
	if len(from) != len(to) {
		t.Fatal("names of different lengths")
	}
	zdir := filepath.Join(dir, tag, "zero")
	if err := os.Rename(filepath.Join(zdir, from), filepath.Join(zdir, to)); err != nil {
		t.Fatal(err)
	}
	ms := filepath.Join(dir, tag, "mp_rank_00_model_states.pt")
	pkl, _, err := fixture.DataPkl(ms)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pkl, []byte(from)) {
		t.Fatalf("%s not in the model states", from)
	}
	b, err := fixture.ReplaceDataPkl(ms, bytes.ReplaceAll(pkl, []byte(from), []byte(to)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ms, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScaleFactorFindings plants scale-factor and config problems in
// copies of the WeSaR fixtures: each is an error of structure.scale_factors
// on the right parameter ("" for the config's own or a missing factor's),
// and these are the only findings.
func TestScaleFactorFindings(t *testing.T) {
	const tag = "global_step30_universal"
	cases := []struct {
		name  string
		src   string
		plant func(t *testing.T, dir string) string // returns --config, or ""
		want  map[string]string                     // parameter -> part of the message
		more  bool                                  // other parameters' findings allowed
	}{
		{"unknown alpha", wesarGemma, func(t *testing.T, dir string) string {
			renameParam(t, dir, tag, "model.layers.1.self_attn.v_proj_alpha", "model.layers.1.self_attn.w_proj_alpha")
			return ""
		}, map[string]string{"model.layers.1.self_attn.w_proj_alpha": "is not one of YuLan-Mini's scale factors",
			"": "layer 1 has no v_proj_alpha while 1 other layers have theirs"}, false},
		{"misplaced alpha", wesarLlama, func(t *testing.T, dir string) string {
			renameParam(t, dir, tag, "model.layers.1.down_proj_alpha", "model.layers.1.attn.norm_alpha")
			return ""
		}, map[string]string{"model.layers.1.attn.norm_alpha": "YuLan-Mini has no norm_alpha there",
			"": "layer 1 has no down_proj_alpha"}, false},
		{"unknown rms_type", wesarGemma, func(t *testing.T, dir string) string {
			editConfig(t, filepath.Join(dir, "config.json"), `"rms_type": "gemma"`, `"rms_type": "t5"`)
			return ""
		}, map[string]string{"": `rms_type "t5" is neither "llama" nor "gemma"`}, false},
		{"norm alphas the config rules out", wesarLlama, func(t *testing.T, dir string) string {
			p := filepath.Join(t.TempDir(), "other.json")
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			os.WriteFile(p, bytes.Replace(b, []byte(`"use_norm_alpha": true`), []byte(`"use_norm_alpha": false`), 1), 0o644)
			return p
		}, map[string]string{"model.layers.0.input_layernorm_alpha": "use_norm_alpha false", "model.layers.0.post_attention_layernorm_alpha": "use_norm_alpha false",
			"model.layers.1.input_layernorm_alpha": "use_norm_alpha false", "model.layers.1.post_attention_layernorm_alpha": "use_norm_alpha false",
			"model.norm_alpha": "use_norm_alpha false"}, false},
		{"fewer layers in the config", wesarLlama, func(t *testing.T, dir string) string {
			editConfig(t, filepath.Join(dir, "config.json"), `"num_hidden_layers": 2`, `"num_hidden_layers": 1`)
			return ""
		}, map[string]string{"model.layers.1.self_attn.q_proj.weight": "is in layer 1, but the config has num_hidden_layers 1",
			"model.layers.1.gate_up_proj_alpha": "is in layer 1, but the config has num_hidden_layers 1"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fixture.CopyTree(t, c.src)
			config := c.plant(t, dir)
			r := runLayout(t, dir, "", config)
			got := map[string]bool{}
			for _, f := range r.Findings {
				if f.Check != ckpt.CheckScaleFactors || f.Severity != ckpt.Error {
					t.Errorf("other finding: %+v", f)
					continue
				}
				got[f.Param] = true
				if want, ok := c.want[f.Param]; ok && !strings.Contains(f.Message, want) {
					t.Errorf("%s: %q, want %q in it", f.Param, f.Message, want)
				}
			}
			if !c.more && len(got) != len(c.want) {
				t.Errorf("findings for %d parameters, want %d: %+v", len(got), len(c.want), r.Findings)
			}
			for p := range c.want {
				if !got[p] {
					t.Errorf("no finding for %q: %+v", p, r.Findings)
				}
			}
			if r.Errors == 0 {
				t.Error("no error")
			}
		})
	}
}

func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s: no %s", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}
