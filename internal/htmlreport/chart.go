package htmlreport

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units (pixels at 100% zoom).
const (
	chartWidth  = 640
	plotHeight  = 240
	marginLeft  = 78
	marginRight = 24
	marginTop   = 40
	xAxisSpace  = 50 // tick labels and the axis label under the plot
	legendRow   = 20
	charWidth   = 6.6 // average width of a 12 px character, for layout
)

// palette holds colours that colour-blind readers can tell apart
// (Okabe and Ito), in the order series get them.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"}

// seriesColor returns the colour of series i of n: the palette, or for
// more series than it holds a ramp from dark blue to yellow (the order of
// checkpoints is then the order of the colours).
func seriesColor(i, n int) string {
	if n <= len(palette) {
		return palette[i%len(palette)]
	}
	// viridis end points and middle, interpolated
	stops := [][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	f := float64(i) / float64(n-1) * float64(len(stops)-1)
	k := min(int(f), len(stops)-2)
	t := f - float64(k)
	var c [3]int
	for j := range c {
		c[j] = int(math.Round(stops[k][j]*(1-t) + stops[k+1][j]*t))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// series is one line of a chart. NaN values (and values ≤ 0 on a log
// axis) are gaps.
type series struct {
	name   string
	values []float64
	color  string
	dashed bool
	marker int // point shape: see writeMarker
}

// writeMarker draws a point: shape 0 a circle, 1 a smaller square, 2 a
// diamond, 3 a triangle (then again), so that series that coincide stay
// visible: a square drawn over a circle leaves a ring.
func writeMarker(b *strings.Builder, shape int, x, y float64, title string) {
	tip := ""
	if title != "" {
		tip = "<title>" + esc(title) + "</title>"
	}
	switch shape % 4 {
	case 0:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="5.2">%s</circle>`, num(x), num(y), tip)
	case 1:
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="6.4" height="6.4">%s</rect>`, num(x-3.2), num(y-3.2), tip)
	case 2:
		fmt.Fprintf(b, `<path d="M%s %sL%s %sL%s %sL%s %sZ">%s</path>`, num(x), num(y-5), num(x+5), num(y), num(x), num(y+5), num(x-5), num(y), tip)
	default:
		fmt.Fprintf(b, `<path d="M%s %sL%s %sL%s %sZ">%s</path>`, num(x), num(y-5), num(x+4.5), num(y+3.5), num(x-4.5), num(y+3.5), tip)
	}
}

// axis maps data values to pixels.
type axis struct {
	lo, hi float64
	log    bool
	ticks  []float64
}

// pos maps v to [p0, p1].
func (a axis) pos(v, p0, p1 float64) float64 {
	lo, hi := a.lo, a.hi
	if a.log {
		v, lo, hi = math.Log10(v), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return (p0 + p1) / 2
	}
	return p0 + (v-lo)/(hi-lo)*(p1-p0)
}

// niceStep returns the step of 1, 2 or 5 times a power of ten nearest to
// span/n (in ratio).
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	best := p
	for _, m := range []float64{2, 5, 10} {
		if math.Abs(math.Log(m*p/raw)) < math.Abs(math.Log(best/raw)) {
			best = m * p
		}
	}
	return best
}

// multiples returns the multiples of step in [lo, hi] (to rounding).
func multiples(lo, hi, step float64) []float64 {
	var out []float64
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		out = append(out, k*step+0) // +0: no "-0"
	}
	return out
}

// linearAxis returns an axis over the values' range with about five ticks,
// its ends on ticks; zero is included when pinZero is set.
func linearAxis(lo, hi float64, pinZero bool) axis {
	if pinZero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*0.1, 1e-12)
		if lo == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step := niceStep(hi-lo, 5)
	a := axis{lo: math.Floor(lo/step+1e-9) * step, hi: math.Ceil(hi/step-1e-9) * step}
	a.ticks = multiples(a.lo, a.hi, step)
	return a
}

// exactAxis returns an axis over exactly [lo, hi] with nice ticks inside.
func exactAxis(lo, hi float64) axis {
	return axis{lo: lo, hi: hi, ticks: multiples(lo, hi, niceStep(hi-lo, 6))}
}

