package verify

import (
	"hash/crc32"
	"io"
	"sort"
	"sync"
)

// The CRC-32 of bytes a‖b follows from the CRC-32s of a and b and the
// length of b: appending len(b) zero bytes to a is a linear map of its
// CRC over GF(2), a 32×32 bit matrix, and crc(a‖b) = shift(crc(a)) ⊕
// crc(b). The matrix for n zero bytes is the one for one zero bit raised
// to the power 8n, by repeated squaring. Chunks of one size are the
// common case, so the matrix of each length is kept.

// gf2Mat is a 32×32 matrix over GF(2): column i is the image of bit i.
type gf2Mat [32]uint32

func (m *gf2Mat) times(v uint32) uint32 {
	var sum uint32
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			sum ^= m[i]
		}
	}
	return sum
}

func (m *gf2Mat) mul(b *gf2Mat) gf2Mat {
	var out gf2Mat
	for i := range out {
		out[i] = m.times(b[i])
	}
	return out
}

var (
	shiftMu  sync.Mutex
	shiftOps = map[int64]*gf2Mat{}
)

// zeroShift returns the matrix that appends n zero bytes to a CRC-32.
func zeroShift(n int64) *gf2Mat {
	shiftMu.Lock()
	defer shiftMu.Unlock()
	if m, ok := shiftOps[n]; ok {
		return m
	}
	// One zero bit: the CRC shifts right, the reflected polynomial
	// folded in when bit 0 falls out.
	var bit gf2Mat
	bit[0] = crc32.IEEE
	for i := 1; i < 32; i++ {
		bit[i] = 1 << (i - 1)
	}
	byteOp := bit.mul(&bit)
	byteOp = byteOp.mul(&byteOp)
	byteOp = byteOp.mul(&byteOp) // 8 bits
	var acc gf2Mat
	for i := range acc {
		acc[i] = 1 << i
	}
	for p, k := byteOp, n; k > 0; k >>= 1 {
		if k&1 != 0 {
			acc = p.mul(&acc)
		}
		p = p.mul(&p)
	}
	if len(shiftOps) < 1024 {
		shiftOps[n] = &acc
	}
	return &acc
}

// crcCombine returns the CRC-32 (IEEE) of a‖b from crc1 = crc(a), crc2 =
// crc(b) and n2 = len(b).
func crcCombine(crc1, crc2 uint32, n2 int64) uint32 {
	if n2 <= 0 {
		return crc1
	}
	return zeroShift(n2).times(crc1) ^ crc2
}

// readCRCs collects the CRC-32 of every range of file bytes the value scan
// read (ckpt.ScanOptions.OnReadCRC), so that the CRC pass reads only what
// the scan did not.
type readCRCs struct {
	mu sync.Mutex
	by map[io.ReaderAt][]crcPiece
}

// crcPiece is the CRC-32 of the n bytes at off of a file.
type crcPiece struct {
	off, n int64
	crc    uint32
}

func newReadCRCs() *readCRCs { return &readCRCs{by: map[io.ReaderAt][]crcPiece{}} }

// add records the CRC-32 of the bytes b read at off of file.
func (r *readCRCs) add(file io.ReaderAt, off int64, b []byte, sum uint32) {
	p := crcPiece{off: off, n: int64(len(b)), crc: sum}
	r.mu.Lock()
	r.by[file] = append(r.by[file], p)
	r.mu.Unlock()
}

// of returns the pieces read of file, by offset (longest first at one
// offset); nil when r is nil.
func (r *readCRCs) of(file io.ReaderAt) []crcPiece {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	ps := r.by[file]
	r.mu.Unlock()
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].off != ps[j].off {
			return ps[i].off < ps[j].off
		}
		return ps[i].n > ps[j].n
	})
	return ps
}
