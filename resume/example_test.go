package resume_test

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/resume"
)

// Resuming the YuLan-Mini-shaped checkpoint with the repository's own
// DeepSpeed configuration, which lacks load_universal.
func ExampleInspect() {
	p, err := resume.Inspect("../testdata/resume/universal/checkpoint-250", resume.Options{
		DSConfig: "../testdata/resume/configs/universal-load-universal-false.json",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("tag %s (found: %v), global batch %d vs the checkpoint's %d\n",
		p.Load.Tag, p.Load.TagFound, p.Batch.Global.Value, p.Batch.Checkpoint.Value)
	for _, f := range p.Findings {
		fmt.Printf("%s %s\nfix: %s\n", f.Severity, f.Check, f.Fix)
	}
	// Output:
	// tag global_step250 (found: false), global batch 1008 vs the checkpoint's 1008
	// error resume.load_universal
	// fix: set "checkpoint": {"load_universal": true} in the DeepSpeed configuration: the optimizer state of this checkpoint is the universal checkpoint global_step250_universal (latest_universal)
}
