package tensor

import (
	"slices"
	"testing"
)

func TestSelectKth(t *testing.T) {
	r := newRand(51)
	for iter := 0; iter < 3000; iter++ {
		n := 1 + r.IntN(300)
		a := make([]float64, n)
		levels := 1 + r.IntN(n+5) // few levels: many duplicates
		for i := range a {
			a[i] = float64(r.IntN(levels)) - float64(levels)/2
		}
		if r.IntN(4) == 0 {
			slices.Sort(a) // sorted and reversed inputs
			if r.IntN(2) == 0 {
				slices.Reverse(a)
			}
		}
		sorted := slices.Sorted(slices.Values(a))
		k := r.IntN(n)
		if got := selectKth(a, k); got != sorted[k] || a[k] != sorted[k] {
			t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got, sorted[k])
		}
		if !slices.Equal(slices.Sorted(slices.Values(a)), sorted) {
			t.Fatal("selectKth lost elements")
		}
	}
}
