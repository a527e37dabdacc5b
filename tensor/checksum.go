package tensor

import "github.com/ckptinspect/ckptinspect/internal/crc"

// Checksum is the CRC-32 (IEEE, as zip directories record it) of the
// leading bytes of a view's data, kept up by the functions that read those
// bytes and take one ([MomentsAdamSum], [CompareRoundedSum]): a caller that
// needs the CRC-32 of what it scans (`verify --deep`) gets it from the pass
// that computes the statistics, without reading the bytes again. The
// ranges must come in order, each starting at the byte where the previous
// one ended (the first at byte 0 of View.Data); a range that does not
// leaves the checksum lost, and its owner must compute the CRC-32 itself.
// The zero Checksum covers no byte.
type Checksum struct {
	crc  uint32
	n    int64
	lost bool
}

// Sum returns the CRC-32 of the first n bytes of the view's data, the
// bytes the checksum covers, and ok = false if it is lost.
func (c *Checksum) Sum() (crc uint32, n int64, ok bool) { return c.crc, c.n, !c.lost }

// Reset empties the checksum.
func (c *Checksum) Reset() { *c = Checksum{} }

// follows reports whether a range starting at byte off of the data extends
// c; when not, c is lost. A nil c is never extended.
func (c *Checksum) follows(off int64) bool {
	if c == nil || c.lost {
		return false
	}
	if off != c.n {
		c.lost = true
		return false
	}
	return true
}

// lose marks c lost, when not nil.
func (c *Checksum) lose() {
	if c != nil {
		c.lost = true
	}
}

// extend continues c, when not nil, with the bytes b at byte off of the
// data (c is lost if they do not follow its range).
func (c *Checksum) extend(off int64, b []byte) {
	if c.follows(off) {
		c.crc = crc.Update(c.crc, b)
		c.n += int64(len(b))
	}
}

// extendAll continues c, when not nil, with the bytes b of the range of v
// from flat index lo that a general path read, when v is contiguous over
// it (ok); otherwise c is lost.
func extendAll(c *Checksum, v *View, b []byte, ok bool, lo int64) {
	if ok {
		c.extend(int64(v.DType.Size())*(v.Offset+lo), b)
	} else {
		c.lose()
	}
}

// startPair returns the CRC-32s a two-tensor kernel is to continue for a
// range at byte offA of a's data and one at offB of b's, and whether it is
// to continue any: a checksum that is nil, lost or does not end where its
// range starts is left out (and lost, see follows).
func startPair(a, b *Checksum, offA, offB int64) (crcs [2]uint32, on bool) {
	fa, fb := a.follows(offA), b.follows(offB)
	if fa {
		crcs[0] = a.crc
	}
	if fb {
		crcs[1] = b.crc
	}
	return crcs, fa || fb
}

// endPair records in a and b the CRC-32s the kernel continued from
// startPair, once it has read the ranges, which now end at byte endA of
// a's data and endB of b's; a checksum startPair left out is left as it
// is.
func endPair(crcs *[2]uint32, a, b *Checksum, endA, endB int64) {
	if a != nil && !a.lost {
		a.crc, a.n = crcs[0], endA
	}
	if b != nil && !b.lost {
		b.crc, b.n = crcs[1], endB
	}
}
