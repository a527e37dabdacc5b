package yulan

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// ErrNotDerivable is returned by EffectiveStats when the effective
// statistics cannot be derived exactly from the raw ones; the caller then
// accumulates the effective values themselves (AccumulateEffective) in the
// same pass over the data.
var ErrNotDerivable = errors.New("effective statistics not derivable from the raw statistics")

// EffectiveStats returns the statistics of the effective weight
// y = m.Scale·(x + m.Offset) (computed in float64, x + Offset rounded
// first) from the statistics raw of x, without reading x again. With
// a = m.Scale and b = m.Offset:
//
//	Mean   = a·(Mean + b)
//	Std    = |a|·Std
//	RMS    = |a|·RMS                          (b = 0)
//	       = |a|·sqrt((Mean + b)² + Std²)     (b ≠ 0: Σ(x+b)² = N·((Mean+b)² + Std²), a sum of squares)
//	L2     = |a|·L2  (b = 0);  RMS·sqrt(N)  (b ≠ 0)
//	Min, Max = a·(Min + b), a·(Max + b), swapped when a < 0
//	AbsMax = max(|Min|, |Max|)
//	Zeros  = Zeros (b = 0); 0 when -b is outside [Min, Max]; Finite when a = 0
//	PosInf, NegInf swapped when a < 0; when a = 0 the infinities become NaN
//
// Min and Max are exact, not just close: x ↦ fl(a·fl(x + b)) is monotone
// (non-decreasing for a > 0, non-increasing for a < 0), so the extremes of
// the effective values are the images of the raw extremes. The sums differ
// from a direct float64 accumulation of y only by rounding (a few units in
// the last place of the raw figures; the goldens check 1e-9). The counts
// are exact when no a·x overflows or underflows, which holds for elements of
// at most 32 bits and 1e-200 <= |a|, |a|·(AbsMax + |b|) <= 1e150.
//
// It returns ErrNotDerivable, and the caller must accumulate the effective
// values (AccumulateEffective), when that cannot be guaranteed: elements of
// float64 or complex dtypes, a non-finite Scale or Offset, a Scale outside
// those bounds, an unknown multiplier, or an Offset with -Offset inside
// [Min, Max] (the number of elements equal to -Offset, the effective zeros,
// is not in the raw statistics).
func EffectiveStats(raw tensor.Stats, m Multiplier) (tensor.Stats, error) {
	a, b := m.Scale, m.Offset
	if !m.Known || raw.DType.Size() > 4 || raw.DType.IsComplex() || !raw.DType.Valid() ||
		math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
		return tensor.Stats{}, ErrNotDerivable
	}
	out := raw
	out.Shape = append([]int64{}, raw.Shape...)
	if a < 0 {
		out.PosInf, out.NegInf = raw.NegInf, raw.PosInf
	}
	if a == 0 {
		out.NaN += raw.Inf
		out.Inf, out.PosInf, out.NegInf = 0, 0, 0
	}
	if !raw.Valid() {
		return out, nil
	}
	if a != 0 && (math.Abs(a) < 1e-200 || math.Abs(a)*(raw.AbsMax+math.Abs(b)) > 1e150) {
		return tensor.Stats{}, ErrNotDerivable
	}
	switch {
	case a == 0:
		out.Zeros = raw.Finite
	case b != 0 && raw.Min <= -b && -b <= raw.Max:
		return tensor.Stats{}, ErrNotDerivable
	case b != 0:
		out.Zeros = 0
	}
	abs := math.Abs(a)
	mean := raw.Mean + b
	out.Mean = a * mean
	out.Std = abs * raw.Std
	if b == 0 {
		out.RMS = abs * raw.RMS
		out.L2 = abs * raw.L2
	} else {
		out.RMS = abs * math.Sqrt(mean*mean+raw.Std*raw.Std)
		out.L2 = out.RMS * math.Sqrt(float64(raw.Finite))
	}
	lo, hi := a*(raw.Min+b), a*(raw.Max+b)
	if a < 0 || (a == 0 && math.Signbit(a)) {
		lo, hi = hi, lo
	}
	out.Min, out.Max = lo, hi
	out.AbsMax = max(math.Abs(lo), math.Abs(hi))
	return out, nil
}

