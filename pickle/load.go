package pickle

import (
	"bytes"
	"fmt"
	"math/big"
	"sort"
	"sync"

	gopickle "github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Options configures [Load].
type Options struct {
	// Limits bounds the resources the pickle may claim; zero fields take
	// the defaults of [DefaultLimits].
	Limits Limits
	// Policy judges the globals; a pickle referencing a Dangerous one is
	// refused with [ErrUnsafe] before anything is built.
	Policy Policy
	// PersistentLoad receives each persistent id (PERSID, BINPERSID),
	// converted to this package's values, and returns the value that
	// stands for it. When nil, a persistent id is an error.
	PersistentLoad func(pid any) (any, error)
	// Resolve, when set, is offered every constructed [*Object] once its
	// arguments and state are converted. It returns the value that replaces
	// the object, or nil to keep the object as it is.
	Resolve func(o *Object) (any, error)
	// Program, when set, is what Inspect(data, Limits) returned for the
	// very bytes given to Load (a scanner that inspected them already):
	// Load then trusts it instead of inspecting them again.
	Program *Program
}

// Load inspects the pickle at the start of data (see [Inspect]), refuses
// it if it references a dangerous global, and otherwise builds its value.
// It returns the value and what inspection learnt, including where the
// pickle ends.
func Load(data []byte, opt Options) (value any, prog *Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			value, err = nil, errorf(ErrFormat, -1, "", "malformed pickle: %v", r)
		}
	}()
	lim := opt.Limits.withDefaults()
	if prog = opt.Program; prog == nil {
		prog, err = Inspect(data, lim)
		if err != nil {
			return nil, nil, err
		}
	}
	if err := opt.Policy.Check(prog); err != nil {
		return nil, prog, err
	}
	if prog.MaxInt > lim.MaxIntBytes {
		return nil, prog, errorf(ErrLimit, -1, "", "an integer of %d digits or bytes exceeds the limit of %d", prog.MaxInt, lim.MaxIntBytes)
	}
	if prog.Straddle || prog.End != prog.StreamEnd {
		return nil, prog, errorf(ErrFormat, -1, "", "frames cut inside an argument: Python's readers disagree on this pickle (Python's pickler never writes it)")
	}
	var m *machine
	if !prog.fresh && prog.End <= maxReused {
		m = machines.Get().(*machine)
	}
	raw, err := runVM(applyRewrites(data[:prog.End], prog.rewrites), m)
	if m != nil && err == nil {
		machines.Put(m)
	}
	if err != nil {
		return nil, prog, err
	}
	c := converter{opt: opt, maxDepth: lim.MaxDepth, memo: map[any]any{}}
	value, err = c.conv(raw, 0)
	if err != nil {
		return nil, prog, err
	}
	return value, prog, nil
}

// machine is a gopickle machine that can read one pickle after another:
// NewUnpickler makes a memo of 384 entries, which for a checkpoint of
// thousands of small files is most of what loading them allocates.
// Reusing one is sound for a pickle Inspect walked to its STOP: every GET
// then names an entry the pickle itself PUT (Inspect refuses any other),
// so the entries another pickle left are never read; pickles with MEMOIZE
// or FRAME (Program.fresh) still get a new machine.
type machine struct {
	u gopickle.Unpickler
	r *bytes.Reader
}

// maxReused bounds the pickles a reused machine reads: its memo keeps the
// entries of the last one until the pool lets it go.
const maxReused = 64 << 10

var machines = sync.Pool{New: func() any { return newMachine() }}

func newMachine() *machine {
	r := bytes.NewReader(nil)
	return &machine{u: gopickle.NewUnpickler(r), r: r}
}

// runVM runs gopickle's machine m (a new one when m is nil) on data with
// every global and persistent id kept inert. A panic inside it (malformed
// input the inspection let through) is turned into an error; m is then
// not to be reused.
func runVM(data []byte, m *machine) (v any, err error) {
	if m == nil {
		m = newMachine()
	}
	m.r.Reset(data)
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, errorf(ErrFormat, -1, "", "malformed pickle: %v", r)
		}
		m.r.Reset(nil)
	}()
	u := &m.u
	u.FindClass = func(module, name string) (any, error) {
		module = normModule(module)
		switch module + "." + name {
		case "builtins.object":
			return &types.ObjectClass{}, nil
		case "copyreg._reconstructor":
			return &types.Reconstructor{}, nil
		case "collections.OrderedDict":
			return &types.OrderedDictClass{}, nil
		}
		return &vmGlobal{g: Global{Module: module, Name: name}}, nil
	}
	u.PersistentLoad = func(pid any) (any, error) { return &vmPersid{pid: pid}, nil }
	v, err = u.Load()
	if err != nil {
		return nil, errorf(ErrFormat, -1, "", "%v", err)
	}
	return v, nil
}

