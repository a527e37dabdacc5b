// Package stream runs passes over tensors whose bytes live in read-only
// memory maps, in parallel and in bounded memory.
//
// A [Task] is one pass over one or more equally long tensors (a tensor's
// statistics; the AdamW update over both moments; a comparison of two
// weights). [Run] cuts every task into chunks of at most [Options.ChunkElems]
// elements, hands the chunks to workers, and merges each task's partial
// results in chunk order, so results never depend on the number of workers.
// Before a chunk is read its pages are requested (MADV_WILLNEED); after it
// they are dropped from the process (MADV_DONTNEED), so the resident set
// stays near workers × chunk size whatever the size of the checkpoint.
//
// A fault while reading a mapping (the file was truncated under us) is
// turned into the task's error rather than a crash.
package stream

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Source is one tensor a task reads, or one piece of it, with where its
// bytes are mapped.
type Source struct {
	View *tensor.View
	// Map is the mapping that holds View.Data, and Offset the position of
	// View.Data[0] in it; Map is nil for data not in a mapping.
	Map    *mmap.File
	Offset int64
	// Start is the task's flat index of the view's first element: a task
	// over a tensor stored in pieces has one Source per piece.
	Start int64
}

// Task is one pass over the flat element range [0, Numel) of its sources.
type Task struct {
	Numel   int64
	Sources []Source
	// Chunk computes the partial result of the elements [lo, hi).
	Chunk func(lo, hi int64) any
	// Done receives the partial results in chunk order, or the error that
	// stopped the task. It is called once, from a worker goroutine.
	Done func(parts []any, err error)
}

// Options configures [Run].
type Options struct {
	// Workers is the number of goroutines; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// ChunkElems is the largest chunk, in elements; 0 means 4 Mi elements.
	ChunkElems int64
	// Progress, when set, is called with the number of bytes just read.
	// It must be safe for concurrent use.
	Progress func(bytes int64)
	// KeepPages disables dropping pages behind the scan.
	KeepPages bool
}

// DefaultChunkElems is the chunk size used when Options.ChunkElems is zero:
// 16 MiB of float32, large enough to amortise scheduling and small enough
// to bound memory.
const DefaultChunkElems = 4 << 20

// Bytes returns the number of bytes a task reads: the sum of its sources'
// element bytes.
func (t *Task) Bytes() int64 {
	var n int64
	for _, s := range t.Sources {
		n += s.View.NBytes()
	}
	return n
}

type chunk struct {
	task   *taskState
	index  int
	lo, hi int64
}

type taskState struct {
	t       *Task
	parts   []any
	left    atomic.Int64
	errOnce sync.Once
	err     error
	mu      sync.Mutex
}

// Run runs every task and returns when all are done or ctx is cancelled.
// Each task's Done is called exactly once (with ctx.Err() for tasks that
// were cancelled).
func Run(ctx context.Context, tasks []*Task, opt Options) error {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := opt.ChunkElems
	if size <= 0 {
		size = DefaultChunkElems
	}
	states := make([]*taskState, len(tasks))
	var chunks []chunk
	for i, t := range tasks {
		st := &taskState{t: t}
		states[i] = st
		n := (t.Numel + size - 1) / size
		if t.Numel == 0 {
			n = 1
		}
		st.parts = make([]any, n)
		st.left.Store(n)
		for c := int64(0); c < n; c++ {
			lo := c * size
			hi := min(lo+size, t.Numel)
			chunks = append(chunks, chunk{task: st, index: int(c), lo: lo, hi: hi})
		}
	}
	work := make(chan chunk)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			debug.SetPanicOnFault(true)
			for c := range work {
				runChunk(c, opt)
			}
		}()
	}
	cancelled := false
	for _, c := range chunks {
		if !cancelled {
			select {
			case work <- c:
				continue
			case <-ctx.Done():
				cancelled = true
			}
		}
		c.task.fail(ctx.Err())
		c.task.finish()
	}
	close(work)
	wg.Wait()
	return ctx.Err()
}

func (st *taskState) fail(err error) {
	st.errOnce.Do(func() { st.err = err })
}

func (st *taskState) finish() {
	if st.left.Add(-1) == 0 {
		st.t.Done(st.parts, st.err)
	}
}

func runChunk(c chunk, opt Options) {
	st := c.task
	defer st.finish()
	if st.err != nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			st.fail(fmt.Errorf("reading mapped data failed (was the file changed or truncated?): %v", r))
		}
	}()
	ranges := make([][2]int64, len(st.t.Sources))
	for i, s := range st.t.Sources {
		lo, hi := byteRange(s.View, c.lo-s.Start, c.hi-s.Start)
		ranges[i] = [2]int64{lo, hi}
		if s.Map != nil && hi > lo {
			s.Map.Advise(s.Offset+lo, hi-lo, mmap.WillNeed)
		}
	}
	st.parts[c.index] = st.t.Chunk(c.lo, c.hi)
	var read int64
	for i, s := range st.t.Sources {
		lo, hi := max(c.lo-s.Start, 0), min(c.hi-s.Start, s.View.Numel())
		if hi > lo {
			read += (hi - lo) * int64(s.View.DType.Size())
		}
		if s.Map != nil && !opt.KeepPages && ranges[i][1] > ranges[i][0] {
			s.Map.Advise(s.Offset+ranges[i][0], ranges[i][1]-ranges[i][0], mmap.DontNeed)
		}
	}
	if opt.Progress != nil {
		opt.Progress(read)
	}
}

// Shift returns src.View.Shift(), then drops from the process the pages
// that sampling mapped (a few places of the tensor, but each may map a large
// page-cache folio), so that sampling every tensor of a checkpoint before
// scanning it does not add up.
func Shift(src Source) float64 {
	k := src.View.Shift()
	if src.Map != nil {
		lo, hi := byteRange(src.View, 0, src.View.Numel())
		src.Map.Advise(src.Offset+lo, hi-lo, mmap.DontNeed)
	}
	return k
}

// byteRange returns the bytes of v.Data that the view's flat elements
// [lo, hi) (clipped to the view) lie in: exact for contiguous views, the
// touched extent otherwise.
func byteRange(v *tensor.View, lo, hi int64) (int64, int64) {
	lo, hi = max(lo, 0), min(hi, v.Numel())
	if hi <= lo {
		return 0, 0
	}
	size := int64(v.DType.Size())
	if v.IsContiguous() {
		return (v.Offset + lo) * size, (v.Offset + hi) * size
	}
	first, last := int64(-1), int64(-1)
	v.Runs(lo, hi, func(off, n, stride int64) bool {
		end := off + (n-1)*stride + size
		if first < 0 || off < first {
			first = off
		}
		if end > last {
			last = end
		}
		return true
	})
	if first < 0 {
		return 0, 0
	}
	return first, last
}
