// Package layout finds which checkpoint layout a path holds and opens it
// with the package that reads that layout, so that commands work on every
// layout alike.
package layout

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/universal"
	"github.com/ckptinspect/ckptinspect/zero"
)

// Names of the layouts Open can read.
const (
	Auto      = ""
	Universal = universal.Layout
	Zero      = zero.Layout
)

// ErrUnknown reports a path that holds no checkpoint layout Open reads.
var ErrUnknown = errors.New("not a checkpoint ckptinspect can read")

// Options configures [Open].
type Options struct {
	// Layout forces a layout; Auto (empty) detects it.
	Layout string
	// Tolerant records unreadable state files as issues of the checkpoint
	// instead of failing (for verify).
	Tolerant bool
}

// Open opens the checkpoint at path. With Auto: a safetensors file or
// index, or a folder holding a universal checkpoint, ZeRO shards, or (if
// neither) model.safetensors. A folder holding both a universal checkpoint
// and ZeRO shards (latest_universal and latest) is read as universal, and
// a note says so.
func Open(path string, opt Options) (*ckpt.Checkpoint, error) {
	switch opt.Layout {
	case Universal:
		return universal.Open(path, universal.Options{Tolerant: opt.Tolerant})
	case Zero:
		return zero.Open(path, zero.Options{Tolerant: opt.Tolerant})
	case Safetensors:
		return openSafetensors(path)
	case Auto:
	default:
		return nil, fmt.Errorf("unknown layout %q (want %s, %s or %s)", opt.Layout, Universal, Zero, Safetensors)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() && (safetensors.IsFile(path) || strings.HasSuffix(path, ".safetensors.index.json")) {
		return openSafetensors(path)
	}
	_, uerr := universal.Resolve(path)
	_, zerr := zero.Resolve(path)
	switch {
	case uerr == nil:
		c, err := universal.Open(path, universal.Options{Tolerant: opt.Tolerant})
		if err == nil && zerr == nil {
			c.Notef("the folder also holds ZeRO shards (latest); read the universal checkpoint (latest_universal); use --layout zero for the shards")
		}
		return c, err
	case zerr == nil:
		return zero.Open(path, zero.Options{Tolerant: opt.Tolerant})
	case errors.Is(uerr, universal.ErrMissingTag):
		return nil, uerr
	case fi.IsDir() && hasSafetensors(path):
		return openSafetensors(path)
	case errors.Is(zerr, zero.ErrMissingTag):
		return nil, zerr
	}
	return nil, fmt.Errorf("%s: %w: %v; %v", path, ErrUnknown, trim(uerr, path), trim(zerr, path))
}

// trim drops the path prefix the layout packages put on their errors.
func trim(err error, path string) string {
	s := err.Error()
	if len(s) > len(path)+2 && s[:len(path)+2] == path+": " {
		return s[len(path)+2:]
	}
	return s
}
