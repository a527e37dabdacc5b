package export

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// BenchmarkLlama exports the checkpoint named by $CKPTINSPECT_EXPORT_BENCH
// (skipped when unset), reporting source bytes per second.
func BenchmarkLlama(b *testing.B) {
	path := os.Getenv("CKPTINSPECT_EXPORT_BENCH")
	if path == "" {
		b.Skip("set CKPTINSPECT_EXPORT_BENCH to a checkpoint")
	}
	c, err := layout.Open(path, layout.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cfg, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		b.Fatal(err)
	}
	var src int64
	for _, p := range c.Params {
		if p.FP32 != nil {
			src += p.FP32.NBytes()
		}
	}
	b.SetBytes(src)
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "out")
		if _, err := Llama(context.Background(), c, dir, Options{Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
}
