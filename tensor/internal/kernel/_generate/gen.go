// Command _generate writes asm_amd64.s, the AVX2 and AVX-512 kernels of
// package kernel, and stubs_amd64.go, their Go declarations, with avo. Run
// it through go generate (CI checks that the output does not change):
//
//	go generate ./tensor/internal/kernel/... && git diff --exit-code
//
// The declarations use the package's own result types (part, adamPart,
// momentsAdamPart, pairPart in asm_amd64.go), so the program loads the
// package to type them: go.work makes the repository's module visible to
// this one (GOWORK must not be off), and the package must type-check with
// the stubs it has, so a new kernel is declared here and generated before Go
// code calls it. The reference loop of each kernel is documented on its Go
// entry point (kernel_amd64.go).
//
// Conventions shared by every kernel:
//
//   - A kernel processes exactly n elements, n a multiple of its step (the
//     elements of one iteration of its last loop); the Go caller handles the
//     remainder and checks everything.
//   - Moments kernels classify every element without branches: NaN, +Inf and
//     non-finite counts, zero and negative-zero counts. Non-finite elements
//     are masked out of the sums and the extremes. Sums are float64, in
//     several independent accumulators; extremes of float32-family data are
//     kept in float32 (exact). Zeros compare equal, so the sign of a zero
//     extreme is settled by the caller from the zero counts.
//   - Results are written through out, a pointer to a struct of 8-byte
//     fields (see part and friends in asm_amd64.go).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"

	"github.com/ckptinspect/ckptinspect/internal/crc"
)

// Offsets of the fields of part (asm_amd64.go).
const (
	offS1        = 0
	offS2        = 8
	offLo        = 16
	offHi        = 24
	offZeros     = 32
	offNegZeros  = 40
	offNonFinite = 48
	offNaN       = 56
	offPosInf    = 64
)

type dtype int

const (
	f32 dtype = iota
	bf16
	f16
	f64
)

func (d dtype) name() string { return [...]string{"F32", "BF16", "F16", "F64"}[d] }
func (d dtype) size() int    { return [...]int{4, 2, 2, 8}[d] }

func main() {
	// The package's own types (part, adamPart, ...) appear in the
	// signatures of the stubs, so the generator loads the package.
	Package("github.com/ckptinspect/ckptinspect/tensor/internal/kernel")
	ConstraintExpr("amd64,!purego,!noasm")
	for _, dt := range []dtype{f32, bf16, f16, f64} {
		moments512(dt, false)
		moments512(dt, true)
		moments2(dt, false)
		moments2(dt, true)
	}
	adam512()
	adam2()
	momentsAdam512(false)
	momentsAdam512(true)
	for _, withCRC := range []bool{false, true} {
		rounded512(bf16, withCRC)
		rounded512(f16, withCRC)
	}
	rounded2(bf16)
	rounded2(f16)
	for _, dt := range []dtype{f32, bf16} {
		pairs512(dt)
		pairs2(dt)
	}
	Generate()
}

// ---------------------------------------------------------------- constants

var constCache = map[string]Mem{}

// vconst returns a 32-byte read-only vector of v repeated (v is 4 or 8
// bytes wide).
func vconst32(v uint32) Mem {
	name := fmt.Sprintf("c32_%08x", v)
	if m, ok := constCache[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(v))
	}
	constCache[name] = m
	return m
}

func vconst64(v uint64) Mem {
	name := fmt.Sprintf("c64_%016x", v)
	if m, ok := constCache[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(v))
	}
	constCache[name] = m
	return m
}

