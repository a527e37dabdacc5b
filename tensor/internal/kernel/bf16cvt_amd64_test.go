//go:build amd64 && !purego && !noasm

package kernel

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/crc"
)

// TestRoundedBF16CVT checks the kernel that rounds with VCVTNEPS2BF16
// against RoundBF16 around every bfloat16 rounding boundary (all 2¹⁶ top
// halves with the low halves that decide the rounding), 16 lanes at a
// time: a block whose module values are RoundBF16 of their masters counts
// no mismatch, one with a module value off by one bit (or by its sign, but
// for zeros) one; so do blocks of denormal masters only, which the
// instruction flushes to zero, with module values the zero of their sign
// (all match where RoundBF16 rounds to zero, all mismatch where it does
// not); the CRC-32s are hash/crc32's.
func TestRoundedBF16CVT(t *testing.T) {
	if !bf16CVT || !crc.Kernel() || Active() != AVX512 {
		t.Skip("no AVX512_BF16, VPCLMULQDQ or AVX-512 here")
	}
	lows := []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff}
	n := 1 << 16 * len(lows)
	master, module := make([]byte, 4*n), make([]byte, 2*n)
	i := 0
	for hi := uint32(0); hi < 1<<16; hi++ {
		for _, lo := range lows {
			u := hi<<16 | lo
			binary.LittleEndian.PutUint32(master[4*i:], u)
			binary.LittleEndian.PutUint16(module[2*i:], RoundBF16(u))
			i++
		}
	}
	z := [2][64]byte{crc.Start(0), crc.Start(0)}
	for b := 0; b < n/16; b++ {
		m, d := master[64*b:64*b+64], module[32*b:32*b+32]
		if got := roundedBF16CVTAVX512(&m[0], &d[0], 16, &z); got != 0 {
			t.Fatalf("block of %08x: %d mismatches", binary.LittleEndian.Uint32(m), got)
		}
		j := b % 16
		u := binary.LittleEndian.Uint32(m[4*j:])
		if u&0x7fffffff > 0x7f800000 {
			continue // NaN: still matches a NaN
		}
		for _, flip := range []uint16{1, 0x8000} {
			if flip == 0x8000 && u&0x7fffffff == 0 {
				continue // -0 for +0 matches
			}
			d[2*j] ^= byte(flip)
			d[2*j+1] ^= byte(flip >> 8)
			if got := roundedBF16CVTAVX512(&m[0], &d[0], 16, &z); got != 1 {
				t.Fatalf("block of %08x, lane %d (%08x) flipped by %04x: %d mismatches, want 1", binary.LittleEndian.Uint32(m), j, u, flip, got)
			}
			d[2*j] ^= byte(flip)
			d[2*j+1] ^= byte(flip >> 8)
		}
	}
	m, d := make([]byte, 64), make([]byte, 32)
	for _, c := range []struct {
		u    []uint32
		want int
	}{
		{[]uint32{1, 0x7fff, 0x8000, 0x80000001, 0x80007fff, 0x80008000}, 0}, // round to ±0
		{[]uint32{0x8001, 0xffff, 0x10000, 0x7fffff, 0x80008001, 0x807fffff}, 16},
	} {
		for j := range 16 {
			binary.LittleEndian.PutUint32(m[4*j:], c.u[j%len(c.u)])
			binary.LittleEndian.PutUint16(d[2*j:], uint16(c.u[j%len(c.u)]>>31)<<15) // the zero of the master's sign, as the conversion gives
		}
		if got := roundedBF16CVTAVX512(&m[0], &d[0], 16, &z); got != c.want {
			t.Errorf("denormal masters %08x with module values ±0: %d mismatches, want %d", c.u, got, c.want)
		}
	}
	z = [2][64]byte{crc.Start(7), crc.Start(8)}
	roundedBF16CVTAVX512(&master[0], &module[0], n, &z)
	if got, want := [2]uint32{crc.Finish(&z[0], 64), crc.Finish(&z[1], 32)}, [2]uint32{crc32.Update(7, crc32.IEEETable, master), crc32.Update(8, crc32.IEEETable, module)}; got != want {
		t.Fatalf("CRC-32s %08x, want %08x", got, want)
	}
}

// TestRoundedNoCVT runs TestRounded's comparisons with the generated
// kernel where AVX512_BF16 would pick the VCVTNEPS2BF16 one.
func TestRoundedNoCVT(t *testing.T) {
	if !bf16CVT {
		t.Skip("no AVX512_BF16: TestRounded runs the generated kernel")
	}
	bf16CVT = false
	defer func() { bf16CVT = true }()
	forPaths(t, checkRounded)
}
