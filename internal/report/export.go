package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/ckptinspect/ckptinspect/export"
	"github.com/ckptinspect/ckptinspect/internal/output"
)

// ExportInfo says what was exported where, for the export document.
type ExportInfo struct {
	Checkpoint, Layout, Out, To, ConfigSource string
}

// ExportDoc is the JSON document of `export --format json`.
type ExportDoc struct {
	Checkpoint   string         `json:"checkpoint"`
	Layout       string         `json:"layout"`
	Out          string         `json:"out"`
	To           string         `json:"to"`
	DType        string         `json:"dtype"`
	ConfigSource string         `json:"config_source"`
	Source       string         `json:"source"`
	Files        []string       `json:"files"`
	Bytes        int64          `json:"bytes"`
	Notes        []string       `json:"notes"`
	Tensors      []ExportTensor `json:"tensors"`
}

// ExportTensor is one tensor of ExportDoc.
type ExportTensor struct {
	Name    string         `json:"name"`
	Source  *string        `json:"source"` // null for a zero bias
	Shape   []int64        `json:"shape"`
	File    string         `json:"file"`
	Scale   output.Float   `json:"scale"`
	Offset  output.Float   `json:"offset"`
	Factors []ExportFactor `json:"factors"`
}

// ExportFactor is one factor of an ExportTensor's multiplier.
type ExportFactor struct {
	Source string       `json:"source"`
	Value  output.Float `json:"value"`
	Absent bool         `json:"absent"`
}

// WriteExport writes what export --to llama wrote: the document as JSON,
// else a summary and the table of tensors with their multipliers.
func WriteExport(w io.Writer, f output.Format, in ExportInfo, res *export.Result) error {
	doc := ExportDoc{Checkpoint: in.Checkpoint, Layout: in.Layout, Out: in.Out, To: in.To, DType: res.DType.String(),
		ConfigSource: in.ConfigSource, Source: res.Source, Files: res.Files, Bytes: res.Bytes, Notes: res.Notes}
	if doc.Notes == nil {
		doc.Notes = []string{}
	}
	for _, t := range res.Tensors {
		et := ExportTensor{Name: t.Name, Shape: t.Shape, File: t.File, Scale: output.Float(t.Multiplier.Scale),
			Offset: output.Float(t.Multiplier.Offset), Factors: []ExportFactor{}}
		if t.Source != "" {
			s := t.Source
			et.Source = &s
		}
		for _, f := range t.Multiplier.Factors {
			et.Factors = append(et.Factors, ExportFactor{Source: f.Source, Value: output.Float(f.Value), Absent: f.Absent})
		}
		doc.Tensors = append(doc.Tensors, et)
	}
	if f == output.JSON {
		return output.WriteJSON(w, doc)
	}
	fmt.Fprintf(w, "%s (%s) -> %s: Llama model, %s, %d tensors, %s\n", in.Checkpoint, in.Layout, in.Out, doc.DType, len(doc.Tensors), output.Bytes(res.Bytes))
	fmt.Fprintf(w, "  from the %s; config: %s\n", res.Source, in.ConfigSource)
	fmt.Fprintf(w, "  files: %s\n", strings.Join(res.Files, ", "))
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintln(w)
	tw := output.TableWriter{
		Headers: []string{"tensor", "shape", "multiplier"},
		Align:   []output.Align{output.Left, output.Left, output.Left},
	}
	for _, t := range res.Tensors {
		m := t.Multiplier.String()
		if t.Source == "" {
			m = "zeros (Llama's o_proj bias; YuLan-Mini has none)"
		} else if t.Source != t.Name {
			m = "from " + t.Source + ": " + m
		}
		tw.Add(t.Name, output.ShapeCompact(t.Shape), m)
	}
	return tw.WriteText(w)
}
