package htmlreport

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ChartOutline is what a chart of a report shows, read back from the HTML.
type ChartOutline struct {
	ID, Title  string
	AxisLabels []string // the axis titles
	Legend     []string // the legend entries
	Marks      int      // data marks: points, bars, histogram outlines, heatmap cells
}

// Outline parses a report written by [Write] — which is well-formed XML as
// well as HTML — and returns its charts in document order, so that tests
// and tools can check what a report shows without a browser. It fails on
// malformed markup.
func Outline(html []byte) ([]ChartOutline, error) {
	d := xml.NewDecoder(bytes.NewReader(html))
	d.Strict = true
	var out []ChartOutline
	var cur *ChartOutline
	var stack []xml.StartElement
	var text strings.Builder
	classOf := func(e xml.StartElement) string {
		for _, a := range e.Attr {
			if a.Name.Local == "class" {
				return a.Value
			}
		}
		return ""
	}
	within := func(class string) bool {
		return slices.ContainsFunc(stack, func(e xml.StartElement) bool { return classOf(e) == class })
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("htmlreport: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t)
			text.Reset()
			if t.Name.Local == "svg" && classOf(t) == "chart" {
				out = append(out, ChartOutline{})
				cur = &out[len(out)-1]
				for _, a := range t.Attr {
					if a.Name.Local == "id" {
						cur.ID = a.Value
					}
				}
			}
			if cur == nil {
				continue
			}
			switch {
			case within("marker") && !within("legend") && (t.Name.Local == "circle" || t.Name.Local == "rect" || t.Name.Local == "path"),
				within("bars") && t.Name.Local == "rect",
				within("cells") && t.Name.Local == "rect",
				classOf(t) == "hist":
				cur.Marks++
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("htmlreport: unbalanced </%s>", t.Name.Local)
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if cur == nil {
				continue
			}
			s := strings.TrimSpace(text.String())
			switch {
			case open.Name.Local == "svg":
				cur = nil
			case open.Name.Local == "text" && classOf(open) == "chart-title":
				cur.Title = s
			case open.Name.Local == "text" && classOf(open) == "axis-label":
				cur.AxisLabels = append(cur.AxisLabels, s)
			case open.Name.Local == "text" && within("legend-entry"):
				cur.Legend = append(cur.Legend, s)
			}
			text.Reset()
		}
	}
	return out, nil
}
