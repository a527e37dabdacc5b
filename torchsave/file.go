package torchsave

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/scan"
	"github.com/ckptinspect/ckptinspect/sniff"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Format names the container of a torch.save file.
type Format string

// The formats [Open] recognises.
const (
	FormatZip    Format = "zip"    // PyTorch >= 1.6 (the default)
	FormatLegacy Format = "legacy" // _use_new_zipfile_serialization=False, or PyTorch < 1.6
	FormatPickle Format = "pickle" // a plain pickle without tensors' storages
)

// Options configures [Open].
type Options struct {
	// Limits bounds what a pickle may claim (see pickle.Limits).
	Limits pickle.Limits
	// Policy judges the globals of every pickle of the file as `ckptinspect
	// scan` does; a global it refuses (by default, any not known as data)
	// makes Open fail with pickle.ErrUnsafe.
	Policy pickle.Policy
	// MaxInflate bounds the size of one compressed record inflated into
	// memory. Default 1 GiB.
	MaxInflate int64
	// Budget is the scan budget of the run (see scan.Budget); nil for a
	// new default one per file.
	Budget *scan.Budget

	depth int // nesting of _load_from_bytes payloads
}

const defaultMaxInflate = 1 << 30

// legacyMagic is the first pickle of a legacy torch.save file.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// File is an open torch.save file. Its tensors' bytes stay valid until
// Close.
type File struct {
	Path   string
	Format Format
	// Prefix is the zip records' folder ("archive/", "model/"); empty for
	// other formats.
	Prefix string
	// Version is the zip "version" record, or the legacy protocol version.
	Version string
	// Root is the loaded object: pickle values, with *Tensor for tensors
	// and Size for torch.Size.
	Root any
	// Program is what inspecting the object pickle found (globals, ...).
	Program *pickle.Program
	// Records lists the zip records (empty for other formats).
	Records []Record
	// Warnings lists oddities that did not stop reading.
	Warnings []string

	m        *mmap.File
	at       bool // headers and pickles are read with m.ReadAt, not through the mapping
	touched  bool // bytes were read through the mapping (see inPlace)
	opt      Options
	storages map[string]*Storage // by key (and dtype, for the rare re-typed view)
	legacy   map[string]*Storage // legacy root storages by key
}

// Record is one record of a zip file.
type Record struct {
	Name             string
	Offset           int64 // offset of the record's data in the file
	CompressedSize   int64
	UncompressedSize int64
	Method           uint16 // zip.Store or zip.Deflate
	CRC32            uint32 // from the zip directory
}

// Open maps the file at path read-only and loads its object pickle.
func Open(path string, opt Options) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := newFile(path, m, opt)
	if err != nil {
		m.Close()
		return nil, err
	}
	// A zip file's directory, headers and pickles were read with pread,
	// leaving the mapping untouched. Where they were read through it (a
	// legacy file, a pickle of over a megabyte, no descriptor kept) pages
	// at both ends were touched, and the kernel mapped their neighbours
	// too: drop them from the process, so that a checkpoint of thousands
	// of files does not keep a few pages of each resident. Tensor bytes
	// are read later with pread, or through the mapping a chunk at a time.
	if f.touched {
		m.Advise(0, int64(m.Len()), mmap.DontNeed)
	}
	return f, nil
}

// Parse reads a torch.save file whose bytes are already in memory; name is
// used in errors. The returned File keeps data.
func Parse(name string, data []byte, opt Options) (*File, error) {
	return newFile(name, mmap.FromBytes(name, data), opt)
}

func newFile(path string, m *mmap.File, opt Options) (*File, error) {
	return parseFile(path, m, opt, m.Mapped() && m.ReadsFile())
}

