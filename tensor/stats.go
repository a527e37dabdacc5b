package tensor

import (
	"math"
	"math/bits"
	"sync"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// Moments is a mergeable one-pass accumulator of the statistics of a stream
// of values. Finite values are counted and added, shifted by the constant
// Shift, to S1 and S2; NaN, +Inf and -Inf are only counted. Shifting by a
// value close to the data (View.Shift gives one) keeps S2 − S1²/N free of
// cancellation, so the variance stays accurate when the mean is large
// compared with the spread.
//
// Make a Moments with NewMoments: the zero value has Min and Max of 0 instead
// of the empty-set values +Inf and -Inf. Moments built with the same Shift
// over disjoint parts of a tensor can be merged in any order; the counts, Min
// and Max do not depend on the split, and the sums only up to rounding.
type Moments struct {
	// Shift is the constant K subtracted from every finite value before it
	// is added to S1 and S2.
	Shift float64

	N      int64 // finite values
	NaN    int64 // NaN values, whatever their payload
	PosInf int64 // +Inf values
	NegInf int64 // -Inf values
	Zeros  int64 // values equal to zero, -0 included (a subset of N)

	S1 float64 // Σ (x−K) over finite x
	S2 float64 // Σ (x−K)² over finite x

	Min float64 // smallest finite x (+Inf when N == 0); -0 counts as less than +0
	Max float64 // largest finite x (-Inf when N == 0); +0 counts as greater than -0
}

// NewMoments returns an empty Moments with the given shift. It panics if
// shift is NaN or infinite.
func NewMoments(shift float64) Moments {
	if math.IsNaN(shift) || math.IsInf(shift, 0) {
		panic("tensor: NewMoments with non-finite shift")
	}
	return Moments{Shift: shift, Min: math.Inf(1), Max: math.Inf(-1)}
}

// Add adds one value to m.
func (m *Moments) Add(x float64) {
	(*kernel.Moments)(m).Add(x, m.Shift)
}

// Merge adds the counts and sums of o to m. It panics if the shifts differ:
// such sums cannot be combined.
func (m *Moments) Merge(o Moments) {
	if m.Shift != o.Shift {
		panic("tensor: Merge of Moments with different shifts")
	}
	(*kernel.Moments)(m).Merge((*kernel.Moments)(&o))
}

// Shift returns a shift for the view's Moments: the median (the lower one
// for an even count) of the finite values among up to 1024 sampled elements,
// or 0 if none of them is finite. The sample is 16 runs of 64 consecutive
// flat indices starting at ⌊j·Numel/16⌋, j = 0..15 (all elements when Numel
// <= 1024): spread over the tensor, yet touching only 16 places of its
// storage, so that sampling a memory-mapped tensor reads (and maps) little.
// It puts the shift inside the bulk of the data, which makes the shifted sums
// of Moments cancellation-free.
func (v *View) Shift() float64 {
	return ShiftSample(v.Numel(), v.Float64s)
}

// ShiftSample returns the shift View.Shift picks for a tensor of numel
// elements whose values sample gives: sample(start, dst) stores in dst the
// elements at flat indices [start, start+len(dst)), converted as by
// Float64At. It lets a caller sample a tensor from elsewhere than its
// view's bytes (a file, say); sample is called at most 16 times.
func ShiftSample(numel int64, sample func(start int64, dst []float64)) float64 {
	if numel <= 0 {
		return 0
	}
	bp := samplePool.Get().(*[shiftRuns * shiftRunLen]float64)
	defer samplePool.Put(bp)
	const runs, runLen = shiftRuns, shiftRunLen
	buf := bp[:]
	values := buf[:0]
	if numel <= runs*runLen {
		values = buf[:numel]
		sample(0, values)
	} else {
		for j := range int64(runs) {
			hi, lo := bits.Mul64(uint64(j), uint64(numel))
			start, _ := bits.Div64(hi, lo, runs)
			n := min(runLen, numel-int64(start))
			sample(int64(start), buf[len(values):len(values)+int(n)])
			values = buf[:len(values)+int(n)]
		}
	}
	finite := values[:0]
	for _, x := range values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			finite = append(finite, x)
		}
	}
	if len(finite) == 0 {
		return 0
	}
	return selectKth(finite, (len(finite)-1)/2)
}

