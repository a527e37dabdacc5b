package yulan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
)

// ErrConfig is wrapped by every error about a config.json's content.
var ErrConfig = errors.New("model config")

// RMSType is how a norm uses its weight: "llama" multiplies the normalised
// hidden state by w, "gemma" by 1 + w (YuLan-Mini's rms_type).
type RMSType string

// The norm types of YuLan-Mini's modelling code.
const (
	RMSLlama RMSType = "llama"
	RMSGemma RMSType = "gemma"
)

// Offset returns what the network adds to a norm weight before using it:
// 0 for llama, 1 for gemma.
func (t RMSType) Offset() float64 {
	if t == RMSGemma {
		return 1
	}
	return 0
}

// Config is what ckptinspect reads of a model's config.json: the sizes and
// the multipliers of YuLan-Mini's parameterisation. Every field has the
// default of YuLan-Mini's configuration_yulanmini.py when its key is absent
// (Defaulted lists those keys), so that a YuLan-Mini config.json reads as
// the modelling code reads it, and a plain Llama one (without the
// multiplier keys) has every multiplier 1.
type Config struct {
	ModelType             string // model_type ("yulanmini", "llama", ...; "" when absent)
	HiddenSize            int    // hidden_size (1920)
	IntermediateSize      int    // intermediate_size (4800)
	NumHiddenLayers       int    // num_hidden_layers (56)
	NumAttentionHeads     int    // num_attention_heads (30)
	NumKeyValueHeads      int    // num_key_value_heads (6; num_attention_heads when null)
	HeadDim               int    // hidden_size / num_attention_heads, as the modelling code computes it
	VocabSize             int    // vocab_size (99000)
	MaxPositionEmbeddings int    // max_position_embeddings (4096)
	RMSNormEps            float64
	RopeTheta             float64
	HiddenAct             string // hidden_act ("silu")
	AttentionBias         bool   // attention_bias (true): q, k, v have biases
	AttentionDropout      float64
	TieWordEmbeddings     bool // tie_word_embeddings (false)
	InitializerRange      float64
	// BosTokenID and EosTokenID are kept as JSON (an id, a list of ids, or
	// null).
	BosTokenID, EosTokenID json.RawMessage

	RMSType RMSType // rms_type ("llama")
	// LNScale is ln_scale, c (1): every norm's output is multiplied by it.
	LNScale float64
	// HiddenStatesShrink is hidden_states_shrink, s (1), with "muparam"
	// already turned into 1/sqrt(num_hidden_layers). The residual branches
	// are multiplied by it only when 0 <= s < 1 (see Shrink).
	HiddenStatesShrink float64
	// ScaleEmb is scale_emb (1; null means 1): the embeddings' multiplier.
	ScaleEmb float64
	// DimModelBaseAttn is dim_model_base_attn, A (head_dim when absent or
	// null): attention logits are scaled by sqrt(A)/head_dim.
	DimModelBaseAttn float64
	// DimModelBaseLogits is dim_model_base_logits, B (hidden_size when
	// absent or null): the final hidden state is divided by hidden_size/B.
	DimModelBaseLogits float64
	// WesarWeights is wesar_weights (true): the model has trainable scale
	// factors; UseNormAlpha is use_norm_alpha (true): the norms have theirs.
	WesarWeights, UseNormAlpha bool

	// Architecture switches a plain Llama model cannot express (export
	// refuses them): qk_layernorm, embedding_ln, embedding_rmsln,
	// use_sliding_window, and a rope_scaling other than null.
	QKLayernorm, EmbeddingLN, EmbeddingRMSLN, UseSlidingWindow bool
	RopeScaling                                                json.RawMessage

	// ScaleDepth is scale_depth when the config has it (nil otherwise):
	// pretrain/modeling_yulanmini.py never reads it, but the conversion
	// script of the released model folds scale_depth/sqrt(num_hidden_layers)
	// into o_proj and down_proj, so a config with it may come with other
	// modelling code. Resolve refuses to guess.
	ScaleDepth *float64

	// Defaulted lists the keys that were absent (or null where the
	// modelling code then uses its default), sorted.
	Defaulted []string
}

