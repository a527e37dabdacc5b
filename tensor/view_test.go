package tensor

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNewView(t *testing.T) {
	buf := func(n int) []byte { return make([]byte, n) }
	for _, c := range []struct {
		name    string
		dt      DType
		data    []byte
		offset  int64
		shape   []int64
		strides []int64
		err     string // substring of the error; "" means valid
		numel   int64
	}{
		{"exactly fitting", Float32, buf(24), 0, []int64{2, 3}, nil, "", 6},
		{"explicit contiguous strides", Float32, buf(24), 0, []int64{2, 3}, []int64{3, 1}, "", 6},
		{"storage larger than view", Float32, buf(400), 5, []int64{2, 3}, nil, "", 6},
		{"offset to the last element", BFloat16, buf(20), 4, []int64{2, 3}, nil, "", 6},
		{"one element too many", BFloat16, buf(20), 5, []int64{2, 3}, nil, "reaches element 10 of a 10-element storage", 0},
		{"offset past end", Float32, buf(16), 4, []int64{1}, nil, "reaches element 4", 0},
		{"transposed", Float64, buf(48), 0, []int64{3, 2}, []int64{1, 3}, "", 6},
		{"slice with step", Float32, buf(40), 1, []int64{3}, []int64{4}, "", 3},
		{"slice with step past end", Float32, buf(40), 2, []int64{3}, []int64{4}, "reaches element 10", 0},
		{"broadcast", Float16, buf(2), 0, []int64{1000, 1000}, []int64{0, 0}, "", 1000000},
		{"0-dim", Float32, buf(4), 0, []int64{}, nil, "", 1},
		{"0-dim nil shape", Int64, buf(16), 1, nil, nil, "", 1},
		{"0-dim past end", Int64, buf(16), 2, nil, nil, "reaches element 2", 0},
		{"0-dim no data", Float32, nil, 0, nil, nil, "reaches element 0 of a 0-element storage", 0},
		{"zero-size", Float32, nil, 0, []int64{0}, nil, "", 0},
		{"zero-size among others", Float32, nil, 0, []int64{5, 0, 3}, nil, "", 0},
		{"zero-size with offset past end", Float32, buf(8), 100, []int64{3, 0}, []int64{7, 9}, "", 0},
		{"zero-size with huge dims", Float32, nil, 0, []int64{1 << 62, 0, 1 << 62}, []int64{0, 0, 0}, "", 0},
		{"size-1 dims with any stride", Float32, buf(4), 0, []int64{1, 1}, []int64{1 << 62, 99}, "", 1},
		{"negative dim", Float32, buf(64), 0, []int64{2, -1}, nil, "dimension 1 is negative", 0},
		{"negative stride", Float32, buf(64), 0, []int64{2, 2}, []int64{2, -1}, "stride 1 is negative", 0},
		{"negative offset", Float32, buf(64), -1, []int64{2}, nil, "negative storage offset", 0},
		{"strides length", Float32, buf(64), 0, []int64{2, 2}, []int64{1}, "1 strides for 2 dimensions", 0},
		{"overflowing shape", Float32, buf(64), 0, []int64{1 << 62, 4}, nil, "element count overflows", 0},
		{"overflowing byte count", Float32, buf(4), 0, []int64{1 << 62}, []int64{0}, "byte count overflows", 0},
		{"overflowing strides", Float32, buf(64), 0, []int64{3, 2}, []int64{1 << 62, 1}, "last element index overflows", 0},
		{"overflowing stride sum", Float32, buf(64), 0, []int64{2, 2}, []int64{1 << 62, 1 << 62}, "last element index overflows", 0},
		{"overflowing offset sum", Float32, buf(64), math.MaxInt64, []int64{2}, []int64{1}, "last element index overflows", 0},
		{"huge but in range stride", Uint8, buf(1 << 10), 0, []int64{2}, []int64{1023}, "", 2},
		{"data not whole elements", Float32, buf(10), 0, []int64{2}, nil, "10 bytes is not a whole number of 4-byte float32", 0},
		{"complex data not whole", Complex128, buf(24), 0, []int64{1}, nil, "not a whole number", 0},
		{"invalid dtype", Invalid, buf(4), 0, []int64{1}, nil, "dtype invalid", 0},
		{"unknown dtype", DType(99), buf(4), 0, []int64{1}, nil, "dtype DType(99)", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewView(c.dt, c.data, c.offset, c.shape, c.strides)
			if size := c.dt.Size(); size > 0 && len(c.data)%size == 0 {
				// CheckView applies the same checks without the data.
				if cerr := CheckView(c.dt, int64(len(c.data)/size), c.offset, c.shape, c.strides); (cerr == nil) != (err == nil) ||
					err != nil && cerr.Error() != err.Error() {
					t.Fatalf("CheckView: %v, NewView: %v", cerr, err)
				}
			}
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted, want error containing %q", c.err)
				}
				if !errors.Is(err, ErrInvalidView) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %q, want ErrInvalidView containing %q", err, c.err)
				}
				if v != nil {
					t.Fatal("non-nil view with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Numel() != c.numel || v.NBytes() != c.numel*int64(c.dt.Size()) {
				t.Fatalf("Numel %d NBytes %d, want %d", v.Numel(), v.NBytes(), c.numel)
			}
			if len(v.Strides) != len(v.Shape) {
				t.Fatalf("strides %v for shape %v", v.Strides, v.Shape)
			}
		})
	}
}

