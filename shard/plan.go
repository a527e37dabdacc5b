package shard

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
)

// Unit is one piece of a split's work: a parameter (its bytes: those of
// the tensors the scan reads for it), a file (its bytes: those its CRC
// pass reads), or a checkpoint of a series (the bytes of its files).
type Unit struct {
	Name  string
	Bytes int64
}

// Plan assigns every unit of a split to one of Count parts. A plan depends
// only on the units (names and bytes: metadata) and Count, so every task
// of a split computes the same plan without talking to the others.
type Plan struct {
	Kind  string // what a unit is: "parameter", "parameter+file", "checkpoint"
	Units []Unit
	Count int
	Part  []int // Part[u] is the part that does unit u
}

// Balance returns the plan that balances the parts' bytes, with the
// longest-processing-time rule: units by bytes, largest first (ties in
// unit order), each to the part with the fewest bytes so far (ties to the
// part with the fewest units, then to the lowest part). The largest part
// is then at most 4/3 of the best possible.
func Balance(kind string, units []Unit, count int) *Plan {
	p := &Plan{Kind: kind, Units: units, Count: count, Part: make([]int, len(units))}
	order := make([]int, len(units))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return units[order[a]].Bytes > units[order[b]].Bytes })
	h := make(loads, count)
	for i := range h {
		h[i] = load{part: i}
	}
	heap.Init(&h)
	for _, u := range order {
		h[0].bytes += units[u].Bytes
		h[0].units++
		p.Part[u] = h[0].part
		heap.Fix(&h, 0)
	}
	return p
}

// load is the bytes and units given to a part so far.
type load struct {
	part, units int
	bytes       int64
}

// loads is a min-heap of parts by bytes, then units, then part.
type loads []load

func (h loads) Len() int { return len(h) }
func (h loads) Less(i, j int) bool {
	if h[i].bytes != h[j].bytes {
		return h[i].bytes < h[j].bytes
	}
	if h[i].units != h[j].units {
		return h[i].units < h[j].units
	}
	return h[i].part < h[j].part
}
func (h loads) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *loads) Push(x any)   { *h = append(*h, x.(load)) }
func (h *loads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Consecutive returns the plan that cuts the units, in their order, into
// count runs of consecutive units, the largest run as small as possible:
// the smallest bound M on a part's bytes that count runs can keep, then,
// part after part, as many units as fit under M while every later part can
// still get one (so that no part idles while another holds two units, when
// there are units enough). Parts past the last unit are empty.
func Consecutive(kind string, units []Unit, count int) *Plan {
	p := &Plan{Kind: kind, Units: units, Count: count, Part: make([]int, len(units))}
	var lo, hi int64 // the bound lies in [lo, hi]
	for _, u := range units {
		lo = max(lo, u.Bytes)
		hi += u.Bytes
	}
	runs := func(m int64) int { // runs greedy packing under m needs
		n, sum := 1, int64(0)
		for _, u := range units {
			if sum+u.Bytes > m && sum > 0 {
				n, sum = n+1, 0
			}
			sum += u.Bytes
		}
		return n
	}
	for lo < hi {
		m := lo + (hi-lo)/2
		if runs(m) <= count {
			hi = m
		} else {
			lo = m + 1
		}
	}
	u := 0
	for k := 0; k < count && u < len(units); k++ {
		var sum int64
		for taken := 0; u < len(units); taken++ {
			last := k == count-1
			fits := sum+units[u].Bytes <= lo && len(units)-u-1 >= count-k-1
			if taken > 0 && !last && !fits {
				break
			}
			p.Part[u] = k
			sum += units[u].Bytes
			u++
		}
	}
	return p
}

// Owned returns the units of part k, in unit order.
func (p *Plan) Owned(k int) []int {
	var out []int
	for u, q := range p.Part {
		if q == k {
			out = append(out, u)
		}
	}
	return out
}

// Bytes returns the bytes of all units, and of part k's.
func (p *Plan) Bytes(k int) (all, part int64) {
	for u, x := range p.Units {
		all += x.Bytes
		if p.Part[u] == k {
			part += x.Bytes
		}
	}
	return all, part
}

// SHA256 identifies the plan: a SHA-256 over the kind, the number of
// parts, and every unit's name, bytes and part, in unit order.
func (p *Plan) SHA256() string {
	h := sha256.New()
	fmt.Fprintf(h, "ckptinspect plan 1\nkind %q\nparts %d\nunits %d\n", p.Kind, p.Count, len(p.Units))
	for u, x := range p.Units {
		fmt.Fprintf(h, "%q %d %d\n", x.Name, x.Bytes, p.Part[u])
	}
	return hex.EncodeToString(h.Sum(nil))
}
