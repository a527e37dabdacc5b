package ckpt

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// ReadFloat64s stores the elements [lo, lo+len(dst)) of t (its pieces
// concatenated, flattened row-major) in dst, converted to float64. A
// contiguous piece in a file is read with pread into *scratch (grown as
// needed; nil for a buffer of its own), so that no mapping is touched and
// the process's resident set stays at the buffer's size; other pieces are
// read through their views, with a fault (a file truncated under us)
// turned into an error. It is for reading small parts of tensors (a few
// elements to locate, a tensor to convert); passes over whole tensors
// belong to Scan, Diff and the other passes.
func (t *Tensor) ReadFloat64s(lo int64, dst []float64, scratch *[]byte) error {
	if scratch == nil {
		scratch = new([]byte)
	}
	hi := lo + int64(len(dst))
	var start int64
	for _, p := range t.Pieces {
		n := p.View.Numel()
		a, b := max(lo, start), min(hi, start+n)
		if b > a {
			if err := readPiece(p, a-start, dst[a-lo:b-lo], scratch); err != nil {
				return fmt.Errorf("%s: %w", p.File, err)
			}
		}
		start += n
		if start >= hi {
			break
		}
	}
	if start < hi {
		return fmt.Errorf("%s: %d elements in the pieces, %d wanted", t.File, start, hi)
	}
	return nil
}

func readPiece(p Piece, lo int64, dst []float64, scratch *[]byte) (err error) {
	v := p.View
	if p.Source != nil && v.IsContiguous() {
		size := int64(v.DType.Size())
		n := int64(len(dst)) * size
		if int64(cap(*scratch)) < n {
			*scratch = make([]byte, n)
		}
		b := (*scratch)[:n:n]
		off := p.Offset + (v.Offset+lo)*size
		if got, err := p.Source.ReadAt(b, off); int64(got) != n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading %d bytes at %d (was the file changed or truncated?): %w", n, off, err)
		}
		w, err := tensor.NewView(v.DType, b, 0, []int64{int64(len(dst))}, nil)
		if err != nil {
			return err
		}
		w.Float64s(0, dst)
		return nil
	}
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("reading mapped data failed (was the file changed or truncated?): %v", r)
		}
	}()
	v.Float64s(lo, dst)
	return nil
}