func TestNewViewCopiesShape(t *testing.T) {
	shape, strides := []int64{2, 3}, []int64{3, 1}
	v, err := NewView(Float32, make([]byte, 24), 0, shape, strides)
	if err != nil {
		t.Fatal(err)
	}
	shape[0], strides[0] = 100, 100
	if v.Shape[0] != 2 || v.Strides[0] != 3 {
		t.Fatal("NewView kept the caller's slices")
	}
}

func TestContiguousStrides(t *testing.T) {
	for _, c := range []struct{ shape, want []int64 }{
		{[]int64{2, 3, 4}, []int64{12, 4, 1}},
		{[]int64{5}, []int64{1}},
		{[]int64{}, []int64{}},
		{[]int64{3, 0, 2}, []int64{2, 2, 1}}, // torch: max(size, 1)
		{[]int64{1, 1, 7}, []int64{7, 7, 1}},
	} {
		v, err := NewView(Uint8, make([]byte, 100), 0, c.shape, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.Strides, c.want) {
			t.Errorf("shape %v: strides %v, want %v", c.shape, v.Strides, c.want)
		}
	}
}

func TestContiguityAndExtent(t *testing.T) {
	data := make([]byte, 4*100)
	for i := range data {
		data[i] = byte(i)
	}
	for _, c := range []struct {
		name           string
		offset         int64
		shape, strides []int64
		contiguous     bool
		lo, hi         int64
	}{
		{"dense", 3, []int64{2, 5}, []int64{5, 1}, true, 3, 13},
		{"size-1 dims ignored", 3, []int64{2, 1, 5}, []int64{5, 99, 1}, true, 3, 13},
		{"transposed", 0, []int64{5, 2}, []int64{1, 5}, false, 0, 10},
		{"row slice", 10, []int64{3, 4}, []int64{8, 1}, false, 10, 30},
		{"broadcast", 7, []int64{4, 3}, []int64{0, 1}, false, 7, 10},
		{"empty", 50, []int64{0, 3}, []int64{3, 1}, true, 50, 50},
		{"scalar", 42, []int64{}, []int64{}, true, 42, 43},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewView(Float32, data, c.offset, c.shape, c.strides)
			if err != nil {
				t.Fatal(err)
			}
			if v.IsContiguous() != c.contiguous {
				t.Fatalf("IsContiguous = %v", v.IsContiguous())
			}
			if lo, hi := v.StorageExtent(); lo != c.lo || hi != c.hi {
				t.Fatalf("StorageExtent = %d, %d, want %d, %d", lo, hi, c.lo, c.hi)
			}
			b, ok := v.ContiguousBytes()
			if ok != c.contiguous {
				t.Fatalf("ContiguousBytes ok = %v", ok)
			}
			if ok {
				if int64(len(b)) != v.NBytes() || len(b) > 0 && &b[0] != &data[4*c.offset] {
					t.Fatalf("ContiguousBytes gave %d bytes at the wrong place", len(b))
				}
				if cap(b) != len(b) {
					t.Fatal("ContiguousBytes capacity reaches past the view")
				}
			} else if b != nil {
				t.Fatal("non-nil bytes for a non-contiguous view")
			}
		})
	}
}

func TestFloat64At(t *testing.T) {
	data := make([]byte, 8*12)
	for i := 0; i < 12; i++ {
		put(Float64, data[8*i:], float64(i), 0)
	}
	v, err := NewView(Float64, data, 1, []int64{3, 2}, []int64{1, 4}) // transposed slice
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 5, 2, 6, 3, 7}
	for i, w := range want {
		if got := v.Float64At(int64(i)); got != w {
			t.Errorf("Float64At(%d) = %v, want %v", i, got, w)
		}
	}
	got := make([]float64, 4)
	v.Float64s(1, got)
	if !slices.Equal(got, want[1:5]) {
		t.Errorf("Float64s(1) = %v, want %v", got, want[1:5])
	}
	for _, i := range []int64{-1, 6} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Float64At(%d) did not panic", i)
				}
			}()
			v.Float64At(i)
		}()
	}
}

// TestFloat64AtAllDTypes checks element conversion for every dtype against
// the test's own decoders, over special patterns and random values.
func TestFloat64AtAllDTypes(t *testing.T) {
	r := newRand(7)
	for _, dt := range allDTypes {
		data := randomStorage(r, dt, 300, 0, 50, 0.3)
		v, err := NewView(dt, data, 0, []int64{300}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < 300; i++ {
			got, want := v.Float64At(i), refValue(dt, data[i*int64(dt.Size()):])
			// The reference modulus is computed differently: allow an ulp.
			if !same(got, want) && !(dt.IsComplex() && math.Abs(got-want) <= 0x1p-52*want) {
				t.Fatalf("%v element %d: got %v, want %v", dt, i, got, want)
			}
		}
	}
}

// TestFloat64sAllDTypes pins Float64s (whose common float dtypes have
// loops of their own) to Float64At on random layouts and random bits of
// every dtype: NaNs, infinities and subnormals included.
func TestFloat64sAllDTypes(t *testing.T) {
	r := newRand(7)
	for _, dt := range allDTypes {
		for iter := 0; iter < 200; iter++ {
			v := randomLayout(r, dt)
			for i := range v.Data {
				v.Data[i] = byte(r.IntN(256))
			}
			n := v.Numel()
			lo := int64(0)
			if n > 0 {
				lo = int64(r.IntN(int(n)))
			}
			got := make([]float64, n-lo)
			v.Float64s(lo, got)
			for i, g := range got {
				w := v.Float64At(lo + int64(i))
				if math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("%v shape %v strides %v: Float64s[%d] = %v, Float64At = %v", dt, v.Shape, v.Strides, lo+int64(i), g, w)
				}
			}
		}
	}
}