// The sample ShiftSample takes: shiftRuns runs of shiftRunLen elements,
// spread evenly over the tensor.
const shiftRuns, shiftRunLen = 16, 64

// samplePool holds ShiftSample's buffers (sample, a function value, would
// make one on the stack escape: 8 KiB allocated per tensor).
var samplePool = sync.Pool{New: func() any { return new([shiftRuns * shiftRunLen]float64) }}

// selectKth reorders a (no NaNs) so that a[k] holds the value it would hold
// were a sorted, and returns it: Hoare's quickselect with a median-of-three
// pivot, in place.
func selectKth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		p := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k] // between j and i: equal to the pivot
		}
	}
	return a[k]
}

// Accumulate adds the elements at flat row-major indices [lo, hi) to m,
// converted as by Float64At and shifted by m.Shift. It panics unless 0 <= lo
// <= hi <= Numel(). Disjoint ranges may be accumulated concurrently into
// separate Moments with one shift and merged.
func (v *View) Accumulate(lo, hi int64, m *Moments) {
	km := (*kernel.Moments)(m)
	shift := m.Shift
	size := int64(v.DType.Size())
	data := v.Data
	var k func(b []byte, n, strideBytes int, shift float64, m *kernel.Moments)
	switch v.DType {
	case Float32:
		k = kernel.F32
	case BFloat16:
		k = kernel.BF16
	case Float16:
		k = kernel.F16
	case Float64:
		k = kernel.F64
	case Bool, Uint8, Int8, Float8E4M3FN, Float8E5M2:
		tab := table8(v.DType)
		k = func(b []byte, n, s int, shift float64, m *kernel.Moments) {
			kernel.Table8(b, n, s, tab, shift, m)
		}
	default:
		dec := decoder(v.DType)
		k = func(b []byte, n, s int, shift float64, m *kernel.Moments) {
			kernel.Decode(b, n, s, dec, shift, m)
		}
	}
	v.Runs(lo, hi, func(off, n, stride int64) bool {
		end := off + (n-1)*stride + size
		k(data[off:end:end], int(n), int(stride), shift, km)
		return true
	})
}

// table8 returns the value table of a one-byte dtype.
func table8(dt DType) *[256]float64 {
	switch dt {
	case Bool:
		return kernel.TableBool
	case Uint8:
		return kernel.TableUint8
	case Int8:
		return kernel.TableInt8
	case Float8E4M3FN:
		return kernel.TableE4M3FN
	case Float8E5M2:
		return kernel.TableE5M2
	}
	panic("tensor: no table for dtype " + dt.String())
}

// decoder returns the element decoder of a multi-byte dtype without a
// dedicated kernel.
func decoder(dt DType) kernel.Decoder {
	switch dt {
	case Int16:
		return kernel.DecodeInt16
	case Int32:
		return kernel.DecodeInt32
	case Int64:
		return kernel.DecodeInt64
	case Uint16:
		return kernel.DecodeUint16
	case Uint32:
		return kernel.DecodeUint32
	case Uint64:
		return kernel.DecodeUint64
	case Complex64:
		return kernel.DecodeComplex64
	case Complex128:
		return kernel.DecodeComplex128
	}
	panic("tensor: no decoder for dtype " + dt.String())
}

// Stats returns the statistics of all the view's elements: one call of
// Shift, one pass of Accumulate over all elements of StorageOrder() (the
// same elements, walked in storage order), then Result.
func (v *View) Stats() Stats {
	m := NewMoments(v.Shift())
	numel := v.Numel()
	v.StorageOrder().Accumulate(0, numel, &m)
	return m.Result(v.DType, v.Shape, numel)
}

