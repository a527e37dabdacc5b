package tensor

import (
	"fmt"
	"math"
	"testing"
)

// BenchmarkStats measures View.Stats (one Shift, one Accumulate pass) on
// contiguous tensors of normally distributed values, reported as bytes of
// tensor per second.
func BenchmarkStats(b *testing.B) {
	r := newRand(31)
	for _, dt := range []DType{Float32, BFloat16, Float16, Float64} {
		for _, size := range []int{4 << 10, 256 << 10, 4 << 20, 64 << 20} {
			b.Run(fmt.Sprintf("%v/%s", dt, byteSize(size)), func(b *testing.B) {
				n := size / dt.Size()
				data := randomStorage(r, dt, n, 0, 1, 0)
				v, err := NewView(dt, data, 0, []int64{int64(n)}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for b.Loop() {
					if s := v.Stats(); s.Finite != int64(n) {
						b.Fatal("wrong count")
					}
				}
			})
		}
	}
}

// BenchmarkStatsStrided measures a transposed float32 view, where runs are
// strided columns.
func BenchmarkStatsStrided(b *testing.B) {
	const rows, cols = 1024, 1024
	data := randomStorage(newRand(32), Float32, rows*cols, 0, 1, 0)
	v, err := NewView(Float32, data, 0, []int64{cols, rows}, []int64{1, cols})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 * rows * cols)
	for b.Loop() {
		v.Stats()
	}
}

// BenchmarkStatsNaive is the baseline: Float64At and Moments.Add per element.
func BenchmarkStatsNaive(b *testing.B) {
	const n = 1 << 20
	data := randomStorage(newRand(33), Float32, n, 0, 1, 0)
	v, err := NewView(Float32, data, 0, []int64{n}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 * n)
	for b.Loop() {
		m := NewMoments(0)
		for i := int64(0); i < n; i++ {
			m.Add(v.Float64At(i))
		}
		if math.IsNaN(m.S1) {
			b.Fatal("NaN")
		}
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
