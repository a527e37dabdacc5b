package parquet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	pq "github.com/parquet-go/parquet-go"

	"github.com/ckptinspect/ckptinspect/internal/parquet"
)

// readBack reads a file with parquet-go's reader (an independent
// implementation) and returns its rows as the writer's values.
func readBack(t testing.TB, b []byte, cols []parquet.Column) [][]parquet.Value {
	t.Helper()
	f, err := pq.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("parquet-go cannot open the file: %v", err)
	}
	fields := f.Schema().Fields()
	if len(fields) != len(cols) {
		t.Fatalf("%d columns read back, want %d", len(fields), len(cols))
	}
	for i, fd := range fields {
		c := cols[i]
		want := map[parquet.Type]pq.Kind{parquet.Int32: pq.Int32, parquet.Int64: pq.Int64, parquet.Double: pq.Double, parquet.String: pq.ByteArray}[c.Type]
		isString := fd.Type().LogicalType() != nil && fd.Type().LogicalType().String() == "STRING"
		if fd.Name() != c.Name || fd.Type().Kind() != want || fd.Optional() != c.Optional || isString != (c.Type == parquet.String) {
			t.Fatalf("column %d read back as %s %v optional=%v string=%v, want %+v", i, fd.Name(), fd.Type().Kind(), fd.Optional(), isString, c)
		}
	}
	var out [][]parquet.Value
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]pq.Row, 16)
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				if len(r) != len(cols) {
					t.Fatalf("a row of %d values read back, want %d", len(r), len(cols))
				}
				row := make([]parquet.Value, len(cols))
				for _, v := range r {
					c := v.Column()
					switch {
					case v.IsNull():
						row[c] = parquet.Null()
					case cols[c].Type == parquet.Int32:
						row[c] = parquet.Int(int64(v.Int32()))
					case cols[c].Type == parquet.Int64:
						row[c] = parquet.Int(v.Int64())
					case cols[c].Type == parquet.Double:
						row[c] = parquet.Float(v.Double())
					default:
						row[c] = parquet.Str(string(v.ByteArray()))
					}
				}
				out = append(out, row)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("parquet-go cannot read the rows: %v", err)
			}
		}
		rows.Close()
	}
	if f.NumRows() != int64(len(out)) {
		t.Fatalf("the footer says %d rows, %d read", f.NumRows(), len(out))
	}
	return out
}

// same compares cells bit for bit (a NaN equals itself).
func same(a, b parquet.Value) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() == b.IsNull()
	}
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}