// vmGlobal is a global on the machine's stack: calling or instantiating it
// records the call, nothing more.
type vmGlobal struct{ g Global }

func (g *vmGlobal) Call(args ...any) (any, error)  { return &vmCall{g: g, args: args}, nil }
func (g *vmGlobal) PyNew(args ...any) (any, error) { return &vmCall{g: g, args: args}, nil }

// vmCall is a recorded call of a global, with what later opcodes added.
type vmCall struct {
	g        *vmGlobal
	args     []any
	state    any
	items    []types.DictEntry
	appended []any
}

func (c *vmCall) PySetState(state any) error {
	c.state = state
	return nil
}
func (c *vmCall) Set(k, v any)   { c.items = append(c.items, types.DictEntry{Key: k, Value: v}) }
func (c *vmCall) Append(v any)   { c.appended = append(c.appended, v) }
func (c *vmCall) Add(v any)      { c.appended = append(c.appended, v) }
func (c *vmCall) Extend(v []any) { c.appended = append(c.appended, v...) }
func (c *vmCall) Len() int       { return len(c.appended) }
func (c *vmCall) Get(i int) any  { return c.appended[i] }
func (c *vmCall) PyDictSet(k, v any) error {
	c.Set(k, v)
	return nil
}

// vmPersid is a persistent id awaiting conversion.
type vmPersid struct{ pid any }

type converter struct {
	opt      Options
	maxDepth int
	memo     map[any]any
	index    map[*Dict]map[any]int // scalar key -> item position, while a dict is built
}

func (c *converter) errf(format string, args ...any) error {
	return errorf(ErrFormat, -1, "", format, args...)
}

func (c *converter) conv(v any, depth int) (any, error) {
	if depth > c.maxDepth {
		return nil, errorf(ErrLimit, -1, "", "values nested deeper than %d levels", c.maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, string, float64, *big.Int:
		return x, nil
	case int:
		return int64(x), nil
	case []byte:
		return Bytes(x), nil
	}
	if done, ok := c.memo[v]; ok {
		return done, nil
	}
	switch x := v.(type) {
	case *types.ByteArray:
		out := Bytes(append([]byte(nil), *x...))
		c.memo[v] = out
		return out, nil
	case *types.Tuple:
		out := make(Tuple, len(*x))
		c.memo[v] = out
		for i, e := range *x {
			ce, err := c.conv(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = ce
		}
		return out, nil
	case *types.List:
		out := &List{Items: make([]any, 0, len(*x))}
		c.memo[v] = out
		for _, e := range *x {
			ce, err := c.conv(e, depth+1)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, ce)
		}
		return out, nil
	case *types.Dict:
		out := &Dict{}
		c.memo[v] = out
		for _, e := range *x {
			if err := c.setItem(out, e.Key, e.Value, depth); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *types.OrderedDict:
		out := &Dict{Ordered: true}
		c.memo[v] = out
		for el := x.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			if err := c.setItem(out, e.Key, e.Value, depth); err != nil {
				return nil, err
			}
		}
		if len(x.PyDict) > 0 {
			keys := make([]string, 0, len(x.PyDict))
			for k := range x.PyDict {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out.Attrs = &Dict{}
			for _, k := range keys {
				if err := c.setItem(out.Attrs, k, x.PyDict[k], depth); err != nil {
					return nil, err
				}
			}
		}
		return out, nil
	case *types.Set:
		out := &Set{}
		c.memo[v] = out
		for e := range *x {
			ce, err := c.conv(e, depth+1)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, ce)
		}
		sortSet(out)
		return out, nil
	case *types.FrozenSet:
		out := &Set{Frozen: true}
		c.memo[v] = out
		for e := range *x {
			ce, err := c.conv(e, depth+1)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, ce)
		}
		sortSet(out)
		return out, nil
	case *vmGlobal:
		out := &Global{Module: x.g.Module, Name: x.g.Name}
		c.memo[v] = out
		return out, nil
	case *vmPersid:
		pid, err := c.conv(x.pid, depth+1)
		if err != nil {
			return nil, err
		}
		if c.opt.PersistentLoad == nil {
			return nil, c.errf("persistent id %s without a persistent loader", Repr(pid))
		}
		out, err := c.opt.PersistentLoad(pid)
		if err != nil {
			return nil, err
		}
		c.memo[v] = out
		return out, nil
	case *vmCall:
		return c.call(x, depth)
	case *types.ObjectClass, *types.Reconstructor, *types.OrderedDictClass:
		return nil, c.errf("a built-in class (%s) used as a value", builtinName(x))
	}
	return nil, c.errf("a value of a kind this reader does not represent")
}

