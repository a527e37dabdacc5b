//go:build amd64 && !purego && !noasm

package kernel

import (
	"math"

	"github.com/ckptinspect/ckptinspect/internal/crc"
)

// This file holds the entry points on amd64: each runs the assembly of the
// active path (see Path) on the bulk of its input and the pure-Go code on
// what the assembly does not take (short runs, broadcasts, the last few
// elements, strides too large to gather).

const (
	// asmBlock is the most elements one assembly call sums: the partial
	// sums of each block are added to the Moments, which keeps the rounding
	// error of long sums small.
	asmBlock = 1 << 14
	// minAsm is the shortest run given to the assembly.
	minAsm = 64
	// maxGatherStride is the largest stride, in bytes, the strided kernels
	// take: 15 strides must fit in an int32 gather index.
	maxGatherStride = math.MaxInt32 / 16
)

// momentsAsm is the assembly of one dtype's moments kernels.
type momentsAsm struct {
	size       int // element size in bytes
	contiguous [numPaths]func(p *byte, n int, shift float64, out *part)
	strided    [numPaths]func(p *byte, n, stride int, shift float64, out *part)
	// Steps: n must be a multiple of these.
	stepContiguous, stepStrided [numPaths]int
	generic                     func(b []byte, n, strideBytes int, shift float64, m *Moments)
}

var (
	f32Asm = momentsAsm{
		size:           4,
		contiguous:     [numPaths]func(*byte, int, float64, *part){AVX2: momentsF32AVX2, AVX512: momentsF32AVX512},
		strided:        [numPaths]func(*byte, int, int, float64, *part){AVX2: momentsF32StrideAVX2, AVX512: momentsF32StrideAVX512},
		stepContiguous: [numPaths]int{AVX2: 8, AVX512: 16},
		stepStrided:    [numPaths]int{AVX2: 8, AVX512: 16},
		generic:        F32Generic,
	}
	bf16Asm = momentsAsm{
		size:           2,
		contiguous:     [numPaths]func(*byte, int, float64, *part){AVX2: momentsBF16AVX2, AVX512: momentsBF16AVX512},
		strided:        [numPaths]func(*byte, int, int, float64, *part){AVX2: momentsBF16StrideAVX2, AVX512: momentsBF16StrideAVX512},
		stepContiguous: [numPaths]int{AVX2: 16, AVX512: 32},
		stepStrided:    [numPaths]int{AVX2: 8, AVX512: 16},
		generic:        BF16Generic,
	}
	f16Asm = momentsAsm{
		size:           2,
		contiguous:     [numPaths]func(*byte, int, float64, *part){AVX2: momentsF16AVX2, AVX512: momentsF16AVX512},
		strided:        [numPaths]func(*byte, int, int, float64, *part){AVX2: momentsF16StrideAVX2, AVX512: momentsF16StrideAVX512},
		stepContiguous: [numPaths]int{AVX2: 8, AVX512: 16},
		stepStrided:    [numPaths]int{AVX2: 8, AVX512: 16},
		generic:        F16Generic,
	}
	f64Asm = momentsAsm{
		size:           8,
		contiguous:     [numPaths]func(*byte, int, float64, *part){AVX2: momentsF64AVX2, AVX512: momentsF64AVX512},
		strided:        [numPaths]func(*byte, int, int, float64, *part){AVX2: momentsF64StrideAVX2, AVX512: momentsF64StrideAVX512},
		stepContiguous: [numPaths]int{AVX2: 4, AVX512: 8},
		stepStrided:    [numPaths]int{AVX2: 4, AVX512: 8},
		generic:        F64Generic,
	}
)