// Shrink returns the multiplier of the residual branches: HiddenStatesShrink
// when 0 <= s < 1, else 1 (the modelling code applies it only then).
func (c *Config) Shrink() float64 {
	if s := c.HiddenStatesShrink; s >= 0 && s < 1 {
		return s
	}
	return 1
}

// Setting is one config value the effective multipliers use.
type Setting struct {
	Key       string
	Value     any  // the value used (float64, string or bool)
	Defaulted bool // the key was absent and Value is the default
}

// Settings returns the config values the effective multipliers depend on,
// with whether each was defaulted: what `stats --effective` notes it used.
func (c *Config) Settings() []Setting {
	def := map[string]bool{}
	for _, k := range c.Defaulted {
		def[k] = true
	}
	s := func(k string, v any) Setting { return Setting{Key: k, Value: v, Defaulted: def[k]} }
	return []Setting{
		s("hidden_size", float64(c.HiddenSize)),
		s("num_attention_heads", float64(c.NumAttentionHeads)),
		s("num_hidden_layers", float64(c.NumHiddenLayers)),
		s("rms_type", string(c.RMSType)),
		s("ln_scale", c.LNScale),
		s("hidden_states_shrink", c.HiddenStatesShrink),
		s("scale_emb", c.ScaleEmb),
		s("dim_model_base_attn", c.DimModelBaseAttn),
		s("dim_model_base_logits", c.DimModelBaseLogits),
		s("wesar_weights", c.WesarWeights),
		s("use_norm_alpha", c.UseNormAlpha),
	}
}

