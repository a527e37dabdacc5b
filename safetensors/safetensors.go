// Package safetensors reads safetensors files (FORMATS.md §9) in place: an
// 8-byte little-endian header length, a JSON header (tensor name → dtype,
// shape, data_offsets; and "__metadata__"), then the tensors' raw
// little-endian bytes, mapped read-only. Sharded sets are read through
// their model.safetensors.index.json.
//
// Every length and offset is checked against the file before it is
// trusted: the header is at most 100 MB (the format's own limit), each
// tensor's byte range lies inside the data section and holds exactly
// numel × itemsize bytes.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// ErrFormat reports a file that is not a valid safetensors file.
var ErrFormat = errors.New("not a valid safetensors file")

// MaxHeader is the largest header accepted, as in the reference reader.
const MaxHeader = 100 << 20

var dtypes = map[string]tensor.DType{
	"F64": tensor.Float64, "F32": tensor.Float32, "F16": tensor.Float16, "BF16": tensor.BFloat16,
	"I64": tensor.Int64, "I32": tensor.Int32, "I16": tensor.Int16, "I8": tensor.Int8,
	"U64": tensor.Uint64, "U32": tensor.Uint32, "U16": tensor.Uint16, "U8": tensor.Uint8,
	"BOOL": tensor.Bool, "F8_E4M3": tensor.Float8E4M3FN, "F8_E5M2": tensor.Float8E5M2,
	"C64": tensor.Complex64,
}

// Tensor is one tensor of a safetensors file.
type Tensor struct {
	Name  string
	DType tensor.DType
	Shape []int64
	// Offset is the byte offset of the tensor's data in its file.
	Offset int64
	View   *tensor.View
	File   *File
}

// File is an open safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	Tensors  []*Tensor // in data order
	m        *mmap.File
}

// Sniff reports whether data starts like a safetensors file.
func Sniff(data []byte, size int64) bool {
	if len(data) < 9 {
		return false
	}
	n := binary.LittleEndian.Uint64(data)
	return n >= 2 && n <= MaxHeader && int64(n) <= size-8 && data[8] == '{'
}

// IsFile reports whether the file at path is a safetensors file: a regular
// file whose first bytes Sniff accepts, or, for a name ending in
// ".safetensors", any regular file that is not a zip archive (so that a
// damaged one gets the safetensors reader's error). It never opens a FIFO
// or other special file, which could block.
func IsFile(path string) bool {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(fh, head)
	return Sniff(head[:n], fi.Size()) || (strings.HasSuffix(path, ".safetensors") && n > 0 && !bytes.HasPrefix(head, []byte("PK")))
}

// Open maps the file at path read-only and reads its header.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := parse(path, m)
	if err != nil {
		m.Close()
		return nil, err
	}
	return f, nil
}

// Parse reads a safetensors file already in memory; name is used in errors.
func Parse(name string, data []byte) (*File, error) {
	return parse(name, mmap.FromBytes(name, data))
}

func bad(path, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", path, ErrFormat, fmt.Sprintf(format, args...))
}

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

