package series_test

import (
	"context"
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/series"
)

// Measure a run (a Trainer output_dir of checkpoint-N folders) and print,
// for every step, how much one weight changed since the previous
// checkpoint.
func ExampleOpen() {
	s, err := series.Open([]string{"../testdata/series"}, series.Options{Filter: `^model\.layers\.0\.mlp\.down_proj\.weight$`})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Run(context.Background(), func(p series.Part) error {
		for _, r := range p.Rows {
			if r.State == ckpt.FP32 {
				fmt.Printf("step %d: %s layer %d rms %.4f, relative change %.3f\n", r.Step, r.Kind, r.Layer, r.RMS, r.RelChange)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// step 10: down_proj layer 0 rms 0.0080, relative change NaN
	// step 20: down_proj layer 0 rms 0.0080, relative change 0.083
	// step 30: down_proj layer 0 rms 0.0082, relative change 0.154
	// step 45: down_proj layer 0 rms 0.0088, relative change 0.263
	// step 60: down_proj layer 0 rms 0.0094, relative change 0.261
}
