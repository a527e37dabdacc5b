//go:build amd64 && !purego && !noasm

package kernel

import "github.com/ckptinspect/ckptinspect/internal/cpuid"

// bf16CVT reports whether RoundedBF16 with CRC-32s runs roundedBF16CVTAVX512
// on the AVX-512 path: the CPU converts float32 to bfloat16 in one
// instruction (AVX512_BF16), which leaves the loop's ports to the CRC-32s'
// multiplications. Tests turn it off to pin the other kernel too.
var bf16CVT = detectBF16()

// detectBF16 reports AVX512_BF16 (CPUID leaf 7, subleaf 1, EAX bit 5).
func detectBF16() bool {
	if maxLeaf, _, _, _ := cpuid.CPUID(0, 0); maxLeaf < 7 {
		return false
	}
	if maxSub, _, _, _ := cpuid.CPUID(7, 0); maxSub < 1 {
		return false
	}
	eax, _, _, _ := cpuid.CPUID(7, 1)
	return eax&(1<<5) != 0
}

// roundedBF16CVTAVX512 returns the number of mismatches among n elements
// (a multiple of 16, at least 16), as RoundedBF16Generic counts them, and
// folds the bytes of both into z for their CRC-32s (see bf16cvt_amd64.s).
//
//go:noescape
func roundedBF16CVTAVX512(master, module *byte, n int, z *[2][64]byte) int