// parseFile reads the file of m; at says whether its headers and pickles
// are read with m.ReadAt (copies) or in place (see File.at).
func parseFile(path string, m *mmap.File, opt Options, at bool) (*File, error) {
	if opt.MaxInflate <= 0 {
		opt.MaxInflate = defaultMaxInflate
	}
	f := &File{Path: path, m: m, opt: opt, storages: map[string]*Storage{}}
	// Touching a fresh mapping costs a page fault per page (and the kernel
	// maps neighbours that must be dropped again), far more than a read of
	// the same bytes in a virtual machine: a mapped file is parsed from
	// copies read with pread wherever it can be. Those reads, in a few
	// places of the file, bring in only their own pages (as first touches
	// of the mapping did): read-ahead there would bring in megabytes no one
	// reads when the file is cold, and cache the beginning of a tensor in
	// small pages ahead of the scan's own read.
	if f.at = at; f.at {
		m.AdviseReads(mmap.Random)
		defer m.AdviseReads(mmap.Sequential)
	}
	if m.Len() == 0 {
		return nil, f.errorf("", -1, ErrFormat, "empty file")
	}
	// Refuse exactly what `ckptinspect scan` flags: every pickle any
	// loader would run, not only the one read here, is judged first.
	parsed, err := f.refuse()
	if err != nil {
		return nil, err
	}
	conts := parsed.Containers
	switch {
	case len(conts) > 0 && conts[0] == sniff.Zip:
		f.Format = FormatZip
		return f, f.openZip(parsed)
	case len(conts) > 0 && conts[0] == sniff.Tar:
		return nil, f.errorf("", 0, ErrUnsupported, "a tar archive (the torch.save format of PyTorch < 0.4): use PyTorch to convert it")
	case !containsContainer(conts, sniff.Pickle):
		return nil, f.errorf("", 0, ErrFormat, "neither a zip archive nor a pickle (first byte 0x%02x)", f.inPlace()[0])
	}
	return f, f.openLegacy()
}

func containsContainer(list []sniff.Container, c sniff.Container) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// refuse scans every pickle of data as `ckptinspect scan` does, and
// returns an error wrapping pickle.ErrUnsafe naming the first global the
// policy refuses (or the limit that stopped the scan); else what the scan
// parsed, for reading the file without parsing it again.
func (f *File) refuse() (*scan.Parsed, error) {
	s := scan.New(scan.Options{Policy: f.opt.Policy, Limits: f.opt.Limits, Budget: f.opt.Budget})
	var rep scan.File
	var parsed *scan.Parsed
	if f.at {
		rep, parsed = s.ParseAt(f.Path, f.m, int64(f.m.Len()), f.inPlace)
	} else {
		rep, parsed = s.Parse(f.Path, f.inPlace())
	}
	return parsed, scan.Refusal(rep, f.opt.Policy)
}

// inPlace returns the file's bytes to be read where they are (through the
// mapping, for a mapped file), noting that they were.
func (f *File) inPlace() []byte {
	f.touched = true
	return f.m.Bytes()
}

// Close unmaps the file. Tensors and storages of f must not be read after.
func (f *File) Close() error {
	if f == nil || f.m == nil {
		return nil
	}
	err := f.m.Close()
	f.m = nil
	return err
}

// Closer returns a function that releases the file's bytes as Close does,
// without holding f: a caller that keeps the tensors' bytes (their views
// and ReaderAt) but not the loaded object can let the rest of f go and
// still close the file later. Calling it and Close both is harmless.
func (f *File) Closer() func() error { return f.m.Close }

// Size returns the file's length in bytes.
func (f *File) Size() int64 { return int64(f.m.Len()) }

// ReaderAt returns a reader of the file's bytes (pread where the file is
// mapped, so reading through it does not fault the mapping's pages in).
// It is valid until Close.
func (f *File) ReaderAt() io.ReaderAt { return f.m }

func (f *File) warnf(format string, args ...any) {
	f.Warnings = append(f.Warnings, fmt.Sprintf(format, args...))
}

