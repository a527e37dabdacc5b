package ckpt_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/universal"
)

// TestAssembleSplits scans and diffs disjoint sets of parameters (every
// k-th of n) and checks that, put back in order, Assemble and AssembleDiff
// give the single pass's results bit for bit: the per-parameter results,
// the summary's global norms, the delta and diff totals.
func TestAssembleSplits(t *testing.T) {
	a, err := universal.Open("../testdata/universal-intstep/checkpoint-7", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := universal.Open("../testdata/drift/checkpoint-12", universal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	sopt := ckpt.ScanOptions{Workers: 2, Prev: a, Compare: true}
	want, err := ckpt.Scan(ctx, b, sopt)
	if err != nil {
		t.Fatal(err)
	}
	wantDiff, err := ckpt.Diff(ctx, a, b, ckpt.DiffOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, p := range b.Params {
		index[p.Name] = i
	}
	for _, n := range []int{2, 3, 7} {
		prs := make([]*ckpt.ParamResult, len(b.Params))
		pds := make([]*ckpt.ParamDiff, len(a.Params))
		var bytes, diffBytes int64
		for k := range n {
			mine := func(name string) bool { return index[name]%n == k }
			opt := sopt
			opt.Filter = func(p *ckpt.Param) bool { return mine(p.Name) }
			res, err := ckpt.Scan(ctx, b, opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range res.Params {
				prs[index[pr.Param.Name]] = pr
			}
			bytes += res.Summary.BytesScanned
			d, err := ckpt.Diff(ctx, a, b, ckpt.DiffOptions{Workers: 1 + k%2, Filter: mine})
			if err != nil {
				t.Fatal(err)
			}
			for _, pd := range d.Params {
				pds[index[pd.Name]] = pd
			}
			diffBytes += d.BytesScanned
		}
		got := ckpt.Assemble(b, prs, bytes, sopt)
		if !reflect.DeepEqual(got.Summary, want.Summary) || !reflect.DeepEqual(got.DeltaTotal, want.DeltaTotal) {
			t.Errorf("N=%d: summary %+v delta %+v, want %+v %+v", n, got.Summary, got.DeltaTotal, want.Summary, want.DeltaTotal)
		}
		for i := range prs {
			g, w := *prs[i], *want.Params[i]
			if !reflect.DeepEqual(g, w) {
				t.Errorf("N=%d: %s: %+v, want %+v", n, w.Param.Name, g, w)
			}
		}
		var kept []*ckpt.ParamDiff
		for _, pd := range pds {
			if pd != nil {
				kept = append(kept, pd)
			}
		}
		gotDiff := ckpt.AssembleDiff(a, b, kept, diffBytes, ckpt.DiffOptions{})
		if !reflect.DeepEqual(gotDiff.Totals, wantDiff.Totals) || gotDiff.BytesScanned != wantDiff.BytesScanned ||
			!reflect.DeepEqual(gotDiff.OnlyA, wantDiff.OnlyA) || !reflect.DeepEqual(gotDiff.OnlyB, wantDiff.OnlyB) ||
			len(gotDiff.Params) != len(wantDiff.Params) {
			t.Errorf("N=%d: diff totals %+v, want %+v", n, gotDiff.Totals, wantDiff.Totals)
		}
	}
}
