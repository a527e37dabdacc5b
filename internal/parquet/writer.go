// Package parquet writes flat tables as Apache Parquet files, with the
// standard library only: the one Parquet writer of `series --format
// parquet`, small enough to read and cheap to link (a general Parquet
// library brought 13 MB of code and ~10 ms of package initialisation to
// every command of the CLI).
//
// It writes what every Parquet reader reads: format version 1, one
// column chunk per column and row group, a data page (v1) per chunk,
// PLAIN values, definition levels in the RLE/bit-packing hybrid, strings
// dictionary-encoded (a PLAIN dictionary page, RLE_DICTIONARY indices) and
// annotated UTF-8, each page GZIP-compressed (or not: [Uncompressed]), and
// the null count of each chunk in its statistics. Columns are INT32, INT64,
// DOUBLE or strings, required or optional; there is no nesting.
package parquet

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// Type is a column's type.
type Type int

// The column types.
const (
	Int32  Type = iota + 1 // INT32
	Int64                  // INT64
	Double                 // DOUBLE (IEEE 754 binary64)
	String                 // BYTE_ARRAY annotated STRING (UTF-8), dictionary-encoded
)

func (t Type) String() string {
	switch t {
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Double:
		return "DOUBLE"
	case String:
		return "STRING"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// physical is the Parquet physical type of t (parquet.thrift's Type).
func (t Type) physical() int32 {
	switch t {
	case Int32:
		return 1
	case Int64:
		return 2
	case Double:
		return 5
	}
	return 6 // BYTE_ARRAY
}

// Column describes a column.
type Column struct {
	Name     string
	Type     Type
	Optional bool // values may be null
}

// Codec is how pages are compressed.
type Codec int

// The codecs.
const (
	Gzip         Codec = iota // GZIP, the standard library's deflate at its default level
	Uncompressed              // UNCOMPRESSED
)

// Options are a Writer's settings; the zero value is usable.
type Options struct {
	// CreatedBy names the writing application in the footer, as
	// "<application> version <version> (build <revision>)".
	CreatedBy string
	// RowGroupRows is the number of rows buffered before a row group is
	// written, which bounds the writer's memory; 0 means 65,536.
	RowGroupRows int
	Codec        Codec
}

// Value is one cell: made by [Int], [Float], [Str] or [Null].
type Value struct {
	kind Type // 0 for null; Int64 for any integer
	i    int64
	f    float64
	s    string
}

// Int is an integer cell, for INT32 and INT64 columns.
func Int(v int64) Value { return Value{kind: Int64, i: v} }

// Float is a DOUBLE cell. NaN is a value, not a null.
func Float(v float64) Value { return Value{kind: Double, f: v} }

// Str is a string cell.
func Str(v string) Value { return Value{kind: String, s: v} }

// Null is a null cell, for optional columns.
func Null() Value { return Value{} }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.kind == 0 }

// column is a column's buffered row group.
type column struct {
	Column
	defs   []uint32 // definition level of each row (optional columns)
	nulls  int64
	ints   []int64
	floats []float64
	dict   map[string]uint32
	words  []string // the dictionary, in first-seen order
	idx    []uint32
}

// chunk is what the footer says of a written column chunk.
type chunk struct {
	dictOffset, dataOffset int64
	compressed, raw        int64 // bytes with page headers
	nulls                  int64
}

// group is what the footer says of a written row group.
type group struct {
	rows   int64
	chunks []chunk
}

// Writer writes a Parquet file to an io.Writer: rows with Write, then
// Close for the footer. It is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	off    int64
	err    error
	opt    Options
	cols   []column
	rows   int // in the buffered row group
	total  int64
	groups []group
	page   bytes.Buffer // a page's body, compressed
	gz     *gzip.Writer
	closed bool
}

// NewWriter starts a Parquet file of the given columns on w (it writes
// the leading magic at once). Names must be non-empty and distinct.
func NewWriter(w io.Writer, cols []Column, opt Options) (*Writer, error) {
	if len(cols) == 0 {
		return nil, errors.New("parquet: no columns")
	}
	if opt.RowGroupRows <= 0 {
		opt.RowGroupRows = 1 << 16
	}
	pw := &Writer{w: w, opt: opt, cols: make([]column, len(cols))}
	seen := map[string]bool{}
	for i, c := range cols {
		switch {
		case c.Name == "":
			return nil, fmt.Errorf("parquet: column %d has no name", i)
		case seen[c.Name]:
			return nil, fmt.Errorf("parquet: two columns named %q", c.Name)
		case c.Type < Int32 || c.Type > String:
			return nil, fmt.Errorf("parquet: column %q: unknown type %v", c.Name, c.Type)
		}
		seen[c.Name] = true
		pw.cols[i] = column{Column: c}
		if c.Type == String {
			pw.cols[i].dict = map[string]uint32{}
		}
	}
	pw.write([]byte("PAR1"))
	return pw, pw.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.off += int64(n)
	w.err = err
}

