package ckpt_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// TestOnReadCRC checks that every range a scan reports through OnReadCRC
// comes with the CRC-32 of its bytes, whether the kernels computed it while
// reading (both AdamW moments, float32) or the worker after them (every
// other tensor), and that the ranges do not overlap: from universal
// checkpoints and the ZeRO layouts of real DeepSpeed runs (moments in
// partitions, a chunk's pairs spanning several pieces), in chunks of
// several sizes (odd ones leave the kernels' tails to Go), with and
// without the master/module comparison; and that OnRead, set beside it,
// sees the same ranges.
func TestOnReadCRC(t *testing.T) {
	for _, c := range []struct{ path, layout string }{
		{"sample/checkpoint-120", "universal"},
		{"universal-intstep", "universal"},
		{"realds/z2_dp3_bf16/global_step9_universal", "universal"},
		{"realds/z2_dp3_bf16", "zero"},
		{"realds/z2_dp3_fp32", "zero"},
		{"realds/z3_dp3_bf16", "zero"},
	} {
		cp, err := layout.Open(filepath.Join("..", "testdata", c.path), layout.Options{Layout: c.layout})
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		for _, chunk := range []int64{0, 333, 4099} {
			for _, compare := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/chunk=%d/compare=%v", c.path, c.layout, chunk, compare), func(t *testing.T) {
					type key struct {
						f   io.ReaderAt
						off int64
					}
					var mu sync.Mutex
					seen := map[key]int64{}
					var bytes int64
					onRead := func(f io.ReaderAt, off int64, b []byte, sum uint32) {
						want := crc32.ChecksumIEEE(b)
						mu.Lock()
						defer mu.Unlock()
						if sum != want {
							t.Errorf("%d bytes at %d: CRC-32 %08x, want %08x", len(b), off, sum, want)
						}
						if _, dup := seen[key{f, off}]; dup {
							t.Errorf("%d bytes at %d reported twice", len(b), off)
						}
						seen[key{f, off}] = int64(len(b))
						bytes += int64(len(b))
					}
					plain := map[key]int64{}
					onPlain := func(f io.ReaderAt, off int64, b []byte) {
						mu.Lock()
						plain[key{f, off}] = int64(len(b))
						mu.Unlock()
					}
					res, err := ckpt.Scan(context.Background(), cp, ckpt.ScanOptions{Workers: 3, Compare: compare,
						Tuning: ckpt.Tuning{ChunkElems: chunk}, OnReadCRC: onRead, OnRead: onPlain})
					if err != nil {
						t.Fatal(err)
					}
					if len(seen) == 0 || bytes != res.Summary.BytesScanned {
						t.Errorf("%d ranges of %d bytes reported, the scan read %d", len(seen), bytes, res.Summary.BytesScanned)
					}
					if !reflect.DeepEqual(plain, seen) {
						t.Errorf("OnRead saw %d ranges, OnReadCRC %d", len(plain), len(seen))
					}
				})
			}
		}
	}
}
