package kernel

import (
	"encoding/binary"
	"math"

	"github.com/ckptinspect/ckptinspect/internal/crc"
)

// This file holds the pure-Go implementations of the kernels that read two
// tensors at once: the AdamW update over (exp_avg, exp_avg_sq), and the
// comparison of a float32 master weight with its rounded module copy.

// AdamU returns the AdamW update direction of one element with first moment
// m and second moment v:
//
//	u = m·k1 / (sqrt(v)·k2 + eps)
//
// with k1 = 1/(1−β1ᵗ) and k2 = 1/sqrt(1−β2ᵗ) the bias corrections, which is
// m̂ / (sqrt(v̂) + eps). Every operation is rounded to float64 in this order
// (no fused multiply-add), as the assembly kernels do, so that all paths
// compute the same u.
func AdamU(m, v, k1, k2, eps float64) float64 {
	return m * k1 / (float64(math.Sqrt(v)*k2) + eps)
}

// AdamF32Generic is the pure-Go implementation of AdamF32:
//
//	for i := 0; i < n; i++ {
//		mi := float64(math.Float32frombits(binary.LittleEndian.Uint32(m[4*i:])))
//		vi := float64(math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:])))
//		if u := AdamU(mi, vi, k1, k2, eps); !math.IsNaN(u) && !math.IsInf(u, 0) {
//			sumSq += u * u
//			count++
//		}
//	}
func AdamF32Generic(m, v []byte, n int, k1, k2, eps float64) (sumSq float64, count int64) {
	if n <= 0 {
		return 0, 0
	}
	m, v = m[:4*n], v[:4*n]
	var s [4]float64
	var c [4]int64
	for len(m) >= 16 && len(v) >= 16 {
		for j := 0; j < 4; j++ {
			mi := float64(math.Float32frombits(binary.LittleEndian.Uint32(m[4*j:])))
			vi := float64(math.Float32frombits(binary.LittleEndian.Uint32(v[4*j:])))
			u := AdamU(mi, vi, k1, k2, eps)
			if u-u == 0 { // finite
				s[j] += u * u
				c[j]++
			}
		}
		m, v = m[16:], v[16:]
	}
	for ; len(m) >= 4 && len(v) >= 4; m, v = m[4:], v[4:] {
		mi := float64(math.Float32frombits(binary.LittleEndian.Uint32(m)))
		vi := float64(math.Float32frombits(binary.LittleEndian.Uint32(v)))
		if u := AdamU(mi, vi, k1, k2, eps); u-u == 0 {
			s[0] += u * u
			c[0]++
		}
	}
	return (s[0] + s[1]) + (s[2] + s[3]), c[0] + c[1] + c[2] + c[3]
}

// MomentsAdamF32Generic is the pure-Go implementation of MomentsAdamF32,
// in blocks of 16Ki pairs so that each block is read from cache by the
// second and third passes:
//
//	F32Generic(m, n, 4, mm.Shift, mm)
//	F32Generic(v, n, 4, mv.Shift, mv)
//	sumSq, count = AdamF32Generic(m, v, n, k1, k2, eps)
func MomentsAdamF32Generic(m, v []byte, n int, mm, mv *Moments, k1, k2, eps float64) (sumSq float64, count int64) {
	const blockPairs = 1 << 14
	for done := 0; done < n; done += blockPairs {
		c := min(n-done, blockPairs)
		F32Generic(m[4*done:], c, 4, mm.Shift, mm)
		F32Generic(v[4*done:], c, 4, mv.Shift, mv)
		s, k := AdamF32Generic(m[4*done:], v[4*done:], c, k1, k2, eps)
		sumSq += s
		count += k
	}
	return sumSq, count
}

// Rounded is the result of comparing float32 master values with module
// values of a narrower float type.
type Rounded struct {
	Mismatch int64   // elements whose module value is not the rounded master value
	MaxDiff  float64 // largest |module − master| over the mismatches (NaN once one of them is NaN; 0 if none)
	First    int64   // index of the first mismatch, or -1
}

// add records a mismatch at index i with difference d.
func (r *Rounded) add(i int, d float64) {
	if r.First < 0 {
		r.First = int64(i)
	}
	r.Mismatch++
	if d = math.Abs(d); d > r.MaxDiff || d != d { // once NaN, MaxDiff stays NaN
		r.MaxDiff = d
	}
}

