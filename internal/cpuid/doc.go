// Package cpuid reads what an amd64 CPU and its operating system support
// (the CPUID instruction and the XCR0 register), for the packages that
// choose a SIMD kernel at start-up (tensor/internal/kernel, internal/crc).
// It is empty on other architectures and under the purego and noasm build
// tags, where no kernel needs it.
package cpuid
