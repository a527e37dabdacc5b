package yulan

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ErrAlpha is wrapped by the errors of Resolve about scale factors: one
// with no known target, a value that is not one element, factors present
// in some layers and missing in others, or factors the config says the
// model does not have.
var ErrAlpha = errors.New("scale factor")

// Factor is one multiplier of an effective weight.
type Factor struct {
	// Source says where the value comes from: the name of a scale-factor
	// parameter, or a config expression ("scale_emb", "ln_scale",
	// "hidden_states_shrink", "sqrt(dim_model_base_attn/head_dim)",
	// "dim_model_base_logits/hidden_size").
	Source string
	Value  float64
	// Absent is true for a scale factor the checkpoint does not have, taken
	// as 1 (as the modelling code does when the model has no factors).
	Absent bool
}

// Multiplier says how a weight w becomes the effective weight the network
// computes with: Scale·(w + Offset), both in float64. Offset is 1 for the
// norm weights of rms_type "gemma" (the network uses 1 + w) and 0
// otherwise; Scale is the product, in the order listed, of Factors.
type Multiplier struct {
	Scale   float64
	Offset  float64
	Factors []Factor
	// Known is false for a parameter whose role ckptinspect does not know
	// (kind other): its multiplier is unknown, not 1.
	Known bool
}

// Apply returns the effective value of one element: Scale·(x + Offset),
// with x + Offset rounded first.
func (m Multiplier) Apply(x float64) float64 { return m.Scale * (x + m.Offset) }

// IsIdentity reports whether the multiplier changes nothing.
func (m Multiplier) IsIdentity() bool { return m.Known && m.Scale == 1 && m.Offset == 0 }

// String renders the multiplier as a formula, e.g.
// "0.5 = model.layers.0.self_attn.o_proj_alpha(2) × hidden_states_shrink(0.25)".
func (m Multiplier) String() string {
	if !m.Known {
		return "unknown"
	}
	var b strings.Builder
	b.WriteString(strconv.FormatFloat(m.Scale, 'g', -1, 64))
	if m.Offset != 0 {
		b.WriteString(" × (w + " + strconv.FormatFloat(m.Offset, 'g', -1, 64) + ")")
	}
	for i, f := range m.Factors {
		if i == 0 {
			b.WriteString(" = ")
		} else {
			b.WriteString(" × ")
		}
		b.WriteString(f.Source)
		if f.Absent {
			b.WriteString("(absent: 1)")
		} else {
			b.WriteString("(" + strconv.FormatFloat(f.Value, 'g', -1, 64) + ")")
		}
	}
	return b.String()
}

func product(fs []Factor) float64 {
	p := 1.0
	for _, f := range fs {
		p *= f.Value
	}
	return p
}

// Param is what Resolve needs of a checkpoint's parameter.
type Param struct {
	Name  string
	Numel int64
	// Value returns the value of a one-element parameter (its fp32 master
	// weight); it is called only for scale factors.
	Value func() (float64, error)
}

// Scales holds the effective multiplier of every parameter of a
// checkpoint under a config.
type Scales struct {
	Config *Config
	byName map[string]Multiplier
	// Alphas are the values of the scale factors, by parameter name.
	Alphas map[string]float64
	// Notes say what was assumed (factors absent from the checkpoint).
	Notes []string
}

// Of returns the multiplier of the named parameter, and false when the
// parameter was not among those resolved.
func (s *Scales) Of(name string) (Multiplier, bool) {
	m, ok := s.byName[name]
	return m, ok
}

// alphaName returns the name of the scale factor of a weight of kind k in
// layer n.Layer, given the weight's full name: the factor lives beside
// the weight's module as YuLan-Mini's modelling code puts it.
func alphaName(name string, n Name) (string, Alpha) {
	// prefix: everything before the module of the weight
	parts := strings.Split(name, ".")
	cut := func(k int) string { // the name without its last k components, with a trailing dot
		p := strings.Join(parts[:len(parts)-k], ".")
		if p != "" {
			p += "."
		}
		return p
	}
	switch n.Kind {
	case QProj, KProj, VProj, OProj:
		// model.layers.i.self_attn.q_proj.weight -> model.layers.i.self_attn.q_proj_alpha
		return cut(2) + string(n.Kind) + "_alpha", Alpha(string(n.Kind) + "_alpha")
	case GateProj, UpProj:
		// model.layers.i.mlp.gate_proj.weight -> model.layers.i.gate_up_proj_alpha
		return cut(3) + string(AlphaGateUp), AlphaGateUp
	case DownProj:
		return cut(3) + string(AlphaDown), AlphaDown
	case InputLayernorm:
		return cut(2) + string(AlphaInputLayernorm), AlphaInputLayernorm
	case PostAttentionLayernorm:
		return cut(2) + string(AlphaPostAttentionLayernorm), AlphaPostAttentionLayernorm
	case Norm:
		// model.norm.weight -> model.norm_alpha
		return cut(2) + string(AlphaNorm), AlphaNorm
	case EmbedTokens:
		return cut(2) + string(AlphaEmbedTokens), AlphaEmbedTokens
	case LMHead:
		// lm_head.weight -> lm_head_alpha
		return cut(2) + string(AlphaLMHead), AlphaLMHead
	}
	return "", ""
}

