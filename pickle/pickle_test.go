package pickle

import (
	"bytes"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t *testing.T, name string) (any, *Program) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	v, prog, err := Load(data, Options{Policy: Policy{Lenient: true}}) // fakepkg classes are unknown
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if prog.End != int64(len(data)) {
		t.Errorf("%s: End = %d, file has %d bytes", name, prog.End, len(data))
	}
	return v, prog
}

func get(t *testing.T, d *Dict, k string) any {
	t.Helper()
	v, ok := d.Get(k)
	if !ok {
		t.Fatalf("key %q missing", k)
	}
	return v
}

// TestValuesAllProtocols checks every value kind in pickles written by
// CPython with protocols 0 to 5.
func TestValuesAllProtocols(t *testing.T) {
	big100 := new(big.Int).Lsh(big.NewInt(1), 100)
	negbig := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 70))
	for proto := 0; proto <= 5; proto++ {
		name := "values_p" + string(rune('0'+proto)) + ".pkl"
		t.Run(name, func(t *testing.T) {
			v, _ := load(t, name)
			d, ok := v.(*Dict)
			if !ok {
				t.Fatalf("root is %T", v)
			}
			checks := []struct {
				key  string
				want string
			}{
				{"none", "None"}, {"true", "True"}, {"false", "False"}, {"small", "7"}, {"neg", "-300"},
				{"int32", "2147483647"}, {"float", "0.1"}, {"inf", "+Inf"}, {"str", `"héllo"`},
				{"bytes", `b"\x00\x01\xff"`}, {"tuple0", "()"}, {"tuple1", "(1,)"}, {"tuple3", "(1, 2, 3)"},
				{"tuple5", "(1, 2, 3, 4, 5)"},
			}
			for _, c := range checks {
				if got := Repr(get(t, d, c.key)); got != c.want {
					t.Errorf("%s = %s, want %s", c.key, got, c.want)
				}
			}
			if b := get(t, d, "big").(*big.Int); b.Cmp(big100) != 0 {
				t.Errorf("big = %v", b)
			}
			if b := get(t, d, "negbig").(*big.Int); b.Cmp(negbig) != 0 {
				t.Errorf("negbig = %v", b)
			}
			if s := get(t, d, "long_str").(string); s != strings.Repeat("x", 300) {
				t.Errorf("long_str has %d chars", len(s))
			}
			if b := get(t, d, "bytearray").(Bytes); string(b) != "ab" {
				t.Errorf("bytearray = %q", b)
			}
			l := get(t, d, "list").(*List)
			if len(l.Items) != 2 || Repr(l.Items[0]) != "1" {
				t.Errorf("list = %v", l.Items)
			}
			s := get(t, d, "set").(*Set)
			if s.Frozen || Repr(Tuple(s.Items)) != "(1, 2, 3)" {
				t.Errorf("set = %v", s.Items)
			}
			fs := get(t, d, "frozenset").(*Set)
			if !fs.Frozen || Repr(Tuple(fs.Items)) != `("a", "b")` {
				t.Errorf("frozenset = %v", fs.Items)
			}
			od := get(t, d, "od").(*Dict)
			if !od.Ordered || od.Len() != 2 || Repr(od.Items[0].Key) != `"z"` {
				t.Errorf("od = %+v", od)
			}
			ik := get(t, d, "intkeys").(*Dict)
			if v, ok := ik.Lookup(int64(1)); !ok || v != "one" {
				t.Errorf("intkeys[1] = %v", v)
			}
			many := get(t, d, "many").(*List)
			if len(many.Items) != 2500 || many.Items[2499] != int64(2499) {
				t.Errorf("many has %d items", len(many.Items))
			}
			if get(t, d, "shared_a") != get(t, d, "shared_b") {
				t.Errorf("memoised list not shared")
			}
		})
	}
}

func TestObjects(t *testing.T) {
	for _, name := range []string{"objects_p2.pkl", "objects_p4.pkl"} {
		t.Run(name, func(t *testing.T) {
			v, prog := load(t, name)
			d := v.(*Dict)
			th := get(t, d, "thing").(*Object)
			if th.Class() != "fakepkg.things.Thing" {
				t.Errorf("thing class %s", th.Class())
			}
			if a, _ := th.Field("a"); a != int64(1) {
				t.Errorf("thing.a = %v", a)
			}
			sl := get(t, d, "slotted").(*Object)
			if x, ok := sl.Field("x"); !ok || x != int64(5) {
				t.Errorf("slotted.x = %v (state %s)", x, Repr(sl.State))
			}
			st := get(t, d, "stage").(*Object)
			if st.String() != "deepspeed.runtime.zero.config.ZeroStageEnum.gradients" {
				t.Errorf("enum member = %s", st)
			}
			// getattr on a known enum class is judged safe.
			for _, g := range prog.Globals {
				if v, why := (Policy{}).Judge(g); v == Dangerous {
					t.Errorf("%s.%s judged dangerous: %s", g.Module, g.Name, why)
				}
			}
		})
	}
	v, _ := load(t, "newobj_ex_p4.pkl")
	o := v.(*Object)
	if k, _ := o.Field("k"); k != int64(3) || o.Class() != "fakepkg.things.Kw" {
		t.Errorf("NEWOBJ_EX object = %s %s", o.Class(), Repr(o.State))
	}
}

func TestCycle(t *testing.T) {
	v, _ := load(t, "cycle_p2.pkl")
	l := v.(*List)
	if len(l.Items) != 2 || l.Items[1] != any(l) {
		t.Errorf("cycle not preserved: %v", l.Items)
	}
}