func write(t testing.TB, cols []parquet.Column, rows [][]parquet.Value, opt parquet.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := parquet.NewWriter(&buf, cols, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func check(t testing.TB, cols []parquet.Column, rows [][]parquet.Value, opt parquet.Options) []byte {
	t.Helper()
	b := write(t, cols, rows, opt)
	back := readBack(t, b, cols)
	if len(back) != len(rows) {
		t.Fatalf("%d rows read back, want %d", len(back), len(rows))
	}
	for i := range rows {
		for j := range cols {
			if !same(back[i][j], rows[i][j]) {
				t.Fatalf("row %d column %s: %#v read back, want %#v", i, cols[j].Name, back[i][j], rows[i][j])
			}
		}
	}
	return b
}

var allColumns = []parquet.Column{
	{Name: "step", Type: parquet.Int64},
	{Name: "name", Type: parquet.String},
	{Name: "layer", Type: parquet.Int32, Optional: true},
	{Name: "x", Type: parquet.Double, Optional: true},
	{Name: "y", Type: parquet.Double},
	{Name: "tag", Type: parquet.String, Optional: true},
	{Name: "n", Type: parquet.Int64, Optional: true},
	{Name: "k", Type: parquet.Int32},
}

// table builds n rows over allColumns: names from a pool of distinct
// strings (distinct values past 256 need indices wider than a byte), runs
// of equal values and nulls in the optional columns.
func table(n, distinct int) [][]parquet.Value {
	rows := make([][]parquet.Value, n)
	for i := range rows {
		layer, x, tag, nn := parquet.Int(int64(i%56)), parquet.Float(float64(i)*0.1-3), parquet.Str(fmt.Sprintf("t%d", i/10)), parquet.Int(-int64(i)<<40)
		if i%7 == 3 {
			layer = parquet.Null()
		}
		if i%11 < 3 {
			x = parquet.Null()
		}
		if i%2 == 0 || i > n/2 {
			tag = parquet.Null() // long run of nulls in the second half
		}
		if i%5 == 0 {
			nn = parquet.Null()
		}
		y := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64, 1.5}[i%8]
		rows[i] = []parquet.Value{parquet.Int(int64(i / 3)), parquet.Str(fmt.Sprintf("model.layers.%d.mlp.weight/ü", (i*7919)%distinct)),
			layer, x, parquet.Float(y), tag, nn, parquet.Int([]int64{math.MinInt32, math.MaxInt32, 0, -1}[i%4])}
	}
	return rows
}

// TestRoundTrip writes tables and reads them back with parquet-go: every
// type, nulls, NaN and infinities, dictionaries of 1 to 3,000 strings,
// one and several row groups, both codecs.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		rows, distinct, group int
		codec                 parquet.Codec
	}{
		{1, 1, 0, parquet.Gzip},
		{9, 1, 0, parquet.Uncompressed},
		{100, 3, 0, parquet.Gzip},
		{1000, 300, 64, parquet.Gzip},
		{1000, 300, 7, parquet.Uncompressed},
		{5000, 3000, 0, parquet.Gzip},
		{5000, 2, 1000, parquet.Uncompressed},
	} {
		t.Run(fmt.Sprintf("%d-rows-%d-names-group-%d-codec-%d", tc.rows, tc.distinct, tc.group, tc.codec), func(t *testing.T) {
			rows := table(tc.rows, tc.distinct)
			b := check(t, allColumns, rows, parquet.Options{RowGroupRows: tc.group, Codec: tc.codec, CreatedBy: "ckptinspect version test"})
			f, err := pq.OpenFile(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			group := tc.group
			if group == 0 {
				group = 1 << 16
			}
			if got, want := len(f.RowGroups()), (tc.rows+group-1)/group; got != want {
				t.Errorf("%d row groups, want %d", got, want)
			}
			if m := f.Metadata(); m.CreatedBy != "ckptinspect version test" || m.Version != 1 {
				t.Errorf("created_by %q, version %d", m.CreatedBy, m.Version)
			}
			// The chunks' null counts are the nulls written.
			for gi, rg := range f.Metadata().RowGroups {
				for ci, ch := range rg.Columns {
					var nulls int64
					for i := gi * group; i < min((gi+1)*group, tc.rows); i++ {
						if rows[i][ci].IsNull() {
							nulls++
						}
					}
					if ch.MetaData.Statistics.NullCount != nulls {
						t.Fatalf("row group %d column %d: null count %d, want %d", gi, ci, ch.MetaData.Statistics.NullCount, nulls)
					}
				}
			}
		})
	}
}

// TestEmpty checks that a file without rows is a valid file of no rows.
func TestEmpty(t *testing.T) {
	b := check(t, allColumns, nil, parquet.Options{})
	if !bytes.HasPrefix(b, []byte("PAR1")) || !bytes.HasSuffix(b, []byte("PAR1")) {
		t.Errorf("no magic at both ends: %q", b)
	}
}

// TestCompresses checks that GZIP pages make a repetitive table smaller.
func TestCompresses(t *testing.T) {
	rows := table(3000, 10)
	plain := write(t, allColumns, rows, parquet.Options{Codec: parquet.Uncompressed})
	gz := write(t, allColumns, rows, parquet.Options{})
	if len(gz) >= len(plain)*3/4 {
		t.Errorf("GZIP %d bytes, uncompressed %d", len(gz), len(plain))
	}
}

