package tensor

import (
	"fmt"
	"hash/crc32"
	"testing"
)

// TestMomentsAdamSum checks the checksums MomentsAdamSum keeps up: a view
// read in consecutive ranges of any length, on every path, ends with the
// CRC-32 of its bytes (float32: the fused kernel; bfloat16: hashed after
// the read), whatever the other checksum (nil) does; a range that does not
// start where the last ended, or a view not contiguous over the range,
// leaves the checksum lost; the figures are those of MomentsAdam.
func TestMomentsAdamSum(t *testing.T) {
	r := newRand(45)
	const n = 40000
	c1, c2 := 0.3, 0.01
	for _, dt := range []DType{Float32, BFloat16} {
		md := randomStorage(r, dt, n, 0, 1e-3, 0.01)
		vd := randomStorage(r, dt, n, 1e-6, 1e-7, 0.01)
		m, v := view1(t, dt, md), view1(t, dt, vd)
		t.Run(dt.String(), func(t *testing.T) {
			forPaths(t, func(t *testing.T) {
				for _, steps := range [][]int64{{n}, {17, 4000, 64, 1, 30000, n - 34082}, {16384, 16384, n - 32768}} {
					what := fmt.Sprintf("%v %v", dt, steps)
					var cm, cv Checksum
					gm, gv := NewMoments(1e-3), NewMoments(2e-6)
					wm, wv := NewMoments(1e-3), NewMoments(2e-6)
					lo := int64(0)
					for i, k := range steps {
						var pcv *Checksum
						if i%2 == 0 {
							pcv = &cv // v's checksum is left out of every other range
						}
						gs, gn := MomentsAdamSum(m, v, lo, lo, k, &gm, &gv, c1, c2, 1e-8, &cm, pcv)
						ws, wn := MomentsAdam(m, v, lo, lo, k, &wm, &wv, c1, c2, 1e-8)
						if gs != ws || gn != wn {
							t.Fatalf("%s: %v %d, want %v %d", what, gs, gn, ws, wn)
						}
						lo += k
					}
					if gm != wm || gv != wv {
						t.Fatalf("%s: moments differ", what)
					}
					if c, k, ok := cm.Sum(); !ok || k != int64(len(md)) || c != crc32.ChecksumIEEE(md) {
						t.Errorf("%s: m's checksum %08x over %d bytes (ok %v), want %08x over %d", what, c, k, ok, crc32.ChecksumIEEE(md), len(md))
					}
					if _, _, ok := cv.Sum(); ok != (len(steps) == 1) {
						t.Errorf("%s: v's checksum, with ranges left out: ok %v", what, ok)
					}
				}
				// Out of order: the second range starts past the end of the first.
				var cm Checksum
				var mm, mv Moments
				MomentsAdamSum(m, v, 0, 0, 100, &mm, &mv, c1, c2, 1e-8, &cm, nil)
				MomentsAdamSum(m, v, 200, 200, 100, &mm, &mv, c1, c2, 1e-8, &cm, nil)
				if _, _, ok := cm.Sum(); ok {
					t.Errorf("%v: a gap left the checksum valid", dt)
				}
				// Not contiguous.
				cm.Reset()
				MomentsAdamSum(spread(t, dt, md), v, 0, 0, 100, &mm, &mv, c1, c2, 1e-8, &cm, nil)
				if _, _, ok := cm.Sum(); ok {
					t.Errorf("%v: a strided view left the checksum valid", dt)
				}
			})
		})
	}
}

// TestCompareRoundedSum is TestMomentsAdamSum for CompareRoundedSum: a
// float32 master and its bfloat16 or float16 module (random bits, so with
// mismatches) compared in consecutive ranges end with the CRC-32s of both,
// and the comparison of CompareRounded.
func TestCompareRoundedSum(t *testing.T) {
	r := newRand(46)
	const n = 40000
	md := randomStorage(r, Float32, n, 0, 1, 0.01)
	for _, dt := range []DType{BFloat16, Float16} {
		dd := randomStorage(r, dt, n, 0, 1, 0.01)
		m, d := view1(t, Float32, md), view1(t, dt, dd)
		t.Run(dt.String(), func(t *testing.T) {
			forPaths(t, func(t *testing.T) {
				for _, steps := range [][]int64{{n}, {17, 4000, 64, 1, 30000, n - 34082}} {
					var cm, cd Checksum
					got, want := Comparison{First: -1}, Comparison{First: -1}
					lo := int64(0)
					for _, k := range steps {
						got.Merge(CompareRoundedSum(m, d, lo, lo, k, lo, &cm, &cd))
						want.Merge(CompareRounded(m, d, lo, lo, k, lo))
						lo += k
					}
					if got != want && !(got.MaxDiff != got.MaxDiff && want.MaxDiff != want.MaxDiff) {
						t.Fatalf("%v: %+v, want %+v", steps, got, want)
					}
					for _, c := range []struct {
						sum  *Checksum
						data []byte
					}{{&cm, md}, {&cd, dd}} {
						if s, k, ok := c.sum.Sum(); !ok || k != int64(len(c.data)) || s != crc32.ChecksumIEEE(c.data) {
							t.Errorf("%v: checksum %08x over %d bytes (ok %v), want %08x over %d", steps, s, k, ok, crc32.ChecksumIEEE(c.data), len(c.data))
						}
					}
				}
			})
		})
	}
}
