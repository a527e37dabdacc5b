package tensor

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type run struct{ off, n, stride int64 }

func collectRuns(v *View, lo, hi int64) []run {
	var rs []run
	v.Runs(lo, hi, func(off, n, stride int64) bool {
		rs = append(rs, run{off, n, stride})
		return true
	})
	return rs
}

// expand turns runs into storage element indices, checking that every byte
// they name lies inside the data.
func expand(t *testing.T, v *View, rs []run) []int64 {
	t.Helper()
	size := int64(v.DType.Size())
	var out []int64
	for _, r := range rs {
		if r.n <= 0 {
			t.Fatalf("empty run %+v", r)
		}
		if r.off < 0 || r.stride < 0 || r.off+(r.n-1)*r.stride+size > int64(len(v.Data)) {
			t.Fatalf("run %+v outside %d bytes of data", r, len(v.Data))
		}
		for i := int64(0); i < r.n; i++ {
			b := r.off + i*r.stride
			if b%size != 0 {
				t.Fatalf("run %+v: misaligned element", r)
			}
			out = append(out, b/size)
		}
	}
	return out
}

// randomLayout returns a view of a random sub-tensor of a random parent:
// sliced with steps and offsets, permuted (transposed), sometimes broadcast.
func randomLayout(r *rand.Rand, dt DType) *View {
	ndim := r.IntN(5)
	shape := make([]int64, ndim)
	steps := make([]int64, ndim)
	parent := make([]int64, ndim)
	for k := range shape {
		shape[k] = int64(1 + r.IntN(5))
		if r.IntN(12) == 0 {
			shape[k] = 0
		}
		steps[k] = int64(1 + r.IntN(3)*r.IntN(2))
		parent[k] = max(shape[k]*steps[k], 1) + int64(r.IntN(3))
	}
	// Contiguous strides of the parent, scaled by the steps.
	strides := make([]int64, ndim)
	st := int64(1)
	for k := ndim - 1; k >= 0; k-- {
		strides[k] = st * steps[k]
		st *= parent[k]
	}
	if ndim > 0 && r.IntN(6) == 0 {
		strides[r.IntN(ndim)] = 0 // broadcast
	}
	perm := r.Perm(ndim)
	pshape, pstrides := make([]int64, ndim), make([]int64, ndim)
	for i, p := range perm {
		pshape[i], pstrides[i] = shape[p], strides[p]
	}
	offset := int64(r.IntN(10))
	extent := offset + 1
	for k := range pshape {
		if pshape[k] > 0 {
			extent += (pshape[k] - 1) * pstrides[k]
		}
	}
	data := make([]byte, (extent+int64(r.IntN(4)))*int64(dt.Size()))
	v, err := NewView(dt, data, offset, pshape, pstrides)
	if err != nil {
		panic(err)
	}
	return v
}

// innerRunLength is the length the full-range runs of v must have: the
// innermost dimension of size > 1, times each next outer dimension that
// continues it in storage.
func innerRunLength(v *View) int64 {
	n, stride := int64(1), int64(0)
	started := false
	for k := len(v.Shape) - 1; k >= 0; k-- {
		d, s := v.Shape[k], v.Strides[k]
		if d == 1 {
			continue
		}
		if !started {
			n, stride, started = d, s, true
			continue
		}
		if s != n*stride {
			break
		}
		n *= d
	}
	return n
}

