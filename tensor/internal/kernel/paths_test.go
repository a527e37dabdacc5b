package kernel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/crc"

	"github.com/x448/float16"
)

// TestPaths checks the path bookkeeping: Generic first, Use switches and
// restores.
func TestPaths(t *testing.T) {
	ps := Paths()
	if len(ps) == 0 || ps[0] != Generic {
		t.Fatalf("Paths() = %v, want Generic first", ps)
	}
	t.Logf("paths on this CPU and build: %v (active %v); CRC-32 folded in the AdamW kernel: %v", ps, Active(), crc.Kernel())
	before := Active()
	for _, p := range ps {
		restore := Use(p)
		if Active() != p {
			t.Errorf("after Use(%v), Active() = %v", p, Active())
		}
		restore()
		if Active() != before {
			t.Errorf("restore after Use(%v) left %v, want %v", p, Active(), before)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Use of an unknown path did not panic")
		}
	}()
	Use(numPaths)
}

// TestPathsCapped reruns the tests of this package (but the longest,
// TestKernels, whose paths the parent run covers) in child processes with
// CKPTINSPECT_KERNELS capping the paths below the most capable one the CPU
// has, as on a CPU without them: AVX-512 unavailable (AVX2 and generic
// only), then the assembly unavailable (generic only). Each child must
// report exactly the capped paths, make the most capable of them active,
// and pass.
func TestPathsCapped(t *testing.T) {
	if os.Getenv("CKPTINSPECT_KERNELS") != "" {
		t.Skip("already capped")
	}
	ps := Paths()
	if len(ps) == 1 {
		t.Skip("only the generic path on this CPU and build")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(ps) - 2; i >= 0; i-- {
		capTo := ps[i]
		t.Run(capTo.String(), func(t *testing.T) {
			cmd := exec.Command(exe, "-test.count=1", "-test.run=^(Test|Fuzz)", "-test.skip=^(TestKernels|TestPathsCapped)$", "-test.v")
			cmd.Env = append(os.Environ(), "CKPTINSPECT_KERNELS="+capTo.String())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tests with CKPTINSPECT_KERNELS=%v: %v\n%s", capTo, err, out)
			}
			want := fmt.Sprintf("kernel paths tested: %v (", ps[:i+1])
			active := fmt.Sprintf("(active %v)", capTo)
			if !strings.Contains(string(out), want) || !strings.Contains(string(out), active) {
				t.Fatalf("tests with CKPTINSPECT_KERNELS=%v did not report %q and %q:\n%s", capTo, want, active, out)
			}
			line, _, _ := strings.Cut(string(out), "\n")
			t.Logf("%s; %d tests passed", line, strings.Count("\n"+string(out), "\n--- PASS: "))
		})
	}
}

// TestExhaustive16 runs every bfloat16 and float16 bit pattern, alone (64
// copies) and all together (contiguous and strided), through every path:
// classification, counts and extremes must match the per-element
// definition exactly.
func TestExhaustive16(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		for _, k := range kernels() {
			if k.name != "BF16" && k.name != "F16" {
				continue
			}
			// Each pattern alone.
			const copies = 64
			run := make([]byte, 2*copies)
			for u := 0; u < 1<<16; u++ {
				for i := 0; i < copies; i++ {
					binary.LittleEndian.PutUint16(run[2*i:], uint16(u))
				}
				x := k.dec(run)
				want := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				for i := 0; i < copies; i++ {
					want.Add(x, 0.5)
				}
				got := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				k.fn(run, copies, 2, 0.5, &got)
				if got.N != want.N || got.NaN != want.NaN || got.PosInf != want.PosInf || got.NegInf != want.NegInf ||
					got.Zeros != want.Zeros || !same(got.Min, want.Min) || !same(got.Max, want.Max) ||
					(want.N > 0 && !(math.Abs(got.S1-want.S1) <= 1e-13*math.Abs(want.S1) && math.Abs(got.S2-want.S2) <= 1e-13*want.S2)) {
					t.Fatalf("%s %#04x: got %+v, want %+v", k.name, u, got, want)
				}
			}
			// All patterns in one run, contiguous and every third slot.
			r := rand.New(rand.NewPCG(9, 10))
			perm := r.Perm(1 << 16)
			for _, stride := range []int{2, 6} {
				b := make([]byte, (1<<16-1)*stride+2)
				for i, u := range perm {
					binary.LittleEndian.PutUint16(b[i*stride:], uint16(u))
				}
				want, abs1 := refMoments(k, b, 1<<16, stride, 1)
				got := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				k.fn(b, 1<<16, stride, 1, &got)
				checkMoments(t, fmt.Sprintf("%s all patterns, stride %d", k.name, stride), got, want, abs1, 1e-13)
			}
		}
	})
}

