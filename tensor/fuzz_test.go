package tensor

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// varints decodes up to max signed varints from b (small and huge values
// both reachable by the fuzzer).
func varints(b []byte, limit int) []int64 {
	var out []int64
	for len(b) > 0 && len(out) < limit {
		x, n := binary.Varint(b)
		if n <= 0 {
			break
		}
		out = append(out, x)
		b = b[n:]
	}
	return out
}

func FuzzNewView(f *testing.F) {
	enc := func(xs ...int64) []byte {
		var b []byte
		for _, x := range xs {
			b = binary.AppendVarint(b, x)
		}
		return b
	}
	f.Add(uint8(Float32), int64(0), enc(2, 3), []byte(nil), true, uint16(24))
	f.Add(uint8(BFloat16), int64(3), enc(3, 2), enc(1, 3), false, uint16(40))
	f.Add(uint8(Float16), int64(0), enc(1<<62, 4), []byte(nil), true, uint16(64))
	f.Add(uint8(Float64), int64(1), enc(4, 5), enc(0, 1), false, uint16(64))
	f.Add(uint8(Complex128), int64(0), enc(0, 7), enc(7, 1), false, uint16(0))
	f.Add(uint8(Int64), int64(0), enc(), []byte(nil), true, uint16(8))
	f.Add(uint8(Float8E4M3FN), int64(5), enc(3, 3), enc(1<<62, 1), false, uint16(100))
	f.Add(uint8(Uint8), int64(-1), enc(-2), enc(-1), false, uint16(9))
	f.Fuzz(func(t *testing.T, dt uint8, offset int64, shapeBytes, strideBytes []byte, nilStrides bool, dataLen uint16) {
		shape := varints(shapeBytes, 8)
		var strides []int64
		if !nilStrides {
			strides = varints(strideBytes, 8)
		}
		data := make([]byte, int(dataLen)%4096)
		for i := range data {
			data[i] = byte(i*37 + 11)
		}
		v, err := NewView(DType(dt), data, offset, shape, strides)
		if err != nil {
			if !errors.Is(err, ErrInvalidView) || v != nil {
				t.Fatalf("error %v (view %v) does not wrap ErrInvalidView", err, v)
			}
			return
		}
		numel := v.Numel()
		if numel < 0 || v.NBytes() < 0 {
			t.Fatalf("numel %d nbytes %d", numel, v.NBytes())
		}
		lo, hi := v.StorageExtent()
		if numel > 0 && (lo < 0 || hi > int64(len(data))/int64(v.DType.Size()) || lo >= hi) {
			t.Fatalf("extent [%d, %d) outside a storage of %d bytes", lo, hi, len(data))
		}
		if b, ok := v.ContiguousBytes(); ok && int64(len(b)) != v.NBytes() {
			t.Fatalf("ContiguousBytes gave %d bytes, want %d", len(b), v.NBytes())
		}
		size := int64(v.DType.Size())
		// Runs stay inside the data; on small views they match the naive walk.
		var got []int64
		count := 0
		v.Runs(0, numel, func(off, n, stride int64) bool {
			if n <= 0 || off < 0 || off+(n-1)*stride+size > int64(len(data)) {
				t.Fatalf("run (%d, %d, %d) outside %d bytes", off, n, stride, len(data))
			}
			if numel <= 1<<12 {
				for i := int64(0); i < n; i++ {
					got = append(got, (off+i*stride)/size)
				}
			}
			count++
			return count < 1<<12
		})
		if numel == 0 {
			return
		}
		v.Float64At(0)
		v.Float64At(numel - 1)
		if numel > 1<<12 {
			m := NewMoments(v.Shift())
			v.Accumulate(numel-min(numel, 1000), numel, &m)
			return
		}
		if want := naiveIndices(v.Shape, v.Strides, v.Offset); !slices.Equal(got, want) {
			t.Fatalf("runs visit %v, want %v", got, want)
		}
		xs := naiveValues(v)
		if extreme(xs) {
			checkCounts(t, "fuzz", v.Stats(), refStats(xs))
			return
		}
		checkStats(t, "fuzz", v.Stats(), refStats(xs), 1e-9)
	})
}

type kernelFunc = func(b []byte, n, s int, shift float64, m *kernel.Moments)

// kernelCase is a dtype with its kernel entry points: the dispatching one
// and the pure-Go one it must agree with.
type kernelCase struct {
	dt  DType
	fns []kernelFunc
}

