// Package yulan holds what ckptinspect knows about the parameters of
// YuLan-Mini and of Hugging Face Llama-style decoders: the one place where
// parameter names, layers, WeSaR scale factors and effective multipliers are
// understood (FORMATS.md §8).
//
// Naming. [Parse] splits a parameter name such as
// "model.layers.3.self_attn.q_proj.weight" into its decoder layer (3) and
// its [Kind] (q_proj); a WeSaR scale factor such as
// "model.layers.3.gate_up_proj_alpha" is of kind alpha, and its [Alpha] says
// which factor it is and [Alpha.Targets] which weights it multiplies.
// [Group] gives the aggregate a parameter belongs to when statistics are
// summed by layer ("embedding", "layer 3", "final norm", "lm_head").
// Parsing never fails: a name it does not recognise is of kind other.
//
// Configuration. [ParseConfig] reads a model's config.json: the sizes, and
// the multipliers of YuLan-Mini's μP-style parameterisation (ln_scale,
// hidden_states_shrink, scale_emb, dim_model_base_attn,
// dim_model_base_logits, rms_type, wesar_weights, use_norm_alpha), each with
// the default of YuLan-Mini's configuration_yulanmini.py when absent. A
// plain Llama config.json is read the same way: without those keys every
// multiplier is 1.
//
// Effective weights. [Resolve] gives every weight its [Multiplier]: the
// product of the scale factors and config multipliers the forward pass of
// pretrain/modeling_yulanmini.py applies to it, so that the Llama network
// with weights Scale·(w + Offset) computes the same function (the fold-in
// table of FORMATS.md §8.1; Offset is 1 only for norm weights of
// rms_type "gemma", which the network uses as 1 + w). [EffectiveStats]
// turns the statistics of a weight into those of its effective weight
// without reading it again, and [AccumulateEffective] accumulates effective
// values directly, for the cases the first cannot derive ([AlwaysDerivable]
// tells a pass, before it reads a tensor, whether it may have to);
// [EffectiveDiffPairs] gives a diff's sums over effective values with each
// checkpoint's own multipliers; [EffectiveUpdateToWeight] is the AdamW
// update-to-weight ratio against the effective weight. [Check] lists every
// reason the multipliers cannot be known (what verify reports; a
// [ParamError] names the parameter concerned).
//
// The package imports nothing of ckptinspect but tensor, so that every
// layer of the tree can use it.
package yulan
