package htmlreport

import (
	"html/template"
	"strconv"
)

// svgChart is a chart ready to draw: every position computed, every label
// formatted. The "chart" template renders it as inline SVG; html/template
// escapes every text and attribute.
type svgChart struct {
	ID, Title string
	W, H      float64
	TitleX    float64
	Grid      []seg
	Axes      []seg
	XTicks    []label
	YTicks    []label
	AxisLabel []label // the axis titles (class axis-label)
	Series    []svgSeries
	Bars      *svgBars
	Areas     []svgArea
	Cells     []svgCell
	CellText  bool // write each cell's value in it
	Legend    []legendItem
}

// seg is a line segment.
type seg struct{ X1, Y1, X2, Y2 float64 }

// label is a piece of text at a position.
type label struct {
	X, Y     float64
	Text     string
	Anchor   string // text-anchor: start, middle, end
	Baseline bool   // dominant-baseline middle
	Rotate   bool   // rotated by −90° around its position (a y axis title)
	Class    string
}

// svgSeries is one line of points: polylines (broken at gaps) and markers.
type svgSeries struct {
	Color  string
	Dashed bool
	Width  float64
	Lines  []string // points attributes, one per unbroken run
	Marks  []mark
	Tip    string // a tooltip on the lines, when the points have none
}

// mark is a point: shape 0 a circle, 1 a square, 2 a diamond, 3 a
// triangle, so that coinciding series stay visible.
type mark struct {
	Shape int
	X, Y  float64
	R     float64 // size
	Tip   string
}

// svgBars is a horizontal bar chart's bars.
type svgBars struct {
	Color string
	Items []bar
}

type bar struct {
	X, Y, W, H float64
	Tip        string
	Name       label // the bar's label, left of the axis
	Value      label // its value, at its end
}

// svgArea is a filled step outline (a histogram).
type svgArea struct {
	Color, Points, Tip string
}

// svgCell is a heatmap cell.
type svgCell struct {
	X, Y, W, H float64
	Fill, Tip  string
	Text       string
	Dark       bool // the fill is dark: write the text in white
}

// legendItem is one entry of a legend: a line sample with a marker, or a
// filled box.
type legendItem struct {
	X, Y   float64
	Name   string
	Color  string
	Dashed bool
	Box    bool
	Marker int
}

func n1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// markerPath returns the SVG path of a diamond (2) or triangle (3) marker.
func markerPath(m mark) string {
	x, y, r := m.X, m.Y, m.R
	if m.Shape%4 == 2 {
		return "M" + n1(x) + " " + n1(y-r) + "L" + n1(x+r) + " " + n1(y) + "L" + n1(x) + " " + n1(y+r) + "L" + n1(x-r) + " " + n1(y) + "Z"
	}
	return "M" + n1(x) + " " + n1(y-r) + "L" + n1(x+0.9*r) + " " + n1(y+0.7*r) + "L" + n1(x-0.9*r) + " " + n1(y+0.7*r) + "Z"
}

var funcs = template.FuncMap{
	"n":    n1,
	"half": func(v float64) float64 { return v / 2 },
	"sub":  func(a, b float64) float64 { return a - b },
	"add":  func(a, b float64) float64 { return a + b },
	"mod4": func(i int) int { return i % 4 },
	"mp":   markerPath,
	"legendMark": func(l legendItem) mark {
		return mark{Shape: l.Marker, X: l.X + 12, Y: l.Y, R: 4.2}
	},
}

