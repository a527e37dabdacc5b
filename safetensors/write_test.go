package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// TestWriteLikeReference rewrites the fixture files written to the format's
// specification by testdata/gen/gen_safetensors.py (the reference writer's
// layout) and requires the same bytes.
func TestWriteLikeReference(t *testing.T) {
	for _, name := range []string{"model.safetensors", "sharded/model-00001-of-00002.safetensors", "sharded/model-00002-of-00002.safetensors"} {
		path := filepath.Join("..", "testdata", "safetensors", name)
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, want)
		if err != nil {
			t.Fatal(err)
		}
		var hs []Header
		for _, x := range f.Tensors {
			hs = append(hs, Header{Name: x.Name, DType: x.DType, Shape: x.Shape})
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, hs, f.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range f.Tensors {
			b, _ := x.View.ContiguousBytes()
			// in two pieces, to exercise partial writes
			h := len(b) / 2
			if _, err := w.Write(b[:h]); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(b[h:]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: rewritten file differs (%d bytes, want %d)", name, buf.Len(), len(want))
		}
		if n, err := FileSize(hs, f.Metadata); err != nil || n != int64(len(want)) {
			t.Errorf("%s: FileSize %d, %v; want %d", name, n, err, len(want))
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	hs := []Header{
		{Name: "b<&>\"ü", DType: tensor.BFloat16, Shape: []int64{3}},
		{Name: "a", DType: tensor.Float32, Shape: []int64{2, 2}},
		{Name: "scalar", DType: tensor.Float32, Shape: []int64{}},
		{Name: "empty", DType: tensor.Float32, Shape: []int64{0, 5}},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, hs, map[string]string{"format": "pt", "z": "1"})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 6+16+4)
	for i := range data {
		data[i] = byte(i)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if (8+len(buf.Bytes())-len(data))%8 != 0 {
		t.Error("data not 8-byte aligned")
	}
	f, err := Parse("x", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || f.Metadata["z"] != "1" || len(f.Tensors) != 4 {
		t.Fatalf("%+v", f)
	}
	got := map[string]*Tensor{}
	for _, x := range f.Tensors {
		got[x.Name] = x
	}
	if x := got["b<&>\"ü"]; x == nil || x.DType != tensor.BFloat16 || x.Offset != int64(buf.Len()-len(data)) {
		t.Errorf("first tensor %+v", x)
	}
	if b, _ := got["a"].View.ContiguousBytes(); !bytes.Equal(b, data[6:22]) {
		t.Errorf("a = %v", b)
	}
}

func TestWriterErrors(t *testing.T) {
	for name, hs := range map[string][]Header{
		"repeated": {{Name: "a", DType: tensor.Float32}, {Name: "a", DType: tensor.Float32}},
		"empty":    {{Name: "", DType: tensor.Float32}},
		"reserved": {{Name: "__metadata__", DType: tensor.Float32}},
		"dtype":    {{Name: "a", DType: tensor.Complex128}},
		"negative": {{Name: "a", DType: tensor.Float32, Shape: []int64{-1}}},
		"overflow": {{Name: "a", DType: tensor.Float32, Shape: []int64{1 << 40, 1 << 40}}},
		"sum":      {{Name: "a", DType: tensor.Uint8, Shape: []int64{1 << 62}}, {Name: "b", DType: tensor.Uint8, Shape: []int64{1 << 62}}},
	} {
		if _, err := NewWriter(&bytes.Buffer{}, hs, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, []Header{{Name: "a", DType: tensor.Float32, Shape: []int64{2}}}, nil)
	if _, err := w.Write(make([]byte, 9)); !errors.Is(err, ErrLongWrite) {
		t.Errorf("long write: %v", err)
	}
	w.Write(make([]byte, 4))
	if err := w.Close(); !errors.Is(err, ErrShortWrite) || !strings.Contains(err.Error(), "4 of 8") {
		t.Errorf("short: %v", err)
	}
}