// TestUnknownRefused checks that the default policy refuses an unknown
// class, naming it and how to accept it, and that Allow accepts it.
func TestUnknownRefused(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "objects_p2.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(data, Options{})
	if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "fakepkg.things.Thing") || !strings.Contains(err.Error(), "--allow") {
		t.Errorf("err = %v", err)
	}
	if _, _, err := Load(data, Options{Policy: Policy{Allow: []string{"fakepkg.things.*"}}}); err != nil {
		t.Errorf("allowed: %v", err)
	}
}

func TestHostileRefused(t *testing.T) {
	cases := map[string]string{
		"evil_os_system.pkl": "posix.system",
		"evil_eval.pkl":      "builtins.eval",
		"evil_popen.pkl":     "subprocess.Popen",
		"evil_getattr.pkl":   "builtins.getattr",
	}
	for name, global := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = Load(data, Options{})
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), global) {
			t.Errorf("%s: err = %v, want ErrUnsafe naming %s", name, err, global)
		}
	}
}

// TestMalformed feeds bytes that are broken on purpose.
func TestMalformed(t *testing.T) {
	nested := append([]byte("\x80\x02"), bytes.Repeat([]byte("]"), 200000)...)
	nested = append(nested, bytes.Repeat([]byte("a"), 199999)...)
	nested = append(nested, '.')
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"no stop", []byte("\x80\x02K\x01"), ErrTruncated},
		{"unknown opcode", []byte("\x80\x02\xff."), ErrFormat},
		{"huge binunicode", []byte("\x80\x02X\xff\xff\xff\xff"), ErrTruncated},
		{"4TB binbytes8", []byte("\x80\x04\x8e\x00\x00\x00\x00\x00\x04\x00\x00abc"), ErrTruncated},
		{"huge frame", []byte("\x80\x04\x95\x00\x00\x00\x00\x01\x00\x00\x00N."), ErrTruncated},
		{"negative binstring", []byte("T\xff\xff\xff\xffN."), ErrFormat},
		{"many marks", bytes.Repeat([]byte("("), 500000), ErrLimit},
		{"nested lists", nested, ErrLimit},
		{"pop empty", []byte("0."), ErrFormat},
		{"setitems odd", []byte("}(K\x01u."), ErrFormat},
		{"memo miss", []byte("h\x05."), ErrFormat},
		{"append no list", []byte("a."), ErrFormat},
		{"stop empty", []byte("."), ErrFormat},
		{"long digits", append(append([]byte("L"), bytes.Repeat([]byte("9"), 2<<20)...), "\n."...), ErrLimit},
		{"bad int", []byte("Iabc\n."), ErrFormat},
		{"protocol 9", []byte("\x80\x09N."), ErrFormat},
		{"stack global of ints", []byte("\x80\x04K\x01K\x02\x93."), ErrFormat},
		{"dynamic global", []byte("\x80\x04cbuiltins\nstr\n)R\x8c\x01x\x93."), ErrUnsafe},
		{"ext code", []byte("\x80\x02\x82\x01."), ErrUnsafe},
		{"reduce non-tuple", []byte("cfoo\nbar\nK\x01R."), ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load(c.data, Options{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestMalformedDoesNotAllocate(t *testing.T) {
	data := []byte("\x80\x04\x8e\x00\x00\x00\x00\x00\x04\x00\x00abc")
	allocs := testing.AllocsPerRun(10, func() { Load(data, Options{}) })
	if allocs > 50 {
		t.Errorf("%v allocations for a refused length", allocs)
	}
}

func TestPolicy(t *testing.T) {
	cases := []struct {
		g    GlobalRef
		want Verdict
	}{
		{GlobalRef{Module: "torch._utils", Name: "_rebuild_tensor_v2"}, Safe},
		{GlobalRef{Module: "collections", Name: "OrderedDict"}, Safe},
		{GlobalRef{Module: "deepspeed.runtime.config", Name: "DeepSpeedConfig"}, Safe},
		{GlobalRef{Module: "mylib", Name: "Config"}, Unknown},
		{GlobalRef{Module: "os", Name: "system"}, Dangerous},
		{GlobalRef{Module: "posix", Name: "system"}, Dangerous},
		{GlobalRef{Module: "os.path", Name: "join"}, Dangerous},
		{GlobalRef{Module: "__builtin__", Name: "eval"}, Dangerous},
		{GlobalRef{Module: "builtins", Name: "getattr"}, Dangerous},
		{GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{{"deepspeed.runtime.zero.config.ZeroStageEnum", "gradients"}}}, Safe},
		{GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{{"deepspeed.runtime.zero.config.ZeroStageEnum", "__class__"}}}, Dangerous},
		{GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{{"numpy.ndarray", "tofile"}}}, Dangerous},
		{GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{{"deepspeed.runtime.zero.config.ZeroStageEnum", "gradients"}}, BadArgs: "called by OBJ"}, Dangerous},
		{GlobalRef{Module: "torch", Name: "FloatStorage", Dynamic: true}, Dangerous},
	}
	for _, c := range cases {
		if got, _ := (Policy{}).Judge(c.g); got != c.want {
			t.Errorf("%s.%s %+v: %v, want %v", c.g.Module, c.g.Name, c.g.Attrs, got, c.want)
		}
	}
	if v, _ := (Policy{Allow: []string{"mylib.*"}}).Judge(GlobalRef{Module: "mylib", Name: "Config"}); v != Safe {
		t.Errorf("Extra not honoured: %v", v)
	}
}