// adamCase is an AdamW test input: float32 moments and the coefficients.
type adamCase struct {
	m, v        []byte
	n           int
	k1, k2, eps float64
}

// refAdam is the reference loop of AdamF32, with compensated sums.
func refAdam(c adamCase) (float64, int64) {
	var s, comp float64
	var count int64
	for i := 0; i < c.n; i++ {
		mi := float64(math.Float32frombits(binary.LittleEndian.Uint32(c.m[4*i:])))
		vi := float64(math.Float32frombits(binary.LittleEndian.Uint32(c.v[4*i:])))
		u := AdamU(mi, vi, c.k1, c.k2, c.eps)
		if math.IsNaN(u) || math.IsInf(u, 0) {
			continue
		}
		count++
		s, comp = neumaier(s, comp, u*u)
	}
	return s + comp, count
}

func checkAdam(t *testing.T, what string, c adamCase) {
	t.Helper()
	wantS, wantN := refAdam(c)
	gotS, gotN := AdamF32(c.m, c.v, c.n, c.k1, c.k2, c.eps)
	genS, genN := AdamF32Generic(c.m, c.v, c.n, c.k1, c.k2, c.eps)
	for _, r := range []struct {
		name string
		s    float64
		n    int64
	}{{"entry", gotS, gotN}, {"generic", genS, genN}} {
		if r.n != wantN {
			t.Fatalf("%s: %s count %d, want %d", what, r.name, r.n, wantN)
		}
		if d := math.Abs(r.s - wantS); !(d <= 1e-12*wantS+float64(c.n)*0x1p-1074) {
			t.Fatalf("%s: %s Σu² = %v, want %v", what, r.name, r.s, wantS)
		}
	}
}

func randomAdam(r *rand.Rand, n int, pSpecial float64) adamCase {
	c := adamCase{m: make([]byte, 4*n), v: make([]byte, 4*n), n: n, k1: 1 / (1 - math.Pow(0.9, 7)), k2: 1 / math.Sqrt(1-math.Pow(0.95, 7)), eps: 1e-8}
	specials := []uint32{0x7fc00000, 0xff800001, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x80000001, 0x7f7fffff, 0xbf800000}
	for i := 0; i < n; i++ {
		m := float32(r.NormFloat64() * 1e-3)
		v := float32(math.Abs(r.NormFloat64()) * 1e-6)
		mb, vb := math.Float32bits(m), math.Float32bits(v)
		if r.Float64() < pSpecial {
			mb = specials[r.IntN(len(specials))]
		}
		if r.Float64() < pSpecial {
			vb = specials[r.IntN(len(specials))]
		}
		binary.LittleEndian.PutUint32(c.m[4*i:], mb)
		binary.LittleEndian.PutUint32(c.v[4*i:], vb)
	}
	return c
}

// TestAdamF32 pins every path of AdamF32 to the reference loop: counts
// exactly, Σu² to 1e-12 relative.
func TestAdamF32(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000, asmBlockTest + 9} {
			for _, p := range []float64{0, 0.01, 0.5, 1} {
				for _, eps := range []float64{1e-8, 1e-15, 0} {
					c := randomAdam(r, n, p)
					c.eps = eps
					checkAdam(t, fmt.Sprintf("n=%d special=%v eps=%v", n, p, eps), c)
				}
			}
		}
		// Tight slices at odd offsets: a read past either end panics or
		// shows as a NaN guard.
		c := randomAdam(r, 200, 0.01)
		buf := make([]byte, 4*200+3+8)
		for i := range buf {
			buf[i] = 0xff
		}
		copy(buf[3:], c.m)
		c.m = buf[3 : 3+800 : 3+800]
		checkAdam(t, "misaligned", c)
	})
}

