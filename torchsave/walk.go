package torchsave

import (
	"fmt"
	"strconv"

	"github.com/ckptinspect/ckptinspect/pickle"
)

// NamedTensor is a tensor with its dotted key path in the loaded object.
type NamedTensor struct {
	Name   string // e.g. "module.model.embed_tokens.weight", "state.0.exp_avg"
	Tensor *Tensor
}

// PathElem formats one step of a dotted key path: a string key as is, an
// integer key or index in decimal, anything else as its Python repr.
func PathElem(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return pickle.Repr(k)
}

// Join appends elem to a dotted path.
func Join(path, elem string) string {
	if path == "" {
		return elem
	}
	return path + "." + elem
}

// maxWalk bounds the number of values a walk visits, so that a pickle whose
// shared references make a small graph into a huge tree cannot make a walk
// run for ever (containers found to hold nothing of interest are not
// entered again, so that only values under several paths that matter
// count more than once).
const maxWalk = 10_000_000

// maxRevisits bounds how often a walk enters a container it entered
// before by another path (real checkpoints: a few tied weights).
const maxRevisits = 1 << 16

// Walk calls fn for every value reachable from root, depth first, in the
// order of the pickle, with its dotted path. Containers reached again
// through a cycle are not entered twice, and a container reached again by
// another path is entered again only if, the first time, fn skipped the
// children of some value below it (it held something fn took): a pickle
// can reach one value by a million paths. fn returns false to skip a value's
// children. Walk returns an error if the walk exceeds its visit budget.
func Walk(root any, fn func(path string, v any) bool) error {
	w := walker{fn: fn, onPath: map[any]bool{}, dull: map[any]bool{}, seen: map[any]bool{}}
	w.walk("", root)
	if w.visits > maxWalk {
		return fmt.Errorf("object graph too large to walk (more than %d values)", maxWalk)
	}
	if w.revisits > maxRevisits {
		return fmt.Errorf("object graph too large to walk (more than %d paths lead to containers already seen: the pickle reaches one value by very many paths)", maxRevisits)
	}
	return nil
}

type walker struct {
	fn     func(string, any) bool
	onPath map[any]bool
	// dull holds containers walked once in which fn skipped no value's
	// children and that held no other container: walking them again
	// would only call fn on the same scalars.
	dull     map[any]bool
	seen     map[any]bool
	visits   int
	revisits int
	pruned   bool // fn returned false somewhere below the current container
}

func (w *walker) walk(path string, v any) {
	w.visits++
	if w.visits > maxWalk || w.revisits > maxRevisits {
		return
	}
	if !w.fn(path, v) {
		w.pruned = true
		return
	}
	var key any
	switch x := v.(type) {
	case *pickle.Dict, *pickle.List, *pickle.Object, *pickle.Set:
		key = x
	default:
		key = nil
	}
	if key != nil {
		if w.onPath[key] || w.dull[key] {
			return
		}
		if w.seen[key] {
			w.revisits++
		}
		w.seen[key] = true
		w.onPath[key] = true
		defer delete(w.onPath, key)
		outer := w.pruned
		w.pruned = false
		defer func() {
			if !w.pruned {
				w.dull[key] = true
			}
			w.pruned = w.pruned || outer
		}()
	}
	switch x := v.(type) {
	case *pickle.Dict:
		for _, it := range x.Items {
			w.walk(Join(path, PathElem(it.Key)), it.Value)
		}
	case *pickle.List:
		for i, e := range x.Items {
			w.walk(Join(path, strconv.Itoa(i)), e)
		}
	case pickle.Tuple:
		for i, e := range x {
			w.walk(Join(path, strconv.Itoa(i)), e)
		}
	case *pickle.Set:
		for i, e := range x.Items {
			w.walk(Join(path, strconv.Itoa(i)), e)
		}
	case *pickle.Object:
		for _, it := range x.Fields() {
			w.walk(Join(path, PathElem(it.Key)), it.Value)
		}
		for _, it := range x.Items {
			w.walk(Join(path, PathElem(it.Key)), it.Value)
		}
		for i, e := range x.Appended {
			w.walk(Join(path, strconv.Itoa(i)), e)
		}
		if x.Fields() == nil {
			for i, a := range x.Args {
				w.walk(Join(path, "args."+strconv.Itoa(i)), a)
			}
		}
	}
}

// Tensors returns every tensor of the file with its dotted path, in the
// order of the pickle. A tensor reachable under two paths is listed under
// both.
func (f *File) Tensors() ([]NamedTensor, error) {
	var out []NamedTensor
	err := Walk(f.Root, func(path string, v any) bool {
		if t, ok := v.(*Tensor); ok {
			out = append(out, NamedTensor{Name: path, Tensor: t})
			return false
		}
		return true
	})
	return out, err
}