// openZip reads the zip archive whose directory the scan parsed (parsed.Zip,
// or parsed again when the scan stopped before it).
func (f *File) openZip(parsed *scan.Parsed) error {
	size := int64(f.m.Len())
	zr := parsed.Zip
	var err error
	if zr == nil {
		zr, err = zip.NewReader(f.m, size)
	}
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrFormat) {
			// The file starts like a zip archive but its directory, at the
			// end, is missing or cut: the file was truncated.
			return f.errorf("zip directory", -1, ErrTruncated, "%v (the file starts as a zip archive but its directory is missing or cut short)", err)
		}
		return f.errorf("zip directory", -1, ErrFormat, "%v", err)
	}
	byName := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, zf := range zr.File {
		if _, dup := byName[zf.Name]; dup {
			return f.errorf("zip directory", -1, ErrFormat, "record %q appears twice", zf.Name)
		}
		byName[zf.Name] = zf
		if zf.Name == "data.pkl" || strings.HasSuffix(zf.Name, "/data.pkl") {
			if pkl == nil || len(zf.Name) < len(pkl.Name) {
				pkl = zf
			}
		}
		off, err := zf.DataOffset()
		if err != nil {
			return f.errorf("zip record "+zf.Name, -1, ErrFormat, "local header: %v", err)
		}
		csize, usize := int64(zf.CompressedSize64), int64(zf.UncompressedSize64)
		if csize < 0 || usize < 0 || off < 0 || off > size || csize > size-off {
			return f.errorf("zip record "+zf.Name, off, ErrTruncated, "record of %d bytes runs past the end of the %d-byte file", zf.CompressedSize64, size)
		}
		if zf.Method != zip.Store && zf.Method != zip.Deflate {
			return f.errorf("zip record "+zf.Name, off, ErrUnsupported, "compression method %d", zf.Method)
		}
		f.Records = append(f.Records, Record{Name: zf.Name, Offset: off, CompressedSize: csize,
			UncompressedSize: usize, Method: zf.Method, CRC32: zf.CRC32})
	}
	if pkl == nil {
		return f.errorf("zip directory", -1, ErrFormat, "no data.pkl record (not a torch.save zip file)")
	}
	f.Prefix = strings.TrimSuffix(pkl.Name, "data.pkl")
	if v, ok := byName[f.Prefix+"version"]; ok {
		if b, err := f.recordBytes(v, 64); err == nil {
			f.Version = strings.TrimSpace(string(b))
		}
	}
	if bo, ok := byName[f.Prefix+"byteorder"]; ok {
		b, err := f.recordBytes(bo, 64)
		if err != nil {
			return err
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return f.errorf("byteorder record", -1, ErrUnsupported, "byte order %q (only little-endian is read)", s)
		}
	}
	pklBytes, err := f.recordBytes(pkl, 1<<30)
	if err != nil {
		return err
	}
	pklOff, _ := pkl.DataOffset()
	var inspected *pickle.Program
	if pkl.Method == zip.Store {
		inspected = parsed.Program(pkl.Name)
	}
	root, prog, err := pickle.Load(pklBytes, pickle.Options{
		Limits:  f.opt.Limits,
		Policy:  f.opt.Policy,
		Program: inspected,
		PersistentLoad: func(pid any) (any, error) {
			return f.zipStorage(pid, byName)
		},
		Resolve: f.resolve,
	})
	f.Program = prog
	if err != nil {
		return f.pickleError(pkl.Name, pklOff, pkl.Method == zip.Store, err)
	}
	f.Root = root
	return nil
}

// pickleError places a pickle error in the file: offsets inside a pickle
// that lies in place in the file become file offsets.
func (f *File) pickleError(what string, base int64, inPlace bool, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	var pe *pickle.Error
	if errors.As(err, &pe) && pe.Offset >= 0 && inPlace {
		msg := pe.Msg
		if pe.Op != "" {
			msg += " (opcode " + pe.Op + ")"
		}
		return f.wrap(what, base+pe.Offset, fmt.Errorf("%w: %s", pe.Err, msg))
	}
	return f.wrap(what, -1, err)
}