// roundedCase returns master values and module values that are mostly
// their rounding, with planted mismatches, ±0 swaps and NaN payloads.
func roundedCase(r *rand.Rand, n int, pMis float64, f16 bool) (master, module []byte) {
	master, module = make([]byte, 4*n), make([]byte, 2*n)
	specials := []uint32{0x7fc00000, 0xff800001, 0x7f800001, 0x7f800000, 0xff800000, 0, 0x80000000, 1, 0x477ff000, 0x477fefff, 0x33000000, 0x33000001, 0x387fc000}
	for i := 0; i < n; i++ {
		u := math.Float32bits(float32(r.NormFloat64()))
		if r.Float64() < 0.05 {
			u = specials[r.IntN(len(specials))]
		}
		if r.Float64() < 0.05 {
			u = r.Uint32()
		}
		var g uint16
		if f16 {
			g = RoundF16(u)
		} else {
			g = RoundBF16(u)
		}
		switch {
		case g&0x7fff == 0 && r.IntN(2) == 0:
			g ^= 0x8000 // -0 for +0 still matches
		case r.Float64() < pMis:
			g ^= uint16(1 + r.IntN(0xffff))
		}
		binary.LittleEndian.PutUint32(master[4*i:], u)
		binary.LittleEndian.PutUint16(module[2*i:], g)
	}
	return master, module
}

func sameRounded(a, b Rounded) bool {
	return a.Mismatch == b.Mismatch && a.First == b.First && same(a.MaxDiff, b.MaxDiff)
}

// TestRounded pins every path of RoundedBF16 and RoundedF16 to the
// generic loop, field for field, with and without CRC-32s to continue
// (then also to hash/crc32's).
func TestRounded(t *testing.T) { forPaths(t, checkRounded) }

func checkRounded(t *testing.T) {
	{
		r := rand.New(rand.NewPCG(13, 14))
		for _, f16 := range []bool{false, true} {
			fn, gen := RoundedBF16, RoundedBF16Generic
			if f16 {
				fn, gen = RoundedF16, RoundedF16Generic
			}
			for _, n := range []int{0, 1, 15, 16, 17, 64, 65, 1000, 2048, 2049, 5000, asmBlockTest + 33} {
				for _, p := range []float64{0, 1e-4, 0.01, 0.5, 1} {
					master, module := roundedCase(r, n, p, f16)
					got, want := fn(master, module, n, nil), gen(master, module, n)
					if !sameRounded(got, want) {
						t.Fatalf("f16=%v n=%d p=%v: got %+v, want %+v", f16, n, p, got, want)
					}
					start := [2]uint32{uint32(n) * 2654435761, ^uint32(n)}
					crcs := start
					if got := fn(master, module, n, &crcs); !sameRounded(got, want) {
						t.Fatalf("f16=%v n=%d p=%v: with CRC-32s got %+v, want %+v", f16, n, p, got, want)
					}
					if want := [2]uint32{crc32.Update(start[0], crc32.IEEETable, master[:4*n]), crc32.Update(start[1], crc32.IEEETable, module[:2*n])}; crcs != want {
						t.Fatalf("f16=%v n=%d p=%v: CRC-32s %08x, want %08x", f16, n, p, crcs, want)
					}
					// The generic loop against the definition.
					ref := Rounded{First: -1}
					for i := 0; i < n; i++ {
						x := math.Float32frombits(binary.LittleEndian.Uint32(master[4*i:]))
						g := binary.LittleEndian.Uint16(module[2*i:])
						var want, got float64
						if f16 {
							want = float64(float16.Fromfloat32(x).Float32())
							got = FromF16(g)
						} else {
							want, got = FromBF16(RoundBF16(math.Float32bits(x))), FromBF16(g)
						}
						if got == want || (got != got && want != want) {
							continue
						}
						ref.add(i, got-float64(x))
					}
					if !sameRounded(want, ref) {
						t.Fatalf("f16=%v n=%d p=%v: generic %+v, definition %+v", f16, n, p, want, ref)
					}
				}
			}
		}
	}
}

