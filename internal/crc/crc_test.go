package crc

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestUpdate pins Update to hash/crc32 on random data of every length
// around the kernel's thresholds and block size, from random registers
// and unaligned starts.
func TestUpdate(t *testing.T) {
	if !hasFold {
		t.Log("no AVX-512 VPCLMULQDQ here: Update is hash/crc32's code")
	}
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<16+64)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	var lengths []int
	for n := 0; n < 600; n++ {
		lengths = append(lengths, n)
	}
	for _, base := range []int{foldMin, 4096, 1 << 15, 1 << 16} {
		for d := -300; d <= 300; d++ {
			if base+d >= 0 && base+d <= 1<<16 {
				lengths = append(lengths, base+d)
			}
		}
	}
	for _, n := range lengths {
		off := r.IntN(64)
		p := buf[off : off+n]
		crc := r.Uint32()
		if got, want := Update(crc, p), crc32.Update(crc, crc32.IEEETable, p); got != want {
			t.Fatalf("len %d offset %d crc %#x: %#x, want %#x", n, off, crc, got, want)
		}
	}
	if got, want := Checksum(buf), crc32.ChecksumIEEE(buf); got != want {
		t.Fatalf("Checksum %#x, want %#x", got, want)
	}
}

// TestPieces checks that a CRC built piece by piece (as verify reads
// records) is the CRC of the whole.
func TestPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 200000)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	want := crc32.ChecksumIEEE(buf)
	for iter := 0; iter < 50; iter++ {
		var c uint32
		for p := buf; len(p) > 0; {
			k := min(len(p), r.IntN(20000))
			c = Update(c, p[:k])
			p = p[k:]
		}
		if c != want {
			t.Fatalf("pieces: %#x, want %#x", c, want)
		}
	}
}

// TestConstants recomputes the kernel's folding constants (FoldConstants:
// for a lane moved D bits, rev32(x^(D+32) mod P) << 1 and rev32(x^(D-32)
// mod P) << 1; D = 512 is hash/crc32's r2r1) and checks FoldConstants
// itself: folding 16 bytes by 128 bits with them and XORing in the next 16
// leaves 16 bytes with the CRC-32 of all 32.
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		d      int
		lo, hi uint64
	}{
		{512, 0x154442bd4, 0x1c6e41596},
		{1024, 0x1e88ef372, 0x14a7fe880},
		{1536, 0x1821d8bc0, 0x12e958ac4},
		{2048, 0x11542778a, 0x1322d1430},
	} {
		if lo, hi := FoldConstants(c.d); lo != c.lo || hi != c.hi {
			t.Errorf("D=%d: %#x %#x, the kernel has %#x %#x", c.d, lo, hi, c.lo, c.hi)
		}
	}
	// A fold in Go: the lane (a0, a1) carried 128 bits is
	// clmul(a0, lo) ^ clmul(a1, hi), 128 bits (each product < 2^97).
	clmul := func(a, b uint64) (l, h uint64) {
		for i := range 64 {
			if b&(1<<i) != 0 {
				l ^= a << i
				if i > 0 {
					h ^= a >> (64 - i)
				}
			}
		}
		return l, h
	}
	data := make([]byte, 32)
	for i := range data {
		data[i] = byte(i*29 + 3)
	}
	lo, hi := FoldConstants(128)
	a0, a1 := binary.LittleEndian.Uint64(data), binary.LittleEndian.Uint64(data[8:])
	a0 ^= 0xffffffff // the initial register, as Start puts it
	l0, h0 := clmul(a0, lo)
	l1, h1 := clmul(a1, hi)
	var z [64]byte
	binary.LittleEndian.PutUint64(z[:], l0^l1^binary.LittleEndian.Uint64(data[16:]))
	binary.LittleEndian.PutUint64(z[8:], h0^h1^binary.LittleEndian.Uint64(data[24:]))
	if got, want := Finish(&z, 16), crc32.ChecksumIEEE(data); got != want {
		t.Errorf("a fold by 128 bits with FoldConstants(128): CRC-32 %08x, want %08x", got, want)
	}
}

// BenchmarkUpdate measures Update against hash/crc32 on 1 MiB, and Update
// on buffers from 4 KiB (the fixed cost of a call shows) through 64 KiB-1
// MiB (in the first- to second-level cache: the same speed at every level,
// so the kernel is bound by its carry-less multiplications, not by loads)
// to 16 MiB (from memory).
func BenchmarkUpdate(b *testing.B) {
	buf := make([]byte, 16<<20)
	b.Run("crc", func(b *testing.B) {
		b.SetBytes(1 << 20)
		for b.Loop() {
			Update(0, buf[:1<<20])
		}
	})
	b.Run("hash-crc32", func(b *testing.B) {
		b.SetBytes(1 << 20)
		for b.Loop() {
			crc32.Update(0, crc32.IEEETable, buf[:1<<20])
		}
	})
	for _, n := range []int{4 << 10, 64 << 10, 256 << 10, 1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("crc/%dKiB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Update(0, buf[:n])
			}
		})
	}
}

func TestHash(t *testing.T) {
	buf := make([]byte, 10000)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var h Hash
	h.Write(buf[:3000])
	h.Write(buf[3000:])
	if got, want := h.Sum32(), crc32.ChecksumIEEE(buf); got != want {
		t.Fatalf("Hash %#x, want %#x", got, want)
	}
}

// TestStartFinish checks the contract of the folding kernels of other
// packages with a fold of no step: 64 bytes with Start's register XORed
// into them (or 32) are congruent to themselves, so Finish must give their CRC-32
// continued from the register's CRC.
func TestStartFinish(t *testing.T) {
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	for _, n := range []int{64, 32} {
		for _, c := range []uint32{0, 1, 0xffffffff, 0xdeadbeef} {
			z := Start(c)
			for i := range n {
				z[i] ^= data[i]
			}
			if got, want := Finish(&z, n), crc32.Update(c, crc32.IEEETable, data[:n]); got != want {
				t.Errorf("%d bytes from %08x: %08x, want %08x", n, c, got, want)
			}
		}
	}
}
