package universal_test

import (
	"context"
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/universal"
)

// Open a universal checkpoint from its Trainer folder and measure it.
func ExampleOpen() {
	c, err := universal.Open("../testdata/sample/checkpoint-120", universal.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	res, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pr := range res.Params {
		if pr.Param.Name == "model.norm.weight" {
			fmt.Printf("%s step %d: weight rms %.4f, update rms %.4f\n", pr.Param.Name, *pr.Param.Step, pr.FP32.RMS, pr.Adam.UpdateRMS)
		}
	}
	fmt.Printf("%d parameters, weight norm %.3f\n", res.Summary.Params, res.Summary.WeightNorm)
	// Output:
	// model.norm.weight step 120: weight rms 1.0053, update rms 0.1282
	// 45 parameters, weight norm 20.746
}