func parse(path string, m *mmap.File) (*File, error) {
	data := m.Bytes()
	if len(data) < 8 {
		return nil, bad(path, "%d bytes, too short for a header", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeader {
		return nil, bad(path, "header of %d bytes (the limit is %d)", n, MaxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, bad(path, "header of %d bytes, but only %d follow (truncated?)", n, len(data)-8)
	}
	hdr := data[8 : 8+n]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, bad(path, "header: %v", err)
	}
	f := &File{Path: path, m: m}
	base := int64(8 + n)
	size := int64(len(data)) - base
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, bad(path, "__metadata__: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, bad(path, "tensor %q: %v", name, err)
		}
		dt, ok := dtypes[e.DType]
		if !ok {
			return nil, bad(path, "tensor %q: unknown dtype %q", name, e.DType)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > size {
			return nil, bad(path, "tensor %q: data_offsets [%d, %d) outside the %d-byte data section", name, lo, hi, size)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt64/d) {
				return nil, bad(path, "tensor %q: shape %v", name, e.Shape)
			}
			numel *= d
		}
		if numel > math.MaxInt64/int64(dt.Size()) || numel*int64(dt.Size()) != hi-lo {
			return nil, bad(path, "tensor %q: %d bytes for %d %s elements of shape %v", name, hi-lo, numel, dt, e.Shape)
		}
		view, err := tensor.NewView(dt, data[base+lo:base+hi], 0, e.Shape, nil)
		if err != nil {
			return nil, bad(path, "tensor %q: %v", name, err)
		}
		f.Tensors = append(f.Tensors, &Tensor{Name: name, DType: dt, Shape: append([]int64{}, e.Shape...),
			Offset: base + lo, View: view, File: f})
	}
	sort.Slice(f.Tensors, func(i, j int) bool {
		if f.Tensors[i].Offset != f.Tensors[j].Offset {
			return f.Tensors[i].Offset < f.Tensors[j].Offset
		}
		return f.Tensors[i].Name < f.Tensors[j].Name
	})
	for i := 1; i < len(f.Tensors); i++ {
		a, b := f.Tensors[i-1], f.Tensors[i]
		if a.Offset+a.View.NBytes() > b.Offset {
			return nil, bad(path, "tensors %q and %q overlap", a.Name, b.Name)
		}
	}
	return f, nil
}

// ReaderAt returns a reader of the file's bytes (pread where the file is
// mapped, so reading through it does not fault the mapping's pages in).
// It is valid until Close.
func (f *File) ReaderAt() io.ReaderAt { return f.m }

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return int64(f.m.Len()) }

// Close unmaps the file.
func (f *File) Close() error {
	if f == nil || f.m == nil {
		return nil
	}
	err := f.m.Close()
	f.m = nil
	return err
}

// Index is a sharded set's model.safetensors.index.json.
type Index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// Set is a sharded safetensors set opened through its index, or a single
// file.
type Set struct {
	Path    string
	Files   []*File
	Tensors []*Tensor // in the order of the files, then of the data
}

// OpenSet opens a safetensors file, an index JSON file, or a folder holding
// model.safetensors.index.json or model.safetensors.
func OpenSet(path string) (*Set, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	index := path
	if fi.IsDir() {
		index = filepath.Join(path, "model.safetensors.index.json")
		if _, err := os.Stat(index); err != nil {
			single := filepath.Join(path, "model.safetensors")
			if _, err := os.Stat(single); err != nil {
				return nil, fmt.Errorf("%s: %w: no model.safetensors.index.json or model.safetensors", path, ErrFormat)
			}
			index = single
		}
	}
	s := &Set{Path: path}
	if filepath.Ext(index) != ".json" {
		f, err := Open(index)
		if err != nil {
			return nil, err
		}
		s.Files, s.Tensors = []*File{f}, f.Tensors
		return s, nil
	}
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", index, ErrFormat, err)
	}
	var files []string
	seen := map[string]bool{}
	for _, fn := range idx.WeightMap {
		if filepath.Base(fn) != fn {
			return nil, fmt.Errorf("%s: weight_map names %q, not a file beside the index", index, fn)
		}
		if !seen[fn] {
			seen[fn] = true
			files = append(files, fn)
		}
	}
	sort.Strings(files)
	dir := filepath.Dir(index)
	for _, fn := range files {
		f, err := Open(filepath.Join(dir, fn))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Files = append(s.Files, f)
		for _, t := range f.Tensors {
			if want, ok := idx.WeightMap[t.Name]; ok && want == fn {
				s.Tensors = append(s.Tensors, t)
			}
		}
	}
	got := map[string]bool{}
	for _, t := range s.Tensors {
		got[t.Name] = true
	}
	for name, fn := range idx.WeightMap {
		if !got[name] {
			s.Close()
			return nil, fmt.Errorf("%s: %w: tensor %q of the weight_map is not in %s", index, ErrFormat, name, fn)
		}
	}
	return s, nil
}

// Close closes every file of the set.
func (s *Set) Close() error {
	var first error
	for _, f := range s.Files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
