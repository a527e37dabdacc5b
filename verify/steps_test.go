package verify

import (
	"context"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/universal"
)

// TestStepsMakeRun checks that Begin, ScanValues and CheckCRC of disjoint
// sets of parameters and files, put back together by Finish, give Run's
// report exactly, on a checkpoint with value, master and CRC faults in
// several parameters and files (CRC findings in file order).
func TestStepsMakeRun(t *testing.T) {
	dir := fixture.CopyTree(t, intstep)
	const up = "model.layers.0.mlp.up_proj.weight"
	putF32(t, zero(dir, up, "exp_avg.pt"), 5, float32(math.NaN()))
	putF32(t, zero(dir, "lm_head.weight", "exp_avg_sq.pt"), 7, -1e-9)
	for _, p := range []string{"model.layers.0.mlp.gate_proj.weight", "model.norm.weight", "lm_head.weight", up} {
		f := zero(dir, p, "fp32.pt")
		off := tensorOffset(t, f, "param", 1)
		b, _ := os.ReadFile(f)
		writeAt(t, f, off, []byte{b[off] ^ 0x01})
	}
	c, err := universal.Open(dir, universal.Options{Tolerant: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	opt := Options{Deep: true, Workers: 3}
	want, err := Run(ctx, c, opt)
	if err != nil {
		t.Fatal(err)
	}
	crcs := 0
	for _, f := range want.Findings {
		if f.Check == ckpt.CheckCRC {
			crcs++
		}
	}
	if crcs < 4 || want.Errors < 6 {
		t.Fatalf("%d CRC findings, %d errors: %+v", crcs, want.Errors, want.Findings)
	}
	fileIndex := map[string]int{}
	for i, f := range c.Files {
		fileIndex[f.Path] = i
	}
	last := -1
	for _, f := range want.Findings {
		if f.Check == ckpt.CheckCRC {
			if fileIndex[f.File] < last {
				t.Errorf("CRC findings not in file order: %+v", want.Findings)
			}
			last = fileIndex[f.File]
		}
	}
	for _, n := range []int{1, 2, 3, 7} {
		got, err := Begin(c, opt)
		if err != nil {
			t.Fatal(err)
		}
		all := &Values{}
		parts := make([]*Values, n)
		crcParts := make([]*CRC, n)
		for k := range n {
			idx := map[*ckpt.Param]bool{}
			for i, p := range c.Params {
				idx[p] = (i*5+3)%n == k
			}
			if parts[k], err = ScanValues(ctx, c, opt, func(p *ckpt.Param) bool { return idx[p] }); err != nil {
				t.Fatal(err)
			}
			files := map[*ckpt.File]bool{}
			for i, f := range c.Files {
				files[f] = (i*3+1)%n == k
			}
			if crcParts[k], err = CheckCRC(ctx, c, opt, func(f *ckpt.File) bool { return files[f] }); err != nil {
				t.Fatal(err)
			}
		}
		// Back in c.Params and c.Files order.
		next := make([]int, n)
		for i := range c.Params {
			k := (i*5 + 3) % n
			all.Params = append(all.Params, parts[k].Params[next[k]])
			all.Findings = append(all.Findings, parts[k].Findings[next[k]])
			next[k]++
		}
		crc := &CRC{}
		next = make([]int, n)
		for i, f := range c.Files {
			k := (i*3 + 1) % n
			if len(f.Records) == 0 {
				continue
			}
			crc.Files = append(crc.Files, f)
			crc.Findings = append(crc.Findings, crcParts[k].Findings[next[k]])
			next[k]++
		}
		for k := range n {
			all.Bytes += parts[k].Bytes
			crc.Bytes += crcParts[k].Bytes
		}
		got.Finish(c, all, crc)
		if !reflect.DeepEqual(got.Findings, want.Findings) || got.Summary.WeightNorm != want.Summary.WeightNorm ||
			!reflect.DeepEqual(got.Summary, want.Summary) || got.BytesScanned != want.BytesScanned || got.BytesDeep != want.BytesDeep ||
			got.Errors != want.Errors || got.Warnings != want.Warnings || !reflect.DeepEqual(got.Skipped, want.Skipped) {
			t.Errorf("N=%d: steps give\n%+v\nRun gives\n%+v", n, got, want)
		}
	}
	// Run is deterministic: the CRC findings come in file order whatever
	// the workers.
	for range 3 {
		again, err := Run(ctx, c, Options{Deep: true, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again.Findings, want.Findings) {
			t.Fatalf("findings differ between runs:\n%+v\n%+v", again.Findings, want.Findings)
		}
	}
}