// elementBound bounds the magnitude of every finite element of a dtype of
// at most 4 bytes: 2¹²⁸, above float32's largest value (and bfloat16's,
// float16's, the float8 types' and the integers').
const elementBound = 0x1p128

// AlwaysDerivable reports whether EffectiveStats derives the effective
// statistics of any tensor of dtype dt under m, whatever its values: m is
// known, its Scale and Offset are finite, Offset is 0, dt has at most 32
// bits and is not complex, and Scale is 0 or 1e-200 <= |Scale| with
// |Scale|·2¹²⁸ <= 1e150. A pass that must produce effective statistics
// accumulates the effective values (AccumulateEffective) of the tensors
// for which it reports false, and can still prefer the derived figures
// when EffectiveStats then succeeds (an Offset whose negation lies outside
// the tensor's range, say).
func AlwaysDerivable(dt tensor.DType, m Multiplier) bool {
	a, b := m.Scale, m.Offset
	if !m.Known || !dt.Valid() || dt.Size() > 4 || dt.IsComplex() || b != 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return false
	}
	return a == 0 || (math.Abs(a) >= 1e-200 && math.Abs(a)*elementBound <= 1e150)
}

// EffectiveShift returns the shift to accumulate effective values with,
// given the shift of the raw values (tensor.View.Shift): its image under
// the multiplier, so that the effective accumulation is as free of
// cancellation as the raw one. It is 0 when that image is not finite.
func EffectiveShift(rawShift float64, m Multiplier) float64 {
	k := m.Apply(rawShift)
	if math.IsNaN(k) || math.IsInf(k, 0) {
		return 0
	}
	return k
}

// effBlock is how many elements AccumulateEffective converts at a time.
const effBlock = 1024

// AccumulateEffective adds the effective values m.Apply(x) of the view's
// elements at flat indices [lo, hi) to mom, x converted as by
// tensor.View.Float64At. It is the direct definition of the effective
// statistics, elementwise in float64, for the cases EffectiveStats cannot
// derive; it runs on the chunk the caller is reading anyway (no second
// read), at the speed of a scalar loop.
func AccumulateEffective(v *tensor.View, lo, hi int64, m Multiplier, mom *tensor.Moments) {
	if b, ok := float32Range(v, lo, hi-lo); ok {
		accumulateFloat32(b, m, mom)
		return
	}
	var buf [effBlock]float64
	for lo < hi {
		n := min(hi-lo, effBlock)
		b := buf[:n]
		v.Float64s(lo, b)
		for _, x := range b {
			mom.Add(m.Apply(x))
		}
		lo += n
	}
}

// EffectiveUpdateToWeight returns the AdamW update-to-weight ratio against
// the effective weight: the update u moves the raw weight by lr·u, so the
// effective weight by |Scale|·lr·u, and the ratio is
// |Scale|·lr·RMS(u) / RMS(effective weight). For Offset 0 it equals the
// raw ratio lr·RMS(u)/RMS(w) up to rounding; for gemma norms (w used as
// 1 + w) it is the meaningful one. The change of the scale factors
// themselves is not included. It reports false when the ratio is undefined
// (no finite effective element, or an effective RMS of 0).
func EffectiveUpdateToWeight(lr, updateRMS float64, eff tensor.Stats, m Multiplier) (float64, bool) {
	if !m.Known || !eff.Valid() || eff.RMS == 0 || math.IsNaN(eff.RMS) || math.IsInf(eff.RMS, 0) {
		return 0, false
	}
	return math.Abs(m.Scale) * lr * updateRMS / eff.RMS, true
}

