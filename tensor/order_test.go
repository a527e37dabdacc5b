package tensor

import (
	"slices"
	"testing"
)

func TestStorageOrder(t *testing.T) {
	r := newRand(41)
	for iter := 0; iter < 2000; iter++ {
		v := randomLayout(r, allDTypes[r.IntN(len(allDTypes))])
		w := v.StorageOrder()
		if w.Numel() != v.Numel() || w.Offset != v.Offset || w.DType != v.DType || &w.Data[0] != &v.Data[0] {
			t.Fatalf("StorageOrder changed the view: %+v -> %+v", v, w)
		}
		// Same elements (as a multiset), and a valid view.
		a, b := naiveIndices(v.Shape, v.Strides, v.Offset), naiveIndices(w.Shape, w.Strides, w.Offset)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("shape %v strides %v: StorageOrder visits other elements", v.Shape, v.Strides)
		}
		if _, err := NewView(w.DType, w.Data, w.Offset, w.Shape, w.Strides); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(w.Strides, func(x, y int64) int { return int(min(max(y-x, -1), 1)) }) {
			t.Fatalf("strides %v not decreasing", w.Strides)
		}
	}
	// A transposed matrix is contiguous again.
	v, err := NewView(Float32, make([]byte, 4*12), 0, []int64{4, 3}, []int64{1, 4})
	if err != nil {
		t.Fatal(err)
	}
	if w := v.StorageOrder(); !w.IsContiguous() || !slices.Equal(w.Shape, []int64{3, 4}) || !slices.Equal(v.Shape, []int64{4, 3}) {
		t.Fatalf("transposed: %v %v contiguous %v", w.Shape, w.Strides, w.IsContiguous())
	}
}