// ParamError is a problem of one parameter found by Check.
type ParamError struct {
	Param string // the parameter's name
	Err   error
}

func (e *ParamError) Error() string { return e.Err.Error() }

// Unwrap returns the problem.
func (e *ParamError) Unwrap() error { return e.Err }

// Check returns every problem that keeps the multipliers of params from
// being known under cfg, without reading any value: a config with
// scale_depth; a parameter in a layer the config does not have; a scale
// factor with no known target (a name YuLan-Mini does not have, or one in
// the wrong place), present although the config says the model has none
// (wesar_weights or use_norm_alpha false), with other than one element, or
// present in some layers and missing in others. Errors wrap ErrConfig or
// ErrAlpha, and the problems of one parameter are *ParamError. It is what
// `verify` checks; Resolve fails with the first.
//
// A nil cfg stands for a checkpoint without a config: only what needs none
// is checked (names, places, element counts, and per-layer factors present
// in every layer, the layers being those the parameter names show).
func Check(cfg *Config, params []Param) []error {
	var errs []error
	if cfg == nil {
		layers := 0
		for _, p := range params {
			if n := Parse(p.Name); n.HasLayer() {
				layers = max(layers, n.Layer+1)
			}
		}
		// without a config, the checks of its values pass
		cfg = &Config{NumHiddenLayers: layers, WesarWeights: true, UseNormAlpha: true}
	}
	if cfg.ScaleDepth != nil {
		errs = append(errs, fmt.Errorf("%w: the config has scale_depth (%v), which pretrain/modeling_yulanmini.py does not read; "+
			"the released model's conversion script folds scale_depth/sqrt(num_hidden_layers) into o_proj and down_proj, "+
			"so this config may go with other modelling code: not guessing its multipliers", ErrConfig, *cfg.ScaleDepth))
	}
	present := map[Alpha][]int{} // layers (or -1) where each factor is present
	for _, p := range params {
		n := Parse(p.Name)
		if n.HasLayer() && n.Layer >= cfg.NumHiddenLayers {
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: %s is in layer %d, but the config has num_hidden_layers %d", ErrConfig, p.Name, n.Layer, cfg.NumHiddenLayers)})
			continue
		}
		if n.Kind != KindAlpha {
			continue
		}
		switch {
		case !n.Alpha.Known():
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: %s is not one of YuLan-Mini's scale factors (%s): its target is unknown", ErrAlpha, p.Name, alphaList())})
		case n.Misplaced:
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: %s: YuLan-Mini has no %s there, so its target is unknown", ErrAlpha, p.Name, n.Alpha)})
		case !cfg.WesarWeights:
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: the checkpoint has %s, but the config sets wesar_weights false (the modelling code then has no scale factors)", ErrAlpha, p.Name)})
		case !cfg.UseNormAlpha && (n.Alpha == AlphaInputLayernorm || n.Alpha == AlphaPostAttentionLayernorm || n.Alpha == AlphaNorm):
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: the checkpoint has %s, but the config sets use_norm_alpha false (the modelling code then has no norm factors)", ErrAlpha, p.Name)})
		case p.Numel != 1:
			errs = append(errs, &ParamError{Param: p.Name, Err: fmt.Errorf("%w: %s has %d elements, not one", ErrAlpha, p.Name, p.Numel)})
		default:
			present[n.Alpha] = append(present[n.Alpha], n.Layer)
		}
	}
	// A per-layer factor is in every layer or in none.
	var missing []error
	for a, layers := range present {
		if !a.PerLayer() || len(layers) == cfg.NumHiddenLayers {
			continue
		}
		have := map[int]bool{}
		for _, l := range layers {
			have[l] = true
		}
		for l := 0; l < cfg.NumHiddenLayers; l++ {
			if !have[l] {
				missing = append(missing, fmt.Errorf("%w: layer %d has no %s while %d other layers have theirs", ErrAlpha, l, a, len(layers)))
			}
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].Error() < missing[j].Error() })
	return append(errs, missing...)
}

