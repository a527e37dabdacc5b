package layout_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/pickle"
)

// Open any checkpoint ckptinspect reads, scan it once, and read one
// parameter's statistics.
func Example() {
	c, err := layout.Open("../testdata/sample/checkpoint-120", layout.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s checkpoint at step %d: %d parameters\n", layout.Title(c.Layout), *c.Step, len(res.Params))
	for _, pr := range res.Params {
		if pr.Param.Name == "model.layers.0.mlp.down_proj.weight" {
			fmt.Printf("%s %v: fp32 rms %.6f, update/weight %.3e\n", pr.Param.Name, pr.Param.Shape, pr.FP32.RMS, pr.Adam.UpdateToWeight)
		}
	}
	fmt.Printf("global weight norm %.4f, NaN %d\n", res.Summary.WeightNorm, res.Summary.NaN)
	// Output:
	// DeepSpeed universal checkpoint at step 120: 45 parameters
	// model.layers.0.mlp.down_proj.weight [64 160]: fp32 rms 0.009994, update/weight 4.527e-02
	// global weight norm 20.7464, NaN 0
}

// Detect lists every layout a folder holds.
func ExampleDetect() {
	found, _ := layout.Detect("../testdata/zero-dp3/checkpoint-50")
	fmt.Println(found)
	// Output:
	// [universal zero]
}

// A single torch.save or safetensors file opens as named tensors.
func ExampleOpenTensorFile() {
	f, err := layout.OpenTensorFile("../testdata/torch/views.pt", pickle.Policy{})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	ts := make([]*ckpt.Tensor, len(f.Tensors))
	for i, nt := range f.Tensors {
		ts[i] = nt.Tensor
	}
	st, errs, err := ckpt.TensorsStats(context.Background(), ts, ckpt.PassOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for i, nt := range f.Tensors[:3] {
		if errs[i] == nil {
			fmt.Printf("%s %s%v: l2 %.6g\n", nt.Name, nt.Tensor.DType, nt.Tensor.Shape, st[i].L2)
		}
	}
	// Output:
	// offset float32[17]: l2 4.44531
	// prefix float32[9 4]: l2 0.116171
	// transposed float32[3 5]: l2 9.52289
}
