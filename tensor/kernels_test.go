package tensor

import (
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

func TestKernels(t *testing.T) {
	for _, p := range kernel.Paths() {
		restore := kernel.Use(p)
		if got := Kernels(); got != p.String() {
			t.Errorf("Kernels() = %q with path %v active", got, p)
		}
		restore()
	}
}
