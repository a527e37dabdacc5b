//go:build amd64 && !purego && !noasm

package crc

import "github.com/ckptinspect/ckptinspect/internal/cpuid"

// hasFold reports whether the CPU and the operating system run the
// kernel: AVX-512 F with ZMM state enabled, and VPCLMULQDQ.
var hasFold = detect()

func detect() bool {
	if maxLeaf, _, _, _ := cpuid.CPUID(0, 0); maxLeaf < 7 {
		return false
	}
	if _, _, ecx1, _ := cpuid.CPUID(1, 0); ecx1&cpuid.OSXSAVE == 0 {
		return false
	}
	// XMM, YMM, opmask and both halves of the ZMM state.
	if xcr0, _ := cpuid.XGETBV(); xcr0&0xe6 != 0xe6 {
		return false
	}
	const (
		avx512f    = 1 << 16
		vpclmulqdq = 1 << 10
	)
	_, ebx7, ecx7, _ := cpuid.CPUID(7, 0)
	return ebx7&avx512f != 0 && ecx7&vpclmulqdq != 0
}

// fold folds p (a positive multiple of 256 bytes) into the 64 bytes z,
// whose polynomial is congruent, modulo the CRC-32 polynomial, to that
// of p with init XORed into its first four bytes, ending where p ends.
func fold(init uint32, p []byte, z *[64]byte) { foldAVX512(init, &p[0], len(p), z) }

//go:noescape
func foldAVX512(init uint32, p *byte, n int, z *[64]byte)
