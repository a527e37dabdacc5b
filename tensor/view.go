package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// ErrInvalidView is wrapped by every error of NewView.
var ErrInvalidView = errors.New("tensor: invalid view")

// View is a tensor: a dtype, a shape and strides over the raw little-endian
// bytes of a whole storage. Element (i₀, i₁, ...) of the tensor is storage
// element Offset + Σ iₖ·Strides[k], which occupies bytes [e·s, e·s+s) of Data
// for e that element index and s = DType.Size(). Shape, strides and offset
// count elements, not bytes.
//
// Build views with NewView, which validates them; the methods assume a valid
// view and may panic on a View that was built or modified otherwise. A View
// is read-only and safe for concurrent use.
type View struct {
	DType   DType   // element type
	Shape   []int64 // size of each dimension; empty for a 0-dim (scalar) tensor
	Strides []int64 // elements between neighbours along each dimension
	Offset  int64   // storage element index of element (0, 0, ...)
	Data    []byte  // the whole storage, a whole number of elements
}

// NewView returns the view of dtype dt with the given shape and strides (in
// elements) starting at element offset of the storage whose bytes are data.
// Nil strides mean the contiguous row-major strides of shape. NewView keeps
// data but copies shape and strides.
//
// It checks, with every product and sum tested for int64 overflow: dt is
// valid; len(data) is a multiple of dt.Size(); len(strides) == len(shape); no
// dimension, stride or offset is negative; the element count and the byte
// count (elements × itemsize) fit in int64; and, when the view has elements,
// its last element Offset + Σ (Shape[k]-1)·Strides[k] lies inside the
// storage. A view with no elements needs no bytes, so its offset may point
// past the storage. Errors wrap ErrInvalidView and say what is wrong.
func NewView(dt DType, data []byte, offset int64, shape, strides []int64) (*View, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: dtype %v", ErrInvalidView, dt)
	}
	size := int64(dt.Size())
	if int64(len(data))%size != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte %v elements", ErrInvalidView, len(data), size, dt)
	}
	v, err := layout(dt, int64(len(data))/size, offset, shape, strides)
	if err != nil {
		return nil, err
	}
	v.Data = data
	return v, nil
}

// layout validates a view's geometry against a storage of storageNumel
// elements and returns the view without data.
func layout(dt DType, storageNumel, offset int64, shape, strides []int64) (*View, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidView}, a...)...)
	}
	size := int64(dt.Size())
	if offset < 0 {
		return nil, bad("negative storage offset %d", offset)
	}
	if strides != nil && len(strides) != len(shape) {
		return nil, bad("%d strides for %d dimensions", len(strides), len(shape))
	}
	numel, zero := int64(1), false
	for k, n := range shape {
		if n < 0 {
			return nil, bad("shape %v: dimension %d is negative", shape, k)
		}
		if n == 0 {
			zero = true
		}
	}
	if zero {
		numel = 0
	} else {
		for _, n := range shape {
			var ok bool
			if numel, ok = mul(numel, n); !ok {
				return nil, bad("shape %v: element count overflows int64", shape)
			}
		}
		if _, ok := mul(numel, size); !ok {
			return nil, bad("shape %v: byte count overflows int64", shape)
		}
	}
	v := &View{DType: dt, Shape: append([]int64{}, shape...), Offset: offset}
	if strides == nil {
		v.Strides = make([]int64, len(shape))
		st := int64(1)
		for k := len(shape) - 1; k >= 0; k-- {
			v.Strides[k] = st
			var ok bool
			if st, ok = mul(st, max(shape[k], 1)); !ok && k > 0 {
				return nil, bad("shape %v: contiguous strides overflow int64", shape)
			}
		}
	} else {
		v.Strides = append([]int64{}, strides...)
	}
	for k, s := range v.Strides {
		if s < 0 {
			return nil, bad("strides %v: stride %d is negative", v.Strides, k)
		}
	}
	if numel == 0 {
		return v, nil
	}
	last := offset
	for k, n := range shape {
		span, ok := mul(n-1, v.Strides[k])
		if ok {
			last, ok = add(last, span)
		}
		if !ok {
			return nil, bad("offset %d, shape %v, strides %v: last element index overflows int64", offset, shape, v.Strides)
		}
	}
	if last >= storageNumel {
		return nil, bad("offset %d, shape %v, strides %v: reaches element %d of a %d-element storage", offset, shape, v.Strides, last, storageNumel)
	}
	return v, nil
}