// logAxis returns a log axis over whole decades around [lo, hi] (lo > 0),
// with a tick per decade (and at 2 and 5 when it spans one or two).
func logAxis(lo, hi float64) axis {
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi == dlo {
		dhi++
	}
	a := axis{lo: math.Pow(10, dlo), hi: math.Pow(10, dhi), log: true}
	every := math.Ceil((dhi - dlo) / 8)
	for d := dlo; d <= dhi; d += every {
		p := math.Pow(10, d)
		a.ticks = append(a.ticks, p)
		if dhi-dlo <= 2 && d < dhi {
			a.ticks = append(a.ticks, 2*p, 5*p)
		}
	}
	return a
}

// tickLabel formats an axis value: plain decimals between 0.001 and 10⁴,
// else "1e-05" style.
func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e-3 && a < 1e4:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'e', 2, 64)
	mant, exp, _ := strings.Cut(s, "e")
	mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	return mant + "e" + exp
}

// valueLabel formats a data value for tooltips and bar ends: 4
// significant digits.
func valueLabel(v float64) string {
	a := math.Abs(v)
	if v == 0 || (a >= 1e-3 && a < 1e5) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'e', 3, 64)
}

func esc(s string) string { return html.EscapeString(s) }

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// legendEntry is one entry of a chart's legend.
type legendEntry struct {
	name   string
	color  string
	dashed bool
	marker int  // as series.marker
	box    bool // a filled box (bars) rather than a line sample
}

// legendLayout places the entries in rows under the plot; it returns each
// entry's position and the height used.
func legendLayout(entries []legendEntry, x0, width float64) ([][2]float64, float64) {
	var out [][2]float64
	x, y := x0, 0.0
	for _, e := range entries {
		w := 34 + float64(len([]rune(e.name)))*charWidth + 18
		if x > x0 && x+w > x0+width {
			x, y = x0, y+legendRow
		}
		out = append(out, [2]float64{x, y})
		x += w
	}
	if len(entries) == 0 {
		return nil, 0
	}
	return out, y + legendRow
}

func writeLegend(b *strings.Builder, entries []legendEntry, top float64) float64 {
	pos, h := legendLayout(entries, marginLeft, chartWidth-marginLeft-marginRight)
	b.WriteString(`<g class="legend">`)
	for i, e := range entries {
		x, y := pos[i][0], top+pos[i][1]+legendRow/2
		fmt.Fprintf(b, `<g class="legend-entry">`)
		if e.box {
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="24" height="10" fill="%s"/>`, num(x), num(y-5), e.color)
		} else {
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, num(x), num(y), num(x+24), num(y), e.color, dash(e.dashed))
			fmt.Fprintf(b, `<g class="marker" fill="%s">`, e.color)
			writeMarker(b, e.marker, x+12, y, "")
			b.WriteString(`</g>`)
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" dominant-baseline="middle">%s</text></g>`, num(x+32), num(y+1), esc(e.name))
	}
	b.WriteString(`</g>`)
	return h
}

func dash(d bool) string {
	if d {
		return ` stroke-dasharray="6 4"`
	}
	return ""
}

// svgOpen starts an SVG chart of the given height with its title.
func svgOpen(b *strings.Builder, id, title string, height float64) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %d %s" width="%d" height="%s" role="img" aria-labelledby="%s-title">`,
		id, chartWidth, num(height), chartWidth, num(height), id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, id, esc(title))
	fmt.Fprintf(b, `<text class="chart-title" x="%d" y="22">%s</text>`, marginLeft, esc(title))
}

// writeYAxis draws the y grid, tick labels, axis line and label.
func writeYAxis(b *strings.Builder, a axis, label string) {
	x0, x1 := float64(marginLeft), float64(chartWidth-marginRight)
	y0, y1 := float64(marginTop+plotHeight), float64(marginTop)
	b.WriteString(`<g class="grid">`)
	for _, t := range a.ticks {
		y := a.pos(t, y0, y1)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x0), num(y), num(x1), num(y))
	}
	b.WriteString(`</g><g class="ticks y-ticks">`)
	for _, t := range a.ticks {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, num(x0-6), num(a.pos(t, y0, y1)), tickLabel(t))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(b, `<line class="axis-line" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x0), num(y0), num(x0), num(y1))
	fmt.Fprintf(b, `<line class="axis-line" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x0), num(y0), num(x1), num(y0))
	cy := (y0 + y1) / 2
	fmt.Fprintf(b, `<text class="axis-label" x="16" y="%s" text-anchor="middle" transform="rotate(-90 16 %s)">%s</text>`, num(cy), num(cy), esc(label))
}

