package pickle

import (
	"fmt"
	"strings"
)

// Dict is a Python dict or collections.OrderedDict. Items keep the order in
// which the pickle set them; a key set twice keeps its first position and its
// last value, as in Python.
type Dict struct {
	Items   []Item
	Ordered bool  // true for collections.OrderedDict
	Attrs   *Dict // instance attributes set by BUILD (OrderedDict._metadata), or nil
}

// Item is one key/value pair of a [Dict].
type Item struct {
	Key, Value any
}

// Len returns the number of items in d.
func (d *Dict) Len() int { return len(d.Items) }

// Get returns the value stored under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	for _, it := range d.Items {
		if s, ok := it.Key.(string); ok && s == k {
			return it.Value, true
		}
	}
	return nil, false
}

// Lookup returns the value stored under key k, comparing keys of the basic
// kinds (string, int64, float64, bool, nil) by value.
func (d *Dict) Lookup(k any) (any, bool) {
	for _, it := range d.Items {
		if scalarEqual(it.Key, k) {
			return it.Value, true
		}
	}
	return nil, false
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// List is a Python list.
type List struct {
	Items []any
}

// Tuple is a Python tuple.
type Tuple []any

// Set is a Python set or frozenset. Items are kept in a deterministic order
// (by their printed form), since Python sets have no defined order.
type Set struct {
	Items  []any
	Frozen bool
}

// Bytes is a Python bytes or bytearray value.
type Bytes []byte

// Global is a reference to a module-level Python name (a class or a
// function) that the pickle names with GLOBAL or STACK_GLOBAL. It is inert:
// nothing is imported or called.
type Global struct {
	Module, Name string
}

// String returns "module.Name".
func (g *Global) String() string { return g.Module + "." + g.Name }

// Object is an instance of a Python class that the pickle constructs, kept
// as data: the class, the arguments it was constructed with and the state
// BUILD gave it. Nothing is called to make it.
type Object struct {
	Module, Name string
	// Args are the constructor arguments (REDUCE, OBJ, INST, NEWOBJ). For
	// NEWOBJ_EX the keyword arguments follow as a final *Dict.
	Args []any
	// State is the BUILD state, usually a *Dict of attributes, or nil.
	State any
	// Member is set when the object is a class attribute fetched with
	// builtins.getattr (how Python 3.11+ pickles enum members): then the
	// object stands for Module.Name.Member.
	Member string
	// Items holds key/value pairs set on the object with SETITEM(S), and
	// Appended the values added with APPEND(S) (dict and list subclasses).
	Items    []Item
	Appended []any
}

// Class returns "module.Name".
func (o *Object) Class() string { return o.Module + "." + o.Name }

// Field returns the named attribute of o from its BUILD state, if the state
// is a dict (or a (dict, slots) pair) holding that key.
func (o *Object) Field(name string) (any, bool) {
	switch st := o.State.(type) {
	case *Dict:
		return st.Get(name)
	case Tuple:
		for _, part := range st {
			if d, ok := part.(*Dict); ok {
				if v, ok := d.Get(name); ok {
					return v, true
				}
			}
		}
	}
	return nil, false
}

// Fields returns o's attributes from its BUILD state in the order they were
// set, or nil when the state is not a dict.
func (o *Object) Fields() []Item {
	switch st := o.State.(type) {
	case *Dict:
		return st.Items
	case Tuple:
		var out []Item
		for _, part := range st {
			if d, ok := part.(*Dict); ok {
				out = append(out, d.Items...)
			}
		}
		return out
	}
	return nil
}

// String gives a short description such as "module.Class" or
// "module.Enum.member".
func (o *Object) String() string {
	if o.Member != "" {
		return o.Class() + "." + o.Member
	}
	return o.Class()
}

// Repr formats a scalar value the way Python's repr would, and containers
// briefly. It is used for sorting set items and for short displays.
func Repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	case Bytes:
		return fmt.Sprintf("b%q", string(x))
	case Tuple:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Repr(e)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case *Global:
		return x.String()
	case *Object:
		return x.String() + "(...)"
	case *Dict:
		return fmt.Sprintf("{...%d items}", x.Len())
	case *List:
		return fmt.Sprintf("[...%d items]", len(x.Items))
	case *Set:
		return fmt.Sprintf("{...%d items}", len(x.Items))
	}
	return fmt.Sprint(v)
}
