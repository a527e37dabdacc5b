package yulan

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// model lists the parameters of a YuLan-Mini of the given layers, with the
// scale factors (valued by alpha) when alphas is true.
func model(layers int, alphas bool, alpha func(name string) float64) []Param {
	var ps []Param
	add := func(name string, numel int64) {
		ps = append(ps, Param{Name: name, Numel: numel, Value: func() (float64, error) { return alpha(name), nil }})
	}
	if alphas {
		add("lm_head_alpha", 1)
		add("model.norm_alpha", 1)
	}
	add("model.embed_tokens.weight", 100)
	for i := range layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		if alphas {
			for _, a := range []string{"gate_up_proj_alpha", "down_proj_alpha", "input_layernorm_alpha", "post_attention_layernorm_alpha",
				"self_attn.q_proj_alpha", "self_attn.k_proj_alpha", "self_attn.v_proj_alpha", "self_attn.o_proj_alpha"} {
				add(p+a, 1)
			}
		}
		for _, w := range []string{"self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight", "self_attn.k_proj.bias",
			"self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
			"mlp.down_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight"} {
			add(p+w, 10)
		}
	}
	add("model.norm.weight", 10)
	add("lm_head.weight", 100)
	return ps
}

// alphaValue gives every factor a distinct value far from 1.
func alphaValue(name string) float64 {
	h := 0
	for _, c := range name {
		h = h*31 + int(c)
	}
	return 0.3 + float64(h%1000)/250
}