// run accumulates n elements of b, every s bytes, into m: the assembly of
// path p takes whole steps, in blocks of at most asmBlock elements, and the
// generic code the rest.
func (k *momentsAsm) run(p Path, b []byte, n, s int, shift float64, m *Moments) {
	done := 0
	if p != Generic && n >= minAsm {
		switch {
		case s == k.size:
			step := k.stepContiguous[p]
			for n-done >= step {
				c := min(n-done, asmBlock) / step * step
				var r part
				k.contiguous[p](&b[done*s], c, shift, &r)
				r.merge(m, c, p == AVX512)
				done += c
			}
		case s > 0 && s <= maxGatherStride:
			// A gather loads 4 bytes at each element: for 2-byte elements
			// the last one is left to Go, lest its load pass the end of b.
			limit := n
			if k.size < 4 {
				limit--
			}
			step := k.stepStrided[p]
			for limit-done >= step {
				c := min(limit-done, asmBlock) / step * step
				var r part
				k.strided[p](&b[done*s], c, s, shift, &r)
				r.merge(m, c, p == AVX512)
				done += c
			}
		}
	}
	if done < n {
		k.generic(b[done*s:], n-done, s, shift, m)
	}
}

// merge adds the result of an assembly call over n elements to m. Unless
// signed (the AVX-512 kernels order -0 before +0 themselves), zero extremes
// are given their sign as Moments.Add would.
func (r *part) merge(m *Moments, n int, signed bool) {
	m.N += int64(n) - r.nonFinite
	m.NaN += r.nan
	m.PosInf += r.posInf
	m.NegInf += r.nonFinite - r.nan - r.posInf
	m.Zeros += r.zeros
	m.S1 += r.s1
	m.S2 += r.s2
	lo, hi := r.lo, r.hi
	if !signed && (lo == 0 || hi == 0) {
		lo, hi = settleZeros(lo, hi, r.negZeros > 0, r.zeros > r.negZeros)
	}
	m.Min = min(m.Min, lo)
	m.Max = max(m.Max, hi)
}

// F32 accumulates n float32 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint32(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(u)), shift)
//	}
func F32(b []byte, n, strideBytes int, shift float64, m *Moments) {
	f32Asm.run(Active(), b, n, strideBytes, shift, m)
}

// BF16 accumulates n bfloat16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(float64(math.Float32frombits(uint32(u)<<16)), shift)
//	}
func BF16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	bf16Asm.run(Active(), b, n, strideBytes, shift, m)
}

// F16 accumulates n float16 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		h := binary.LittleEndian.Uint16(b[i*strideBytes:])
//		m.Add(FromF16(h), shift)
//	}
func F16(b []byte, n, strideBytes int, shift float64, m *Moments) {
	f16Asm.run(Active(), b, n, strideBytes, shift, m)
}

// F64 accumulates n float64 elements of b into m:
//
//	for i := 0; i < n; i++ {
//		u := binary.LittleEndian.Uint64(b[i*strideBytes:])
//		m.Add(math.Float64frombits(u), shift)
//	}
func F64(b []byte, n, strideBytes int, shift float64, m *Moments) {
	f64Asm.run(Active(), b, n, strideBytes, shift, m)
}

// Table8 accumulates n one-byte elements of b, decoded through tab, into m
// (it has no assembly):
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
	p := Active()
	done := 0
	if p != Generic && n >= minAsm {
		m, v = m[:4*n], v[:4*n]
		step := 8
		kernel := adamF32AVX2
		if p == AVX512 {
			step, kernel = 16, adamF32AVX512
		}
		for n-done >= step {
			c := min(n-done, asmBlock) / step * step
			var r adamPart
			kernel(&m[4*done], &v[4*done], c, k1, k2, eps, &r)
			sumSq += r.sumSq
			count += r.count
			done += c
		}
	}
	if done < n {
		s, c := AdamF32Generic(m[4*done:], v[4*done:], n-done, k1, k2, eps)
		sumSq += s
		count += c
	}
	return sumSq, count
}

