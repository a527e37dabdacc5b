package export_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/export"
	"github.com/ckptinspect/ckptinspect/layout"
)

// Export a YuLan-Mini checkpoint as a plain Llama model.
func ExampleLlama() {
	c, err := layout.Open("../testdata/wesar-gemma/checkpoint-30", layout.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	cfg, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		panic(err)
	}
	tmp, _ := os.MkdirTemp("", "export")
	defer os.RemoveAll(tmp)
	res, err := export.Llama(context.Background(), c, filepath.Join(tmp, "llama"), export.Options{Config: cfg})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Files, res.DType, len(res.Tensors), res.Bytes)
	for _, t := range res.Tensors[len(res.Tensors)-2:] {
		fmt.Println(t.Name, t.Multiplier)
	}
	// Output:
	// [config.json model.safetensors] bfloat16 29 59072
	// model.norm.weight 2.3925525665283205 × (w + 1) = ln_scale(0.8) × model.norm_alpha(2.9906907081604004)
	// lm_head.weight 0.15414093062281609 = lm_head_alpha(0.4110424816608429) × dim_model_base_logits/hidden_size(0.375)
}