func TestResolve(t *testing.T) {
	cfg, err := ParseConfig(decode(t, `{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
		"num_hidden_layers": 2, "hidden_states_shrink": 0.25, "scale_emb": 12, "dim_model_base_attn": 4,
		"dim_model_base_logits": 16, "ln_scale": 1.5, "rms_type": "llama"}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(cfg, model(2, true, alphaValue))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Notes) != 0 {
		t.Errorf("notes %v", s.Notes)
	}
	a := alphaValue
	sq := math.Sqrt(4.0 / 16)
	for name, want := range map[string]float64{
		"model.embed_tokens.weight":                      12,
		"model.layers.1.self_attn.q_proj.weight":         a("model.layers.1.self_attn.q_proj_alpha") * sq,
		"model.layers.1.self_attn.q_proj.bias":           a("model.layers.1.self_attn.q_proj_alpha") * sq,
		"model.layers.0.self_attn.k_proj.weight":         a("model.layers.0.self_attn.k_proj_alpha"),
		"model.layers.0.self_attn.k_proj.bias":           a("model.layers.0.self_attn.k_proj_alpha"),
		"model.layers.0.self_attn.v_proj.bias":           a("model.layers.0.self_attn.v_proj_alpha"),
		"model.layers.0.self_attn.o_proj.weight":         a("model.layers.0.self_attn.o_proj_alpha") * 0.25,
		"model.layers.1.mlp.gate_proj.weight":            a("model.layers.1.gate_up_proj_alpha"),
		"model.layers.1.mlp.up_proj.weight":              a("model.layers.1.gate_up_proj_alpha"),
		"model.layers.1.mlp.down_proj.weight":            a("model.layers.1.down_proj_alpha") * 0.25,
		"model.layers.0.input_layernorm.weight":          1.5 * a("model.layers.0.input_layernorm_alpha"),
		"model.layers.0.post_attention_layernorm.weight": 1.5 * a("model.layers.0.post_attention_layernorm_alpha"),
		"model.norm.weight":                              1.5 * a("model.norm_alpha"),
		"lm_head.weight":                                 a("lm_head_alpha") * 16 / 64,
		"lm_head_alpha":                                  1,
		"model.layers.1.self_attn.o_proj_alpha":          1,
	} {
		m, ok := s.Of(name)
		if !ok || !m.Known || m.Offset != 0 || math.Abs(m.Scale-want) > 1e-15*math.Abs(want) {
			t.Errorf("%s: %v (%v), want scale %v", name, m, ok, want)
		}
	}
	if v := s.Alphas["model.layers.1.down_proj_alpha"]; v != a("model.layers.1.down_proj_alpha") {
		t.Errorf("alpha value %v", v)
	}
	m, _ := s.Of("model.layers.0.self_attn.o_proj.weight")
	if got := m.String(); !strings.Contains(got, "model.layers.0.self_attn.o_proj_alpha(") || !strings.Contains(got, "hidden_states_shrink(0.25)") {
		t.Errorf("String() = %q", got)
	}

	// gemma: norms used as 1 + w
	cfg.RMSType = RMSGemma
	s, err = Resolve(cfg, model(2, true, alphaValue))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"model.norm.weight", "model.layers.1.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"} {
		if m, _ := s.Of(n); m.Offset != 1 {
			t.Errorf("gemma %s: offset %v", n, m.Offset)
		}
	}
	if m, _ := s.Of("model.layers.0.mlp.down_proj.weight"); m.Offset != 0 {
		t.Errorf("gemma down_proj offset %v", m.Offset)
	}
}

func TestResolvePlain(t *testing.T) {
	// A plain Llama: no factors, no multiplier keys: 1 everywhere.
	cfg, err := ParseConfig(decode(t, `{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
		"num_key_value_heads": 2, "num_hidden_layers": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	ps := model(2, false, nil)
	ps = append(ps, Param{Name: "model.rotary_emb.inv_freq", Numel: 8})
	s, err := Resolve(cfg, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		m, ok := s.Of(p.Name)
		switch {
		case !ok:
			t.Errorf("%s: not resolved", p.Name)
		case p.Name == "model.rotary_emb.inv_freq":
			if m.Known || m.String() != "unknown" {
				t.Errorf("%s: %v", p.Name, m)
			}
		case !m.IsIdentity():
			t.Errorf("%s: %v", p.Name, m)
		}
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "no scale factors at all") {
		t.Errorf("notes %v", s.Notes)
	}
	// wesar_weights false: also 1, noted differently
	cfg.WesarWeights = false
	s, _ = Resolve(cfg, ps)
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "wesar_weights false") {
		t.Errorf("notes %v", s.Notes)
	}
}

func TestResolveErrors(t *testing.T) {
	base := func() *Config {
		c, _ := ParseConfig(decode(t, `{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2}`))
		return c
	}
	one := func(float64) func() (float64, error) {
		return func() (float64, error) { return 2, nil }
	}
	full := model(2, true, alphaValue)
	drop := func(name string) []Param {
		var out []Param
		for _, p := range full {
			if p.Name != name {
				out = append(out, p)
			}
		}
		return out
	}
	sd := 1.4
	for name, tc := range map[string]struct {
		cfg    func(*Config)
		params []Param
		want   string
		is     error
	}{
		"unknown alpha":   {nil, append(model(2, true, alphaValue), Param{Name: "model.layers.0.rope_alpha", Numel: 1, Value: one(2)}), "rope_alpha is not one of YuLan-Mini's", ErrAlpha},
		"misplaced alpha": {nil, append(model(2, true, alphaValue), Param{Name: "model.layers.0.self_attn.norm_alpha", Numel: 1, Value: one(2)}), "YuLan-Mini has no norm_alpha there", ErrAlpha},
		"layer beyond":    {nil, append(model(2, true, alphaValue), Param{Name: "model.layers.2.gate_up_proj_alpha", Numel: 1, Value: one(2)}), "layer 2, but the config has num_hidden_layers 2", ErrConfig},
		"missing in one":  {nil, drop("model.layers.1.self_attn.k_proj_alpha"), "layer 1 has no k_proj_alpha while 1 other layers have theirs", ErrAlpha},
		"not one element": {nil, append(model(2, false, nil), Param{Name: "lm_head_alpha", Numel: 3, Value: one(2)}), "lm_head_alpha has 3 elements", ErrAlpha},
		"wesar off":       {func(c *Config) { c.WesarWeights = false }, full, "wesar_weights false", ErrAlpha},
		"norm alpha off":  {func(c *Config) { c.UseNormAlpha = false }, full, "use_norm_alpha false", ErrAlpha},
		"scale_depth":     {func(c *Config) { c.ScaleDepth = &sd }, full, "scale_depth (1.4)", ErrConfig},
		"value error": {nil, append(model(2, false, nil), Param{Name: "lm_head_alpha", Numel: 1,
			Value: func() (float64, error) { return 0, errors.New("fp32.pt: truncated") }}), "lm_head_alpha: fp32.pt: truncated", ErrAlpha},
	} {
		cfg := base()
		if tc.cfg != nil {
			tc.cfg(cfg)
		}
		_, err := Resolve(cfg, tc.params)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	// use_norm_alpha false without norm factors: fine, noted
	cfg := base()
	cfg.UseNormAlpha = false
	var ps []Param
	for _, p := range full {
		if n := Parse(p.Name); n.Alpha != AlphaNorm && n.Alpha != AlphaInputLayernorm && n.Alpha != AlphaPostAttentionLayernorm {
			ps = append(ps, p)
		}
	}
	s, err := Resolve(cfg, ps)
	if err != nil || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "use_norm_alpha false") {
		t.Errorf("use_norm_alpha false: %v, %v", s, err)
	}
}

func TestCheckListsEveryProblem(t *testing.T) {
	cfg, _ := ParseConfig(decode(t, `{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 3}`))
	ps := model(3, true, alphaValue)
	var kept []Param
	for _, p := range ps {
		if p.Name != "model.layers.0.down_proj_alpha" && p.Name != "model.layers.2.down_proj_alpha" {
			kept = append(kept, p)
		}
	}
	kept = append(kept, Param{Name: "model.layers.1.rope_alpha", Numel: 1}, Param{Name: "model.layers.7.mlp.up_proj.weight", Numel: 4})
	errs := Check(cfg, kept)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"rope_alpha is not one of", "model.layers.7.mlp.up_proj.weight is in layer 7",
		"layer 0 has no down_proj_alpha while 1 other layers", "layer 2 has no down_proj_alpha"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if len(errs) != 4 {
		t.Errorf("%d problems:\n%s", len(errs), all)
	}
	if errs := Check(cfg, ps); len(errs) != 0 {
		t.Errorf("clean model: %v", errs)
	}
}

// TestCheckWithoutConfig checks what Check finds when the checkpoint has
// no config: names and layers, not the config's values.
func TestCheckWithoutConfig(t *testing.T) {
	ps := model(3, true, alphaValue)
	if errs := Check(nil, ps); len(errs) != 0 {
		t.Errorf("clean model: %v", errs)
	}
	var kept []Param
	for _, p := range ps {
		if p.Name != "model.layers.1.gate_up_proj_alpha" {
			kept = append(kept, p)
		}
	}
	kept = append(kept, Param{Name: "model.layers.1.rope_alpha", Numel: 1}, Param{Name: "model.layers.0.mlp.norm_alpha", Numel: 1},
		Param{Name: "model.layers.2.self_attn.k_proj_alpha_big", Numel: 1})
	errs := Check(nil, kept)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"rope_alpha is not one of", "model.layers.0.mlp.norm_alpha: YuLan-Mini has no norm_alpha there",
		"layer 1 has no gate_up_proj_alpha while 2 other layers"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if len(errs) != 3 {
		t.Errorf("%d problems:\n%s", len(errs), all)
	}
}

// TestCheckNamesParams checks that Check's problems of one parameter name
// it (ParamError) and still wrap ErrAlpha or ErrConfig.
func TestCheckNamesParams(t *testing.T) {
	cfg, _ := ParseConfig(decode(t, `{"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 3}`))
	ps := append(model(3, true, alphaValue), Param{Name: "model.layers.1.rope_alpha", Numel: 1},
		Param{Name: "model.layers.4.mlp.up_proj.weight", Numel: 4})
	errs := Check(cfg, ps)
	want := map[string]error{"model.layers.1.rope_alpha": ErrAlpha, "model.layers.4.mlp.up_proj.weight": ErrConfig}
	if len(errs) != len(want) {
		t.Fatalf("%d problems: %v", len(errs), errs)
	}
	for _, err := range errs {
		var pe *ParamError
		if !errors.As(err, &pe) || want[pe.Param] == nil || !errors.Is(err, want[pe.Param]) {
			t.Errorf("%v: not a ParamError naming a parameter, wrapping the right error", err)
		}
	}
}
