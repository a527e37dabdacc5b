package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/ckptinspect/ckptinspect/series"
)

// seriesRows measures the bundled run (testdata/series).
func seriesRows(t *testing.T) ([]SeriesCheckpoint, []series.Row) {
	t.Helper()
	s, err := series.Open([]string{"../../testdata/series"}, series.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var cks []SeriesCheckpoint
	for _, c := range s.Checkpoints {
		cks = append(cks, SeriesCheckpoint{Path: c.Path, Step: c.Step, Layout: c.Layout})
	}
	var rows []series.Row
	err = s.Run(context.Background(), func(p series.Part) error {
		rows = append(rows, p.Rows...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cks, rows
}

func write(t *testing.T, format string, cks []SeriesCheckpoint, rows []series.Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewSeriesWriter(&buf, format, cks)
	if err != nil {
		t.Fatal(err)
	}
	// Two calls, as the command writes checkpoint by checkpoint.
	half := len(rows) / 2
	if err := w.WriteRows(rows[:half]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(rows[half:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// same reports whether a written float is the row's: equal, or both
// undefined.
func same(got *float64, want float64) bool {
	if got == nil {
		return math.IsNaN(want)
	}
	return *got == want
}

// parquetBack is a row of `series --format parquet` as parquet-go reads it
// back (its struct tags name the columns).
type parquetBack struct {
	Step           int64    `parquet:"step"`
	Param          string   `parquet:"param"`
	Layer          *int32   `parquet:"layer,optional"`
	Kind           string   `parquet:"kind"`
	State          string   `parquet:"state"`
	Numel          int64    `parquet:"numel"`
	L2             *float64 `parquet:"l2,optional"`
	RMS            *float64 `parquet:"rms,optional"`
	Mean           *float64 `parquet:"mean,optional"`
	Std            *float64 `parquet:"std,optional"`
	Min            *float64 `parquet:"min,optional"`
	Max            *float64 `parquet:"max,optional"`
	AbsMax         *float64 `parquet:"absmax,optional"`
	NaN            int64    `parquet:"nan"`
	Inf            int64    `parquet:"inf"`
	Zeros          int64    `parquet:"zeros"`
	UpdateRMS      *float64 `parquet:"update_rms,optional"`
	UpdateToWeight *float64 `parquet:"update_to_weight,optional"`
	DeltaL2        *float64 `parquet:"delta_l2,optional"`
	RelChange      *float64 `parquet:"rel_change,optional"`
	Cosine         *float64 `parquet:"cosine,optional"`
}

// TestSeriesParquet writes the run's rows as Parquet, reads them back with
// parquet-go's own reader, and checks the column types and every value.
func TestSeriesParquet(t *testing.T) {
	cks, rows := seriesRows(t)
	b := write(t, "parquet", cks, rows)
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"step": "INT64", "param": "BYTE_ARRAY STRING", "layer": "INT32 optional",
		"kind": "BYTE_ARRAY STRING", "state": "BYTE_ARRAY STRING", "numel": "INT64",
		"nan": "INT64", "inf": "INT64", "zeros": "INT64"}
	for _, c := range SeriesColumns() {
		if _, ok := want[c]; !ok {
			want[c] = "DOUBLE optional"
		}
	}
	if cb := f.Metadata().CreatedBy; !strings.HasPrefix(cb, "ckptinspect version ") {
		t.Errorf("created_by %q, want the form \"ckptinspect version V (build R)\"", cb)
	}
	fields := f.Schema().Fields()
	var names []string
	for _, fd := range fields {
		names = append(names, fd.Name())
		typ := fd.Type().Kind().String()
		if lt := fd.Type().LogicalType(); lt != nil && lt.String() == "STRING" {
			typ += " STRING"
		}
		if fd.Optional() {
			typ += " optional"
		}
		if typ != want[fd.Name()] {
			t.Errorf("column %s: %s, want %s", fd.Name(), typ, want[fd.Name()])
		}
	}
	if !slices.Equal(names, SeriesColumns()) {
		t.Errorf("columns %v, want %v", names, SeriesColumns())
	}
	back, err := parquet.Read[parquetBack](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) {
		t.Fatalf("%d rows read back, want %d", len(back), len(rows))
	}
	var nulls, layers int
	for i, p := range back {
		r := rows[i]
		if p.Step != r.Step || p.Param != r.Param || p.Kind != string(r.Kind) || p.State != string(r.State) ||
			p.Numel != r.Numel || p.NaN != r.NaN || p.Inf != r.Inf || p.Zeros != r.Zeros ||
			(p.Layer == nil) != (r.Layer < 0) || p.Layer != nil && int(*p.Layer) != r.Layer {
			t.Fatalf("row %d: %+v, want %+v", i, p, r)
		}
		for _, c := range []struct {
			got  *float64
			want float64
		}{{p.L2, r.L2}, {p.RMS, r.RMS}, {p.Mean, r.Mean}, {p.Std, r.Std}, {p.Min, r.Min}, {p.Max, r.Max},
			{p.AbsMax, r.AbsMax}, {p.UpdateRMS, r.UpdateRMS}, {p.UpdateToWeight, r.UpdateToWeight},
			{p.DeltaL2, r.DeltaL2}, {p.RelChange, r.RelChange}, {p.Cosine, r.Cosine}} {
			if !same(c.got, c.want) {
				t.Fatalf("row %d (%s %s): %v, want %v", i, r.Param, r.State, c.got, c.want)
			}
			if c.got == nil {
				nulls++
			}
		}
		if p.Layer != nil {
			layers++
		}
	}
	if nulls == 0 || layers == 0 || layers == len(back) {
		t.Errorf("%d null figures, %d rows with a layer of %d: the run should have both", nulls, layers, len(back))
	}
}

// TestSeriesText writes the rows as CSV, JSON lines and JSON and reads
// them back.
func TestSeriesText(t *testing.T) {
	cks, rows := seriesRows(t)
	// CSV: a header, then one record per row; empty cells for undefined.
	recs, err := csv.NewReader(bytes.NewReader(write(t, "csv", cks, rows))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], SeriesColumns()) || len(recs) != len(rows)+1 {
		t.Fatalf("csv header %v, %d records for %d rows", recs[0], len(recs), len(rows))
	}
	col := func(name string) int { return slices.Index(SeriesColumns(), name) }
	for i, r := range rows {
		rec := recs[i+1]
		if rec[col("param")] != r.Param || rec[col("step")] != strconv.FormatInt(r.Step, 10) {
			t.Fatalf("csv row %d: %v", i, rec)
		}
		for _, c := range []struct {
			name string
			v    float64
		}{{"l2", r.L2}, {"delta_l2", r.DeltaL2}, {"cosine", r.Cosine}, {"update_to_weight", r.UpdateToWeight}} {
			cell := rec[col(c.name)]
			if math.IsNaN(c.v) != (cell == "") {
				t.Fatalf("csv row %d %s: %q for %v", i, c.name, cell, c.v)
			}
			if cell != "" {
				if x, err := strconv.ParseFloat(cell, 64); err != nil || x != c.v {
					t.Fatalf("csv row %d %s: %q for %v", i, c.name, cell, c.v)
				}
			}
		}
		if (rec[col("layer")] == "") != (r.Layer < 0) {
			t.Fatalf("csv row %d layer %q for %d", i, rec[col("layer")], r.Layer)
		}
	}
	// JSON lines: one object per row.
	sc := bufio.NewScanner(bytes.NewReader(write(t, "jsonl", cks, rows)))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var r SeriesRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("jsonl line %d: %v", n+1, err)
		}
		if r.Param != rows[n].Param || r.State != string(rows[n].State) || (r.DeltaL2 == nil) != math.IsNaN(rows[n].DeltaL2) {
			t.Fatalf("jsonl line %d: %+v", n+1, r)
		}
		n++
	}
	if n != len(rows) {
		t.Fatalf("%d jsonl lines, want %d", n, len(rows))
	}
	// JSON: {"checkpoints": [...], "rows": [...]}.
	var doc struct {
		Checkpoints []SeriesCheckpoint `json:"checkpoints"`
		Rows        []SeriesRow        `json:"rows"`
	}
	b := write(t, "json", cks, rows)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("json: %v", err)
	}
	if !slices.Equal(doc.Checkpoints, cks) || len(doc.Rows) != len(rows) {
		t.Fatalf("json: %d checkpoints, %d rows", len(doc.Checkpoints), len(doc.Rows))
	}
	if !strings.Contains(string(b), `"layer": null`) && !strings.Contains(string(b), `"layer":null`) {
		t.Error("json: no null layer")
	}
	if _, err := NewSeriesWriter(&bytes.Buffer{}, "xml", nil); err == nil {
		t.Error("format xml accepted")
	}
}
