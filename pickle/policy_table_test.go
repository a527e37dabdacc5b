package pickle

import (
	"strings"
	"testing"
)

// TestPolicyTable checks the verdicts of the documented tables, the
// Python 2 names and the context-judged globals.
func TestPolicyTable(t *testing.T) {
	enum := Attr{Of: "deepspeed.runtime.zero.config.ZeroStageEnum", Name: "gradients"}
	payload := []Payload{{Offset: 10, Length: 300}}
	cases := []struct {
		name string
		g    GlobalRef
		want Verdict
		why  string // part of the reason
	}{
		{"os.system", GlobalRef{Module: "os", Name: "system"}, Dangerous, "shell"},
		{"nt.spawnv", GlobalRef{Module: "nt", Name: "spawnv"}, Dangerous, "shell"},
		{"subprocess.Popen", GlobalRef{Module: "subprocess", Name: "Popen"}, Dangerous, "shell"},
		{"Python 2 commands", GlobalRef{Module: "commands", Name: "getoutput"}, Dangerous, "shell"},
		{"builtins.exec", GlobalRef{Module: "builtins", Name: "exec"}, Dangerous, "code"},
		{"builtins.compile", GlobalRef{Module: "__builtin__", Name: "compile"}, Dangerous, "code"},
		{"builtins.open", GlobalRef{Module: "builtins", Name: "open"}, Dangerous, "files"},
		{"__import__", GlobalRef{Module: "builtins", Name: "__import__"}, Dangerous, "imports"},
		{"importlib", GlobalRef{Module: "importlib", Name: "import_module"}, Dangerous, "imports"},
		{"apply", GlobalRef{Module: "__builtin__", Name: "apply"}, Dangerous, "callables"},
		{"map", GlobalRef{Module: "builtins", Name: "map"}, Dangerous, "callables"},
		{"runpy", GlobalRef{Module: "runpy", Name: "_run_code"}, Dangerous, "code"},
		{"pty", GlobalRef{Module: "pty", Name: "spawn"}, Dangerous, "shell"},
		{"socket", GlobalRef{Module: "socket", Name: "create_connection"}, Dangerous, "network"},
		{"shutil", GlobalRef{Module: "shutil", Name: "rmtree"}, Dangerous, "files"},
		{"webbrowser", GlobalRef{Module: "webbrowser", Name: "open"}, Dangerous, "browser"},
		{"pickle.loads", GlobalRef{Module: "pickle", Name: "loads"}, Dangerous, "deserialises"},
		{"marshal.loads", GlobalRef{Module: "marshal", Name: "loads"}, Dangerous, "deserialises"},
		{"Python 2 cPickle", GlobalRef{Module: "cPickle", Name: "loads"}, Dangerous, "deserialises"},
		{"torch.hub.load", GlobalRef{Module: "torch.hub", Name: "load"}, Dangerous, "deserialises"},
		{"torch.load", GlobalRef{Module: "torch", Name: "load"}, Dangerous, "torch.load"},
		{"fx graph module", GlobalRef{Module: "torch.fx.graph_module", Name: "reduce_graph_module"}, Dangerous, "code"},
		{"Python 2 reduce", GlobalRef{Module: "__builtin__", Name: "reduce"}, Dangerous, "callables"},
		{"Python 2 imap", GlobalRef{Module: "itertools", Name: "imap"}, Dangerous, "callables"},
		{"Python 2 urllib2", GlobalRef{Module: "urllib2", Name: "urlopen"}, Dangerous, "network"},
		{"Python 2 thread", GlobalRef{Module: "thread", Name: "start_new_thread"}, Dangerous, "interpreter"},
		{"Python 2 xrange", GlobalRef{Module: "__builtin__", Name: "xrange"}, Safe, ""},
		{"Python 2 exception", GlobalRef{Module: "exceptions", Name: "ValueError"}, Unknown, "not a known"},
		{"tensor", GlobalRef{Module: "torch._utils", Name: "_rebuild_tensor_v2", Use: UseCall}, Safe, ""},
		{"subclass tensor", GlobalRef{Module: "torch._tensor", Name: "_rebuild_from_type_v2"}, Safe, ""},
		{"numpy", GlobalRef{Module: "numpy.core.multiarray", Name: "_reconstruct"}, Safe, ""},
		{"fragment_address", GlobalRef{Module: "deepspeed.utils.tensor_fragment", Name: "fragment_address"}, Safe, ""},
		{"enum getattr", GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{enum}}, Safe, ""},
		{"getattr by OBJ too", GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{enum}, BadArgs: "getattr called with arguments that are not"}, Dangerous, "getattr"},
		{"getattr on a class", GlobalRef{Module: "builtins", Name: "getattr", Attrs: []Attr{{"collections.OrderedDict", "fromkeys"}}}, Dangerous, "not known as an enum"},
		{"load_from_bytes literal", GlobalRef{Module: "torch.storage", Name: "_load_from_bytes", Use: UseCall, Payloads: payload}, Safe, ""},
		{"load_from_bytes as a value", GlobalRef{Module: "torch.storage", Name: "_load_from_bytes"}, Dangerous, "torch.load"},
		{"load_from_bytes computed", GlobalRef{Module: "torch.storage", Name: "_load_from_bytes", Use: UseCall, Payloads: payload, BadArgs: "torch.load of data that is not"}, Dangerous, "torch.load"},
		{"computed global", GlobalRef{Module: "torch", Name: "Size", Dynamic: true}, Dangerous, "STACK_GLOBAL"},
		{"unknown class", GlobalRef{Module: "mylib.model", Name: "Net"}, Unknown, "not a known"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, why := (Policy{}).Judge(c.g)
			if v != c.want || !strings.Contains(why, c.why) {
				t.Errorf("Judge(%s.%s) = %v %q, want %v %q", c.g.Module, c.g.Name, v, why, c.want, c.why)
			}
			if v != Safe && why == "" {
				t.Errorf("no reason for %v", v)
			}
		})
	}
}

