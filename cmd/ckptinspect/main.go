// Command ckptinspect opens PyTorch and DeepSpeed training checkpoints
// without Python and reports what is inside them. See the README for the
// commands, their JSON schemas and exit codes.
package main

import (
	"os"
	"runtime/debug"

	"github.com/ckptinspect/ckptinspect/internal/cli"
)

// memoryLimit is the Go heap's soft limit unless $GOMEMLIMIT sets one: the
// collector works harder as the heap nears it, which keeps the peak RSS of
// a checkpoint of thousands of files (or two, for diff) under the README's
// 128 MB. It is soft: a job that needs more heap gets it.
const memoryLimit = 96 << 20

func main() { os.Exit(run()) }

// run runs the command line of the process and returns its exit code.
func run() int {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	return cli.Main(os.Args[1:], cli.System())
}
