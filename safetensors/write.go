package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// Header describes one tensor of a file being written.
type Header struct {
	Name  string
	DType tensor.DType
	Shape []int64
}

// NBytes returns the size of the tensor's data, and false when it
// overflows int64 or a dimension is negative.
func (h Header) NBytes() (int64, bool) {
	n := int64(h.DType.Size())
	for _, d := range h.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt64/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// dtypeName returns the safetensors name of a dtype.
func dtypeName(dt tensor.DType) (string, bool) {
	for name, d := range dtypes {
		if d == dt {
			return name, true
		}
	}
	return "", false
}

// EncodeHeader returns the bytes a safetensors file starts with for the
// given tensors, whose data follow in that order, and metadata (nil for
// none): the 8-byte little-endian length and the JSON header, "__metadata__"
// first and the tensors in order, padded with spaces so that the data start
// 8-byte aligned, as the reference writer does. It checks that names are
// unique and not empty, dtypes are ones safetensors names, and sizes fit.
func EncodeHeader(tensors []Header, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	str := func(s string) {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		enc.Encode(s) // a string always encodes
		b.Write(bytes.TrimRight(sb.Bytes(), "\n"))
	}
	first := true
	if metadata != nil {
		b.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			str(k)
			b.WriteString(":")
			str(metadata[k])
		}
		b.WriteString("}")
		first = false
	}
	seen := map[string]bool{}
	var off int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" || seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor name %q empty, reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		name, ok := dtypeName(t.DType)
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %v has no safetensors name", t.Name, t.DType)
		}
		n, ok := t.NBytes()
		if !ok || off > math.MaxInt64-n {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v: size overflows", t.Name, t.Shape)
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		str(t.Name)
		fmt.Fprintf(&b, `:{"dtype":"%s","shape":[`, name)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprint(&b, d)
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, off+n)
		off += n
	}
	b.WriteString("}")
	for (8+b.Len())%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeader {
		return nil, fmt.Errorf("safetensors: header of %d bytes is over the format's limit of %d", b.Len(), MaxHeader)
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	return append(out, b.Bytes()...), nil
}

// ErrShortWrite is returned by Writer.Close when fewer bytes than the
// tensors declared were written, and ErrLongWrite by Writer.Write for more.
var (
	ErrShortWrite = errors.New("safetensors: fewer data bytes written than the tensors declared")
	ErrLongWrite  = errors.New("safetensors: more data bytes written than the tensors declared")
)

// Writer writes a safetensors file in one pass, without holding any tensor
// in memory: NewWriter writes the header, computed from the tensors
// declared up front, and Write then takes their raw little-endian bytes in
// the declared order, in pieces of any size.
type Writer struct {
	w     io.Writer
	total int64 // data bytes declared
	done  int64 // data bytes written
	err   error
}

// NewWriter writes the header of a file holding tensors (in that order)
// and metadata to w, and returns the Writer that takes their data.
func NewWriter(w io.Writer, tensors []Header, metadata map[string]string) (*Writer, error) {
	hdr, err := EncodeHeader(tensors, metadata)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, t := range tensors {
		n, _ := t.NBytes()
		total += n
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	return &Writer{w: w, total: total}, nil
}

// Write writes the next data bytes. It fails with ErrLongWrite, writing
// nothing, if p goes past the declared data.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if int64(len(p)) > w.total-w.done {
		return 0, ErrLongWrite
	}
	n, err := w.w.Write(p)
	w.done += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Close reports ErrShortWrite unless every declared byte was written. It
// does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.done != w.total {
		return fmt.Errorf("%w: %d of %d", ErrShortWrite, w.done, w.total)
	}
	return nil
}

// FileSize returns the size of the file NewWriter and the data of tensors
// make.
func FileSize(tensors []Header, metadata map[string]string) (int64, error) {
	hdr, err := EncodeHeader(tensors, metadata)
	if err != nil {
		return 0, err
	}
	n := int64(len(hdr))
	for _, t := range tensors {
		b, _ := t.NBytes()
		n += b
	}
	return n, nil
}
