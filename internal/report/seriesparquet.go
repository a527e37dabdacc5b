package report

import (
	"io"
	"math"

	"github.com/parquet-go/parquet-go"

	"github.com/ckptinspect/ckptinspect/series"
)

// ParquetRow is one row of `series --format parquet`: the columns of
// SeriesColumns, typed. Integers are INT64 (layer INT32); the figures are
// DOUBLE; strings are UTF-8 (dictionary-encoded); an undefined figure, and
// the layer of a parameter outside the decoder layers, is null.
type ParquetRow struct {
	Step           int64    `parquet:"step"`
	Param          string   `parquet:"param,dict"`
	Layer          *int32   `parquet:"layer,optional"`
	Kind           string   `parquet:"kind,dict"`
	State          string   `parquet:"state,dict"`
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

// parquetRowGroup is the number of rows buffered before a row group is
// written, which bounds the writer's memory.
const parquetRowGroup = 1 << 16

// parquetSeries writes rows as a Parquet file (Snappy-compressed pages,
// a row group every parquetRowGroup rows).
type parquetSeries struct {
	w        *parquet.GenericWriter[ParquetRow]
	buffered int
}

func newParquetSeries(w io.Writer) *parquetSeries {
	return &parquetSeries{w: parquet.NewGenericWriter[ParquetRow](w, parquet.Compression(&parquet.Snappy),
		parquet.CreatedBy("ckptinspect", "", ""))}
}

func pf(x float64) *float64 {
	if math.IsNaN(x) {
		return nil
	}
	return &x
}

// ParquetRowOf converts a row to its Parquet form.
func ParquetRowOf(r series.Row) ParquetRow {
	out := ParquetRow{Step: r.Step, Param: r.Param, Kind: string(r.Kind), State: string(r.State), Numel: r.Numel,
		L2: pf(r.L2), RMS: pf(r.RMS), Mean: pf(r.Mean), Std: pf(r.Std), Min: pf(r.Min), Max: pf(r.Max), AbsMax: pf(r.AbsMax),
		NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros,
		UpdateRMS: pf(r.UpdateRMS), UpdateToWeight: pf(r.UpdateToWeight),
		DeltaL2: pf(r.DeltaL2), RelChange: pf(r.RelChange), Cosine: pf(r.Cosine)}
	if r.Layer >= 0 && r.Layer <= math.MaxInt32 {
		l := int32(r.Layer)
		out.Layer = &l
	}
	return out
}

func (p *parquetSeries) WriteRows(rows []series.Row) error {
	buf := make([]ParquetRow, len(rows))
	for i, r := range rows {
		buf[i] = ParquetRowOf(r)
	}
	if _, err := p.w.Write(buf); err != nil {
		return err
	}
	p.buffered += len(rows)
	if p.buffered >= parquetRowGroup {
		p.buffered = 0
		return p.w.Flush()
	}
	return nil
}

func (p *parquetSeries) Close() error { return p.w.Close() }
