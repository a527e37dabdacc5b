//go:build !amd64 || purego || noasm

package kernel

// This file holds the entry points where no assembly is built (other
// architectures, or the purego or noasm tags): each calls its pure-Go
// implementation.

// supported lists the paths this build can run.
var supported = []Path{Generic}

// F32 accumulates n float32 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(u)), shift)
//	}
func F32(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F32Generic(b, n, strideBytes, shift, m)
}

// BF16 accumulates n bfloat16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(uint32(u)<<16)), shift)
//	}
func BF16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	BF16Generic(b, n, strideBytes, shift, m)
}

// F16 accumulates n float16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		h := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(FromF16(h), shift)
//	}
func F16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F16Generic(b, n, strideBytes, shift, m)
}

// F64 accumulates n float64 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint64(b[i*strideBytes:])
//		m.Add(math.Float64frombits(u), shift)
//	}
func F64(b []byte, n, strideBytes int, shift float64, m *Moments) {
	F64Generic(b, n, strideBytes, shift, m)
}

// Table8 accumulates n one-byte elements of b, decoded through tab, into m:
//
//	for i := 0; i < n; i++ {
//		m.Add(tab[b[i*strideBytes]], shift)
//	}
func Table8(b []byte, n, strideBytes int, tab *[256]float64, shift float64, m *Moments) {
	Table8Generic(b, n, strideBytes, tab, shift, m)
}

// AdamF32 returns Σu² and the number of finite u over n pairs of
// contiguous float32 elements of m and v (see AdamU):
//
//	for i := 0; i < n; i++ {
//		mi := float64(math.Float32frombits(binary.LittleEndian.Uint32(m[4*i:])))
//		vi := float64(math.Float32frombits(binary.LittleEndian.Uint32(v[4*i:])))
//		if u := AdamU(mi, vi, k1, k2, eps); !math.IsNaN(u) && !math.IsInf(u, 0) {
//			sumSq += u * u
//			count++
//		}
//	}
func AdamF32(m, v []byte, n int, k1, k2, eps float64) (sumSq float64, count int64) {
	return AdamF32Generic(m, v, n, k1, k2, eps)
}

// RoundedBF16 compares n contiguous float32 master values with n
// contiguous bfloat16 module values (see Rounded); with crcs, it also
// continues the CRC-32s crcs[0] with the bytes of master and crcs[1] with
// those of module:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(master[4*i:])
//		g := binary.LittleEndian.Uint16(module[2*i:])
//		if !MatchBF16(u, g) {
//			r.add(i, FromBF16(g)-float64(math.Float32frombits(u)))
//		}
//	}
//	if crcs != nil {
//		crcs[0] = crc32.Update(crcs[0], crc32.IEEETable, master[:4*n])
//		crcs[1] = crc32.Update(crcs[1], crc32.IEEETable, module[:2*n])
//	}
func RoundedBF16(master, module []byte, n int, crcs *[2]uint32) Rounded {
	if n > 0 {
		updateCRCs(crcs, master[:4*n], module[:2*n])
	}
	return RoundedBF16Generic(master, module, n)
}

// RoundedF16 is RoundedBF16 for float16 module values:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(master[4*i:])
//		g := binary.LittleEndian.Uint16(module[2*i:])
//		if !MatchF16(u, g) {
//			r.add(i, FromF16(g)-float64(math.Float32frombits(u)))
//		}
//	}
//	if crcs != nil {
//		crcs[0] = crc32.Update(crcs[0], crc32.IEEETable, master[:4*n])
//		crcs[1] = crc32.Update(crcs[1], crc32.IEEETable, module[:2*n])
//	}
func RoundedF16(master, module []byte, n int, crcs *[2]uint32) Rounded {
	if n > 0 {
		updateCRCs(crcs, master[:4*n], module[:2*n])
	}
	return RoundedF16Generic(master, module, n)
}

// MomentsAdamF32 accumulates n contiguous float32 elements of m into mm and
// of v into mv, and returns Σu² and the number of finite u over the pairs;
// with crcs, it also continues the CRC-32s crcs[0] with the bytes of m and
// crcs[1] with those of v:
//
//	F32Generic(m, n, 4, mm.Shift, mm)
//	F32Generic(v, n, 4, mv.Shift, mv)
//	sumSq, count = AdamF32Generic(m, v, n, k1, k2, eps)
//	if crcs != nil {
//		crcs[0] = crc32.Update(crcs[0], crc32.IEEETable, m[:4*n])
//		crcs[1] = crc32.Update(crcs[1], crc32.IEEETable, v[:4*n])
//	}
func MomentsAdamF32(m, v []byte, n int, mm, mv *Moments, k1, k2, eps float64, crcs *[2]uint32) (sumSq float64, count int64) {
	if n <= 0 {
		return 0, 0
	}
	const block = 1 << 14 // the CRC-32s read each block from cache
	for done := 0; done < n; done += block {
		c := min(n-done, block)
		s, k := MomentsAdamF32Generic(m[4*done:], v[4*done:], c, mm, mv, k1, k2, eps)
		updateCRCs(crcs, m[4*done:4*(done+c)], v[4*done:4*(done+c)])
		sumSq += s
		count += k
	}
	return sumSq, count
}

// PairsF32 adds n pairs of contiguous float32 elements of a and b to s:
//
//	for i := 0; i < n; i++ {
//		x := float64(math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:])))
//		y := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
//		s.Add(x, y)
//	}
func PairsF32(a, b []byte, n int, s *Pairs) { PairsF32Generic(a, b, n, s) }

// PairsBF16 adds n pairs of contiguous bfloat16 elements of a and b to s:
//
//	for i := 0; i < n; i++ {
//		s.Add(FromBF16(binary.LittleEndian.Uint16(a[2*i:])), FromBF16(binary.LittleEndian.Uint16(b[2*i:])))
//	}
func PairsBF16(a, b []byte, n int, s *Pairs) { PairsBF16Generic(a, b, n, s) }
