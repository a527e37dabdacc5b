package yulan

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	// configuration_yulanmini.py's defaults
	if c.HiddenSize != 1920 || c.IntermediateSize != 4800 || c.NumHiddenLayers != 56 || c.NumAttentionHeads != 30 ||
		c.NumKeyValueHeads != 6 || c.VocabSize != 99000 || c.HeadDim != 64 || c.RMSType != RMSLlama ||
		c.LNScale != 1 || c.HiddenStatesShrink != 1 || c.ScaleEmb != 1 || c.DimModelBaseAttn != 64 ||
		c.DimModelBaseLogits != 1920 || !c.WesarWeights || !c.UseNormAlpha || !c.AttentionBias || c.TieWordEmbeddings ||
		c.RMSNormEps != 1e-6 || c.RopeTheta != 10000 || c.MaxPositionEmbeddings != 4096 || string(c.RopeScaling) != "null" {
		t.Errorf("defaults: %+v", c)
	}
	if !slices.Contains(c.Defaulted, "ln_scale") || !slices.Contains(c.Defaulted, "hidden_size") {
		t.Errorf("defaulted %v", c.Defaulted)
	}
	if c.Shrink() != 1 {
		t.Errorf("shrink %v", c.Shrink())
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(decode(t, `{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": null,
		"num_hidden_layers": 4, "hidden_states_shrink": "muparam", "scale_emb": null, "dim_model_base_attn": null,
		"dim_model_base_logits": 32, "ln_scale": 0.5, "rms_type": "gemma", "eos_token_id": [2, 5]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumKeyValueHeads != 4 || c.HiddenStatesShrink != 0.5 || c.Shrink() != 0.5 || c.ScaleEmb != 1 ||
		c.DimModelBaseAttn != 16 || c.DimModelBaseLogits != 32 || c.LNScale != 0.5 || c.RMSType != RMSGemma ||
		c.RMSType.Offset() != 1 || string(c.EosTokenID) != "[2,5]" {
		t.Errorf("%+v", c)
	}
	for _, s := range c.Settings() {
		if s.Key == "ln_scale" && (s.Defaulted || s.Value != 0.5) || s.Key == "scale_emb" && !s.Defaulted {
			t.Errorf("setting %+v", s)
		}
	}
	for _, s := range []float64{1, 1.5, -0.1} {
		c.HiddenStatesShrink = s
		if c.Shrink() != 1 {
			t.Errorf("shrink %v applied", s)
		}
	}
	c.HiddenStatesShrink = 0
	if c.Shrink() != 0 {
		t.Error("shrink 0 not applied")
	}
}

func TestParseConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"rms_type":          {`{"rms_type": "layernorm"}`, `rms_type "layernorm" is neither`},
		"rms_type type":     {`{"rms_type": 1}`, "rms_type is 1, not a string"},
		"shrink string":     {`{"hidden_states_shrink": "mup"}`, `hidden_states_shrink is "mup", not a finite number`},
		"ln_scale null":     {`{"ln_scale": null}`, "ln_scale is null"},
		"hidden fraction":   {`{"hidden_size": 64.5}`, "hidden_size is 64.5, not an integer"},
		"heads":             {`{"hidden_size": 64, "num_attention_heads": 5}`, "not divisible"},
		"kv heads":          {`{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 3}`, "not a multiple"},
		"zero layers":       {`{"num_hidden_layers": 0}`, "num_hidden_layers is 0"},
		"bool":              {`{"wesar_weights": "yes"}`, "wesar_weights is \"yes\", not true or false"},
		"negative attn":     {`{"dim_model_base_attn": -4}`, "dim_model_base_attn is -4"},
		"zero logits base":  {`{"dim_model_base_logits": 0}`, "dim_model_base_logits is 0"},
		"scale_depth type":  {`{"scale_depth": "x"}`, "scale_depth is \"x\""},
		"vocab":             {`{"vocab_size": -1}`, "vocab_size is -1"},
		"hidden_act number": {`{"hidden_act": 3}`, "hidden_act is 3"},
	} {
		_, err := ParseConfig(decode(t, tc.json))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	os.WriteFile(p, []byte(`{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "scale_emb": 12}`), 0o644)
	c, err := ReadConfig(p)
	if err != nil || c.ScaleEmb != 12 || c.HeadDim != 16 {
		t.Fatalf("%+v, %v", c, err)
	}
	os.WriteFile(p, []byte(`[1, 2]`), 0o644)
	if _, err := ReadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("array config: %v", err)
	}
	os.WriteFile(p, []byte(`{"rms_type": "x"}`), 0o644)
	if _, err := ReadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrConfig) {
		t.Errorf("bad rms_type: %v", err)
	}
	if _, err := ReadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file")
	}
	if math.IsNaN(c.LNScale) {
		t.Error("nan")
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"hidden_states_shrink": "muparam", "num_hidden_layers": 4}`,
		`{"rms_type": "gemma", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}`,
		`{"num_key_value_heads": null, "scale_emb": null, "dim_model_base_logits": 1e308}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return
		}
		c, err := ParseConfig(m)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if c.HeadDim <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 || (c.RMSType != RMSLlama && c.RMSType != RMSGemma) {
			t.Fatalf("accepted %+v", c)
		}
		ps := model(c.NumHiddenLayers%4, true, alphaValue)
		if s, err := Resolve(c, ps); err == nil {
			for _, p := range ps {
				if _, ok := s.Of(p.Name); !ok {
					t.Fatalf("%s not resolved", p.Name)
				}
			}
		}
	})
}
