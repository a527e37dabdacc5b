// Command ckptinspect opens PyTorch and DeepSpeed training checkpoints
// without Python and reports what is inside them. See the README for the
// commands, their JSON schemas and exit codes.
package main

import (
	"os"

	"github.com/ckptinspect/ckptinspect/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.System()))
}