// writeXLabel draws the x axis label under the tick labels.
func writeXLabel(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<text class="axis-label" x="%s" y="%d" text-anchor="middle">%s</text>`,
		num(float64(marginLeft+chartWidth-marginRight)/2), marginTop+plotHeight+40, esc(label))
}

// lineChart is a chart of series over categories (layers, ...).
type lineChart struct {
	id, title      string
	xLabel, yLabel string
	categories     []string
	series         []series
	logY           bool
	pinZero        bool // a linear y axis includes 0
	// legend, when set, replaces the one entry per series.
	legend []legendEntry
}

// render draws the chart, or returns "" when no series has a value.
func (c *lineChart) render() string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, v := range s.values {
			if math.IsNaN(v) || math.IsInf(v, 0) || (c.logY && v <= 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return ""
	}
	var ya axis
	if c.logY {
		ya = logAxis(lo, hi)
	} else {
		ya = linearAxis(lo, hi, c.pinZero)
	}
	entries := c.legend
	if entries == nil {
		for _, s := range c.series {
			entries = append(entries, legendEntry{name: s.name, color: s.color, dashed: s.dashed, marker: s.marker})
		}
	}
	_, lh := legendLayout(entries, marginLeft, chartWidth-marginLeft-marginRight)
	height := float64(marginTop+plotHeight+xAxisSpace) + lh + 8
	var b strings.Builder
	svgOpen(&b, c.id, c.title, height)
	writeYAxis(&b, ya, c.yLabel)
	x0, x1 := float64(marginLeft), float64(chartWidth-marginRight)
	y0, y1 := float64(marginTop+plotHeight), float64(marginTop)
	n := len(c.categories)
	xAt := func(i int) float64 { return x0 + (float64(i)+0.5)*(x1-x0)/float64(n) }
	every := (n + 15) / 16
	b.WriteString(`<g class="ticks x-ticks">`)
	for i, cat := range c.categories {
		if i%every != 0 && i != n-1 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(xAt(i)), num(y0+16), esc(cat))
	}
	b.WriteString(`</g>`)
	writeXLabel(&b, c.xLabel)
	for _, s := range c.series {
		fmt.Fprintf(&b, `<g class="series" stroke="%s" fill="%s">`, s.color, s.color)
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke-width="2"%s points="%s"/>`, dash(s.dashed), strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, v := range s.values {
			if i >= n || math.IsNaN(v) || math.IsInf(v, 0) || (c.logY && v <= 0) {
				flush()
				continue
			}
			pts = append(pts, num(xAt(i))+","+num(ya.pos(v, y0, y1)))
		}
		flush()
		b.WriteString(`<g class="marker">`)
		for i, v := range s.values {
			if i >= n || math.IsNaN(v) || math.IsInf(v, 0) || (c.logY && v <= 0) {
				continue
			}
			writeMarker(&b, s.marker, xAt(i), ya.pos(v, y0, y1), s.name+", "+c.categories[i]+": "+valueLabel(v))
		}
		b.WriteString(`</g></g>`)
	}
	writeLegend(&b, entries, float64(marginTop+plotHeight+xAxisSpace))
	b.WriteString(`</svg>`)
	return b.String()
}

// barChart is a horizontal bar chart of labelled values ≥ 0.
type barChart struct {
	id, title      string
	xLabel, yLabel string
	labels         []string
	values         []float64
	legend         string
	color          string
}

