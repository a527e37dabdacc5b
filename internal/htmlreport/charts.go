package htmlreport

import (
	"math"
	"strings"
)

// geom is the geometry of a chart, in SVG user units (pixels at 100%
// zoom): its width, the plot's height, the margins around the plot, and
// the room under it for tick labels and the x axis title.
type geom struct {
	W, PlotH, Left, Right, Top, XSpace float64
}

// Geometries of a full-width chart (two per row of a 1400 px page) and of
// a small multiple (four per row).
var (
	fullGeom  = geom{W: 640, PlotH: 240, Left: 78, Right: 24, Top: 40, XSpace: 50}
	smallGeom = geom{W: 306, PlotH: 176, Left: 70, Right: 18, Top: 32, XSpace: 42}
)

func (g geom) x0() float64 { return g.Left }
func (g geom) x1() float64 { return g.W - g.Right }
func (g geom) y0() float64 { return g.Top + g.PlotH } // the plot's bottom
func (g geom) y1() float64 { return g.Top }

// maxMarks is the most point markers (each with its tooltip) a chart
// draws; beyond it, lines carry the tooltips.
const maxMarks = 700

// curve is one line of a chart. NaN values (and values ≤ 0 on a log
// axis) are gaps.
type curve struct {
	name   string
	values []float64
	color  string
	dashed bool
	marker int // point shape, see mark
}

// legendEntry is one entry of a chart's legend.
type legendEntry struct {
	name   string
	color  string
	dashed bool
	marker int
	box    bool // a filled box (bars, heatmap colours) rather than a line sample
}

// layoutLegend places the entries in rows under the plot, from y top; it
// returns the items and the height used.
func layoutLegend(entries []legendEntry, g geom, top float64) ([]legendItem, float64) {
	if len(entries) == 0 {
		return nil, 0
	}
	var out []legendItem
	x0, width := g.Left, g.W-g.Left-g.Right
	if g.W < fullGeom.W {
		x0, width = 10, g.W-20
	}
	x, y := x0, 0.0
	for _, e := range entries {
		w := 34 + float64(len([]rune(e.name)))*charWidth + 14
		if x > x0 && x+w > x0+width {
			x, y = x0, y+legendRow
		}
		out = append(out, legendItem{X: x, Y: top + y + legendRow/2, Name: e.name, Color: e.color, Dashed: e.dashed, Box: e.box, Marker: e.marker})
		x += w
	}
	return out, y + legendRow
}

// legendHeight returns the height layoutLegend uses.
func legendHeight(entries []legendEntry, g geom) float64 {
	_, h := layoutLegend(entries, g, 0)
	return h
}

// start returns a chart with its title, size and legend placed.
func start(id, title string, g geom, plotH float64, entries []legendEntry) *svgChart {
	lh := legendHeight(entries, g)
	c := &svgChart{ID: id, Title: title, W: g.W, TitleX: g.Left, H: g.Top + plotH + g.XSpace + lh + 8}
	if g.W < fullGeom.W {
		c.TitleX = 10
	}
	c.Legend, _ = layoutLegend(entries, g, g.Top+plotH+g.XSpace)
	return c
}

// yAxis adds the y grid, tick labels, axis lines and the y title.
func (c *svgChart) yAxis(a axis, g geom, title string) {
	x0, x1, y0, y1 := g.x0(), g.x1(), g.y0(), g.y1()
	for _, t := range a.ticks {
		y := a.pos(t, y0, y1)
		c.Grid = append(c.Grid, seg{x0, y, x1, y})
		c.YTicks = append(c.YTicks, label{X: x0 - 6, Y: y, Text: tickLabel(t), Anchor: "end", Baseline: true})
	}
	c.Axes = append(c.Axes, seg{x0, y0, x0, y1}, seg{x0, y0, x1, y0})
	c.AxisLabel = append(c.AxisLabel, label{X: 14, Y: (y0 + y1) / 2, Text: title, Anchor: "middle", Rotate: true, Class: "axis-label"})
}

// xTitle adds the x axis title under the tick labels.
func (c *svgChart) xTitle(g geom, title string) {
	c.AxisLabel = append(c.AxisLabel, label{X: (g.x0() + g.x1()) / 2, Y: g.y0() + g.XSpace - 10, Text: title, Anchor: "middle", Class: "axis-label"})
}

