package cli

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// This file is the engine of `ckptinspect scan`: it finds the pickles of a
// file (plain pickles back to back, the five pickles of the legacy
// torch.save format, the .pkl records of a zip file, and the torch.save
// payloads of torch.storage._load_from_bytes calls nested in any of them)
// and judges every global they reference, by static inspection only
// (pickle.Inspect): nothing is ever built from a scanned pickle.

// scanExts are the file name extensions a folder scan picks up.
var scanExts = []string{".pt", ".pth", ".bin", ".pkl", ".ckpt", ".pickle", ".safetensors"}

const (
	maxWhere      = 16      // references listed per global
	maxDistinct   = 4096    // distinct globals per file (real checkpoints name a few dozen)
	maxNesting    = 4       // nested _load_from_bytes payloads followed
	maxInflateRec = 1 << 30 // bytes of compressed .pkl records inflated per file
)

// legacy torch.save pickle names, after the magic number.
var legacyPickles = []string{"protocol", "sys_info", "object", "storage_keys"}

// The legacy magic number 0x1950a86a20f9469cfc6c as protocol 2+ (LONG1)
// and protocol 0-1 (LONG) pickles write it.
var (
	magicLong1 = []byte("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
	magicLong  = []byte("L119547037146038801333356")
)

// scanner judges the globals of files.
type scanner struct {
	policy pickle.Policy
	limits pickle.Limits
}

// scanResult is what scanning one file found.
type scanResult struct {
	path    string
	format  string
	pickles int
	globals map[string]*globalAgg
	err     error // the first problem that stopped part of the scan
}

// globalAgg aggregates the references to one global in a file.
type globalAgg struct {
	module, name string
	verdict      pickle.Verdict
	reason       string
	count        int
	where        []report.ScanWhere
	members      []string // getattr enum members, for the reason
	payloads     int      // _load_from_bytes payloads scanned
}

// scanCtx locates the data being scanned in its file.
type scanCtx struct {
	prefix string // prepended to pickle names: "<outer pickle>@<offset> > " for nested payloads
	depth  int    // nesting of _load_from_bytes payloads
}

func (r *scanResult) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *scanResult) errorf(what string, off int64, sentinel error, format string, args ...any) error {
	return &torchsave.FormatError{Path: r.path, What: what, Offset: off,
		Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// scanFile scans the file at path. A problem is recorded in the result,
// with the globals found before it.
func (s *scanner) scanFile(path string) *scanResult {
	r := &scanResult{path: path, globals: map[string]*globalAgg{}}
	fi, err := os.Stat(path)
	if err != nil {
		r.fail(pathError(path, err))
		return r
	}
	if fi.IsDir() {
		r.fail(fmt.Errorf("%s: a folder where a file was expected", path))
		return r
	}
	if !fi.Mode().IsRegular() {
		r.fail(fmt.Errorf("%s: not a regular file (%s)", path, fileKind(fi.Mode())))
		return r
	}
	m, err := mmap.Open(path)
	if err != nil {
		r.fail(pathError(path, err))
		return r
	}
	defer m.Close()
	s.scanData(r, m.Bytes(), scanCtx{})
	return r
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

// scanData scans the bytes of a file, or of a nested payload.
func (s *scanner) scanData(r *scanResult, data []byte, c scanCtx) {
	what := strings.TrimSuffix(c.prefix, " > ")
	setFormat := func(f string) {
		if c.depth == 0 {
			r.format = f
		}
	}
	switch {
	case len(data) == 0:
		r.fail(r.errorf(what, -1, torchsave.ErrFormat, "empty file"))
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		setFormat(string(torchsave.FormatZip))
		s.scanZip(r, data, c)
	case c.depth == 0 && safetensors.Sniff(data, int64(len(data))):
		// A safetensors file holds no pickle. But torch.load reads any
		// file that is not a zip archive as a pickle, and a safetensors
		// header can start a valid one: judge what that would run.
		setFormat("safetensors")
		if prog, err := s.inspect(data); err != nil && len(prog.Globals) == 0 {
			return
		}
		setFormat("safetensors+pickle")
		s.scanStream(r, data, 0, func(i int) string { return fmt.Sprintf("pickle %d", i) }, c)
	case len(data) > 262 && string(data[257:262]) == "ustar":
		r.fail(r.errorf(what, 257, torchsave.ErrUnsupported, "a tar archive (the torch.save format of PyTorch < 0.4): its pickles are not scanned"))
	default:
		s.scanPickles(r, data, c, setFormat)
	}
}

// scanPickles scans a plain pickle file (pickles back to back up to the
// end) or a legacy torch.save file (five pickles, then raw storage bytes
// that are not pickles and are not read).
func (s *scanner) scanPickles(r *scanResult, data []byte, c scanCtx, setFormat func(string)) {
	prog, err := s.inspect(data)
	first := prog.End
	if err == nil && isLegacyMagic(data[:first], prog) {
		setFormat(string(torchsave.FormatLegacy))
		s.record(r, data, 0, prog, "magic", c)
		pos := first
		for _, name := range legacyPickles {
			if pos >= int64(len(data)) {
				r.fail(r.errorf(c.prefix+name, pos, torchsave.ErrTruncated, "the file ends before the legacy format's %s pickle", name))
				return
			}
			prog, err := s.inspect(data[pos:])
			if !s.record(r, data[pos:], pos, prog, name, c) {
				return
			}
			if err != nil {
				r.fail(s.pickleError(r, c.prefix+name, pos, err))
				return
			}
			pos += prog.End
		}
		return
	}
	var pe *pickle.Error
	if err != nil && errors.As(err, &pe) && pe.Offset == 0 && errors.Is(err, pickle.ErrFormat) && len(prog.Globals) == 0 {
		r.fail(r.errorf(strings.TrimSuffix(c.prefix, " > "), 0, torchsave.ErrFormat, "neither a zip archive nor a pickle (first byte 0x%02x)", data[0]))
		return
	}
	if err == nil {
		setFormat(string(torchsave.FormatPickle))
	}
	s.scanStream(r, data, 0, func(i int) string { return fmt.Sprintf("pickle %d", i) }, c)
}

// scanStream scans pickles back to back in data (which starts at byte
// base of the file) up to its end.
func (s *scanner) scanStream(r *scanResult, data []byte, base int64, name func(int) string, c scanCtx) {
	pos := int64(0)
	for i := 1; pos < int64(len(data)); i++ {
		prog, err := s.inspect(data[pos:])
		if !s.record(r, data[pos:], base+pos, prog, name(i), c) {
			return
		}
		if err != nil {
			what := name(i)
			if i > 1 {
				what += " (after the end of pickle " + fmt.Sprint(i-1) + ")"
			}
			r.fail(s.pickleError(r, c.prefix+what, base+pos, err))
			return
		}
		pos += prog.End
	}
}

func (s *scanner) inspect(data []byte) (*pickle.Program, error) {
	return pickle.Inspect(data, s.limits)
}

// pickleError places an error of pickle.Inspect in the file.
func (s *scanner) pickleError(r *scanResult, what string, base int64, err error) error {
	var pe *pickle.Error
	if errors.As(err, &pe) && pe.Offset >= 0 {
		msg := pe.Msg
		if pe.Op != "" {
			msg += " (opcode " + pe.Op + ")"
		}
		return &torchsave.FormatError{Path: r.path, What: what, Offset: base + pe.Offset, Err: fmt.Errorf("%w: %s", pe.Err, msg)}
	}
	return &torchsave.FormatError{Path: r.path, What: what, Offset: -1, Err: err}
}

// isLegacyMagic reports whether a pickle is the legacy torch.save magic
// number.
func isLegacyMagic(p []byte, prog *pickle.Program) bool {
	return len(prog.Globals) == 0 && len(p) <= 48 && (bytes.Contains(p, magicLong1) || bytes.Contains(p, magicLong))
}

// scanZip scans every record of a zip file whose name ends in .pkl.
func (s *scanner) scanZip(r *scanResult, data []byte, c scanCtx) {
	what := c.prefix + "zip directory"
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrFormat) {
			r.fail(r.errorf(what, -1, torchsave.ErrFormat, "%v (truncated or not a zip file)", err))
		} else {
			r.fail(r.errorf(what, -1, torchsave.ErrFormat, "%v", err))
		}
		return
	}
	// The records of a zip file do not overlap, so their stored bytes
	// add up to at most the file's size; a directory whose entries point
	// into the same bytes again and again would make the scan read them
	// again and again.
	var stored, inflated int64
	n := 0
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".pkl") {
			continue
		}
		n++
		b, base, err := zipRecord(r, zf, data, c, maxInflateRec-inflated)
		if err != nil {
			r.fail(err)
			continue
		}
		if base >= 0 {
			stored += int64(len(b))
		} else {
			inflated += int64(len(b))
		}
		if stored > int64(len(data)) {
			r.fail(r.errorf(c.prefix+"zip record "+zf.Name, base, torchsave.ErrFormat, "the .pkl records overlap: together they hold more bytes than the file"))
			return
		}
		name := zf.Name
		if base < 0 {
			name += " (inflated)"
			base = 0
		}
		s.scanStream(r, b, base, func(i int) string {
			if i == 1 {
				return name
			}
			return fmt.Sprintf("%s #%d", name, i)
		}, c)
	}
	if n == 0 {
		r.fail(r.errorf(what, -1, torchsave.ErrFormat, "no .pkl record, so no data.pkl (not a torch.save zip file)"))
	}
}

