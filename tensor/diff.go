package tensor

import (
	"encoding/binary"
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

// pairBlock is the number of element pairs decoded at a time by DiffPairs.
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
// with the sums taken per block of 512 pairs and the block sums added up, so
// rounding errors grow more slowly than with one running sum (when both
// ranges are contiguous float32, each block is summed in two interleaved
// partial sums: the same figures up to the order of the additions). A pair
// with a NaN or infinite element only counts in Numel. For float64 elements
// beyond about 1e154 in magnitude a square overflows to +Inf; every
// narrower dtype is safe. The ranges must lie within the views (else it
// panics).
func DiffPairs(a, b *View, aLo, bLo, n int64) PairSums {
	if a.DType == Float32 && b.DType == Float32 && n > 0 {
		if aLo < 0 || bLo < 0 || aLo+n > a.Numel() || bLo+n > b.Numel() {
			panic("tensor: DiffPairs range outside its view")
		}
		if x, ok := a.contiguousRange(aLo, n); ok {
			if y, ok := b.contiguousRange(bLo, n); ok {
				return diffFloat32(x, y)
			}
		}
	}
	return diffPairsRef(a, b, aLo, bLo, n)
}

// diffPairsRef is DiffPairs' loop for any dtypes and strides.
func diffPairsRef(a, b *View, aLo, bLo, n int64) PairSums {
	var s PairSums
	var ba, bb [pairBlock]float64
	for done := int64(0); done < n; {
		k := min(n-done, pairBlock)
		a.decodeInto(aLo+done, ba[:k])
		b.decodeInto(bLo+done, bb[:k])
		var dd, aa, yy, ab, mx float64
		var pairs, changed int64
		for i := range k {
			x, y := ba[i], bb[i]
			// x-x is 0 for finite x and NaN for NaN or ±Inf.
			if x-x != 0 || y-y != 0 {
				continue
			}
			d := y - x
			pairs++
			if d != 0 {
				changed++
			}
			dd += d * d
			aa += x * x
			yy += y * y
			ab += x * y
			if ad := math.Abs(d); ad > mx {
				mx = ad
			}
		}
		s.Numel += k
		s.Pairs += pairs
		s.Changed += changed
		s.SumDD += dd
		s.SumAA += aa
		s.SumBB += yy
		s.SumAB += ab
		s.MaxAbs = max(s.MaxAbs, mx)
		done += k
	}
	return s
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
