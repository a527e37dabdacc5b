package pickle

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"strconv"
	"strings"
)

// Limits bounds the resources a pickle may claim. A zero field means the
// default of [DefaultLimits]. Python itself has none of these limits: a
// pickle that exceeds one is not malformed, only too big to check, and
// [Inspect] reports it with [ErrLimit] (a scanner must then not call the
// pickle safe).
type Limits struct {
	// MaxStack bounds the number of values on the pickle stack at once
	// (all MARK levels together). Default 1<<20.
	MaxStack int
	// MaxMarks bounds the number of MARKs open at once. Default 4096.
	MaxMarks int
	// MaxDepth bounds the nesting of containers in the loaded value
	// (Load only). Default 512.
	MaxDepth int
	// MaxIntBytes bounds the size of one integer that Load converts:
	// decimal digits for INT and LONG, bytes for LONG1 and LONG4.
	// Inspect never converts integers and has no such limit. Default
	// 1<<20.
	MaxIntBytes int
	// MaxGlobals bounds the number of global references (GLOBAL,
	// STACK_GLOBAL, INST and EXT opcodes) in one pickle. References to a
	// name already referenced cost nothing. Default 1<<16.
	MaxGlobals int
	// MaxOps bounds the number of opcodes of one pickle. Default 1<<26.
	MaxOps int
}

// DefaultLimits are the limits used where a field of [Limits] is zero. They
// are far above what any checkpoint needs and far below what exhausts
// memory.
var DefaultLimits = Limits{MaxStack: 1 << 20, MaxMarks: 4096, MaxDepth: 512, MaxIntBytes: 1 << 20, MaxGlobals: 1 << 16, MaxOps: 1 << 26}

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
	if l.MaxOps <= 0 {
		l.MaxOps = DefaultLimits.MaxOps
	}
	return l
}

// Use says what a pickle does with a global it references.
type Use uint8

