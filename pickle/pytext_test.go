package pickle

import (
	"errors"
	"testing"
)

// TestCPythonTexts checks the text opcodes against what CPython 3.11's C
// unpickler accepts (each case was run through pickle.loads): the whole
// pickle is the opcode with its line, then STOP.
func TestCPythonTexts(t *testing.T) {
	cases := []struct {
		op, text string
		ok       bool
	}{
		{"I", "0x10", true}, {"I", "1_000", true}, {"I", "  12  ", true}, {"I", "010", true},
		{"I", "08", false}, {"I", "5\x00junk", true}, {"I", "", false}, {"I", "-0", true}, {"I", "+7", true},
		{"I", "0x", false}, {"I", "00", true}, {"I", "01", true}, {"I", "999999999999999999999999999999", true},
		{"I", "0_1", false}, {"I", " ", false}, {"I", "1__0", false}, {"I", "_1", false}, {"I", "0o17", true},
		{"I", "0b101", true}, {"I", "1 2", false}, {"I", "\t3\t", true}, {"I", "077777777777777777777777", false},
		{"L", "0x10L", true}, {"L", "010", false}, {"L", "7_7", true}, {"L", " 5 ", true}, {"L", "-0x1f", true},
		{"L", "1__2", false}, {"L", "", false}, {"L", "L", false}, {"L", "0", true}, {"L", "00", true}, {"L", "0_0", true},
		{"F", "1.5", true}, {"F", "nan", true}, {"F", "-inf", true}, {"F", "Infinity", true}, {"F", "1e400", false},
		{"F", "1_0.5", false}, {"F", " 1", false}, {"F", "1.", true}, {"F", "0x1p3", false}, {"F", ".5", true},
		{"F", "1e5", true}, {"F", "1e", false}, {"F", "5\x00x", true},
		{"S", "'a'", true}, {"S", `'\x4'`, false}, {"S", `'\x41'`, true}, {"S", `'abc\'`, false}, {"S", `"q"`, true},
		{"S", `'a"`, false}, {"S", `'\q'`, true},
		{"V", `\u0041`, true}, {"V", `\u004`, false}, {"V", `\U0010ffff`, true}, {"V", `\U00110000`, false},
		{"V", `\\u004`, true}, {"V", `a\`, true},
	}
	for _, c := range cases {
		_, err := Inspect([]byte(c.op+c.text+"\n."), Limits{})
		if (err == nil) != c.ok {
			t.Errorf("%s %q: err %v, CPython accepts: %v", c.op, c.text, err, c.ok)
		}
	}
	// PUT and GET indices (base 10).
	for _, c := range []struct {
		text string
		ok   bool
	}{{" 1_0", true}, {"+07", true}, {"0x0", false}, {"-1", false}, {"10", true}, {"1_", false}, {"007", true}} {
		_, err := Inspect([]byte("Np"+c.text+"\n0g"+c.text+"\n."), Limits{})
		if (err == nil) != c.ok {
			t.Errorf("PUT/GET %q: err %v, CPython accepts: %v", c.text, err, c.ok)
		}
	}
}

// TestFrames checks FRAMEs as both of Python's readers take them: an
// argument cut by the frame's end is read on by a reader with look-ahead
// and read from after the frame by io.BytesIO, and both readings' globals
// are reported.
func TestFrames(t *testing.T) {
	frame := func(n int) string { return "\x95" + string([]byte{byte(n), 0, 0, 0, 0, 0, 0, 0}) }
	cases := []struct {
		name     string
		data     string
		straddle bool
		globals  []string // module.name, in any reading
		err      bool
	}{
		{"frames as Python writes them", "\x80\x04" + frame(5) + "\x8c\x03abc" + frame(1) + ".", false, nil, false},
		{"argument past the frame, look-ahead reader runs the payload", "\x80\x04" + frame(4) + "\x8c\x04ab" + "zzcos\nsystem\n(S'ls'\ntR.", true, []string{"os.system"}, false},
		{"argument past the frame, io.BytesIO runs the payload", "\x80\x04" + frame(3) + "\x8c\x02x" + "yycos\nsystem\n(S'ls'\ntR.", true, []string{"os.system"}, false},
		{"a GLOBAL line cut by the frame", "\x80\x04" + frame(3) + "cab" + "os\nsystem\n(S'ls'\ntR.", true, []string{"abos.system", "os.system"}, false},
		{"frame longer than the data", "\x80\x04" + frame(200) + "N.", false, nil, true},
		{"frame inside a frame", "\x80\x04" + frame(11) + frame(1) + "N.", false, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog, err := Inspect([]byte(c.data), Limits{})
			if (err != nil) != c.err {
				t.Fatalf("err %v", err)
			}
			if prog.Straddle != c.straddle {
				t.Errorf("straddle %v", prog.Straddle)
			}
			got := map[string]bool{}
			for _, g := range prog.Globals {
				got[g.RawModule+"."+g.RawName] = true
			}
			for _, w := range c.globals {
				if !got[w] {
					t.Errorf("%s not reported: %v", w, got)
				}
			}
			if len(got) != len(c.globals) {
				t.Errorf("globals %v, want %v", got, c.globals)
			}
		})
	}
}

// TestCPythonErrors checks constructs CPython certainly rejects, which end
// the walk (nothing after them is imported), and constructs it accepts that
// scanners used to reject.
func TestCPythonErrors(t *testing.T) {
	cases := []struct {
		name string
		data string
		err  error // nil: accepted
	}{
		{"LONG1 of length 0", "\x80\x02\x8a\x00.", nil},
		{"LONG4 of length 0", "\x80\x02\x8b\x00\x00\x00\x00.", nil},
		{"a 6000-byte LONG4", "\x80\x02\x8b\x70\x17\x00\x00" + string(make([]byte, 6000)) + ".", nil},
		{"EXT1 code 0", "\x80\x02\x82\x00.", ErrFormat},
		{"EXT4 negative", "\x80\x02\x84\xff\xff\xff\xff.", ErrFormat},
		{"NEXT_BUFFER without buffers", "\x80\x05\x97.", ErrFormat},
		{"READONLY_BUFFER on bytes", "\x80\x05C\x01a\x98.", nil},
		{"READONLY_BUFFER on an int", "\x80\x05K\x01\x98.", ErrFormat},
		{"APPEND to a dict", "}Na.", ErrFormat},
		{"REDUCE of an int", "K\x01)R.", ErrFormat},
		{"REDUCE with a list of arguments", "cos\nsystem\n]R.", ErrFormat},
		{"STACK_GLOBAL of bytes", "\x80\x04C\x02osC\x06system\x93.", ErrFormat},
		{"protocol 6", "\x80\x06N.", ErrFormat},
		{"STOP with a MARK open", "N(.", ErrFormat},
		{"values left on the stack", "NN.", nil},
		{"POP of a MARK", "(0N.", nil},
		{"GLOBAL name not UTF-8", "cos\nsys\xe9\n.", ErrFormat},
		{"INST name not ASCII", "(ios\nsys\xe9\n.", ErrFormat},
		{"dict key a list", "(]Nd.", ErrFormat},
		{"negative PUT", "Np-1\n.", ErrFormat},
	}
	for _, c := range cases {
		_, err := Inspect([]byte(c.data), Limits{})
		if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
}