// recordBytes returns a record's content when it is stored: a copy read
// with pread (see File.at) of at most scan.CopyLimit bytes, else a slice of
// the mapping; an inflated copy (at most limit bytes) when it is
// compressed.
func (f *File) recordBytes(zf *zip.File, limit int64) ([]byte, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return nil, f.errorf("zip record "+zf.Name, -1, ErrFormat, "local header: %v", err)
	}
	if zf.Method == zip.Store {
		n := int64(zf.UncompressedSize64)
		if n != int64(zf.CompressedSize64) {
			return nil, f.errorf("zip record "+zf.Name, off, ErrFormat, "stored record with compressed size %d != size %d", zf.CompressedSize64, zf.UncompressedSize64)
		}
		if n < 0 || off+n > int64(f.m.Len()) || off+n < off {
			return nil, f.errorf("zip record "+zf.Name, off, ErrTruncated, "record of %d bytes runs past the end of the file", n)
		}
		if !f.at || n > scan.CopyLimit {
			return f.inPlace()[off : off+n], nil
		}
		b := make([]byte, n)
		if k, err := f.m.ReadAt(b, off); int64(k) != n {
			return nil, f.errorf("zip record "+zf.Name, off, ErrTruncated, "%d of its %d bytes read (the file shrank?): %v", k, n, err)
		}
		return b, nil
	}
	usize := int64(zf.UncompressedSize64)
	if usize < 0 || usize > limit || usize > f.opt.MaxInflate {
		return nil, f.errorf("zip record "+zf.Name, off, ErrFormat, "compressed record inflates to %d bytes, over the limit", zf.UncompressedSize64)
	}
	f.warnf("record %s is compressed (PyTorch never writes that): inflated %d bytes into memory", zf.Name, usize)
	rc, err := zf.Open()
	if err != nil {
		return nil, f.errorf("zip record "+zf.Name, off, ErrFormat, "%v", err)
	}
	defer rc.Close()
	buf := make([]byte, usize)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, f.errorf("zip record "+zf.Name, off, ErrFormat, "inflating: %v", err)
	}
	// Reading one byte more makes the zip reader check the CRC-32 and
	// that the record does not hold more than it declared.
	var one [1]byte
	if n, err := rc.Read(one[:]); n != 0 || (err != nil && err != io.EOF) {
		return nil, f.errorf("zip record "+zf.Name, off, ErrFormat, "inflating: %v", errOr(err, "more data than declared"))
	}
	return buf, nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// storagePID is a decoded persistent id of a storage.
type storagePID struct {
	class    string // "FloatStorage", ...
	dtype    tensor.DType
	key      string
	location string
	numel    int64
	view     pickle.Tuple // legacy view metadata, or nil
}

func parsePID(pid any, legacy bool) (*storagePID, error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || len(t) == 0 {
		return nil, fmt.Errorf("persistent id %s is not a tuple", pickle.Repr(pid))
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s (only storages are read)", pickle.Repr(t[0]))
	}
	want := 5
	if legacy {
		want = 6
	}
	if len(t) != want {
		return nil, fmt.Errorf("storage persistent id has %d fields, want %d", len(t), want)
	}
	p := &storagePID{}
	g, ok := t[1].(*pickle.Global)
	if !ok {
		return nil, fmt.Errorf("storage type %s is not a class", pickle.Repr(t[1]))
	}
	p.class = g.Name
	if g.Module != "torch" {
		return nil, fmt.Errorf("storage type %s is not a torch storage class", g)
	}
	if g.Name == "UntypedStorage" {
		p.dtype = tensor.Uint8
	} else if p.dtype, ok = tensor.DTypeOfStorage(g.Name); !ok {
		return nil, fmt.Errorf("unknown storage type %s", g)
	}
	switch k := t[2].(type) {
	case string:
		p.key = k
	case int64:
		p.key = fmt.Sprint(k)
	default:
		return nil, fmt.Errorf("storage key %s is not a string", pickle.Repr(t[2]))
	}
	p.location, _ = t[3].(string)
	n, ok := t[4].(int64)
	if !ok || n < 0 {
		return nil, fmt.Errorf("storage size %s is not a non-negative integer", pickle.Repr(t[4]))
	}
	p.numel = n
	if legacy && t[5] != nil {
		v, ok := t[5].(pickle.Tuple)
		if !ok || len(v) != 3 {
			return nil, fmt.Errorf("storage view metadata %s is not a (key, offset, size) tuple", pickle.Repr(t[5]))
		}
		p.view = v
	}
	return p, nil
}

