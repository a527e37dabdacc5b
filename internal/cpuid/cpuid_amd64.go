//go:build amd64 && !purego && !noasm

package cpuid

// CPUID executes CPUID with EAX = leaf and ECX = sub.
func CPUID(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// XGETBV reads extended control register 0 (XCR0): which register states
// the operating system saves (bits 1–2 XMM/YMM, 5–7 opmask and ZMM).
func XGETBV() (eax, edx uint32)

// OSXSAVE is CPUID leaf 1's ECX bit telling that XGETBV may be used.
const OSXSAVE = 1 << 27
