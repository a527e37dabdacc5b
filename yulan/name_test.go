package yulan

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		want Name
	}{
		{"model.embed_tokens.weight", Name{Layer: -1, Kind: EmbedTokens, Part: "weight"}},
		{"lm_head.weight", Name{Layer: -1, Kind: LMHead, Part: "weight"}},
		{"model.norm.weight", Name{Layer: -1, Kind: Norm, Part: "weight"}},
		{"model.layers.0.self_attn.q_proj.weight", Name{Layer: 0, Kind: QProj, Part: "weight"}},
		{"model.layers.0.self_attn.q_proj.bias", Name{Layer: 0, Kind: QProj, Part: "bias"}},
		{"model.layers.12.self_attn.k_proj.bias", Name{Layer: 12, Kind: KProj, Part: "bias"}},
		{"model.layers.3.self_attn.v_proj.weight", Name{Layer: 3, Kind: VProj, Part: "weight"}},
		{"model.layers.55.self_attn.o_proj.weight", Name{Layer: 55, Kind: OProj, Part: "weight"}},
		{"model.layers.55.self_attn.o_proj.bias", Name{Layer: 55, Kind: OProj, Part: "bias"}},
		{"model.layers.1.mlp.gate_proj.weight", Name{Layer: 1, Kind: GateProj, Part: "weight"}},
		{"model.layers.1.mlp.up_proj.weight", Name{Layer: 1, Kind: UpProj, Part: "weight"}},
		{"model.layers.1.mlp.down_proj.weight", Name{Layer: 1, Kind: DownProj, Part: "weight"}},
		{"model.layers.7.input_layernorm.weight", Name{Layer: 7, Kind: InputLayernorm, Part: "weight"}},
		{"model.layers.7.post_attention_layernorm.weight", Name{Layer: 7, Kind: PostAttentionLayernorm, Part: "weight"}},
		// WeSaR factors where YuLan-Mini puts them
		{"model.layers.2.self_attn.q_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaQ}},
		{"model.layers.2.self_attn.k_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaK}},
		{"model.layers.2.self_attn.v_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaV}},
		{"model.layers.2.self_attn.o_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaO}},
		{"model.layers.2.gate_up_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaGateUp}},
		{"model.layers.2.down_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaDown}},
		{"model.layers.2.input_layernorm_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaInputLayernorm}},
		{"model.layers.2.post_attention_layernorm_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaPostAttentionLayernorm}},
		{"model.norm_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaNorm}},
		{"lm_head_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaLMHead}},
		{"model.embed_tokens_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaEmbedTokens}},
		// prefixes
		{"module.model.layers.4.mlp.down_proj.weight", Name{Layer: 4, Kind: DownProj, Part: "weight"}},
		{"module.lm_head.weight", Name{Layer: -1, Kind: LMHead, Part: "weight"}},
		{"module.lm_head_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaLMHead}},
		// factors in the wrong place, unknown factors
		{"model.layers.2.q_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaQ, Misplaced: true}},
		{"model.layers.2.self_attn.down_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaDown, Misplaced: true}},
		{"model.layers.2.mlp.gate_up_proj_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaGateUp, Misplaced: true}},
		{"model.layers.2.norm_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: AlphaNorm, Misplaced: true}},
		{"model.q_proj_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaQ, Misplaced: true}},
		{"norm_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaNorm, Misplaced: true}},
		{"model.lm_head_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: AlphaLMHead, Misplaced: true}},
		{"model.layers.2.self_attn.rope_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: "rope_alpha"}},
		{"model.shrink_alpha", Name{Layer: -1, Kind: KindAlpha, Alpha: "shrink_alpha"}},
		{"model.layers.2.a.b.c_alpha", Name{Layer: 2, Kind: KindAlpha, Alpha: "c_alpha"}},
		// other
		{"model.layers.2.self_attn.q_layernorm.norms.0.weight", Name{Layer: 2, Kind: Other}},
		{"model.layers.2.self_attn.rotary_emb.inv_freq", Name{Layer: 2, Kind: Other}},
		{"model.layers.2.mlp.q_proj.weight", Name{Layer: 2, Kind: Other}},
		{"model.layers.2.self_attn.gate_proj.weight", Name{Layer: 2, Kind: Other}},
		{"model.layers.2.input_layernorm.bias", Name{Layer: 2, Kind: Other}},
		{"model.layers.x.mlp.up_proj.weight", Name{Layer: -1, Kind: Other}},
		{"model.layers.-1.mlp.up_proj.weight", Name{Layer: -1, Kind: Other}},
		{"model.layers.3", Name{Layer: -1, Kind: Other}},
		{"model.embedding_layernorm.weight", Name{Layer: -1, Kind: Other}},
		{"_alpha", Name{Layer: -1, Kind: Other}},
		{"", Name{Layer: -1, Kind: Other}},
		{"weight", Name{Layer: -1, Kind: Other}},
		{"model.norm.bias", Name{Layer: -1, Kind: Other}},
		{"model.layers.1.layers.2.mlp.up_proj.weight", Name{Layer: 1, Kind: Other}},
	}
	for _, tt := range tests {
		if got := Parse(tt.name); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestAlphaTargets(t *testing.T) {
	seen := map[Kind]bool{}
	for _, a := range Alphas() {
		ts := a.Targets()
		if len(ts) == 0 {
			t.Errorf("%s: no targets", a)
		}
		for _, k := range ts {
			if seen[k] {
				t.Errorf("%s: kind %s is the target of two factors", a, k)
			}
			seen[k] = true
			if k.InLayer() != a.PerLayer() {
				t.Errorf("%s: per-layer %v but target %s in layer %v", a, a.PerLayer(), k, k.InLayer())
			}
		}
	}
	for _, k := range Kinds() {
		if k != KindAlpha && k != Other && !seen[k] {
			t.Errorf("kind %s has no factor", k)
		}
	}
	if Alpha("shrink_alpha").Known() || Alpha("x").Targets() != nil {
		t.Error("unknown factor reported as known")
	}
}

func TestIsAlpha(t *testing.T) {
	for name, want := range map[string]bool{
		"lm_head_alpha": true, "model.norm_alpha": true, "x._alpha": false, "_alpha": false,
		"model.alpha": false, "model.layers.0.self_attn.q_proj_alpha": true, "q_proj_alpha.weight": false,
	} {
		if got := IsAlpha(name); got != want {
			t.Errorf("IsAlpha(%q) = %v", name, got)
		}
	}
}

// layerOfReference is internal/cli's layerOf as it was when Group was
// written: Group must place every name the way it did (except prefixed
// lm_head names, which it now recognises).
func layerOfReference(name string) (string, int) {
	if m := regexp.MustCompile(`(?:^|\.)layers\.(\d+)\.`).FindStringSubmatch(name); m != nil {
		n, _ := strconv.Atoi(m[1])
		return "layer " + m[1], n
	}
	switch {
	case strings.Contains(name, "embed"):
		return "embedding", -1
	case strings.HasPrefix(name, "lm_head"):
		return "lm_head", 1 << 30
	case strings.Contains(name, "norm"):
		return "final norm", 1<<30 - 1
	}
	return "other", 1<<30 + 1
}

func TestGroup(t *testing.T) {
	names := []string{
		"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", "lm_head_alpha", "model.norm_alpha",
		"model.embed_tokens_alpha", "model.layers.0.self_attn.q_proj.weight", "model.layers.10.mlp.up_proj.weight",
		"model.layers.3.gate_up_proj_alpha", "model.layers.3.self_attn.o_proj_alpha", "model.embedding_layernorm.weight",
		"model.rotary_emb.inv_freq", "foo", "model.layers.2.x", "x.layers.7.y.z",
	}
	for _, n := range names {
		gl, go_ := Group(n)
		wl, wo := layerOfReference(n)
		if gl != wl || go_ != wo {
			t.Errorf("Group(%q) = %q, %d; layerOf gave %q, %d", n, gl, go_, wl, wo)
		}
	}
	if l, _ := Group("module.lm_head.weight"); l != "lm_head" {
		t.Errorf("Group(module.lm_head.weight) = %q", l)
	}
	// depth order
	var got []string
	order := map[string]int{}
	for _, n := range []string{"lm_head.weight", "model.layers.1.mlp.up_proj.weight", "model.norm.weight", "model.embed_tokens.weight", "zzz", "model.layers.0.input_layernorm.weight"} {
		l, o := Group(n)
		order[l] = o
		got = append(got, l)
	}
	slices.SortFunc(got, func(a, b string) int { return order[a] - order[b] })
	want := []string{"embedding", "layer 0", "layer 1", "final norm", "lm_head", "other"}
	if !slices.Equal(got, want) {
		t.Errorf("depth order %v, want %v", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"model.layers.0.self_attn.q_proj.weight", "lm_head_alpha", "model.layers.9.gate_up_proj_alpha", "a..b", "layers.1.", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Parse(s)
		if n.Kind == KindAlpha != (n.Alpha != "") {
			t.Fatalf("%q: kind %s with alpha %q", s, n.Kind, n.Alpha)
		}
		if (n.Part != "") != (n.Kind != KindAlpha && n.Kind != Other) {
			t.Fatalf("%q: kind %s with part %q", s, n.Kind, n.Part)
		}
		if n.Kind.InLayer() && !n.HasLayer() {
			t.Fatalf("%q: layer kind %s outside a layer", s, n.Kind)
		}
		if n.Kind == KindAlpha && !IsAlpha(s) {
			t.Fatalf("%q: alpha but not IsAlpha", s)
		}
		Group(s)
	})
}