// Stats are the summary statistics of a tensor. Elements are converted to
// float64 as by View.Float64At (complex tensors are summarised by their
// moduli). The float figures are computed over the finite elements only:
// NaN and ±Inf elements are counted in NaN, PosInf and NegInf and otherwise
// ignored. When Finite is 0 (an empty tensor, or one with only NaN and Inf)
// Valid reports false and every float figure is NaN, to be shown as null.
//
// The sums are float64, whose normal range holds the square of every value of
// every dtype except float64 and complex128. With those, elements beyond
// about 1e154 in magnitude make the squares overflow, and L2, RMS and Std
// become +Inf (Std may become NaN); nonzero elements below about 1e-154 have
// subnormal squares, and those three figures lose relative precision. The
// counts, Min, Max and AbsMax are exact in every case.
type Stats struct {
	DType DType   // element type
	Shape []int64 // dimensions

	Numel  int64 // elements: Finite + NaN + Inf when all are accumulated
	Finite int64 // finite elements, the N of every figure below
	NaN    int64 // NaN elements, whatever their payload
	Inf    int64 // infinite elements: PosInf + NegInf
	PosInf int64 // +Inf elements
	NegInf int64 // -Inf elements
	Zeros  int64 // elements equal to zero, +0 or -0

	L2     float64 // sqrt(Σ x²): the Euclidean (Frobenius) norm of the finite elements
	RMS    float64 // sqrt(Σ x² / N): root mean square
	Mean   float64 // Σ x / N
	Std    float64 // sqrt(Σ (x−Mean)² / N): population standard deviation (divides by N, not N−1)
	Min    float64 // smallest finite element (-0 before +0)
	Max    float64 // largest finite element (+0 after -0)
	AbsMax float64 // max(|Min|, |Max|): the largest finite magnitude
}

// Valid reports whether at least one element was finite. When it reports
// false the float fields of s carry no information (they are NaN).
func (s Stats) Valid() bool { return s.Finite > 0 }

// Result computes the statistics of the values accumulated in m, labelled
// with the dtype, a copy of shape, and numel, the element count of the
// tensor (normally m.N + m.NaN + m.PosInf + m.NegInf). With K = m.Shift and
// N = m.N:
//
//	Mean   = K + S1/N
//	Std    = sqrt(max(0, S2/N − (S1/N)²))
//	Σx²    = max(0, S2 + 2K·S1 + N·K²)
//	L2     = sqrt(Σx²)
//	RMS    = sqrt(Σx²/N)
//	AbsMax = max(|Min|, |Max|)
//
// If N is 0 every float field is NaN (see Stats.Valid).
func (m Moments) Result(dt DType, shape []int64, numel int64) Stats {
	s := Stats{
		DType:  dt,
		Shape:  append([]int64{}, shape...),
		Numel:  numel,
		Finite: m.N,
		NaN:    m.NaN,
		Inf:    m.PosInf + m.NegInf,
		PosInf: m.PosInf,
		NegInf: m.NegInf,
		Zeros:  m.Zeros,
	}
	if m.N == 0 {
		nan := math.NaN()
		s.L2, s.RMS, s.Mean, s.Std, s.Min, s.Max, s.AbsMax = nan, nan, nan, nan, nan, nan, nan
		return s
	}
	n, k := float64(m.N), m.Shift
	d := m.S1 / n
	s.Mean = k + d
	s.Std = math.Sqrt(max(0, m.S2/n-d*d))
	sq := max(0, m.S2+2*k*m.S1+n*k*k)
	s.L2 = math.Sqrt(sq)
	s.RMS = math.Sqrt(sq / n)
	s.Min, s.Max = m.Min, m.Max
	s.AbsMax = max(math.Abs(m.Min), math.Abs(m.Max))
	return s
}
