package kernel

import (
	"encoding/binary"
	"math"
)

// This file holds the pure-Go implementations of the pair kernels: the sums
// a diff of two tensors needs, over pairs (a, b) of elements at the same
// index.

// Pairs are the sums over pairs (a, b) of elements of two tensors, in
// float64 over the pairs where a and b are both finite. Sums over disjoint
// ranges merge (Merge).
type Pairs struct {
	Pairs   int64   // pairs where a and b are both finite
	Changed int64   // finite pairs where b != a (−0 equals +0)
	SumDD   float64 // Σ (b−a)²
	SumAA   float64 // Σ a²
	SumBB   float64 // Σ b²
	SumAB   float64 // Σ a·b
	MaxAbs  float64 // max |b−a|, 0 when there is no finite pair
}

// Add adds the pair (x, y) to s: the definition of every field.
func (s *Pairs) Add(x, y float64) {
	if x-x != 0 || y-y != 0 { // NaN or ±Inf
		return
	}
	d := y - x
	s.Pairs++
	if d != 0 {
		s.Changed++
	}
	s.SumDD += d * d
	s.SumAA += x * x
	s.SumBB += y * y
	s.SumAB += x * y
	s.MaxAbs = max(s.MaxAbs, math.Abs(d))
}

// Merge adds the counts and sums of o to s.
func (s *Pairs) Merge(o Pairs) {
	s.Pairs += o.Pairs
	s.Changed += o.Changed
	s.SumDD += o.SumDD
	s.SumAA += o.SumAA
	s.SumBB += o.SumBB
	s.SumAB += o.SumAB
	s.MaxAbs = max(s.MaxAbs, o.MaxAbs)
}

// pairBlock is the number of pairs the generic pair kernels sum with fresh
// partial sums before adding them to the Pairs, which keeps rounding errors
// small.
const pairBlock = 512

// pairAcc is the partial sums of one block.
type pairAcc struct {
	dd, aa, bb, ab, mx float64
	pairs, changed     int64
}

// pairBlockF64 adds the pairs (x[i], y[i]) of one block to fresh partial
// sums, held in locals (sums kept in a struct would go through memory at
// every pair), and returns them. len(y) >= len(x).
func pairBlockF64(x, y []float64) pairAcc {
	var dd, aa, bb, ab, mx float64
	var pairs, changed int64
	y = y[:len(x)]
	for i, xi := range x {
		yi := y[i]
		if xi-xi != 0 || yi-yi != 0 { // NaN or ±Inf
			continue
		}
		d := yi - xi
		c := int64(0)
		if d != 0 {
			c = 1 // a conditional move: whether a pair changed is not predictable
		}
		pairs++
		changed += c
		dd += d * d
		aa += xi * xi
		bb += yi * yi
		ab += xi * yi
		mx = max(mx, math.Abs(d))
	}
	return pairAcc{dd, aa, bb, ab, mx, pairs, changed}
}

func (p *pairAcc) mergeInto(s *Pairs) {
	s.Merge(Pairs{Pairs: p.pairs, Changed: p.changed, SumDD: p.dd, SumAA: p.aa, SumBB: p.bb, SumAB: p.ab, MaxAbs: p.mx})
}

// PairsF32Generic is the pure-Go implementation of PairsF32:
//
//	for i := 0; i < n; i++ {
//		x := float64(math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:])))
//		y := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
//		s.Add(x, y)
//	}
func PairsF32Generic(a, b []byte, n int, s *Pairs) {
	if n <= 0 {
		return
	}
	a, b = a[:4*n], b[:4*n]
	var x, y [pairBlock]float64
	for len(a) > 0 {
		k := min(len(a)/4, pairBlock)
		for i := range k {
			x[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:])))
			y[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		p := pairBlockF64(x[:k], y[:k])
		p.mergeInto(s)
		a, b = a[4*k:], b[4*k:]
	}
}

// PairsBF16Generic is the pure-Go implementation of PairsBF16:
//
//	for i := 0; i < n; i++ {
//		s.Add(FromBF16(binary.LittleEndian.Uint16(a[2*i:])), FromBF16(binary.LittleEndian.Uint16(b[2*i:])))
//	}
func PairsBF16Generic(a, b []byte, n int, s *Pairs) {
	if n <= 0 {
		return
	}
	a, b = a[:2*n], b[:2*n]
	var x, y [pairBlock]float64
	for len(a) > 0 {
		k := min(len(a)/2, pairBlock)
		for i := range k {
			x[i] = FromBF16(binary.LittleEndian.Uint16(a[2*i:]))
			y[i] = FromBF16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		p := pairBlockF64(x[:k], y[:k])
		p.mergeInto(s)
		a, b = a[2*k:], b[2*k:]
	}
}

// PairsF64s adds the pairs (x[i], y[i]) of two float64 slices of equal
// length to s (pure Go on every path):
//
//	for i := range x {
//		s.Add(x[i], y[i])
//	}
func PairsF64s(x, y []float64, s *Pairs) {
	y = y[:len(x)]
	for len(x) > 0 {
		k := min(len(x), pairBlock)
		p := pairBlockF64(x[:k], y[:k])
		p.mergeInto(s)
		x, y = x[k:], y[k:]
	}
}