// MomentsAdamF32 accumulates n contiguous float32 elements of m into mm and
// of v into mv, and returns Σu² and the number of finite u over the pairs,
// reading each pair once; with crcs, it also continues the CRC-32s crcs[0]
// with the bytes of m and crcs[1] with those of v:
//
//	F32Generic(m, n, 4, mm.Shift, mm)
//	F32Generic(v, n, 4, mv.Shift, mv)
//	sumSq, count = AdamF32Generic(m, v, n, k1, k2, eps)
//	if crcs != nil {
//		crcs[0] = crc32.Update(crcs[0], crc32.IEEETable, m[:4*n])
//		crcs[1] = crc32.Update(crcs[1], crc32.IEEETable, v[:4*n])
//	}
//
// On AVX-512 one kernel does all three when the coefficients keep every u of
// finite, non-negative moments finite (eps ≥ 1e-200, k1 ≤ 1e60, k2 finite),
// and folds the CRC-32s in the same loop when the CPU has VPCLMULQDQ (the
// multiplications overlap with the divisions: the CRC-32s cost next to
// nothing); otherwise, and on the other paths, it runs the three kernels on
// blocks of asmBlock pairs, so that the second and third passes, and the
// CRC-32s, read from cache.
func MomentsAdamF32(m, v []byte, n int, mm, mv *Moments, k1, k2, eps float64, crcs *[2]uint32) (sumSq float64, count int64) {
	p := Active()
	if n <= 0 {
		return 0, 0
	}
	m, v = m[:4*n], v[:4*n]
	done := 0
	if p == AVX512 && n >= minAsm && eps >= 1e-200 && k1 <= 1e60 && k2-k2 == 0 {
		fold := crcs != nil && crc.Kernel()
		for n-done >= 16 {
			c := min(n-done, asmBlock) / 16 * 16
			var r momentsAdamPart
			if fold {
				z := [2][64]byte{crc.Start(crcs[0]), crc.Start(crcs[1])}
				momentsAdamF32CRCAVX512(&m[4*done], &v[4*done], c, mm.Shift, mv.Shift, k1, k2, eps, &r, &z)
				crcs[0], crcs[1] = crc.Finish(&z[0], 64), crc.Finish(&z[1], 64)
			} else {
				momentsAdamF32AVX512(&m[4*done], &v[4*done], c, mm.Shift, mv.Shift, k1, k2, eps, &r)
				updateCRCs(crcs, m[4*done:4*(done+c)], v[4*done:4*(done+c)])
			}
			r.m.merge(mm, c, true)
			r.v.merge(mv, c, true)
			sumSq += r.sumSq
			count += r.count
			done += c
		}
	}
	for done < n {
		c := min(n-done, asmBlock)
		F32(m[4*done:], c, 4, mm.Shift, mm)
		F32(v[4*done:], c, 4, mv.Shift, mv)
		s, k := AdamF32(m[4*done:], v[4*done:], c, k1, k2, eps)
		updateCRCs(crcs, m[4*done:4*(done+c)], v[4*done:4*(done+c)])
		sumSq += s
		count += k
		done += c
	}
	return sumSq, count
}

// roundedBlock is the number of elements the rounding comparisons count
// with assembly at a time; a block with a mismatch is compared again in Go
// for the index of the first one and the largest difference. With CRC-32s
// the blocks are asmBlock long, so that taking the CRC-32s out of the
// kernel's fold after each block costs next to nothing.
const roundedBlock = 2048

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
//
// On AVX-512 with VPCLMULQDQ the kernel folds the CRC-32s in the loop that
// compares (with AVX512_BF16, a kernel that rounds with VCVTNEPS2BF16 and
// leaves NaN and denormal masters, and signed zeros, to the exact
// comparison in Go); elsewhere each block is hashed after it is compared.
func RoundedBF16(master, module []byte, n int, crcs *[2]uint32) Rounded {
	return rounded(master, module, n, crcs, [numPaths]func(*byte, *byte, int) int{AVX2: roundedBF16AVX2, AVX512: roundedBF16AVX512}, false, RoundedBF16Generic)
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
	return rounded(master, module, n, crcs, [numPaths]func(*byte, *byte, int) int{AVX2: roundedF16AVX2, AVX512: roundedF16AVX512}, true, RoundedF16Generic)
}

// roundedCRC runs the AVX-512 rounding kernel that folds the CRC-32s, for
// a float16 module (f16) or a bfloat16 one. The calls are direct, so that
// z stays on the caller's stack.
func roundedCRC(f16 bool, master, module *byte, n int, z *[2][64]byte) int {
	switch {
	case f16:
		return roundedF16CRCAVX512(master, module, n, z)
	case bf16CVT:
		return roundedBF16CVTAVX512(master, module, n, z)
	default:
		return roundedBF16CRCAVX512(master, module, n, z)
	}
}

