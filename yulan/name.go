package yulan

import (
	"strconv"
	"strings"
)

// Kind says what a parameter is in a Llama-style decoder. Its string is
// the stable name used in JSON, CSV and reports.
type Kind string

// The kinds of parameters. A weight and its bias share a kind.
const (
	QProj                  Kind = "q_proj"
	KProj                  Kind = "k_proj"
	VProj                  Kind = "v_proj"
	OProj                  Kind = "o_proj"
	GateProj               Kind = "gate_proj"
	UpProj                 Kind = "up_proj"
	DownProj               Kind = "down_proj"
	InputLayernorm         Kind = "input_layernorm"
	PostAttentionLayernorm Kind = "post_attention_layernorm"
	Norm                   Kind = "norm"         // the final norm, model.norm.weight
	EmbedTokens            Kind = "embed_tokens" // model.embed_tokens.weight
	LMHead                 Kind = "lm_head"      // lm_head.weight
	KindAlpha              Kind = "alpha"        // a WeSaR scale factor (*_alpha)
	Other                  Kind = "other"        // anything else
)

// Kinds returns every kind, in the order of the forward pass (the layer
// kinds in the order a layer uses them), then alpha and other.
func Kinds() []Kind {
	return []Kind{EmbedTokens, InputLayernorm, QProj, KProj, VProj, OProj,
		PostAttentionLayernorm, GateProj, UpProj, DownProj, Norm, LMHead, KindAlpha, Other}
}

// InLayer reports whether parameters of kind k live in a decoder layer.
func (k Kind) InLayer() bool {
	switch k {
	case QProj, KProj, VProj, OProj, GateProj, UpProj, DownProj, InputLayernorm, PostAttentionLayernorm:
		return true
	}
	return false
}

// Alpha names a WeSaR scale factor of YuLan-Mini: the last component of the
// parameter's name.
type Alpha string

// The scale factors of YuLan-Mini's modelling code. Per layer:
// self_attn.{q,k,v,o}_proj_alpha (shape [1]) and gate_up_proj_alpha,
// down_proj_alpha, input_layernorm_alpha, post_attention_layernorm_alpha
// (0-dim); model.norm_alpha and lm_head_alpha (0-dim). embed_tokens_alpha is
// a constant 1 in the current code (not a parameter); a checkpoint of a
// version that trained it multiplies the embeddings by it.
const (
	AlphaQ                      Alpha = "q_proj_alpha"
	AlphaK                      Alpha = "k_proj_alpha"
	AlphaV                      Alpha = "v_proj_alpha"
	AlphaO                      Alpha = "o_proj_alpha"
	AlphaGateUp                 Alpha = "gate_up_proj_alpha"
	AlphaDown                   Alpha = "down_proj_alpha"
	AlphaInputLayernorm         Alpha = "input_layernorm_alpha"
	AlphaPostAttentionLayernorm Alpha = "post_attention_layernorm_alpha"
	AlphaNorm                   Alpha = "norm_alpha"
	AlphaLMHead                 Alpha = "lm_head_alpha"
	AlphaEmbedTokens            Alpha = "embed_tokens_alpha"
)

// Alphas returns every scale factor YuLan-Mini knows, per-layer ones first.
func Alphas() []Alpha {
	return []Alpha{AlphaQ, AlphaK, AlphaV, AlphaO, AlphaGateUp, AlphaDown,
		AlphaInputLayernorm, AlphaPostAttentionLayernorm, AlphaNorm, AlphaLMHead, AlphaEmbedTokens}
}

// Targets returns the kinds of the weights the factor multiplies (the
// weight and, where it has one, the bias of each), or nil for a name that
// is not one of YuLan-Mini's factors.
func (a Alpha) Targets() []Kind {
	switch a {
	case AlphaQ:
		return []Kind{QProj}
	case AlphaK:
		return []Kind{KProj}
	case AlphaV:
		return []Kind{VProj}
	case AlphaO:
		return []Kind{OProj}
	case AlphaGateUp:
		return []Kind{GateProj, UpProj}
	case AlphaDown:
		return []Kind{DownProj}
	case AlphaInputLayernorm:
		return []Kind{InputLayernorm}
	case AlphaPostAttentionLayernorm:
		return []Kind{PostAttentionLayernorm}
	case AlphaNorm:
		return []Kind{Norm}
	case AlphaLMHead:
		return []Kind{LMHead}
	case AlphaEmbedTokens:
		return []Kind{EmbedTokens}
	}
	return nil
}

// PerLayer reports whether the factor exists once per decoder layer.
func (a Alpha) PerLayer() bool {
	switch a {
	case AlphaQ, AlphaK, AlphaV, AlphaO, AlphaGateUp, AlphaDown, AlphaInputLayernorm, AlphaPostAttentionLayernorm:
		return true
	}
	return false
}

// Known reports whether a is one of YuLan-Mini's factors.
func (a Alpha) Known() bool { return a.Targets() != nil }

// Name is a parsed parameter name.
type Name struct {
	// Layer is the decoder layer (the N of "layers.N."), or -1 for a
	// parameter outside the layers.
	Layer int
	Kind  Kind
	// Part is "weight" or "bias" for the weights of the known kinds, ""
	// for alphas and other parameters.
	Part string
	// Alpha is the factor's name for kind alpha (the last component of the
	// name, ending in "_alpha"); it may be a name YuLan-Mini does not have
	// (Alpha.Known reports false) or one found where YuLan-Mini does not
	// put it (Misplaced is then true).
	Alpha Alpha
	// Misplaced is true for a known factor's name in the wrong place: a
	// per-layer factor outside a layer or under the wrong module
	// (q_proj_alpha belongs to self_attn, gate_up_proj_alpha to the layer),
	// or a global one inside a layer.
	Misplaced bool
}