// chartTemplate draws an svgChart. It is well-formed XML, which
// Outline relies on.
const chartTemplate = `{{define "mark"}}{{$s := mod4 .Shape}}{{if eq $s 0}}<circle cx="{{n .X}}" cy="{{n .Y}}" r="{{n .R}}">{{with .Tip}}<title>{{.}}</title>{{end}}</circle>{{else if eq $s 1}}<rect x="{{n (sub .X .R)}}" y="{{n (sub .Y .R)}}" width="{{n (add .R .R)}}" height="{{n (add .R .R)}}">{{with .Tip}}<title>{{.}}</title>{{end}}</rect>{{else}}<path d="{{mp .}}">{{with .Tip}}<title>{{.}}</title>{{end}}</path>{{end}}{{end}}
{{define "text"}}<text{{with .Class}} class="{{.}}"{{end}} x="{{n .X}}" y="{{n .Y}}"{{with .Anchor}} text-anchor="{{.}}"{{end}}{{if .Baseline}} dominant-baseline="middle"{{end}}{{if .Rotate}} transform="rotate(-90 {{n .X}} {{n .Y}})"{{end}}>{{.Text}}</text>{{end}}
{{define "chart"}}<svg class="chart" id="{{.ID}}" viewBox="0 0 {{n .W}} {{n .H}}" width="{{n .W}}" height="{{n .H}}" role="img" aria-labelledby="{{.ID}}-title"><title id="{{.ID}}-title">{{.Title}}</title><text class="chart-title" x="{{n .TitleX}}" y="20">{{.Title}}</text>
<g class="grid">{{range .Grid}}<line x1="{{n .X1}}" y1="{{n .Y1}}" x2="{{n .X2}}" y2="{{n .Y2}}"/>{{end}}</g>
{{- with .Cells}}<g class="cells">{{range .}}<rect x="{{n .X}}" y="{{n .Y}}" width="{{n .W}}" height="{{n .H}}" fill="{{.Fill}}">{{with .Tip}}<title>{{.}}</title>{{end}}</rect>{{end}}</g>{{end}}
{{- if .CellText}}<g class="cell-text">{{range .Cells}}{{if .Text}}<text x="{{n (add .X (half .W))}}" y="{{n (add .Y (half .H))}}" text-anchor="middle" dominant-baseline="middle"{{if .Dark}} fill="#ffffff"{{end}}>{{.Text}}</text>{{end}}{{end}}</g>{{end}}
<g class="ticks x-ticks">{{range .XTicks}}{{template "text" .}}{{end}}</g><g class="ticks y-ticks">{{range .YTicks}}{{template "text" .}}{{end}}</g>
{{- range .Axes}}<line class="axis-line" x1="{{n .X1}}" y1="{{n .Y1}}" x2="{{n .X2}}" y2="{{n .Y2}}"/>{{end}}
{{- range .AxisLabel}}{{template "text" .}}{{end}}
{{- range .Areas}}<polyline class="hist" fill="{{.Color}}" fill-opacity="0.15" stroke="{{.Color}}" stroke-width="1.6" points="{{.Points}}"><title>{{.Tip}}</title></polyline>{{end}}
{{- with .Bars}}<g class="bars" fill="{{.Color}}">{{range .Items}}{{template "text" .Name}}<rect x="{{n .X}}" y="{{n .Y}}" width="{{n .W}}" height="{{n .H}}"><title>{{.Tip}}</title></rect>{{template "text" .Value}}{{end}}</g>{{end}}
{{- range .Series}}<g class="series" stroke="{{.Color}}" fill="{{.Color}}">{{$s := .}}{{range .Lines}}<polyline fill="none" stroke-width="{{n $s.Width}}"{{if $s.Dashed}} stroke-dasharray="6 4"{{end}} points="{{.}}">{{with $s.Tip}}<title>{{.}}</title>{{end}}</polyline>{{end}}{{with .Marks}}<g class="marker">{{range .}}{{template "mark" .}}{{end}}</g>{{end}}</g>{{end}}
<g class="legend">{{range .Legend}}<g class="legend-entry">{{if .Box}}<rect x="{{n .X}}" y="{{n (sub .Y 5)}}" width="22" height="10" fill="{{.Color}}"/>{{else}}<line x1="{{n .X}}" y1="{{n .Y}}" x2="{{n (add .X 24)}}" y2="{{n .Y}}" stroke="{{.Color}}" stroke-width="2.5"{{if .Dashed}} stroke-dasharray="6 4"{{end}}/><g class="marker" fill="{{.Color}}">{{template "mark" (legendMark .)}}</g>{{end}}<text x="{{n (add .X 32)}}" y="{{n (add .Y 1)}}" dominant-baseline="middle">{{.Name}}</text></g>{{end}}</g></svg>{{end}}`
