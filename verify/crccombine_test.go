package verify

import (
	"bytes"
	"context"
	"hash/crc32"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/universal"
)

// TestCRCCombine: the CRC-32 of a‖b put together from theirs equals the
// CRC-32 of the concatenation, at every kind of length.
func TestCRCCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct{ a, b int }{
		{0, 0}, {0, 5}, {5, 0}, {1, 1}, {3, 7}, {1000, 1}, {1, 1 << 20}, {512 << 10, 512 << 10}, {1<<20 + 3, 2<<20 - 5},
	} {
		a, b := data[:tc.a], data[tc.a:tc.a+tc.b]
		got := crcCombine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b)))
		if want := crc32.ChecksumIEEE(data[:tc.a+tc.b]); got != want {
			t.Errorf("%d+%d bytes: %08x, want %08x", tc.a, tc.b, got, want)
		}
	}
}

// TestCRCStored: a record's CRC-32 from the pieces a scan read (in any
// order, duplicated, overlapping, outside the record) and the gaps
// between them; only the gaps are read.
func TestCRCStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	file := make([]byte, 1<<16)
	for i := range file {
		file[i] = byte(rng.Uint32())
	}
	const off, n = 1000, 50000
	want := crc32.ChecksumIEEE(file[off : off+n])
	piece := func(lo, hi int64) crcPiece { return crcPiece{lo, hi - lo, crc32.ChecksumIEEE(file[lo:hi])} }
	for _, tc := range []struct {
		name   string
		pieces []crcPiece
		read   int64 // bytes the gaps take
	}{
		{"none", nil, n},
		{"all", []crcPiece{piece(off, off+n)}, 0},
		{"tiled", []crcPiece{piece(off, 20000), piece(20000, 40000), piece(40000, off+n)}, 0},
		{"gaps", []crcPiece{piece(2000, 3000), piece(10000, 11000)}, n - 2000},
		{"duplicate and overlap", []crcPiece{piece(2000, 3000), piece(2000, 3000), piece(2500, 4000), piece(3000, 5000)}, n - 3000},
		{"outside", []crcPiece{piece(0, 1500), piece(off+n-10, off+n+10), piece(off+n, off+n+100)}, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := append([]crcPiece{}, tc.pieces...)
			rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			seen := newReadCRCs()
			src := bytes.NewReader(file)
			seen.by[src] = ps
			var read int64
			got, err := crcStored(src, off, n, seen.of(src), &crcBuf{}, func(k int64) { read += k })
			if err != nil || got != want {
				t.Fatalf("crc %08x, %v; want %08x", got, err, want)
			}
			if read != tc.read {
				t.Errorf("read %d bytes, want %d", read, tc.read)
			}
		})
	}
}

// TestCRCBuf: the CRC pass's buffer is as large as a read needs, at least
// 512 bytes and at most crcChunk, and grows only.
func TestCRCBuf(t *testing.T) {
	var b crcBuf
	for _, c := range []struct{ n, want, held int64 }{
		{1, 512, 512}, {100, 512, 512}, {5000, 5000, 5000}, {700, 700, 5000},
		{crcChunk, crcChunk, crcChunk}, {10 * crcChunk, crcChunk, crcChunk}, {0, 512, crcChunk},
	} {
		if got := b.get(c.n); int64(len(got)) != c.want || int64(len(b.b)) != c.held {
			t.Errorf("get(%d): %d bytes, holding %d; want %d, %d", c.n, len(got), len(b.b), c.want, c.held)
		}
	}
}

// TestDeepOnePass: verify --deep reads the tensor bytes once: the bytes it
// reads are those of the value scan plus what no statistic needs, far
// fewer than the value scan and a second read of every file.
func TestDeepOnePass(t *testing.T) {
	c, err := universal.Open(sample, universal.Options{Tolerant: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var read atomic.Int64
	r, err := Run(context.Background(), c, Options{Deep: true, Workers: 2, Progress: func(n int64) { read.Add(n) }})
	if err != nil || r.Errors != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	var files, tensors int64
	for _, f := range c.Files {
		files += f.Size
	}
	for _, p := range c.Params {
		for _, s := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16} {
			if s != nil {
				tensors += s.NBytes()
			}
		}
	}
	scan := r.BytesScanned
	extra := read.Load() - scan
	t.Logf("scan %d bytes, CRC pass %d more; files %d bytes, of which tensors %d", scan, extra, files, tensors)
	if extra <= 0 || extra > files-tensors {
		t.Errorf("the CRC pass read %d bytes beyond the scan's %d; the files hold %d bytes besides the tensors' %d", extra, scan, files-tensors, tensors)
	}
}