// TestRefused checks the rows and schemas the writer refuses, and that a
// refused row leaves the file as it was.
func TestRefused(t *testing.T) {
	cols := []parquet.Column{{Name: "a", Type: parquet.Int32}, {Name: "b", Type: parquet.String}, {Name: "c", Type: parquet.Double, Optional: true}}
	for _, tc := range []struct {
		row  []parquet.Value
		want string
	}{
		{[]parquet.Value{parquet.Int(1), parquet.Str("x")}, "a row of 2 values for 3 columns"},
		{[]parquet.Value{parquet.Null(), parquet.Str("x"), parquet.Null()}, `column "a": null in a required column`},
		{[]parquet.Value{parquet.Int(math.MaxInt32 + 1), parquet.Str("x"), parquet.Null()}, "out of INT32's range"},
		{[]parquet.Value{parquet.Int(math.MinInt32 - 1), parquet.Str("x"), parquet.Null()}, "out of INT32's range"},
		{[]parquet.Value{parquet.Float(1), parquet.Str("x"), parquet.Null()}, `column "a" of type INT32: a float`},
		{[]parquet.Value{parquet.Int(1), parquet.Int(2), parquet.Null()}, `column "b" of type STRING: an integer`},
		{[]parquet.Value{parquet.Int(1), parquet.Str("x"), parquet.Str("y")}, `column "c" of type DOUBLE: a string`},
		{[]parquet.Value{parquet.Int(1), parquet.Str("\xff"), parquet.Null()}, `column "b": "\xff" is not UTF-8`},
	} {
		var buf bytes.Buffer
		w, err := parquet.NewWriter(&buf, cols, parquet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		good := []parquet.Value{parquet.Int(7), parquet.Str("ok"), parquet.Float(0.5)}
		if err := w.Write(good); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(tc.row); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Write(%v): %v, want an error saying %q", tc.row, err, tc.want)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if back := readBack(t, buf.Bytes(), cols); len(back) != 1 || !same(back[0][0], good[0]) {
			t.Errorf("after a refused row: %v", back)
		}
		if err := w.Write(good); err == nil {
			t.Error("Write after Close succeeded")
		}
	}
	for _, tc := range []struct {
		cols []parquet.Column
		want string
	}{
		{nil, "no columns"},
		{[]parquet.Column{{Name: "", Type: parquet.Int64}}, "has no name"},
		{[]parquet.Column{{Name: "a", Type: parquet.Int64}, {Name: "a", Type: parquet.Double}}, `two columns named "a"`},
		{[]parquet.Column{{Name: "a"}}, "unknown type"},
	} {
		if _, err := parquet.NewWriter(io.Discard, tc.cols, parquet.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWriter(%v): %v, want an error saying %q", tc.cols, err, tc.want)
		}
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (f *failingWriter) Write(b []byte) (int, error) {
	if len(b) > f.n {
		k := f.n
		f.n = 0
		return k, errors.New("disk full")
	}
	f.n -= len(b)
	return len(b), nil
}

// TestWriteError checks that an error of the underlying writer is
// returned, by Close at the latest, wherever it happens.
func TestWriteError(t *testing.T) {
	rows := table(200, 20)
	size := len(write(t, allColumns, rows, parquet.Options{RowGroupRows: 50}))
	for n := 0; n < size; n += 97 {
		w, err := parquet.NewWriter(&failingWriter{n: n}, allColumns, parquet.Options{RowGroupRows: 50})
		if err != nil {
			continue // the magic did not fit
		}
		for _, r := range rows {
			if err = w.Write(r); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Close()
		}
		if err == nil || err.Error() != "disk full" {
			t.Fatalf("failing after %d of %d bytes: %v", n, size, err)
		}
	}
}
