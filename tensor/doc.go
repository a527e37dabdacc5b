// Package tensor describes PyTorch tensors over raw storage bytes and
// computes exact per-tensor statistics in one pass.
//
// # Views
//
// A View is a dtype, a shape, strides and a storage offset over the bytes of
// a whole storage, as torch.save writes it: little-endian, Numel·itemsize
// bytes per storage, typically memory-mapped. Shapes, strides and offsets
// count elements, never bytes, and are int64 as in torch. NewView validates a
// view once (every product and sum is checked for overflow, and the last
// element must lie inside the storage); the methods then assume a valid view.
// A tensor may be smaller than its storage, start at an offset, be
// non-contiguous (transposed, sliced with a step) or broadcast (stride 0).
//
// Flat indices are row-major: index i of a tensor of shape [a, b] is element
// (i/b, i%b). View.Runs turns a range of flat indices into maximal strided
// byte runs, which is how statistics stream through a storage without
// copying it.
//
// # Element values
//
// Statistics see every element as a float64: bool as 0 or 1 (any nonzero
// byte is true); integers exactly up to 2⁵³ in magnitude and rounded to the
// nearest float64 beyond; float16, bfloat16, float32, float64 and both
// float8 formats exactly, with their NaN and infinities; complex numbers as
// their modulus |z|, NaN if either part is NaN and otherwise +Inf if either
// part is infinite.
//
// # Statistics
//
// Moments accumulates, in float64, counts of finite, NaN, +Inf, -Inf and
// zero values, the minimum and maximum of the finite values, and the sums of
// (x−K) and (x−K)² for a shift K that View.Shift picks inside the data.
// Moments over disjoint ranges merge, so a tensor can be scanned in parallel
// chunks; Result turns them into Stats. Every figure is over the finite
// values only, and the standard deviation is the population one (divided by
// N). Min and Max order -0 before +0, so they do not depend on the order of
// the scan.
//
// The inner loops live in the internal kernel package: unchecked, fused
// (one pass per tensor computes every figure; AdamSquares and CompareRounded
// read their two tensors in one pass, and MomentsAdamSum and
// CompareRoundedSum also keep up the CRC-32s of the bytes they read, see
// Checksum), with float64 accumulators. Each has a
// pure-Go reference, the only code built with the purego or noasm tags or
// off amd64, and on amd64 AVX2 and AVX-512 assembly chosen at run time by
// CPU feature; tests and fuzz tests hold every path to the reference (counts,
// Min and Max identical, sums to 1e-12). The environment variable
// CKPTINSPECT_KERNELS=generic|avx2|avx512 caps the path at run time.
package tensor