func (f *File) zipStorage(pid any, byName map[string]*zip.File) (any, error) {
	p, err := parsePID(pid, false)
	if err != nil {
		return nil, err
	}
	cacheKey := p.key + "\x00" + p.dtype.String()
	if s, ok := f.storages[cacheKey]; ok {
		return s, nil
	}
	name := f.Prefix + "data/" + p.key
	zf, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("storage %q: no record %s in the zip file", p.key, name)
	}
	nbytes, ok := mulOK(p.numel, int64(p.dtype.Size()))
	if !ok {
		return nil, fmt.Errorf("storage %q: %d elements of %s overflow", p.key, p.numel, p.dtype)
	}
	off, err := zf.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("storage %q: local header: %v", p.key, err)
	}
	if int64(zf.UncompressedSize64) < nbytes {
		return nil, fmt.Errorf("%w: storage %q: record %s holds %d bytes, but %d %s elements need %d",
			ErrTruncated, p.key, name, zf.UncompressedSize64, p.numel, p.dtype, nbytes)
	}
	s := &Storage{Key: p.key, Class: p.class, DType: p.dtype, Numel: p.numel, Location: p.location,
		Record: name, Offset: off, Size: nbytes, file: f}
	if zf.Method != zip.Store {
		s.Compressed = true
		s.Offset = -1
		s.inflate = func() ([]byte, error) {
			b, err := f.recordBytes(zf, f.opt.MaxInflate)
			if err != nil {
				return nil, err
			}
			return b[:nbytes], nil
		}
	}
	f.storages[cacheKey] = s
	return s, nil
}

func mulOK(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a != 0 && b > math.MaxInt64/a {
		return 0, false
	}
	return a * b, true
}

