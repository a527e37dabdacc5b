package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/series"
)

// SeriesFormats lists the formats of `ckptinspect series`, the default
// first.
func SeriesFormats() []string { return []string{"csv", "jsonl", "json", "parquet"} }

// SeriesColumns are the columns of a series' rows, in order (the README
// documents them).
func SeriesColumns() []string {
	return []string{"step", "param", "layer", "kind", "state", "numel", "l2", "rms", "mean", "std", "min", "max", "absmax",
		"nan", "inf", "zeros", "update_rms", "update_to_weight", "delta_l2", "rel_change", "cosine"}
}

// SeriesCheckpoint is one entry of the "checkpoints" list of `series
// --format json`.
type SeriesCheckpoint struct {
	Path   string `json:"path"`
	Step   int64  `json:"step"`
	Layout string `json:"layout"`
}

// SeriesRow is one row of `series --format json` and `jsonl`. Undefined
// figures are null; layer is null outside the decoder layers.
type SeriesRow struct {
	Step           int64         `json:"step"`
	Param          string        `json:"param"`
	Layer          *int          `json:"layer"`
	Kind           string        `json:"kind"`
	State          string        `json:"state"`
	Numel          int64         `json:"numel"`
	L2             *output.Float `json:"l2"`
	RMS            *output.Float `json:"rms"`
	Mean           *output.Float `json:"mean"`
	Std            *output.Float `json:"std"`
	Min            *output.Float `json:"min"`
	Max            *output.Float `json:"max"`
	AbsMax         *output.Float `json:"absmax"`
	NaN            int64         `json:"nan"`
	Inf            int64         `json:"inf"`
	Zeros          int64         `json:"zeros"`
	UpdateRMS      *output.Float `json:"update_rms"`
	UpdateToWeight *output.Float `json:"update_to_weight"`
	DeltaL2        *output.Float `json:"delta_l2"`
	RelChange      *output.Float `json:"rel_change"`
	Cosine         *output.Float `json:"cosine"`
}

func opt(x float64) *output.Float { return output.Opt(x, !math.IsNaN(x)) }

// SeriesRowOf converts a row to its JSON form.
func SeriesRowOf(r series.Row) SeriesRow {
	out := SeriesRow{Step: r.Step, Param: r.Param, Kind: string(r.Kind), State: string(r.State), Numel: r.Numel,
		L2: opt(r.L2), RMS: opt(r.RMS), Mean: opt(r.Mean), Std: opt(r.Std), Min: opt(r.Min), Max: opt(r.Max),
		AbsMax: opt(r.AbsMax), NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros,
		UpdateRMS: opt(r.UpdateRMS), UpdateToWeight: opt(r.UpdateToWeight),
		DeltaL2: opt(r.DeltaL2), RelChange: opt(r.RelChange), Cosine: opt(r.Cosine)}
	if r.Layer >= 0 {
		l := r.Layer
		out.Layer = &l
	}
	return out
}

// SeriesWriter writes the rows of a series, checkpoint by checkpoint, in
// one format; Close ends the document.
type SeriesWriter interface {
	WriteRows(rows []series.Row) error
	Close() error
}

// NewSeriesWriter starts a series document in one of SeriesFormats on w.
// The json format needs the checkpoints first; the others ignore them.
func NewSeriesWriter(w io.Writer, format string, cks []SeriesCheckpoint) (SeriesWriter, error) {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		return &csvSeries{w: cw}, cw.Write(SeriesColumns())
	case "jsonl":
		bw := bufio.NewWriter(w)
		return &jsonSeries{w: bw}, nil
	case "json":
		bw := bufio.NewWriter(w)
		if cks == nil {
			cks = []SeriesCheckpoint{}
		}
		head, err := json.Marshal(cks)
		if err != nil {
			return nil, err
		}
		_, err = fmt.Fprintf(bw, "{\"checkpoints\": %s,\n\"rows\": [", head)
		return &jsonSeries{w: bw, doc: true}, err
	case "parquet":
		return newParquetSeries(w), nil
	}
	return nil, fmt.Errorf("unknown format %q (want csv, jsonl, json or parquet)", format)
}

type csvSeries struct{ w *csv.Writer }

func csvFloat(x float64) string {
	if math.IsNaN(x) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func (c *csvSeries) WriteRows(rows []series.Row) error {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, r := range rows {
		layer := ""
		if r.Layer >= 0 {
			layer = strconv.Itoa(r.Layer)
		}
		rec := []string{i(r.Step), r.Param, layer, string(r.Kind), string(r.State), i(r.Numel),
			csvFloat(r.L2), csvFloat(r.RMS), csvFloat(r.Mean), csvFloat(r.Std), csvFloat(r.Min), csvFloat(r.Max), csvFloat(r.AbsMax),
			i(r.NaN), i(r.Inf), i(r.Zeros),
			csvFloat(r.UpdateRMS), csvFloat(r.UpdateToWeight), csvFloat(r.DeltaL2), csvFloat(r.RelChange), csvFloat(r.Cosine)}
		if err := c.w.Write(rec); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *csvSeries) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonSeries writes rows as JSON objects: one per line (jsonl), or as the
// elements of the document's rows list (json).
type jsonSeries struct {
	w    *bufio.Writer
	doc  bool
	rows int
}

func (j *jsonSeries) WriteRows(rows []series.Row) error {
	for _, r := range rows {
		b, err := json.Marshal(SeriesRowOf(r))
		if err != nil {
			return err
		}
		switch {
		case !j.doc:
		case j.rows == 0:
			j.w.WriteString("\n")
		default:
			j.w.WriteString(",\n")
		}
		j.w.Write(b)
		if !j.doc {
			j.w.WriteString("\n")
		}
		j.rows++
	}
	return j.w.Flush()
}

func (j *jsonSeries) Close() error {
	if j.doc {
		j.w.WriteString("\n]}\n")
	}
	return j.w.Flush()
}
