package kernel

import "math"

// Moments accumulates shifted sums over the finite elements of a stream.
// Its fields mirror tensor.Moments exactly (same names, types and order) so
// that package tensor can convert a *tensor.Moments to a *Moments.
type Moments struct {
	// Shift is the constant K subtracted from every finite value before it is
	// added to S1 and S2. Kernels take the shift as an argument and never
	// read or write this field.
	Shift float64

	N      int64 // finite elements
	NaN    int64 // NaN elements, any payload
	PosInf int64 // +Inf elements
	NegInf int64 // -Inf elements
	Zeros  int64 // finite elements equal to zero (+0 and -0)

	S1 float64 // Σ (x-K) over finite x
	S2 float64 // Σ (x-K)² over finite x

	Min float64 // smallest finite x, +Inf when N == 0; -0 counts as less than +0
	Max float64 // largest finite x, -Inf when N == 0; +0 counts as greater than -0
}

// Add adds one element x, shifted by shift, to m. It is the definition every
// kernel follows:
//
//	switch {
//	case math.IsNaN(x):
//		m.NaN++
//	case math.IsInf(x, 1):
//		m.PosInf++
//	case math.IsInf(x, -1):
//		m.NegInf++
//	default:
//		m.N++
//		if x == 0 {
//			m.Zeros++
//		}
//		d := x - shift
//		m.S1 += d
//		m.S2 += d * d
//		m.Min = min(m.Min, x)
//		m.Max = max(m.Max, x)
//	}
//
// Go's min and max order -0 before +0, so Min and Max do not depend on the
// order in which elements are added.
func (m *Moments) Add(x, shift float64) {
	switch {
	case x != x:
		m.NaN++
	case x > math.MaxFloat64:
		m.PosInf++
	case x < -math.MaxFloat64:
		m.NegInf++
	default:
		m.N++
		if x == 0 {
			m.Zeros++
		}
		d := x - shift
		m.S1 += d
		m.S2 += d * d
		m.Min = min(m.Min, x)
		m.Max = max(m.Max, x)
	}
}

// Merge adds the counts and sums of o to m. It does not compare shifts:
// merging moments with different shifts gives meaningless sums.
func (m *Moments) Merge(o *Moments) {
	m.N += o.N
	m.NaN += o.NaN
	m.PosInf += o.PosInf
	m.NegInf += o.NegInf
	m.Zeros += o.Zeros
	m.S1 += o.S1
	m.S2 += o.S2
	m.Min = min(m.Min, o.Min)
	m.Max = max(m.Max, o.Max)
}
