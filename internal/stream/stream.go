// Package stream runs passes over tensors whose bytes live in read-only
// memory maps, in parallel and in bounded memory.
//
// A [Task] is one pass over one or more equally long tensors (a tensor's
// statistics; the AdamW update over both moments; a comparison of two
// weights). [Run] cuts every task into chunks of a fixed number of
// elements, hands the chunks to workers (one per core by default), and
// merges each task's partial results in chunk order, so results never
// depend on the number of workers.
//
// A task reads its chunks in one of two ways:
//
//   - Read (tasks with ChunkRead, the default): each worker reads the
//     chunk's bytes of every contiguous source from its file with pread into
//     a buffer of its own, small enough to stay in the core's cache
//     ([DefaultReadChunkElems] elements per chunk), and the task computes on
//     that copy. The mapping is never touched, so the resident set is the
//     workers' buffers whatever the size of the checkpoint, and the kernel's
//     own read-ahead follows the sequential reads (the files are advised
//     sequential: see [mmap.Open]). No read-ahead is asked for: pages read
//     for MADV_WILLNEED are cached in 4 KiB pages, not in the large folios
//     of sequential read-ahead, and every later read of the file, by any
//     process, copies them out markedly slower. Copying from the page cache
//     costs less than first touches of freshly mapped pages, which on some
//     systems (virtual machines with nested paging) are several times
//     slower than the copy; see the README's Performance section.
//   - Mapped (tasks with only Chunk, sources without a file or not
//     contiguous, or [Options.Mapped]): the task reads the mapped bytes in
//     place. Before a chunk is read its pages are requested (MADV_WILLNEED);
//     after it they are dropped from the process (MADV_DONTNEED), so the
//     resident set stays near workers × chunk size.
//
// A fault while reading a mapping, or a short read (the file was truncated
// under us), is turned into the task's error rather than a crash.
package stream

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/ckptinspect/ckptinspect/internal/crc"
	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Source is one tensor a task reads, or one piece of it, with the file its
// bytes come from.
type Source struct {
	View *tensor.View // the tensor (or piece), over its storage's bytes
	// File reads the file that holds View.Data (with pread: see
	// [mmap.File.ReadAt]), and Offset is the position of View.Data[0] in
	// it; File is nil for data not read from a file. When File can also
	// advise the kernel about a mapping of those bytes (it implements
	// Advise as [mmap.File] does), mapped reads use it.
	File   io.ReaderAt
	Name   string // the file's name, for errors
	Offset int64
	// Start is the task's flat index of the view's first element: a task
	// over a tensor stored in pieces has one Source per piece.
	Start int64
}

// Window is the part of one source that a chunk reaches, as ChunkRead sees
// it: the source's flat element j (an index into Source.View) is element
// j−Base of View. A window read into memory holds just the chunk's
// elements, contiguous, with Base the first of them; a mapped window is the
// source's own view with Base 0. The zero Window stands for a source the
// chunk does not reach.
type Window struct {
	View *tensor.View // the elements: the source's view, or a copy of the chunk's part of it
	Base int64        // the source's flat index of View's element 0
	// Sum, for a copy when Options.CRC is set, is the checksum of its
	// bytes that the kernels reading them keep up where they can
	// (tensor.MomentsAdamSum, tensor.CompareRoundedSum); the worker hashes
	// what they leave.
	Sum *tensor.Checksum
}

// Task is one pass over the flat element range [0, Numel) of its sources.
type Task struct {
	Numel   int64    // elements of the pass: flat indices [0, Numel)
	Sources []Source // the tensors (or pieces) read, each covering part of [0, Numel)
	// ChunkRead, when set, computes the partial result of the elements
	// [lo, hi) from one window per source (see Window). A window read into
	// memory is only valid until ChunkRead returns.
	ChunkRead func(lo, hi int64, w []Window) any
	// Chunk computes the partial result of the elements [lo, hi) by reading
	// the sources' views (mapped) directly; it is used when ChunkRead is
	// nil.
	Chunk func(lo, hi int64) any
	// Done receives the partial results in chunk order, or the error that
	// stopped the task. It is called once, from a worker goroutine.
	Done func(parts []any, err error)
	// Prepare, when set, does work a task's chunks need first and that is
	// mostly waiting (sampling a few places of a file for a shift), ahead
	// of time: Run calls it from one goroutine that walks the tasks in
	// order ahead of the workers, skipping tasks whose chunks have started
	// (a chunk then does that work itself). It is called at most once,
	// possibly while the task's chunks run, with the task's chunk size in
	// elements; Done waits for it, and a panic in it (a fault reading a
	// mapping) is the task's error.
	Prepare func(chunkElems int64)
}

