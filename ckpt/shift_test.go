package ckpt

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// TestShiftFromWindow: the shift a chunk holding the whole tensor takes
// from its window is the one sampled from the file, bit for bit (so that
// chunk sizes never change a figure); a chunk that does not hold all of
// it falls back to the file.
func TestShiftFromWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int64{1, 7, 1024, 1025, 5000} {
		data := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(rng.NormFloat64()+3)))
		}
		// The file holds 8 bytes before the tensor.
		file := append([]byte("12345678"), data...)
		v, err := tensor.NewView(tensor.Float32, data, 0, []int64{n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tt := &Tensor{DType: tensor.Float32, Shape: []int64{n}, Pieces: []Piece{{View: v, Source: bytes.NewReader(file), Offset: 8, File: "f"}}}
		want := shift(tt)
		copyView, _ := tensor.NewView(tensor.Float32, bytes.Clone(data), 0, []int64{n}, nil)
		s := lazyShift(tt)
		s.from([]stream.Window{{View: copyView}}, 0, n)
		if got := s.k(); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%d elements: shift from the window %v, from the file %v", n, got, want)
		}
		if n > 1 {
			// half the tensor in the window: the file is sampled
			half, _ := tensor.NewView(tensor.Float32, make([]byte, 4*(n/2)), 0, []int64{n / 2}, nil)
			s := lazyShift(tt)
			s.from([]stream.Window{{View: half}}, 0, n/2)
			if got := s.k(); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("%d elements, half in the chunk: shift %v, want %v", n, got, want)
			}
		}
	}
}
