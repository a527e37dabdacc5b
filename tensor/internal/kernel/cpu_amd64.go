//go:build amd64 && !purego && !noasm

package kernel

import "github.com/ckptinspect/ckptinspect/internal/cpuid"

// supported lists the paths this CPU can run, detected once.
var supported = detect()

// detect returns the paths the CPU and the operating system support: AVX2
// needs AVX, AVX2, FMA, F16C, POPCNT and YMM state enabled by the OS
// (XCR0); AVX512 needs AVX2 and AVX-512 F, DQ, BW, VL with the opmask and
// ZMM state enabled.
func detect() []Path {
	paths := []Path{Generic}
	if maxLeaf, _, _, _ := cpuid.CPUID(0, 0); maxLeaf < 7 {
		return paths
	}
	const (
		fma    = 1 << 12
		popcnt = 1 << 23
		avx    = 1 << 28
		f16c   = 1 << 29
	)
	_, _, ecx1, _ := cpuid.CPUID(1, 0)
	if ecx1&(fma|popcnt|cpuid.OSXSAVE|avx|f16c) != fma|popcnt|cpuid.OSXSAVE|avx|f16c {
		return paths
	}
	xcr0, _ := cpuid.XGETBV()
	const (
		avx2     = 1 << 5
		avx512f  = 1 << 16
		avx512dq = 1 << 17
		avx512bw = 1 << 30
		avx512vl = 1 << 31
	)
	_, ebx7, _, _ := cpuid.CPUID(7, 0)
	if xcr0&0x6 != 0x6 || ebx7&avx2 == 0 {
		return paths
	}
	paths = append(paths, AVX2)
	const avx512 = avx512f | avx512dq | avx512bw | avx512vl
	if xcr0&0xe0 == 0xe0 && ebx7&avx512 == avx512 {
		paths = append(paths, AVX512)
	}
	return paths
}
