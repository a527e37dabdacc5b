package tensor

import (
	"math"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// adamBlock is the number of elements decoded at a time by the general
// paths of AdamSquares and CompareRounded.
const adamBlock = 512

// AdamSquares returns Σ u² and the number of finite u over n elements, where
// u is the AdamW update direction of one element,
//
//	u = m·k1 / (sqrt(v)·k2 + eps),  k1 = 1/c1,  k2 = 1/sqrt(c2),
//
// that is (m/c1) / (sqrt(v/c2) + eps), with m the elements of exp_avg from
// flat index mLo and v those of exp_avg_sq from flat index vLo; c1 = 1−β1^t
// and c2 = 1−β2^t are the bias corrections. Elements where u is NaN or
// infinite (a non-finite moment, or a negative v) are left out of both
// results. All arithmetic is float64, rounded after every operation in the
// order above.
//
// The two tensors are read together in one pass: when both are float32 and
// contiguous over the range, by a fused kernel (assembly where the CPU has
// it); otherwise through Float64s in blocks. It panics unless both ranges
// lie within their views.
func AdamSquares(m, v *View, mLo, vLo, n int64, c1, c2, eps float64) (sumSq float64, count int64) {
	if n < 0 || mLo < 0 || vLo < 0 || mLo+n > m.Numel() || vLo+n > v.Numel() {
		panic("tensor: AdamSquares range out of bounds")
	}
	k1, k2 := 1/c1, 1/math.Sqrt(c2)
	if m.DType == Float32 && v.DType == Float32 {
		mb, okm := m.contiguousRange(mLo, n)
		vb, okv := v.contiguousRange(vLo, n)
		if okm && okv {
			return kernel.AdamF32(mb, vb, int(n), k1, k2, eps)
		}
	}
	var bm, bv [adamBlock]float64
	var s [4]float64
	for done := int64(0); done < n; {
		k := min(n-done, adamBlock)
		m.Float64s(mLo+done, bm[:k])
		v.Float64s(vLo+done, bv[:k])
		for i := int64(0); i < k; i++ {
			u := kernel.AdamU(bm[i], bv[i], k1, k2, eps)
			if math.IsNaN(u) || math.IsInf(u, 0) {
				continue
			}
			count++
			s[i&3] += u * u
		}
		done += k
	}
	return (s[0] + s[1]) + (s[2] + s[3]), count
}

// contiguousRange returns the bytes of the n elements at flat indices
// [lo, lo+n) if the view is contiguous (the caller checks the range).
func (v *View) contiguousRange(lo, n int64) ([]byte, bool) {
	if !v.IsContiguous() {
		return nil, false
	}
	size := int64(v.DType.Size())
	a := (v.Offset + lo) * size
	b := a + n*size
	return v.Data[a:b:b], true
}

// MomentsAdam adds n elements of exp_avg m (from flat index mLo) to mm and
// the n elements of exp_avg_sq v (from vLo) to mv, as Accumulate does, and
// returns AdamSquares over the same elements: the statistics of both
// moments and the AdamW update in one pass over the pairs. When both are
// float32 and contiguous over the range a fused kernel reads each pair once
// (on AVX-512, one pass for everything); otherwise it is Accumulate twice
// and AdamSquares. It panics unless both ranges lie within their views.
func MomentsAdam(m, v *View, mLo, vLo, n int64, mm, mv *Moments, c1, c2, eps float64) (sumSq float64, count int64) {
	return MomentsAdamSum(m, v, mLo, vLo, n, mm, mv, c1, c2, eps, nil, nil)
}

// MomentsAdamSum is MomentsAdam continuing the checksums cm of m's data and
// cv of v's with the bytes of the two ranges (a nil checksum is left out).
// The fused kernel folds them into their CRC-32s in the loop that reads
// them (on AVX-512 with VPCLMULQDQ, at next to no cost); a range of other
// dtypes is hashed after it is read, and one of a view that is not
// contiguous over it leaves its checksum lost.
func MomentsAdamSum(m, v *View, mLo, vLo, n int64, mm, mv *Moments, c1, c2, eps float64, cm, cv *Checksum) (sumSq float64, count int64) {
	if n < 0 || mLo < 0 || vLo < 0 || mLo+n > m.Numel() || vLo+n > v.Numel() {
		panic("tensor: MomentsAdam range out of bounds")
	}
	mb, okm := m.contiguousRange(mLo, n)
	vb, okv := v.contiguousRange(vLo, n)
	if m.DType == Float32 && v.DType == Float32 && okm && okv {
		mOff, vOff := 4*(m.Offset+mLo), 4*(v.Offset+vLo)
		sums, on := startPair(cm, cv, mOff, vOff)
		var crcs *[2]uint32
		if on {
			crcs = &sums
		}
		sumSq, count = kernel.MomentsAdamF32(mb, vb, int(n), (*kernel.Moments)(mm), (*kernel.Moments)(mv), 1/c1, 1/math.Sqrt(c2), eps, crcs)
		endPair(&sums, cm, cv, mOff+int64(len(mb)), vOff+int64(len(vb)))
		return sumSq, count
	}
	m.Accumulate(mLo, mLo+n, mm)
	v.Accumulate(vLo, vLo+n, mv)
	extendAll(cm, m, mb, okm, mLo)
	extendAll(cv, v, vb, okv, vLo)
	return AdamSquares(m, v, mLo, vLo, n, c1, c2, eps)
}
