package pickle

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// Limits bounds the resources a pickle may claim. A zero field means the
// default of [DefaultLimits].
type Limits struct {
	// MaxStack bounds the number of values on the pickle stack at once
	// (all MARK levels together). Default 1<<20.
	MaxStack int
	// MaxMarks bounds the number of MARKs open at once. Default 4096.
	MaxMarks int
	// MaxDepth bounds the nesting of containers in the loaded value.
	// Default 512.
	MaxDepth int
	// MaxIntBytes bounds the size of one integer argument: decimal digits
	// for INT and LONG, bytes for LONG1 and LONG4. Default 4096.
	MaxIntBytes int
	// MaxGlobals bounds the number of global references (GLOBAL,
	// STACK_GLOBAL and INST opcodes) in one pickle. Python's pickler
	// memoizes globals, so a real pickle names each one once. Default
	// 1<<16.
	MaxGlobals int
}

// DefaultLimits are the limits used where a field of [Limits] is zero. They
// are far above what any checkpoint needs and far below what exhausts
// memory.
var DefaultLimits = Limits{MaxStack: 1 << 20, MaxMarks: 4096, MaxDepth: 512, MaxIntBytes: 4096, MaxGlobals: 1 << 16}

func (l Limits) withDefaults() Limits {
	if l.MaxStack <= 0 {
		l.MaxStack = DefaultLimits.MaxStack
	}
	if l.MaxMarks <= 0 {
		l.MaxMarks = DefaultLimits.MaxMarks
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxIntBytes <= 0 {
		l.MaxIntBytes = DefaultLimits.MaxIntBytes
	}
	if l.MaxGlobals <= 0 {
		l.MaxGlobals = DefaultLimits.MaxGlobals
	}
	return l
}

// Use says what a pickle does with a global it references.
type Use uint8

// The ways a global is used. A global referenced several times is recorded
// once per reference.
const (
	UseValue   Use = iota // pushed and used as a plain value (an argument, a dict value, ...)
	UseCall               // called: REDUCE, OBJ or INST
	UseNew                // instantiated with NEWOBJ or NEWOBJ_EX
	UseGetattr            // the first argument of a builtins.getattr call
)

var useNames = [...]string{"value", "call", "new", "getattr"}

func (u Use) String() string {
	if int(u) < len(useNames) {
		return useNames[u]
	}
	return "use(" + strconv.Itoa(int(u)) + ")"
}

// GlobalRef is one reference to a global found by [Inspect].
type GlobalRef struct {
	Module, Name string
	Offset       int64 // offset of the GLOBAL, STACK_GLOBAL or INST opcode
	Use          Use
	// Dynamic is true for a STACK_GLOBAL whose module or name is not a
	// string literal of the pickle: its target cannot be known statically.
	Dynamic bool
	// Calls with literal arguments, which is how [Policy.Judge] tells the
	// harmless forms of some globals apart. Attrs: for builtins.getattr,
	// the calls getattr(global, "literal"). Payloads: for other globals,
	// the calls with one bytes literal as the only argument (what
	// torch.storage._load_from_bytes hands to torch.load). NonLiteral: some
	// call had other arguments, or was made by OBJ, INST or NEWOBJ.
	Attrs      []Attr
	Payloads   []Payload
	NonLiteral bool
}

// Payload is a bytes literal passed as the only argument of a call.
type Payload struct {
	Offset, Length int64 // where the literal's bytes are in the pickle
	// Latin1 is true when the bytes are written as _codecs.encode(text,
	// "latin1"), as protocols 0-2 write bytes: Offset and Length then
	// locate the UTF-8 text, each of whose characters is one byte.
	Latin1 bool
}

// Attr is one getattr(Of, Name) call with a global and a literal name.
type Attr struct {
	Of   string // "module.Name" of the global
	Name string
}

// Program is what [Inspect] learns about a pickle without running it.
type Program struct {
	Proto   int         // highest PROTO seen (0 when absent)
	End     int64       // offset just past the STOP opcode: the pickle's length
	Ops     int         // number of opcodes
	Globals []GlobalRef // every global reference, in stream order

	// unicodeOps are the offsets of protocol-0 UNICODE opcodes, whose
	// raw-unicode-escape arguments Load decodes before running the machine.
	unicodeOps []int
}

// slot is the abstract value of one stack entry during inspection: enough
// to resolve STACK_GLOBAL arguments and to judge getattr and
// _load_from_bytes calls. It holds no pointers and is 16 bytes, so that a
// stack of a million values stays small and cheap to grow. Literal kinds
// locate their bytes in the data: off, and a 48-bit length made of n (low
// 16 bits) and ref (high 32 bits) — except kPair, whose ref is the global
// and whose string is at most maxTrackedString bytes.
type slot struct {
	off  int64
	ref  int32 // kGlobal, kPair: index into Program.Globals
	n    uint16
	kind uint8
}

const (
	kOther      uint8 = iota
	kString           // a string literal
	kGlobal           // a global
	kPair             // a 2-tuple (global, short string literal): getattr's arguments
	kBytes            // a bytes literal
	kLatin1           // _codecs.encode(text, "latin1"): bytes written as a string literal (the span)
	kLatin1Args       // the 2-tuple (text, "latin1")
	kBytesArg         // a 1-tuple (bytes literal)
	kLatin1Arg        // a 1-tuple (kLatin1)
)

// literal returns a slot of kind k for the n bytes at off in the data.
func literal(k uint8, off int64, n int64) slot {
	if n < 0 || n >= 1<<48 {
		return slot{}
	}
	return slot{kind: k, off: off, n: uint16(n), ref: int32(uint32(n >> 16))}
}

// length returns the length of a literal slot's bytes.
func (s slot) length() int64 {
	if s.kind == kPair {
		return int64(s.n)
	}
	return int64(uint32(s.ref))<<16 | int64(s.n)
}

const maxTrackedString = 512 // longest string kept for STACK_GLOBAL resolution

// Inspect walks the pickle at the start of data without building anything,
// checks it against lim (see [Limits]) and returns where it ends and which
// globals it references. Bytes after the STOP opcode are ignored (legacy
// torch files hold several pickles and raw storage bytes back to back).
//
// On error the Program is not nil: it lists the globals referenced before
// the error (which Python would already have imported and possibly called)
// and its End is 0.
func Inspect(data []byte, lim Limits) (*Program, error) {
	lim = lim.withDefaults()
	in := inspector{data: data, lim: lim}
	prog, err := in.run()
	if err != nil {
		in.prog.End = 0
		return &in.prog, err
	}
	return prog, nil
}

// str returns the bytes of a literal slot as a string.
func (in *inspector) str(s slot) string { return string(in.data[s.off : s.off+s.length()]) }

type inspector struct {
	data  []byte
	pos   int
	lim   Limits
	prog  Program
	stack []slot
	marks []int
	// The memo: entries 0..len(memo)-1, written in order as Python's
	// pickler does, in a slice; entries written out of order in memoX,
	// whose keys are all >= len(memo).
	memo  []slot
	memoX map[uint64]slot
}

func (in *inspector) run() (*Program, error) {
	for {
		if in.pos >= len(in.data) {
			return nil, errorf(ErrTruncated, in.pos, "", "no STOP opcode before the end of the data")
		}
		start := in.pos
		op := in.data[in.pos]
		in.pos++
		in.prog.Ops++
		info := &opTable[op]
		if info.name == "" {
			return nil, errorf(ErrFormat, start, "", "unknown opcode 0x%02x", op)
		}
		arg, err := in.readArg(start, info)
		if err != nil {
			return nil, err
		}
		done, err := in.apply(start, op, info.name, arg)
		if err != nil {
			return nil, err
		}
		if done {
			in.prog.End = int64(in.pos)
			return &in.prog, nil
		}
		if len(in.stack) > in.lim.MaxStack {
			return nil, errorf(ErrLimit, start, info.name, "stack holds more than %d values", in.lim.MaxStack)
		}
	}
}

// argument kinds
const (
	aNone       = iota
	aU1         // 1-byte unsigned
	aU2         // 2-byte unsigned
	aI4         // 4-byte signed
	aU4         // 4-byte unsigned
	aU8         // 8-byte unsigned
	aF8         // 8-byte float
	aLine       // text up to newline
	aLine2      // two text lines
	aLen1       // 1-byte length + data
	aLen4       // 4-byte unsigned length + data
	aLen4Signed // 4-byte signed length + data (LONG4, BINSTRING)
	aLen8       // 8-byte length + data
)

type opInfo struct {
	name string
	arg  int
}

var opTable = [256]opInfo{
	'(': {"MARK", aNone}, '.': {"STOP", aNone}, '0': {"POP", aNone}, '1': {"POP_MARK", aNone},
	'2': {"DUP", aNone}, 'F': {"FLOAT", aLine}, 'I': {"INT", aLine}, 'J': {"BININT", aI4},
	'K': {"BININT1", aU1}, 'L': {"LONG", aLine}, 'M': {"BININT2", aU2}, 'N': {"NONE", aNone},
	'P': {"PERSID", aLine}, 'Q': {"BINPERSID", aNone}, 'R': {"REDUCE", aNone}, 'S': {"STRING", aLine},
	'T': {"BINSTRING", aLen4Signed}, 'U': {"SHORT_BINSTRING", aLen1}, 'V': {"UNICODE", aLine},
	'X': {"BINUNICODE", aLen4}, 'a': {"APPEND", aNone}, 'b': {"BUILD", aNone}, 'c': {"GLOBAL", aLine2},
	'd': {"DICT", aNone}, '}': {"EMPTY_DICT", aNone}, 'e': {"APPENDS", aNone}, 'g': {"GET", aLine},
	'h': {"BINGET", aU1}, 'i': {"INST", aLine2}, 'j': {"LONG_BINGET", aU4}, 'l': {"LIST", aNone},
	']': {"EMPTY_LIST", aNone}, 'o': {"OBJ", aNone}, 'p': {"PUT", aLine}, 'q': {"BINPUT", aU1},
	'r': {"LONG_BINPUT", aU4}, 's': {"SETITEM", aNone}, 't': {"TUPLE", aNone}, ')': {"EMPTY_TUPLE", aNone},
	'u': {"SETITEMS", aNone}, 'G': {"BINFLOAT", aF8},
	0x80: {"PROTO", aU1}, 0x81: {"NEWOBJ", aNone}, 0x82: {"EXT1", aU1}, 0x83: {"EXT2", aU2},
	0x84: {"EXT4", aI4}, 0x85: {"TUPLE1", aNone}, 0x86: {"TUPLE2", aNone}, 0x87: {"TUPLE3", aNone},
	0x88: {"NEWTRUE", aNone}, 0x89: {"NEWFALSE", aNone}, 0x8a: {"LONG1", aLen1}, 0x8b: {"LONG4", aLen4Signed},
	'B': {"BINBYTES", aLen4}, 'C': {"SHORT_BINBYTES", aLen1}, 0x8c: {"SHORT_BINUNICODE", aLen1},
	0x8d: {"BINUNICODE8", aLen8}, 0x8e: {"BINBYTES8", aLen8}, 0x8f: {"EMPTY_SET", aNone},
	0x90: {"ADDITEMS", aNone}, 0x91: {"FROZENSET", aNone}, 0x92: {"NEWOBJ_EX", aNone},
	0x93: {"STACK_GLOBAL", aNone}, 0x94: {"MEMOIZE", aNone}, 0x95: {"FRAME", aU8},
	0x96: {"BYTEARRAY8", aLen8}, 0x97: {"NEXT_BUFFER", aNone}, 0x98: {"READONLY_BUFFER", aNone},
}

// OpName returns the name of a pickle opcode, or "" for an unknown one.
func OpName(op byte) string { return opTable[op].name }

// argument is the decoded argument of one opcode.
type argument struct {
	u     uint64
	i     int64
	data  []byte // for length-prefixed and line arguments (line without '\n')
	data2 []byte // second line of aLine2
	off   int    // offset of data in the pickle, for length-prefixed arguments
}

func (in *inspector) need(start int, name string, n uint64) error {
	left := uint64(len(in.data) - in.pos)
	if n > left {
		return errorf(ErrTruncated, start, name, "argument needs %d bytes, only %d left", n, left)
	}
	return nil
}

func (in *inspector) line(start int, name string) ([]byte, error) {
	i := bytes.IndexByte(in.data[in.pos:], '\n')
	if i < 0 {
		return nil, errorf(ErrTruncated, start, name, "line argument has no end of line")
	}
	l := in.data[in.pos : in.pos+i]
	in.pos += i + 1
	return l, nil
}

func (in *inspector) readArg(start int, info *opInfo) (argument, error) {
	var a argument
	fixed := func(n int) ([]byte, error) {
		if err := in.need(start, info.name, uint64(n)); err != nil {
			return nil, err
		}
		b := in.data[in.pos : in.pos+n]
		in.pos += n
		return b, nil
	}
	switch info.arg {
	case aNone:
	case aU1:
		b, err := fixed(1)
		if err != nil {
			return a, err
		}
		a.u = uint64(b[0])
	case aU2:
		b, err := fixed(2)
		if err != nil {
			return a, err
		}
		a.u = uint64(binary.LittleEndian.Uint16(b))
	case aI4, aU4:
		b, err := fixed(4)
		if err != nil {
			return a, err
		}
		a.u = uint64(binary.LittleEndian.Uint32(b))
		a.i = int64(int32(binary.LittleEndian.Uint32(b)))
	case aU8, aF8:
		b, err := fixed(8)
		if err != nil {
			return a, err
		}
		a.u = binary.LittleEndian.Uint64(b)
	case aLine:
		l, err := in.line(start, info.name)
		if err != nil {
			return a, err
		}
		a.data = l
	case aLine2:
		l, err := in.line(start, info.name)
		if err != nil {
			return a, err
		}
		l2, err := in.line(start, info.name)
		if err != nil {
			return a, err
		}
		a.data, a.data2 = l, l2
	case aLen1, aLen4, aLen4Signed, aLen8:
		var n uint64
		switch info.arg {
		case aLen1:
			b, err := fixed(1)
			if err != nil {
				return a, err
			}
			n = uint64(b[0])
		case aLen4:
			b, err := fixed(4)
			if err != nil {
				return a, err
			}
			n = uint64(binary.LittleEndian.Uint32(b))
		case aLen4Signed:
			b, err := fixed(4)
			if err != nil {
				return a, err
			}
			s := int32(binary.LittleEndian.Uint32(b))
			if s < 0 {
				return a, errorf(ErrFormat, start, info.name, "negative length %d", s)
			}
			n = uint64(s)
		case aLen8:
			b, err := fixed(8)
			if err != nil {
				return a, err
			}
			n = binary.LittleEndian.Uint64(b)
		}
		if err := in.need(start, info.name, n); err != nil {
			return a, err
		}
		a.data, a.off = in.data[in.pos:in.pos+int(n)], in.pos
		in.pos += int(n)
	}
	return a, nil
}

func (in *inspector) push(s slot) { in.stack = append(in.stack, s) }

// pop removes n values above the innermost mark.
func (in *inspector) pop(start int, name string, n int) ([]slot, error) {
	floor := 0
	if len(in.marks) > 0 {
		floor = in.marks[len(in.marks)-1]
	}
	if len(in.stack)-floor < n {
		return nil, errorf(ErrFormat, start, name, "needs %d stack values, %d available", n, len(in.stack)-floor)
	}
	vals := in.stack[len(in.stack)-n:]
	in.stack = in.stack[:len(in.stack)-n]
	return vals, nil
}

// popMark removes the values above the innermost mark and the mark itself.
func (in *inspector) popMark(start int, name string) ([]slot, error) {
	if len(in.marks) == 0 {
		return nil, errorf(ErrFormat, start, name, "no MARK on the stack")
	}
	m := in.marks[len(in.marks)-1]
	in.marks = in.marks[:len(in.marks)-1]
	vals := in.stack[m:]
	in.stack = in.stack[:m]
	return vals, nil
}

// peek checks that a value sits above the innermost mark.
func (in *inspector) peek(start int, name string) (*slot, error) {
	floor := 0
	if len(in.marks) > 0 {
		floor = in.marks[len(in.marks)-1]
	}
	if len(in.stack) <= floor {
		return nil, errorf(ErrFormat, start, name, "empty stack")
	}
	return &in.stack[len(in.stack)-1], nil
}

func (in *inspector) addGlobal(start int, op, module, name string, dynamic bool) (slot, error) {
	if len(in.prog.Globals) >= in.lim.MaxGlobals {
		return slot{}, errorf(ErrLimit, start, op, "more than %d global references", in.lim.MaxGlobals)
	}
	in.prog.Globals = append(in.prog.Globals, GlobalRef{
		Module: normModule(module), Name: name, Offset: int64(start), Dynamic: dynamic,
	})
	return slot{kind: kGlobal, ref: int32(len(in.prog.Globals) - 1)}, nil
}

// markUse records what is done with a global found on the stack.
func (in *inspector) markUse(s slot, u Use) {
	if s.kind == kGlobal && in.prog.Globals[s.ref].Use < u {
		in.prog.Globals[s.ref].Use = u
	}
}

func (in *inspector) checkInt(start int, name string, n int) error {
	if n > in.lim.MaxIntBytes {
		return errorf(ErrLimit, start, name, "integer argument of %d bytes exceeds the limit of %d", n, in.lim.MaxIntBytes)
	}
	return nil
}

func (in *inspector) apply(start int, op byte, name string, a argument) (bool, error) {
	switch name {
	case "STOP":
		if _, err := in.pop(start, name, 1); err != nil {
			return false, err
		}
		return true, nil
	case "PROTO":
		if a.u > 5 {
			return false, errorf(ErrFormat, start, name, "unsupported protocol %d", a.u)
		}
		in.prog.Proto = int(a.u)
	case "FRAME":
		if err := in.need(start, name, a.u); err != nil {
			return false, err
		}
	case "MARK":
		if len(in.marks) >= in.lim.MaxMarks {
			return false, errorf(ErrLimit, start, name, "more than %d MARKs open at once", in.lim.MaxMarks)
		}
		in.marks = append(in.marks, len(in.stack))
	case "POP":
		floor := 0
		if len(in.marks) > 0 {
			floor = in.marks[len(in.marks)-1]
		}
		if len(in.stack) > floor {
			in.stack = in.stack[:len(in.stack)-1]
		} else if _, err := in.popMark(start, name); err != nil {
			return false, err
		}
	case "POP_MARK":
		if _, err := in.popMark(start, name); err != nil {
			return false, err
		}
	case "DUP":
		s, err := in.peek(start, name)
		if err != nil {
			return false, err
		}
		in.push(*s)
	case "INT", "LONG":
		if err := in.checkInt(start, name, len(a.data)); err != nil {
			return false, err
		}
		if err := checkDecimal(a.data, name == "LONG"); err != nil {
			return false, errorf(ErrFormat, start, name, "%v", err)
		}
		in.push(slot{})
	case "LONG1", "LONG4":
		if err := in.checkInt(start, name, len(a.data)); err != nil {
			return false, err
		}
		if len(a.data) == 0 {
			// Valid Python (the integer 0), but never written by Python
			// and not supported by the gopickle machine we run on.
			return false, errorf(ErrFormat, start, name, "zero-length integer")
		}
		in.push(slot{})
	case "FLOAT":
		if _, err := strconv.ParseFloat(string(a.data), 64); err != nil {
			return false, errorf(ErrFormat, start, name, "bad float %q", truncate(a.data))
		}
		in.push(slot{})
	case "BININT", "BININT1", "BININT2", "NONE", "NEWTRUE", "NEWFALSE", "BINFLOAT",
		"BINSTRING", "SHORT_BINSTRING", "STRING", "EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_SET":
		in.push(slot{})
	case "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8":
		in.push(literal(kBytes, int64(a.off), int64(len(a.data))))
	case "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8":
		if name == "UNICODE" {
			in.prog.unicodeOps = append(in.prog.unicodeOps, start)
		}
		s := slot{}
		if name != "UNICODE" {
			s = literal(kString, int64(a.off), int64(len(a.data)))
		}
		in.push(s)
	case "PERSID":
		in.push(slot{})
	case "BINPERSID":
		if _, err := in.pop(start, name, 1); err != nil {
			return false, err
		}
		in.push(slot{})
	case "GLOBAL":
		g, err := in.addGlobal(start, name, string(a.data), string(a.data2), false)
		if err != nil {
			return false, err
		}
		in.push(g)
	case "STACK_GLOBAL":
		v, err := in.pop(start, name, 2)
		if err != nil {
			return false, err
		}
		mod, nm := v[0], v[1]
		var ms, ns string
		lit := func(s slot) bool { return s.kind == kString && s.length() <= maxTrackedString }
		if lit(mod) {
			ms = in.str(mod)
		}
		if lit(nm) {
			ns = in.str(nm)
		}
		g, err := in.addGlobal(start, name, ms, ns, !lit(mod) || !lit(nm))
		if err != nil {
			return false, err
		}
		in.push(g)
	case "INST":
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		_ = vals
		g, err := in.addGlobal(start, name, string(a.data), string(a.data2), false)
		if err != nil {
			return false, err
		}
		in.markUse(g, UseCall)
		in.prog.Globals[g.ref].NonLiteral = true
		in.push(slot{})
	case "OBJ":
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		if len(vals) == 0 {
			return false, errorf(ErrFormat, start, name, "no class on the stack")
		}
		in.markUse(vals[0], UseCall)
		in.nonLiteral(vals[0])
		in.push(slot{})
	case "REDUCE":
		v, err := in.pop(start, name, 2)
		if err != nil {
			return false, err
		}
		fn, args := v[0], v[1]
		in.markUse(fn, UseCall)
		out := slot{}
		if fn.kind == kGlobal {
			g := &in.prog.Globals[fn.ref]
			switch {
			case g.Module == "builtins" && g.Name == "getattr":
				if args.kind == kPair {
					target := &in.prog.Globals[args.ref]
					if target.Use < UseGetattr {
						target.Use = UseGetattr
					}
					g.Attrs = append(g.Attrs, Attr{Of: target.Module + "." + target.Name, Name: in.str(args)})
				} else {
					g.NonLiteral = true
				}
			case g.Module == "_codecs" && g.Name == "encode" && args.kind == kLatin1Args:
				out = args
				out.kind = kLatin1
			case args.kind == kBytesArg || args.kind == kLatin1Arg:
				g.Payloads = append(g.Payloads, Payload{Offset: args.off, Length: args.length(), Latin1: args.kind == kLatin1Arg})
			default:
				g.NonLiteral = true
			}
		}
		in.push(out)
	case "NEWOBJ":
		v, err := in.pop(start, name, 2)
		if err != nil {
			return false, err
		}
		in.markUse(v[0], UseNew)
		in.nonLiteral(v[0])
		in.push(slot{})
	case "NEWOBJ_EX":
		v, err := in.pop(start, name, 3)
		if err != nil {
			return false, err
		}
		in.markUse(v[0], UseNew)
		in.nonLiteral(v[0])
		in.push(slot{})
	case "BUILD":
		if _, err := in.pop(start, name, 1); err != nil {
			return false, err
		}
		if _, err := in.peek(start, name); err != nil {
			return false, err
		}
	case "APPEND":
		if _, err := in.pop(start, name, 1); err != nil {
			return false, err
		}
		if _, err := in.peek(start, name); err != nil {
			return false, err
		}
	case "APPENDS", "ADDITEMS":
		if _, err := in.popMark(start, name); err != nil {
			return false, err
		}
		if _, err := in.peek(start, name); err != nil {
			return false, err
		}
	case "SETITEM":
		if _, err := in.pop(start, name, 2); err != nil {
			return false, err
		}
		if _, err := in.peek(start, name); err != nil {
			return false, err
		}
	case "SETITEMS":
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		if len(vals)%2 != 0 {
			return false, errorf(ErrFormat, start, name, "odd number of values (%d)", len(vals))
		}
		if _, err := in.peek(start, name); err != nil {
			return false, err
		}
	case "DICT":
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		if len(vals)%2 != 0 {
			return false, errorf(ErrFormat, start, name, "odd number of values (%d)", len(vals))
		}
		in.push(slot{})
	case "LIST", "FROZENSET":
		if _, err := in.popMark(start, name); err != nil {
			return false, err
		}
		in.push(slot{})
	case "TUPLE":
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		in.push(in.tupleSlot(vals))
	case "TUPLE1", "TUPLE2", "TUPLE3":
		n := int(op - 0x85 + 1)
		vals, err := in.pop(start, name, n)
		if err != nil {
			return false, err
		}
		in.push(in.tupleSlot(vals))
	case "GET", "BINGET", "LONG_BINGET":
		idx := a.u
		if name == "GET" {
			n, err := strconv.ParseUint(string(a.data), 10, 32)
			if err != nil {
				return false, errorf(ErrFormat, start, name, "bad memo index %q", truncate(a.data))
			}
			idx = n
		}
		s, ok := in.memoGet(idx)
		if !ok {
			return false, errorf(ErrFormat, start, name, "memo index %d was never stored", idx)
		}
		in.push(s)
	case "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE":
		s, err := in.peek(start, name)
		if err != nil {
			return false, err
		}
		idx := a.u
		switch name {
		case "PUT":
			n, err := strconv.ParseUint(string(a.data), 10, 32)
			if err != nil {
				return false, errorf(ErrFormat, start, name, "bad memo index %q", truncate(a.data))
			}
			idx = n
		case "MEMOIZE":
			idx = uint64(len(in.memo) + len(in.memoX))
		}
		in.memoPut(idx, *s)
	case "EXT1", "EXT2", "EXT4":
		return false, errorf(ErrUnsafe, start, name, "extension registry codes are not supported")
	case "NEXT_BUFFER", "READONLY_BUFFER":
		return false, errorf(ErrFormat, start, name, "out-of-band buffers are not supported")
	default:
		return false, errorf(ErrFormat, start, name, "opcode not handled")
	}
	return false, nil
}

func (in *inspector) memoGet(idx uint64) (slot, bool) {
	if idx < uint64(len(in.memo)) {
		return in.memo[idx], true
	}
	s, ok := in.memoX[idx]
	return s, ok
}

func (in *inspector) memoPut(idx uint64, s slot) {
	switch {
	case idx < uint64(len(in.memo)):
		in.memo[idx] = s
	case idx == uint64(len(in.memo)):
		delete(in.memoX, idx)
		in.memo = append(in.memo, s)
	default:
		if in.memoX == nil {
			in.memoX = map[uint64]slot{}
		}
		in.memoX[idx] = s
	}
}

// nonLiteral records that a global is called with arguments Inspect does
// not follow.
func (in *inspector) nonLiteral(s slot) {
	if s.kind == kGlobal {
		in.prog.Globals[s.ref].NonLiteral = true
	}
}

// tupleSlot is the abstract value of a tuple: only the tuples that are the
// arguments of the calls Inspect follows are kept (see GlobalRef.Attrs and
// GlobalRef.Payloads).
func (in *inspector) tupleSlot(vals []slot) slot {
	switch {
	case len(vals) == 2 && vals[0].kind == kGlobal && vals[1].kind == kString && vals[1].length() <= maxTrackedString:
		return slot{kind: kPair, ref: vals[0].ref, off: vals[1].off, n: uint16(vals[1].length())}
	case len(vals) == 2 && vals[0].kind == kString && vals[1].kind == kString && vals[1].length() <= 8:
		if enc := in.str(vals[1]); enc == "latin1" || enc == "latin-1" {
			s := vals[0]
			s.kind = kLatin1Args
			return s
		}
	case len(vals) == 1 && vals[0].kind == kBytes:
		s := vals[0]
		s.kind = kBytesArg
		return s
	case len(vals) == 1 && vals[0].kind == kLatin1:
		s := vals[0]
		s.kind = kLatin1Arg
		return s
	}
	return slot{}
}

// checkDecimal accepts the argument forms of INT and LONG.
func checkDecimal(b []byte, long bool) error {
	s := string(b)
	if long && len(s) > 0 && s[len(s)-1] == 'L' {
		s = s[:len(s)-1]
	}
	if s == "00" || s == "01" {
		return nil
	}
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" {
		return strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return strconv.ErrSyntax
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// normModule maps the Python 2 module names that protocols 0-2 use to
// their Python 3 names, as Python's own unpickler does.
func normModule(m string) string {
	switch m {
	case "__builtin__":
		return "builtins"
	case "copy_reg":
		return "copyreg"
	}
	return m
}