// TestPolicyTablesConsistent checks that no safe entry is also dangerous
// and that every enum class is a safe data class.
func TestPolicyTablesConsistent(t *testing.T) {
	for _, s := range SafeGlobals() {
		i := strings.LastIndexByte(s, '.')
		if why := dangerous(s[:i], s[i+1:]); why != "" && s != "builtins.getattr" {
			t.Errorf("%s is in SafeGlobals and in DangerousGlobals (%s)", s, why)
		}
	}
	for _, e := range EnumClasses() {
		i := strings.LastIndexByte(e, '.')
		if !(Policy{}).IsSafe(e[:i], e[i+1:]) {
			t.Errorf("enum class %s is not in SafeGlobals", e)
		}
	}
	for _, g := range DangerousGlobals() {
		if g.Why == "" || len(g.Patterns) == 0 {
			t.Errorf("empty group %+v", g)
		}
	}
}

// TestInspectCalls checks what Inspect records about calls: literal
// _load_from_bytes payloads in both encodings, and getattr made by OBJ.
func TestInspectCalls(t *testing.T) {
	p4 := "\x80\x04\x8c\rtorch.storage\x94\x8c\x10_load_from_bytes\x94\x93\x94C\x05\x80\x02N.x\x94\x85\x94R\x94."
	p2 := "\x80\x02ctorch.storage\n_load_from_bytes\nq\x00c_codecs\nencode\nq\x01X\x04\x00\x00\x00\xc2\x80\x02Nq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07."
	obj := "\x80\x02(c__builtin__\ngetattr\ncfakepkg\nE\nX\x01\x00\x00\x00ao."
	prog, err := Inspect([]byte(p4), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if g := prog.Globals[0]; len(g.Payloads) != 1 || g.Payloads[0] != (Payload{Offset: 41, Length: 5}) || g.BadArgs != "" || g.Use != UseCall {
		t.Errorf("protocol 4 payload: %+v", g)
	}
	if v, why := (Policy{}).Judge(prog.Globals[0]); v != Safe {
		t.Errorf("protocol 4 literal payload judged %v (%s)", v, why)
	}
	prog, err = Inspect([]byte(p2), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if g := prog.Globals[0]; len(g.Payloads) != 1 || !g.Payloads[0].Latin1 || g.Payloads[0].Length != 4 || g.BadArgs != "" {
		t.Errorf("protocol 2 payload: %+v", g)
	}
	prog, err = Inspect([]byte(obj), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if g := prog.Globals[0]; g.BadArgs == "" {
		t.Errorf("getattr called by OBJ not marked non-literal: %+v", g)
	}
}