// EffectiveDiffPairs is tensor.DiffPairs over the effective values: the
// sums over n pairs (ma.Apply(a), mb.Apply(b)), a from flat index aLo of
// view a and b from flat index bLo of view b, with each side's multiplier
// (the scale factors of two checkpoints differ). It is DiffPairs' loop
// with x and y replaced by their effective values, and is meant to run on
// the chunks a diff reads anyway: the effective ΔL2, relative change,
// cosine, changed count and largest |Δ| then come from the same read,
// exactly as DiffPairs gives the raw ones (they cannot all be derived from
// the raw sums: max|Δ| and the changed count depend on each pair).
func EffectiveDiffPairs(a, b *tensor.View, aLo, bLo, n int64, ma, mb Multiplier) tensor.PairSums {
	if xa, ok := float32Range(a, aLo, n); ok {
		if xb, ok := float32Range(b, bLo, n); ok {
			return diffFloat32(xa, xb, ma, mb)
		}
	}
	var s tensor.PairSums
	var xa, xb [effBlock]float64
	for done := int64(0); done < n; {
		k := min(n-done, effBlock)
		a.Float64s(aLo+done, xa[:k])
		b.Float64s(bLo+done, xb[:k])
		var blk tensor.PairSums
		for i := range k {
			x, y := ma.Apply(xa[i]), mb.Apply(xb[i])
			blk.Numel++
			if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			d := y - x
			blk.Pairs++
			if d != 0 {
				blk.Changed++
			}
			blk.SumDD += d * d
			blk.SumAA += x * x
			blk.SumBB += y * y
			blk.SumAB += x * y
			blk.MaxAbs = max(blk.MaxAbs, math.Abs(d))
		}
		s.Merge(blk)
		done += k
	}
	return s
}

// float32Range returns the bytes of the n elements of v from flat index lo
// when v is float32 and contiguous, for the loops below that decode them
// directly (the common case: fp32 master weights), rather than through
// View.Float64s.
func float32Range(v *tensor.View, lo, n int64) ([]byte, bool) {
	if v.DType != tensor.Float32 || n <= 0 {
		return nil, false
	}
	b, ok := v.ContiguousBytes()
	if !ok || (lo+n)*4 > int64(len(b)) || lo < 0 {
		return nil, false
	}
	return b[lo*4 : (lo+n)*4], true
}

// accumulateFloat32 is AccumulateEffective over little-endian float32
// bytes: each block's counts and shifted sums are gathered in locals and
// merged into mom.
func accumulateFloat32(b []byte, m Multiplier, mom *tensor.Moments) {
	k, a, off := mom.Shift, m.Scale, m.Offset
	for len(b) > 0 {
		blk := b[:min(len(b), 4*effBlock)]
		b = b[len(blk):]
		part := tensor.NewMoments(k)
		var s1, s2 float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i+4 <= len(blk); i += 4 {
			y := a * (float64(math.Float32frombits(binary.LittleEndian.Uint32(blk[i:]))) + off)
			switch {
			case y != y:
				part.NaN++
				continue
			case y > math.MaxFloat64:
				part.PosInf++
				continue
			case y < -math.MaxFloat64:
				part.NegInf++
				continue
			case y == 0:
				part.Zeros++
				lo, hi = min(lo, y), max(hi, y) // -0 before +0
			case y < lo:
				lo = y
			}
			if y > hi {
				hi = y
			}
			part.N++
			d := y - k
			s1 += d
			s2 += d * d
		}
		part.S1, part.S2, part.Min, part.Max = s1, s2, lo, hi
		mom.Merge(part)
	}
}

// diffFloat32 is EffectiveDiffPairs over two runs of little-endian
// float32 bytes of equal length.
func diffFloat32(xa, xb []byte, ma, mb Multiplier) tensor.PairSums {
	var s tensor.PairSums
	for len(xa) > 0 {
		n := min(len(xa), 4*effBlock)
		ba, bb := xa[:n], xb[:n:n]
		xa, xb = xa[n:], xb[n:]
		var blk tensor.PairSums
		for i := 0; i+4 <= len(ba); i += 4 {
			x := ma.Scale * (float64(math.Float32frombits(binary.LittleEndian.Uint32(ba[i:]))) + ma.Offset)
			y := mb.Scale * (float64(math.Float32frombits(binary.LittleEndian.Uint32(bb[i:]))) + mb.Offset)
			blk.Numel++
			if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			d := y - x
			blk.Pairs++
			if d != 0 {
				blk.Changed++
			}
			blk.SumDD += d * d
			blk.SumAA += x * x
			blk.SumBB += y * y
			blk.SumAB += x * y
			blk.MaxAbs = max(blk.MaxAbs, math.Abs(d))
		}
		s.Merge(blk)
	}
	return s
}