var fuzzKernels = func() []kernelCase {
	tab := func(t *[256]float64, generic bool) kernelFunc {
		return func(b []byte, n, s int, shift float64, m *kernel.Moments) {
			if generic {
				kernel.Table8Generic(b, n, s, t, shift, m)
			} else {
				kernel.Table8(b, n, s, t, shift, m)
			}
		}
	}
	dec := func(d kernel.Decoder) kernelFunc {
		return func(b []byte, n, s int, shift float64, m *kernel.Moments) { kernel.Decode(b, n, s, d, shift, m) }
	}
	out := []kernelCase{
		{Float32, []kernelFunc{kernel.F32, kernel.F32Generic}},
		{BFloat16, []kernelFunc{kernel.BF16, kernel.BF16Generic}},
		{Float16, []kernelFunc{kernel.F16, kernel.F16Generic}},
		{Float64, []kernelFunc{kernel.F64, kernel.F64Generic}},
	}
	for _, dt := range []DType{Bool, Uint8, Int8, Float8E4M3FN, Float8E5M2} {
		out = append(out, kernelCase{dt, []kernelFunc{tab(table8(dt), false), tab(table8(dt), true)}})
	}
	for _, dt := range []DType{Int16, Int32, Int64, Uint16, Uint32, Uint64, Complex64, Complex128} {
		out = append(out, kernelCase{dt, []kernelFunc{dec(decoder(dt))}})
	}
	return out
}()

func FuzzKernels(f *testing.F) {
	seed := func(n int, fill func(i int) byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = fill(i)
		}
		return b
	}
	f.Add(seed(4*600, func(i int) byte { return byte(i * 7) }), uint8(0), uint8(1), 0.5)
	f.Add(seed(2*1100, func(i int) byte { return byte(i*13) & 0x7f }), uint8(1), uint8(1), -1.0)
	f.Add(seed(2*1100, func(i int) byte { return byte(i * 5) }), uint8(2), uint8(1), 100.0)
	f.Add(seed(8*70, func(i int) byte { return byte(i) }), uint8(3), uint8(2), 0.0)
	f.Add(seed(600, func(i int) byte { return byte(i % 3 * 0x80) }), uint8(7), uint8(1), 0.0)
	f.Add(seed(64, func(i int) byte { return 0xff }), uint8(0), uint8(0), 0.0)
	f.Add(seed(160, func(i int) byte { return byte(i * 3) }), uint8(16), uint8(3), 2.0)
	f.Fuzz(func(t *testing.T, data []byte, kind, strideMul uint8, shift float64) {
		k := fuzzKernels[int(kind)%len(fuzzKernels)]
		size := k.dt.Size()
		if math.IsNaN(shift) || math.IsInf(shift, 0) {
			shift = 0
		}
		stride := size * int(strideMul%4)
		n := 0
		switch {
		case len(data) < size:
		case stride == 0:
			n = 1 + int(strideMul)
		default:
			n = (len(data)-size)/stride + 1
		}
		need := 0
		if n > 0 {
			need = (n-1)*stride + size
		}
		b := data[:need:need] // tight: any read outside panics
		// The reference: per element, compensated sums.
		want := kernel.Moments{Min: math.Inf(1), Max: math.Inf(-1)}
		var s1, s2 kahan
		var abs1 float64
		for i := 0; i < n; i++ {
			x := refValue(k.dt, b[i*stride:])
			if k.dt.IsComplex() {
				x = decode(k.dt, b[i*stride:])
			}
			switch {
			case math.IsNaN(x):
				want.NaN++
			case math.IsInf(x, 1):
				want.PosInf++
			case math.IsInf(x, -1):
				want.NegInf++
			default:
				want.N++
				if x == 0 {
					want.Zeros++
				}
				d := x - shift
				s1.add(d)
				s2.add(d * d)
				abs1 += math.Abs(d)
				if x < want.Min || x == 0 && want.Min == 0 && math.Signbit(x) {
					want.Min = x
				}
				if x > want.Max || x == 0 && want.Max == 0 && !math.Signbit(x) {
					want.Max = x
				}
			}
		}
		want.S1, want.S2 = s1.sum(), s2.sum()
		// Every kernel on every path the CPU has.
		for _, path := range kernel.Paths() {
			restore := kernel.Use(path)
			for i, fn := range k.fns {
				got := kernel.Moments{Min: math.Inf(1), Max: math.Inf(-1)}
				fn(b, n, stride, shift, &got)
				if got.N != want.N || got.NaN != want.NaN || got.PosInf != want.PosInf || got.NegInf != want.NegInf || got.Zeros != want.Zeros ||
					!same(got.Min, want.Min) || !same(got.Max, want.Max) {
					restore()
					t.Fatalf("%v kernel %d on %v, n=%d stride=%d: got %+v, want %+v", k.dt, i, path, n, stride, got, want)
				}
				if abs1 > 1e300 || !(want.S2 < 1e300) {
					continue // the sums overflow: the order of addition decides where
				}
				// Squares below the normal range are rounded to a multiple
				// of 2⁻¹⁰⁷⁴, with or without a fused multiply-add: allow
				// that much per element on top of the relative bound.
				if math.Abs(got.S1-want.S1) > 1e-12*abs1 || math.Abs(got.S2-want.S2) > 1e-12*want.S2+float64(n)*0x1p-1074 {
					restore()
					t.Fatalf("%v kernel %d on %v, n=%d stride=%d: sums %v %v, want %v %v", k.dt, i, path, n, stride, got.S1, got.S2, want.S1, want.S2)
				}
			}
			restore()
		}
	})
}
