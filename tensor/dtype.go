package tensor

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DType is the element type of a tensor. The zero value is Invalid.
type DType uint8

// The element types PyTorch checkpoints hold, named as in torch.
const (
	Invalid      DType = iota // not a dtype: the zero value
	Bool                      // torch.bool, 1 byte, 0 or 1
	Uint8                     // torch.uint8
	Int8                      // torch.int8
	Int16                     // torch.int16 (short)
	Int32                     // torch.int32 (int)
	Int64                     // torch.int64 (long)
	Uint16                    // torch.uint16 (PyTorch 2.3+)
	Uint32                    // torch.uint32 (PyTorch 2.3+)
	Uint64                    // torch.uint64 (PyTorch 2.3+)
	Float16                   // torch.float16 (half): IEEE 754 binary16
	BFloat16                  // torch.bfloat16: the top 16 bits of a float32
	Float32                   // torch.float32 (float)
	Float64                   // torch.float64 (double)
	Complex64                 // torch.complex64 (cfloat): two float32, real first
	Complex128                // torch.complex128 (cdouble): two float64, real first
	Float8E4M3FN              // torch.float8_e4m3fn (PyTorch 2.1+): bias 7, no Inf, max 448
	Float8E5M2                // torch.float8_e5m2 (PyTorch 2.1+): bias 15, with ±Inf and NaN

	numDTypes
)

// ErrUnknownDType is wrapped by the errors of ParseDType.
var ErrUnknownDType = errors.New("tensor: unknown dtype")

var dtypeInfo = [numDTypes]struct {
	name    string
	size    int
	storage string
}{
	Invalid:      {"invalid", 0, ""},
	Bool:         {"bool", 1, "BoolStorage"},
	Uint8:        {"uint8", 1, "ByteStorage"},
	Int8:         {"int8", 1, "CharStorage"},
	Int16:        {"int16", 2, "ShortStorage"},
	Int32:        {"int32", 4, "IntStorage"},
	Int64:        {"int64", 8, "LongStorage"},
	Uint16:       {"uint16", 2, "UInt16Storage"},
	Uint32:       {"uint32", 4, "UInt32Storage"},
	Uint64:       {"uint64", 8, "UInt64Storage"},
	Float16:      {"float16", 2, "HalfStorage"},
	BFloat16:     {"bfloat16", 2, "BFloat16Storage"},
	Float32:      {"float32", 4, "FloatStorage"},
	Float64:      {"float64", 8, "DoubleStorage"},
	Complex64:    {"complex64", 8, "ComplexFloatStorage"},
	Complex128:   {"complex128", 16, "ComplexDoubleStorage"},
	Float8E4M3FN: {"float8_e4m3fn", 1, "Float8_e4m3fnStorage"},
	Float8E5M2:   {"float8_e5m2", 1, "Float8_e5m2Storage"},
}

// torchAliases are the other names torch gives its dtype objects
// (torch.float is torch.float32, and so on).
var torchAliases = map[string]DType{
	"float":   Float32,
	"double":  Float64,
	"half":    Float16,
	"cfloat":  Complex64,
	"cdouble": Complex128,
	"short":   Int16,
	"int":     Int32,
	"long":    Int64,
}

// String returns the torch name of d ("float32", "bfloat16", "float8_e4m3fn",
// ...), "invalid" for Invalid and "DType(n)" for a value out of range.
func (d DType) String() string {
	if d < numDTypes {
		return dtypeInfo[d].name
	}
	return "DType(" + strconv.Itoa(int(d)) + ")"
}

// Valid reports whether d is one of the defined dtypes (not Invalid).
func (d DType) Valid() bool { return d > Invalid && d < numDTypes }

// Size returns the number of bytes of one element of d, 0 if d is not valid.
func (d DType) Size() int {
	if d < numDTypes {
		return dtypeInfo[d].size
	}
	return 0
}

// IsFloat reports whether d is a real floating-point type: Float16,
// BFloat16, Float32, Float64, Float8E4M3FN or Float8E5M2.
func (d DType) IsFloat() bool {
	switch d {
	case Float16, BFloat16, Float32, Float64, Float8E4M3FN, Float8E5M2:
		return true
	}
	return false
}

// IsComplex reports whether d is Complex64 or Complex128.
func (d DType) IsComplex() bool { return d == Complex64 || d == Complex128 }

// ParseDType returns the dtype named s: a torch name as returned by String
// or one of torch's aliases ("float", "half", "long", ...), optionally
// prefixed by "torch.". Its error wraps ErrUnknownDType.
func ParseDType(s string) (DType, error) {
	if d, ok := DTypeOfTorchName(strings.TrimPrefix(s, "torch.")); ok {
		return d, nil
	}
	return Invalid, fmt.Errorf("%w %q", ErrUnknownDType, s)
}

// DTypeOfTorchName returns the dtype of the torch dtype object called name,
// as a pickled torch.<name> global names it: the canonical names ("float32",
// "bfloat16", "float8_e5m2", ...) and the aliases "float", "double", "half",
// "cfloat", "cdouble", "short", "int" and "long". It reports false for any
// other name, including dtypes this package does not support (complex32,
// quantized types, float8 variants other than e4m3fn and e5m2).
func DTypeOfTorchName(name string) (DType, bool) {
	for d := Invalid + 1; d < numDTypes; d++ {
		if dtypeInfo[d].name == name {
			return d, true
		}
	}
	d, ok := torchAliases[name]
	return d, ok
}

// DTypeOfStorage returns the dtype of the legacy typed storage class class,
// as named in a checkpoint's persistent ids: "FloatStorage" (Float32),
// "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
// "IntStorage", "ShortStorage", "CharStorage" (Int8), "ByteStorage" (Uint8),
// "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage",
// "Float8_e4m3fnStorage", "Float8_e5m2Storage", "UInt16Storage",
// "UInt32Storage" and "UInt64Storage". A "torch." prefix is accepted. It
// reports false for any other class.
func DTypeOfStorage(class string) (DType, bool) {
	class = strings.TrimPrefix(class, "torch.")
	for d := Invalid + 1; d < numDTypes; d++ {
		if dtypeInfo[d].storage == class {
			return d, true
		}
	}
	return Invalid, false
}

// StorageClass returns the name of d's legacy storage class ("FloatStorage"
// for Float32), the inverse of DTypeOfStorage; "" if d is not valid.
func (d DType) StorageClass() string {
	if d < numDTypes {
		return dtypeInfo[d].storage
	}
	return ""
}