// HasLayer reports whether the parameter is in a decoder layer.
func (n Name) HasLayer() bool { return n.Layer >= 0 }

// IsAlpha reports whether a parameter name is that of a WeSaR-style scale
// factor: its last component ends in "_alpha". (ckpt.IsScale adds that the
// parameter has one element.)
func IsAlpha(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	return len(last) > len("_alpha") && strings.HasSuffix(last, "_alpha")
}

// Parse parses a Hugging Face Llama / YuLan-Mini parameter name. Any prefix
// before the model's own names is accepted ("module.", "base_model.", ...):
// the layer is the number after the first "layers." component that is
// followed by a number and more components, and the kind
// comes from the components after it (or, outside the layers, from the last
// components). Parse never fails; names it does not know are of kind
// other.
func Parse(name string) Name {
	parts := strings.Split(name, ".")
	out := Name{Layer: -1, Kind: Other}
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "layers" {
			if n, ok := layerNumber(parts[i+1]); ok {
				out.Layer = n
				parseInLayer(parts[i+2:], &out)
				return out
			}
		}
	}
	parseGlobal(parts, &out)
	return out
}

// layerNumber parses a layer index: decimal digits only, fitting an int.
func layerNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func isPart(s string) bool { return s == "weight" || s == "bias" }

func parseInLayer(rest []string, out *Name) {
	switch len(rest) {
	case 1:
		if IsAlpha(rest[0]) {
			out.Kind, out.Alpha = KindAlpha, Alpha(rest[0])
			switch out.Alpha {
			case AlphaGateUp, AlphaDown, AlphaInputLayernorm, AlphaPostAttentionLayernorm:
			default:
				out.Misplaced = out.Alpha.Known()
			}
		}
	case 2:
		switch {
		case rest[0] == "self_attn" && IsAlpha(rest[1]):
			out.Kind, out.Alpha = KindAlpha, Alpha(rest[1])
			switch out.Alpha {
			case AlphaQ, AlphaK, AlphaV, AlphaO:
			default:
				out.Misplaced = out.Alpha.Known()
			}
		case IsAlpha(rest[1]):
			out.Kind, out.Alpha = KindAlpha, Alpha(rest[1])
			out.Misplaced = out.Alpha.Known()
		case rest[0] == "input_layernorm" && rest[1] == "weight":
			out.Kind, out.Part = InputLayernorm, "weight"
		case rest[0] == "post_attention_layernorm" && rest[1] == "weight":
			out.Kind, out.Part = PostAttentionLayernorm, "weight"
		}
	case 3:
		if !isPart(rest[2]) {
			if IsAlpha(rest[2]) {
				out.Kind, out.Alpha = KindAlpha, Alpha(rest[2])
				out.Misplaced = out.Alpha.Known()
			}
			return
		}
		k := Kind(rest[1])
		switch {
		case rest[0] == "self_attn" && (k == QProj || k == KProj || k == VProj || k == OProj):
		case rest[0] == "mlp" && (k == GateProj || k == UpProj || k == DownProj):
		default:
			return
		}
		out.Kind, out.Part = k, rest[2]
	default:
		if len(rest) > 0 && IsAlpha(rest[len(rest)-1]) {
			out.Kind, out.Alpha = KindAlpha, Alpha(rest[len(rest)-1])
			out.Misplaced = out.Alpha.Known()
		}
	}
}

func parseGlobal(parts []string, out *Name) {
	n := len(parts)
	last := parts[n-1]
	if IsAlpha(last) {
		out.Kind, out.Alpha = KindAlpha, Alpha(last)
		switch out.Alpha {
		case AlphaNorm, AlphaEmbedTokens:
			// model.norm_alpha, model.embed_tokens_alpha
			out.Misplaced = n < 2 || parts[n-2] != "model"
		case AlphaLMHead:
			// lm_head_alpha sits on the CausalLM module, above "model"
			out.Misplaced = n >= 2 && parts[n-2] == "model"
		default:
			out.Misplaced = out.Alpha.Known()
		}
		return
	}
	if n < 2 || last != "weight" {
		return
	}
	switch parts[n-2] {
	case "embed_tokens":
		out.Kind, out.Part = EmbedTokens, "weight"
	case "lm_head":
		out.Kind, out.Part = LMHead, "weight"
	case "norm":
		out.Kind, out.Part = Norm, "weight"
	}
}

// Group names the aggregate a parameter belongs to when statistics are
// summed by layer, and its place in depth order: "embedding" (-1), "layer
// N" (N), "final norm" and "lm_head" (after every layer), "other" (last).
// A scale factor belongs with the weights it multiplies (model.norm_alpha
// with the final norm, lm_head_alpha with lm_head). A name of kind other
// outside the layers is placed by its text: containing "embed" →
// embedding, starting with "lm_head" → lm_head, containing "norm" → final
// norm, so that extra parameters (an embedding layer norm, say) sit where
// they act.
func Group(name string) (label string, order int) {
	const last = 1 << 30
	n := Parse(name)
	if n.HasLayer() {
		return "layer " + strconv.Itoa(n.Layer), n.Layer
	}
	kind := n.Kind
	if kind == KindAlpha && !n.Misplaced {
		if t := n.Alpha.Targets(); len(t) == 1 {
			kind = t[0]
		}
	}
	switch kind {
	case EmbedTokens:
		return "embedding", -1
	case LMHead:
		return "lm_head", last
	case Norm:
		return "final norm", last - 1
	}
	switch {
	case strings.Contains(name, "embed"):
		return "embedding", -1
	case strings.HasPrefix(name, "lm_head"):
		return "lm_head", last
	case strings.Contains(name, "norm"):
		return "final norm", last - 1
	}
	return "other", last + 1
}
