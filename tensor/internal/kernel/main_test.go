package kernel

import (
	"fmt"
	"os"
	"testing"
)

// TestMain prints which paths the tests of this binary run (every test
// runs each kernel on each of them) and which the CPU and build support,
// so that a CI log shows whether the assembly was tested.
func TestMain(m *testing.M) {
	capped := ""
	if env := os.Getenv("CKPTINSPECT_KERNELS"); env != "" {
		capped = ", capped by CKPTINSPECT_KERNELS=" + env
	}
	fmt.Printf("kernel paths tested: %v (CPU and build support %v%s)\n", Paths(), detected, capped)
	os.Exit(m.Run())
}
