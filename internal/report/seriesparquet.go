package report

import (
	"io"
	"math"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/buildinfo"
	"github.com/ckptinspect/ckptinspect/internal/parquet"
	"github.com/ckptinspect/ckptinspect/series"
)

// seriesParquetColumns are the columns of `series --format parquet`, those
// of SeriesColumns typed: integers are INT64 (layer INT32), the figures
// DOUBLE, strings UTF-8 (dictionary-encoded); an undefined figure, and the
// layer of a parameter outside the decoder layers, is null.
func seriesParquetColumns() []parquet.Column {
	names := SeriesColumns()
	cols := make([]parquet.Column, len(names))
	for i, n := range names {
		c := parquet.Column{Name: n, Type: parquet.Double, Optional: true}
		switch n {
		case "step", "numel", "nan", "inf", "zeros":
			c = parquet.Column{Name: n, Type: parquet.Int64}
		case "param", "kind", "state":
			c = parquet.Column{Name: n, Type: parquet.String}
		case "layer":
			c = parquet.Column{Name: n, Type: parquet.Int32, Optional: true}
		}
		cols[i] = c
	}
	return cols
}

// parquetSeries writes rows as a Parquet file (internal/parquet: GZIP
// pages, a row group every 65,536 rows).
type parquetSeries struct {
	w   *parquet.Writer
	err error
	row []parquet.Value
}

func newParquetSeries(w io.Writer) *parquetSeries {
	pw, err := parquet.NewWriter(w, seriesParquetColumns(), parquet.Options{CreatedBy: createdBy()})
	return &parquetSeries{w: pw, err: err}
}

// createdBy names the writer in a Parquet footer, in the form the format
// asks for: "ckptinspect version VERSION (build REVISION)".
func createdBy() string {
	v, rev := buildinfo.Module()
	if rev == "" {
		return "ckptinspect version " + v
	}
	return "ckptinspect version " + v + " (build " + rev + ")"
}

// pf is a figure's cell: null where it is undefined.
func pf(x float64) parquet.Value {
	if math.IsNaN(x) {
		return parquet.Null()
	}
	return parquet.Float(x)
}

// str is a string cell; bytes that are not UTF-8 (a name pickled with
// lone surrogates) become U+FFFD, as Parquet strings are UTF-8.
func str(s string) parquet.Value { return parquet.Str(strings.ToValidUTF8(s, "\uFFFD")) }

// parquetRow fills row with r's cells, in SeriesColumns' order.
func parquetRow(row []parquet.Value, r series.Row) []parquet.Value {
	layer := parquet.Null()
	if r.Layer >= 0 && r.Layer <= math.MaxInt32 {
		layer = parquet.Int(int64(r.Layer))
	}
	return append(row[:0], parquet.Int(r.Step), str(r.Param), layer, str(string(r.Kind)),
		str(string(r.State)), parquet.Int(r.Numel),
		pf(r.L2), pf(r.RMS), pf(r.Mean), pf(r.Std), pf(r.Min), pf(r.Max), pf(r.AbsMax),
		parquet.Int(r.NaN), parquet.Int(r.Inf), parquet.Int(r.Zeros),
		pf(r.UpdateRMS), pf(r.UpdateToWeight), pf(r.DeltaL2), pf(r.RelChange), pf(r.Cosine))
}

func (p *parquetSeries) WriteRows(rows []series.Row) error {
	if p.err != nil {
		return p.err
	}
	for _, r := range rows {
		p.row = parquetRow(p.row, r)
		if err := p.w.Write(p.row); err != nil {
			return err
		}
	}
	return nil
}

func (p *parquetSeries) Close() error {
	if p.err != nil {
		return p.err
	}
	return p.w.Close()
}
