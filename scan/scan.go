package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/sniff"
)

// Sentinel errors for the categories of problems a file can have.
var (
	// ErrFormat reports bytes no loader reads, or a malformed container.
	ErrFormat = errors.New("not a valid torch.save file")
	// ErrTruncated reports data that ends before what it declares.
	ErrTruncated = errors.New("truncated")
	// ErrBudget reports a file that exceeds the run's [Budget].
	ErrBudget = errors.New("over the scan budget")
)

// Error locates a problem in a file.
type Error struct {
	Path   string // the file
	What   string // the part being read: "zip directory", "archive/data.pkl", "object", ...
	Offset int64  // byte offset in the file (or in the inflated record or payload), or -1
	Err    error  // what is wrong
}

func (e *Error) Error() string {
	where := e.Path
	if e.What != "" {
		where += ": " + e.What
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Budget bounds what one run may spend, whatever the nesting: inflating
// compressed zip records, zip directory entries, pickles walked. One
// Budget is shared by every file, record and nested payload of a run; it
// is safe for concurrent use. A zero field takes its default.
type Budget struct {
	// MaxInflate bounds the bytes inflated from compressed zip records,
	// counted as the data arrives. Default 1 GiB.
	MaxInflate int64
	// MaxZipEntries bounds the zip directory entries read. Default 1<<20.
	MaxZipEntries int64
	// MaxPickles bounds the pickles walked. Default 1<<20.
	MaxPickles int64
	// MaxRecord bounds the bytes one compressed record may inflate to: a
	// record is inflated into memory to be walked. Default 16 MiB
	// (PyTorch never compresses a record; its data.pkl is a few MB at
	// most).
	MaxRecord int64

	inflated, entries, pickles atomic.Int64
}

// Defaults of [Budget].
const (
	DefaultMaxInflate    = 1 << 30
	DefaultMaxZipEntries = 1 << 20
	DefaultMaxPickles    = 1 << 20
	DefaultMaxRecord     = 16 << 20
)

func (b *Budget) maxRecord() int64 {
	if b.MaxRecord > 0 {
		return b.MaxRecord
	}
	return DefaultMaxRecord
}

// take spends n of a counter bounded by limit, and reports whether the
// budget still holds.
func (b *Budget) take(counter *atomic.Int64, limit, n int64) bool {
	return counter.Add(n) <= limit
}

func (b *Budget) maxInflate() int64 {
	if b.MaxInflate > 0 {
		return b.MaxInflate
	}
	return DefaultMaxInflate
}

func (b *Budget) maxEntries() int64 {
	if b.MaxZipEntries > 0 {
		return b.MaxZipEntries
	}
	return DefaultMaxZipEntries
}

func (b *Budget) maxPickles() int64 {
	if b.MaxPickles > 0 {
		return b.MaxPickles
	}
	return DefaultMaxPickles
}

// Options configures a [Scanner].
type Options struct {
	// Policy judges the globals (the zero Policy is the default
	// allowlist).
	Policy pickle.Policy
	// Limits bounds each pickle (see pickle.Limits).
	Limits pickle.Limits
	// Budget is the run's budget; nil for a new default one per Scanner.
	Budget *Budget
}

// Scanner judges the pickles of files by static inspection
// (pickle.Inspect): nothing is ever built from a scanned pickle. It finds
// every pickle some loader would run: each container [sniff] reports (the
// records of a zip archive that hold pickles, whatever their names, the
// five pickles of the legacy torch.save format, pickles back to back in a
// plain file, the members of a tar archive, the pickle a safetensors
// header may also start), and the torch.save payloads of
// torch.storage._load_from_bytes calls nested in any of them. A Scanner
// is safe for concurrent use.
type Scanner struct {
	opt Options
}

// New returns a Scanner.
func New(opt Options) *Scanner {
	if opt.Budget == nil {
		opt.Budget = &Budget{}
	}
	return &Scanner{opt: opt}
}

const (
	maxWhere    = 16   // references listed per global
	maxDistinct = 4096 // distinct globals per file (real checkpoints name a few dozen)
	maxNesting  = 4    // nested _load_from_bytes payloads followed
	maxStarts   = 64   // extra pickle starts explored per stream (readers that disagree)
)

// legacy torch.save pickle names, after the magic number.
var legacyPickles = []string{"protocol", "sys_info", "object", "storage_keys"}

// The legacy magic number 0x1950a86a20f9469cfc6c as protocol 2+ (LONG1)
// and protocol 0-1 (LONG) pickles write it.
var (
	magicLong1 = []byte("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
	magicLong  = []byte("L119547037146038801333356")
)

// result is what scanning one file found.
type result struct {
	path     string
	formats  []string
	pickles  int
	globals  map[string]*agg
	err      error // the first problem that stopped part of the scan
	flagged  error // a reason to call the file dangerous that is not a global (a limit)
	computed int
	parsed   *Parsed // what the file's own bytes parsed to, or nil (see Scanner.Parse)
}

// agg aggregates the imports of one global in a file.
type agg struct {
	module, name string
	dynamic      bool
	verdict      pickle.Verdict
	reason       string
	count        int
	where        []Where
	members      []string // getattr enum members, for the reason
	payloads     int      // _load_from_bytes payloads scanned
	raws         [][2]string
}

// ctx locates the data being scanned in its file.
type ctx struct {
	prefix string // prepended to pickle names: "<outer pickle>@<offset> > " for nested payloads
	depth  int    // nesting of _load_from_bytes payloads
}

func (r *result) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *result) format(depth int, f string) {
	if depth == 0 {
		for _, x := range r.formats {
			if x == f {
				return
			}
		}
		r.formats = append(r.formats, f)
	}
}

func (r *result) errorf(what string, off int64, sentinel error, format string, args ...any) error {
	return &Error{Path: r.path, What: what, Offset: off, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// Path scans the file at path. A problem is recorded in the result, with
// the globals found before it.
func (s *Scanner) Path(path string) File {
	r := newResult(path)
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		r.fail(pathError(path, err))
	case fi.IsDir():
		r.fail(fmt.Errorf("%s: a folder where a file was expected", path))
	case !fi.Mode().IsRegular():
		r.fail(fmt.Errorf("%s: not a regular file (%s)", path, fileKind(fi.Mode())))
	default:
		m, err := mmap.Open(path)
		if err != nil {
			r.fail(pathError(path, err))
			break
		}
		m.AdviseReads(mmap.Random) // a scan reads a few places of the file
		s.scanData(r, fileInput(m, int64(m.Len()), m.Bytes), ctx{})
		m.Close()
	}
	return r.report(s.opt.Policy)
}

// Bytes scans data as the content of a file named name.
func (s *Scanner) Bytes(name string, data []byte) File {
	f, _ := s.Parse(name, data)
	return f
}

// Parsed is what scanning a file's bytes parsed on the way, handed to a
// reader that goes on to load the file (torchsave) so that it does not
// parse the same bytes again. It describes the file's own bytes only,
// not nested payloads.
type Parsed struct {
	// Containers is what sniff.Bytes found in the bytes.
	Containers []sniff.Container
	// Zip is the directory of the zip archive the bytes start with (as
	// archive/zip reads it), or nil.
	Zip *zip.Reader
	// Pickles lists each stored (not compressed) record named .pkl of
	// that archive with pickle.Inspect's result for its bytes under the
	// Scanner's limits (nil where inspection failed).
	Pickles []RecordProgram
}

// RecordProgram is the inspection of the first pickle of a zip record.
type RecordProgram struct {
	Record  string // the record's name in the zip directory
	Program *pickle.Program
}

// Program returns the inspection of the named record's first pickle, or
// nil.
func (p *Parsed) Program(record string) *pickle.Program {
	if p == nil {
		return nil
	}
	for _, rp := range p.Pickles {
		if rp.Record == record {
			return rp.Program
		}
	}
	return nil
}

// Parse is Bytes that also returns what it parsed of data (see Parsed).
func (s *Scanner) Parse(name string, data []byte) (File, *Parsed) {
	return s.parse(name, memoryInput(data))
}

// ParseAt is Parse over the size bytes of a file read with r, for a file
// mapped into memory that should not be touched through its mapping: the
// parts of a zip archive the scan reads (its directory, the records' local
// headers and first bytes, the pickles) are copied with r.ReadAt, and all
// is called for the whole file only where the scan needs more of it in
// place: a file that is not a zip archive (a pickle, a legacy or tar
// file), or a record of more than [CopyLimit] bytes to scan. all must
// return size bytes, those r reads. What is reported is what Parse
// reports for the same bytes.
func (s *Scanner) ParseAt(name string, r io.ReaderAt, size int64, all func() []byte) (File, *Parsed) {
	return s.parse(name, fileInput(r, size, all))
}

func (s *Scanner) parse(name string, in *input) (File, *Parsed) {
	r := newResult(name)
	r.parsed = &Parsed{}
	s.scanData(r, in, ctx{})
	return r.report(s.opt.Policy), r.parsed
}

// CopyLimit is the size up to which [Scanner.ParseAt] copies a zip record
// it scans instead of asking for the whole file.
const CopyLimit = 1 << 20

// copyLimit is CopyLimit, lowered by tests to read records in place.
var copyLimit int64 = CopyLimit

// input is the bytes a scan reads: bytes in memory (data), or a file read
// with r whose bytes in place (all) are asked for only where a copy will
// not do (see [Scanner.ParseAt]).
type input struct {
	r    io.ReaderAt
	size int64
	data []byte        // every byte, when in memory or once asked for
	all  func() []byte // asks for every byte; nil once data is set
}

func memoryInput(data []byte) *input {
	return &input{r: bytes.NewReader(data), size: int64(len(data)), data: data}
}

func fileInput(r io.ReaderAt, size int64, all func() []byte) *input {
	return &input{r: r, size: size, all: all}
}

// bytes returns every byte of the input, asking for them if need be.
func (in *input) bytes() []byte {
	if in.data == nil && in.all != nil {
		in.data, in.all = in.all(), nil
		if int64(len(in.data)) != in.size {
			panic(fmt.Sprintf("scan: %d bytes in place for a file of %d", len(in.data), in.size))
		}
	}
	return in.data
}

// slice returns the n bytes at off, which lie inside the input: in place
// where the bytes are in memory or n is over CopyLimit, else a copy read
// with ReadAt (a short read means the file shrank since it was opened).
func (in *input) slice(off, n int64) ([]byte, error) {
	if in.data != nil || n > copyLimit {
		return in.bytes()[off : off+n], nil
	}
	b := make([]byte, n)
	if k, err := in.r.ReadAt(b, off); int64(k) != n {
		return nil, fmt.Errorf("%d of %d bytes read at offset %d (the file shrank?): %w", k, n, off, errOr(err, io.ErrUnexpectedEOF))
	}
	return b, nil
}

// head returns the first bytes of the n at off, at most max of them,
// without asking for the whole input.
func (in *input) head(off, n, max int64) []byte {
	n = min(n, max)
	if in.data != nil {
		return in.data[off : off+n]
	}
	b := make([]byte, n)
	k, _ := in.r.ReadAt(b, off)
	return b[:k]
}

func errOr(err, or error) error {
	if err != nil && err != io.EOF {
		return err
	}
	return or
}

func newResult(path string) *result {
	return &result{path: path, globals: map[string]*agg{}}
}

// failed returns the report of a path that could not be opened.
func failed(path string, err error) File {
	r := newResult(path)
	r.fail(err)
	return r.report(pickle.Policy{})
}

// pathError formats an error of the file system as "path: what".
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// scanData scans the bytes of a file, or of a nested payload, in every
// container some loader reads them as.
func (s *Scanner) scanData(r *result, in *input, c ctx) {
	what := strings.TrimSuffix(c.prefix, " > ")
	conts := sniff.Sniff(in.r, in.size)
	if c.depth == 0 && r.parsed != nil {
		r.parsed.Containers = conts
	}
	if in.size == 0 {
		r.fail(r.errorf(what, -1, ErrFormat, "empty file"))
		return
	}
	if len(conts) == 0 {
		r.fail(r.errorf(what, 0, ErrFormat, "neither a zip archive nor a pickle (first byte 0x%02x)", in.head(0, 1, 1)))
		return
	}
	only := len(conts) == 1
	for _, k := range conts {
		switch k {
		case sniff.Zip:
			r.format(c.depth, "zip")
			s.scanZip(r, in, c, true)
		case sniff.AppendedZip:
			if c.depth > 0 {
				continue // torch.load of bytes never looks for an appended zip
			}
			r.format(c.depth, "zip")
			s.scanZip(r, in, c, false)
		case sniff.Tar:
			r.format(c.depth, "tar")
			s.scanTar(r, in.bytes(), c)
		case sniff.Safetensors:
			r.format(c.depth, "safetensors")
		case sniff.Pickle:
			s.scanPickles(r, in.bytes(), c, only)
		}
	}
}

// scanPickles scans a plain pickle file (pickles back to back up to the
// end) or a legacy torch.save file (five pickles, then raw storage bytes
// that are not pickles and are not read). alone is false when the bytes
// have another interpretation: then not being a pickle is no error.
func (s *Scanner) scanPickles(r *result, data []byte, c ctx, alone bool) {
	prog, err := s.inspect(r, data)
	if err != nil && len(prog.Globals) == 0 && len(prog.Computed) == 0 && !errors.Is(err, pickle.ErrLimit) {
		var pe *pickle.Error
		if errors.As(err, &pe) && pe.Offset == 0 || !alone {
			if alone {
				r.fail(r.errorf(strings.TrimSuffix(c.prefix, " > "), 0, ErrFormat, "neither a zip archive nor a pickle (first byte 0x%02x)", data[0]))
			}
			return
		}
	}
	if err == nil && isLegacyMagic(data[:prog.End], prog) {
		r.format(c.depth, "legacy")
		s.record(r, data, 0, prog, "magic", c)
		s.sequence(r, data, prog, legacyName, len(legacyPickles), c)
		return
	}
	r.format(c.depth, "pickle")
	s.stream(r, data, 0, func(i int) string { return fmt.Sprintf("pickle %d", i) }, c, nil)
}

func legacyName(i int) string { return legacyPickles[i-2] }

// sequence scans the n pickles that follow the first one (prog) of data,
// named name(2..n+1), from both places Python's readers continue at.
func (s *Scanner) sequence(r *result, data []byte, prog *pickle.Program, name func(int) string, n int, c ctx) {
	type start struct {
		pos int64
		i   int
	}
	seen := map[start]bool{}
	var todo []start
	add := func(p *pickle.Program, i int) {
		for _, e := range []int64{p.End, p.StreamEnd} {
			if e > 0 && !seen[start{e, i}] && len(seen) < maxStarts {
				seen[start{e, i}] = true
				todo = append(todo, start{e, i})
			}
		}
	}
	add(prog, 2)
	for len(todo) > 0 {
		st := todo[0]
		todo = todo[1:]
		if st.i > n+1 {
			continue
		}
		what := c.prefix + name(st.i)
		if st.pos >= int64(len(data)) {
			r.fail(r.errorf(what, st.pos, ErrTruncated, "the file ends before the legacy format's %s pickle", name(st.i)))
			continue
		}
		p, err := s.inspect(r, data[st.pos:])
		s.record(r, data[st.pos:], st.pos, p, name(st.i), c)
		if err != nil {
			r.fail(pickleError(r, what, st.pos, err))
			continue
		}
		add(shift(p, st.pos), st.i+1)
	}
}

// shift returns a copy of p's ends moved by base.
func shift(p *pickle.Program, base int64) *pickle.Program {
	q := &pickle.Program{End: p.End, StreamEnd: p.StreamEnd}
	if q.End > 0 {
		q.End += base
	}
	if q.StreamEnd > 0 {
		q.StreamEnd += base
	}
	return q
}

// stream scans pickles back to back in data (which starts at byte base of
// the file) up to its end, from every place one of Python's readers
// continues at.
// When first is not nil, the inspection of the first pickle is stored
// there if it succeeded.
func (s *Scanner) stream(r *result, data []byte, base int64, name func(int) string, c ctx, first **pickle.Program) {
	type start struct {
		pos int64
		i   int
	}
	seen := map[int64]bool{0: true}
	extra := 0
	todo := []start{{0, 1}}
	for len(todo) > 0 {
		st := todo[0]
		todo = todo[1:]
		if st.pos >= int64(len(data)) {
			continue
		}
		prog, err := s.inspect(r, data[st.pos:])
		if first != nil && st.pos == 0 && err == nil {
			*first = prog
		}
		s.record(r, data[st.pos:], base+st.pos, prog, name(st.i), c)
		if err != nil {
			what := name(st.i)
			if st.i > 1 {
				what += fmt.Sprintf(" (after the end of pickle %d)", st.i-1)
			}
			r.fail(pickleError(r, c.prefix+what, base+st.pos, err))
			continue
		}
		// The next pickle starts where the reader stops; a reader
		// without look-ahead may stop elsewhere (a few such extra starts
		// are followed).
		for k, e := range []int64{prog.End, prog.StreamEnd} {
			if e <= 0 || seen[st.pos+e] {
				continue
			}
			if k == 1 || prog.End <= 0 {
				if extra >= maxStarts {
					continue
				}
				extra++
			}
			seen[st.pos+e] = true
			todo = append(todo, start{st.pos + e, st.i + 1})
		}
	}
}

func (s *Scanner) inspect(r *result, data []byte) (*pickle.Program, error) {
	if !s.opt.Budget.take(&s.opt.Budget.pickles, s.opt.Budget.maxPickles(), 1) {
		return &pickle.Program{}, &pickle.Error{Offset: -1, Msg: fmt.Sprintf("more than %d pickles in this run", s.opt.Budget.maxPickles()), Err: pickle.ErrLimit}
	}
	return pickle.Inspect(data, s.opt.Limits)
}

// pickleError places an error of pickle.Inspect in the file.
func pickleError(r *result, what string, base int64, err error) error {
	var pe *pickle.Error
	if errors.As(err, &pe) && pe.Offset >= 0 {
		msg := pe.Msg
		if pe.Op != "" {
			msg += " (opcode " + pe.Op + ")"
		}
		err = &Error{Path: r.path, What: what, Offset: base + pe.Offset, Err: fmt.Errorf("%w: %s", pe.Err, msg)}
	} else {
		err = &Error{Path: r.path, What: what, Offset: -1, Err: err}
	}
	if errors.Is(err, pickle.ErrLimit) && r.flagged == nil {
		r.flagged = err
	}
	return err
}

// isLegacyMagic reports whether a pickle is the legacy torch.save magic
// number.
func isLegacyMagic(p []byte, prog *pickle.Program) bool {
	return len(prog.Globals) == 0 && len(p) <= 48 && (bytes.Contains(p, magicLong1) || bytes.Contains(p, magicLong))
}

// startsPickle reports whether a record that is not named .pkl is worth
// walking as a pickle: it starts with PROTO, or with an opcode protocols
// 0 and 1 start with.
func startsPickle(b []byte) bool {
	if len(b) >= 2 && b[0] == 0x80 && b[1] <= 5 {
		return true
	}
	return len(b) > 0 && bytes.IndexByte([]byte("(cI]}lLSVNdi)"), b[0]) >= 0
}

// scanZip scans every record of a zip archive that holds a pickle: those
// named .pkl, and any other whose bytes start like one (see dataRecord for
// what of it is scanned). torch.load finds
// data.pkl under the first record's folder, comparing names without case,
// and reads a stored record in place without checking its CRC: every
// record is scanned, whatever its name, and CRCs are not checked either.
func (s *Scanner) scanZip(r *result, in *input, c ctx, torch bool) {
	what := c.prefix + "zip directory"
	zr, err := zip.NewReader(in.r, in.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if !torch {
			return // an end record that leads nowhere: no zip for zipfile either
		}
		r.fail(r.errorf(what, -1, ErrFormat, "%v (truncated or not a zip file)", err))
		return
	}
	if torch && c.depth == 0 && r.parsed != nil {
		r.parsed.Zip = zr
	}
	if !s.opt.Budget.take(&s.opt.Budget.entries, s.opt.Budget.maxEntries(), int64(len(zr.File))) {
		err := r.errorf(what, -1, ErrBudget, "more than %d zip directory entries in this run", s.opt.Budget.maxEntries())
		r.fail(err)
		if r.flagged == nil {
			r.flagged = err
		}
		return
	}
	// The records of a zip file do not overlap, so their stored bytes
	// add up to at most the file's size; a directory whose entries point
	// into the same bytes again and again would make the scan read them
	// again and again.
	var stored int64
	dataPkl := false
	st := &storages{limits: s.opt.Limits}
	for _, zf := range dataPklFirst(zr.File) {
		lower := strings.ToLower(zf.Name)
		pkl := strings.HasSuffix(lower, ".pkl")
		b, base, err := s.zipRecord(r, zf, in, c, pkl)
		if lower == "data.pkl" || strings.HasSuffix(lower, "/data.pkl") {
			dataPkl = true
			if err == nil && b != nil {
				st.pickles = append(st.pickles, storagePickle{dir: lower[:len(lower)-len("data.pkl")], data: b})
			}
		}
		if err != nil {
			if pkl {
				r.fail(err)
			}
			continue
		}
		if b == nil || !pkl && !startsPickle(b) {
			continue
		}
		if base >= 0 {
			stored += int64(len(b))
		}
		if stored > in.size {
			r.fail(r.errorf(c.prefix+"zip record "+zf.Name, base, ErrFormat, "the records overlap: together they hold more bytes than the file"))
			return
		}
		name := zf.Name
		if base < 0 {
			name += " (inflated)"
			base = 0
		}
		if pkl {
			var first **pickle.Program
			if c.depth == 0 && r.parsed != nil && r.parsed.Zip == zr && zf.Method == zip.Store {
				r.parsed.Pickles = append(r.parsed.Pickles, RecordProgram{Record: zf.Name})
				first = &r.parsed.Pickles[len(r.parsed.Pickles)-1].Program
			}
			s.stream(r, b, base, func(i int) string {
				if i == 1 {
					return name
				}
				return fmt.Sprintf("%s #%d", name, i)
			}, c, first)
		} else {
			s.dataRecord(r, b, base, name, c, func() bool { return st.named(zf.Name) })
		}
	}
	if !dataPkl && torch {
		r.fail(r.errorf(what, -1, ErrFormat, "no data.pkl record (not a torch.save zip file)"))
	}
}

// dataPklFirst orders a zip directory's records for scanning: the data.pkl
// records first (torch.save writes them first anyway), so that every
// storage they name is known when the other records are judged, without
// holding any record's bytes for later.
func dataPklFirst(files []*zip.File) []*zip.File {
	out := make([]*zip.File, 0, len(files))
	for pass := 0; pass < 2; pass++ {
		for _, zf := range files {
			lower := strings.ToLower(zf.Name)
			if isData := lower == "data.pkl" || strings.HasSuffix(lower, "/data.pkl"); isData == (pass == 0) {
				out = append(out, zf)
			}
		}
	}
	return out
}

// dataRecord scans a record not named .pkl that starts like a pickle.
// torch.load never unpickles such a record; another loader could, with
// one pickle.load: when the record's first pickle reads to its STOP, that
// pickle is scanned, unless the record holds a tensor storage that a
// data.pkl beside it names (torch.load reads those bytes as numbers, and
// a few bytes of floats can read as a pickle). What follows the first
// pickle is data: reading it would take a second load of the same record,
// which no loader does.
func (s *Scanner) dataRecord(r *result, b []byte, base int64, name string, c ctx, storage func() bool) {
	prog, err := pickle.Inspect(b, s.opt.Limits)
	if err != nil || len(prog.Globals) == 0 && len(prog.Computed) == 0 || storage() {
		return
	}
	s.record(r, b, base, prog, name, c)
}

// storages tells the records of a zip archive that hold tensor storages:
// the records data/<key> beside a data.pkl whose pickle names the storage
// key in a persistent id. The data.pkl pickles are read when first asked
// (rarely: only a record whose first bytes read as a pickle importing
// something needs it).
type storages struct {
	limits  pickle.Limits
	pickles []storagePickle
	names   map[string]bool // lower-case record names; nil until read
}

type storagePickle struct {
	dir  string // the data.pkl record's folder, lower case, with its slash
	data []byte
}

// named reports whether the record name holds a storage a data.pkl names.
func (st *storages) named(name string) bool {
	if st.names == nil {
		st.names = map[string]bool{}
		for _, p := range st.pickles {
			prog, _ := pickle.Inspect(p.data, st.limits)
			for _, k := range prog.Storages {
				st.names[p.dir+"data/"+strings.ToLower(k)] = true
			}
		}
	}
	return st.names[strings.ToLower(name)]
}

// zipRecord returns the bytes of a zip record: a slice of the file for a
// stored record, with its offset in the file; an inflated copy, with
// offset -1, for a compressed one, inflated as the data arrives within
// the run's budget (only for records worth it: .pkl ones, or a first
// block that starts like a pickle).
func (s *Scanner) zipRecord(r *result, zf *zip.File, in *input, c ctx, pkl bool) ([]byte, int64, error) {
	what := c.prefix + "zip record " + zf.Name
	off, err := zf.DataOffset()
	if err != nil {
		return nil, 0, r.errorf(what, -1, ErrFormat, "local header: %v", err)
	}
	switch zf.Method {
	case zip.Store:
		n := int64(zf.CompressedSize64)
		if n < 0 || off < 0 || off > in.size || n > in.size-off {
			return nil, 0, r.errorf(what, off, ErrTruncated, "record of %d bytes runs past the end of the %d-byte file", zf.CompressedSize64, in.size)
		}
		if !pkl && !startsPickle(in.head(off, n, 2)) {
			return nil, off, nil // data, not scanned (see scanZip)
		}
		b, err := in.slice(off, n)
		if err != nil {
			return nil, 0, r.errorf(what, off, ErrTruncated, "%v", err)
		}
		return b, off, nil
	case zip.Deflate:
		raw, err := zf.OpenRaw()
		if err != nil {
			return nil, 0, r.errorf(what, off, ErrFormat, "%v", err)
		}
		fr := flate.NewReader(raw)
		defer fr.Close()
		var src io.Reader = fr
		var buf bytes.Buffer
		if !pkl {
			var head [2]byte
			k, _ := io.ReadFull(fr, head[:])
			if !startsPickle(head[:k]) {
				return nil, -1, nil
			}
			buf.Write(head[:k])
		}
		for {
			var chunk [32 << 10]byte
			k, err := src.Read(chunk[:])
			if k > 0 {
				if !s.opt.Budget.take(&s.opt.Budget.inflated, s.opt.Budget.maxInflate(), int64(k)) {
					e := r.errorf(what, off, ErrBudget, "compressed records inflate to more than %d bytes in this run", s.opt.Budget.maxInflate())
					if r.flagged == nil {
						r.flagged = e
					}
					return nil, 0, e
				}
				if int64(buf.Len()+k) > s.opt.Budget.maxRecord() {
					e := r.errorf(what, off, ErrBudget, "the compressed record inflates to more than %d bytes", s.opt.Budget.maxRecord())
					if r.flagged == nil {
						r.flagged = e
					}
					return nil, 0, e
				}
				buf.Write(chunk[:k])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				// Python's zlib would fail the same way: scan what came.
				if buf.Len() == 0 {
					return nil, 0, r.errorf(what, off, ErrFormat, "inflating: %v", err)
				}
				break
			}
		}
		return buf.Bytes(), -1, nil
	}
	return nil, 0, r.errorf(what, off, ErrFormat, "compression method %d (neither PyTorch nor Python reads it)", zf.Method)
}

// scanTar scans a tar archive as torch.load reads the format of PyTorch <
// 0.4: the pickles of its members "storages", "tensors" and "pickle"
// (and of any other member that starts like a pickle), back to back up to
// the first that fails (the storages and tensors members interleave
// pickles and raw bytes: what follows the raw bytes is not reached).
func (s *Scanner) scanTar(r *result, data []byte, c ctx) {
	tr := tar.NewReader(bytes.NewReader(data))
	for i := 0; i < 1<<16; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.fail(r.errorf(c.prefix+"tar", -1, ErrFormat, "%v", err))
			return
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// The member's bytes lie in place in the archive (no tar
		// compression): find them without copying.
		off, ok := tarFind(data, h)
		if !ok {
			continue
		}
		b := data[off : off+h.Size]
		known := h.Name == "storages" || h.Name == "tensors" || h.Name == "pickle"
		if !known && !startsPickle(b) {
			continue
		}
		name := "tar " + h.Name
		s.tarMember(r, b, off, name, c, h.Name == "pickle")
	}
}

// tarMember scans the pickles of a tar member back to back; only the
// errors of the main "pickle" member are reported.
func (s *Scanner) tarMember(r *result, b []byte, base int64, name string, c ctx, report bool) {
	pos := int64(0)
	for i := 1; pos < int64(len(b)); i++ {
		prog, err := s.inspect(r, b[pos:])
		s.record(r, b[pos:], base+pos, prog, fmt.Sprintf("%s #%d", name, i), c)
		if err != nil {
			if report || len(prog.Globals) > 0 {
				r.fail(pickleError(r, c.prefix+name, base+pos, err))
			}
			return
		}
		pos += prog.End
	}
}

// tarFind walks the 512-byte headers of data to the member h.
func tarFind(data []byte, h *tar.Header) (int64, bool) {
	pos := int64(0)
	for pos+512 <= int64(len(data)) {
		hdr := data[pos : pos+512]
		if bytes.Count(hdr, []byte{0}) == 512 {
			return 0, false
		}
		name := string(bytes.TrimRight(hdr[:100], "\x00"))
		size, ok := octal(hdr[124:136])
		if !ok || size < 0 {
			return 0, false
		}
		start := pos + 512
		if name == h.Name && size == h.Size && start+size <= int64(len(data)) {
			return start, true
		}
		pos = start + (size+511)/512*512
	}
	return 0, false
}

func octal(b []byte) (int64, bool) {
	b = bytes.Trim(b, " \x00")
	var n int64
	for _, c := range b {
		if c < '0' || c > '7' || n > 1<<50 {
			return 0, false
		}
		n = n*8 + int64(c-'0')
	}
	return n, true
}

// record adds the globals of one pickle, at byte base of the file (or
// payload), to the result, and scans the torch.save payloads of its
// _load_from_bytes calls. data starts with the pickle.
func (s *Scanner) record(r *result, data []byte, base int64, prog *pickle.Program, name string, c ctx) {
	r.pickles++
	r.computed += len(prog.Computed)
	for _, cc := range prog.Computed {
		s.add(r, pickle.GlobalRef{Module: "?", Name: "(computed callable)", Offset: cc.Offset, Use: pickle.UseCall},
			pickle.Dangerous, "calls a value that is neither a named global nor returned by one (from the persistent loader or the memo)", base, name, c, true)
	}
	// A payload literal memoized and passed to many calls is scanned
	// once: the nested scans of a pickle then cover its bytes at most
	// once, not once per call.
	var scanned map[pickle.Payload]bool
	for _, g := range prog.Globals {
		v, why := s.opt.Policy.Judge(g)
		a := s.add(r, g, v, why, base, name, c, false)
		if a == nil {
			return
		}
		for _, at := range g.Attrs {
			if v == pickle.Safe && len(a.members) < 8 {
				m := at.Of[strings.LastIndexByte(at.Of, '.')+1:] + "." + at.Name
				if !contains(a.members, m) {
					a.members = append(a.members, m)
				}
			}
		}
		if v == pickle.Safe && len(g.Payloads) > 0 && g.Module+"."+g.Name == pickle.LoadFromBytes {
			if c.depth >= maxNesting {
				a.verdict, a.reason = pickle.Dangerous, fmt.Sprintf("torch.load payloads nested more than %d deep", maxNesting)
				continue
			}
			for _, p := range g.Payloads {
				if !scanned[p] {
					if scanned == nil {
						scanned = map[pickle.Payload]bool{}
					}
					scanned[p] = true
					a.payloads++
					s.scanPayload(r, data, base, p, name, c)
				}
			}
		}
	}
}

// add records one import of a global.
func (s *Scanner) add(r *result, g pickle.GlobalRef, v pickle.Verdict, why string, base int64, name string, c ctx, synthetic bool) *agg {
	module, gname := g.Module, g.Name
	if g.Dynamic {
		module, gname = orUnknown(module), orUnknown(gname)
	}
	key := module + "\x00" + gname
	a := r.globals[key]
	if a == nil && len(r.globals) >= maxDistinct {
		err := r.errorf(c.prefix+name, base+g.Offset, pickle.ErrLimit, "more than %d distinct globals", maxDistinct)
		r.fail(err)
		if r.flagged == nil {
			r.flagged = err
		}
		return nil
	}
	if a == nil {
		a = &agg{module: module, name: gname, dynamic: g.Dynamic || synthetic}
		r.globals[key] = a
	}
	a.count++
	if raw := [2]string{g.RawModule, g.RawName}; !g.Dynamic && !synthetic && len(a.raws) < maxWhere {
		seen := false
		for _, x := range a.raws {
			seen = seen || x == raw
		}
		if !seen {
			a.raws = append(a.raws, raw)
		}
	}
	if len(a.where) < maxWhere {
		a.where = append(a.where, Where{Pickle: c.prefix + name, Offset: base + g.Offset, Use: g.Use.String()})
	}
	if v > a.verdict || a.count == 1 {
		a.verdict, a.reason = v, why
	}
	return a
}

// scanPayload scans the torch.save file a _load_from_bytes call hands to
// torch.load.
func (s *Scanner) scanPayload(r *result, data []byte, base int64, p pickle.Payload, name string, c ctx) {
	b := data[p.Offset : p.Offset+p.Length]
	where := fmt.Sprintf("%s%s@%d", c.prefix, name, base+p.Offset)
	if p.Latin1 {
		var err error
		if b, err = latin1(b); err != nil {
			r.fail(r.errorf(where, base+p.Offset, pickle.ErrFormat, "_load_from_bytes payload: %v", err))
			return
		}
	}
	s.scanData(r, memoryInput(b), ctx{prefix: where + " > ", depth: c.depth + 1})
}

// latin1 returns the bytes that _codecs.encode(text, "latin1") makes of
// UTF-8 text.
func latin1(text []byte) ([]byte, error) {
	out := make([]byte, 0, len(text))
	for len(text) > 0 {
		c, n := utf8.DecodeRune(text)
		if c == utf8.RuneError && n <= 1 {
			return nil, errors.New("text is not valid UTF-8")
		}
		if c > 0xff {
			return nil, fmt.Errorf("character U+%04X is not latin-1", c)
		}
		out = append(out, byte(c))
		text = text[n:]
	}
	return out, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// report turns a scan result into its report form.
func (r *result) report(p pickle.Policy) File {
	f := File{Path: r.path, Format: strings.Join(r.formats, "+"), Pickles: r.pickles, Globals: []Global{}}
	worst := pickle.Safe
	for _, a := range r.globals {
		reason := a.reason
		switch {
		case a.verdict == pickle.Safe && len(a.members) > 0:
			reason = "enum members " + strings.Join(a.members, ", ")
		case a.verdict == pickle.Safe && a.payloads > 0:
			reason = fmt.Sprintf("torch.load of %d embedded torch.save payload(s), scanned", a.payloads)
		}
		g := Global{Module: a.module, Name: a.name, Verdict: a.verdict.String(),
			Count: a.count, Reason: reason, Where: a.where}
		g.raw = a.raws
		f.Globals = append(f.Globals, g)
		worst = max(worst, a.verdict)
	}
	sort.Slice(f.Globals, func(i, j int) bool {
		a, b := f.Globals[i], f.Globals[j]
		if va, vb := rank(a.Verdict, false), rank(b.Verdict, false); va != vb {
			return va > vb
		}
		if a.Module != b.Module {
			return a.Module < b.Module
		}
		return a.Name < b.Name
	})
	unknown := worst == pickle.Unknown
	switch {
	case worst == pickle.Dangerous || r.flagged != nil:
		f.Verdict = "dangerous"
	case unknown && !p.Lenient:
		f.Verdict = "unknown"
	case r.err != nil:
		f.Verdict = "unreadable"
	case unknown:
		f.Verdict = "unknown"
	default:
		f.Verdict = "clean"
	}
	if r.err != nil {
		f.Error = oneLine(r.err.Error())
		if r.flagged != nil && r.flagged != r.err {
			f.Error += "; " + oneLine(r.flagged.Error())
		}
	} else if r.flagged != nil {
		f.Error = oneLine(r.flagged.Error())
	}
	if r.flagged != nil {
		f.Error += " (the rest, which Python would run, was not scanned)"
	}
	return f
}

// oneLine keeps the first line of a message.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