// zipRecord returns the bytes of a zip record: a slice of the file for a
// stored record, with its offset in the file; an inflated copy of at most
// limit bytes, with offset -1, for a compressed one.
func zipRecord(r *scanResult, zf *zip.File, data []byte, c scanCtx, limit int64) ([]byte, int64, error) {
	what := c.prefix + "zip record " + zf.Name
	off, err := zf.DataOffset()
	if err != nil {
		return nil, 0, r.errorf(what, -1, torchsave.ErrFormat, "local header: %v", err)
	}
	switch zf.Method {
	case zip.Store:
		n := int64(zf.UncompressedSize64)
		if n != int64(zf.CompressedSize64) {
			return nil, 0, r.errorf(what, off, torchsave.ErrFormat, "stored record with compressed size %d != size %d", zf.CompressedSize64, zf.UncompressedSize64)
		}
		if n < 0 || off < 0 || off > int64(len(data)) || n > int64(len(data))-off {
			return nil, 0, r.errorf(what, off, torchsave.ErrTruncated, "record of %d bytes runs past the end of the %d-byte file", zf.UncompressedSize64, len(data))
		}
		return data[off : off+n], off, nil
	case zip.Deflate:
		rc, err := zf.Open()
		if err != nil {
			return nil, 0, r.errorf(what, off, torchsave.ErrFormat, "%v", err)
		}
		defer rc.Close()
		// Grow with the data actually inflated, not with the size the
		// header claims.
		var buf bytes.Buffer
		n, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
		if err != nil {
			return nil, 0, r.errorf(what, off, torchsave.ErrFormat, "inflating: %v", err)
		}
		if n > limit {
			return nil, 0, r.errorf(what, off, torchsave.ErrFormat, "the .pkl records inflate to more than %d bytes", int64(maxInflateRec))
		}
		return buf.Bytes(), -1, nil
	}
	return nil, 0, r.errorf(what, off, torchsave.ErrUnsupported, "compression method %d", zf.Method)
}

