package parquet

import (
	"encoding/binary"
	"math/bits"
)

// appendHybrid appends vals in Parquet's RLE/bit-packing hybrid encoding
// with the given bit width (1 to 32): a run of at least eight equal values
// becomes an RLE run, everything else bit-packed runs of groups of eight.
// Only the last group may be padded (with zeros): a reader knows the
// number of values from the page.
func appendHybrid(b []byte, vals []uint32, width int) []byte {
	const maxGroups = 63 // a bit-packed run's header stays one byte
	for i := 0; i < len(vals); {
		if r := runAt(vals, i); r >= 8 {
			b = binary.AppendUvarint(b, uint64(r)<<1)
			for k, v := 0, vals[i]; k < (width+7)/8; k++ {
				b = append(b, byte(v>>(8*k)))
			}
			i += r
			continue
		}
		// Bit-packed groups up to the next long run (at a group
		// boundary) or maxGroups.
		groups := 0
		for j := i; j < len(vals) && groups < maxGroups; j += 8 {
			if groups > 0 && runAt(vals, j) >= 8 {
				break
			}
			groups++
		}
		b = binary.AppendUvarint(b, uint64(groups)<<1|1)
		b = packGroups(b, vals[i:min(i+8*groups, len(vals))], groups, width)
		i += 8 * groups
	}
	return b
}

// runAt returns how many values from i on equal vals[i].
func runAt(vals []uint32, i int) int {
	j := i + 1
	for j < len(vals) && vals[j] == vals[i] {
		j++
	}
	return j - i
}

// packGroups appends groups*8 values (vals, then zeros) of width bits
// each, least significant bit first.
func packGroups(b []byte, vals []uint32, groups, width int) []byte {
	var acc uint64
	n := 0
	for k := 0; k < groups*8; k++ {
		var v uint32
		if k < len(vals) {
			v = vals[k]
		}
		acc |= uint64(v) << n
		n += width
		for n >= 8 {
			b = append(b, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	return b // groups*8*width is a multiple of 8: nothing is left in acc
}

// bitWidth returns the bits needed for values up to top, at least 1.
func bitWidth(top uint32) int { return max(1, bits.Len32(top)) }