func (c *converter) setItem(d *Dict, k, v any, depth int) error {
	ck, err := c.conv(k, depth+1)
	if err != nil {
		return err
	}
	cv, err := c.conv(v, depth+1)
	if err != nil {
		return err
	}
	switch ck.(type) {
	case string, int64, float64, bool, nil:
		if c.index == nil {
			c.index = map[*Dict]map[any]int{}
		}
		idx := c.index[d]
		if idx == nil {
			idx = map[any]int{}
			c.index[d] = idx
		}
		if i, ok := idx[ck]; ok {
			d.Items[i].Value = cv
			return nil
		}
		idx[ck] = len(d.Items)
	}
	d.Items = append(d.Items, Item{Key: ck, Value: cv})
	return nil
}

func sortSet(s *Set) {
	sort.SliceStable(s.Items, func(i, j int) bool { return Repr(s.Items[i]) < Repr(s.Items[j]) })
}

// call converts a recorded call: a few Python built-ins become plain
// values, everything else an inert *Object offered to Options.Resolve.
func (c *converter) call(x *vmCall, depth int) (any, error) {
	o := &Object{Module: x.g.g.Module, Name: x.g.g.Name}
	c.memo[x] = o
	var err error
	o.Args = make([]any, len(x.args))
	for i, a := range x.args {
		if o.Args[i], err = c.conv(a, depth+1); err != nil {
			return nil, err
		}
	}
	if x.state != nil {
		if o.State, err = c.conv(x.state, depth+1); err != nil {
			return nil, err
		}
	}
	for _, it := range x.items {
		k, err := c.conv(it.Key, depth+1)
		if err != nil {
			return nil, err
		}
		v, err := c.conv(it.Value, depth+1)
		if err != nil {
			return nil, err
		}
		o.Items = append(o.Items, Item{Key: k, Value: v})
	}
	for _, a := range x.appended {
		v, err := c.conv(a, depth+1)
		if err != nil {
			return nil, err
		}
		o.Appended = append(o.Appended, v)
	}
	out, err := c.builtin(o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Class(), err)
	}
	if out == nil && c.opt.Resolve != nil {
		if out, err = c.opt.Resolve(o); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return o, nil
	}
	c.memo[x] = out
	return out, nil
}

// builtin evaluates the few pure Python built-ins that only build values.
func (c *converter) builtin(o *Object) (any, error) {
	switch o.Module + "." + o.Name {
	case "builtins.getattr":
		if len(o.Args) == 2 {
			if g, ok := o.Args[0].(*Global); ok {
				if name, ok := o.Args[1].(string); ok {
					return &Object{Module: g.Module, Name: g.Name, Member: name}, nil
				}
			}
		}
		return nil, c.errf("getattr with arguments %s", Repr(Tuple(o.Args)))
	case "_codecs.encode":
		// Python 3 pickles bytes with protocol <= 2 as
		// _codecs.encode(text, "latin1").
		if len(o.Args) == 2 {
			s, ok1 := o.Args[0].(string)
			enc, ok2 := o.Args[1].(string)
			if ok1 && ok2 && (enc == "latin1" || enc == "latin-1") {
				b := make([]byte, 0, len(s))
				for _, r := range s {
					if r > 0xff {
						return nil, c.errf("latin1 text holds rune %U", r)
					}
					b = append(b, byte(r))
				}
				return Bytes(b), nil
			}
		}
		return nil, nil
	case "builtins.set", "builtins.frozenset":
		s := &Set{Frozen: o.Name == "frozenset"}
		if len(o.Args) == 1 {
			switch a := o.Args[0].(type) {
			case *List:
				s.Items = append(s.Items, a.Items...)
			case Tuple:
				s.Items = append(s.Items, a...)
			default:
				return nil, nil
			}
		}
		sortSet(s)
		return s, nil
	case "builtins.bytearray":
		if len(o.Args) == 0 {
			return Bytes{}, nil
		}
		if b, ok := o.Args[0].(Bytes); ok && len(o.Args) == 1 {
			return b, nil
		}
	}
	return nil, nil
}

// applyRewrites returns data with the Program's rewrites applied: the
// forms of opcodes CPython accepts but gopickle does not read, replaced by
// their canonical equivalents.
func applyRewrites(data []byte, rw []rewrite) []byte {
	if len(rw) == 0 {
		return data
	}
	out := make([]byte, 0, len(data)+16*len(rw))
	prev := 0
	for _, r := range rw {
		out = append(out, data[prev:r.at]...)
		out = append(out, r.repl...)
		prev = r.end
	}
	return append(out, data[prev:]...)
}

// builtinName names the Python class a gopickle stand-in represents.
func builtinName(x any) string {
	switch x.(type) {
	case *types.ObjectClass:
		return "builtins.object"
	case *types.Reconstructor:
		return "copyreg._reconstructor"
	case *types.OrderedDictClass:
		return "collections.OrderedDict"
	}
	return "a class"
}