// merge adds o, whose indices start at base, to r (o covers later
// elements than r).
func (r *Rounded) merge(o Rounded, base int) {
	if r.First < 0 && o.First >= 0 {
		r.First = o.First + int64(base)
	}
	r.Mismatch += o.Mismatch
	r.MaxDiff = max(r.MaxDiff, o.MaxDiff)
}

// RoundBF16 returns the bfloat16 nearest to the float32 with bits u, ties to
// even; every NaN gives 0x7fc0, and values beyond the largest bfloat16 give
// ±Inf.
func RoundBF16(u uint32) uint16 {
	if u&0x7fffffff > 0x7f800000 {
		return 0x7fc0
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// RoundF16 returns the IEEE 754 binary16 nearest to the float32 with bits
// u, ties to even, as the F16C instruction VCVTPS2PH does: subnormal results
// where they belong, ±Inf beyond 65504 (from 65520 on), and a quiet NaN
// keeping the top payload bits for a NaN.
func RoundF16(u uint32) uint16 {
	sign := uint16(u>>16) & 0x8000
	a := u & 0x7fffffff
	switch {
	case a > 0x7f800000: // NaN
		return sign | 0x7e00 | uint16(a>>13)&0x3ff
	case a >= 0x477ff000: // 65520 and beyond, Inf included
		return sign | 0x7c00
	case a >= 0x38800000: // normal: rebias the exponent, round the mantissa
		a -= 112 << 23
		a += 0xfff + (a>>13)&1
		return sign | uint16(a>>13)
	}
	// Subnormal or zero: the multiple of 2⁻²⁴ nearest to the value, exact
	// in float64; 1024 is the smallest normal, whose bits are 0x0400.
	return sign | uint16(math.RoundToEven(float64(math.Float32frombits(a))*0x1p24))
}

// MatchBF16 reports whether the bfloat16 g equals the float32 with bits u
// rounded to bfloat16, as floats (+0 equals -0), or both are NaN.
func MatchBF16(u uint32, g uint16) bool {
	w := RoundBF16(u)
	return g == w || (g|w)&0x7fff == 0 || (g&0x7fff > 0x7f80 && w&0x7fff > 0x7f80)
}

// MatchF16 reports whether the float16 g equals the float32 with bits u
// rounded to float16, as floats (+0 equals -0), or both are NaN.
func MatchF16(u uint32, g uint16) bool {
	w := RoundF16(u)
	return g == w || (g|w)&0x7fff == 0 || (g&0x7fff > 0x7c00 && w&0x7fff > 0x7c00)
}

// RoundedBF16Generic is the pure-Go implementation of RoundedBF16:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(master[4*i:])
//		g := binary.LittleEndian.Uint16(module[2*i:])
//		if !MatchBF16(u, g) {
//			r.add(i, FromBF16(g)-float64(math.Float32frombits(u)))
//		}
//	}
func RoundedBF16Generic(master, module []byte, n int) Rounded {
	r := Rounded{First: -1}
	if n <= 0 {
		return r
	}
	master, module = master[:4*n], module[:2*n]
	for i := 0; i < n; i++ {
		u := binary.LittleEndian.Uint32(master[4*i:])
		g := binary.LittleEndian.Uint16(module[2*i:])
		if !MatchBF16(u, g) {
			r.add(i, FromBF16(g)-float64(math.Float32frombits(u)))
		}
	}
	return r
}

// RoundedF16Generic is the pure-Go implementation of RoundedF16:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(master[4*i:])
//		g := binary.LittleEndian.Uint16(module[2*i:])
//		if !MatchF16(u, g) {
//			r.add(i, FromF16(g)-float64(math.Float32frombits(u)))
//		}
//	}
func RoundedF16Generic(master, module []byte, n int) Rounded {
	r := Rounded{First: -1}
	if n <= 0 {
		return r
	}
	master, module = master[:4*n], module[:2*n]
	for i := 0; i < n; i++ {
		u := binary.LittleEndian.Uint32(master[4*i:])
		g := binary.LittleEndian.Uint16(module[2*i:])
		if !MatchF16(u, g) {
			r.add(i, FromF16(g)-float64(math.Float32frombits(u)))
		}
	}
	return r
}

// updateCRCs continues the CRC-32s crcs[0] with m and crcs[1] with v, when
// crcs is not nil.
func updateCRCs(crcs *[2]uint32, m, v []byte) {
	if crcs != nil {
		crcs[0] = crc.Update(crcs[0], m)
		crcs[1] = crc.Update(crcs[1], v)
	}
}
