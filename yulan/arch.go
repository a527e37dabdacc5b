package yulan

// ArchitectureKeys lists the config.json keys that fix a model's
// architecture: two checkpoints whose configs differ in one of them are
// not checkpoints of one model, whatever their parameter names.
func ArchitectureKeys() []string {
	return []string{"model_type", "architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
		"num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "tie_word_embeddings",
		"attention_bias", "mlp_bias", "rms_type", "wesar_weights", "use_norm_alpha"}
}
