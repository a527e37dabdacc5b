package torchsave

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Tensor is a tensor of a torch.save file: a view (dtype, shape, strides,
// storage offset) over a [Storage]. It has been validated against its
// storage when the file was opened.
type Tensor struct {
	Storage *Storage
	DType   tensor.DType
	Shape   []int64
	Strides []int64
	// Offset is the storage offset, in elements.
	Offset       int64
	RequiresGrad bool
	// Parameter is true for an nn.Parameter.
	Parameter bool
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NBytes returns the number of bytes of the tensor's elements.
func (t *Tensor) NBytes() int64 { return t.Numel() * int64(t.DType.Size()) }

// View returns the tensor as a tensor.View over its storage's bytes.
func (t *Tensor) View() (*tensor.View, error) {
	b, err := t.Storage.Bytes()
	if err != nil {
		return nil, err
	}
	return tensor.NewView(t.DType, b, t.Offset, t.Shape, t.Strides)
}

// String formats the tensor as "dtype[d0, d1]".
func (t *Tensor) String() string { return t.DType.String() + Size(t.Shape).dims() }

// Size is a torch.Size: a tensor shape.
type Size []int64

func (s Size) dims() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// String formats s as "torch.Size([d0, d1])".
func (s Size) String() string { return "torch.Size(" + s.dims() + ")" }

// resolve turns the torch data constructors into values.
func (f *File) resolve(o *pickle.Object) (any, error) {
	if o.Module == "torch.storage" && o.Name == "_load_from_bytes" {
		return f.loadFromBytes(o)
	}
	if o.Module != "torch._utils" && !(o.Module == "torch" && o.Name == "Size") {
		return nil, nil
	}
	switch o.Name {
	case "Size":
		if len(o.Args) != 1 {
			return nil, errors.New("torch.Size takes one argument")
		}
		dims, err := ints(o.Args[0])
		if err != nil {
			return nil, fmt.Errorf("torch.Size: %w", err)
		}
		return Size(dims), nil
	case "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3":
		return f.rebuildTensor(o)
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		if len(o.Args) < 2 {
			return nil, fmt.Errorf("%s: %d arguments", o.Name, len(o.Args))
		}
		t, ok := o.Args[0].(*Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: data is %s, not a tensor", o.Name, pickle.Repr(o.Args[0]))
		}
		p := *t
		p.Parameter = true
		p.RequiresGrad, _ = o.Args[1].(bool)
		return &p, nil
	}
	return nil, nil
}

func (f *File) rebuildTensor(o *pickle.Object) (any, error) {
	want := map[string]int{"_rebuild_tensor": 4, "_rebuild_tensor_v2": 6, "_rebuild_tensor_v3": 7}[o.Name]
	if len(o.Args) < want {
		return nil, fmt.Errorf("%s: %d arguments, want at least %d", o.Name, len(o.Args), want)
	}
	s, ok := o.Args[0].(*Storage)
	if !ok {
		return nil, fmt.Errorf("%s: storage argument is %s", o.Name, pickle.Repr(o.Args[0]))
	}
	off, ok := o.Args[1].(int64)
	if !ok {
		return nil, fmt.Errorf("%s: storage offset %s is not an integer", o.Name, pickle.Repr(o.Args[1]))
	}
	shape, err := ints(o.Args[2])
	if err != nil {
		return nil, fmt.Errorf("%s: size: %w", o.Name, err)
	}
	strides, err := ints(o.Args[3])
	if err != nil {
		return nil, fmt.Errorf("%s: stride: %w", o.Name, err)
	}
	t := &Tensor{Storage: s, DType: s.DType, Shape: shape, Strides: strides, Offset: off}
	if want >= 6 {
		t.RequiresGrad, _ = o.Args[4].(bool)
	}
	if o.Name == "_rebuild_tensor_v3" {
		g, ok := o.Args[6].(*pickle.Global)
		if !ok {
			return nil, fmt.Errorf("%s: dtype %s is not a torch dtype", o.Name, pickle.Repr(o.Args[6]))
		}
		dt, ok := tensor.DTypeOfTorchName(g.Name)
		if !ok || g.Module != "torch" {
			return nil, fmt.Errorf("%s: unknown dtype %s", o.Name, g)
		}
		if dt != s.DType {
			// An untyped (byte) storage viewed as dt.
			if s.DType != tensor.Uint8 || s.Size%int64(dt.Size()) != 0 {
				return nil, fmt.Errorf("%s: %s tensor over a %s storage", o.Name, dt, s.DType)
			}
			typed := &Storage{Key: s.Key, Class: s.Class, DType: dt, Numel: s.Size / int64(dt.Size()),
				Location: s.Location, Record: s.Record, Offset: -1, Size: s.Size, file: s.file, base: s}
			t.Storage, t.DType = typed, dt
		}
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// validate checks the view against the storage's element count, without
// reading any data.
func (t *Tensor) validate() error {
	if err := tensor.CheckView(t.DType, t.Storage.Numel, t.Offset, t.Shape, t.Strides); err != nil {
		return fmt.Errorf("tensor over storage %q: %w", t.Storage.Key, err)
	}
	return nil
}

// ints reads a tuple or list of integers.
func ints(v any) ([]int64, error) {
	var items []any
	switch x := v.(type) {
	case pickle.Tuple:
		items = x
	case *pickle.List:
		items = x.Items
	case Size:
		return append([]int64(nil), x...), nil
	default:
		return nil, fmt.Errorf("%s is not a tuple of integers", pickle.Repr(v))
	}
	out := make([]int64, len(items))
	for i, e := range items {
		n, ok := e.(int64)
		if !ok {
			return nil, fmt.Errorf("element %d (%s) is not an integer", i, pickle.Repr(e))
		}
		out[i] = n
	}
	return out, nil
}

// loadFromBytes reads what torch.storage._load_from_bytes(b) returns —
// torch.load of the bytes b, how pickle.dumps writes a storage — as a
// torch.save file of its own (already scanned with the outer file). Its
// storages are read from the payload, not in place in the outer file.
func (f *File) loadFromBytes(o *pickle.Object) (any, error) {
	if len(o.Args) != 1 {
		return nil, fmt.Errorf("_load_from_bytes: %d arguments", len(o.Args))
	}
	b, ok := o.Args[0].(pickle.Bytes)
	if !ok {
		return nil, fmt.Errorf("_load_from_bytes of %s, not bytes", pickle.Repr(o.Args[0]))
	}
	if f.opt.depth >= 4 {
		return nil, errors.New("_load_from_bytes payloads nested more than 4 deep")
	}
	opt := f.opt
	opt.depth++
	nested, err := Parse(f.Path+" (_load_from_bytes payload)", b, opt)
	if err != nil {
		return nil, err
	}
	return nested.Root, nil
}
