package tensor

import "math"

// adamBlock is the number of elements decoded at a time by AdamSquares.
const adamBlock = 512

// AdamSquares returns Σ u² and the number of finite u over n elements, where
// u is the AdamW update direction of one element,
//
//	u = (m/c1) / (sqrt(v/c2) + eps)
//
// with m the elements of exp_avg from flat index mLo and v those of
// exp_avg_sq from flat index vLo; c1 = 1−β1^t and c2 = 1−β2^t are the bias
// corrections. Elements where u is NaN or infinite (a non-finite moment,
// or a negative v) are left out of both results. All arithmetic is float64.
func AdamSquares(m, v *View, mLo, vLo, n int64, c1, c2, eps float64) (sumSq float64, count int64) {
	var bm, bv [adamBlock]float64
	var s0, s1, s2, s3 float64
	for done := int64(0); done < n; {
		k := min(n-done, adamBlock)
		m.Float64s(mLo+done, bm[:k])
		v.Float64s(vLo+done, bv[:k])
		for i := int64(0); i < k; i++ {
			u := (bm[i] / c1) / (math.Sqrt(bv[i]/c2) + eps)
			if math.IsNaN(u) || math.IsInf(u, 0) {
				continue
			}
			count++
			switch i & 3 {
			case 0:
				s0 += u * u
			case 1:
				s1 += u * u
			case 2:
				s2 += u * u
			default:
				s3 += u * u
			}
		}
		done += k
	}
	return (s0 + s1) + (s2 + s3), count
}
