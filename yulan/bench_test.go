package yulan

import (
	"math/rand/v2"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// benchView is a float32 view of n normal values.
func benchView(b *testing.B, n int) *tensor.View {
	r := rand.New(rand.NewPCG(1, 1))
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(0.02 * r.NormFloat64())
	}
	return f32View(b, xs)
}

// BenchmarkAccumulateEffective measures the accumulated path of effective
// statistics (a scalar loop), next to BenchmarkAccumulateRaw, the kernel
// pass over the same values that the derived path costs.
func BenchmarkAccumulateEffective(b *testing.B) {
	v := benchView(b, 1<<20)
	m := Multiplier{Scale: 1.7, Offset: 1, Known: true}
	b.SetBytes(4 << 20)
	for b.Loop() {
		mom := tensor.NewMoments(1.7)
		AccumulateEffective(v, 0, v.Numel(), m, &mom)
	}
}

// BenchmarkAccumulateRaw is the raw statistics' kernel pass.
func BenchmarkAccumulateRaw(b *testing.B) {
	v := benchView(b, 1<<20)
	b.SetBytes(4 << 20)
	for b.Loop() {
		mom := tensor.NewMoments(0)
		v.Accumulate(0, v.Numel(), &mom)
	}
}

// BenchmarkEffectiveDiffPairs measures diff --effective's pass over a pair
// of float32 tensors, next to BenchmarkDiffPairs, the raw comparison's.
func BenchmarkEffectiveDiffPairs(b *testing.B) {
	x, y := benchView(b, 1<<20), benchView(b, 1<<20)
	ma, mb := Multiplier{Scale: 1.7, Known: true}, Multiplier{Scale: 1.71, Known: true}
	b.SetBytes(8 << 20)
	for b.Loop() {
		EffectiveDiffPairs(x, y, 0, 0, x.Numel(), ma, mb)
	}
}

// BenchmarkDiffPairs is the raw comparison's kernel pass.
func BenchmarkDiffPairs(b *testing.B) {
	x, y := benchView(b, 1<<20), benchView(b, 1<<20)
	b.SetBytes(8 << 20)
	for b.Loop() {
		tensor.DiffPairs(x, y, 0, 0, x.Numel())
	}
}
