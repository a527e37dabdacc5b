package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestInspectBounds checks the resources Inspect grants hostile pickles and
// that a failed inspection still reports the globals seen before the error.
func TestInspectBounds(t *testing.T) {
	many := func(prefix, unit string, n int, suffix string) []byte {
		return []byte(prefix + string(bytes.Repeat([]byte(unit), n)) + suffix)
	}
	cases := []struct {
		name    string
		data    []byte
		err     error  // nil: inspection succeeds
		globals int    // globals reported (also on error)
		first   string // module.name of the first global, if any
	}{
		{"one global named many times", many("\x80\x02", "cos\nsystem\n0", 70000, "N."), nil, 1, "os.system"},
		{"globals over the limit", []byte("\x80\x02" + strings.Repeat("ca\nb\n0\x80\x00ca\nb\n0\x80\x02", 3) + "N."), nil, 6, "a.b"},
		{"dense memo", many("\x80\x04N", "\x94", 100000, "h\x05."), nil, 0, ""},
		{"sparse memo", []byte("\x80\x02Nr\x00\x00\x00\x10r\x05\x00\x00\x00j\x00\x00\x00\x10."), nil, 0, ""},
		{"memo index never stored", []byte("\x80\x02Nq\x00j\x01\x00\x00\x00."), ErrFormat, 0, ""},
		{"evil then truncated", []byte("\x80\x02cposix\nsystem\nq\x00X\x05\x00\x00\x00ech"), ErrTruncated, 1, "posix.system"},
		{"evil then unknown opcode", []byte("cos\nsystem\n(S'id'\ntR\xff."), ErrFormat, 1, "os.system"},
		{"memoized getattr pair", []byte("\x80\x02c__builtin__\ngetattr\nq\x00cfakepkg\nE\nq\x01X\x01\x00\x00\x00aq\x02\x86q\x03h\x00h\x03R0h\x00h\x03R."), nil, 2, "builtins.getattr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, err := Inspect(c.data, Limits{})
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if prog == nil {
				t.Fatal("nil Program")
			}
			if err != nil && prog.End != 0 {
				t.Errorf("End %d after an error", prog.End)
			}
			if len(prog.Globals) != c.globals {
				t.Fatalf("%d globals, want %d", len(prog.Globals), c.globals)
			}
			if c.first != "" && prog.Globals[0].Module+"."+prog.Globals[0].Name != c.first {
				t.Errorf("first global %s.%s, want %s", prog.Globals[0].Module, prog.Globals[0].Name, c.first)
			}
		})
	}
	// The memoized (global, name) pair is recognised at each of its uses.
	prog, _ := Inspect(cases[len(cases)-1].data, Limits{})
	if g := prog.Globals[0]; len(g.Attrs) != 2 || g.Attrs[1] != (Attr{Of: "fakepkg.E", Name: "a"}) || g.BadArgs != "" {
		t.Errorf("getattr attrs %+v (bad args %q)", g.Attrs, g.BadArgs)
	}
	// Distinct globals beyond the limit.
	var b strings.Builder
	b.WriteString("\x80\x02")
	for i := 0; i < 70000; i++ {
		fmt.Fprintf(&b, "cm%d\nx\n0", i)
	}
	b.WriteString("N.")
	if _, err := Inspect([]byte(b.String()), Limits{}); !errors.Is(err, ErrLimit) {
		t.Errorf("70000 distinct globals: %v", err)
	}
}
