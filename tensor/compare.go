package tensor

import (
	"math"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
	"github.com/x448/float16"
)

// RoundTo rounds a float32 value to dtype dt (BFloat16 or Float16) with
// round-to-nearest-even, as PyTorch's .to(dtype) does, and returns the
// rounded value. NaN stays NaN. It panics for other dtypes.
func RoundTo(x float32, dt DType) float64 {
	switch dt {
	case BFloat16:
		return float64(BFloat16ToFloat32(Float32ToBFloat16(x)))
	case Float16:
		return float64(float16.Fromfloat32(x).Float32())
	}
	panic("tensor: RoundTo " + dt.String())
}

// Comparison is the result of CompareRounded.
type Comparison struct {
	Compared int64   // elements compared
	Mismatch int64   // elements whose module value differs from the rounded master
	MaxDiff  float64 // largest |module − master| over the mismatches (in float64)
	First    int64   // flat index of the first mismatch, or -1
}

// Merge adds o, which covers later elements than c, to c.
func (c *Comparison) Merge(o Comparison) {
	if c.First < 0 && o.First >= 0 {
		c.First = o.First
	}
	c.Compared += o.Compared
	c.Mismatch += o.Mismatch
	c.MaxDiff = max(c.MaxDiff, o.MaxDiff)
}

// CompareRounded compares n elements of a float32 master tensor, from flat
// index mLo, with the elements of a lower-precision module tensor (bfloat16
// or float16), from flat index dLo: an element matches when the module
// value equals the master value rounded to the module's dtype with
// round-to-nearest-even (NaN matches NaN). base is added to the indices
// reported in First.
//
// Both tensors are read together in one pass: when both are contiguous over
// the range, by a fused kernel (assembly where the CPU has it); otherwise
// through Float64s in blocks. It panics unless both ranges lie within their
// views.
func CompareRounded(master, module *View, mLo, dLo, n, base int64) Comparison {
	return CompareRoundedSum(master, module, mLo, dLo, n, base, nil, nil)
}

// CompareRoundedSum is CompareRounded continuing the checksums cm of the
// master's data and cd of the module's with the bytes of the two ranges (a
// nil checksum is left out). The fused kernel folds them into their
// CRC-32s in the loop that compares (on AVX-512 with VPCLMULQDQ: less than
// a second pass over the bytes costs); the ranges of other dtypes are
// hashed after they are read,
// and one of a view that is not contiguous over it leaves its checksum
// lost.
func CompareRoundedSum(master, module *View, mLo, dLo, n, base int64, cm, cd *Checksum) Comparison {
	if n < 0 || mLo < 0 || dLo < 0 || mLo+n > master.Numel() || dLo+n > module.Numel() {
		panic("tensor: CompareRounded range out of bounds")
	}
	mb, okm := master.contiguousRange(mLo, n)
	db, okd := module.contiguousRange(dLo, n)
	if master.DType == Float32 && (module.DType == BFloat16 || module.DType == Float16) && okm && okd {
		mOff, dOff := 4*(master.Offset+mLo), 2*(module.Offset+dLo)
		sums, on := startPair(cm, cd, mOff, dOff)
		var crcs *[2]uint32
		if on {
			crcs = &sums
		}
		var r kernel.Rounded
		if module.DType == BFloat16 {
			r = kernel.RoundedBF16(mb, db, int(n), crcs)
		} else {
			r = kernel.RoundedF16(mb, db, int(n), crcs)
		}
		endPair(&sums, cm, cd, mOff+int64(len(mb)), dOff+int64(len(db)))
		c := Comparison{Compared: n, Mismatch: r.Mismatch, MaxDiff: r.MaxDiff, First: -1}
		if r.First >= 0 {
			c.First = base + r.First
		}
		return c
	}
	extendAll(cm, master, mb, okm, mLo)
	extendAll(cd, module, db, okd, dLo)
	c := Comparison{First: -1}
	var bm, bd [adamBlock]float64
	for done := int64(0); done < n; {
		k := min(n-done, adamBlock)
		master.Float64s(mLo+done, bm[:k])
		module.Float64s(dLo+done, bd[:k])
		for i := int64(0); i < k; i++ {
			want := RoundTo(float32(bm[i]), module.DType)
			got := bd[i]
			if got == want || (got != got && want != want) {
				continue
			}
			if c.First < 0 {
				c.First = base + done + i
			}
			c.Mismatch++
			if d := math.Abs(got - bm[i]); d > c.MaxDiff || d != d {
				c.MaxDiff = d
			}
		}
		done += k
	}
	c.Compared = n
	return c
}
