package tensor

import (
	"encoding/binary"
	"math"
)

// diffFloat32 is DiffPairs over two contiguous runs of little-endian
// float32 elements of equal length (4·n bytes each). Each block of
// pairBlock pairs is summed in two interleaved partial sums per figure,
// without testing each pair for NaN and infinity: a block holding a
// non-finite element makes Σ(b−a)²+Σa²+Σb² non-finite (the squares of
// float32 values never overflow float64), and such a block is summed again
// pair by pair as DiffPairs' reference loop does. The counts and MaxAbs
// are those of the reference loop; the sums differ from it only by the
// order of the additions.
func diffFloat32(x, y []byte) PairSums {
	var s PairSums
	n := len(x) / 4
	y = y[:4*n]
	for done := 0; done < n; {
		k := min(n-done, pairBlock)
		xb, yb := x[4*done:4*(done+k)], y[4*done:4*(done+k)]
		var dd0, dd1, aa0, aa1, bb0, bb1, ab0, ab1 float64
		var changed, top uint64 // top: the largest |b−a| bits, shifted left by one
		xs, ys := xb, yb[:len(xb)]
		for len(xs) >= 8 && len(ys) >= 8 {
			a0 := float64(math.Float32frombits(binary.LittleEndian.Uint32(xs[0:4])))
			a1 := float64(math.Float32frombits(binary.LittleEndian.Uint32(xs[4:8])))
			b0 := float64(math.Float32frombits(binary.LittleEndian.Uint32(ys[0:4])))
			b1 := float64(math.Float32frombits(binary.LittleEndian.Uint32(ys[4:8])))
			xs, ys = xs[8:], ys[8:]
			d0, d1 := b0-a0, b1-a1
			dd0 += d0 * d0
			dd1 += d1 * d1
			aa0 += a0 * a0
			aa1 += a1 * a1
			bb0 += b0 * b0
			bb1 += b1 * b1
			ab0 += a0 * b0
			ab1 += a1 * b1
			// For finite values, the bits of |d| order as |d| does; a
			// nonzero d has nonzero bits once the sign is shifted out.
			u0, u1 := math.Float64bits(d0)<<1, math.Float64bits(d1)<<1
			changed += (u0|-u0)>>63 + (u1|-u1)>>63
			top = max(top, u0, u1)
		}
		if len(xs) >= 4 && len(ys) >= 4 {
			a := float64(math.Float32frombits(binary.LittleEndian.Uint32(xs[0:4])))
			b := float64(math.Float32frombits(binary.LittleEndian.Uint32(ys[0:4])))
			d := b - a
			dd0 += d * d
			aa0 += a * a
			bb0 += b * b
			ab0 += a * b
			u := math.Float64bits(d) << 1
			changed += (u | -u) >> 63
			top = max(top, u)
		}
		mx := math.Float64frombits(top >> 1)
		dd, aa, bb := dd0+dd1, aa0+aa1, bb0+bb1
		if t := dd + aa + bb; t-t != 0 {
			// A NaN or an infinity in the block: pair by pair.
			va, _ := NewView(Float32, xb, 0, []int64{int64(k)}, nil)
			vb, _ := NewView(Float32, yb, 0, []int64{int64(k)}, nil)
			s.Merge(diffPairsRef(va, vb, 0, 0, int64(k)))
			done += k
			continue
		}
		s.Numel += int64(k)
		s.Pairs += int64(k)
		s.Changed += int64(changed)
		s.SumDD += dd
		s.SumAA += aa
		s.SumBB += bb
		s.SumAB += ab0 + ab1
		s.MaxAbs = max(s.MaxAbs, mx)
		done += k
	}
	return s
}