func rounded(master, module []byte, n int, crcs *[2]uint32, asm [numPaths]func(*byte, *byte, int) int,
	f16 bool, generic func([]byte, []byte, int) Rounded) Rounded {
	p := Active()
	if p == Generic || n < minAsm {
		if n > 0 {
			updateCRCs(crcs, master[:4*n], module[:2*n])
		}
		return generic(master, module, n)
	}
	master, module = master[:4*n], module[:2*n]
	fold := crcs != nil && p == AVX512 && crc.Kernel()
	block := roundedBlock
	if crcs != nil {
		block = asmBlock
	}
	r := Rounded{First: -1}
	done := 0
	for n-done >= 16 {
		c := min(n-done, block) / 16 * 16
		var bad int
		if fold {
			z := [2][64]byte{crc.Start(crcs[0]), crc.Start(crcs[1])}
			bad = roundedCRC(f16, &master[4*done], &module[2*done], c, &z)
			crcs[0], crcs[1] = crc.Finish(&z[0], 64), crc.Finish(&z[1], 32)
		} else {
			bad = asm[p](&master[4*done], &module[2*done], c)
			updateCRCs(crcs, master[4*done:4*(done+c)], module[2*done:2*(done+c)])
		}
		if bad != 0 {
			r.merge(generic(master[4*done:], module[2*done:], c), done)
		}
		done += c
	}
	if done < n {
		updateCRCs(crcs, master[4*done:], module[2*done:])
		r.merge(generic(master[4*done:], module[2*done:], n-done), done)
	}
	return r
}

// pairsAsm is the assembly of one dtype's pair kernels.
type pairsAsm struct {
	size    int // element size in bytes
	asm     [numPaths]func(a, b *byte, n int, out *pairPart)
	generic func(a, b []byte, n int, s *Pairs)
}

var (
	pairsF32Asm  = pairsAsm{size: 4, asm: [numPaths]func(*byte, *byte, int, *pairPart){AVX2: pairsF32AVX2, AVX512: pairsF32AVX512}, generic: PairsF32Generic}
	pairsBF16Asm = pairsAsm{size: 2, asm: [numPaths]func(*byte, *byte, int, *pairPart){AVX2: pairsBF16AVX2, AVX512: pairsBF16AVX512}, generic: PairsBF16Generic}
)

// run adds n pairs of a and b to s: the assembly of path p takes whole
// vectors (16 pairs with AVX-512, 8 with AVX2), in blocks of at most
// asmBlock pairs, and the generic code the rest.
func (k *pairsAsm) run(p Path, a, b []byte, n int, s *Pairs) {
	done := 0
	if p != Generic && n >= minAsm {
		a, b = a[:k.size*n], b[:k.size*n]
		step := 8
		if p == AVX512 {
			step = 16
		}
		for n-done >= step {
			c := min(n-done, asmBlock) / step * step
			var r pairPart
			k.asm[p](&a[k.size*done], &b[k.size*done], c, &r)
			s.Merge(Pairs{Pairs: r.pairs, Changed: r.changed, SumDD: r.dd, SumAA: r.aa, SumBB: r.bb, SumAB: r.ab, MaxAbs: r.maxAbs})
			done += c
		}
	}
	if done < n {
		k.generic(a[k.size*done:], b[k.size*done:], n-done, s)
	}
}

// PairsF32 adds n pairs of contiguous float32 elements of a and b to s:
//
//	for i := 0; i < n; i++ {
//		x := float64(math.Float32frombits(binary.LittleEndian.Uint32(a[4*i:])))
//		y := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
//		s.Add(x, y)
//	}
func PairsF32(a, b []byte, n int, s *Pairs) { pairsF32Asm.run(Active(), a, b, n, s) }

// PairsBF16 adds n pairs of contiguous bfloat16 elements of a and b to s:
//
//	for i := 0; i < n; i++ {
//		s.Add(FromBF16(binary.LittleEndian.Uint16(a[2*i:])), FromBF16(binary.LittleEndian.Uint16(b[2*i:])))
//	}
func PairsBF16(a, b []byte, n int, s *Pairs) { pairsBF16Asm.run(Active(), a, b, n, s) }