// Resolve gives every parameter its multiplier under cfg (FORMATS.md §8.1,
// checked against pretrain/modeling_yulanmini.py):
//
//	embed_tokens            scale_emb × embed_tokens_alpha
//	input_layernorm         ln_scale × input_layernorm_alpha          (gemma: offset 1)
//	q_proj (weight, bias)   q_proj_alpha × sqrt(dim_model_base_attn/head_dim)
//	k_proj, v_proj          k_proj_alpha, v_proj_alpha
//	o_proj                  o_proj_alpha × hidden_states_shrink       (shrink only when 0 <= s < 1)
//	post_attention_layernorm ln_scale × post_attention_layernorm_alpha (gemma: offset 1)
//	gate_proj, up_proj      gate_up_proj_alpha
//	down_proj               down_proj_alpha × hidden_states_shrink
//	norm                    ln_scale × norm_alpha                     (gemma: offset 1)
//	lm_head                 lm_head_alpha × dim_model_base_logits/hidden_size
//
// Scale factors themselves get the identity (their effective value is
// their value); parameters of kind other get an unknown multiplier. A
// factor the checkpoint does not have counts as 1 (noted), which is what
// the modelling code does for a model without factors; but factors present
// in some layers and missing in others, a factor present although the
// config says the model has none (wesar_weights or use_norm_alpha false),
// a factor with no known target or in a layer the config does not have, a
// factor with other than one element, and a config with scale_depth are
// errors: the multiplier would be a guess.
func Resolve(cfg *Config, params []Param) (*Scales, error) {
	if problems := Check(cfg, params); len(problems) > 0 {
		return nil, problems[0]
	}
	s := &Scales{Config: cfg, byName: map[string]Multiplier{}, Alphas: map[string]float64{}}
	parsed := make([]Name, len(params))
	present := map[Alpha]bool{}
	for i, p := range params {
		n := Parse(p.Name)
		parsed[i] = n
		if n.Kind != KindAlpha {
			continue
		}
		v, err := p.Value()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrAlpha, p.Name, err)
		}
		s.Alphas[p.Name] = v
		present[n.Alpha] = true
		s.byName[p.Name] = Multiplier{Scale: 1, Known: true}
	}
	absent := map[Alpha]bool{}
	shrink := cfg.Shrink()
	for i, p := range params {
		n := parsed[i]
		if n.Kind == KindAlpha {
			continue
		}
		if n.Kind == Other {
			s.byName[p.Name] = Multiplier{}
			continue
		}
		aname, a := alphaName(p.Name, n)
		alpha := Factor{Source: aname, Value: 1}
		if v, ok := s.Alphas[aname]; ok {
			alpha.Value = v
		} else {
			alpha.Absent = true
			if a != AlphaEmbedTokens {
				absent[a] = true
			}
		}
		var fs []Factor
		var offset float64
		switch n.Kind {
		case EmbedTokens:
			fs = []Factor{{Source: "scale_emb", Value: cfg.ScaleEmb}, alpha}
		case InputLayernorm, PostAttentionLayernorm, Norm:
			fs = []Factor{{Source: "ln_scale", Value: cfg.LNScale}, alpha}
			offset = cfg.RMSType.Offset()
		case QProj:
			fs = []Factor{alpha, {Source: "sqrt(dim_model_base_attn/head_dim)", Value: math.Sqrt(cfg.DimModelBaseAttn / float64(cfg.HeadDim))}}
		case KProj, VProj, GateProj, UpProj:
			fs = []Factor{alpha}
		case OProj, DownProj:
			fs = []Factor{alpha, {Source: "hidden_states_shrink", Value: shrink}}
		case LMHead:
			fs = []Factor{alpha, {Source: "dim_model_base_logits/hidden_size", Value: cfg.DimModelBaseLogits / float64(cfg.HiddenSize)}}
		}
		s.byName[p.Name] = Multiplier{Scale: product(fs), Offset: offset, Factors: fs, Known: true}
	}
	if len(absent) > 0 {
		var names []string
		for a := range absent {
			names = append(names, string(a))
		}
		sort.Strings(names)
		why := "the config sets wesar_weights false"
		switch {
		case cfg.WesarWeights && len(present) == 0:
			why = "the checkpoint has no scale factors at all"
		case cfg.WesarWeights && !cfg.UseNormAlpha:
			why = "the config sets use_norm_alpha false"
		case cfg.WesarWeights:
			why = "the checkpoint does not have them"
		}
		s.Notes = append(s.Notes, fmt.Sprintf("scale factors %s taken as 1: %s", strings.Join(names, ", "), why))
	}
	return s, nil
}

func alphaList() string {
	var s []string
	for _, a := range Alphas() {
		s = append(s, string(a))
	}
	return strings.Join(s, ", ")
}