// TestRoundF16 checks RoundF16 against float16.Fromfloat32 and, on paths
// with assembly, against the F16C conversion (a master rounded by RoundF16
// must match its float16 on every path), around every float16 rounding
// boundary: all 2¹⁶ top halves with low halves near the halfway points.
func TestRoundF16(t *testing.T) {
	lows := []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x2001, 0x3fff, 0x7fff, 0x8000, 0x8001, 0xefff, 0xf000, 0xf001, 0xffff}
	n := 1 << 16 * len(lows)
	master, module := make([]byte, 4*n), make([]byte, 2*n)
	i := 0
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range lows {
			u := hi<<16 | lo
			g := RoundF16(u)
			x := math.Float32frombits(u)
			ref := float16.Fromfloat32(x)
			if x != x {
				if g&0x7fff <= 0x7c00 {
					t.Fatalf("RoundF16(%08x) = %04x, not a NaN", u, g)
				}
			} else if g != ref.Bits() {
				t.Fatalf("RoundF16(%08x) = %04x, float16 gives %04x", u, g, ref.Bits())
			}
			binary.LittleEndian.PutUint32(master[4*i:], u)
			binary.LittleEndian.PutUint16(module[2*i:], g)
			i++
		}
	}
	forPaths(t, func(t *testing.T) {
		if r := RoundedF16(master, module, n, nil); r.Mismatch != 0 {
			t.Fatalf("%d mismatches, first at %d (%08x)", r.Mismatch, r.First, binary.LittleEndian.Uint32(master[4*r.First:]))
		}
	})
}

// TestRoundBF16 checks RoundBF16 against an exact reference around every
// bfloat16 rounding boundary.
func TestRoundBF16(t *testing.T) {
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff} {
			u := hi<<16 | lo
			got := RoundBF16(u)
			if u&0x7fffffff > 0x7f800000 {
				if got != 0x7fc0 {
					t.Fatalf("NaN %08x -> %04x", u, got)
				}
				continue
			}
			want := uint16(hi)
			if lo > 0x8000 || lo == 0x8000 && hi&1 == 1 {
				want++
			}
			if got != want {
				t.Fatalf("RoundBF16(%08x) = %04x, want %04x", u, got, want)
			}
		}
	}
}

