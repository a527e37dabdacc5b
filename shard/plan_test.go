package shard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func units(bytes ...int64) []Unit {
	out := make([]Unit, len(bytes))
	for i, b := range bytes {
		out[i] = Unit{Name: fmt.Sprintf("u%d", i), Bytes: b}
	}
	return out
}

// loadsOf returns the bytes of every part of a plan.
func loadsOf(p *Plan) []int64 {
	out := make([]int64, p.Count)
	for u, k := range p.Part {
		out[k] += p.Units[u].Bytes
	}
	return out
}

func TestBalance(t *testing.T) {
	cases := []struct {
		bytes []int64
		n     int
		want  []int
	}{
		{[]int64{5, 5, 5}, 3, []int{0, 1, 2}},
		{[]int64{5, 5, 5}, 1, []int{0, 0, 0}},
		// largest first, to the lightest part, ties to the lowest part
		{[]int64{1, 10, 3, 7, 3}, 2, []int{1, 0, 1, 1, 0}},
		{[]int64{0, 0, 0, 0}, 3, []int{0, 1, 2, 0}},
		{[]int64{4, 4}, 7, []int{0, 1}},
		{nil, 3, []int{}},
	}
	for _, c := range cases {
		p := Balance("parameter", units(c.bytes...), c.n)
		if !slices.Equal(p.Part, c.want) && !(len(p.Part) == 0 && len(c.want) == 0) {
			t.Errorf("%v in %d: %v, want %v", c.bytes, c.n, p.Part, c.want)
		}
	}
	// The LPT bound: the largest part is at most 4/3 of the best, and so
	// at most the average plus the largest unit.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(9)
		b := make([]int64, r.IntN(40))
		var total, largest int64
		for i := range b {
			b[i] = r.Int64N(1000)
			total += b[i]
			largest = max(largest, b[i])
		}
		p := Balance("parameter", units(b...), n)
		if m := slices.Max(append(loadsOf(p), 0)); m > total/int64(n)+largest {
			t.Errorf("%v in %d: loads %v", b, n, loadsOf(p))
		}
		if q := Balance("parameter", units(b...), n); q.SHA256() != p.SHA256() {
			t.Error("two plans of the same units differ")
		}
	}
}

func TestConsecutive(t *testing.T) {
	cases := []struct {
		bytes []int64
		n     int
		want  []int
	}{
		{[]int64{1, 1, 1, 1, 1}, 2, []int{0, 0, 0, 1, 1}},
		{[]int64{1, 1, 1, 1, 1}, 3, []int{0, 0, 1, 1, 2}},
		{[]int64{1, 1, 1, 1, 1}, 4, []int{0, 0, 1, 2, 3}},
		{[]int64{1, 1, 1, 1, 1}, 7, []int{0, 1, 2, 3, 4}},
		{[]int64{1, 1, 1, 10}, 3, []int{0, 0, 1, 2}},
		{[]int64{9, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2, []int{0, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{[]int64{3, 3, 3}, 1, []int{0, 0, 0}},
	}
	for _, c := range cases {
		p := Consecutive("checkpoint", units(c.bytes...), c.n)
		if !slices.Equal(p.Part, c.want) {
			t.Errorf("%v in %d: %v, want %v", c.bytes, c.n, p.Part, c.want)
		}
	}
	// Against every cut, on small random inputs: runs of consecutive
	// units in part order, the largest as small as the best cut's, and
	// no part empty while units remain.
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := 1 + r.IntN(5)
		b := make([]int64, 1+r.IntN(8))
		for i := range b {
			b[i] = r.Int64N(50)
		}
		p := Consecutive("checkpoint", units(b...), n)
		for u := 1; u < len(b); u++ {
			if d := p.Part[u] - p.Part[u-1]; d < 0 || d > 1 {
				t.Fatalf("%v in %d: %v is not consecutive", b, n, p.Part)
			}
		}
		if p.Part[0] != 0 || (len(b) >= n && p.Part[len(b)-1] != n-1) {
			t.Errorf("%v in %d: %v leaves a part empty", b, n, p.Part)
		}
		if got, best := slices.Max(loadsOf(p)), bestCut(b, n); got != best {
			t.Errorf("%v in %d: largest part %d, best %d (%v)", b, n, got, best, p.Part)
		}
	}
}

// bestCut returns the smallest largest run of every cut of b into at most
// n runs of consecutive units.
func bestCut(b []int64, n int) int64 {
	if n == 1 || len(b) <= 1 {
		var s int64
		for _, x := range b {
			s += x
		}
		return s
	}
	best := bestCut(b, n-1)
	var first int64
	for i := 0; i < len(b); i++ {
		first += b[i]
		best = min(best, max(first, bestCut(b[i+1:], n-1)))
	}
	return best
}

func TestPlanSHA256(t *testing.T) {
	base := Balance("parameter", units(5, 3, 2), 2)
	for _, p := range []*Plan{
		Balance("parameter", units(5, 3, 2), 3),
		Balance("parameter", units(5, 3, 1), 2),
		Balance("checkpoint", units(5, 3, 2), 2),
		Balance("parameter", []Unit{{"x", 5}, {"u1", 3}, {"u2", 2}}, 2),
	} {
		if p.SHA256() == base.SHA256() {
			t.Errorf("%+v has the digest of %+v", p, base)
		}
	}
	if all, part := base.Bytes(0); all != 10 || part != 5 || !slices.Equal(base.Owned(1), []int{1, 2}) {
		t.Errorf("bytes %d %d, owned %v", all, part, base.Owned(1))
	}
}