// Write adds a row: a value per column, in the columns' order. A row
// that does not fit the columns (a null in a required column, a string
// in a number's, an integer out of INT32's range, a string that is not
// UTF-8) is refused whole.
func (w *Writer) Write(row []Value) error {
	if w.closed {
		return errors.New("parquet: write after Close")
	}
	if w.err != nil {
		return w.err
	}
	if len(row) != len(w.cols) {
		return fmt.Errorf("parquet: a row of %d values for %d columns", len(row), len(w.cols))
	}
	for i, v := range row {
		c := &w.cols[i]
		switch {
		case v.IsNull() && !c.Optional:
			return fmt.Errorf("parquet: column %q: null in a required column", c.Name)
		case v.IsNull():
		case c.Type == Int32 && v.kind == Int64 && (v.i < math.MinInt32 || v.i > math.MaxInt32):
			return fmt.Errorf("parquet: column %q: %d is out of INT32's range", c.Name, v.i)
		case (c.Type == Int32 || c.Type == Int64) != (v.kind == Int64), (c.Type == Double) != (v.kind == Double):
			return fmt.Errorf("parquet: column %q of type %v: %s", c.Name, c.Type, map[Type]string{Int64: "an integer", Double: "a float", String: "a string"}[v.kind])
		case v.kind == String && !utf8.ValidString(v.s):
			return fmt.Errorf("parquet: column %q: %q is not UTF-8", c.Name, v.s)
		}
	}
	for i, v := range row {
		w.cols[i].add(v)
	}
	w.rows++
	if w.rows >= w.opt.RowGroupRows {
		return w.Flush()
	}
	return nil
}

func (c *column) add(v Value) {
	if c.Optional {
		if v.IsNull() {
			c.defs = append(c.defs, 0)
			c.nulls++
			return
		}
		c.defs = append(c.defs, 1)
	}
	switch c.Type {
	case Int32, Int64:
		c.ints = append(c.ints, v.i)
	case Double:
		c.floats = append(c.floats, v.f)
	case String:
		k, ok := c.dict[v.s]
		if !ok {
			k = uint32(len(c.words))
			c.dict[v.s] = k
			c.words = append(c.words, v.s)
		}
		c.idx = append(c.idx, k)
	}
}

func (c *column) reset() {
	c.defs, c.ints, c.floats, c.idx, c.words = c.defs[:0], c.ints[:0], c.floats[:0], c.idx[:0], c.words[:0]
	c.nulls = 0
	if c.dict != nil {
		clear(c.dict)
	}
}

// Flush writes the buffered rows as a row group (nothing if there are
// none).
func (w *Writer) Flush() error {
	if w.err != nil || w.rows == 0 {
		return w.err
	}
	g := group{rows: int64(w.rows), chunks: make([]chunk, len(w.cols))}
	for i := range w.cols {
		g.chunks[i] = w.writeChunk(&w.cols[i], w.rows)
		w.cols[i].reset()
	}
	if w.err != nil {
		return w.err
	}
	w.groups = append(w.groups, g)
	w.total += int64(w.rows)
	w.rows = 0
	return nil
}

// Page types and encodings of parquet.thrift.
const (
	pageData       = 0
	pageDictionary = 2

	encPlain         = 0
	encRLE           = 3
	encRLEDictionary = 8
)

// writeChunk writes column c's buffered rows as a column chunk.
func (w *Writer) writeChunk(c *column, rows int) chunk {
	ch := chunk{nulls: c.nulls}
	var body []byte
	if c.Type == String {
		for _, s := range c.words {
			body = binary.LittleEndian.AppendUint32(body, uint32(len(s)))
			body = append(body, s...)
		}
		ch.dictOffset = w.off
		w.writePage(&ch, pageDictionary, body, len(c.words), encPlain)
		body = body[:0]
	}
	ch.dataOffset = w.off
	if c.Optional {
		levels := appendHybrid(nil, c.defs, 1)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(levels)))
		body = append(body, levels...)
	}
	enc := int32(encPlain)
	switch c.Type {
	case Int32:
		for _, v := range c.ints {
			body = binary.LittleEndian.AppendUint32(body, uint32(int32(v)))
		}
	case Int64:
		for _, v := range c.ints {
			body = binary.LittleEndian.AppendUint64(body, uint64(v))
		}
	case Double:
		for _, v := range c.floats {
			body = binary.LittleEndian.AppendUint64(body, math.Float64bits(v))
		}
	case String:
		enc = encRLEDictionary
		width := bitWidth(uint32(max(len(c.words), 1) - 1))
		body = append(body, byte(width))
		body = appendHybrid(body, c.idx, width)
	}
	w.writePage(&ch, pageData, body, rows, enc)
	return ch
}

