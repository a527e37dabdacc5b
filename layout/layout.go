// Package layout finds which checkpoint layouts a path holds and opens
// them with the package that reads each, so that commands work on every
// layout alike.
//
// The layouts are a small registry of [Opener]s ([Openers]): DeepSpeed
// universal checkpoints (package universal), DeepSpeed ZeRO shards as
// training wrote them (package zero), and weights-only safetensors models
// (read here). [Open] opens one; [Detect] lists every layout a folder holds
// (a Hugging Face Trainer folder may hold both ZeRO shards and their
// universal conversion). [OpenTensorFile] opens a single torch.save or
// safetensors file as named tensors.
//
// This package and ckpt are the library's entry points: open with
// layout.Open, measure with ckpt.Scan (see the package examples).
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
	Auto        = ""
	Universal   = universal.Layout
	Zero        = zero.Layout
	Safetensors = "safetensors"
)

// ErrUnknown reports a path that holds no checkpoint layout Open reads.
var ErrUnknown = errors.New("not a checkpoint ckptinspect can read")

// ErrUnknownLayout reports a layout name that is not in the registry.
var ErrUnknownLayout = errors.New("unknown layout")

// Options configures [Open].
type Options struct {
	// Layout forces a layout; Auto (empty) detects it.
	Layout string
	// Tolerant records unreadable state files as issues of the checkpoint
	// instead of failing (for verify).
	Tolerant bool
}

// Opener reads one layout.
type Opener struct {
	Name  string // the layout's name, as --layout takes it
	Title string // the layout's name for people
	// Detect reports whether path holds the layout, looking only at file
	// names; the error says why not. An error wrapping ErrMissingTag means
	// the layout's pointer file (latest, latest_universal) names a tag
	// folder that is not there.
	Detect func(path string) error
	// Open opens the layout at path.
	Open func(path string, opt Options) (*ckpt.Checkpoint, error)
}

// ErrMissingTag is wrapped by Detect errors of a pointer file (latest,
// latest_universal) naming a missing tag folder.
var ErrMissingTag = errors.New("the tag folder named by the latest file is missing")

// Openers returns the registry, in the order Open tries the layouts: a
// folder holding several is read as the first.
func Openers() []Opener {
	return []Opener{
		{Name: Universal, Title: "DeepSpeed universal",
			Detect: func(path string) error {
				return missingTag(resolveErr(universal.Resolve(path)), universal.ErrMissingTag)
			},
			Open: func(path string, opt Options) (*ckpt.Checkpoint, error) {
				return universal.Open(path, universal.Options{Tolerant: opt.Tolerant})
			}},
		{Name: Zero, Title: "DeepSpeed ZeRO",
			Detect: func(path string) error { return missingTag(resolveErr(zero.Resolve(path)), zero.ErrMissingTag) },
			Open: func(path string, opt Options) (*ckpt.Checkpoint, error) {
				return zero.Open(path, zero.Options{Tolerant: opt.Tolerant})
			}},
		{Name: Safetensors, Title: "safetensors (weights only)", Detect: detectSafetensors,
			Open: func(path string, _ Options) (*ckpt.Checkpoint, error) { return openSafetensors(path) }},
	}
}

func resolveErr[T any](_ T, err error) error { return err }

// missingTag adds ErrMissingTag to an error wrapping the layout's own,
// leaving its message as it is.
func missingTag(err, own error) error {
	if err != nil && errors.Is(err, own) && !errors.Is(err, ErrMissingTag) {
		return tagError{err}
	}
	return err
}

// tagError is a layout's missing-tag error that also matches ErrMissingTag.
type tagError struct{ err error }

func (e tagError) Error() string   { return e.err.Error() }
func (e tagError) Unwrap() []error { return []error{e.err, ErrMissingTag} }

// Lookup returns the opener of the named layout.
func Lookup(name string) (Opener, error) {
	var names []string
	for _, o := range Openers() {
		if o.Name == name {
			return o, nil
		}
		names = append(names, o.Name)
	}
	return Opener{}, fmt.Errorf("%w %q (want %s)", ErrUnknownLayout, name, strings.Join(names, ", "))
}

// Title returns the name for people of a layout, or name itself when it
// is not in the registry.
func Title(name string) string {
	if o, err := Lookup(name); err == nil {
		return o.Title
	}
	return name
}

// Detect returns the layouts path holds, in registry order, and for each
// layout that is not there, why not (by name). A safetensors model beside
// DeepSpeed state is not counted: it is the weights-only export of the
// same checkpoint.
func Detect(path string) (found []string, why map[string]error) {
	why = map[string]error{}
	for _, o := range Openers() {
		if err := o.Detect(path); err != nil {
			why[o.Name] = err
			continue
		}
		if o.Name == Safetensors && len(found) > 0 {
			continue
		}
		found = append(found, o.Name)
	}
	return found, why
}

// Open opens the checkpoint at path. With Auto it reads the first layout
// of the registry the path holds; when a folder holds both a universal
// checkpoint and ZeRO shards, a note says which was read.
func Open(path string, opt Options) (*ckpt.Checkpoint, error) {
	if opt.Layout != Auto {
		o, err := Lookup(opt.Layout)
		if err != nil {
			return nil, err
		}
		return o.Open(path, opt)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	found, why := Detect(path)
	if len(found) == 0 {
		// A pointer file naming a missing tag says more than "unknown".
		for _, o := range Openers() {
			if errors.Is(why[o.Name], ErrMissingTag) {
				return nil, why[o.Name]
			}
		}
		var reasons []string
		for _, o := range Openers() {
			reasons = append(reasons, trim(why[o.Name], path))
		}
		return nil, fmt.Errorf("%s: %w: %s", path, ErrUnknown, strings.Join(reasons, "; "))
	}
	o, _ := Lookup(found[0])
	c, err := o.Open(path, opt)
	if err == nil && len(found) > 1 {
		c.Notef("the folder also holds %s; read the %s checkpoint; use --layout %s for the other", others(found[1:]), o.Title, found[1])
	}
	return c, err
}

// others names layouts for a note.
func others(names []string) string {
	var s []string
	for _, n := range names {
		switch n {
		case Zero:
			s = append(s, "ZeRO shards (latest)")
		case Universal:
			s = append(s, "a universal checkpoint (latest_universal)")
		default:
			s = append(s, Title(n))
		}
	}
	return strings.Join(s, " and ")
}

// detectSafetensors accepts a safetensors file, an index file, or a folder
// holding model.safetensors or its index.
func detectSafetensors(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.Mode().IsRegular() && (safetensors.IsFile(path) || strings.HasSuffix(path, ".safetensors.index.json")):
		return nil
	case fi.IsDir() && hasSafetensors(path):
		return nil
	}
	return fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", path)
}

// trim drops the path prefix the layout packages put on their errors.
func trim(err error, path string) string {
	s := err.Error()
	if len(s) > len(path)+2 && s[:len(path)+2] == path+": " {
		return s[len(path)+2:]
	}
	return s
}
