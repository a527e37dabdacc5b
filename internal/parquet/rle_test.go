package parquet

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// decodeHybrid decodes n values of the RLE/bit-packing hybrid, as the
// Parquet specification (Encodings.md) describes it, written separately
// from the encoder. It also returns the runs' kinds, 'r' or 'b'.
func decodeHybrid(t *testing.T, b []byte, width, n int) ([]uint32, string) {
	t.Helper()
	var out []uint32
	var kinds []byte
	for len(out) < n {
		h, k := binary.Uvarint(b)
		if k <= 0 {
			t.Fatalf("bad run header at %d values", len(out))
		}
		b = b[k:]
		if h&1 == 0 { // RLE: count, then the value in ceil(width/8) bytes
			nb := (width + 7) / 8
			var v uint32
			for i := 0; i < nb; i++ {
				v |= uint32(b[i]) << (8 * i)
			}
			b = b[nb:]
			for range h >> 1 {
				out = append(out, v)
			}
			kinds = append(kinds, 'r')
			continue
		}
		groups := int(h >> 1)
		bitsTotal := groups * 8 * width
		data := b[:bitsTotal/8]
		b = b[bitsTotal/8:]
		for i := 0; i < groups*8; i++ {
			var v uint32
			for j := 0; j < width; j++ {
				bit := i*width + j
				v |= uint32(data[bit/8]>>(bit%8)&1) << j
			}
			out = append(out, v)
		}
		kinds = append(kinds, 'b')
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left after %d values", len(b), n)
	}
	return out, string(kinds)
}

// TestHybrid encodes sequences with runs and without, at widths 1 to 32,
// and decodes them with decodeHybrid.
func TestHybrid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, width := range []int{1, 2, 3, 7, 8, 9, 13, 16, 17, 31, 32} {
		top := uint32(1<<width - 1)
		for _, n := range []int{1, 7, 8, 9, 63, 64, 65, 504, 505, 1000, 5000} {
			vals := make([]uint32, 0, n)
			for len(vals) < n {
				v := r.Uint32() & top
				run := 1
				if r.IntN(3) == 0 {
					run = r.IntN(40) + 1
				}
				for k := 0; k < run && len(vals) < n; k++ {
					vals = append(vals, v)
				}
			}
			b := appendHybrid(nil, vals, width)
			got, _ := decodeHybrid(t, b, width, n)
			if !slices.Equal(got[:n], vals) {
				t.Fatalf("width %d, %d values: decoded %v, want %v", width, n, got[:n], vals)
			}
			for _, v := range got[n:] {
				if v != 0 {
					t.Fatalf("width %d, %d values: padding %v", width, n, got[n:])
				}
			}
		}
	}
}

// TestHybridRuns pins how runs are chosen: eight or more equal values make
// an RLE run, anything else bit-packed groups, at most 63 per run.
func TestHybridRuns(t *testing.T) {
	rep := func(v uint32, n int) []uint32 { return slices.Repeat([]uint32{v}, n) }
	seq := func(n int) []uint32 {
		s := make([]uint32, n)
		for i := range s {
			s[i] = uint32(i % 2)
		}
		return s
	}
	for _, tc := range []struct {
		vals  []uint32
		kinds string
		size  int
	}{
		{rep(1, 1000), "r", 3},                       // header 2 bytes, value 1 byte
		{rep(0, 8), "r", 2},                          //
		{rep(0, 7), "b", 2},                          // one group, padded
		{seq(16), "b", 3},                            // two groups in one run
		{slices.Concat(seq(8), rep(1, 20)), "br", 4}, //
		{slices.Concat(seq(3), rep(1, 20)), "br", 4}, // the group takes the run's first 5; 15 remain
		{seq(64 * 8), "bb", 2 + 64},                  // 63 groups, then 1
		{slices.Concat(rep(1, 8), seq(5), rep(0, 12)), "rbr", 2 + 2 + 2}, // the group takes 3 of the 12
	} {
		b := appendHybrid(nil, tc.vals, 1)
		got, kinds := decodeHybrid(t, b, 1, len(tc.vals))
		if !slices.Equal(got[:len(tc.vals)], tc.vals) || kinds != tc.kinds || len(b) != tc.size {
			t.Errorf("%v: runs %q in %d bytes, want %q in %d", tc.vals, kinds, len(b), tc.kinds, tc.size)
		}
	}
	if w := fmt.Sprint(bitWidth(0), bitWidth(1), bitWidth(2), bitWidth(255), bitWidth(256), bitWidth(1<<32-1)); w != "1 1 2 8 9 32" {
		t.Errorf("bit widths %s", w)
	}
}