// writePage compresses body and writes it after its page header, counting
// both in ch.
func (w *Writer) writePage(ch *chunk, typ int32, body []byte, values int, enc int32) {
	if w.err != nil {
		return
	}
	if len(body) > math.MaxInt32 || values > math.MaxInt32 {
		w.err = fmt.Errorf("parquet: a page of %d bytes and %d values is too large", len(body), values)
		return
	}
	out := body
	if w.opt.Codec == Gzip {
		w.page.Reset()
		if w.gz == nil {
			w.gz = gzip.NewWriter(&w.page)
		} else {
			w.gz.Reset(&w.page)
		}
		if _, err := w.gz.Write(body); err != nil {
			w.err = err
			return
		}
		if w.err = w.gz.Close(); w.err != nil {
			return
		}
		out = w.page.Bytes()
	}
	if len(out) > math.MaxInt32 {
		w.err = fmt.Errorf("parquet: a compressed page of %d bytes is too large", len(out))
		return
	}
	var h compact
	h.begin()
	h.i32(1, typ)
	h.i32(2, int32(len(body)))
	h.i32(3, int32(len(out)))
	if typ == pageData {
		h.structField(5) // DataPageHeader
		h.i32(1, int32(values))
		h.i32(2, enc)
		h.i32(3, encRLE) // definition levels
		h.i32(4, encRLE) // repetition levels (none: the schema is flat)
		h.end()
	} else {
		h.structField(7) // DictionaryPageHeader
		h.i32(1, int32(values))
		h.i32(2, enc)
		h.end()
	}
	h.end()
	w.write(h.b)
	w.write(out)
	ch.raw += int64(len(h.b) + len(body))
	ch.compressed += int64(len(h.b) + len(out))
}

// Close writes the buffered rows and the footer. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	w.closed = true
	meta := w.footer()
	w.write(meta)
	w.write(binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))
	w.write([]byte("PAR1"))
	return w.err
}

// footer serialises the FileMetaData.
func (w *Writer) footer() []byte {
	var m compact
	m.begin()
	m.i32(1, 1) // format version 1
	m.list(2, tStruct, len(w.cols)+1)
	m.begin() // the root
	m.str(4, "schema")
	m.i32(5, int32(len(w.cols)))
	m.end()
	for _, c := range w.cols {
		m.begin()
		m.i32(1, c.Type.physical())
		rep := int32(0) // REQUIRED
		if c.Optional {
			rep = 1 // OPTIONAL
		}
		m.i32(3, rep)
		m.str(4, c.Name)
		if c.Type == String {
			m.i32(6, 0)       // converted type UTF8
			m.structField(10) // LogicalType
			m.structField(1)  // STRING
			m.end()
			m.end()
		}
		m.end()
	}
	m.i64(3, w.total)
	m.list(4, tStruct, len(w.groups))
	for gi, g := range w.groups {
		var raw, comp int64
		for _, ch := range g.chunks {
			raw += ch.raw
			comp += ch.compressed
		}
		m.begin() // RowGroup
		m.list(1, tStruct, len(g.chunks))
		for i, ch := range g.chunks {
			c := w.cols[i]
			m.begin() // ColumnChunk
			m.i64(2, 0)
			m.structField(3) // ColumnMetaData
			m.i32(1, c.Type.physical())
			encs := []int32{encPlain, encRLE}
			if c.Type == String {
				encs = append(encs, encRLEDictionary)
			}
			m.list(2, tI32, len(encs))
			for _, e := range encs {
				m.i32Value(e)
			}
			m.list(3, tBinary, 1)
			m.strValue(c.Name)
			codec := int32(2) // GZIP
			if w.opt.Codec == Uncompressed {
				codec = 0
			}
			m.i32(4, codec)
			m.i64(5, g.rows)
			m.i64(6, ch.raw)
			m.i64(7, ch.compressed)
			m.i64(9, ch.dataOffset)
			if c.Type == String {
				m.i64(11, ch.dictOffset)
			}
			m.structField(12) // Statistics
			m.i64(3, ch.nulls)
			m.end()
			m.end()
			m.end()
		}
		m.i64(2, raw)
		m.i64(3, g.rows)
		first := g.chunks[0].dataOffset
		if w.cols[0].Type == String {
			first = g.chunks[0].dictOffset
		}
		m.i64(5, first)
		m.i64(6, comp)
		if gi <= math.MaxInt16 {
			m.field(7, tI16) // ordinal
			m.uvarint(zigzag(int64(gi)))
		}
		m.end()
	}
	if w.opt.CreatedBy != "" {
		m.str(6, w.opt.CreatedBy)
	}
	m.end()
	return m.b
}
