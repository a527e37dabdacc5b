package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// PairSums are the sums DiffPairs accumulates over pairs of elements (a, b)
// of two tensors, all in float64. Sums over disjoint ranges merge.
type PairSums struct {
	Numel   int64   // pairs visited
	Pairs   int64   // pairs where a and b are both finite
	Changed int64   // finite pairs where b != a (−0 equals +0)
	SumDD   float64 // Σ (b−a)² over the finite pairs
	SumAA   float64 // Σ a² over the finite pairs
	SumBB   float64 // Σ b² over the finite pairs
	SumAB   float64 // Σ a·b over the finite pairs
	MaxAbs  float64 // max |b−a| over the finite pairs, 0 when there is none
}

// Merge adds the counts and sums of o to s.
func (s *PairSums) Merge(o PairSums) {
	s.Numel += o.Numel
	s.Pairs += o.Pairs
	s.Changed += o.Changed
	s.SumDD += o.SumDD
	s.SumAA += o.SumAA
	s.SumBB += o.SumBB
	s.SumAB += o.SumAB
	s.MaxAbs = max(s.MaxAbs, o.MaxAbs)
}

// pairBlock is the number of element pairs decoded at a time by DiffPairs
// when it cannot run a pair kernel on the bytes.
const pairBlock = 512

// DiffPairs returns the sums over n pairs of elements: a from flat index aLo
// of view a, b from flat index bLo of view b, each converted to float64 as
// by Float64At. It is this loop:
//
//	for i := int64(0); i < n; i++ {
//		x, y := a.Float64At(aLo+i), b.Float64At(bLo+i)
//		s.Numel++
//		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
//			continue
//		}
//		d := y - x
//		s.Pairs++
//		if d != 0 {
//			s.Changed++
//		}
//		s.SumDD += d * d
//		s.SumAA += x * x
//		s.SumBB += y * y
//		s.SumAB += x * y
//		s.MaxAbs = max(s.MaxAbs, math.Abs(d))
//	}
//
// with the sums taken in blocks and the block sums added up, so rounding
// errors grow more slowly than with one running sum. When both ranges are
// contiguous and of one dtype, float32 or bfloat16 (the usual case), the
// SIMD pair kernels read the bytes in place (kernel.PairsF32,
// kernel.PairsBF16); otherwise the elements are decoded to float64 in blocks
// of 512. The counts and MaxAbs are exact either way; the sums may differ
// in their last bits between the two ways and between kernel paths. A pair
// with a NaN or infinite element only counts in Numel. For float64 elements
// beyond about 1e154 in magnitude a square overflows to +Inf; every narrower
// dtype is safe. The ranges must lie within the views (else it panics).
func DiffPairs(a, b *View, aLo, bLo, n int64) PairSums {
	if n < 0 || aLo < 0 || bLo < 0 || aLo+n > a.Numel() || bLo+n > b.Numel() {
		panic(fmt.Sprintf("tensor: DiffPairs ranges [%d:%d] and [%d:%d] out of range [0:%d] and [0:%d]", aLo, aLo+n, bLo, bLo+n, a.Numel(), b.Numel()))
	}
	var k kernel.Pairs
	ab, aOK := a.contiguousRange(aLo, n)
	bb, bOK := b.contiguousRange(bLo, n)
	switch {
	case aOK && bOK && a.DType == Float32 && b.DType == Float32:
		kernel.PairsF32(ab, bb, int(n), &k)
	case aOK && bOK && a.DType == BFloat16 && b.DType == BFloat16:
		kernel.PairsBF16(ab, bb, int(n), &k)
	default:
		var xa, xb [pairBlock]float64
		for done := int64(0); done < n; {
			c := min(n-done, pairBlock)
			a.decodeInto(aLo+done, xa[:c])
			b.decodeInto(bLo+done, xb[:c])
			kernel.PairsF64s(xa[:c], xb[:c], &k)
			done += c
		}
	}
	return PairSums{Numel: n, Pairs: k.Pairs, Changed: k.Changed, SumDD: k.SumDD, SumAA: k.SumAA, SumBB: k.SumBB, SumAB: k.SumAB, MaxAbs: k.MaxAbs}
}

// decodeInto does what Float64s does, with the loops of the float dtypes
// checkpoints hold written out per dtype.
func (v *View) decodeInto(lo int64, dst []float64) {
	data := v.Data
	switch v.DType {
	case Float32:
		v.Runs(lo, lo+int64(len(dst)), func(off, n, stride int64) bool {
			for i := range n {
				dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[off+i*stride:])))
			}
			dst = dst[n:]
			return true
		})
	case BFloat16:
		v.Runs(lo, lo+int64(len(dst)), func(off, n, stride int64) bool {
			for i := range n {
				dst[i] = kernel.FromBF16(binary.LittleEndian.Uint16(data[off+i*stride:]))
			}
			dst = dst[n:]
			return true
		})
	default:
		v.Float64s(lo, dst)
	}
}

// PairsOf returns the sums DiffPairs gives, over the pairs (a[i], b[i]) of
// two float64 slices of equal length: for values computed from elements
// (scaled ones, say) rather than read from views.
func PairsOf(a, b []float64) PairSums {
	if len(b) != len(a) {
		panic("tensor: PairsOf of slices of different lengths")
	}
	var k kernel.Pairs
	kernel.PairsF64s(a, b, &k)
	return PairSums{Numel: int64(len(a)), Pairs: k.Pairs, Changed: k.Changed, SumDD: k.SumDD, SumAA: k.SumAA, SumBB: k.SumBB, SumAB: k.SumAB, MaxAbs: k.MaxAbs}
}
