package yulan_test

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/yulan"
)

func ExampleParse() {
	for _, name := range []string{
		"model.layers.3.self_attn.q_proj.bias",
		"model.layers.3.gate_up_proj_alpha",
		"lm_head.weight",
	} {
		n := yulan.Parse(name)
		fmt.Println(n.Layer, n.Kind, n.Part, n.Alpha, n.Alpha.Targets())
	}
	// Output:
	// 3 q_proj bias  []
	// 3 alpha  gate_up_proj_alpha [gate_proj up_proj]
	// -1 lm_head weight  []
}

func ExampleResolve() {
	cfg, err := yulan.ParseConfig(map[string]any{
		"hidden_size": 64.0, "num_attention_heads": 4.0, "num_key_value_heads": 2.0, "num_hidden_layers": 1.0,
		"hidden_states_shrink": 0.5, "rms_type": "gemma", "ln_scale": 0.5,
	})
	if err != nil {
		panic(err)
	}
	value := func(v float64) func() (float64, error) { return func() (float64, error) { return v, nil } }
	scales, err := yulan.Resolve(cfg, []yulan.Param{
		{Name: "model.layers.0.self_attn.o_proj.weight", Numel: 64 * 64},
		{Name: "model.layers.0.self_attn.o_proj_alpha", Numel: 1, Value: value(3)},
		{Name: "model.norm.weight", Numel: 64},
	})
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"model.layers.0.self_attn.o_proj.weight", "model.norm.weight"} {
		m, _ := scales.Of(name)
		fmt.Println(name, m)
	}
	fmt.Println(scales.Notes)
	// Output:
	// model.layers.0.self_attn.o_proj.weight 1.5 = model.layers.0.self_attn.o_proj_alpha(3) × hidden_states_shrink(0.5)
	// model.norm.weight 0.5 × (w + 1) = ln_scale(0.5) × model.norm_alpha(absent: 1)
	// [scale factors norm_alpha taken as 1: the checkpoint does not have them]
}