func TestRunsRandom(t *testing.T) {
	r := newRand(11)
	for iter := 0; iter < 3000; iter++ {
		dt := allDTypes[r.IntN(len(allDTypes))]
		v := randomLayout(r, dt)
		numel := v.Numel()
		want := naiveIndices(v.Shape, v.Strides, v.Offset)
		rs := collectRuns(v, 0, numel)
		if got := expand(t, v, rs); !slices.Equal(got, want) {
			t.Fatalf("shape %v strides %v offset %d: runs visit %v, want %v", v.Shape, v.Strides, v.Offset, got, want)
		}
		// Runs are maximal along the innermost dimension.
		if numel > 0 {
			inner := innerRunLength(v)
			for _, x := range rs {
				if x.n != inner {
					t.Fatalf("shape %v strides %v: run %+v, want runs of %d", v.Shape, v.Strides, x, inner)
				}
			}
		}
		if v.IsContiguous() && numel > 0 && (len(rs) != 1 || rs[0].stride != int64(dt.Size())) {
			t.Fatalf("contiguous shape %v strides %v: runs %+v, want one dense run", v.Shape, v.Strides, rs)
		}
		// Any split into sub-ranges concatenates to the whole.
		var cat []int64
		for lo := int64(0); lo < numel; {
			hi := min(numel, lo+1+int64(r.IntN(int(numel))))
			cat = append(cat, expand(t, v, collectRuns(v, lo, hi))...)
			lo = hi
		}
		if !slices.Equal(cat, want) {
			t.Fatalf("shape %v strides %v: sub-ranges give %v, want %v", v.Shape, v.Strides, cat, want)
		}
		// Every single element, on its own.
		for i := int64(0); i < numel; i++ {
			if got := expand(t, v, collectRuns(v, i, i+1)); len(got) != 1 || got[0] != want[i] {
				t.Fatalf("element %d: %v, want %d", i, got, want[i])
			}
		}
	}
}

func TestRunsShapes(t *testing.T) {
	data := make([]byte, 4*1000)
	for _, c := range []struct {
		name           string
		offset         int64
		shape, strides []int64
		want           []run // full range, in bytes
	}{
		{"contiguous", 2, []int64{3, 4, 5}, nil, []run{{8, 60, 4}}},
		{"scalar", 7, nil, nil, []run{{28, 1, 4}}},
		{"size-1 dims", 1, []int64{1, 3, 1}, []int64{50, 1, 70}, []run{{4, 3, 4}}},
		{"transposed", 0, []int64{3, 2}, []int64{1, 3}, []run{{0, 2, 12}, {4, 2, 12}, {8, 2, 12}}},
		{"rows of a wider parent", 0, []int64{2, 3}, []int64{10, 1}, []run{{0, 3, 4}, {40, 3, 4}}},
		{"step slice", 1, []int64{4}, []int64{3}, []run{{4, 4, 12}}},
		{"strided dims coalesce", 0, []int64{2, 3}, []int64{6, 2}, []run{{0, 6, 8}}},
		{"broadcast rows", 5, []int64{2, 3}, []int64{0, 1}, []run{{20, 3, 4}, {20, 3, 4}}},
		{"broadcast all", 5, []int64{2, 3}, []int64{0, 0}, []run{{20, 6, 0}}},
		{"empty", 0, []int64{4, 0}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := NewView(Float32, data, c.offset, c.shape, c.strides)
			if err != nil {
				t.Fatal(err)
			}
			if got := collectRuns(v, 0, v.Numel()); !slices.Equal(got, c.want) {
				t.Fatalf("runs %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestRunsStopAndPanics(t *testing.T) {
	v, err := NewView(Float32, make([]byte, 4*100), 0, []int64{10, 5}, []int64{10, 1})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	v.Runs(0, 50, func(off, n, stride int64) bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Fatalf("Runs went on after false: %d calls", calls)
	}
	for _, r := range [][2]int64{{-1, 2}, {3, 2}, {0, 51}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Runs(%d, %d) did not panic", r[0], r[1])
				}
			}()
			v.Runs(r[0], r[1], func(int64, int64, int64) bool { return true })
		}()
	}
}

func TestRunsManyDims(t *testing.T) {
	// More dimensions than the inline buffers hold.
	shape := []int64{2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}
	strides := make([]int64, len(shape))
	st := int64(1)
	for k := len(shape) - 1; k >= 0; k-- {
		strides[k] = st * 2 // every other element: nothing coalesces
		st *= shape[k] * 2
	}
	v, err := NewView(Uint8, make([]byte, st), 0, shape, strides)
	if err != nil {
		t.Fatal(err)
	}
	want := naiveIndices(shape, strides, 0)
	if got := expand(t, v, collectRuns(v, 0, v.Numel())); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := expand(t, v, collectRuns(v, 5, 40)); !slices.Equal(got, want[5:40]) {
		t.Fatalf("sub-range: got %v, want %v", got, want[5:40])
	}
}