// iota32 returns 64 bytes holding the int32s 0, 1, ..., 15.
func iota32() Mem {
	if m, ok := constCache["iota32"]; ok {
		return m
	}
	m := GLOBL("iota32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	constCache["iota32"] = m
	return m
}

// packWords returns the VPSHUFB control that moves the low word of each
// dword of a 128-bit lane into the lane's low 8 bytes.
func packWords() Mem {
	if m, ok := constCache["packw"]; ok {
		return m
	}
	m := GLOBL("packw", RODATA|NOPTR)
	b := []byte{0, 1, 4, 5, 8, 9, 12, 13, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}
	for lane := 0; lane < 2; lane++ {
		for i, c := range b {
			DATA(16*lane+i, U8(c))
		}
	}
	constCache["packw"] = m
	return m
}

// bcastZ32 returns a ZMM holding v in every dword.
func bcastZ32(v uint32) VecVirtual {
	r := GP32()
	MOVL(U32(v), r)
	z := ZMM()
	VPBROADCASTD(r, z)
	return z
}

// ---------------------------------------------------------------- reductions

// Each reduction leaves its result in the low element of an XMM register.

func sumPD512(z Register) VecVirtual {
	y := YMM()
	VEXTRACTF64X4(U8(1), z, y)
	VADDPD(y, z.(VecVirtual).AsY(), y)
	return sumPD256(y)
}

func sumPD256(y Register) VecVirtual {
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	VADDPD(x, y.(VecVirtual).AsX(), x)
	t := XMM()
	VPERMILPD(U8(1), x, t)
	VADDSD(t, x, x)
	return x
}

func sumD512(z Register) VecVirtual {
	y := YMM()
	VEXTRACTI64X4(U8(1), z, y)
	VPADDD(y, z.(VecVirtual).AsY(), y)
	x := XMM()
	VEXTRACTI128(U8(1), y, x)
	VPADDD(x, y.AsX(), x)
	t := XMM()
	VPSHUFD(U8(0x4e), x, t)
	VPADDD(t, x, x)
	VPSHUFD(U8(0xb1), x, t)
	VPADDD(t, x, x)
	return x
}

// minmaxPS512 reduces a ZMM of float32 with op (VMINPS or VMAXPS) and
// returns the result as a float64.
func minmaxPS512(z Register, op func(...Op)) VecVirtual {
	y := YMM()
	VEXTRACTF64X4(U8(1), z, y)
	op(y, z.(VecVirtual).AsY(), y)
	return minmaxPS256(y, op)
}

func minmaxPS256(y Register, op func(...Op)) VecVirtual {
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	op(x, y.(VecVirtual).AsX(), x)
	t := XMM()
	VPERMILPS(U8(0x4e), x, t)
	op(t, x, x)
	VPERMILPS(U8(0xb1), x, t)
	op(t, x, x)
	VCVTSS2SD(x, x, x)
	return x
}

func minmaxPD512(z Register, op func(...Op)) VecVirtual {
	y := YMM()
	VEXTRACTF64X4(U8(1), z, y)
	op(y, z.(VecVirtual).AsY(), y)
	return minmaxPD256(y, op)
}

func minmaxPD256(y Register, op func(...Op)) VecVirtual {
	x := XMM()
	VEXTRACTF128(U8(1), y, x)
	op(x, y.(VecVirtual).AsX(), x)
	t := XMM()
	VPERMILPD(U8(1), x, t)
	op(t, x, x)
	return x
}

func storeSD(x Register, out Register, off int) { MOVSD(x, Mem{Base: out, Disp: off}) }

func storeD(x Register, out Register, off int) {
	r := GP32()
	VMOVD(x, r)
	MOVQ(r.As64(), Mem{Base: out, Disp: off})
}

// ---------------------------------------------------------------- AVX-512 moments

// Classification on AVX-512. Instructions that produce opmasks (VFPCLASS,
// VPCMP) are the scarce resource on current cores, so each vector gets one:
// the mask of its non-finite elements (NaN, ±Inf). Zeros are counted in
// every vector with plain integer arithmetic on the bits, per lane of the
// element's width w (16 bits for contiguous bfloat16, 32 for the float32
// family, 64 for float64):
//
//	a        = x &^ sign
//	notZero += min(a, 1)                 (unsigned)
//
// A vector whose mask is empty, as nearly every vector of a checkpoint is,
// is added to the extremes and sums unmasked; one that holds a NaN or an
// infinity (a branch taken rarely, so well predicted) goes to an
// out-of-line block that counts its classes, again without branches,
//
//	nonFinite += mask ? 1 : 0           (masked add)
//	nan       += (inf − a) >> (w−1)     (a > inf: the subtraction wraps)
//	notPInf   += min(x ^ inf, 1)
//
// and adds its finite elements only (masked extremes, zero-masked shifted
// values). The extremes are taken with VRANGEPS/VRANGEPD, which order -0
// before +0, so they need no zero-sign fix-up.

// width is a lane width for class counting.
type width struct {
	bits                     int
	and, add, sub, minu, srl func(...Op)
	one, abs, inf            VecVirtual
}

func newWidth(bits int) *width {
	w := &width{bits: bits, and: VPANDD}
	switch bits {
	case 16:
		w.add, w.sub, w.minu, w.srl = VPADDW, VPSUBW, VPMINUW, VPSRLW
		w.one, w.abs, w.inf = bcastZ32(0x00010001), bcastZ32(0x7fff7fff), bcastZ32(0x7f807f80)
	case 32:
		w.add, w.sub, w.minu, w.srl = VPADDD, VPSUBD, VPMINUD, VPSRLD
		w.one, w.abs, w.inf = bcastZ32(1), bcastZ32(0x7fffffff), bcastZ32(0x7f800000)
	case 64:
		w.and = VPANDQ
		w.add, w.sub, w.minu, w.srl = VPADDQ, VPSUBQ, VPMINUQ, VPSRLQ
		w.one, w.abs, w.inf = bcastZ64(1), bcastZ64(1<<63-1), bcastZ64(0x7ff0000000000000)
	}
	return w
}

func bcastZ64(v uint64) VecVirtual {
	r := GP64()
	MOVQ(U64(v), r)
	z := ZMM()
	VPBROADCASTQ(r, z)
	return z
}

// acc512 holds the accumulators of an AVX-512 moments kernel.
type acc512 struct {
	wide   bool // float64 data
	shift  VecVirtual
	s1, s2 [4]VecVirtual
	lo, hi VecVirtual
	w      *width // lanes of the counters
	// Counters: non-finite, NaN and non-(+Inf) elements of the vectors
	// that went out of line, and non-zero elements of every vector.
	nf, nan, notPInf, notZero VecVirtual
	slowN                     GPVirtual // elements of the vectors that went out of line
	deferred                  []func()  // out-of-line blocks, written after RET
	labels                    int
	next                      int // accumulator pair for the next stage
}

func newAcc512(wide bool, countBits int) *acc512 {
	a := &acc512{wide: wide}
	sx := XMM()
	Load(Param("shift"), sx)
	a.shift = ZMM()
	VBROADCASTSD(sx, a.shift)
	a.w = newWidth(countBits)
	for i := range a.s1 {
		a.s1[i], a.s2[i] = ZMM(), ZMM()
		VXORPD(a.s1[i], a.s1[i], a.s1[i])
		VXORPD(a.s2[i], a.s2[i], a.s2[i])
	}
	a.nf, a.nan, a.notPInf, a.notZero = ZMM(), ZMM(), ZMM(), ZMM()
	for _, c := range []VecVirtual{a.nf, a.nan, a.notPInf, a.notZero} {
		VPXORD(c, c, c)
	}
	a.slowN = GP64()
	XORQ(a.slowN, a.slowN)
	if wide {
		a.lo, a.hi = bcastZ64(0x7ff0000000000000), bcastZ64(0xfff0000000000000)
	} else {
		a.lo, a.hi = bcastZ32(0x7f800000), bcastZ32(0xff800000)
	}
	return a
}

// zeros counts the non-zero lanes of x and returns x's magnitude bits.
func (a *acc512) zeros(x VecVirtual) VecVirtual {
	w := a.w
	ab, t := ZMM(), ZMM()
	w.and(w.abs, x, ab)
	w.minu(w.one, ab, t)
	w.add(t, a.notZero, a.notZero)
	return ab
}

// specials counts the non-finite (knf), NaN and non-(+Inf) lanes of x,
// whose magnitude bits are ab; lanes is the number of elements.
func (a *acc512) specials(x, ab VecVirtual, knf Register, lanes int) {
	w := a.w
	w.add(w.one, a.nf, knf, a.nf)
	t := ZMM()
	w.sub(ab, w.inf, t) // inf − a
	w.srl(U8(w.bits-1), t, t)
	w.add(t, a.nan, a.nan)
	VPXORD(w.inf, x, t)
	w.minu(w.one, t, t)
	w.add(t, a.notPInf, a.notPInf)
	ADDQ(U32(lanes), a.slowN)
}

// branch emits the test of knf: fast runs inline when it is empty, slow
// out of line otherwise.
func (a *acc512) branch(knf Register, ktest func(Op, Op), fast, slow func()) {
	a.labels++
	slowL, joinL := fmt.Sprintf("nonfinite%d", a.labels), fmt.Sprintf("join%d", a.labels)
	ktest(knf, knf)
	JNZ(LabelRef(slowL))
	fast()
	Label(joinL)
	a.deferred = append(a.deferred, func() {
		Label(slowL)
		slow()
		JMP(LabelRef(joinL))
	})
}

// sumsF32 adds the 16 float32 values of x to the extremes and sums, only
// the lanes of kfin if it is not nil, with accumulator pair i. lowMem and
// highMem, when not nil, are the same values in memory (8 each), which
// saves extracting the high half.
func (a *acc512) sumsF32(x VecVirtual, lowMem, highMem *Mem, kfin Register, i int) {
	xl, xh := ZMM(), ZMM()
	if lowMem != nil {
		VCVTPS2PD(*lowMem, xl)
		VCVTPS2PD(*highMem, xh)
	} else {
		VCVTPS2PD(x.AsY(), xl)
		t := YMM()
		VEXTRACTF64X4(U8(1), x, t)
		VCVTPS2PD(t, xh)
	}
	if kfin == nil {
		VRANGEPS(U8(0x04), x, a.lo, a.lo) // min, sign from the comparison
		VRANGEPS(U8(0x05), x, a.hi, a.hi) // max
		VSUBPD(a.shift, xl, xl)
		VSUBPD(a.shift, xh, xh)
	} else {
		VRANGEPS(U8(0x04), x, a.lo, kfin, a.lo)
		VRANGEPS(U8(0x05), x, a.hi, kfin, a.hi)
		kh := K()
		KSHIFTRW(U8(8), kfin, kh)
		VSUBPD_Z(a.shift, xl, kfin, xl)
		VSUBPD_Z(a.shift, xh, kh, xh)
	}
	VADDPD(xl, a.s1[i], a.s1[i])
	VADDPD(xh, a.s1[i+1], a.s1[i+1])
	VFMADD231PD(xl, xl, a.s2[i])
	VFMADD231PD(xh, xh, a.s2[i+1])
}

// pair returns the next accumulator pair for a float32 stage.
func (a *acc512) pair() int {
	i := a.next
	a.next = (a.next + 2) % 4
	return i
}

// groupF32 processes the 16 float32 values of x: classes, extremes, sums.
func (a *acc512) groupF32(x VecVirtual, lowMem, highMem *Mem) {
	knf := K()
	VFPCLASSPSZ(U8(0x99), x, knf) // QNaN | SNaN | +Inf | -Inf
	ab := a.zeros(x)
	i := a.pair()
	a.branch(knf, KORTESTW, func() {
		a.sumsF32(x, lowMem, highMem, nil, i)
	}, func() {
		a.specials(x, ab, knf, 16)
		kfin := K()
		KNOTW(knf, kfin)
		a.sumsF32(x, lowMem, highMem, kfin, i)
	})
}

// groupBF16 processes 32 bfloat16 values: classes on the words, then the
// words widened to float32 in two vectors, the even ones shifted up and the
// odd ones with their neighbour masked off (the order of elements does not
// matter).
func (a *acc512) groupBF16(x, himask, c7f7f VecVirtual) {
	ab := a.zeros(x)
	knf := K()
	VPCMPUW(U8(6), c7f7f, ab, knf) // magnitude > 0x7f7f: NaN or Inf
	i, j := a.pair(), a.pair()
	widen := func() (VecVirtual, VecVirtual) {
		even, odd := ZMM(), ZMM()
		VPSLLD(U8(16), x, even)
		VPANDD(himask, x, odd)
		return even, odd
	}
	a.branch(knf, KORTESTD, func() {
		even, odd := widen()
		a.sumsF32(even, nil, nil, nil, i)
		a.sumsF32(odd, nil, nil, nil, j)
	}, func() {
		a.specials(x, ab, knf, 32)
		even, odd := widen()
		for _, h := range []struct {
			v VecVirtual
			i int
		}{{even, i}, {odd, j}} {
			k, kfin := K(), K()
			VFPCLASSPSZ(U8(0x99), h.v, k)
			KNOTW(k, kfin)
			a.sumsF32(h.v, nil, nil, kfin, h.i)
		}
	})
}

// groupF64 processes the 8 float64 values of x.
func (a *acc512) groupF64(x VecVirtual) {
	knf := K()
	VFPCLASSPDZ(U8(0x99), x, knf)
	ab := a.zeros(x)
	i := a.next
	a.next = (a.next + 1) % 4
	sums := func(kfin Register) {
		d := ZMM()
		if kfin == nil {
			VRANGEPD(U8(0x04), x, a.lo, a.lo)
			VRANGEPD(U8(0x05), x, a.hi, a.hi)
			VSUBPD(a.shift, x, d)
		} else {
			VRANGEPD(U8(0x04), x, a.lo, kfin, a.lo)
			VRANGEPD(U8(0x05), x, a.hi, kfin, a.hi)
			VSUBPD_Z(a.shift, x, kfin, d)
		}
		VADDPD(d, a.s1[i], a.s1[i])
		VFMADD231PD(d, d, a.s2[i])
	}
	a.branch(knf, KORTESTB, func() { sums(nil) }, func() {
		a.specials(x, ab, knf, 8)
		kfin := K()
		KNOTB(knf, kfin)
		sums(kfin)
	})
}

// sumCount reduces a counter of the given lane width to a general-purpose
// register.
func sumCount(c VecVirtual, bits int) Register {
	switch bits {
	case 16:
		ones := bcastZ32(0x00010001)
		VPMADDWD(ones, c, c)
	case 64:
		y := YMM()
		VEXTRACTI64X4(U8(1), c, y)
		VPADDQ(y, c.AsY(), y)
		x := XMM()
		VEXTRACTI128(U8(1), y, x)
		VPADDQ(x, y.AsX(), x)
		t := XMM()
		VPSHUFD(U8(0x4e), x, t)
		VPADDQ(t, x, x)
		r := GP64()
		VMOVQ(x, r)
		return r
	}
	x := sumD512(c)
	r := GP32()
	VMOVD(x, r)
	return r.As64()
}

func rangePS(imm uint8) func(...Op) {
	return func(ops ...Op) { VRANGEPS(append([]Op{U8(imm)}, ops...)...) }
}

func rangePD(imm uint8) func(...Op) {
	return func(ops ...Op) { VRANGEPD(append([]Op{U8(imm)}, ops...)...) }
}

// store writes the results to out and returns, then writes the
// out-of-line blocks.
func (a *acc512) store(out Register) {
	VADDPD(a.s1[1], a.s1[0], a.s1[0])
	VADDPD(a.s1[3], a.s1[2], a.s1[2])
	VADDPD(a.s1[2], a.s1[0], a.s1[0])
	storeSD(sumPD512(a.s1[0]), out, offS1)
	VADDPD(a.s2[1], a.s2[0], a.s2[0])
	VADDPD(a.s2[3], a.s2[2], a.s2[2])
	VADDPD(a.s2[2], a.s2[0], a.s2[0])
	storeSD(sumPD512(a.s2[0]), out, offS2)
	if a.wide {
		storeSD(minmaxPD512(a.lo, rangePD(0x04)), out, offLo)
		storeSD(minmaxPD512(a.hi, rangePD(0x05)), out, offHi)
	} else {
		storeSD(minmaxPS512(a.lo, rangePS(0x04)), out, offLo)
		storeSD(minmaxPS512(a.hi, rangePS(0x05)), out, offHi)
	}
	MOVQ(sumCount(a.nf, a.w.bits), Mem{Base: out, Disp: offNonFinite})
	MOVQ(sumCount(a.nan, a.w.bits), Mem{Base: out, Disp: offNaN})
	SUBQ(sumCount(a.notPInf, a.w.bits), a.slowN)
	MOVQ(a.slowN, Mem{Base: out, Disp: offPosInf})
	n := GP64()
	Load(Param("n"), n)
	SUBQ(sumCount(a.notZero, a.w.bits), n)
	MOVQ(n, Mem{Base: out, Disp: offZeros})
	MOVQ(U32(0), Mem{Base: out, Disp: offNegZeros})
	VZEROUPPER()
	RET()
	for _, f := range a.deferred {
		f()
	}
}

// moments512 writes the AVX-512 moments kernel of dt, contiguous or
// strided (gathering with 32-bit byte offsets: the caller guarantees that
// 15·stride fits in an int32, and for 2-byte types that the 4 bytes at
// every element are readable, i.e. it leaves the last element to Go). The
// caller also keeps n at most 2¹⁹ (16-bit lane counters).
func moments512(dt dtype, strided bool) {
	name := "moments" + dt.name()
	sig := "func(p *byte, n int, shift float64, out *part)"
	if strided {
		name += "Stride"
		sig = "func(p *byte, n, stride int, shift float64, out *part)"
	}
	TEXT(name+"AVX512", NOSPLIT, sig)
	momentsDoc(name+"AVX512", dt, strided)
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	countBits := 32
	switch {
	case dt == f64:
		countBits = 64
	case dt == bf16 && !strided:
		countBits = 16
	}
	a := newAcc512(dt == f64, countBits)
	out := GP64()

	if strided {
		s := GP64()
		Load(Param("stride"), s)
		sv := ZMM()
		VPBROADCASTD(s.As32(), sv)
		idx := ZMM()
		VPMULLD(iota32(), sv, idx)
		lanes := 16
		if dt == f64 {
			lanes = 8
		}
		step := GP64()
		MOVQ(s, step)
		SHLQ(U8(map[int]uint8{16: 4, 8: 3}[lanes]), step)
		Label("loop")
		CMPQ(n, U32(lanes))
		JB(LabelRef("done"))
		k := K()
		KXNORW(k, k, k)
		x := ZMM()
		switch dt {
		case f64:
			VXORPD(x, x, x)
			VGATHERDPD(Mem{Base: p, Index: idx.AsY(), Scale: 1}, k, x)
			a.groupF64(x)
		default:
			VPXORD(x, x, x)
			VPGATHERDD(Mem{Base: p, Index: idx, Scale: 1}, k, x)
			switch dt {
			case bf16:
				VPSLLD(U8(16), x, x)
			case f16:
				y := YMM()
				VPMOVDW(x, y)
				VCVTPH2PS(y, x)
			}
			a.groupF32(x, nil, nil)
		}
		ADDQ(step, p)
		SUBQ(U32(lanes), n)
		JMP(LabelRef("loop"))
		Label("done")
		Load(Param("out"), out)
		a.store(out)
		return
	}

	// Contiguous: a main loop of unroll steps, then single steps.
	type stepKind struct {
		elems int
		emit  func(off int)
	}
	var one stepKind
	switch dt {
	case f32:
		one = stepKind{16, func(off int) {
			x := ZMM()
			VMOVUPS(Mem{Base: p, Disp: off}, x)
			lo, hi := Mem{Base: p, Disp: off}, Mem{Base: p, Disp: off + 32}
			a.groupF32(x, &lo, &hi)
		}}
	case bf16:
		himask, c7f7f := bcastZ32(0xffff0000), bcastZ32(0x7f7f7f7f)
		one = stepKind{32, func(off int) {
			x := ZMM()
			VMOVDQU16(Mem{Base: p, Disp: off}, x)
			a.groupBF16(x, himask, c7f7f)
		}}
	case f16:
		one = stepKind{16, func(off int) {
			x := ZMM()
			VCVTPH2PS(Mem{Base: p, Disp: off}, x)
			a.groupF32(x, nil, nil)
		}}
	case f64:
		one = stepKind{8, func(off int) {
			x := ZMM()
			VMOVUPD(Mem{Base: p, Disp: off}, x)
			a.groupF64(x)
		}}
	}
	unroll := map[dtype]int{f32: 2, bf16: 1, f16: 2, f64: 4}[dt]
	bytes := one.elems * dt.size()
	if unroll > 1 {
		Label("loop")
		CMPQ(n, U32(unroll*one.elems))
		JB(LabelRef("single"))
		for u := 0; u < unroll; u++ {
			one.emit(u * bytes)
		}
		ADDQ(U32(unroll*bytes), p)
		SUBQ(U32(unroll*one.elems), n)
		JMP(LabelRef("loop"))
	}
	Label("single")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	one.emit(0)
	ADDQ(U32(bytes), p)
	SUBQ(U32(one.elems), n)
	JMP(LabelRef("single"))
	Label("done")
	Load(Param("out"), out)
	a.store(out)
}

// ---------------------------------------------------------------- AVX2 moments

// acc2 holds the accumulators of an AVX2 moments kernel. AVX2 compares give
// vector masks cheaply, so every vector counts its zeros and negative zeros
// into vector counters (VPCMPEQ, VPSUB); a vector with no NaN or infinity
// (VPTEST of the non-finite mask, a branch rarely taken) is added unmasked,
// and one with some goes out of line, where its non-finite elements are
// counted (VMOVMSK and POPCNT into general-purpose registers), turned into
// NaNs that MINPS/MAXPS skip (they return their second source, the
// accumulator, when either is NaN), and masked out of the sums. Constants
// live in memory.
type acc2 struct {
	wide            bool
	shift           VecVirtual
	s1, s2          [2]VecVirtual
	lo, hi          VecVirtual
	zeros, negZeros VecVirtual   // vector counters (int32 lanes; int64 when wide)
	cnt             [3]GPVirtual // non-finite, NaN, +Inf
	abs, maxf, inf  Mem
	sign, zero      Mem
	deferred        []func()
	labels, next    int
}

func newAcc2(wide bool) *acc2 {
	a := &acc2{wide: wide}
	sx := XMM()
	Load(Param("shift"), sx)
	a.shift = YMM()
	VBROADCASTSD(sx, a.shift)
	for i := range a.s1 {
		a.s1[i], a.s2[i] = YMM(), YMM()
		VXORPD(a.s1[i], a.s1[i], a.s1[i])
		VXORPD(a.s2[i], a.s2[i], a.s2[i])
	}
	a.zeros, a.negZeros = YMM(), YMM()
	VPXOR(a.zeros, a.zeros, a.zeros)
	VPXOR(a.negZeros, a.negZeros, a.negZeros)
	for i := range a.cnt {
		a.cnt[i] = GP64()
		XORQ(a.cnt[i], a.cnt[i])
	}
	a.lo, a.hi = YMM(), YMM()
	if wide {
		a.abs, a.maxf, a.inf, a.sign, a.zero = vconst64(1<<63-1), vconst64(0x7fefffffffffffff), vconst64(0x7ff0000000000000), vconst64(1<<63), vconst64(0)
		VMOVUPD(vconst64(0x7ff0000000000000), a.lo)
		VMOVUPD(vconst64(0xfff0000000000000), a.hi)
	} else {
		a.abs, a.maxf, a.inf, a.sign, a.zero = vconst32(1<<31-1), vconst32(0x7f7fffff), vconst32(0x7f800000), vconst32(1<<31), vconst32(0)
		VMOVUPS(vconst32(0x7f800000), a.lo)
		VMOVUPS(vconst32(0xff800000), a.hi)
	}
	return a
}

// count adds the set lanes of mask to counter i.
func (a *acc2) count(mask VecVirtual, i int) {
	r := GP64()
	if a.wide {
		VMOVMSKPD(mask, r.As32())
	} else {
		VMOVMSKPS(mask, r.As32())
	}
	POPCNTL(r.As32(), r.As32())
	ADDQ(r, a.cnt[i])
}

// classify counts the zeros and negative zeros of x and returns the mask of
// its non-finite elements.
func (a *acc2) classify(x VecVirtual) VecVirtual {
	gt, eq, sub := VPCMPGTD, VPCMPEQD, VPSUBD
	if a.wide {
		gt, eq, sub = VPCMPGTQ, VPCMPEQQ, VPSUBQ
	}
	ab, nf, t := YMM(), YMM(), YMM()
	VPAND(a.abs, x, ab)
	gt(a.maxf, ab, nf)
	eq(a.zero, ab, t)
	sub(t, a.zeros, a.zeros) // a mask lane is -1
	eq(a.sign, x, t)
	sub(t, a.negZeros, a.negZeros)
	return nf
}

// specials counts the non-finite, NaN and +Inf elements of x (nf its
// non-finite mask) and returns x with the non-finite ones made NaN.
func (a *acc2) specials(x, nf VecVirtual) VecVirtual {
	gt, eq := VPCMPGTD, VPCMPEQD
	if a.wide {
		gt, eq = VPCMPGTQ, VPCMPEQQ
	}
	a.count(nf, 0)
	ab, t := YMM(), YMM()
	VPAND(a.abs, x, ab)
	gt(a.inf, ab, t)
	a.count(t, 1)
	eq(a.inf, x, t)
	a.count(t, 2)
	xn := YMM()
	VPOR(nf, x, xn)
	return xn
}

// branch is acc512.branch for AVX2: VPTEST of the non-finite mask.
func (a *acc2) branch(nf VecVirtual, fast, slow func()) {
	a.labels++
	slowL, joinL := fmt.Sprintf("nonfinite%d", a.labels), fmt.Sprintf("join%d", a.labels)
	VPTEST(nf, nf)
	JNZ(LabelRef(slowL))
	fast()
	Label(joinL)
	a.deferred = append(a.deferred, func() {
		Label(slowL)
		slow()
		JMP(LabelRef(joinL))
	})
}

// sumsPD adds the float64 values d (already shifted) to accumulator pair i.
func (a *acc2) sumsPD(d VecVirtual, i int) {
	VADDPD(d, a.s1[i], a.s1[i])
	VFMADD231PD(d, d, a.s2[i])
}

// groupF32 processes the 8 float32 values of x; lowMem and highMem, when
// not nil, are the same values in memory (4 each).
func (a *acc2) groupF32(x VecVirtual, lowMem, highMem *Mem) {
	nf := a.classify(x)
	i := a.next
	a.next = (a.next + 1) % 2
	widen := func(v VecVirtual, mem bool) (VecVirtual, VecVirtual) {
		xl, xh := YMM(), YMM()
		if mem && lowMem != nil {
			VCVTPS2PD(*lowMem, xl)
			VCVTPS2PD(*highMem, xh)
			return xl, xh
		}
		VCVTPS2PD(v.AsX(), xl)
		t := XMM()
		VEXTRACTF128(U8(1), v, t)
		VCVTPS2PD(t, xh)
		return xl, xh
	}
	a.branch(nf, func() {
		VMINPS(a.lo, x, a.lo)
		VMAXPS(a.hi, x, a.hi)
		xl, xh := widen(x, true)
		for _, d := range []VecVirtual{xl, xh} {
			VSUBPD(a.shift, d, d)
			a.sumsPD(d, i)
		}
	}, func() {
		xn := a.specials(x, nf)
		// MINPS returns its second source when either is NaN: the
		// accumulator.
		VMINPS(a.lo, xn, a.lo)
		VMAXPS(a.hi, xn, a.hi)
		xl, xh := widen(xn, false)
		for _, d := range []VecVirtual{xl, xh} {
			VSUBPD(a.shift, d, d)
			m := YMM()
			VCMPPD(U8(7), d, d, m) // ordered: not a masked NaN
			VANDPD(m, d, d)
			a.sumsPD(d, i)
		}
	})
}

// groupF64 processes the 4 float64 values of x.
func (a *acc2) groupF64(x VecVirtual) {
	nf := a.classify(x)
	i := a.next
	a.next = (a.next + 1) % 2
	a.branch(nf, func() {
		VMINPD(a.lo, x, a.lo)
		VMAXPD(a.hi, x, a.hi)
		d := YMM()
		VSUBPD(a.shift, x, d)
		a.sumsPD(d, i)
	}, func() {
		xn := a.specials(x, nf)
		VMINPD(a.lo, xn, a.lo)
		VMAXPD(a.hi, xn, a.hi)
		d := YMM()
		VSUBPD(a.shift, x, d)
		VANDNPD(d, nf, d)
		a.sumsPD(d, i)
	})
}

// sumCount2 reduces a vector counter to a general-purpose register.
func (a *acc2) sumCount2(c VecVirtual) Register {
	x := XMM()
	VEXTRACTI128(U8(1), c, x)
	t := XMM()
	r := GP64()
	if a.wide {
		VPADDQ(x, c.AsX(), x)
		VPSHUFD(U8(0x4e), x, t)
		VPADDQ(t, x, x)
		VMOVQ(x, r)
		return r
	}
	VPADDD(x, c.AsX(), x)
	VPSHUFD(U8(0x4e), x, t)
	VPADDD(t, x, x)
	VPSHUFD(U8(0xb1), x, t)
	VPADDD(t, x, x)
	VMOVD(x, r.As32())
	return r
}

// store writes the results to out and returns, then writes the
// out-of-line blocks.
func (a *acc2) store(out Register) {
	VADDPD(a.s1[1], a.s1[0], a.s1[0])
	storeSD(sumPD256(a.s1[0]), out, offS1)
	VADDPD(a.s2[1], a.s2[0], a.s2[0])
	storeSD(sumPD256(a.s2[0]), out, offS2)
	if a.wide {
		storeSD(minmaxPD256(a.lo, VMINPD), out, offLo)
		storeSD(minmaxPD256(a.hi, VMAXPD), out, offHi)
	} else {
		storeSD(minmaxPS256(a.lo, VMINPS), out, offLo)
		storeSD(minmaxPS256(a.hi, VMAXPS), out, offHi)
	}
	MOVQ(a.sumCount2(a.zeros), Mem{Base: out, Disp: offZeros})
	MOVQ(a.sumCount2(a.negZeros), Mem{Base: out, Disp: offNegZeros})
	for i, off := range []int{offNonFinite, offNaN, offPosInf} {
		MOVQ(a.cnt[i], Mem{Base: out, Disp: off})
	}
	VZEROUPPER()
	RET()
	for _, f := range a.deferred {
		f()
	}
}

// moments2 writes the AVX2 moments kernel of dt, contiguous or strided
// (same gather rules as moments512, with 7·stride fitting in an int32).
func moments2(dt dtype, strided bool) {
	name := "moments" + dt.name()
	sig := "func(p *byte, n int, shift float64, out *part)"
	if strided {
		name += "Stride"
		sig = "func(p *byte, n, stride int, shift float64, out *part)"
	}
	TEXT(name+"AVX2", NOSPLIT, sig)
	momentsDoc(name+"AVX2", dt, strided)
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	a := newAcc2(dt == f64)
	out := GP64()

	if strided {
		s := GP64()
		Load(Param("stride"), s)
		sx := XMM()
		VMOVD(s.As32(), sx)
		lanes := 8
		if dt == f64 {
			lanes = 4
		}
		idx := YMM()
		VPBROADCASTD(sx, idx)
		VPMULLD(iota32(), idx, idx)
		step := GP64()
		MOVQ(s, step)
		SHLQ(U8(map[int]uint8{8: 3, 4: 2}[lanes]), step)
		Label("loop")
		CMPQ(n, U32(lanes))
		JB(LabelRef("done"))
		mask, x := YMM(), YMM()
		VPCMPEQD(mask, mask, mask)
		switch dt {
		case f64:
			VXORPD(x, x, x)
			VGATHERDPD(mask, Mem{Base: p, Index: idx.AsX(), Scale: 1}, x)
			a.groupF64(x)
		default:
			VPXOR(x, x, x)
			VPGATHERDD(mask, Mem{Base: p, Index: idx, Scale: 1}, x)
			switch dt {
			case bf16:
				VPSLLD(U8(16), x, x)
			case f16:
				VPSHUFB(packWords(), x, x)
				VPERMQ(U8(0x08), x, x)
				VCVTPH2PS(x.AsX(), x)
			}
			a.groupF32(x, nil, nil)
		}
		ADDQ(step, p)
		SUBQ(U32(lanes), n)
		JMP(LabelRef("loop"))
		Label("done")
		Load(Param("out"), out)
		a.store(out)
		return
	}

	var elems int
	var emit func()
	switch dt {
	case f32:
		elems = 8
		emit = func() {
			x := YMM()
			VMOVUPS(Mem{Base: p}, x)
			lo, hi := Mem{Base: p}, Mem{Base: p, Disp: 16}
			a.groupF32(x, &lo, &hi)
		}
	case bf16:
		elems = 16
		emit = func() {
			x, zero, lo, hi := YMM(), YMM(), YMM(), YMM()
			VMOVDQU(Mem{Base: p}, x)
			VPXOR(zero, zero, zero)
			VPUNPCKLWD(x, zero, lo)
			VPUNPCKHWD(x, zero, hi)
			a.groupF32(lo, nil, nil)
			a.groupF32(hi, nil, nil)
		}
	case f16:
		elems = 8
		emit = func() {
			x := YMM()
			VCVTPH2PS(Mem{Base: p}, x)
			a.groupF32(x, nil, nil)
		}
	case f64:
		elems = 4
		emit = func() {
			x := YMM()
			VMOVUPD(Mem{Base: p}, x)
			a.groupF64(x)
		}
	}
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	emit()
	ADDQ(U32(elems*dt.size()), p)
	SUBQ(U32(elems), n)
	JMP(LabelRef("loop"))
	Label("done")
	Load(Param("out"), out)
	a.store(out)
}

// ---------------------------------------------------------------- AdamW

// Offsets of adamPart.
const (
	offAdamSum   = 0
	offAdamCount = 8
)

// adam512 writes adamF32AVX512: over n pairs (m, v) of float32 (n a
// multiple of 16), u = (m·k1) / (sqrt(v)·k2 + eps) in float64, rounded
// at every operation as the Go reference; Σu² and the count over the
// finite u.
func adam512() {
	TEXT("adamF32AVX512", NOSPLIT, "func(m, v *byte, n int, k1, k2, eps float64, out *adamPart)")
	Doc("adamF32AVX512 writes to *out what AdamF32Generic returns for n pairs of float32 (n a multiple of 16).")
	Pragma("noescape")
	pm := Load(Param("m"), GP64())
	pv := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	var k [3]VecVirtual
	for i, name := range []string{"k1", "k2", "eps"} {
		x := XMM()
		Load(Param(name), x)
		k[i] = ZMM()
		VBROADCASTSD(x, k[i])
	}
	one := bcastZ32(1)
	acc := [2]VecVirtual{ZMM(), ZMM()}
	cnt := ZMM()
	for _, z := range acc {
		VXORPD(z, z, z)
	}
	VPXORD(cnt, cnt, cnt)
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for h := 0; h < 2; h++ {
		a, r := ZMM(), ZMM()
		VCVTPS2PD(Mem{Base: pm, Disp: 32 * h}, a)
		VCVTPS2PD(Mem{Base: pv, Disp: 32 * h}, r)
		VMULPD(k[0], a, a)
		VSQRTPD(r, r)
		VMULPD(k[1], r, r)
		VADDPD(k[2], r, r)
		VDIVPD(r, a, a)
		knf, kf := K(), K()
		VFPCLASSPDZ(U8(0x99), a, knf)
		KNOTB(knf, kf)
		VFMADD231PD(a, a, kf, acc[h])
		VPADDD(one, cnt, kf, cnt)
	}
	ADDQ(U32(64), pm)
	ADDQ(U32(64), pv)
	SUBQ(U32(16), n)
	JMP(LabelRef("loop"))
	Label("done")
	out := Load(Param("out"), GP64())
	VADDPD(acc[1], acc[0], acc[0])
	storeSD(sumPD512(acc[0]), out, offAdamSum)
	storeD(sumD512(cnt), out, offAdamCount)
	VZEROUPPER()
	RET()
}

// adam2 writes adamF32AVX2, adam512 with AVX2 (n a multiple of 8).
func adam2() {
	TEXT("adamF32AVX2", NOSPLIT, "func(m, v *byte, n int, k1, k2, eps float64, out *adamPart)")
	Doc("adamF32AVX2 writes to *out what AdamF32Generic returns for n pairs of float32 (n a multiple of 8).")
	Pragma("noescape")
	pm := Load(Param("m"), GP64())
	pv := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	var k [3]VecVirtual
	for i, name := range []string{"k1", "k2", "eps"} {
		x := XMM()
		Load(Param(name), x)
		k[i] = YMM()
		VBROADCASTSD(x, k[i])
	}
	acc := [2]VecVirtual{YMM(), YMM()}
	for _, y := range acc {
		VXORPD(y, y, y)
	}
	cnt := GP64()
	XORQ(cnt, cnt)
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for h := 0; h < 2; h++ {
		a, r := YMM(), YMM()
		VCVTPS2PD(Mem{Base: pm, Disp: 16 * h}, a)
		VCVTPS2PD(Mem{Base: pv, Disp: 16 * h}, r)
		VMULPD(k[0], a, a)
		VSQRTPD(r, r)
		VMULPD(k[1], r, r)
		VADDPD(k[2], r, r)
		VDIVPD(r, a, a)
		t := YMM()
		VSUBPD(a, a, t)        // 0 when a is finite, NaN otherwise
		VCMPPD(U8(7), t, t, t) // ordered: a finite
		VANDPD(t, a, a)
		VFMADD231PD(a, a, acc[h])
		r2 := GP64()
		VMOVMSKPD(t, r2.As32())
		POPCNTL(r2.As32(), r2.As32())
		ADDQ(r2, cnt)
	}
	ADDQ(U32(32), pm)
	ADDQ(U32(32), pv)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop"))
	Label("done")
	out := Load(Param("out"), GP64())
	VADDPD(acc[1], acc[0], acc[0])
	storeSD(sumPD256(acc[0]), out, offAdamSum)
	MOVQ(cnt, Mem{Base: out, Disp: offAdamCount})
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------- fused moments and AdamW

// Offsets of momentsAdamPart (asm_amd64.go): the part of m, the part of v,
// then Σu² and the count of finite u.
const (
	offPartM      = 0
	offPartV      = 72
	offFusedSum   = 144
	offFusedCount = 152
)

// momentsAdam512 writes momentsAdamF32AVX512: over n pairs (m, v) of
// float32 (n a multiple of 16), the moments of m and of v (as
// momentsF32AVX512 with shiftM and shiftV) and Σu², count (as
// adamF32AVX512), reading each pair once. The caller guarantees that a u
// computed from a finite m and a finite, non-negative v is finite (eps ≥
// 1e-200, k1 ≤ 1e60, k2 finite): a vector of 16 pairs with such values only
// (the usual case, tested with one opmask per tensor) adds its u unmasked
// and counts 16; any other vector goes out of line, where every class is
// counted and every non-finite value masked. The non-finite, NaN and +Inf
// counts are added to *out, which the caller zeroes.
//
// With withCRC it writes momentsAdamF32CRCAVX512, which also folds the bytes
// of m and of v into z[0] and z[1] for their CRC-32 (see foldCRC).
func momentsAdam512(withCRC bool) {
	if withCRC {
		TEXT("momentsAdamF32CRCAVX512", NOSPLIT, "func(m, v *byte, n int, shiftM, shiftV, k1, k2, eps float64, out *momentsAdamPart, z *[2][64]byte)")
		Doc("momentsAdamF32CRCAVX512 is momentsAdamF32AVX512 (n a multiple of 16, at",
			"least 16) folding, as it reads them, the 4n bytes of m into z[0] and",
			"those of v into z[1] for their CRC-32: on entry z[i] holds what is",
			"XORed into the first 64 bytes (the initial CRC register), on return",
			"64 bytes whose CRC-32 from a zero register is that of the bytes (see",
			"foldCRC). Requires VPCLMULQDQ.")
	} else {
		TEXT("momentsAdamF32AVX512", NOSPLIT, "func(m, v *byte, n int, shiftM, shiftV, k1, k2, eps float64, out *momentsAdamPart)")
		Doc("momentsAdamF32AVX512 writes to *out, for n pairs of float32 (n a multiple",
			"of 16), what F32Generic adds to a Moments for m (shift shiftM) and for v",
			"(shift shiftV) and what AdamF32Generic returns, in one pass. The caller",
			"guarantees that u is finite whenever m and v are finite and v is not",
			"negative (see MomentsAdamF32).")
	}
	Pragma("noescape")
	pm := Load(Param("m"), GP64())
	pv := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	out := Load(Param("out"), GP64())
	var crc *foldCRC
	if withCRC {
		crc = newFoldCRC(Load(Param("z"), GP64()), []Register{pm, pv}, []int{64, 64})
	}
	bc := func(name string) VecVirtual {
		b, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		z := ZMM()
		VBROADCASTSD(b.Addr, z) // from memory: no legacy-SSE load into a high register
		return z
	}
	abs, one := bcastZ32(0x7fffffff), bcastZ32(1)
	type tens struct {
		shift, s1, s2, lo, hi, notZero VecVirtual
		base                           int
		p                              Register
	}
	var ts [2]*tens
	for i, name := range []string{"shiftM", "shiftV"} {
		t := &tens{shift: bc(name), s1: ZMM(), s2: ZMM(), notZero: ZMM(), base: []int{offPartM, offPartV}[i], p: []Register{pm, pv}[i]}
		VXORPD(t.s1, t.s1, t.s1)
		VXORPD(t.s2, t.s2, t.s2)
		VPXORD(t.notZero, t.notZero, t.notZero)
		t.lo, t.hi = bcastZ32(0x7f800000), bcastZ32(0xff800000)
		ts[i] = t
	}
	k1, k2, eps := bc("k1"), bc("k2"), bc("eps")
	acc := [2]VecVirtual{ZMM(), ZMM()}
	for _, z := range acc {
		VXORPD(z, z, z)
	}
	fastN := GP64()
	XORQ(fastN, fastN)

	// popAdd adds the set bits of k (16 or 8 lanes) to the int64 at off.
	popAdd := func(k Register, off int, byteMask bool) {
		r := GP32()
		if byteMask {
			KMOVB(k, r)
		} else {
			KMOVW(k, r)
		}
		POPCNTL(r, r)
		ADDQ(r.As64(), Mem{Base: out, Disp: off})
	}
	zeros := func(t *tens, x VecVirtual) {
		ab, z := ZMM(), ZMM()
		VPANDD(abs, x, ab)
		VPMINUD(one, ab, z)
		VPADDD(z, t.notZero, t.notZero)
	}
	// half adds pair half h (8 elements) of the vector at the pointers:
	// u, and the shifted sums of m and v; with masks, only the lanes of
	// kfm/kfv (finite m, v) and of the finite u.
	half := func(h int, kfm, kfv Register) {
		ml, vl := ZMM(), ZMM()
		VCVTPS2PD(Mem{Base: pm, Disp: 32 * h}, ml)
		VCVTPS2PD(Mem{Base: pv, Disp: 32 * h}, vl)
		a, r := ZMM(), ZMM()
		VMULPD(k1, ml, a)
		VSQRTPD(vl, r)
		VMULPD(k2, r, r)
		VADDPD(eps, r, r)
		VDIVPD(r, a, a)
		if kfm == nil {
			VFMADD231PD(a, a, acc[h])
		} else {
			knu, ku := K(), K()
			VFPCLASSPDZ(U8(0x99), a, knu)
			KNOTB(knu, ku)
			VFMADD231PD(a, a, ku, acc[h])
			popAdd(ku, offFusedCount, true)
		}
		for i, x := range []VecVirtual{ml, vl} {
			t := ts[i]
			if kfm == nil {
				VSUBPD(t.shift, x, x)
			} else {
				k := []Register{kfm, kfv}[i]
				if h == 1 {
					kh := K()
					KSHIFTRW(U8(8), k, kh)
					k = kh
				}
				VSUBPD_Z(t.shift, x, k, x)
			}
			VADDPD(x, t.s1, t.s1)
			VFMADD231PD(x, x, t.s2)
		}
	}

	Label("loop")
	if crc == nil {
		TESTQ(n, n)
		JZ(LabelRef("done"))
	}
	xm, xv := ZMM(), ZMM()
	VMOVUPS(Mem{Base: pm}, xm)
	VMOVUPS(Mem{Base: pv}, xv)
	km, kv, kany := K(), K(), K()
	VFPCLASSPSZ(U8(0x99), xm, km) // NaN, ±Inf
	VFPCLASSPSZ(U8(0xd9), xv, kv) // NaN, ±Inf, negative finite
	zeros(ts[0], xm)
	zeros(ts[1], xv)
	KORW(km, kv, kany)
	KORTESTW(kany, kany)
	JNZ(LabelRef("special"))
	for i, x := range []VecVirtual{xm, xv} {
		VRANGEPS(U8(0x04), x, ts[i].lo, ts[i].lo)
		VRANGEPS(U8(0x05), x, ts[i].hi, ts[i].hi)
	}
	half(0, nil, nil)
	half(1, nil, nil)
	ADDQ(U32(16), fastN)
	Label("join")
	ADDQ(U32(64), pm)
	ADDQ(U32(64), pv)
	SUBQ(U32(16), n)
	if crc != nil {
		// The CRC's fold runs a block behind the loads of the loop:
		// newFoldCRC took the first block, this the next one, if any.
		JZ(LabelRef("done"))
		crc.next()
	}
	JMP(LabelRef("loop"))

	Label("done")
	if crc != nil {
		crc.store()
	}
	for _, t := range ts {
		storeSD(sumPD512(t.s1), out, t.base+offS1)
		storeSD(sumPD512(t.s2), out, t.base+offS2)
		storeSD(minmaxPS512(t.lo, rangePS(0x04)), out, t.base+offLo)
		storeSD(minmaxPS512(t.hi, rangePS(0x05)), out, t.base+offHi)
		nn := GP64()
		Load(Param("n"), nn)
		SUBQ(sumCount(t.notZero, 32), nn)
		MOVQ(nn, Mem{Base: out, Disp: t.base + offZeros})
	}
	VADDPD(acc[1], acc[0], acc[0])
	storeSD(sumPD512(acc[0]), out, offFusedSum)
	ADDQ(fastN, Mem{Base: out, Disp: offFusedCount})
	VZEROUPPER()
	RET()

	// A vector with a non-finite m or v, or a negative v.
	Label("special")
	knfv := K()
	VFPCLASSPSZ(U8(0x99), xv, knfv)
	kf := [2]Register{K(), K()}
	for i, c := range []struct {
		x   VecVirtual
		knf Register
	}{{xm, km}, {xv, knfv}} {
		t := ts[i]
		popAdd(c.knf, t.base+offNonFinite, false)
		k := K()
		VFPCLASSPSZ(U8(0x81), c.x, k)
		popAdd(k, t.base+offNaN, false)
		VFPCLASSPSZ(U8(0x08), c.x, k)
		popAdd(k, t.base+offPosInf, false)
		KNOTW(c.knf, kf[i])
		VRANGEPS(U8(0x04), c.x, t.lo, kf[i], t.lo)
		VRANGEPS(U8(0x05), c.x, t.hi, kf[i], t.hi)
	}
	half(0, kf[0], kf[1])
	half(1, kf[0], kf[1])
	JMP(LabelRef("join"))
}

// ---------------------------------------------------------------- CRC-32 folding

// foldCRC folds the streams a kernel reads for their CRC-32 (IEEE), as
// internal/crc's kernel does with four 512-bit lanes: an accumulator per
// stream (a ZMM for a stream read 64 bytes a step, a YMM for 32), each of
// its 128-bit lanes carried forward by the accumulator's width (two
// carry-less multiplications by x^(D±32) mod P, reflected) and XORed with
// the next step's bytes. What is left is 64 or 32 bytes congruent, modulo
// P, to the stream (with the initial register XORed into its first bytes),
// whose CRC-32 the caller takes from a zero register (crc.Finish). The
// multiplications of one step depend on the previous step only, so they
// overlap with the kernel's own work.
type foldCRC struct {
	z       Register // *[n][64]byte: the initial registers, then the results
	streams []*foldStream
}

type foldStream struct {
	p    Register   // the stream's pointer (at the step just loaded)
	step int        // bytes a step: 64 or 32
	k    VecVirtual // the folding constants in every lane
	acc  VecVirtual
}

// foldConstants returns the data holding crc.FoldConstants(d), the two
// constants that carry a 128-bit lane d bits forward.
func foldConstants(d int) Mem {
	name := fmt.Sprintf("foldk%d", d)
	if m, ok := constCache[name]; ok {
		return m
	}
	lo, hi := crc.FoldConstants(d)
	m := GLOBL(name, RODATA|NOPTR)
	DATA(0, U64(lo))
	DATA(8, U64(hi))
	constCache[name] = m
	return m
}

// newFoldCRC starts a fold of the streams at the pointers p, each read
// steps[i] bytes (64 or 32) a step: it loads the constants and starts each
// accumulator with the stream's first step XOR the initial register in
// z[i] (the caller guarantees at least one step).
func newFoldCRC(z Register, p []Register, steps []int) *foldCRC {
	f := &foldCRC{z: z}
	for i, ptr := range p {
		st := &foldStream{p: ptr, step: steps[i]}
		if st.step == 64 {
			st.k, st.acc = ZMM(), ZMM()
			VBROADCASTI32X4(foldConstants(512), st.k)
			VMOVDQU64(Mem{Base: z, Disp: 64 * i}, st.acc)
			VPXORD(Mem{Base: ptr}, st.acc, st.acc)
		} else {
			st.k, st.acc = YMM(), YMM()
			VBROADCASTI128(foldConstants(256), st.k)
			VMOVDQU(Mem{Base: z, Disp: 64 * i}, st.acc)
			VPXOR(Mem{Base: ptr}, st.acc, st.acc)
		}
		f.streams = append(f.streams, st)
	}
	return f
}

// clmul emits VPCLMULQDQ on 256- or 512-bit registers, which avo v0.5.0
// knows only in its 128-bit form (Go's assembler knows all three).
func clmul(imm uint8, k, x, dst VecVirtual) {
	Instruction(&ir.Instruction{
		Opcode:   "VPCLMULQDQ",
		Operands: []Op{U8(imm), k, x, dst},
		Inputs:   []Op{k, x},
		Outputs:  []Op{dst},
		ISA:      []string{"VPCLMULQDQ"},
	})
}

// next folds each accumulator forward and XORs the step at its stream's
// pointer into it.
func (f *foldCRC) next() {
	for _, st := range f.streams {
		var hi VecVirtual
		if st.step == 64 {
			hi = ZMM()
		} else {
			hi = YMM()
		}
		clmul(0x11, st.k, st.acc, hi)
		clmul(0x00, st.k, st.acc, st.acc)
		VPTERNLOGD(U8(0x96), Mem{Base: st.p}, hi, st.acc)
	}
}

// store writes the accumulators to z.
func (f *foldCRC) store() {
	for i, st := range f.streams {
		if st.step == 64 {
			VMOVDQU64(st.acc, Mem{Base: f.z, Disp: 64 * i})
		} else {
			VMOVDQU(st.acc, Mem{Base: f.z, Disp: 64 * i})
		}
	}
}

// ---------------------------------------------------------------- rounding comparison

// rounded512 writes rounded{BF16,F16}AVX512: the number of the n float32
// master values (n a multiple of 16) that do not match the module value
// (bfloat16 or float16) when rounded to it with round-to-nearest-even: a
// module value matches when it is equal to the rounded master as a float
// (so +0 matches -0) or when both are NaN.
//
// With withCRC it writes rounded{BF16,F16}CRCAVX512, which also folds the
// bytes of master into z[0] and those of module into z[1] for their CRC-32s
// (see foldCRC).
func rounded512(dt dtype, withCRC bool) {
	if withCRC {
		TEXT("rounded"+dt.name()+"CRCAVX512", NOSPLIT, "func(master, module *byte, n int, z *[2][64]byte) int")
		Doc("rounded"+dt.name()+"CRCAVX512 is rounded"+dt.name()+"AVX512 (n a multiple of 16, at least 16)",
			"folding, as it reads them, the 4n bytes of master into z[0] and the 2n",
			"of module into the first 32 bytes of z[1] for their CRC-32s: on entry",
			"z[i] holds what is XORed into the first bytes (the initial CRC",
			"register), on return bytes whose CRC-32 from a zero register is that",
			"of the stream (see foldCRC). Requires VPCLMULQDQ.")
	} else {
		TEXT("rounded"+dt.name()+"AVX512", NOSPLIT, "func(master, module *byte, n int) int")
		Doc("rounded"+dt.name()+"AVX512 returns the number of mismatches among n elements (a multiple of 16),",
			"as Rounded"+dt.name()+"Generic counts them.")
	}
	Pragma("noescape")
	pm := Load(Param("master"), GP64())
	pd := Load(Param("module"), GP64())
	n := Load(Param("n"), GP64())
	matches := GP64()
	XORQ(matches, matches)
	var crc *foldCRC
	if withCRC {
		crc = newFoldCRC(Load(Param("z"), GP64()), []Register{pm, pd}, []int{64, 32})
	}
	var one, c7fff, cnan VecVirtual
	if dt == bf16 {
		one = bcastZ32(1)
		c7fff = bcastZ32(0x7fff)
		cnan = bcastZ32(0x7f80)
	} else {
		c7fff = bcastZ32(0x7fff7fff)
		cnan = bcastZ32(0x7c007c00)
	}
	Label("loop")
	if crc == nil {
		TESTQ(n, n)
		JZ(LabelRef("done"))
	}
	x := ZMM()
	VMOVUPS(Mem{Base: pm}, x)
	match := K()
	if dt == bf16 {
		g, r := ZMM(), ZMM()
		VPMOVZXWD(Mem{Base: pd}, g)
		// r = (x + 0x7fff + ((x >> 16) & 1)) >> 16
		VPSRLD(U8(16), x, r)
		VPANDD(one, r, r)
		VPADDD(x, r, r)
		VPADDD(c7fff, r, r)
		VPSRLD(U8(16), r, r)
		kmn, keq, kbz, kgn := K(), K(), K(), K()
		VFPCLASSPSZ(U8(0x81), x, kmn)
		VPCMPEQD(r, g, keq)
		t := ZMM()
		VPORD(r, g, t)
		VPTESTNMD(c7fff, t, kbz)
		VPANDD(c7fff, g, t)
		VPCMPUD(U8(6), cnan, t, kgn) // t > 0x7f80: module NaN
		// match = ((eq | bothZero) &^ masterNaN) | (masterNaN & moduleNaN)
		KORW(keq, kbz, match)
		KANDNW(match, kmn, match)
		KANDW(kmn, kgn, kgn)
		KORW(kgn, match, match)
	} else {
		r, g, t := YMM(), YMM(), YMM()
		VCVTPS2PH(U8(0), x, r) // round to nearest even
		VMOVDQU(Mem{Base: pd}, g)
		keq, kbz, krn, kgn := K(), K(), K(), K()
		VPCMPEQW(r, g, keq)
		VPOR(r, g, t)
		VPTESTNMW(c7fff.AsY(), t, kbz)
		VPAND(c7fff.AsY(), r, t)
		VPCMPUW(U8(6), cnan.AsY(), t, krn)
		VPAND(c7fff.AsY(), g, t)
		VPCMPUW(U8(6), cnan.AsY(), t, kgn)
		KORW(keq, kbz, match)
		KANDW(krn, kgn, kgn)
		KORW(kgn, match, match)
	}
	r := GP32()
	KMOVW(match, r)
	POPCNTL(r, r)
	ADDQ(r.As64(), matches)
	ADDQ(U32(64), pm)
	ADDQ(U32(32), pd)
	SUBQ(U32(16), n)
	if crc != nil {
		JZ(LabelRef("done")) // the fold runs a step behind the loads, as in momentsAdam512
		crc.next()
	}
	JMP(LabelRef("loop"))
	Label("done")
	if crc != nil {
		crc.store()
	}
	res := Load(Param("n"), GP64())
	SUBQ(matches, res)
	Store(res, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// rounded2 writes rounded{BF16,F16}AVX2, rounded512 with AVX2 and F16C (n
// a multiple of 8).
func rounded2(dt dtype) {
	TEXT("rounded"+dt.name()+"AVX2", NOSPLIT, "func(master, module *byte, n int) int")
	Doc("rounded"+dt.name()+"AVX2 returns the number of mismatches among n elements (a multiple of 8),",
		"as Rounded"+dt.name()+"Generic counts them.")
	Pragma("noescape")
	pm := Load(Param("master"), GP64())
	pd := Load(Param("module"), GP64())
	n := Load(Param("n"), GP64())
	matches := GP64()
	XORQ(matches, matches)
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x := YMM()
	VMOVUPS(Mem{Base: pm}, x)
	r := GP64()
	if dt == bf16 {
		g, rr, t, mn, ok := YMM(), YMM(), YMM(), YMM(), YMM()
		VPMOVZXWD(Mem{Base: pd}, g)
		VPSRLD(U8(16), x, rr)
		VPAND(vconst32(1), rr, rr)
		VPADDD(x, rr, rr)
		VPADDD(vconst32(0x7fff), rr, rr)
		VPSRLD(U8(16), rr, rr)
		VPAND(vconst32(1<<31-1), x, mn)
		VPCMPGTD(vconst32(0x7f800000), mn, mn) // master NaN
		VPCMPEQD(rr, g, ok)                    // equal
		VPOR(rr, g, t)
		VPAND(vconst32(0x7fff), t, t)
		VPCMPEQD(vconst32(0), t, t) // both zero
		VPOR(t, ok, ok)
		VPANDN(ok, mn, ok) // &^ master NaN
		VPAND(vconst32(0x7fff), g, t)
		VPCMPGTD(vconst32(0x7f80), t, t) // module NaN
		VPAND(mn, t, t)
		VPOR(t, ok, ok)
		VMOVMSKPS(ok, r.As32())
		POPCNTL(r.As32(), r.As32())
	} else {
		rr, g, t, ok, t2 := XMM(), XMM(), XMM(), XMM(), XMM()
		VCVTPS2PH(U8(0), x, rr)
		VMOVDQU(Mem{Base: pd}, g)
		VPCMPEQW(rr, g, ok)
		VPOR(rr, g, t)
		VPAND(vconst32(0x7fff7fff), t, t)
		VPCMPEQW(vconst32(0), t, t)
		VPOR(t, ok, ok)
		VPAND(vconst32(0x7fff7fff), rr, t)
		VPCMPGTW(vconst32(0x7c007c00), t, t)
		VPAND(vconst32(0x7fff7fff), g, t2)
		VPCMPGTW(vconst32(0x7c007c00), t2, t2)
		VPAND(t2, t, t)
		VPOR(t, ok, ok)
		VPMOVMSKB(ok, r.As32())
		POPCNTL(r.As32(), r.As32())
		SHRQ(U8(1), r)
	}
	ADDQ(r, matches)
	ADDQ(U32(32), pm)
	ADDQ(U32(16), pd)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop"))
	Label("done")
	res := Load(Param("n"), GP64())
	SUBQ(matches, res)
	Store(res, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------- pairs (diff)

// Offsets of pairPart (asm_amd64.go).
const (
	offPairDD      = 0
	offPairAA      = 8
	offPairBB      = 16
	offPairAB      = 24
	offPairMax     = 32
	offPairPairs   = 40
	offPairChanged = 48
)

// pairs512 writes pairs{F32,BF16}AVX512: over n pairs (a, b) of contiguous
// elements (n a multiple of 16), the count of pairs where both are finite,
// the count of those where b != a, Σ(b−a)², Σa², Σb², Σab and max |b−a| over
// them, as PairsF32Generic and PairsBF16Generic define them. Each vector of
// 16 pairs gets the mask of its finite pairs (two VFPCLASSPS); the other
// lanes are zeroed in both, so they add nothing to the sums and the maximum
// and compare equal. Elements are widened to float64 (exactly) and summed in
// eight accumulators (four sums, two halves), with fused multiply-adds.
func pairs512(dt dtype) {
	TEXT("pairs"+dt.name()+"AVX512", NOSPLIT, "func(a, b *byte, n int, out *pairPart)")
	Doc("pairs" + dt.name() + "AVX512 writes to *out the sums over n pairs (a multiple of 16), as Pairs" + dt.name() + "Generic adds them.")
	Pragma("noescape")
	pa := Load(Param("a"), GP64())
	pb := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	var dd, aa, bb, ab [2]VecVirtual
	for h := 0; h < 2; h++ {
		dd[h], aa[h], bb[h], ab[h] = ZMM(), ZMM(), ZMM(), ZMM()
		for _, z := range []VecVirtual{dd[h], aa[h], bb[h], ab[h]} {
			VXORPD(z, z, z)
		}
	}
	mx := ZMM()
	VXORPD(mx, mx, mx)
	abs := bcastZ64(1<<63 - 1)
	pairs, changed := GP64(), GP64()
	XORQ(pairs, pairs)
	XORQ(changed, changed)
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x, y := ZMM(), ZMM()
	if dt == f32 {
		VMOVUPS(Mem{Base: pa}, x)
		VMOVUPS(Mem{Base: pb}, y)
	} else {
		VPMOVZXWD(Mem{Base: pa}, x)
		VPMOVZXWD(Mem{Base: pb}, y)
		VPSLLD(U8(16), x, x)
		VPSLLD(U8(16), y, y)
	}
	kx, ky, kc := K(), K(), K()
	VFPCLASSPSZ(U8(0x99), x, kx) // NaN or ±Inf
	VFPCLASSPSZ(U8(0x99), y, ky)
	KORW(kx, ky, kx)
	KNOTW(kx, kx) // finite pairs
	VMOVUPS_Z(x, kx, x)
	VMOVUPS_Z(y, kx, y)
	VCMPPS(U8(4), x, y, kc) // b != a (NEQ_UQ; -0 == +0)
	r := GP32()
	KMOVW(kx, r)
	POPCNTL(r, r)
	ADDQ(r.As64(), pairs)
	r = GP32()
	KMOVW(kc, r)
	POPCNTL(r, r)
	ADDQ(r.As64(), changed)
	for h := 0; h < 2; h++ {
		xd, yd, d := ZMM(), ZMM(), ZMM()
		if h == 0 {
			VCVTPS2PD(x.AsY(), xd)
			VCVTPS2PD(y.AsY(), yd)
		} else {
			xh, yh := YMM(), YMM()
			VEXTRACTF32X8(U8(1), x, xh)
			VEXTRACTF32X8(U8(1), y, yh)
			VCVTPS2PD(xh, xd)
			VCVTPS2PD(yh, yd)
		}
		VSUBPD(xd, yd, d) // b − a
		VFMADD231PD(d, d, dd[h])
		VFMADD231PD(xd, xd, aa[h])
		VFMADD231PD(yd, yd, bb[h])
		VFMADD231PD(xd, yd, ab[h])
		VPANDQ(abs, d, d)
		VMAXPD(d, mx, mx)
	}
	ADDQ(U32(16*dt.size()), pa)
	ADDQ(U32(16*dt.size()), pb)
	SUBQ(U32(16), n)
	JMP(LabelRef("loop"))
	Label("done")
	out := Load(Param("out"), GP64())
	for _, s := range []struct {
		acc [2]VecVirtual
		off int
	}{{dd, offPairDD}, {aa, offPairAA}, {bb, offPairBB}, {ab, offPairAB}} {
		VADDPD(s.acc[1], s.acc[0], s.acc[0])
		storeSD(sumPD512(s.acc[0]), out, s.off)
	}
	storeSD(minmaxPD512(mx, VMAXPD), out, offPairMax)
	MOVQ(pairs, Mem{Base: out, Disp: offPairPairs})
	MOVQ(changed, Mem{Base: out, Disp: offPairChanged})
	VZEROUPPER()
	RET()
}

// pairs2 writes pairs{F32,BF16}AVX2, pairs512 with AVX2 (n a multiple of
// 8): the non-finite pairs are found from the exponent bits with integer
// compares and zeroed with VPANDN.
func pairs2(dt dtype) {
	TEXT("pairs"+dt.name()+"AVX2", NOSPLIT, "func(a, b *byte, n int, out *pairPart)")
	Doc("pairs" + dt.name() + "AVX2 writes to *out the sums over n pairs (a multiple of 8), as Pairs" + dt.name() + "Generic adds them.")
	Pragma("noescape")
	pa := Load(Param("a"), GP64())
	pb := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	var dd, aa, bb, ab [2]VecVirtual
	for h := 0; h < 2; h++ {
		dd[h], aa[h], bb[h], ab[h] = YMM(), YMM(), YMM(), YMM()
		for _, y := range []VecVirtual{dd[h], aa[h], bb[h], ab[h]} {
			VXORPD(y, y, y)
		}
	}
	mx := YMM()
	VXORPD(mx, mx, mx)
	nonFinite, changed := GP64(), GP64()
	XORQ(nonFinite, nonFinite)
	XORQ(changed, changed)
	Label("loop")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	x, y := YMM(), YMM()
	if dt == f32 {
		VMOVUPS(Mem{Base: pa}, x)
		VMOVUPS(Mem{Base: pb}, y)
	} else {
		VPMOVZXWD(Mem{Base: pa}, x)
		VPMOVZXWD(Mem{Base: pb}, y)
		VPSLLD(U8(16), x, x)
		VPSLLD(U8(16), y, y)
	}
	nf, t := YMM(), YMM()
	VPAND(vconst32(0x7f800000), x, nf)
	VPCMPEQD(vconst32(0x7f800000), nf, nf) // a is NaN or ±Inf
	VPAND(vconst32(0x7f800000), y, t)
	VPCMPEQD(vconst32(0x7f800000), t, t)
	VPOR(t, nf, nf)
	VPANDN(x, nf, x) // zero the non-finite pairs
	VPANDN(y, nf, y)
	r := GP32()
	VMOVMSKPS(nf, r)
	POPCNTL(r, r)
	ADDQ(r.As64(), nonFinite)
	VCMPPS(U8(4), x, y, t) // b != a (NEQ_UQ; -0 == +0)
	r = GP32()
	VMOVMSKPS(t, r)
	POPCNTL(r, r)
	ADDQ(r.As64(), changed)
	for h := 0; h < 2; h++ {
		xd, yd, d := YMM(), YMM(), YMM()
		if h == 0 {
			VCVTPS2PD(x.AsX(), xd)
			VCVTPS2PD(y.AsX(), yd)
		} else {
			xh, yh := XMM(), XMM()
			VEXTRACTF128(U8(1), x, xh)
			VEXTRACTF128(U8(1), y, yh)
			VCVTPS2PD(xh, xd)
			VCVTPS2PD(yh, yd)
		}
		VSUBPD(xd, yd, d) // b − a
		VFMADD231PD(d, d, dd[h])
		VFMADD231PD(xd, xd, aa[h])
		VFMADD231PD(yd, yd, bb[h])
		VFMADD231PD(xd, yd, ab[h])
		VANDPD(vconst64(1<<63-1), d, d)
		VMAXPD(d, mx, mx)
	}
	ADDQ(U32(8*dt.size()), pa)
	ADDQ(U32(8*dt.size()), pb)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop"))
	Label("done")
	out := Load(Param("out"), GP64())
	for _, s := range []struct {
		acc [2]VecVirtual
		off int
	}{{dd, offPairDD}, {aa, offPairAA}, {bb, offPairBB}, {ab, offPairAB}} {
		VADDPD(s.acc[1], s.acc[0], s.acc[0])
		storeSD(sumPD256(s.acc[0]), out, s.off)
	}
	storeSD(minmaxPD256(mx, VMAXPD), out, offPairMax)
	total := Load(Param("n"), GP64())
	SUBQ(nonFinite, total)
	MOVQ(total, Mem{Base: out, Disp: offPairPairs})
	MOVQ(changed, Mem{Base: out, Disp: offPairChanged})
	VZEROUPPER()
	RET()
}

// momentsDoc writes the doc comment and pragma of a moments kernel.
func momentsDoc(name string, dt dtype, strided bool) {
	what := "contiguous"
	if strided {
		what = "every stride bytes"
	}
	Doc(fmt.Sprintf("%s overwrites *out with the moments of n %s elements", name, map[dtype]string{f32: "float32", bf16: "bfloat16", f16: "float16", f64: "float64"}[dt]),
		fmt.Sprintf("from p (%s; n a multiple of the kernel's step in momentsAsm), as", what),
		fmt.Sprintf("%sGeneric adds them to a Moments.", dt.name()))
	Pragma("noescape")
}
