package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkKernels measures each contiguous kernel on normally distributed
// values against the naive reference loop (Moments.Add per element).
func BenchmarkKernels(b *testing.B) {
	const n = 1 << 16
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range kernels() {
		switch k.name {
		case "F32", "BF16", "F16", "F64", "Table8/e4m3fn", "Decode/int32":
		default:
			continue
		}
		buf := make([]byte, n*k.size)
		fill(r, k, buf, n, k.size, 0, 0)
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				k.fn(buf, n, k.size, 0.1, &m)
			}
		})
		b.Run(k.name+"/naive", func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				for i := 0; i < n; i++ {
					m.Add(k.dec(buf[i*k.size:]), 0.1)
				}
			}
		})
	}
}
