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
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/torchsave"
	"github.com/ckptinspect/ckptinspect/universal"
	"github.com/ckptinspect/ckptinspect/zero"
)

// Names of the layouts Open can read.
const (
	Auto        = ""
	Universal   = universal.Layout
	Zero        = zero.Layout
	Safetensors = "safetensors"
	PyTorch     = "pytorch"
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
	// Select, when set, names the parameters that will be read: a damaged
	// file that only other parameters need does not fail Open (the
	// checkpoint is opened again tolerantly, and a note says what was not
	// read).
	Select func(name string) bool
	// Policy judges the pickles of every torch.save file read, as
	// `ckptinspect scan` does: a file with a global it refuses is not read
	// (the zero Policy refuses any global not known as data; Allow names
	// more, Lenient lets unknown ones pass).
	Policy pickle.Policy
}

// torch returns the torchsave options of opt.
func (opt Options) torch() torchsave.Options { return torchsave.Options{Policy: opt.Policy} }

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
	// WeightsOnly is true for layouts without optimizer state.
	WeightsOnly bool
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
				return universal.Open(path, universal.Options{Tolerant: opt.Tolerant, Torch: opt.torch()})
			}},
		{Name: Zero, Title: "DeepSpeed ZeRO",
			Detect: func(path string) error { return missingTag(resolveErr(zero.Resolve(path)), zero.ErrMissingTag) },
			Open: func(path string, opt Options) (*ckpt.Checkpoint, error) {
				return zero.Open(path, zero.Options{Tolerant: opt.Tolerant, Torch: opt.torch()})
			}},
		{Name: Safetensors, Title: "safetensors (weights only)", Detect: detectSafetensors, WeightsOnly: true,
			Open: func(path string, _ Options) (*ckpt.Checkpoint, error) { return openSafetensors(path) }},
		{Name: PyTorch, Title: "PyTorch state_dict (weights only)", Detect: detectPyTorch, WeightsOnly: true,
			Open: func(path string, opt Options) (*ckpt.Checkpoint, error) { return openPyTorch(path, opt.Policy) }},
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
// layout that is not there, why not (by name). A weights-only model beside
// DeepSpeed state is not counted: it is the weights-only export of the
// same checkpoint; nor is a second weights-only format beside a first.
func Detect(path string) (found []string, why map[string]error) {
	why = map[string]error{}
	for _, o := range Openers() {
		if err := o.Detect(path); err != nil {
			why[o.Name] = err
			continue
		}
		if o.WeightsOnly && len(found) > 0 {
			continue
		}
		found = append(found, o.Name)
	}
	return found, why
}

// runFolder matches the checkpoint folders a Hugging Face Trainer writes
// in its output folder.
var runFolder = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^checkpoint-(\d+)$`) })

// Run is one checkpoint-N/ folder of a training run's output folder.
type Run struct {
	Dir string // the folder's path
	N   int64
}

// Runs lists the checkpoint-N/ folders of a training run's output folder,
// by increasing N (nil when path holds none).
func Runs(path string) []Run {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil
	}
	var runs []Run
	for _, e := range entries {
		m := runFolder().FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(path, e.Name())); err != nil || !fi.IsDir() {
			continue
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil {
			runs = append(runs, Run{filepath.Join(path, e.Name()), n})
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].N < runs[j].N })
	return runs
}

// Resolve returns the folder to read for path: path itself when it holds a
// layout (or is not a folder), else, in a training run's output folder,
// its last checkpoint-N/ (the highest N), with a note saying so.
func Resolve(path string) (string, string) {
	if found, _ := Detect(path); len(found) > 0 {
		return path, ""
	}
	runs := Runs(path)
	if len(runs) == 0 {
		return path, ""
	}
	last := runs[len(runs)-1].Dir
	if len(runs) == 1 {
		return last, fmt.Sprintf("%s is a training run's folder: read its only checkpoint, %s", path, filepath.Base(last))
	}
	return last, fmt.Sprintf("%s is a training run's folder with %d checkpoints (%s to %s): read the last, %s; name a checkpoint-N/ folder to read another (ckptinspect ls %s lists them)",
		path, len(runs), filepath.Base(runs[0].Dir), filepath.Base(last), filepath.Base(last), path)
}

// Open opens the checkpoint at path. With Auto it reads the first layout
// of the registry the path holds; when a folder holds both a universal
// checkpoint and ZeRO shards, a note says which was read. A training run's
// folder is read through its last checkpoint-N/ (see Resolve).
func Open(path string, opt Options) (*ckpt.Checkpoint, error) {
	c, err := open(path, opt)
	if err == nil || opt.Select == nil || opt.Tolerant {
		return c, err
	}
	tol := opt
	tol.Tolerant = true
	t, terr := open(path, tol)
	if terr != nil {
		return nil, err
	}
	unread := map[string]string{} // an issue's note -> what replaces it
	for _, is := range t.Issues {
		if is.Severity != ckpt.Error {
			continue
		}
		damaged := is.Check == ckpt.CheckUnreadable || is.Check == ckpt.CheckTruncated || is.Check == ckpt.CheckFragments || is.Check == ckpt.CheckMissingRank
		switch {
		case is.Param != "" && !opt.Select(is.Param):
			unread[is.Message] = fmt.Sprintf("not read (parameter %s is not selected): %s", is.Param, is.Message)
		case damaged:
			t.Close()
			return nil, err // a selected parameter, or all of them, need the damaged file
		}
	}
	for i, n := range t.Notes {
		if r, ok := unread[n]; ok {
			t.Notes[i] = r
		}
	}
	return t, nil
}

func open(path string, opt Options) (*ckpt.Checkpoint, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	path, runNote := Resolve(path)
	withNote := func(c *ckpt.Checkpoint, err error) (*ckpt.Checkpoint, error) {
		if err == nil && runNote != "" {
			c.Notes = append([]string{runNote}, c.Notes...)
		}
		return c, err
	}
	if opt.Layout != Auto {
		o, err := Lookup(opt.Layout)
		if err != nil {
			return nil, err
		}
		return withNote(o.Open(path, opt))
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
	c, err := withNote(o.Open(path, opt))
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

// ParamNames returns the names of the parameters of the checkpoint at path
// (read with the layout named lay, "" to detect) that start with prefix,
// for shell completion; false when path holds no checkpoint.
func ParamNames(path, lay, prefix string) ([]string, bool) {
	c, err := Open(path, Options{Layout: lay})
	if err != nil {
		return nil, false
	}
	defer c.Close()
	var names []string
	for _, p := range c.Params {
		if strings.HasPrefix(p.Name, prefix) {
			names = append(names, p.Name)
		}
	}
	return names, true
}
