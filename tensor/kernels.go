package tensor

import "github.com/ckptinspect/ckptinspect/tensor/internal/kernel"

// Kernels names the kernel implementation this process runs: "generic"
// (pure Go), "avx2" or "avx512", chosen at start-up by CPU feature and
// capped by CKPTINSPECT_KERNELS. Counts, Min and Max are the same on every
// path; float64 sums may differ in their last bits between paths, so
// results meant to be combined bit for bit (a scan split across machines)
// must come from one path.
func Kernels() string { return kernel.Active().String() }