// The ways a global is used, from weakest to strongest. GlobalRef.Use is
// the strongest use of the reference.
const (
	UseValue   Use = iota // pushed and used as a plain value (an argument, a dict value, ...)
	UseCall               // called: REDUCE, OBJ, INST, or by a callable it was handed to
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

// GlobalRef is one global that a pickle imports: a GLOBAL, STACK_GLOBAL,
// INST or EXT opcode. A later reference to the same name through the memo
// is the same GlobalRef.
type GlobalRef struct {
	// Module and Name are the global as Python 3 imports it: Python 2
	// module names of protocols 0-2 mapped (__builtin__ is builtins). A
	// Name may be dotted ("os.system"): Python then walks attributes.
	Module, Name string
	// RawModule and RawName are the strings the pickle hands to
	// Unpickler.find_class, before any mapping. For an EXT opcode, whose
	// global is whatever the loading process registered with
	// copyreg.add_extension, they are "copyreg._inverted_registry" and the
	// code in decimal.
	RawModule, RawName string
	Offset             int64  // offset of the opcode
	Op                 string // GLOBAL, STACK_GLOBAL, INST, EXT1, EXT2 or EXT4
	Proto              int    // the protocol in force (the last PROTO before the opcode)
	Ext                int32  // the extension code of an EXT opcode, else 0
	Use                Use    // the strongest use
	// Dynamic is true for a STACK_GLOBAL whose module or name is not a
	// string literal of the pickle: its target cannot be known statically.
	Dynamic bool
	// Escaped is true when the global itself (not a value it returns) is
	// stored in a container, passed as an argument, handed to the
	// persistent loader or returned: something other than the pickle's
	// own call opcodes may call it.
	Escaped bool
	// CalledIndirectly is true when the global is called by a callable it
	// was handed to (see [CallsArguments]) or returned by the persistent
	// loader and called: with arguments the pickle does not show.
	CalledIndirectly bool
	// Mutated is true when the pickle changes the global itself: BUILD,
	// SETITEM(S), APPEND(S) or ADDITEMS applied to the class, function or
	// module rather than to an instance.
	Mutated bool
	// ResultCalled is true when a value returned by a call of the global
	// is called or instantiated in turn; ResultMutated when such a value
	// is changed by BUILD, SETITEM(S), APPEND(S) or ADDITEMS.
	ResultCalled, ResultMutated bool
	// BadArgs, when not empty, says why a call of the global had
	// arguments [Policy.Judge] cannot accept for it (see
	// [CallsArguments]): a callable that calls one of its arguments was
	// handed something else than a named global, getattr something else
	// than (global, literal name), _load_from_bytes something else than
	// a bytes literal.
	BadArgs string
	// Attrs lists the calls getattr(global, "literal") of builtins.getattr,
	// and Payloads the bytes literals handed to
	// torch.storage._load_from_bytes, the only argument of its calls.
	Attrs    []Attr
	Payloads []Payload
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

// ComputedCall is a call whose callable is neither a global nor a value
// returned by a call of one: a value from the persistent loader, for
// instance.
type ComputedCall struct {
	Offset int64  // offset of the calling opcode
	Op     string // REDUCE, NEWOBJ, NEWOBJ_EX or OBJ
}

// Program is what [Inspect] learns about a pickle without running it.
type Program struct {
	Proto int // highest PROTO seen (0 when absent)
	// End is the offset just past the STOP opcode: where the next pickle
	// of a file starts for a reader that sees the bytes as they are
	// (pickle.loads, or a file object with look-ahead such as open()). 0
	// when that reading fails.
	End int64
	// StreamEnd is where a reader without look-ahead (io.BytesIO, as
	// torch.load reads a zip record or a _load_from_bytes payload) goes
	// on: past the end of the frame holding STOP. It differs from End
	// only for a pickle whose frames are not cut where Python's pickler
	// cuts them. 0 when that reading fails.
	StreamEnd int64
	// Straddle is true when an argument or a text line crosses the end of
	// a FRAME. Python's readers then disagree (a reader without
	// look-ahead drops the rest of the frame and reads the argument from
	// the bytes after it): both readings were walked and their globals
	// merged. Python's pickler never writes such frames.
	Straddle bool
	Ops      int // number of opcodes
	// MaxInt is the size of the longest integer argument: decimal digits
	// of INT and LONG, bytes of LONG1 and LONG4.
	MaxInt  int
	Globals []GlobalRef // every global imported, in stream order
	// Computed lists calls of values that are neither globals nor
	// returned by a call of one.
	Computed []ComputedCall
	// Storages are the keys of the storages the pickle's persistent ids
	// name, in stream order: torch.save's ('storage', type, key,
	// location, numel), whose bytes torch.load reads from the zip record
	// data/<key> beside data.pkl. Only keys written as plain strings are
	// listed.
	Storages []string

	// rewrites are opcodes Load replaces by equivalent ones before
	// running its machine (gopickle reads only the canonical forms).
	rewrites []rewrite
	// fresh is true when Load's machine must be a new one: MEMOIZE
	// numbers its entry by the size of the memo (which a reused machine's
	// memo still holding another pickle's entries would get wrong), and a
	// FRAME may be left open past STOP.
	fresh bool
}

// CallsArguments lists the data constructors that call or instantiate some
// of their positional arguments (by index): such an argument must be a
// named global (judged in its own right, as called) or the call is judged
// dangerous. copyreg._reconstructor(cls, base, state) calls
// base.__new__(cls, state) and base.__init__, numpy's _reconstruct and
// random-state constructors call the class or constructor they are given,
// and torch's _rebuild_from_type_v2(func, new_type, args, state) calls func.
func CallsArguments() map[string][]int {
	out := make(map[string][]int, len(callsArguments))
	for k, v := range callsArguments {
		out[k] = append([]int(nil), v...)
	}
	return out
}

var callsArguments = map[string][]int{
	"copyreg._reconstructor":                         {0, 1},
	"copyreg.__newobj__":                             {0},
	"copyreg.__newobj_ex__":                          {0},
	"torch._tensor._rebuild_from_type_v2":            {0, 1},
	"torch._tensor._rebuild_from_type":               {0, 1},
	"numpy.core.multiarray._reconstruct":             {0},
	"numpy._core.multiarray._reconstruct":            {0},
	"numpy.random._pickle.__randomstate_ctor":        {1},
	"numpy.random._pickle.__generator_ctor":          {1},
	"numpy.random._pickle.__bit_generator_ctor":      {0},
	"numpy.random.__RandomState_ctor":                {},
	"torch._utils._rebuild_wrapper_subclass":         {0},
	"torch._utils._rebuild_device_tensor_from_numpy": {},
}

// stringArgOK lists, for callables of CallsArguments, the argument
// positions that may also be a literal string or None (a name looked up
// in a table, or a default).
var stringArgOK = map[string]bool{
	"numpy.random._pickle.__bit_generator_ctor#0": true,
	"numpy.random._pickle.__randomstate_ctor#0":   true,
	"numpy.random._pickle.__randomstate_ctor#1":   true,
	"numpy.random._pickle.__generator_ctor#0":     true,
	"numpy.random._pickle.__generator_ctor#1":     true,
}

// slot is the abstract value of one stack entry: what the walk knows of a
// Python value without building it. It holds no pointers and is 16 bytes,
// so that a stack of a million values stays small. Literal kinds locate
// their bytes in the data (off, and a 48-bit length made of n, the low 16
// bits, and ref, the high 32); kGlobal and kCall refer to a global by
// index (ref, -1 for none); a tracked kTuple refers to its items in the
// walk's arena (ref, count n).
type slot struct {
	off  int64
	ref  int32
	n    uint16
	kind uint8
	_    uint8
}

const (
	kOther     uint8 = iota // anything: the walk does not know
	kScalar                 // None, bool, int, float: not callable, not a container
	kStr                    // str literal: UTF-8 bytes in the data
	kStrEsc                 // str literal of a STRING opcode: quoted, with escapes (the span is inside the quotes)
	kStrRaw                 // str literal of a UNICODE opcode: raw-unicode-escape text
	kBytes                  // bytes literal
	kByteArray              // bytearray literal
	kLatin1                 // _codecs.encode(text, "latin1"): bytes written as a str literal (the span of the text)
	kTuple                  // tuple; tracked when ref >= 0
	kList
	kDict
	kSet
	kFrozenSet
	kGlobal // a global
	kCall   // a value returned by a call of global ref (or of something else when ref < 0)
	kPersid // a value returned by the persistent loader; ref: a tracked tuple id, or -1
)

// literal returns a slot of kind k for the n bytes at off in the data.
func literal(k uint8, off int64, n int64) slot {
	if n < 0 || n >= 1<<48 {
		return slot{kind: kOther}
	}
	return slot{kind: k, off: off, n: uint16(n), ref: int32(uint32(n >> 16))}
}

// length returns the length of a literal slot's bytes.
func (s slot) length() int64 { return int64(uint32(s.ref))<<16 | int64(s.n) }

func (s slot) isStr() bool { return s.kind == kStr || s.kind == kStrEsc || s.kind == kStrRaw }

// callable reports whether CPython could call the value: literals and
// containers certainly cannot be.
func (s slot) notCallable() bool {
	switch s.kind {
	case kScalar, kStr, kStrEsc, kStrRaw, kBytes, kByteArray, kLatin1, kTuple, kList, kDict, kSet, kFrozenSet:
		return true
	}
	return false
}

// unhashable reports whether the value certainly cannot be a dict key or
// a set item.
func (s slot) unhashable() bool {
	return s.kind == kList || s.kind == kDict || s.kind == kSet || s.kind == kByteArray
}

const (
	maxTrackedString = 512     // longest string kept for STACK_GLOBAL and getattr resolution
	maxTupleItems    = 16      // longest tuple whose items are tracked
	maxArena         = 1 << 20 // tuple items tracked per pickle
	maxAttrs         = 4096    // getattr calls and payloads kept per global
	maxStorages      = 1 << 20 // storage keys kept per pickle
)

// ReadMode says how a Python reader consumes a pickle's bytes; see
// [Program.Straddle].
type readMode uint8

const (
	modeFlat   readMode = iota // pickle.loads, or a file with look-ahead: frames only need to be present
	modeStream                 // io.BytesIO: a read that does not fit in the current frame is taken from after it
)

// Inspect walks the pickle at the start of data as CPython 3.11's C
// unpickler (Modules/_pickle.c) reads it, opcode for opcode, without
// building anything: it checks every length against the bytes present,
// accepts and rejects exactly the texts CPython accepts and rejects (INT
// and LONG in any base with underscores and spaces, PUT and GET indices,
// STRING escapes, UTF-8 of names), follows FRAMEs as both of Python's
// readers do, bounds the stack and the number of open MARKs, finds where
// the pickle ends, and records every global the pickle imports with what
// is done with it. Every import is taken to succeed and every call to
// return an unknown value, so the walk goes as far as any Python process
// could; it stops where CPython certainly stops (a value that is not
// callable called, a MARK missing, ...). Bytes after the STOP opcode are
// ignored (legacy torch files hold several pickles and raw storage bytes
// back to back).
//
// On error the Program is not nil: it lists the globals imported before
// the error (which Python would already have imported and possibly
// called) and its End is 0.
func Inspect(data []byte, lim Limits) (*Program, error) {
	lim = lim.withDefaults()
	flat := inspector{data: data, lim: lim, mode: modeFlat}
	prog, err := flat.walk()
	if !flat.straddle && !flat.stopInFrame {
		if err == nil {
			prog.StreamEnd = prog.End
		}
		return prog, err
	}
	// The two readers disagree: walk the stream reading too and merge.
	stream := inspector{data: data, lim: lim, mode: modeStream}
	sprog, serr := stream.walk()
	prog.Straddle = flat.straddle || stream.straddle
	if serr == nil {
		prog.StreamEnd = sprog.StreamEnd
	}
	seen := map[[3]string]int{}
	for i, g := range prog.Globals {
		seen[[3]string{g.RawModule, g.RawName, strconv.FormatInt(g.Offset, 10)}] = i
	}
	for _, g := range sprog.Globals {
		k := [3]string{g.RawModule, g.RawName, strconv.FormatInt(g.Offset, 10)}
		if i, ok := seen[k]; ok {
			mergeRef(&prog.Globals[i], g)
			continue
		}
		prog.Globals = append(prog.Globals, g)
	}
	prog.Computed = append(prog.Computed, sprog.Computed...)
	if err != nil && serr == nil {
		prog.End = 0
		return prog, nil
	}
	return prog, err
}

// mergeRef adds to a what the other reading learnt of the same reference.
func mergeRef(a *GlobalRef, b GlobalRef) {
	a.Use = max(a.Use, b.Use)
	a.Escaped = a.Escaped || b.Escaped
	a.CalledIndirectly = a.CalledIndirectly || b.CalledIndirectly
	a.Mutated = a.Mutated || b.Mutated
	a.ResultCalled = a.ResultCalled || b.ResultCalled
	a.ResultMutated = a.ResultMutated || b.ResultMutated
	if a.BadArgs == "" {
		a.BadArgs = b.BadArgs
	}
	a.Attrs = append(a.Attrs, b.Attrs...)
	a.Payloads = append(a.Payloads, b.Payloads...)
}

type inspector struct {
	data []byte
	lim  Limits
	mode readMode
	// The reader: pos is the next byte of the stream. In modeStream,
	// [cur, end) is what is left of the current frame's buffer (empty
	// when cur == end == pos); in modeFlat, frameEnd is the end of the
	// last FRAME (for detecting straddles only).
	pos, cur, end int
	frameEnd      int
	straddle      bool
	stopInFrame   bool

	prog   Program
	stack  []slot
	marks  []int
	arena  []slot // items of tracked tuples
	byName map[[2]string]int32
	// The memo: entries 0..len(memo)-1, written in order as Python's
	// pickler does, in a slice; entries written out of order in memoX,
	// whose keys are all >= len(memo).
	memo  []slot
	memoX map[uint64]slot
}

// read returns the next n bytes as the reader of the walk's mode would.
func (in *inspector) read(start int, op string, n uint64) ([]byte, int, error) {
	if in.mode == modeStream && in.cur < in.end {
		if n <= uint64(in.end-in.cur) {
			at := in.cur
			in.cur += int(n)
			return in.data[at:in.cur], at, nil
		}
		// CPython reads the whole argument from the file, after the
		// frame: the rest of the frame is lost.
		in.straddle = true
		in.cur, in.end = in.pos, in.pos
	}
	left := uint64(len(in.data) - in.pos)
	if n > left {
		return nil, 0, errorf(ErrTruncated, start, op, "argument needs %d bytes, only %d left", n, left)
	}
	at := in.pos
	in.pos += int(n)
	if in.mode == modeStream {
		in.cur, in.end = in.pos, in.pos
	} else if at < in.frameEnd && in.pos > in.frameEnd {
		in.straddle = true
	}
	return in.data[at:in.pos], at, nil
}

// readLine returns the next line, without its '\n', and where it starts.
func (in *inspector) readLine(start int, op string) ([]byte, int, error) {
	if in.mode == modeStream && in.cur < in.end {
		buf := in.data[in.cur:in.end]
		if i := indexNL(buf); i >= 0 {
			at := in.cur
			in.cur += i + 1
			return buf[:i], at, nil
		}
		// CPython calls readline() on the file, after the frame.
		in.straddle = true
		in.cur, in.end = in.pos, in.pos
	}
	rest := in.data[in.pos:]
	i := indexNL(rest)
	if i < 0 {
		return nil, 0, errorf(ErrTruncated, start, op, "line argument has no end of line")
	}
	at := in.pos
	in.pos += i + 1
	if in.mode == modeStream {
		in.cur, in.end = in.pos, in.pos
	} else if at < in.frameEnd && in.pos > in.frameEnd {
		in.straddle = true
	}
	return rest[:i], at, nil
}

func indexNL(b []byte) int { return bytes.IndexByte(b, '\n') }

// frame applies a FRAME of n bytes.
func (in *inspector) frame(start int, n uint64) error {
	if n > 1<<63-1 {
		return errorf(ErrFormat, start, "FRAME", "frame length %d exceeds the maximum", n)
	}
	if in.mode == modeStream {
		if n <= uint64(in.end-in.cur) {
			return nil // inside the current frame: nothing to read
		}
		if in.cur < in.end {
			in.straddle = true
		}
		left := uint64(len(in.data) - in.pos)
		if n > left {
			return errorf(ErrTruncated, start, "FRAME", "frame of %d bytes, only %d left", n, left)
		}
		in.cur = in.pos
		in.pos += int(n)
		in.end = in.pos
		return nil
	}
	left := uint64(len(in.data) - in.pos)
	if n > left {
		return errorf(ErrTruncated, start, "FRAME", "frame of %d bytes, only %d left", n, left)
	}
	in.frameEnd = in.pos + int(n)
	return nil
}

// offset is where the next opcode starts.
func (in *inspector) offset() int {
	if in.mode == modeStream && in.cur < in.end {
		return in.cur
	}
	return in.pos
}

// str returns the bytes of a literal slot.
func (in *inspector) bytesOf(s slot) []byte { return in.data[s.off : s.off+s.length()] }

// text returns the Python text of a string literal slot of at most
// maxTrackedString bytes, and false if it has none.
func (in *inspector) text(s slot) (string, bool) {
	if !s.isStr() || s.length() > maxTrackedString {
		return "", false
	}
	b := in.bytesOf(s)
	switch s.kind {
	case kStrEsc:
		t, ok := decodeEscape(b)
		return string(t), ok
	case kStrRaw:
		return decodeRawUnicodeEscape(b), true
	}
	return string(b), true
}

// readNames reads the two text lines of GLOBAL or INST, a module name and
// a name (of a global or a class): neither empty, both accepted by valid
// (said to be want when not).
func (in *inspector) readNames(start int, name, what string, valid func([]byte) bool, want string) (mod, n []byte, err error) {
	for i, kind := range []string{"module", what} {
		line, _, err := in.readLine(start, name)
		if err != nil {
			return nil, nil, err
		}
		if len(line) == 0 {
			return nil, nil, errorf(ErrTruncated, start, name, "empty %s name", kind)
		}
		if !valid(line) {
			return nil, nil, errorf(ErrFormat, start, name, "%s name is not %s", kind, want)
		}
		if i == 0 {
			mod = line
		} else {
			n = line
		}
	}
	return mod, n, nil
}

// storage records the key of a persistent id tuple ('storage', type, key,
// ...) in Program.Storages.
func (in *inspector) storage(t slot) {
	if t.n < 3 || len(in.prog.Storages) >= maxStorages {
		return
	}
	items := in.arena[t.ref : int(t.ref)+int(t.n)]
	if tag, ok := in.text(items[0]); !ok || tag != "storage" {
		return
	}
	if key, ok := in.text(items[2]); ok {
		in.prog.Storages = append(in.prog.Storages, key)
	}
}

func (in *inspector) walk() (*Program, error) {
	for {
		start := in.offset()
		b, _, err := in.read(start, "", 1)
		if err != nil {
			if start >= len(in.data) {
				return &in.prog, errorf(ErrTruncated, start, "", "no STOP opcode before the end of the data")
			}
			return &in.prog, err
		}
		op := b[0]
		in.prog.Ops++
		if in.prog.Ops > in.lim.MaxOps {
			return &in.prog, errorf(ErrLimit, start, "", "more than %d opcodes", in.lim.MaxOps)
		}
		name := opTable[op].name
		if name == "" {
			return &in.prog, errorf(ErrFormat, start, "", "unknown opcode 0x%02x", op)
		}
		done, err := in.apply(start, op, name)
		if err != nil {
			return &in.prog, err
		}
		if done {
			in.prog.End = int64(in.pos)
			in.prog.StreamEnd = int64(in.pos)
			if in.mode == modeFlat {
				in.stopInFrame = in.pos < in.frameEnd
			} else {
				in.prog.End = int64(in.cur)
			}
			return &in.prog, nil
		}
		if len(in.stack) > in.lim.MaxStack {
			return &in.prog, errorf(ErrLimit, start, name, "stack holds more than %d values", in.lim.MaxStack)
		}
	}
}

var opTable = [256]struct{ name string }{
	'(': {"MARK"}, '.': {"STOP"}, '0': {"POP"}, '1': {"POP_MARK"}, '2': {"DUP"}, 'F': {"FLOAT"},
	'I': {"INT"}, 'J': {"BININT"}, 'K': {"BININT1"}, 'L': {"LONG"}, 'M': {"BININT2"}, 'N': {"NONE"},
	'P': {"PERSID"}, 'Q': {"BINPERSID"}, 'R': {"REDUCE"}, 'S': {"STRING"}, 'T': {"BINSTRING"},
	'U': {"SHORT_BINSTRING"}, 'V': {"UNICODE"}, 'X': {"BINUNICODE"}, 'a': {"APPEND"}, 'b': {"BUILD"},
	'c': {"GLOBAL"}, 'd': {"DICT"}, '}': {"EMPTY_DICT"}, 'e': {"APPENDS"}, 'g': {"GET"}, 'h': {"BINGET"},
	'i': {"INST"}, 'j': {"LONG_BINGET"}, 'l': {"LIST"}, ']': {"EMPTY_LIST"}, 'o': {"OBJ"}, 'p': {"PUT"},
	'q': {"BINPUT"}, 'r': {"LONG_BINPUT"}, 's': {"SETITEM"}, 't': {"TUPLE"}, ')': {"EMPTY_TUPLE"},
	'u': {"SETITEMS"}, 'G': {"BINFLOAT"},
	0x80: {"PROTO"}, 0x81: {"NEWOBJ"}, 0x82: {"EXT1"}, 0x83: {"EXT2"}, 0x84: {"EXT4"}, 0x85: {"TUPLE1"},
	0x86: {"TUPLE2"}, 0x87: {"TUPLE3"}, 0x88: {"NEWTRUE"}, 0x89: {"NEWFALSE"}, 0x8a: {"LONG1"},
	0x8b: {"LONG4"}, 'B': {"BINBYTES"}, 'C': {"SHORT_BINBYTES"}, 0x8c: {"SHORT_BINUNICODE"},
	0x8d: {"BINUNICODE8"}, 0x8e: {"BINBYTES8"}, 0x8f: {"EMPTY_SET"}, 0x90: {"ADDITEMS"},
	0x91: {"FROZENSET"}, 0x92: {"NEWOBJ_EX"}, 0x93: {"STACK_GLOBAL"}, 0x94: {"MEMOIZE"},
	0x95: {"FRAME"}, 0x96: {"BYTEARRAY8"}, 0x97: {"NEXT_BUFFER"}, 0x98: {"READONLY_BUFFER"},
}

// OpName returns the name of a pickle opcode, or "" for an unknown one.
func OpName(op byte) string { return opTable[op].name }

// fixed reads an n-byte little-endian unsigned argument.
func (in *inspector) fixed(start int, op string, n int) (uint64, error) {
	b, _, err := in.read(start, op, uint64(n))
	if err != nil {
		return 0, err
	}
	var x uint64
	for i := n - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x, nil
}

// counted reads a length of lenBytes bytes, then that many bytes.
func (in *inspector) counted(start int, op string, lenBytes int, signed bool) ([]byte, int, error) {
	n, err := in.fixed(start, op, lenBytes)
	if err != nil {
		return nil, 0, err
	}
	if signed && lenBytes == 4 && int32(uint32(n)) < 0 {
		return nil, 0, errorf(ErrFormat, start, op, "negative byte count %d", int32(uint32(n)))
	}
	if lenBytes == 8 && n > 1<<63-1 {
		return nil, 0, errorf(ErrFormat, start, op, "byte count %d exceeds the maximum", n)
	}
	return in.read(start, op, n)
}

func (in *inspector) push(s slot) { in.stack = append(in.stack, s) }

func (in *inspector) fence() int {
	if len(in.marks) > 0 {
		return in.marks[len(in.marks)-1]
	}
	return 0
}

func underflow(in *inspector, start int, op string) error {
	if len(in.marks) > 0 {
		return errorf(ErrFormat, start, op, "unexpected MARK found")
	}
	return errorf(ErrFormat, start, op, "stack underflow")
}

// pop removes n values above the innermost mark.
func (in *inspector) pop(start int, op string, n int) ([]slot, error) {
	if len(in.stack)-in.fence() < n {
		return nil, underflow(in, start, op)
	}
	vals := in.stack[len(in.stack)-n:]
	in.stack = in.stack[:len(in.stack)-n]
	return vals, nil
}

// marker pops the innermost mark and returns its position.
func (in *inspector) marker(start int, op string) (int, error) {
	if len(in.marks) == 0 {
		return 0, errorf(ErrFormat, start, op, "could not find MARK")
	}
	m := in.marks[len(in.marks)-1]
	in.marks = in.marks[:len(in.marks)-1]
	return m, nil
}

// popMark removes the values above the innermost mark and the mark itself.
func (in *inspector) popMark(start int, op string) ([]slot, error) {
	m, err := in.marker(start, op)
	if err != nil {
		return nil, err
	}
	vals := in.stack[m:]
	in.stack = in.stack[:m]
	return vals, nil
}

// top returns the value on top of the stack, above the innermost mark.
func (in *inspector) top(start int, op string) (*slot, error) {
	if len(in.stack) <= in.fence() {
		return nil, underflow(in, start, op)
	}
	return &in.stack[len(in.stack)-1], nil
}

// addGlobal records an import and returns its slot.
func (in *inspector) addGlobal(start int, op, rawModule, rawName string, dynamic bool, ext int32) (slot, error) {
	key := [2]string{rawModule, rawName}
	if !dynamic && ext == 0 {
		if i, ok := in.byName[key]; ok && in.prog.Globals[i].Proto == in.prog.Proto {
			return slot{kind: kGlobal, ref: i}, nil
		}
	}
	if len(in.prog.Globals) >= in.lim.MaxGlobals {
		return slot{}, errorf(ErrLimit, start, op, "more than %d global references", in.lim.MaxGlobals)
	}
	module, name := rawModule, rawName
	if !dynamic && ext == 0 && in.prog.Proto < 3 {
		module, name = python3Name(module, name)
	}
	in.prog.Globals = append(in.prog.Globals, GlobalRef{
		Module: module, Name: name, RawModule: rawModule, RawName: rawName, Offset: int64(start),
		Op: op, Proto: in.prog.Proto, Ext: ext, Dynamic: dynamic,
	})
	i := int32(len(in.prog.Globals) - 1)
	if !dynamic && ext == 0 {
		if in.byName == nil {
			in.byName = map[[2]string]int32{}
		}
		in.byName[key] = i
	}
	return slot{kind: kGlobal, ref: i}, nil
}

// use records that a value is called (or instantiated): a global's use,
// or a call of what a call returned.
func (in *inspector) use(s slot, u Use, start int, op string) {
	switch s.kind {
	case kGlobal:
		g := &in.prog.Globals[s.ref]
		g.Use = max(g.Use, u)
	case kCall:
		if s.ref >= 0 {
			in.prog.Globals[s.ref].ResultCalled = true
		} else {
			in.computed(start, op)
		}
	case kPersid:
		// The persistent loader returns what the id names (a legacy
		// torch file's "module" record returns its class): the globals
		// of a tracked id are called; anything else is computed.
		if s.ref >= 0 && in.markTupleGlobals(s, u) {
			return
		}
		in.computed(start, op)
	default:
		in.computed(start, op)
	}
}

func (in *inspector) computed(start int, op string) {
	if len(in.prog.Computed) < maxAttrs {
		in.prog.Computed = append(in.prog.Computed, ComputedCall{Offset: int64(start), Op: op})
	}
}

// markTupleGlobals marks the globals of a tracked tuple as used with u.
func (in *inspector) markTupleGlobals(t slot, u Use) bool {
	items, ok := in.items(t)
	if !ok {
		return false
	}
	for _, it := range items {
		if it.kind == kGlobal {
			g := &in.prog.Globals[it.ref]
			g.Use = max(g.Use, u)
			g.CalledIndirectly = true
		}
	}
	return true
}

// escape records that values are stored where something else may use
// them: globals among them escape.
func (in *inspector) escape(vals ...slot) {
	for _, s := range vals {
		if s.kind == kGlobal {
			in.prog.Globals[s.ref].Escaped = true
		}
	}
}

// mutate records that a value is changed in place.
func (in *inspector) mutate(s slot) {
	switch s.kind {
	case kGlobal:
		in.prog.Globals[s.ref].Mutated = true
	case kCall:
		if s.ref >= 0 {
			in.prog.Globals[s.ref].ResultMutated = true
		}
	}
}

// items returns the items of a tracked tuple.
func (in *inspector) items(t slot) ([]slot, bool) {
	if t.kind != kTuple && t.kind != kPersid || t.ref < 0 {
		return nil, false
	}
	return in.arena[t.ref : t.ref+int32(t.n)], true
}

// tuple returns the slot of a new tuple of vals.
func (in *inspector) tuple(vals []slot) slot {
	in.escape(vals...)
	if len(vals) == 0 {
		return slot{kind: kTuple, ref: 0, n: 0}
	}
	if len(vals) > maxTupleItems || len(in.arena)+len(vals) > maxArena {
		return slot{kind: kTuple, ref: -1}
	}
	at := len(in.arena)
	in.arena = append(in.arena, vals...)
	return slot{kind: kTuple, ref: int32(at), n: uint16(len(vals))}
}

func (in *inspector) apply(start int, op byte, name string) (bool, error) {
	switch op {
	case '.': // STOP
		v, err := in.pop(start, name, 1)
		if err != nil {
			return false, err
		}
		in.escape(v[0])
		return true, nil
	case 0x80: // PROTO
		p, err := in.fixed(start, name, 1)
		if err != nil {
			return false, err
		}
		if p > 5 {
			return false, errorf(ErrFormat, start, name, "unsupported pickle protocol: %d", p)
		}
		in.prog.Proto = int(p)
	case 0x95: // FRAME
		n, err := in.fixed(start, name, 8)
		if err != nil {
			return false, err
		}
		in.prog.fresh = true
		return false, in.frame(start, n)
	case '(': // MARK
		if len(in.marks) >= in.lim.MaxMarks {
			return false, errorf(ErrLimit, start, name, "more than %d MARKs open at once", in.lim.MaxMarks)
		}
		in.marks = append(in.marks, len(in.stack))
	case '0': // POP
		if len(in.stack) > in.fence() {
			in.stack = in.stack[:len(in.stack)-1]
		} else if len(in.marks) > 0 {
			in.marks = in.marks[:len(in.marks)-1]
		} else {
			return false, underflow(in, start, name)
		}
	case '1': // POP_MARK
		if _, err := in.popMark(start, name); err != nil {
			return false, err
		}
	case '2': // DUP
		s, err := in.top(start, name)
		if err != nil {
			return false, err
		}
		in.push(*s)
	case 'F': // FLOAT
		l, _, err := in.readLine(start, name)
		if err != nil {
			return false, err
		}
		if !pyFloatText(l) {
			return false, errorf(ErrFormat, start, name, "could not convert %q to float", truncate(l))
		}
		in.push(slot{kind: kScalar})
	case 'I', 'L': // INT, LONG
		l, at, err := in.readLine(start, name)
		if err != nil {
			return false, err
		}
		if len(l) == 0 {
			return false, errorf(ErrTruncated, start, name, "empty line")
		}
		ok := false
		if op == 'I' {
			ok = pyIntText(l)
		} else {
			if len(l) > 0 && l[len(l)-1] == 'L' {
				l = l[:len(l)-1]
			}
			ok = len(l) > 0 && pyLongText(l, 0)
		}
		if !ok {
			return false, errorf(ErrFormat, start, name, "could not convert %q to int", truncate(l))
		}
		if in.mode == modeFlat {
			in.canonicalInt(start, op, l, at)
		}
		in.prog.MaxInt = max(in.prog.MaxInt, len(l))
		in.push(slot{kind: kScalar})
	case 'J', 'K', 'M', 'G': // BININT, BININT1, BININT2, BINFLOAT
		n := map[byte]uint64{'J': 4, 'K': 1, 'M': 2, 'G': 8}[op]
		if _, _, err := in.read(start, name, n); err != nil {
			return false, err
		}
		in.push(slot{kind: kScalar})
	case 0x8a, 0x8b: // LONG1, LONG4
		lb := 1
		if op == 0x8b {
			lb = 4
		}
		b, _, err := in.counted(start, name, lb, true)
		if err != nil {
			return false, err
		}
		in.prog.MaxInt = max(in.prog.MaxInt, len(b))
		if len(b) == 0 && in.mode == modeFlat {
			in.rewrite(start, start+1+lb, []byte("K\x00"))
		}
		in.push(slot{kind: kScalar})
	case 'N', 0x88, 0x89: // NONE, NEWTRUE, NEWFALSE
		in.push(slot{kind: kScalar})
	case 'S': // STRING
		l, at, err := in.readLine(start, name)
		if err != nil {
			return false, err
		}
		if len(l) < 2 || l[0] != l[len(l)-1] || (l[0] != '\'' && l[0] != '"') {
			return false, errorf(ErrFormat, start, name, "the STRING opcode argument must be quoted")
		}
		if _, ok := decodeEscape(l[1 : len(l)-1]); !ok {
			return false, errorf(ErrFormat, start, name, "invalid \\x escape or trailing \\ in %q", truncate(l))
		}
		in.push(literal(kStrEsc, int64(at+1), int64(len(l)-2)))
	case 'T', 'U': // BINSTRING, SHORT_BINSTRING: str, decoded with the loader's encoding
		lb := 4
		if op == 'U' {
			lb = 1
		}
		b, at, err := in.counted(start, name, lb, true)
		if err != nil {
			return false, err
		}
		in.push(literal(kStr, int64(at), int64(len(b))))
	case 'V': // UNICODE
		l, at, err := in.readLine(start, name)
		if err != nil {
			return false, err
		}
		if !validRawUnicodeEscape(l) {
			return false, errorf(ErrFormat, start, name, "malformed \\u or \\U escape in %q", truncate(l))
		}
		if in.mode == modeFlat {
			text := decodeRawUnicodeEscape(l)
			in.rewrite(start, at+len(l)+1, append(binary.LittleEndian.AppendUint32([]byte{'X'}, uint32(len(text))), text...))
		}
		in.push(literal(kStrRaw, int64(at), int64(len(l))))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		lb := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op]
		b, at, err := in.counted(start, name, lb, false)
		if err != nil {
			return false, err
		}
		if !validUTF8Surrogates(b) {
			return false, errorf(ErrFormat, start, name, "text is not valid UTF-8")
		}
		in.push(literal(kStr, int64(at), int64(len(b))))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		lb := map[byte]int{'B': 4, 'C': 1, 0x8e: 8, 0x96: 8}[op]
		b, at, err := in.counted(start, name, lb, false)
		if err != nil {
			return false, err
		}
		k := kBytes
		if op == 0x96 {
			k = kByteArray
		}
		in.push(literal(k, int64(at), int64(len(b))))
	case '}':
		in.push(slot{kind: kDict})
	case ']':
		in.push(slot{kind: kList})
	case ')':
		in.push(in.tuple(nil))
	case 0x8f:
		in.push(slot{kind: kSet})
	case 'P': // PERSID
		if _, _, err := in.readLine(start, name); err != nil {
			return false, err
		}
		in.push(slot{kind: kPersid, ref: -1})
	case 'Q': // BINPERSID
		v, err := in.pop(start, name, 1)
		if err != nil {
			return false, err
		}
		in.escape(v[0])
		s := slot{kind: kPersid, ref: -1}
		if v[0].kind == kTuple && v[0].ref >= 0 {
			s.ref, s.n = v[0].ref, v[0].n
			in.storage(v[0])
		}
		in.push(s)
	case 'c': // GLOBAL
		m, n, err := in.readNames(start, name, "global", validUTF8, "valid UTF-8")
		if err != nil {
			return false, err
		}
		g, err := in.addGlobal(start, name, string(m), string(n), false, 0)
		if err != nil {
			return false, err
		}
		in.push(g)
	case 0x93: // STACK_GLOBAL
		v, err := in.pop(start, name, 1)
		if err != nil {
			return false, err
		}
		nm := v[0]
		v, err = in.pop(start, name, 1)
		if err != nil {
			return false, err
		}
		mod := v[0]
		if notStr(mod) || notStr(nm) {
			return false, errorf(ErrFormat, start, name, "STACK_GLOBAL requires str")
		}
		ms, ok1 := in.text(mod)
		ns, ok2 := in.text(nm)
		dynamic := !ok1 || !ok2
		g, err := in.addGlobal(start, name, ms, ns, dynamic, 0)
		if err != nil {
			return false, err
		}
		in.push(g)
	case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
		nb := map[byte]int{0x82: 1, 0x83: 2, 0x84: 4}[op]
		c, err := in.fixed(start, name, nb)
		if err != nil {
			return false, err
		}
		code := int64(c)
		if nb == 4 {
			code = int64(int32(uint32(c)))
		}
		if code <= 0 {
			return false, errorf(ErrFormat, start, name, "EXT specifies code <= 0")
		}
		g, err := in.addGlobal(start, name, extModule, strconv.FormatInt(code, 10), false, int32(code))
		if err != nil {
			return false, err
		}
		in.push(g)
	case 'i': // INST
		m, err := in.marker(start, name)
		if err != nil {
			return false, err
		}
		mod, cls, err := in.readNames(start, name, "class", ascii, "ASCII")
		if err != nil {
			return false, err
		}
		g, err := in.addGlobal(start, name, string(mod), string(cls), false, 0)
		if err != nil {
			return false, err
		}
		args := in.stack[m:]
		in.stack = in.stack[:m]
		in.call(start, name, g, in.tuple(args), UseCall)
	case 'o': // OBJ
		m, err := in.marker(start, name)
		if err != nil {
			return false, err
		}
		if len(in.stack)-m < 1 {
			return false, underflow(in, start, name)
		}
		cls := in.stack[m]
		args := in.stack[m+1:]
		in.stack = in.stack[:m]
		if cls.notCallable() {
			return false, errorf(ErrFormat, start, name, "the class is not callable")
		}
		in.call(start, name, cls, in.tuple(args), UseCall)
	case 'R': // REDUCE
		v, err := in.pop(start, name, 2)
		if err != nil {
			return false, err
		}
		fn, args := v[0], v[1]
		if fn.notCallable() {
			return false, errorf(ErrFormat, start, name, "the value called is not callable")
		}
		if args.kind != kTuple && args.kind != kOther && args.kind != kCall && args.kind != kPersid && args.kind != kGlobal {
			return false, errorf(ErrFormat, start, name, "argument list must be a tuple")
		}
		in.escape(args)
		in.call(start, name, fn, args, UseCall)
	case 0x81, 0x92: // NEWOBJ, NEWOBJ_EX
		n := 2
		if op == 0x92 {
			n = 3
		}
		v, err := in.pop(start, name, n)
		if err != nil {
			return false, err
		}
		cls, args := v[0], v[1]
		if cls.notCallable() {
			return false, errorf(ErrFormat, start, name, "class argument must be a type")
		}
		if args.kind != kTuple && args.kind != kOther && args.kind != kCall && args.kind != kPersid && args.kind != kGlobal {
			return false, errorf(ErrFormat, start, name, "expected an argument tuple")
		}
		if op == 0x92 {
			if kw := v[2]; kw.kind != kDict && kw.kind != kOther && kw.kind != kCall && kw.kind != kPersid && kw.kind != kGlobal {
				return false, errorf(ErrFormat, start, name, "expected a keyword argument dict")
			}
			in.escape(v[2])
		}
		in.escape(args)
		in.call(start, name, cls, args, UseNew)
	case 'b': // BUILD
		if len(in.stack)-in.fence() < 2 {
			return false, underflow(in, start, name)
		}
		state := in.stack[len(in.stack)-1]
		in.stack = in.stack[:len(in.stack)-1]
		inst := in.stack[len(in.stack)-1]
		in.escape(state)
		if inst.notCallable() && inst.kind != kScalar && !(state.kind == kScalar) {
			// A literal has no __setstate__ and no __dict__: only a None
			// state (a scalar we cannot tell from None) goes through.
			if state.kind != kOther && state.kind != kCall && state.kind != kPersid && state.kind != kGlobal {
				return false, errorf(ErrFormat, start, name, "BUILD on a value without __dict__")
			}
		}
		in.mutate(inst)
	case 'a': // APPEND
		if len(in.stack)-1 <= in.fence() {
			return false, underflow(in, start, name)
		}
		v := in.stack[len(in.stack)-1]
		in.stack = in.stack[:len(in.stack)-1]
		if err := in.appendTo(start, name, in.stack[len(in.stack)-1], []slot{v}); err != nil {
			return false, err
		}
	case 'e': // APPENDS
		m, err := in.marker(start, name)
		if err != nil {
			return false, err
		}
		if m > len(in.stack) || m <= in.fence() {
			return false, underflow(in, start, name)
		}
		vals := in.stack[m:]
		in.stack = in.stack[:m]
		if len(vals) > 0 {
			if err := in.appendTo(start, name, in.stack[m-1], vals); err != nil {
				return false, err
			}
		}
	case 's': // SETITEM
		if len(in.stack)-2 <= in.fence() {
			return false, underflow(in, start, name)
		}
		kv := in.stack[len(in.stack)-2:]
		in.stack = in.stack[:len(in.stack)-2]
		if err := in.setItems(start, name, in.stack[len(in.stack)-1], kv); err != nil {
			return false, err
		}
	case 'u': // SETITEMS
		m, err := in.marker(start, name)
		if err != nil {
			return false, err
		}
		if m > len(in.stack) || m <= in.fence() {
			return false, underflow(in, start, name)
		}
		kv := in.stack[m:]
		in.stack = in.stack[:m]
		if len(kv) > 0 {
			if len(kv)%2 != 0 {
				return false, errorf(ErrFormat, start, name, "odd number of items for SETITEMS")
			}
			if err := in.setItems(start, name, in.stack[m-1], kv); err != nil {
				return false, err
			}
		}
	case 0x90: // ADDITEMS
		m, err := in.marker(start, name)
		if err != nil {
			return false, err
		}
		if m > len(in.stack) || m <= in.fence() {
			return false, underflow(in, start, name)
		}
		vals := in.stack[m:]
		in.stack = in.stack[:m]
		if len(vals) > 0 {
			target := in.stack[m-1]
			switch {
			case target.kind == kSet:
				for _, v := range vals {
					if v.unhashable() {
						return false, errorf(ErrFormat, start, name, "unhashable set item")
					}
				}
			case target.notCallable():
				return false, errorf(ErrFormat, start, name, "ADDITEMS on a value without add()")
			default:
				in.mutate(target)
			}
			in.escape(vals...)
		}
	case 'd': // DICT
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		if len(vals)%2 != 0 {
			return false, errorf(ErrFormat, start, name, "odd number of items for DICT")
		}
		for i := 0; i < len(vals); i += 2 {
			if vals[i].unhashable() {
				return false, errorf(ErrFormat, start, name, "unhashable dict key")
			}
		}
		in.escape(vals...)
		in.push(slot{kind: kDict})
	case 'l': // LIST
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		in.escape(vals...)
		in.push(slot{kind: kList})
	case 0x91: // FROZENSET
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		for _, v := range vals {
			if v.unhashable() {
				return false, errorf(ErrFormat, start, name, "unhashable set item")
			}
		}
		in.escape(vals...)
		in.push(slot{kind: kFrozenSet})
	case 't': // TUPLE
		vals, err := in.popMark(start, name)
		if err != nil {
			return false, err
		}
		in.push(in.tuple(vals))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		vals, err := in.pop(start, name, int(op-0x85+1))
		if err != nil {
			return false, err
		}
		in.push(in.tuple(vals))
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		var idx uint64
		switch op {
		case 'g':
			l, at, err := in.readLine(start, name)
			if err != nil {
				return false, err
			}
			if len(l) == 0 {
				return false, errorf(ErrTruncated, start, name, "empty memo index")
			}
			n, ok := pyDecimal(l)
			if !ok {
				return false, errorf(ErrFormat, start, name, "bad memo index %q", truncate(l))
			}
			if n < 0 {
				return false, errorf(ErrFormat, start, name, "memo value not found at index %d", n)
			}
			in.canonicalIndex(start, 'g', l, at, n)
			idx = uint64(n)
		case 'h':
			b, err := in.fixed(start, name, 1)
			if err != nil {
				return false, err
			}
			idx = b
		default:
			b, err := in.fixed(start, name, 4)
			if err != nil {
				return false, err
			}
			idx = b
		}
		s, ok := in.memoGet(idx)
		if !ok {
			return false, errorf(ErrFormat, start, name, "memo value not found at index %d", idx)
		}
		in.push(s)
	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		var idx uint64
		switch op {
		case 'p':
			l, at, err := in.readLine(start, name)
			if err != nil {
				return false, err
			}
			if len(l) == 0 {
				return false, errorf(ErrTruncated, start, name, "empty memo index")
			}
			n, ok := pyDecimal(l)
			if !ok {
				return false, errorf(ErrFormat, start, name, "bad memo index %q", truncate(l))
			}
			if n < 0 {
				return false, errorf(ErrFormat, start, name, "negative PUT argument")
			}
			in.canonicalIndex(start, 'p', l, at, n)
			idx = uint64(n)
		case 'q':
			b, err := in.fixed(start, name, 1)
			if err != nil {
				return false, err
			}
			idx = b
		case 'r':
			b, err := in.fixed(start, name, 4)
			if err != nil {
				return false, err
			}
			idx = b
		default:
			idx = uint64(len(in.memo) + len(in.memoX))
			in.prog.fresh = true
		}
		s, err := in.top(start, name)
		if err != nil {
			return false, err
		}
		in.memoPut(idx, *s)
	case 0x97: // NEXT_BUFFER
		return false, errorf(ErrFormat, start, name, "out-of-band buffer but none given (torch.load gives none)")
	case 0x98: // READONLY_BUFFER
		s, err := in.top(start, name)
		if err != nil {
			return false, err
		}
		switch s.kind {
		case kBytes, kByteArray, kLatin1:
		case kOther, kCall, kPersid, kGlobal:
		default:
			return false, errorf(ErrFormat, start, name, "memoryview of a value that is not bytes-like")
		}
		if s.kind == kByteArray {
			s.kind = kOther
		}
	default:
		return false, errorf(ErrFormat, start, name, "opcode not handled")
	}
	return false, nil
}

// notStr reports whether a value is certainly not a str (STACK_GLOBAL
// requires exact str).
func notStr(s slot) bool {
	switch s.kind {
	case kStr, kStrEsc, kStrRaw, kOther, kCall, kPersid, kGlobal:
		return false
	}
	return true
}

// appendTo applies APPEND(S) of vals to target.
func (in *inspector) appendTo(start int, name string, target slot, vals []slot) error {
	switch target.kind {
	case kList:
	case kOther, kCall, kPersid, kGlobal:
		in.mutate(target)
	default:
		return errorf(ErrFormat, start, name, "%s on a value without append() or extend()", name)
	}
	in.escape(vals...)
	return nil
}

// setItems applies SETITEM(S) of the key/value pairs kv to target.
func (in *inspector) setItems(start int, name string, target slot, kv []slot) error {
	switch target.kind {
	case kDict:
		for i := 0; i < len(kv); i += 2 {
			if kv[i].unhashable() {
				return errorf(ErrFormat, start, name, "unhashable dict key")
			}
		}
	case kList:
		// Valid for integer keys inside the list: not worth telling apart.
	case kOther, kCall, kPersid, kGlobal:
		in.mutate(target)
	default:
		return errorf(ErrFormat, start, name, "%s on a value without item assignment", name)
	}
	in.escape(kv...)
	return nil
}

// call records a call (or instantiation) of fn with args.
func (in *inspector) call(start int, op string, fn, args slot, u Use) {
	in.use(fn, u, start, op)
	out := slot{kind: kCall, ref: -1}
	if fn.kind != kGlobal {
		in.push(out)
		return
	}
	out.ref = fn.ref
	g := &in.prog.Globals[fn.ref]
	full := g.Module + "." + g.Name
	items, tracked := in.items(args)
	switch {
	case full == "builtins.getattr":
		if op != "REDUCE" || !tracked || len(items) != 2 || items[0].kind != kGlobal {
			g.badArgs("getattr called with arguments that are not (a named global, a literal name)")
			break
		}
		attr, ok := in.text(items[1])
		if !ok {
			g.badArgs("getattr called with arguments that are not (a named global, a literal name)")
			break
		}
		target := &in.prog.Globals[items[0].ref]
		target.Use = max(target.Use, UseGetattr)
		if len(g.Attrs) < maxAttrs {
			g.Attrs = append(g.Attrs, Attr{Of: target.Module + "." + target.Name, Name: attr})
		}
	case full == "_codecs.encode" && tracked && len(items) == 2 && items[0].kind == kStr:
		if enc, ok := in.text(items[1]); ok && (enc == "latin1" || enc == "latin-1") {
			out = items[0]
			out.kind = kLatin1
		}
	case full == LoadFromBytes:
		if op != "REDUCE" || !tracked || len(items) != 1 || (items[0].kind != kBytes && items[0].kind != kLatin1) {
			g.badArgs("torch.load of data that is not a bytes literal of the pickle")
			break
		}
		if len(g.Payloads) < maxAttrs {
			g.Payloads = append(g.Payloads, Payload{Offset: items[0].off, Length: items[0].length(), Latin1: items[0].kind == kLatin1})
		}
	default:
		pos, ok := callsArguments[full]
		if !ok {
			break
		}
		for _, p := range pos {
			if !tracked {
				g.badArgs(full + " called with arguments the scan cannot follow")
				break
			}
			if p >= len(items) {
				continue // a default
			}
			a := items[p]
			switch {
			case a.kind == kGlobal:
				t := &in.prog.Globals[a.ref]
				t.Use = max(t.Use, UseCall)
				// numpy hands its bit-generator constructor the name it
				// was given (argument 0, checked here): not indirect.
				if !(p == 1 && t.Module+"."+t.Name == "numpy.random._pickle.__bit_generator_ctor") {
					t.CalledIndirectly = true
				}
			case stringArgOK[full+"#"+strconv.Itoa(p)] && (a.isStr() || a.kind == kScalar):
			default:
				g.badArgs(full + " calls its argument " + strconv.Itoa(p) + ", which is not a named global")
			}
		}
	}
	in.push(out)
}

func (g *GlobalRef) badArgs(why string) {
	if g.BadArgs == "" {
		g.BadArgs = why
	}
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
		// Entries written out of order may now continue the slice.
		for len(in.memoX) > 0 {
			x, ok := in.memoX[uint64(len(in.memo))]
			if !ok {
				break
			}
			delete(in.memoX, uint64(len(in.memo)))
			in.memo = append(in.memo, x)
		}
	default:
		if in.memoX == nil {
			in.memoX = map[uint64]slot{}
		}
		in.memoX[idx] = s
	}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// extModule is the module name under which an EXT opcode's global is
// reported: the registry copyreg.add_extension fills.
const extModule = "copyreg._inverted_registry"

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

// python3Name returns the name Python 3 imports for a name written by
// protocols 0-2 (Lib/_compat_pickle.py: the exact name first, then the
// module).
func python3Name(module, name string) (string, string) {
	if mn, ok := python2Names[[2]string{module, name}]; ok {
		return mn[0], mn[1]
	}
	if m, ok := python2Modules[module]; ok {
		return m, name
	}
	return module, name
}

// hasDot reports whether a global's name walks attributes.
func hasDot(name string) bool { return strings.IndexByte(name, '.') >= 0 }

// rewrite is a replacement of data[at:end] that Load applies.
type rewrite struct {
	at, end int
	repl    []byte
}

func (in *inspector) rewrite(at, end int, repl []byte) {
	if in.mode == modeFlat {
		in.prog.rewrites = append(in.prog.rewrites, rewrite{at, end, repl})
	}
}

// canonicalInt rewrites an INT or LONG whose text is not plain decimal.
func (in *inspector) canonicalInt(start int, op byte, l []byte, at int) {
	s := string(cutNUL(l))
	plain := len(s) > 0
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || i == 0 && s[i] == '-') {
			plain = false
		}
	}
	if plain && (len(s) == 1 || s[0] != '0' || s == "00" || s == "01") && !(len(s) > 1 && s[0] == '-' && s[1] == '0') {
		return
	}
	var v big.Int
	t := strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && pySpace(byte(r)) })
	if _, ok := v.SetString(t, 0); !ok {
		if _, ok := v.SetString(strings.ReplaceAll(strings.TrimLeft(t, "+-0"), "_", ""), 10); !ok {
			v.SetInt64(0)
		}
		if strings.HasPrefix(t, "-") {
			v.Neg(&v)
		}
	}
	text := v.String()
	if op == 'I' && len(l) == 2 && (v.Cmp(big.NewInt(0)) == 0 || v.Cmp(big.NewInt(1)) == 0) {
		text = "0" + text // INT with a 3-byte line is a bool
	}
	in.rewrite(start, at+len(l)+1, []byte(string(op)+text+"\n"))
}

// canonicalIndex rewrites a GET or PUT whose index text is not plain decimal.
func (in *inspector) canonicalIndex(start int, op byte, l []byte, at int, n int64) {
	if in.mode != modeFlat || string(l) == strconv.FormatInt(n, 10) {
		return
	}
	in.rewrite(start, at+len(l)+1, []byte(string(op)+strconv.FormatInt(n, 10)+"\n"))
}
