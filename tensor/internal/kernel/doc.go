// Package kernel holds the unchecked inner loops behind tensor statistics.
//
// Every kernel accumulates n elements of one dtype, read from a byte slice at
// byte offsets 0, s, 2s, ... (s = strideBytes), into a Moments. Kernels check
// nothing: the caller (package tensor) guarantees that n >= 0, s >= 0 and that
// b holds at least (n-1)*s + itemsize bytes when n > 0. Elements are decoded
// with encoding/binary's little-endian readers, so b may start at any address.
//
// Each kernel's doc comment is its reference loop, written in terms of
// Moments.Add, the per-element definition of every accumulated quantity. An
// implementation may add the sums in another order (it keeps several
// independent partial sums and adds them in blocks), so S1 and S2 agree with
// the reference loop only up to rounding; the counts, Min and Max are exact.
//
// File layout follows the usual Go SIMD convention so that assembly can be
// added without touching callers:
//
//   - kernel_generic.go: the pure-Go implementations, always compiled and
//     exported as F32Generic, BF16Generic, ... so that tests can pin any other
//     path against them;
//   - kernel_amd64.go (amd64 && !purego && !noasm) and kernel_other.go (the
//     exact complement): the dispatching entry points F32, BF16, F16, F64 and
//     Table8. Both currently call the generic code; assembly goes behind the
//     amd64 file.
package kernel