// Options configures [Run].
type Options struct {
	// Workers is the number of goroutines; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// ChunkElems is the largest chunk, in elements; 0 means
	// DefaultReadChunkElems for tasks that read their sources into memory
	// and DefaultChunkElems for tasks that read them mapped.
	ChunkElems int64
	// Progress, when set, is called with the number of bytes just read.
	// It must be safe for concurrent use.
	Progress func(bytes int64)
	// KeepPages disables dropping pages behind the scan (mapped reads).
	KeepPages bool
	// Mapped makes ChunkRead tasks read their sources through the
	// mappings, as Chunk tasks do, instead of copying them into memory.
	Mapped bool
	// OnRead, when set, is called with every range of a file read into
	// memory (file, offset, bytes), from the worker that read it, after
	// the task computed on it; b is valid only during the call. With CRC,
	// crc is the CRC-32 (IEEE) of b, from the kernels that read the bytes
	// where they compute it (Window.Sum), else from the worker while the
	// bytes are still in cache: a one-pass integrity check; without, 0.
	OnRead func(file io.ReaderAt, off int64, b []byte, crc uint32)
	// CRC asks OnRead for the CRC-32s of the ranges.
	CRC bool
}

// DefaultChunkElems is the chunk size of mapped reads when
// Options.ChunkElems is zero: 16 MiB of float32, large enough to amortise
// scheduling and page advice and small enough to bound memory.
const DefaultChunkElems = 4 << 20

// DefaultReadChunkElems is the chunk size of reads into memory when
// Options.ChunkElems is zero: 512 KiB of float32 per source, so that a
// chunk read by pread is still in the core's cache when the kernels read it.
const DefaultReadChunkElems = 128 << 10

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
	read    bool // read into memory (ChunkRead and not Options.Mapped)
	parts   []any
	left    atomic.Int64
	started atomic.Bool // a chunk was handed to a worker
	size    int64       // elements per chunk
	errOnce sync.Once
	err     error
	failed  atomic.Bool
}