// record adds the globals of one pickle, at byte base of the file (or
// payload), to the result, and scans the torch.save payloads of its
// _load_from_bytes calls. data starts with the pickle. It returns false
// when the file names too many distinct globals to go on.
func (s *scanner) record(r *scanResult, data []byte, base int64, prog *pickle.Program, name string, c scanCtx) bool {
	r.pickles++
	// A payload literal memoized and passed to many calls is scanned
	// once: the nested scans of a pickle then cover its bytes at most
	// once, not once per call.
	scanned := map[pickle.Payload]bool{}
	for _, g := range prog.Globals {
		v, why := s.policy.Judge(g)
		module, gname := g.Module, g.Name
		if g.Dynamic {
			module, gname = orUnknown(module), orUnknown(gname)
		}
		key := module + "\x00" + gname
		a := r.globals[key]
		if a == nil && len(r.globals) >= maxDistinct {
			r.fail(r.errorf(c.prefix+name, base+g.Offset, pickle.ErrLimit, "more than %d distinct globals", maxDistinct))
			return false
		}
		if a == nil {
			a = &globalAgg{module: module, name: gname}
			r.globals[key] = a
		}
		a.count++
		if len(a.where) < maxWhere {
			a.where = append(a.where, report.ScanWhere{Pickle: c.prefix + name, Offset: base + g.Offset, Use: g.Use.String()})
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
				v, why = pickle.Dangerous, fmt.Sprintf("torch.load payloads nested more than %d deep", maxNesting)
			} else {
				for _, p := range g.Payloads {
					if !scanned[p] {
						scanned[p] = true
						a.payloads++
						s.scanPayload(r, data, base, p, name, c)
					}
				}
			}
		}
		if v > a.verdict || a.count == 1 {
			a.verdict, a.reason = v, why
		}
	}
	return true
}

