// Package layout finds which checkpoint layout a path holds and opens it
// with the package that reads that layout, so that commands work on every
// layout alike.
package layout

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/universal"
)

// Names of the layouts Open can read.
const (
	Auto      = ""
	Universal = universal.Layout
)

// Options configures [Open].
type Options struct {
	// Layout forces a layout; Auto (empty) detects it.
	Layout string
	// Tolerant records unreadable state files as issues of the checkpoint
	// instead of failing (for verify).
	Tolerant bool
}

// Open opens the checkpoint at path.
func Open(path string, opt Options) (*ckpt.Checkpoint, error) {
	switch opt.Layout {
	case Auto, Universal:
		return universal.Open(path, universal.Options{Tolerant: opt.Tolerant})
	}
	return nil, fmt.Errorf("unknown layout %q", opt.Layout)
}
