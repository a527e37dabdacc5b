// Package crc computes the CRC-32 (IEEE) that zip directories record for
// their records, as hash/crc32 does, faster on CPUs with AVX-512 and
// VPCLMULQDQ: there a kernel folds four 512-bit lanes at once (hash/crc32
// folds one, and waits on each multiplication's latency), which
// `verify --deep` needs to check a checkpoint's CRCs in the time the
// statistics take to read it. Elsewhere, and for short inputs, it is
// hash/crc32's own code. Both give the same answers: the tests pin them.
package crc

import (
	"encoding/binary"
	"hash/crc32"
	"sync"
)

// foldMin is the length from which Update uses the kernel: below it,
// hash/crc32 (one 512-bit lane) is as fast.
const foldMin = 2048

// Update returns the CRC-32 (IEEE) of p appended to data whose CRC-32 is
// crc, as crc32.Update(crc, crc32.IEEETable, p).
func Update(crc uint32, p []byte) uint32 {
	if !hasFold || len(p) < foldMin {
		return crc32.Update(crc, crc32.IEEETable, p)
	}
	n := len(p) &^ (foldBlock - 1)
	var z [64]byte
	fold(^crc, p[:n], &z)
	// z holds 64 bytes whose CRC-32 from a zero register is that of
	// p[:n] from ^crc: continue from there with hash/crc32 (which
	// inverts the register on entry, hence the all-ones start).
	c := crc32.Update(0xffffffff, crc32.IEEETable, z[:])
	return crc32.Update(c, crc32.IEEETable, p[n:])
}

// Checksum returns the CRC-32 (IEEE) of p.
func Checksum(p []byte) uint32 { return Update(0, p) }

// foldBlock is what one step of the kernel consumes: four 64-byte lanes.
const foldBlock = 256

// Hash is a running CRC-32 (IEEE): an io.Writer whose Sum32 is the CRC of
// everything written to it. The zero Hash is ready to use.
type Hash struct{ crc uint32 }

// Write adds p to the CRC; it never fails.
func (h *Hash) Write(p []byte) (int, error) {
	h.crc = Update(h.crc, p)
	return len(p), nil
}

// Sum32 returns the CRC-32 of what was written.
func (h *Hash) Sum32() uint32 { return h.crc }

// Kernel reports whether this CPU runs the folding kernels: Update's, and
// those of other packages that fold the bytes they read with the same
// constants (512-bit lanes carried 512 bits forward, starting from Start's
// bytes and ending with Finish).
func Kernel() bool { return hasFold }

// Start returns the 64 bytes a folding kernel XORs into the first 64 bytes
// it reads to continue the CRC-32 crc: the CRC register (^crc) in the first
// four, little-endian.
func Start(crc uint32) [64]byte {
	var z [64]byte
	binary.LittleEndian.PutUint32(z[:], ^crc)
	return z
}

// Finish returns the CRC-32 of the bytes a folding kernel left in the
// first n bytes of z (64 for a 512-bit accumulator, 32 for a 256-bit one;
// n a multiple of 8): z is congruent to them (with Start's register)
// modulo the polynomial, so its CRC-32 from a zero register is theirs.
// Kernels take their CRC-32s out with it after every block of a few tens
// of kilobytes: it reads 8 bytes a step and, unlike crc32.Update (whose
// argument escapes to the heap), lets the caller keep z on its stack.
func Finish(z *[64]byte, n int) uint32 {
	var c uint32 // the register
	t := slicing8()
	for i := 0; i+8 <= n; i += 8 {
		lo := binary.LittleEndian.Uint32(z[i:]) ^ c
		hi := binary.LittleEndian.Uint32(z[i+4:])
		c = t[0][hi>>24] ^ t[1][hi>>16&0xff] ^ t[2][hi>>8&0xff] ^ t[3][hi&0xff] ^
			t[4][lo>>24] ^ t[5][lo>>16&0xff] ^ t[6][lo>>8&0xff] ^ t[7][lo&0xff]
	}
	return ^c
}

// slicing8 returns the tables of Finish, made on first use (every command
// would pay for them at start-up otherwise): [0] is the byte-at-a-time
// table of the reflected polynomial, [k][b] the register after b and k
// zero bytes.
var slicing8 = sync.OnceValue(func() *[8][256]uint32 {
	t := new([8][256]uint32)
	for b := range 256 {
		c := uint32(b)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ crc32.IEEE
			} else {
				c >>= 1
			}
		}
		t[0][b] = c
	}
	for b := range 256 {
		for k := 1; k < 8; k++ {
			t[k][b] = t[k-1][b]>>8 ^ t[0][t[k-1][b]&0xff]
		}
	}
	return t
})

// FoldConstants returns the constants that carry a 128-bit lane d bits
// forward (d a multiple of 128, at least 128) in a fold of the reflected
// CRC-32 polynomial P: rev32(x^(d+32) mod P) << 1, which multiplies the
// lane's low quadword, and rev32(x^(d-32) mod P) << 1, its high one (for d
// = 512, hash/crc32's r2r1). The kernels hold them as data; TestConstants
// and the generator of tensor/internal/kernel take them from here.
func FoldConstants(d int) (lo, hi uint64) {
	xpow := func(e int) uint32 { // x^e mod P, P = 0x104c11db7
		r := uint32(1)
		for range e {
			top := r & 0x80000000
			r <<= 1
			if top != 0 {
				r ^= 0x04c11db7
			}
		}
		return r
	}
	rev := func(v uint32) uint64 {
		var r uint64
		for i := range 32 {
			if v&(1<<i) != 0 {
				r |= 1 << (31 - i)
			}
		}
		return r << 1
	}
	return rev(xpow(d + 32)), rev(xpow(d - 32))
}