// Run runs every task and returns when all are done or ctx is cancelled.
// Each task's Done is called exactly once (with ctx.Err() for tasks that
// were cancelled).
func Run(ctx context.Context, tasks []*Task, opt Options) error {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	states := make([]*taskState, len(tasks))
	var chunks []chunk
	var bufSize int64 // the most bytes a chunk reads into memory
	for i, t := range tasks {
		st := &taskState{t: t, read: t.ChunkRead != nil && !opt.Mapped}
		states[i] = st
		size := opt.ChunkElems
		if size <= 0 {
			size = DefaultChunkElems
			if st.read {
				size = DefaultReadChunkElems
			}
		}
		st.size = size
		n := (t.Numel + size - 1) / size
		if t.Numel == 0 {
			n = 1
		}
		if st.read {
			var item int64
			for _, s := range t.Sources {
				item += int64(s.View.DType.Size())
			}
			bufSize = max(bufSize, min(size, t.Numel)*item)
		}
		st.parts = make([]any, n)
		st.left.Store(n)
		for c := int64(0); c < n; c++ {
			lo := c * size
			hi := min(lo+size, t.Numel)
			chunks = append(chunks, chunk{task: st, index: int(c), lo: lo, hi: hi})
		}
	}
	work := make(chan chunk, 2*workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			debug.SetPanicOnFault(true)
			var wk worker
			var free func()
			wk.buf, free = newBuffer(int(bufSize))
			defer free()
			for c := range work {
				wk.run(c, opt)
			}
		}()
	}
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		prepare(states, stop)
	}()
	cancelled := false
	for _, c := range chunks {
		if !cancelled {
			c.task.started.Store(true)
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
	close(stop)
	close(work)
	wg.Wait()
	return ctx.Err()
}

// prepare calls the tasks' Prepare in order, skipping tasks already
// started, until every chunk has been handed out (stop is closed).
func prepare(states []*taskState, stop <-chan struct{}) {
	debug.SetPanicOnFault(true)
	for _, st := range states {
		select {
		case <-stop:
			return
		default:
		}
		if st.t.Prepare != nil && !st.started.Load() {
			st.prepare()
		}
	}
}

// prepare runs the task's Prepare, unless the task is over. Prepare counts
// as one more part of the task, so Done waits for it. A fault while it
// reads a mapping (the file was truncated under us) becomes the task's
// error, as in a chunk.
func (st *taskState) prepare() {
	for {
		n := st.left.Load()
		if n == 0 {
			return // every chunk is done: nothing to prepare for
		}
		if st.left.CompareAndSwap(n, n+1) {
			break
		}
	}
	defer st.finish()
	defer func() {
		if r := recover(); r != nil {
			st.fail(fmt.Errorf("%s: %v", errFault, r))
		}
	}()
	st.t.Prepare(st.size)
}

func (st *taskState) fail(err error) {
	st.errOnce.Do(func() {
		st.err = err
		st.failed.Store(true)
	})
}

func (st *taskState) finish() {
	if st.left.Add(-1) == 0 {
		st.t.Done(st.parts, st.err)
	}
}

// worker holds what one worker reuses from chunk to chunk.
type worker struct {
	buf     []byte
	windows []Window
	mapped  []bool // the source's window is its mapped view
	ranges  [][2]int64
	sums    []tensor.Checksum // with Options.CRC: per source read into buf
	reads   []readRange       // with Options.OnRead: per source, what was read into buf
}

// readRange is a range of a file read into a worker's buffer.
type readRange struct {
	off int64
	b   []byte
}

// errFault is the error of a chunk whose mapped data could not be read.
const errFault = "reading mapped data failed (was the file changed or truncated?)"

func (w *worker) run(c chunk, opt Options) {
	st := c.task
	defer st.finish()
	if st.failed.Load() {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			st.fail(fmt.Errorf("%s: %v", errFault, r))
		}
	}()
	srcs := st.t.Sources
	w.windows = grow(w.windows, len(srcs))
	w.mapped = grow(w.mapped, len(srcs))
	w.ranges = grow(w.ranges, len(srcs))
	if opt.OnRead != nil {
		w.sums = grow(w.sums, len(srcs))
		w.reads = grow(w.reads, len(srcs))
		clear(w.reads) // a failed chunk may have left some
	}
	// Plan: which sources are read into the buffer, and how many bytes.
	var need int64
	for i, s := range srcs {
		lo, hi := max(c.lo-s.Start, 0), min(c.hi-s.Start, s.View.Numel())
		w.windows[i], w.mapped[i], w.ranges[i] = Window{}, false, [2]int64{}
		if hi <= lo {
			continue
		}
		if st.read && s.File != nil && s.View.IsContiguous() {
			need += (hi - lo) * int64(s.View.DType.Size())
			continue
		}
		w.mapped[i] = true
		w.windows[i] = Window{View: s.View}
		blo, bhi := byteRange(s.View, lo, hi)
		w.ranges[i] = [2]int64{blo, bhi}
		if bhi > blo {
			advise(s, blo, bhi-blo, mmap.WillNeed)
		}
	}
	if int64(cap(w.buf)) < need {
		w.buf = make([]byte, need)
	}
	buf := w.buf[:need]
	var read int64
	for i, s := range srcs {
		lo, hi := max(c.lo-s.Start, 0), min(c.hi-s.Start, s.View.Numel())
		if hi <= lo {
			continue
		}
		size := int64(s.View.DType.Size())
		read += (hi - lo) * size
		if w.mapped[i] {
			continue
		}
		n := (hi - lo) * size
		b := buf[:n:n]
		buf = buf[n:]
		off := s.Offset + (s.View.Offset+lo)*size
		if got, err := s.File.ReadAt(b, off); int64(got) != n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			st.fail(fmt.Errorf("%s: %s: reading %d bytes at %d: %w", errFault, s.Name, n, off, err))
			return
		}
		v, err := tensor.NewView(s.View.DType, b, 0, []int64{hi - lo}, nil)
		if err != nil {
			panic("stream: " + err.Error()) // cannot happen: b holds hi-lo elements
		}
		w.windows[i] = Window{View: v, Base: lo}
		if opt.OnRead != nil {
			w.reads[i] = readRange{off, b}
			if opt.CRC {
				w.sums[i].Reset()
				w.windows[i].Sum = &w.sums[i]
			}
		}
	}
	if st.t.ChunkRead != nil {
		st.parts[c.index] = st.t.ChunkRead(c.lo, c.hi, w.windows[:len(srcs)])
	} else {
		st.parts[c.index] = st.t.Chunk(c.lo, c.hi)
	}
	if opt.OnRead != nil {
		for i, s := range srcs {
			if rd := w.reads[i]; rd.b != nil {
				var sum uint32
				if opt.CRC {
					sum = finishSum(&w.sums[i], rd.b)
				}
				opt.OnRead(s.File, rd.off, rd.b, sum)
			}
		}
	}
	for i, s := range srcs {
		r := w.ranges[i]
		if w.mapped[i] && !opt.KeepPages && r[1] > r[0] {
			advise(s, r[0], r[1]-r[0], mmap.DontNeed)
		}
	}
	if opt.Progress != nil {
		opt.Progress(read)
	}
}

