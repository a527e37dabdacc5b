package tensor

import (
	"cmp"
	"slices"
)

// StorageOrder returns a view of the same elements as v with its dimensions
// permuted into decreasing stride order (ties keep their order), so that its
// row-major walk follows the storage: a transposed view becomes contiguous
// again, and broadcast (stride-0) dimensions go innermost, where a run
// repeats one element and the kernels count it once. The result holds the
// same multiset of elements, but element i of it is in general not element
// i of v: use it for reductions that do not depend on order, such as
// Accumulate over all elements (Stats does). Its Shape is v's permuted.
func (v *View) StorageOrder() *View {
	perm := make([]int, len(v.Shape))
	for k := range perm {
		perm[k] = k
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(v.Strides[b], v.Strides[a]) })
	w := &View{DType: v.DType, Shape: make([]int64, len(perm)), Strides: make([]int64, len(perm)), Offset: v.Offset, Data: v.Data}
	for i, k := range perm {
		w.Shape[i], w.Strides[i] = v.Shape[k], v.Strides[k]
	}
	return w
}
