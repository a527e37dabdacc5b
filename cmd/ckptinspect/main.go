// Command ckptinspect opens PyTorch and DeepSpeed training checkpoints
// without Python and reports what is inside them. See the README for the
// commands, their JSON schemas and exit codes.
package main

import (
	"os"
	"runtime/debug"

	"github.com/ckptinspect/ckptinspect/internal/cli"
	"github.com/ckptinspect/ckptinspect/internal/hugepages"
)

// memoryLimit is the Go heap's soft limit unless $GOMEMLIMIT sets one: the
// collector works harder as the heap nears it, which keeps the peak RSS of
// a checkpoint of thousands of files (or two, for diff) under the README's
// 128 MB. It is soft: a job that needs more heap gets it.
const memoryLimit = 96 << 20

// gcPercent is the collector's GOGC unless $GOGC sets one: it collects
// when the heap has grown by twice what survived the last collection
// (Go's default: once). Opening a checkpoint allocates mostly short-lived
// garbage (pickles parsed, zip directories), and collecting half as often
// took `stats` on the 4,507-file checkpoint from 0.38–0.40 s to 0.34–0.38
// s (60–140 ms less CPU) and on the 1 GB one 4 ms off 0.13 s; peak RSS
// grew by about 15 MB (diff of the 34 GB pair: 96 MB), and memoryLimit
// still caps the heap.
const gcPercent = 200

// hugeHeap is how much of the heap to come is advised to be backed by huge
// pages at start-up (see internal/hugepages) unless
// $CKPTINSPECT_HUGEPAGES is 0: opening a checkpoint of 4,500 files touches
// about 40 MiB of fresh heap, and page faults were a third of its time.
const hugeHeap = 64 << 20

func main() { os.Exit(run()) }

// run runs the command line of the process and returns its exit code.
func run() int {
	if os.Getenv("CKPTINSPECT_HUGEPAGES") != "0" {
		hugepages.Heap(hugeHeap)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	return cli.Main(os.Args[1:], cli.System())
}