// TestAsmAVX2Only checks that the AVX2 functions of asm_amd64.s use no
// AVX-512 register or instruction, which would fault on CPUs without it.
func TestAsmAVX2Only(t *testing.T) {
	f, err := os.Open("asm_amd64.s")
	if os.IsNotExist(err) {
		t.Skip("no assembly")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bad := regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b|\.Z\b|^\s*(K[A-Z]+[BWDQ]|VFPCLASS|VPCMPU|VRANGE|VPTESTN?M|VPMOV[DQ][BW]\b|VEXTRACT[FI](32X8|64X4)|VMOVDQU(8|16|32|64)|VP(AND|OR|XOR|ANDN)[DQ]\b)`)
	var fn string
	functions := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if strings.HasPrefix(s, "TEXT ") {
			fn = s
			if strings.Contains(fn, "AVX2(SB)") {
				functions++
			}
			continue
		}
		if strings.Contains(fn, "AVX2(SB)") && bad.MatchString(s) {
			t.Errorf("asm_amd64.s:%d: AVX-512 in %s: %s", line, fn, strings.TrimSpace(s))
		}
	}
	if functions == 0 {
		t.Error("no AVX2 function found")
	}
}

// FuzzPaths feeds the same bytes, as every dtype with an assembly kernel,
// as AdamW moments, as master/module pairs and as the two sides of a diff,
// to every path, and requires them to agree with the generic code (the
// pair kernels: with the reference loop): counts, extremes and comparison
// results exactly, sums to 1e-12.
func FuzzPaths(f *testing.F) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{64, 200, 1100} {
		b := make([]byte, 8*n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b, uint8(n), 0.5)
	}
	f.Add(make([]byte, 4096), uint8(3), 0.0)
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, shift float64) {
		if math.IsNaN(shift) || math.IsInf(shift, 0) {
			shift = 0
		}
		ks := kernels()
		for _, k := range ks[:8] { // the float kernels and their generic twins
			if strings.HasSuffix(k.name, "Generic") {
				continue
			}
			stride := k.size * (1 + int(sel)%3)
			if len(data) < k.size {
				continue
			}
			n := (len(data)-k.size)/stride + 1
			b := data[:(n-1)*stride+k.size]
			var want Moments
			var abs1 float64
			func() {
				defer Use(Generic)()
				want = Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				k.fn(b, n, stride, shift, &want)
				for i := 0; i < n; i++ {
					if x := k.dec(b[i*stride:]); x-x == 0 {
						abs1 += math.Abs(x - shift)
					}
				}
			}()
			for _, p := range Paths()[1:] {
				got := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				func() {
					defer Use(p)()
					k.fn(b, n, stride, shift, &got)
				}()
				what := fmt.Sprintf("%s on %v, n=%d stride=%d", k.name, p, n, stride)
				if got.N != want.N || got.NaN != want.NaN || got.PosInf != want.PosInf || got.NegInf != want.NegInf ||
					got.Zeros != want.Zeros || !same(got.Min, want.Min) || !same(got.Max, want.Max) {
					t.Fatalf("%s: got %+v, generic %+v", what, got, want)
				}
				if abs1 > 1e300 || !(want.S2 < 1e300) {
					continue
				}
				if math.Abs(got.S1-want.S1) > 1e-12*abs1 || math.Abs(got.S2-want.S2) > 1e-12*want.S2+float64(n)*0x1p-1074 {
					t.Fatalf("%s: sums %v %v, generic %v %v", what, got.S1, got.S2, want.S1, want.S2)
				}
			}
		}
		// AdamW: the first and second halves as m and v.
		n := len(data) / 8
		c := adamCase{m: data[:4*n], v: data[4*n : 8*n], n: n, k1: 1 + float64(sel), k2: 1 + float64(sel)/7,
			eps: []float64{1e-8, 1e-15, 0, 1e-30}[sel%4]}
		var wantS float64
		var wantN int64
		func() {
			defer Use(Generic)()
			wantS, wantN = AdamF32(c.m, c.v, c.n, c.k1, c.k2, c.eps)
		}()
		for _, p := range Paths()[1:] {
			var gotS float64
			var gotN int64
			func() {
				defer Use(p)()
				gotS, gotN = AdamF32(c.m, c.v, c.n, c.k1, c.k2, c.eps)
			}()
			if gotN != wantN || !(math.Abs(gotS-wantS) <= 1e-12*wantS+float64(n)*0x1p-1074) {
				t.Fatalf("AdamF32 on %v, n=%d: %v %d, generic %v %d", p, n, gotS, gotN, wantS, wantN)
			}
		}
		// The fused moments and AdamW kernel, against the reference.
		checkMomentsAdam(t, fmt.Sprintf("fused n=%d", n), c.m, c.v, n, c.k1, c.k2, c.eps)
		for _, p := range Paths()[1:] {
			func() {
				defer Use(p)()
				checkMomentsAdam(t, fmt.Sprintf("fused on %v, n=%d", p, n), c.m, c.v, n, c.k1, c.k2, c.eps)
			}()
		}
		// Pairs: the first and second halves as a and b, float32 and
		// bfloat16, against the reference loop (compensated sums).
		for _, k := range pairKernels() {
			if strings.HasSuffix(k.name, "Generic") {
				continue
			}
			n := len(data) / (2 * k.size)
			a, b := data[:k.size*n], data[k.size*n:2*k.size*n]
			want, absAB := pairRef(k, a, b, n)
			for _, p := range Paths() {
				var got Pairs
				func() {
					defer Use(p)()
					k.fn(a, b, n, &got)
				}()
				checkPairs(t, fmt.Sprintf("pairs %s on %v, n=%d", k.name, p, n), got, want, absAB, 1e-12, n)
			}
		}
		// Master/module: 4n bytes of float32, 2n of 16-bit module values.
		n = len(data) / 6
		master, module := data[:4*n], data[4*n:6*n]
		for _, fn := range []func([]byte, []byte, int, *[2]uint32) Rounded{RoundedBF16, RoundedF16} {
			var want Rounded
			func() {
				defer Use(Generic)()
				want = fn(master, module, n, nil)
			}()
			wantCRCs := [2]uint32{crc32.ChecksumIEEE(master), crc32.ChecksumIEEE(module)}
			for _, p := range Paths()[1:] {
				var got Rounded
				var crcs [2]uint32
				func() {
					defer Use(p)()
					got = fn(master, module, n, &crcs)
				}()
				if !sameRounded(got, want) || crcs != wantCRCs {
					t.Fatalf("rounded comparison on %v, n=%d: %+v %08x, generic %+v %08x", p, n, got, crcs, want, wantCRCs)
				}
			}
		}
	})
}

// TestMomentsAdamF32 pins the fused moments-and-AdamW kernel, on every
// path, to the three generic kernels it stands for: counts, extremes and
// the AdamW count exactly, sums to 1e-12; with coefficients that take the
// fused AVX-512 kernel and ones that do not.
func TestMomentsAdamF32(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{0, 1, 15, 16, 17, 100, 1000, asmBlockTest + 33} {
			for _, p := range []float64{0, 0.001, 0.05, 1} {
				for _, eps := range []float64{1e-8, 1e-15, 0, 1e-250} {
					c := randomAdam(r, n, p)
					checkMomentsAdam(t, fmt.Sprintf("n=%d special=%v eps=%v", n, p, eps), c.m, c.v, n, c.k1, c.k2, eps)
				}
			}
		}
	})
}

func checkMomentsAdam(t *testing.T, what string, m, v []byte, n int, k1, k2, eps float64) {
	t.Helper()
	k := kernels()[0] // F32, for the reference's decoding
	wantM, absM := refMoments(k, m, n, 4, 1e-3)
	wantV, absV := refMoments(k, v, n, 4, 2e-6)
	wantS, wantN := refAdam(adamCase{m: m, v: v, n: n, k1: k1, k2: k2, eps: eps})
	gotM := Moments{Shift: 1e-3, Min: math.Inf(1), Max: math.Inf(-1)}
	gotV := Moments{Shift: 2e-6, Min: math.Inf(1), Max: math.Inf(-1)}
	gotS, gotN := MomentsAdamF32(m, v, n, &gotM, &gotV, k1, k2, eps, nil)
	// With CRC-32s to continue (the fused AVX-512 kernel folds them in its
	// loop), the same figures to the bit and the CRC-32s of hash/crc32.
	crcM := Moments{Shift: 1e-3, Min: math.Inf(1), Max: math.Inf(-1)}
	crcV := Moments{Shift: 2e-6, Min: math.Inf(1), Max: math.Inf(-1)}
	start := [2]uint32{uint32(n) * 2654435761, ^uint32(n)}
	crcs := start
	crcS, crcN := MomentsAdamF32(m, v, n, &crcM, &crcV, k1, k2, eps, &crcs)
	if fmt.Sprintf("%#v %#v %#v %d", crcM, crcV, crcS, crcN) != fmt.Sprintf("%#v %#v %#v %d", gotM, gotV, gotS, gotN) {
		t.Fatalf("%s: with CRC-32s the figures differ", what)
	}
	if want := [2]uint32{crc32.Update(start[0], crc32.IEEETable, m[:4*n]), crc32.Update(start[1], crc32.IEEETable, v[:4*n])}; crcs != want {
		t.Fatalf("%s: CRC-32s %08x, want %08x", what, crcs, want)
	}
	gotM.Shift, gotV.Shift = 0, 0
	checkMoments(t, what+" (m)", gotM, wantM, absM, 1e-12)
	checkMoments(t, what+" (v)", gotV, wantV, absV, 1e-12)
	// Squares beyond the float64 range make the sums infinite (or NaN in
	// the compensated reference): compare the counts only.
	if gotN != wantN || wantS < 1e300 && !(math.Abs(gotS-wantS) <= 1e-12*wantS+float64(n)*0x1p-1074) {
		t.Fatalf("%s: Σu² %v count %d, want %v %d", what, gotS, gotN, wantS, wantN)
	}
}
