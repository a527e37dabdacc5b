package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/tensor"
)

func floatView(t *testing.T, xs []float32) *tensor.View {
	t.Helper()
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	v, err := tensor.NewView(tensor.Float32, b, 0, []int64{int64(len(xs))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPartsInOrder checks that chunks cover the task exactly and reach
// Done in order, whatever the number of workers.
func TestPartsInOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		var got [][2]int64
		task := &Task{
			Numel:   1000,
			Sources: []Source{{View: floatView(t, make([]float32, 1000))}},
			Chunk:   func(lo, hi int64) any { return [2]int64{lo, hi} },
			Done: func(parts []any, err error) {
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range parts {
					got = append(got, p.([2]int64))
				}
			},
		}
		var read int64
		if err := Run(context.Background(), []*Task{task}, Options{Workers: workers, ChunkElems: 64, Progress: func(n int64) { read += n }}); err != nil {
			t.Fatal(err)
		}
		var next int64
		for _, r := range got {
			if r[0] != next || r[1] <= r[0] {
				t.Fatalf("workers %d: chunk %v after %d", workers, r, next)
			}
			next = r[1]
		}
		if next != 1000 || len(got) != 16 {
			t.Errorf("workers %d: covered %d in %d chunks", workers, next, len(got))
		}
		if workers == 1 && read != 4000 {
			t.Errorf("progress reported %d bytes, want 4000", read)
		}
	}
}

// TestFaultBecomesError checks that a panic while reading (what a fault
// on a truncated mapping becomes) is the task's error, not a crash.
func TestFaultBecomesError(t *testing.T) {
	var gotErr error
	task := &Task{
		Numel:   10,
		Sources: []Source{{View: floatView(t, make([]float32, 10))}},
		Chunk:   func(lo, hi int64) any { panic("unexpected fault address") },
		Done:    func(parts []any, err error) { gotErr = err },
	}
	if err := Run(context.Background(), []*Task{task}, Options{}); err != nil {
		t.Fatal(err)
	}
	if gotErr == nil || !strings.Contains(gotErr.Error(), "truncated") {
		t.Errorf("err = %v", gotErr)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := 0
	var gotErr error
	task := &Task{
		Numel:   1 << 20,
		Sources: []Source{{View: floatView(t, make([]float32, 1<<20))}},
		Chunk:   func(lo, hi int64) any { return nil },
		Done:    func(parts []any, err error) { done++; gotErr = err },
	}
	err := Run(ctx, []*Task{task}, Options{ChunkElems: 1024})
	if !errors.Is(err, context.Canceled) || done != 1 || !errors.Is(gotErr, context.Canceled) {
		t.Errorf("err %v, done %d, task err %v", err, done, gotErr)
	}
}

// TestStatsTaskOnMapping runs a statistics task over a mapped file with
// page dropping, and checks the result against View.Stats.
func TestStatsTaskOnMapping(t *testing.T) {
	xs := make([]float32, 100000)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i)))
	}
	v := floatView(t, xs)
	path := filepath.Join(t.TempDir(), "x.bin")
	if err := os.WriteFile(path, append(make([]byte, 64), v.Data...), 0o444); err != nil {
		t.Fatal(err)
	}
	m, err := mmap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mv, err := tensor.NewView(tensor.Float32, m.Bytes()[64:], 0, []int64{100000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got tensor.Stats
	task := StatsTask(Source{View: mv, Map: m, Offset: 64}, func(s tensor.Stats, err error) {
		if err != nil {
			t.Fatal(err)
		}
		got = s
	})
	if err := Run(context.Background(), []*Task{task}, Options{ChunkElems: 4096}); err != nil {
		t.Fatal(err)
	}
	want := v.Stats()
	if got.Finite != want.Finite || got.Min != want.Min || got.Max != want.Max || math.Abs(got.L2-want.L2) > 1e-12*want.L2 {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