// scanPayload scans the torch.save file a _load_from_bytes call hands to
// torch.load.
func (s *scanner) scanPayload(r *scanResult, data []byte, base int64, p pickle.Payload, name string, c scanCtx) {
	b := data[p.Offset : p.Offset+p.Length]
	where := fmt.Sprintf("%s%s@%d", c.prefix, name, base+p.Offset)
	if p.Latin1 {
		var err error
		if b, err = latin1(b); err != nil {
			r.fail(r.errorf(where, base+p.Offset, pickle.ErrFormat, "_load_from_bytes payload: %v", err))
			return
		}
	}
	s.scanData(r, b, scanCtx{prefix: where + " > ", depth: c.depth + 1})
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

// fileReport turns a scan result into its report form.
func (r *scanResult) fileReport() report.ScanFile {
	f := report.ScanFile{Path: r.path, Format: r.format, Pickles: r.pickles, Globals: []report.ScanGlobal{}}
	worst := pickle.Safe
	for _, a := range r.globals {
		reason := a.reason
		switch {
		case a.verdict == pickle.Safe && len(a.members) > 0:
			reason = "enum members " + strings.Join(a.members, ", ")
		case a.verdict == pickle.Safe && a.payloads > 0:
			reason = fmt.Sprintf("torch.load of %d embedded torch.save payload(s), scanned", a.payloads)
		}
		f.Globals = append(f.Globals, report.ScanGlobal{Module: a.module, Name: a.name, Verdict: a.verdict.String(),
			Count: a.count, Reason: reason, Where: a.where})
		worst = max(worst, a.verdict)
	}
	sort.Slice(f.Globals, func(i, j int) bool {
		a, b := f.Globals[i], f.Globals[j]
		if va, vb := verdictRank(a.Verdict), verdictRank(b.Verdict); va != vb {
			return va > vb
		}
		if a.Module != b.Module {
			return a.Module < b.Module
		}
		return a.Name < b.Name
	})
	switch {
	case worst == pickle.Dangerous:
		f.Verdict = "dangerous"
	case r.err != nil:
		f.Verdict = "unreadable"
	case worst == pickle.Unknown:
		f.Verdict = "unknown"
	default:
		f.Verdict = "clean"
	}
	if r.err != nil {
		f.Error = oneLine(r.err.Error())
	}
	return f
}

func verdictRank(v string) int {
	switch v {
	case "unknown":
		return 1
	case "unreadable":
		return 2
	case "dangerous":
		return 3
	}
	return 0
}

// scanTargets lists the files to scan for the given paths: each file
// given, and the files with a scanned extension under each folder given,
// recursively. Symbolic links to files are followed; symbolic links to
// folders are not (they are reported as skipped), so link loops end.
// Paths that cannot be read become results with their error.
func scanTargets(paths []string) (files []string, failed []*scanResult, skipped []report.ScanSkipped) {
	seen := map[string]bool{}
	addFile := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	addErr := func(p string, err error) {
		if !seen[p] {
			seen[p] = true
			failed = append(failed, &scanResult{path: p, globals: map[string]*globalAgg{}, err: err})
		}
	}
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			addErr(root, pathError(root, err))
			continue
		}
		if !fi.IsDir() {
			addFile(root)
			continue
		}
		walkRoot := root
		if li, err := os.Lstat(root); err == nil && li.Mode()&fs.ModeSymlink != 0 {
			walkRoot = root + string(filepath.Separator) // WalkDir does not follow a symlinked root
		}
		filepath.WalkDir(walkRoot, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				addErr(p, pathError(p, err))
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				ti, err := os.Stat(p)
				switch {
				case err == nil && ti.IsDir():
					skipped = append(skipped, report.ScanSkipped{Path: p, Reason: "symbolic link to a folder: not followed"})
					return nil
				case err != nil && hasScanExt(p):
					addErr(p, pathError(p, err))
					return nil
				case err != nil:
					return nil
				}
			}
			if hasScanExt(p) {
				addFile(p)
			}
			return nil
		})
	}
	return files, failed, skipped
}

func hasScanExt(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return contains(scanExts, ext)
}