// valueRange returns the smallest and largest drawable values.
func valueRange(ss []curve, logY bool) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, v := range s.values {
			if math.IsNaN(v) || math.IsInf(v, 0) || (logY && v <= 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// spansDecades reports whether positive values from lo to hi are better
// read on a log axis.
func spansDecades(lo, hi float64) bool { return lo > 0 && hi/lo >= 30 }

// lineChart is a chart of series over categories (layers, ...) or over
// numeric x values (steps), shared by all series.
type lineChart struct {
	id, title      string
	xLabel, yLabel string
	categories     []string  // the x positions' names, evenly spaced; or
	x              []float64 // numeric x positions (then categories is nil)
	xName          string    // tooltips' name of an x value: "step"
	series         []curve
	logY           bool
	autoLog        bool // log y when the values span decades
	pinZero        bool // a linear y axis includes 0
	// legend, when set, replaces the one entry per series.
	legend []legendEntry
	g      geom
}

// build lays the chart out, or returns nil when no series has a value.
func (c *lineChart) build() *svgChart {
	g := c.g
	if g.W == 0 {
		g = fullGeom
	}
	logY := c.logY
	lo, hi := valueRange(c.series, false)
	if c.autoLog && !logY {
		if plo, phi := valueRange(c.series, true); plo <= phi && spansDecades(plo, phi) {
			logY, lo, hi = true, plo, phi
		}
	}
	if logY {
		lo, hi = valueRange(c.series, true)
	}
	if lo > hi {
		return nil
	}
	var ya axis
	switch {
	case logY && g.W < fullGeom.W:
		ya = logAxisN(lo, hi, 5)
	case logY:
		ya = logAxis(lo, hi)
	case g.W < fullGeom.W:
		ya = linearAxisN(lo, hi, c.pinZero, 4)
	default:
		ya = linearAxis(lo, hi, c.pinZero)
	}
	yLabel := c.yLabel
	if logY && !c.logY {
		yLabel = strings.TrimSuffix(yLabel, ")") + ", log)"
	}
	entries := c.legend
	if entries == nil {
		for _, s := range c.series {
			entries = append(entries, legendEntry{name: s.name, color: s.color, dashed: s.dashed, marker: s.marker})
		}
	}
	ch := start(c.id, c.title, g, g.PlotH, entries)
	ch.yAxis(ya, g, yLabel)
	x0, x1, y0, y1 := g.x0(), g.x1(), g.y0(), g.y1()
	n := len(c.categories)
	var xAt func(i int) float64
	var names []string
	if c.categories != nil {
		xAt = func(i int) float64 { return x0 + (float64(i)+0.5)*(x1-x0)/float64(n) }
		every := (n + 15) / 16
		if g.W < fullGeom.W {
			every = (n + 7) / 8
		}
		for i, cat := range c.categories {
			if i%every == 0 || i == n-1 {
				ch.XTicks = append(ch.XTicks, label{X: xAt(i), Y: y0 + 16, Text: cat, Anchor: "middle"})
			}
		}
		names = c.categories
	} else {
		n = len(c.x)
		xlo, xhi := math.Inf(1), math.Inf(-1)
		for _, v := range c.x {
			xlo, xhi = math.Min(xlo, v), math.Max(xhi, v)
		}
		if n == 0 {
			return nil
		}
		xa := exactAxis(xlo, xhi)
		if xlo == xhi {
			xa = linearAxis(xlo, xhi, false)
		}
		if g.W < fullGeom.W {
			xa.ticks = multiples(xa.lo, xa.hi, niceStep(xa.hi-xa.lo, 4))
		}
		pad := 0.03 * (x1 - x0)
		xAt = func(i int) float64 { return xa.pos(c.x[i], x0+pad, x1-pad) }
		for _, t := range xa.ticks {
			ch.XTicks = append(ch.XTicks, label{X: xa.pos(t, x0+pad, x1-pad), Y: y0 + 16, Text: tickLabel(t), Anchor: "middle"})
		}
		for _, v := range c.x {
			names = append(names, c.xName+" "+tickLabel(v))
		}
	}
	ch.xTitle(g, c.xLabel)
	points := 0
	for _, s := range c.series {
		points += len(s.values)
	}
	size := 5.0
	if g.W < fullGeom.W {
		size = 3.2
	}
	for _, s := range c.series {
		ss := svgSeries{Color: s.color, Dashed: s.dashed, Width: 2}
		if g.W < fullGeom.W {
			ss.Width = 1.6
		}
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				ss.Lines = append(ss.Lines, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		var tips []string
		for i, v := range s.values {
			if i >= n || math.IsNaN(v) || math.IsInf(v, 0) || (logY && v <= 0) {
				flush()
				continue
			}
			x, y := xAt(i), ya.pos(v, y0, y1)
			pts = append(pts, n1(x)+","+n1(y))
			tip := s.name + ", " + names[i] + ": " + valueLabel(v)
			if points <= maxMarks {
				ss.Marks = append(ss.Marks, mark{Shape: s.marker, X: x, Y: y, R: size, Tip: tip})
			} else {
				tips = append(tips, names[i]+": "+valueLabel(v))
			}
		}
		flush()
		if len(tips) > 0 {
			ss.Tip = s.name + " — " + strings.Join(tips, "; ")
			if len(ss.Lines) == 0 { // isolated points: still mark them
				for i, v := range s.values {
					if i < n && !math.IsNaN(v) && !math.IsInf(v, 0) && !(logY && v <= 0) {
						ss.Marks = append(ss.Marks, mark{Shape: s.marker, X: xAt(i), Y: ya.pos(v, y0, y1), R: size, Tip: s.name + ", " + names[i] + ": " + valueLabel(v)})
					}
				}
			}
		}
		ch.Series = append(ch.Series, ss)
	}
	return ch
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

func (c *barChart) build() *svgChart {
	if len(c.values) == 0 {
		return nil
	}
	g := fullGeom
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
	ch := start(c.id, c.title, g, plotH, entries)
	x0, x1 := left, g.W-g.Right-40
	y0 := g.Top
	for _, t := range xa.ticks {
		x := xa.pos(t, x0, x1)
		ch.Grid = append(ch.Grid, seg{x, y0, x, y0 + plotH})
		ch.XTicks = append(ch.XTicks, label{X: x, Y: y0 + plotH + 16, Text: tickLabel(t), Anchor: "middle"})
	}
	ch.Axes = append(ch.Axes, seg{x0, y0, x0, y0 + plotH}, seg{x0, y0 + plotH, x1, y0 + plotH})
	ch.AxisLabel = append(ch.AxisLabel, label{X: (x0 + x1) / 2, Y: y0 + plotH + 40, Text: c.xLabel, Anchor: "middle", Class: "axis-label"},
		label{X: x0 - 6, Y: y0 - 8, Text: c.yLabel, Anchor: "end", Class: "axis-label"})
	bars := &svgBars{Color: c.color}
	for i, v := range c.values {
		y := y0 + float64(i*rowH)
		name := c.labels[i]
		if r := []rune(name); len(r) > maxChars {
			keep := maxChars - 1
			name = string(r[:keep/2]) + "…" + string(r[len(r)-(keep-keep/2):])
		}
		w := 0.0
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			w = xa.pos(v, x0, x1) - x0
		}
		bars.Items = append(bars.Items, bar{X: x0, Y: y + 4, W: w, H: rowH - 8, Tip: c.labels[i] + ": " + valueLabel(v),
			Name:  label{X: x0 - 6, Y: y + rowH/2, Text: name, Anchor: "end", Baseline: true, Class: "bar-label"},
			Value: label{X: x0 + w + 4, Y: y + rowH/2, Text: valueLabel(v), Baseline: true, Class: "bar-value"}})
	}
	ch.Bars = bars
	return ch
}

// histChart draws histograms as filled step outlines: each series has its
// bins' edges (len(counts)+1 of them, increasing). The x axis spans the
// edges of every series, on a log scale with logX.
type histChart struct {
	id, title      string
	xLabel, yLabel string
	logX           bool
	series         []histSeries
	g              geom
}

type histSeries struct {
	name   string
	edges  []float64
	counts []int64
	color  string
}

func (c *histChart) build() *svgChart {
	g := c.g
	if g.W == 0 {
		g = fullGeom
	}
	var most int64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, k := range s.counts {
			most = max(most, k)
		}
		if len(s.edges) > 1 {
			lo, hi = math.Min(lo, s.edges[0]), math.Max(hi, s.edges[len(s.edges)-1])
		}
	}
	if len(c.series) == 0 || !(lo < hi) || (c.logX && lo <= 0) {
		return nil
	}
	var xa axis
	switch {
	case c.logX && g.W < fullGeom.W:
		xa = logAxisN(lo, hi, 4)
	case c.logX:
		xa = logAxis(lo, hi)
	default:
		xa = exactAxis(lo, hi)
		if g.W < fullGeom.W {
			xa.ticks = multiples(lo, hi, niceStep(hi-lo, 4))
		}
	}
	ya := linearAxis(0, float64(max(most, 1)), true)
	entries := make([]legendEntry, len(c.series))
	for i, s := range c.series {
		entries[i] = legendEntry{name: s.name, color: s.color, box: true}
	}
	ch := start(c.id, c.title, g, g.PlotH, entries)
	ch.yAxis(ya, g, c.yLabel)
	x0, x1, y0, y1 := g.x0(), g.x1(), g.y0(), g.y1()
	for _, t := range xa.ticks {
		ch.XTicks = append(ch.XTicks, label{X: xa.pos(t, x0, x1), Y: y0 + 16, Text: tickLabel(t), Anchor: "middle"})
	}
	ch.xTitle(g, c.xLabel)
	for _, s := range c.series {
		if len(s.counts) == 0 || len(s.edges) != len(s.counts)+1 {
			continue
		}
		pts := []string{n1(xa.pos(s.edges[0], x0, x1)) + "," + n1(y0)}
		for i, k := range s.counts {
			y := ya.pos(float64(k), y0, y1)
			pts = append(pts, n1(xa.pos(s.edges[i], x0, x1))+","+n1(y), n1(xa.pos(s.edges[i+1], x0, x1))+","+n1(y))
		}
		pts = append(pts, n1(xa.pos(s.edges[len(s.edges)-1], x0, x1))+","+n1(y0))
		ch.Areas = append(ch.Areas, svgArea{Color: s.color, Points: strings.Join(pts, " "), Tip: s.name})
	}
	return ch
}

// heatmap draws values on a grid of rows and columns, coloured on a log
// scale of the viridis ramp; NaN values have no cell.
type heatmap struct {
	id, title      string
	xLabel, yLabel string
	rows, cols     []string
	values         [][]float64 // [row][col]
	what           string      // the values' name, for tooltips and the legend
}

func (c *heatmap) build() *svgChart {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range c.values {
		for _, v := range r {
			if v > 0 && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi || len(c.rows) == 0 || len(c.cols) == 0 {
		return nil
	}
	g := fullGeom
	g.Left = 96
	cellH := math.Max(6, math.Min(24, 360/float64(len(c.rows))))
	plotH := cellH * float64(len(c.rows))
	longest := 0
	for _, col := range c.cols {
		longest = max(longest, len([]rune(col)))
	}
	g.XSpace = 12 + float64(longest)*charWidth + 26 // rotated column names, then the axis title
	colour := func(v float64) string {
		if hi == lo {
			return viridis(0.5)
		}
		return viridis((math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo)))
	}
	var entries []legendEntry
	for _, v := range []float64{lo, math.Sqrt(lo * hi), hi} {
		entries = append(entries, legendEntry{name: c.what + " " + valueLabel(v), color: colour(v), box: true})
		if hi == lo {
			break
		}
	}
	ch := start(c.id, c.title, g, plotH, entries)
	x0, x1, y0 := g.Left, g.W-g.Right, g.Top
	cellW := (x1 - x0) / float64(len(c.cols))
	ch.CellText = cellH >= 16 && cellW >= 44
	for i, r := range c.rows {
		ch.YTicks = append(ch.YTicks, label{X: x0 - 6, Y: y0 + (float64(i)+0.5)*cellH, Text: r, Anchor: "end", Baseline: true})
		for j, v := range c.values[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				continue
			}
			t := (math.Log10(v) - math.Log10(lo)) / math.Max(math.Log10(hi)-math.Log10(lo), 1e-300)
			ch.Cells = append(ch.Cells, svgCell{X: x0 + float64(j)*cellW + 0.5, Y: y0 + float64(i)*cellH + 0.5, W: cellW - 1, H: cellH - 1,
				Fill: colour(v), Tip: r + ", " + c.cols[j] + ": " + c.what + " " + valueLabel(v), Text: tickLabel3(v), Dark: t < 0.55})
		}
	}
	for j, col := range c.cols {
		x := x0 + (float64(j)+0.5)*cellW
		ch.XTicks = append(ch.XTicks, label{X: x, Y: y0 + plotH + 8, Text: col, Anchor: "end", Rotate: true})
	}
	ch.Axes = append(ch.Axes, seg{x0, y0, x0, y0 + plotH}, seg{x0, y0 + plotH, x1, y0 + plotH})
	ch.AxisLabel = append(ch.AxisLabel, label{X: 15, Y: y0 + plotH/2, Text: c.yLabel, Anchor: "middle", Rotate: true, Class: "axis-label"},
		label{X: (x0 + x1) / 2, Y: y0 + plotH + g.XSpace - 10, Text: c.xLabel, Anchor: "middle", Class: "axis-label"})
	return ch
}

// tickLabel3 formats a value in three significant digits, for a heatmap
// cell.
func tickLabel3(v float64) string {
	s := valueLabel(v)
	if m, e, ok := strings.Cut(s, "e"); ok && len(m) > 4 {
		return m[:4] + "e" + e
	}
	return s
}