// ReadConfig reads and parses a config.json file.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w: not a JSON object: %v", path, ErrConfig, err)
	}
	c, err := ParseConfig(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads a decoded config.json (numbers as float64, int or
// json.Number). A key with a value of the wrong type, an rms_type other
// than llama or gemma, sizes that are not positive or a hidden_size not
// divisible by num_attention_heads is an error wrapping ErrConfig.
func ParseConfig(m map[string]any) (*Config, error) {
	p := configParser{m: m}
	c := &Config{
		ModelType:             p.str("model_type", ""),
		HiddenSize:            p.int("hidden_size", 1920),
		IntermediateSize:      p.int("intermediate_size", 4800),
		NumHiddenLayers:       p.int("num_hidden_layers", 56),
		NumAttentionHeads:     p.int("num_attention_heads", 30),
		VocabSize:             p.int("vocab_size", 99000),
		MaxPositionEmbeddings: p.int("max_position_embeddings", 4096),
		RMSNormEps:            p.float("rms_norm_eps", 1e-6),
		RopeTheta:             p.float("rope_theta", 10000),
		HiddenAct:             p.str("hidden_act", "silu"),
		AttentionBias:         p.bool("attention_bias", true),
		AttentionDropout:      p.float("attention_dropout", 0),
		TieWordEmbeddings:     p.bool("tie_word_embeddings", false),
		InitializerRange:      p.float("initializer_range", 0.014434),
		BosTokenID:            p.raw("bos_token_id", "1"),
		EosTokenID:            p.raw("eos_token_id", "2"),
		RMSType:               RMSType(p.str("rms_type", string(RMSLlama))),
		LNScale:               p.float("ln_scale", 1),
		WesarWeights:          p.bool("wesar_weights", true),
		UseNormAlpha:          p.bool("use_norm_alpha", true),
		QKLayernorm:           p.bool("qk_layernorm", false),
		EmbeddingLN:           p.bool("embedding_ln", false),
		EmbeddingRMSLN:        p.bool("embedding_rmsln", false),
		UseSlidingWindow:      p.bool("use_sliding_window", false),
		RopeScaling:           p.raw("rope_scaling", "null"),
	}
	if v, ok := m["num_key_value_heads"]; ok && v == nil {
		c.NumKeyValueHeads = c.NumAttentionHeads // "for backward compatibility"
		p.defaulted = append(p.defaulted, "num_key_value_heads")
	} else {
		c.NumKeyValueHeads = p.int("num_key_value_heads", 6)
	}
	// hidden_states_shrink: a number, or "muparam" = 1/sqrt(num_hidden_layers)
	if v, ok := m["hidden_states_shrink"]; ok && v == "muparam" {
		c.HiddenStatesShrink = 1 / math.Sqrt(float64(c.NumHiddenLayers))
	} else {
		c.HiddenStatesShrink = p.float("hidden_states_shrink", 1)
	}
	// scale_emb: null means 1 (configuration_yulanmini.py)
	c.ScaleEmb = p.floatOrNull("scale_emb", 1)
	if c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	c.DimModelBaseAttn = p.floatOrNull("dim_model_base_attn", float64(c.HeadDim))
	c.DimModelBaseLogits = p.floatOrNull("dim_model_base_logits", float64(c.HiddenSize))
	if _, ok := m["scale_depth"]; ok {
		v := p.float("scale_depth", 1)
		c.ScaleDepth = &v
	}
	if p.err != nil {
		return nil, p.err
	}
	bad := func(format string, args ...any) (*Config, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch c.RMSType {
	case RMSLlama, RMSGemma:
	default:
		return bad("rms_type %q is neither \"llama\" nor \"gemma\" (the norm types of YuLan-Mini's modelling code)", c.RMSType)
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"num_key_value_heads", c.NumKeyValueHeads}, {"vocab_size", c.VocabSize}} {
		if f.v <= 0 {
			return bad("%s is %d, not a positive size", f.key, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return bad("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return bad("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.DimModelBaseAttn < 0 {
		return bad("dim_model_base_attn is %v: attention logits would be scaled by the square root of a negative number", c.DimModelBaseAttn)
	}
	if c.DimModelBaseLogits == 0 {
		return bad("dim_model_base_logits is 0: the logits would be divided by hidden_size/0")
	}
	sort.Strings(p.defaulted)
	c.Defaulted = p.defaulted
	return c, nil
}

// configParser reads typed values of a decoded config, recording the first
// type error and the keys it defaulted.
type configParser struct {
	m         map[string]any
	err       error
	defaulted []string
}

func (p *configParser) fail(key string, v any, want string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s is %s, not %s", ErrConfig, key, describe(v), want)
	}
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 60 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}

// number returns v as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

func (p *configParser) lookup(key string) (any, bool) {
	v, ok := p.m[key]
	if !ok {
		p.defaulted = append(p.defaulted, key)
	}
	return v, ok
}

func (p *configParser) float(key string, def float64) float64 {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		p.fail(key, v, "a finite number")
		return def
	}
	return f
}

// floatOrNull is float where null also means the default.
func (p *configParser) floatOrNull(key string, def float64) float64 {
	if v, ok := p.m[key]; ok && v == nil {
		p.defaulted = append(p.defaulted, key)
		return def
	}
	return p.float(key, def)
}

func (p *configParser) int(key string, def int) int {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		p.fail(key, v, "an integer")
		return def
	}
	return int(f)
}

func (p *configParser) str(key, def string) string {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		p.fail(key, v, "a string")
		return def
	}
	return s
}

func (p *configParser) bool(key string, def bool) bool {
	v, ok := p.lookup(key)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		p.fail(key, v, "true or false")
		return def
	}
	return b
}

// raw returns the key's value re-encoded as JSON, def when absent.
func (p *configParser) raw(key, def string) json.RawMessage {
	v, ok := p.lookup(key)
	if !ok {
		return json.RawMessage(def)
	}
	b, err := json.Marshal(v)
	if err != nil {
		p.fail(key, v, "JSON")
		return json.RawMessage(def)
	}
	return b
}
