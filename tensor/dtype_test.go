package tensor

import (
	"errors"
	"testing"
)

func TestDTypeTable(t *testing.T) {
	for _, c := range []struct {
		d        DType
		name     string
		size     int
		storage  string
		float    bool
		complex_ bool
	}{
		{Bool, "bool", 1, "BoolStorage", false, false},
		{Uint8, "uint8", 1, "ByteStorage", false, false},
		{Int8, "int8", 1, "CharStorage", false, false},
		{Int16, "int16", 2, "ShortStorage", false, false},
		{Int32, "int32", 4, "IntStorage", false, false},
		{Int64, "int64", 8, "LongStorage", false, false},
		{Uint16, "uint16", 2, "UInt16Storage", false, false},
		{Uint32, "uint32", 4, "UInt32Storage", false, false},
		{Uint64, "uint64", 8, "UInt64Storage", false, false},
		{Float16, "float16", 2, "HalfStorage", true, false},
		{BFloat16, "bfloat16", 2, "BFloat16Storage", true, false},
		{Float32, "float32", 4, "FloatStorage", true, false},
		{Float64, "float64", 8, "DoubleStorage", true, false},
		{Complex64, "complex64", 8, "ComplexFloatStorage", false, true},
		{Complex128, "complex128", 16, "ComplexDoubleStorage", false, true},
		{Float8E4M3FN, "float8_e4m3fn", 1, "Float8_e4m3fnStorage", true, false},
		{Float8E5M2, "float8_e5m2", 1, "Float8_e5m2Storage", true, false},
	} {
		if got := c.d.String(); got != c.name {
			t.Errorf("%d.String() = %q, want %q", c.d, got, c.name)
		}
		if got := c.d.Size(); got != c.size {
			t.Errorf("%v.Size() = %d, want %d", c.d, got, c.size)
		}
		if c.d.IsFloat() != c.float || c.d.IsComplex() != c.complex_ || !c.d.Valid() {
			t.Errorf("%v: IsFloat %v IsComplex %v Valid %v", c.d, c.d.IsFloat(), c.d.IsComplex(), c.d.Valid())
		}
		if got := c.d.StorageClass(); got != c.storage {
			t.Errorf("%v.StorageClass() = %q, want %q", c.d, got, c.storage)
		}
		for _, s := range []string{c.name, "torch." + c.name} {
			if d, err := ParseDType(s); err != nil || d != c.d {
				t.Errorf("ParseDType(%q) = %v, %v", s, d, err)
			}
		}
		for _, s := range []string{c.storage, "torch." + c.storage} {
			if d, ok := DTypeOfStorage(s); !ok || d != c.d {
				t.Errorf("DTypeOfStorage(%q) = %v, %v", s, d, ok)
			}
		}
		if d, ok := DTypeOfTorchName(c.name); !ok || d != c.d {
			t.Errorf("DTypeOfTorchName(%q) = %v, %v", c.name, d, ok)
		}
	}
	if len(allDTypes) != int(numDTypes)-1 {
		t.Errorf("allDTypes has %d entries, want %d", len(allDTypes), numDTypes-1)
	}
}

func TestDTypeAliasesAndUnknowns(t *testing.T) {
	for name, want := range map[string]DType{
		"float": Float32, "double": Float64, "half": Float16, "cfloat": Complex64,
		"cdouble": Complex128, "short": Int16, "int": Int32, "long": Int64,
	} {
		if d, ok := DTypeOfTorchName(name); !ok || d != want {
			t.Errorf("DTypeOfTorchName(%q) = %v, %v, want %v", name, d, ok, want)
		}
		if d, err := ParseDType("torch." + name); err != nil || d != want {
			t.Errorf("ParseDType(torch.%s) = %v, %v", name, d, err)
		}
	}
	for _, s := range []string{"", "invalid", "Float32", "float8_e4m3fnuz", "complex32", "qint8", "torch.", "torch.torch.float"} {
		if d, err := ParseDType(s); err == nil || !errors.Is(err, ErrUnknownDType) || d != Invalid {
			t.Errorf("ParseDType(%q) = %v, %v; want ErrUnknownDType", s, d, err)
		}
		if _, ok := DTypeOfTorchName(s); ok {
			t.Errorf("DTypeOfTorchName(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "Storage", "UntypedStorage", "QInt8Storage", "ComplexHalfStorage", "floatStorage", "TypedStorage"} {
		if _, ok := DTypeOfStorage(s); ok {
			t.Errorf("DTypeOfStorage(%q) accepted", s)
		}
	}
	if Invalid.Valid() || Invalid.Size() != 0 || Invalid.String() != "invalid" || DType(200).String() != "DType(200)" || DType(200).Size() != 0 || DType(200).Valid() {
		t.Error("invalid dtypes misbehave")
	}
}