func (c *barChart) render() string {
	if len(c.values) == 0 {
		return ""
	}
	const rowH = 22
	labelW := 0
	for _, l := range c.labels {
		labelW = max(labelW, len([]rune(l)))
	}
	left := math.Min(float64(labelW)*7+16, 340) // monospace labels
	maxChars := int((left - 16) / 7)
	hi := 0.0
	for _, v := range c.values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			hi = math.Max(hi, v)
		}
	}
	xa := linearAxis(0, hi, true)
	entries := []legendEntry{{name: c.legend, color: c.color, box: true}}
	plotH := float64(len(c.values) * rowH)
	_, lh := legendLayout(entries, marginLeft, chartWidth-marginLeft-marginRight)
	height := marginTop + plotH + xAxisSpace + lh + 8
	var b strings.Builder
	svgOpen(&b, c.id, c.title, height)
	x0, x1 := left, float64(chartWidth-marginRight-40)
	y0 := float64(marginTop)
	b.WriteString(`<g class="grid">`)
	for _, t := range xa.ticks {
		x := xa.pos(t, x0, x1)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(y0), num(x), num(y0+plotH))
	}
	b.WriteString(`</g><g class="ticks x-ticks">`)
	for _, t := range xa.ticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(xa.pos(t, x0, x1)), num(y0+plotH+16), tickLabel(t))
	}
	b.WriteString(`</g>`)
	fmt.Fprintf(&b, `<line class="axis-line" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x0), num(y0), num(x0), num(y0+plotH))
	fmt.Fprintf(&b, `<line class="axis-line" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x0), num(y0+plotH), num(x1), num(y0+plotH))
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>`, num((x0+x1)/2), num(y0+plotH+40), esc(c.xLabel))
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%s" text-anchor="end">%s</text>`, num(x0-6), num(y0-8), esc(c.yLabel))
	fmt.Fprintf(&b, `<g class="bars" fill="%s">`, c.color)
	for i, v := range c.values {
		y := y0 + float64(i*rowH)
		label := c.labels[i]
		if r := []rune(label); len(r) > maxChars {
			keep := maxChars - 1
			label = string(r[:keep/2]) + "…" + string(r[len(r)-(keep-keep/2):])
		}
		fmt.Fprintf(&b, `<text class="bar-label" x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, num(x0-6), num(y+rowH/2), esc(label))
		w := 0.0
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			w = xa.pos(v, x0, x1) - x0
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%d"><title>%s: %s</title></rect>`, num(x0), num(y+4), num(w), rowH-8, esc(c.labels[i]), valueLabel(v))
		fmt.Fprintf(&b, `<text class="bar-value" x="%s" y="%s" dominant-baseline="middle">%s</text>`, num(x0+w+4), num(y+rowH/2), valueLabel(v))
	}
	b.WriteString(`</g>`)
	writeLegend(&b, entries, y0+plotH+xAxisSpace)
	b.WriteString(`</svg>`)
	return b.String()
}

// histChart draws histograms over common bins as step lines.
type histChart struct {
	id, title      string
	xLabel, yLabel string
	lo, hi         float64
	series         []histSeries
}

type histSeries struct {
	name   string
	counts []int64
	color  string
}

func (c *histChart) render() string {
	var most int64
	for _, s := range c.series {
		for _, n := range s.counts {
			most = max(most, n)
		}
	}
	if len(c.series) == 0 || !(c.lo < c.hi) {
		return ""
	}
	xa := exactAxis(c.lo, c.hi)
	ya := linearAxis(0, float64(max(most, 1)), true)
	entries := make([]legendEntry, len(c.series))
	for i, s := range c.series {
		entries[i] = legendEntry{name: s.name, color: s.color}
	}
	_, lh := legendLayout(entries, marginLeft, chartWidth-marginLeft-marginRight)
	height := float64(marginTop+plotHeight+xAxisSpace) + lh + 8
	var b strings.Builder
	svgOpen(&b, c.id, c.title, height)
	writeYAxis(&b, ya, c.yLabel)
	x0, x1 := float64(marginLeft), float64(chartWidth-marginRight)
	y0, y1 := float64(marginTop+plotHeight), float64(marginTop)
	b.WriteString(`<g class="ticks x-ticks">`)
	for _, t := range xa.ticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(xa.pos(t, x0, x1)), num(y0+16), tickLabel(t))
	}
	b.WriteString(`</g>`)
	writeXLabel(&b, c.xLabel)
	for _, s := range c.series {
		n := len(s.counts)
		if n == 0 {
			continue
		}
		width := (c.hi - c.lo) / float64(n)
		pts := []string{num(x0) + "," + num(y0)}
		for i, k := range s.counts {
			y := ya.pos(float64(k), y0, y1)
			pts = append(pts, num(xa.pos(c.lo+float64(i)*width, x0, x1))+","+num(y), num(xa.pos(c.lo+float64(i+1)*width, x0, x1))+","+num(y))
		}
		pts = append(pts, num(x1)+","+num(y0))
		fmt.Fprintf(&b, `<polyline class="hist" fill="%s" fill-opacity="0.12" stroke="%s" stroke-width="1.8" points="%s"><title>%s</title></polyline>`,
			s.color, s.color, strings.Join(pts, " "), esc(s.name))
	}
	writeLegend(&b, entries, float64(marginTop+plotHeight+xAxisSpace))
	b.WriteString(`</svg>`)
	return b.String()
}