// mul returns a*b for non-negative a and b, and whether it fits in int64.
func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return int64(lo), hi == 0 && lo <= math.MaxInt64
}

// add returns a+b for non-negative a and b, and whether it fits in int64.
func add(a, b int64) (int64, bool) {
	s, carry := bits.Add64(uint64(a), uint64(b), 0)
	return int64(s), carry == 0 && s <= math.MaxInt64
}

// Numel returns the number of elements: the product of the dimensions (1 for
// a 0-dim tensor).
func (v *View) Numel() int64 {
	n := int64(1)
	for _, d := range v.Shape {
		n *= d
	}
	return n
}

// NBytes returns the size of the tensor's elements in bytes, Numel() times
// the item size. For a non-contiguous view it differs from the bytes spanned.
func (v *View) NBytes() int64 { return v.Numel() * int64(v.DType.Size()) }

// IsContiguous reports whether the view is contiguous in row-major order, as
// torch's is_contiguous: every dimension of size other than 1 has the
// stride of a dense row-major layout. An empty view is contiguous.
func (v *View) IsContiguous() bool {
	if v.Numel() == 0 {
		return true
	}
	want := int64(1)
	for k := len(v.Shape) - 1; k >= 0; k-- {
		if v.Shape[k] == 1 {
			continue
		}
		if v.Strides[k] != want {
			return false
		}
		want *= v.Shape[k]
	}
	return true
}

// ContiguousBytes returns the NBytes() bytes of the tensor's elements, in
// row-major order, as a sub-slice of Data, and true, if the view is
// contiguous; otherwise nil and false. An empty view gives an empty slice.
func (v *View) ContiguousBytes() ([]byte, bool) {
	if !v.IsContiguous() {
		return nil, false
	}
	if v.Numel() == 0 {
		return v.Data[:0:0], true
	}
	size := int64(v.DType.Size())
	lo := v.Offset * size
	hi := lo + v.NBytes()
	return v.Data[lo:hi:hi], true
}

// StorageExtent returns the range [lo, hi) of storage element indices that
// holds every element of the view: lo = Offset and hi = 1 + the index of the
// last element. The range may include elements the view skips. An empty view
// gives lo == hi == Offset.
func (v *View) StorageExtent() (lo, hi int64) {
	if v.Numel() == 0 {
		return v.Offset, v.Offset
	}
	hi = v.Offset + 1
	for k, n := range v.Shape {
		hi += (n - 1) * v.Strides[k]
	}
	return v.Offset, hi
}

// storageIndex returns the storage element index of the element at flat
// row-major index i.
func (v *View) storageIndex(i int64) int64 {
	e := v.Offset
	for k := len(v.Shape) - 1; k >= 0; k-- {
		n := v.Shape[k]
		e += (i % n) * v.Strides[k]
		i /= n
	}
	return e
}

// Float64At returns the element at flat row-major index i (0 <= i <
// Numel(), else it panics) converted to float64 as the statistics see it:
// booleans as 0 or 1, integers rounded to the nearest float64 (exact up to
// 2⁵³ in magnitude), floats exactly, and complex numbers as their modulus
// |z| (NaN if either part is NaN, else +Inf if either part is infinite).
func (v *View) Float64At(i int64) float64 {
	if n := v.Numel(); i < 0 || i >= n {
		panic(fmt.Sprintf("tensor: index %d out of range [0:%d]", i, n))
	}
	size := int64(v.DType.Size())
	return decode(v.DType, v.Data[v.storageIndex(i)*size:])
}

// Float64s stores the elements at flat row-major indices [lo, lo+len(dst))
// in dst, converted as by Float64At. It panics if that range is not within
// [0, Numel()].
func (v *View) Float64s(lo int64, dst []float64) {
	v.Runs(lo, lo+int64(len(dst)), func(off, n, stride int64) bool {
		decodeRun(v.DType, v.Data, off, stride, dst[:n])
		dst = dst[n:]
		return true
	})
}

// decodeRun stores in dst the len(dst) elements of dtype dt at byte
// offsets off, off+stride, ... of data, as decode converts them; the
// common float dtypes take a loop of their own.
func decodeRun(dt DType, data []byte, off, stride int64, dst []float64) {
	switch dt {
	case Float32:
		for i := range dst {
			dst[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[off+int64(i)*stride:])))
		}
	case BFloat16:
		for i := range dst {
			dst[i] = kernel.FromBF16(binary.LittleEndian.Uint16(data[off+int64(i)*stride:]))
		}
	case Float16:
		for i := range dst {
			dst[i] = kernel.FromF16(binary.LittleEndian.Uint16(data[off+int64(i)*stride:]))
		}
	default:
		for i := range dst {
			dst[i] = decode(dt, data[off+int64(i)*stride:])
		}
	}
}

