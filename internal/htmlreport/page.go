package htmlreport

import (
	"html/template"
	"io"
	"strings"
	"sync"
)

// page is an HTML report ready to render with the "page" template:
// sections of figures and tables. Text is escaped by html/template;
// template.HTML is used only for constant markup of this package.
type page struct {
	Title string
	Sub   string
	Facts []fact // a definition table under the title (the run's header)
	Notes []string
	Secs  []section
}

type fact struct{ Name, Value string }

type section struct {
	ID, Title string
	Explain   []template.HTML
	Blocks    []block
}

// block is a row of figures, a table, or notes.
type block struct {
	Figures []figure
	Small   bool // small multiples: four per row
	Table   *table
	Notes   []string
	Explain []template.HTML
}

type figure struct {
	Chart   *svgChart
	Caption string
}

type table struct {
	Class string
	Head  []string
	Rows  [][]cell
}

// cell is a table cell: Text, or a path broken at its slashes (Wrap), with
// an optional note in a smaller font.
type cell struct {
	Text  string
	Wrap  []string
	Note  string
	Class string
}

// figures returns a block of the charts that are not nil, each with its
// caption.
func figures(small bool, fs ...figure) block {
	var out []figure
	for _, f := range fs {
		if f.Chart != nil {
			out = append(out, f)
		}
	}
	return block{Figures: out, Small: small}
}

// pathCell returns a cell holding a path that may break after a slash.
func pathCell(path, note string) cell {
	return cell{Wrap: strings.Split(path, "/"), Note: note, Class: "path"}
}

const pageTemplate = `{{define "page"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>` + css + `</style>
</head>
<body>
<header><h1>{{.Title}}</h1>{{with .Sub}}<p class="sub">{{.}}</p>{{end}}
{{- with .Facts}}<table class="facts"><tbody>{{range .}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</tbody></table>{{end}}</header>
{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{range .Secs}}<section id="{{.ID}}"><h2>{{.Title}}</h2>
{{range .Explain}}<p class="explain">{{.}}</p>
{{end}}{{range .Blocks}}{{template "block" .}}{{end}}</section>
{{end}}` + footer + `</body>
</html>
{{end}}
{{define "block"}}{{range .Explain}}<p class="explain">{{.}}</p>
{{end}}{{with .Figures}}<div class="charts{{if $.Small}} small{{end}}">
{{range .}}<figure>{{template "chart" .Chart}}{{with .Caption}}<figcaption>{{.}}</figcaption>{{end}}</figure>
{{end}}</div>
{{end}}{{with .Table}}<div class="tablebox"><table{{with .Class}} class="{{.}}"{{end}}><thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td{{with .Class}} class="{{.}}"{{end}}>{{if .Wrap}}{{range $i, $p := .Wrap}}{{if $i}}/<wbr/>{{end}}{{$p}}{{end}}{{else}}{{.Text}}{{end}}{{with .Note}} <span class="layout">({{.}})</span>{{end}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
{{end}}{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{end}}`

// pageTmpl is the parsed page template, parsed on first use rather than at
// start-up: every command of the binary would pay ~1 ms for it.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(funcs).Parse(chartTemplate + pageTemplate))
})

// render writes the page.
func (p *page) render(w io.Writer) error {
	var b strings.Builder
	if err := pageTmpl().ExecuteTemplate(&b, "page", p); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:24px auto;max-width:1340px;padding:0 16px;color:#1b1b1b;background:#ffffff;line-height:1.4}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:30px 0 8px;border-bottom:1px solid #d8d8d8;padding-bottom:4px}
.sub{color:#555;margin:0 0 12px}
.note{background:#fff7e0;border-left:4px solid #e6a700;padding:6px 10px;margin:8px 0}
.explain{color:#444;font-size:14px;margin:4px 0 10px}
.charts{margin:0 0 12px;display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:16px;align-items:start}
.charts.small{grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px}
figure{margin:0;border:1px solid #e2e2e2;border-radius:6px;padding:8px 8px 4px;background:#fdfdfd}
.small figure{padding:4px 4px 2px}
figcaption{font-size:13px;color:#444;margin:2px 6px 4px}
svg.chart{display:block;max-width:100%;height:auto;font-size:12px;font-family:inherit}
svg .chart-title{font-size:14.5px;font-weight:600;fill:#1b1b1b}
svg .grid line{stroke:#e8e8e8;stroke-width:1}
svg .axis-line{stroke:#555555;stroke-width:1}
svg .axis-label{font-size:12.5px;fill:#222222}
.small svg .axis-label{font-size:11.5px}
.small svg .chart-title{font-size:13.5px}
svg .ticks text{fill:#444444}
svg .legend text{fill:#222222}
svg .cell-text text{font-size:10.5px;fill:#1b1b1b}
svg .bar-label{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11.5px;fill:#222222}
svg .bar-value{font-size:11px;fill:#444444}
.tablebox{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{padding:4px 9px;border-bottom:1px solid #e6e6e6;text-align:right;white-space:nowrap}
th{background:#f4f4f4;font-weight:600}
th:first-child,td:first-child{text-align:left}
td.name,td.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
td.path{white-space:normal;min-width:180px;max-width:340px;text-align:left}
#summary th:nth-child(2){text-align:left}
table.facts th{text-align:left;background:none;padding:2px 12px 2px 0;color:#555;font-weight:600}
table.facts td{text-align:left;white-space:normal}
.layout{color:#666;font-family:system-ui,sans-serif}
code{font-size:12.5px}
footer{margin-top:36px;border-top:1px solid #d8d8d8;color:#555;font-size:13px}
`

const footer = `<footer>
<p>Made by <code>ckptinspect report</code> from the checkpoints' bytes, read in place (no Python, no pickle code run). Statistics are float64 over the finite elements; a layer's RMS is over all the elements of its parameters. Relative change = ‖W_b − W_a‖/‖W_a‖ and cosine = Σab/(‖W_a‖·‖W_b‖), over the element pairs where both values are finite. Missing values are shown as gaps or –.</p>
</footer>
`
