package export

import (
	"context"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// TestReadBytes checks that the plan's ReadBytes is what Llama reports to
// Progress.
func TestReadBytes(t *testing.T) {
	c, err := layout.Open("../testdata/wesar-llama/checkpoint-30", layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Config: cfg}
	plan, err := Plan(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	var read int64
	opt.Progress = func(n int64) { read += n }
	if _, err := Llama(context.Background(), c, t.TempDir(), opt); err != nil {
		t.Fatal(err)
	}
	if got := plan.ReadBytes(); got != read || got == 0 {
		t.Errorf("ReadBytes %d, Llama read %d", got, read)
	}
}