// decode returns the element of dtype dt at the start of b as a float64.
func decode(dt DType, b []byte) float64 {
	switch dt {
	case Bool:
		return kernel.TableBool[b[0]]
	case Uint8:
		return float64(b[0])
	case Int8:
		return float64(int8(b[0]))
	case Int16:
		return kernel.DecodeInt16(b)
	case Int32:
		return kernel.DecodeInt32(b)
	case Int64:
		return kernel.DecodeInt64(b)
	case Uint16:
		return kernel.DecodeUint16(b)
	case Uint32:
		return kernel.DecodeUint32(b)
	case Uint64:
		return kernel.DecodeUint64(b)
	case Float16:
		return kernel.FromF16(binary.LittleEndian.Uint16(b))
	case BFloat16:
		return kernel.FromBF16(binary.LittleEndian.Uint16(b))
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case Complex64:
		return kernel.DecodeComplex64(b)
	case Complex128:
		return kernel.DecodeComplex128(b)
	case Float8E4M3FN:
		return kernel.TableE4M3FN[b[0]]
	case Float8E5M2:
		return kernel.TableE5M2[b[0]]
	}
	panic("tensor: invalid dtype " + dt.String())
}

// dim is one dimension of a coalesced layout, in elements.
type dim struct{ size, stride int64 }

// coalesce appends to dst the dimensions of a view with numel > 0 in
// row-major order, dropping those of size 1 and merging each dimension into
// the one before it when the outer stride equals size × stride of the inner
// (so that together they step through storage as one dimension would).
func coalesce(dst []dim, shape, strides []int64) []dim {
	for k, n := range shape {
		if n == 1 {
			continue
		}
		if j := len(dst) - 1; j >= 0 && dst[j].stride == n*strides[k] {
			dst[j] = dim{dst[j].size * n, strides[k]}
			continue
		}
		dst = append(dst, dim{n, strides[k]})
	}
	return dst
}

// Runs calls fn for the elements at flat row-major indices [lo, hi), in
// order, grouped into runs: a run is n elements whose byte offsets in Data
// are byteOff, byteOff+strideBytes, ..., byteOff+(n-1)·strideBytes. Runs
// follow the innermost dimension of the view after dimensions of size 1 are
// dropped and dimensions that step through storage as one are merged, and
// are as long as possible; a contiguous view gives a single run with
// strideBytes == DType.Size(). A stride of 0 (a broadcast dimension) gives
// runs that repeat one element. Iteration stops early if fn returns false.
// Runs panics unless 0 <= lo <= hi <= Numel().
func (v *View) Runs(lo, hi int64, fn func(byteOff, n, strideBytes int64) bool) {
	if numel := v.Numel(); lo < 0 || hi < lo || hi > numel {
		panic(fmt.Sprintf("tensor: range [%d:%d] out of range [0:%d]", lo, hi, numel))
	}
	if lo == hi {
		return
	}
	size := int64(v.DType.Size())
	var dbuf [8]dim
	d := coalesce(dbuf[:0], v.Shape, v.Strides)
	if len(d) == 0 { // one element
		fn(v.Offset*size, 1, size)
		return
	}
	r := len(d)
	var ibuf [8]int64
	var idx []int64
	if r > len(ibuf) {
		idx = make([]int64, r)
	} else {
		idx = ibuf[:r]
	}
	// Decompose lo into a multi-index; base is the storage index of the
	// start of the current innermost row.
	base, rem := v.Offset, lo
	for k := r - 1; k >= 0; k-- {
		idx[k] = rem % d[k].size
		rem /= d[k].size
		if k < r-1 {
			base += idx[k] * d[k].stride
		}
	}
	in := d[r-1]
	j, pos := idx[r-1], lo
	for {
		n := min(in.size-j, hi-pos)
		if !fn((base+j*in.stride)*size, n, in.stride*size) {
			return
		}
		if pos += n; pos >= hi {
			return
		}
		j = 0
		for k := r - 2; k >= 0; k-- {
			idx[k]++
			base += d[k].stride
			if idx[k] < d[k].size {
				break
			}
			base -= d[k].size * d[k].stride
			idx[k] = 0
		}
	}
}