// openLegacy reads the legacy format: magic, protocol, sys_info, the object
// pickle, the sorted storage keys, then each storage as an int64 element
// count followed by its bytes. A file whose first pickle is not the magic
// number is read as a plain pickle.
func (f *File) openLegacy() error {
	data := f.inPlace()
	pos := int64(0)
	next := func(what string, opt pickle.Options) (any, error) {
		opt.Limits, opt.Policy = f.opt.Limits, f.opt.Policy
		v, prog, err := pickle.Load(data[pos:], opt)
		if err != nil {
			return nil, f.pickleError(what, pos, true, err)
		}
		if what == "object pickle" || what == "pickle" {
			f.Program = prog
		}
		pos += prog.End
		return v, nil
	}
	first, err := next("pickle", pickle.Options{})
	if err != nil {
		if data[0] != 0x80 && !errors.Is(err, pickle.ErrUnsafe) {
			// Not even a pickle of protocol 0 or 1.
			return f.errorf("", 0, ErrFormat, "neither a zip archive nor a pickle (first byte 0x%02x): %v", data[0], errors.Unwrap(err))
		}
		return err
	}
	if !isMagic(first) {
		f.Format = FormatPickle
		// Reload, with tensors understood, in case the pickle holds some.
		pos = 0
		f.Root, err = next("pickle", pickle.Options{
			PersistentLoad: func(any) (any, error) {
				return nil, errors.New("persistent id in a plain pickle (not a torch.save file)")
			},
			Resolve: f.resolve,
		})
		return err
	}
	f.Format = FormatLegacy
	proto, err := next("protocol version", pickle.Options{})
	if err != nil {
		return err
	}
	if p, ok := proto.(int64); !ok || p != 1001 {
		return f.errorf("protocol version", -1, ErrUnsupported, "legacy protocol %s (only 1001 is read)", pickle.Repr(proto))
	}
	f.Version = "1001"
	sysInfo, err := next("sys_info", pickle.Options{})
	if err != nil {
		return err
	}
	if d, ok := sysInfo.(*pickle.Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le == false {
			return f.errorf("sys_info", -1, ErrUnsupported, "big-endian file")
		}
	}
	f.legacy = map[string]*Storage{}
	f.Root, err = next("object pickle", pickle.Options{
		PersistentLoad: f.legacyStorage,
		Resolve:        f.resolve,
	})
	if err != nil {
		return err
	}
	keysAt := pos
	keys, err := next("storage keys", pickle.Options{})
	if err != nil {
		return err
	}
	kl, ok := keys.(*pickle.List)
	if !ok {
		return f.errorf("storage keys", keysAt, ErrFormat, "not a list but %s", pickle.Repr(keys))
	}
	// A key missing from the list would shift every storage after it:
	// name it rather than the element count that then looks wrong.
	listed := make(map[string]bool, len(kl.Items))
	for _, k := range kl.Items {
		if key, ok := k.(string); ok {
			listed[key] = true
		}
	}
	var missing []string
	for key := range f.legacy {
		if !listed[key] {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return f.errorf("storage keys", keysAt, ErrFormat, "storage %s is used by a tensor but missing from the list of storage keys", missing[0])
	}
	for _, k := range kl.Items {
		key, ok := k.(string)
		if !ok {
			return f.errorf("storage keys", keysAt, ErrFormat, "key %s is not a string", pickle.Repr(k))
		}
		s, ok := f.legacy[key]
		if !ok {
			return f.errorf("storage "+key, pos, ErrFormat, "key listed but no tensor uses it")
		}
		if int64(len(data))-pos < 8 {
			return f.errorf("storage "+key, pos, ErrTruncated, "file ends before the storage's element count")
		}
		n := int64(binary.LittleEndian.Uint64(data[pos:]))
		pos += 8
		nbytes, ok := mulOK(n, int64(s.DType.Size()))
		if !ok || n != s.Numel {
			return f.errorf("storage "+key, pos-8, ErrFormat, "element count %d, but the pickle declares %d", n, s.Numel)
		}
		if nbytes > int64(len(data))-pos {
			return f.errorf("storage "+key, pos, ErrTruncated, "%d bytes of data declared, %d left in the file", nbytes, int64(len(data))-pos)
		}
		s.Offset, s.Size = pos, nbytes
		pos += nbytes
	}
	for key, s := range f.legacy {
		if s.Offset < 0 && s.base == nil {
			return f.errorf("storage "+key, -1, ErrFormat, "used by a tensor but missing from the storage list")
		}
	}
	if pos != int64(len(data)) {
		f.warnf("%d bytes after the last storage", int64(len(data))-pos)
	}
	return nil
}

func isMagic(v any) bool {
	switch x := v.(type) {
	case *big.Int:
		return x.Cmp(legacyMagic) == 0
	}
	return false
}

func (f *File) legacyStorage(pid any) (any, error) {
	p, err := parsePID(pid, true)
	if err != nil {
		return nil, err
	}
	root, ok := f.legacy[p.key]
	if !ok {
		if _, ok := mulOK(p.numel, int64(p.dtype.Size())); !ok {
			return nil, fmt.Errorf("storage %q: %d elements of %s overflow", p.key, p.numel, p.dtype)
		}
		root = &Storage{Key: p.key, Class: p.class, DType: p.dtype, Numel: p.numel, Location: p.location,
			Offset: -1, file: f}
		f.legacy[p.key] = root
	} else if root.DType != p.dtype || root.Numel != p.numel {
		return nil, fmt.Errorf("storage %q used as %d %s and as %d %s", p.key, root.Numel, root.DType, p.numel, p.dtype)
	}
	if p.view == nil {
		return root, nil
	}
	vkey, ok1 := p.view[0].(string)
	voff, ok2 := p.view[1].(int64)
	vsize, ok3 := p.view[2].(int64)
	if !ok1 || !ok2 || !ok3 || voff < 0 || vsize < 0 || voff > root.Numel || vsize > root.Numel-voff {
		return nil, fmt.Errorf("storage view %s does not fit storage %q of %d elements", pickle.Repr(p.view), p.key, root.Numel)
	}
	if v, ok := f.storages["view\x00"+vkey]; ok {
		return v, nil
	}
	v := &Storage{Key: vkey, Class: p.class, DType: p.dtype, Numel: vsize, Location: p.location, Offset: -1,
		file: f, base: root, baseOff: voff * int64(p.dtype.Size())}
	f.storages["view\x00"+vkey] = v
	return v, nil
}

// Storages returns every storage the file's tensors use, in file order.
func (f *File) Storages() []*Storage {
	seen := map[*Storage]bool{}
	var out []*Storage
	add := func(s *Storage) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range f.storages {
		add(s)
	}
	for _, s := range f.legacy {
		add(s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].fileOffset() != out[j].fileOffset() {
			return out[i].fileOffset() < out[j].fileOffset()
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Storage is the flat memory of one or more tensors: a byte range of the
// file (or, for a compressed record, of memory).
type Storage struct {
	Key      string       // the storage's key in the file
	Class    string       // the storage class, e.g. "FloatStorage"
	DType    tensor.DType // element type
	Numel    int64        // number of elements
	Location string       // device it was saved from, e.g. "cpu", "cuda:0"
	Record   string       // zip record name, for the zip format
	// Offset is the byte offset of the data in the file, or -1 if the
	// data is not in place (compressed, or a legacy view: see Base).
	Offset     int64
	Size       int64 // bytes: Numel * DType.Size()
	Compressed bool  // the record is compressed and is inflated on first use

	file    *File
	base    *Storage // legacy storage views: the storage viewed
	baseOff int64    // byte offset into base
	inflate func() ([]byte, error)
	once    sync.Once
	mem     []byte
	memErr  error
}

func (s *Storage) fileOffset() int64 {
	if s.base != nil {
		return s.base.fileOffset() + s.baseOff
	}
	return s.Offset
}

// FileOffset returns the byte offset of the storage's data in its file, or
// -1 when the data is not in place.
func (s *Storage) FileOffset() int64 {
	if s.Compressed || (s.base != nil && s.base.Compressed) || s.file.opt.depth > 0 {
		return -1
	}
	return s.fileOffset()
}

// File returns the file the storage belongs to.
func (s *Storage) File() *File { return s.file }

// Bytes returns the storage's raw little-endian bytes. For a stored record
// this is a slice of the read-only mapping and reads nothing; it must not
// be written to or used after the file is closed.
func (s *Storage) Bytes() ([]byte, error) {
	if s.base != nil {
		b, err := s.base.Bytes()
		if err != nil {
			return nil, err
		}
		return b[s.baseOff : s.baseOff+s.Size], nil
	}
	if s.inflate != nil {
		s.once.Do(func() { s.mem, s.memErr = s.inflate() })
		return s.mem, s.memErr
	}
	if s.Offset < 0 {
		return nil, fmt.Errorf("%s: storage %s has no data", s.file.Path, s.Key)
	}
	// A file closed by Close, or by the function Closer returned, has no
	// bytes left.
	if s.file.m == nil || int64(s.file.m.Len()) < s.Offset+s.Size {
		return nil, fmt.Errorf("%s: storage %s read after the file was closed", s.file.Path, s.Key)
	}
	return s.file.m.Bytes()[s.Offset : s.Offset+s.Size], nil
}
