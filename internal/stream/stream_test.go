package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
		var read atomic.Int64
		if err := Run(context.Background(), []*Task{task}, Options{Workers: workers, ChunkElems: 64, Progress: func(n int64) { read.Add(n) }}); err != nil {
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
		if read.Load() != 4000 {
			t.Errorf("workers %d: progress reported %d bytes, want 4000", workers, read.Load())
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
	task := StatsTask(Source{View: mv, File: m, Name: m.Name(), Offset: 64}, func(s tensor.Stats, err error) {
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

// mappedFloats writes xs as float32 after a 64-byte header to a file, maps
// it and returns the mapping and a view of the values.
func mappedFloats(t *testing.T, xs []float32) (*mmap.File, *tensor.View) {
	t.Helper()
	v := floatView(t, xs)
	path := filepath.Join(t.TempDir(), "x.bin")
	if err := os.WriteFile(path, append(make([]byte, 64), v.Data...), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := mmap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	mv, err := tensor.NewView(tensor.Float32, m.Bytes()[64:], 0, []int64{int64(len(xs))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, mv
}

// TestWindows runs a task over three sources (two pieces of one tensor in
// a file, one of them at a storage offset, and a transposed view) and
// checks that every window gives each chunk exactly its elements, when
// read into memory and when mapped, for any number of workers.
func TestWindows(t *testing.T) {
	xs := make([]float32, 3000)
	for i := range xs {
		xs[i] = float32(i)
	}
	m, all := mappedFloats(t, xs)
	// Piece 0: elements 0..999 of the file; piece 1: 1000 elements from
	// storage offset 1500; piece 2: a transposed 20×50 view of memory.
	p0, _ := tensor.NewView(tensor.Float32, all.Data, 0, []int64{1000}, nil)
	p1, _ := tensor.NewView(tensor.Float32, all.Data, 1500, []int64{10, 100}, nil)
	p2, _ := tensor.NewView(tensor.Float32, floatView(t, xs[:1000]).Data, 0, []int64{20, 50}, []int64{1, 20})
	srcs := []Source{{View: p0, File: m, Name: m.Name(), Offset: 64}, {View: p1, File: m, Name: m.Name(), Offset: 64, Start: 1000}, {View: p2, Start: 2000}}
	want := func(i int64) float64 {
		switch {
		case i < 1000:
			return p0.Float64At(i)
		case i < 2000:
			return p1.Float64At(i - 1000)
		}
		return p2.Float64At(i - 2000)
	}
	for _, mapped := range []bool{false, true} {
		for _, workers := range []int{1, 3} {
			for _, chunk := range []int64{0, 7, 256, 1000} {
				var bad []string
				var mu = make(chan struct{}, 1)
				task := &Task{
					Numel:   3000,
					Sources: srcs,
					ChunkRead: func(lo, hi int64, w []Window) any {
						for i := lo; i < hi; i++ {
							k, j := i/1000, i%1000
							win := w[k]
							if win.View == nil {
								mu <- struct{}{}
								bad = append(bad, fmt.Sprintf("chunk [%d,%d): no window for source %d", lo, hi, k))
								<-mu
								return nil
							}
							if got := win.View.Float64At(j - win.Base); got != want(i) {
								mu <- struct{}{}
								bad = append(bad, fmt.Sprintf("element %d = %v, want %v", i, got, want(i)))
								<-mu
							}
						}
						return hi - lo
					},
					Done: func(parts []any, err error) {
						if err != nil {
							t.Fatal(err)
						}
					},
				}
				if err := Run(context.Background(), []*Task{task}, Options{Workers: workers, ChunkElems: chunk, Mapped: mapped}); err != nil {
					t.Fatal(err)
				}
				if len(bad) > 0 {
					t.Fatalf("mapped=%v workers=%d chunk=%d: %d bad, first %s", mapped, workers, chunk, len(bad), bad[0])
				}
			}
		}
	}
}

// TestReadTruncated checks that a file truncated after it was mapped gives
// the task an error, read into memory or mapped.
func TestReadTruncated(t *testing.T) {
	for _, mapped := range []bool{false, true} {
		m, v := mappedFloats(t, make([]float32, 50000))
		if err := os.Truncate(m.Name(), 64+4*1000); err != nil {
			t.Fatal(err)
		}
		var gotErr error
		task := StatsTask(Source{View: v, File: m, Name: m.Name(), Offset: 64}, func(s tensor.Stats, err error) { gotErr = err })
		if err := Run(context.Background(), []*Task{task}, Options{ChunkElems: 4096, Mapped: mapped}); err != nil {
			t.Fatal(err)
		}
		if gotErr == nil || !strings.Contains(gotErr.Error(), "truncated") {
			t.Errorf("mapped=%v: err = %v", mapped, gotErr)
		}
	}
}

// TestShift checks that Shift, which samples a mapped file with pread,
// picks what View.Shift picks.
func TestShift(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1024, 1025, 100000} {
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(math.Sin(float64(i)*0.37) + 3)
		}
		m, v := mappedFloats(t, xs)
		if got, want := Shift(Source{View: v, File: m, Name: m.Name(), Offset: 64}), v.Shift(); got != want {
			t.Errorf("n=%d: Shift = %v, View.Shift = %v", n, got, want)
		}
	}
}

// TestEmptyTask runs a statistics task over an empty tensor in both modes.
func TestEmptyTask(t *testing.T) {
	for _, mapped := range []bool{false, true} {
		m, v := mappedFloats(t, nil)
		done := 0
		task := StatsTask(Source{View: v, File: m, Name: m.Name(), Offset: 64}, func(s tensor.Stats, err error) {
			done++
			if err != nil || s.Numel != 0 || s.Valid() {
				t.Errorf("mapped=%v: %+v, %v", mapped, s, err)
			}
		})
		if err := Run(context.Background(), []*Task{task}, Options{Mapped: mapped}); err != nil || done != 1 {
			t.Fatalf("mapped=%v: %v, done %d", mapped, err, done)
		}
	}
}

// uncachedCounter is a source file that counts the reads made past the
// page cache and the others.
type uncachedCounter struct {
	f                  *mmap.File
	uncached, buffered atomic.Int64
}

func (u *uncachedCounter) ReadAt(p []byte, off int64) (int, error) {
	u.buffered.Add(1)
	return u.f.ReadAt(p, off)
}

func (u *uncachedCounter) ReadAtUncached(p []byte, off int64) (int, error) {
	u.uncached.Add(1)
	return u.f.ReadAtUncached(p, off)
}

// TestShiftReadsUncached checks that Shift samples a file that can read
// past the page cache that way (its 16 scattered reads must not leave
// pages cached ahead of the pass), and still picks what View.Shift picks.
func TestShiftReadsUncached(t *testing.T) {
	xs := make([]float32, 100000)
	for i := range xs {
		xs[i] = float32(math.Cos(float64(i)*0.11) - 2)
	}
	m, v := mappedFloats(t, xs)
	u := &uncachedCounter{f: m}
	if got, want := Shift(Source{View: v, File: u, Name: m.Name(), Offset: 64}), v.Shift(); got != want {
		t.Errorf("Shift = %v, View.Shift = %v", got, want)
	}
	if u.uncached.Load() != 16 || u.buffered.Load() != 0 {
		t.Errorf("Shift read %d times past the cache and %d through it, want 16 and 0", u.uncached.Load(), u.buffered.Load())
	}
}

// TestPrepare checks that Prepare runs ahead of the workers, from its own
// goroutine (here the only worker waits in the first task until the
// third task has been prepared), at most once per task, with the chunk
// size.
func TestPrepare(t *testing.T) {
	const n = 5
	var calls [n]atomic.Int64
	third := make(chan struct{})
	tasks := []*Task{holdWorker(t, third, "task 2 was not prepared while the worker waited in task 0")}
	for i := range n {
		if i > 0 {
			tasks = append(tasks, &Task{
				Numel:   1000,
				Sources: []Source{{View: floatView(t, make([]float32, 1000))}},
				Chunk:   func(lo, hi int64) any { return nil },
				Done:    func([]any, error) {},
			})
		}
		tasks[i].Prepare = func(chunk int64) {
			if chunk != 100 {
				t.Errorf("task %d: Prepare(%d), want the chunk size 100", i, chunk)
			}
			if calls[i].Add(1) == 1 && i == 2 {
				close(third)
			}
		}
	}
	if err := Run(context.Background(), tasks, Options{Workers: 1, ChunkElems: 100}); err != nil {
		t.Fatal(err)
	}
	for i := range calls {
		if c := calls[i].Load(); c > 1 {
			t.Errorf("task %d prepared %d times", i, c)
		}
	}
}

// holdWorker returns a task of 1000 elements whose first chunk waits until
// release is closed (failing the test with late after 10 s), so that with
// one worker and chunks of 100 elements or fewer the worker and the queue
// stay busy while the tasks after it are prepared.
func holdWorker(t *testing.T, release <-chan struct{}, late string) *Task {
	return &Task{
		Numel:   1000,
		Sources: []Source{{View: floatView(t, make([]float32, 1000))}},
		Chunk: func(lo, hi int64) any {
			if lo == 0 {
				select {
				case <-release:
				case <-time.After(10 * time.Second):
					t.Error(late)
				}
			}
			return nil
		},
		Done: func([]any, error) {},
	}
}

// TestPrepareFault checks that a fault in Prepare (what reading a mapping
// of a truncated file becomes) is the task's error, not a crash.
func TestPrepareFault(t *testing.T) {
	var gotErr error
	block := make(chan struct{})
	tasks := []*Task{
		holdWorker(t, block, "the second task was not prepared"),
		{
			Numel:   10,
			Sources: []Source{{View: floatView(t, make([]float32, 10))}},
			Chunk:   func(lo, hi int64) any { return nil },
			Done:    func(parts []any, err error) { gotErr = err },
			Prepare: func(int64) {
				defer close(block)
				panic("unexpected fault address")
			},
		},
	}
	if err := Run(context.Background(), tasks, Options{Workers: 1, ChunkElems: 10}); err != nil {
		t.Fatal(err)
	}
	if gotErr == nil || !strings.Contains(gotErr.Error(), "truncated") {
		t.Errorf("err = %v", gotErr)
	}
}