// finishSum returns the CRC-32 of b, the bytes of a window whose checksum
// the kernels kept up to sum: what they covered, then the rest hashed; all
// of b when the checksum was lost.
func finishSum(sum *tensor.Checksum, b []byte) uint32 {
	c, n, ok := sum.Sum()
	if !ok || n > int64(len(b)) {
		return crc.Checksum(b)
	}
	return crc.Update(c, b[n:])
}

// advisor is a source file that can pass advice about a mapping of its
// bytes to the kernel.
type advisor interface {
	Advise(off, n int64, a mmap.Advice) error
}

// advise passes advice about the bytes [off, off+n) of s.View.Data, when
// s's file takes advice.
func advise(s Source, off, n int64, a mmap.Advice) {
	if ad, ok := s.File.(advisor); ok {
		ad.Advise(s.Offset+off, n, a)
	}
}

// grow returns s with length n, reusing its array when it can.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Shift returns src.View.Shift() without faulting the sampled pages into the
// process: for a contiguous view in a mapped file the 16 sampled runs are
// read from the file, past the page cache where they are not cached (see
// [mmap.File.ReadAtUncached]: cached, they would break the large folios of
// the read-ahead of the pass that follows); otherwise they are read through
// the mapping, and the pages touched (a few places of the tensor, but each
// may map a large page-cache folio) are dropped afterwards, so that
// sampling every tensor of a checkpoint before scanning it does not add up.
func Shift(src Source) float64 {
	v := src.View
	if src.File != nil && v.IsContiguous() {
		// A short read (the file changed since it was mapped) samples
		// zeros: the task's own read will report the problem, where
		// touching the mapping here could fault outside any recovery.
		size := int64(v.DType.Size())
		var raw []byte
		return tensor.ShiftSample(v.Numel(), func(start int64, dst []float64) {
			n := int64(len(dst)) * size
			if int64(cap(raw)) < n {
				raw = make([]byte, n)
			}
			b := raw[:n:n]
			if got, _ := readUncached(src.File, b, src.Offset+(v.Offset+start)*size); int64(got) != n {
				clear(dst)
				return
			}
			w, err := tensor.NewView(v.DType, b, 0, []int64{int64(len(dst))}, nil)
			if err != nil {
				panic("stream: " + err.Error()) // cannot happen: b holds len(dst) elements
			}
			w.Float64s(0, dst)
		})
	}
	k := v.Shift()
	lo, hi := byteRange(v, 0, v.Numel())
	advise(src, lo, hi-lo, mmap.DontNeed)
	return k
}

// uncachedReader is a source file that can read bytes without leaving
// them in the page cache, as [mmap.File.ReadAtUncached] does.
type uncachedReader interface {
	ReadAtUncached(p []byte, off int64) (int, error)
}

// readUncached reads p at off from r, past the page cache where r can.
func readUncached(r io.ReaderAt, p []byte, off int64) (int, error) {
	if u, ok := r.(uncachedReader); ok {
		return u.ReadAtUncached(p, off)
	}
	return r.ReadAt(p, off)
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
