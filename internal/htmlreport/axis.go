package htmlreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// legendRow is the height of a row of legend entries, and charWidth the
// average width of a 12 px character, for layout (SVG user units: pixels
// at 100% zoom).
const (
	legendRow = 20
	charWidth = 6.6
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
	return viridis(float64(i) / float64(n-1))
}

// depthColor returns the colour of layer i of n on the viridis ramp (dark
// purple for the first layer, yellow-green for the last: the ramp stops
// short of its pale yellow end, too faint for a line on white), so that
// depth reads the same way on every chart.
func depthColor(i, n int) string {
	if n <= 1 {
		return viridis(0)
	}
	return viridis(0.85 * float64(i) / float64(n-1))
}

// viridis returns the colour at t in [0, 1] of a ramp through viridis' end
// points and middle, interpolated.
func viridis(t float64) string {
	stops := [][3]float64{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}
	t = math.Max(0, math.Min(1, t))
	f := t * float64(len(stops)-1)
	k := min(int(f), len(stops)-2)
	u := f - float64(k)
	var c [3]int
	for j := range c {
		c[j] = int(math.Round(stops[k][j]*(1-u) + stops[k+1][j]*u))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
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
func linearAxis(lo, hi float64, pinZero bool) axis { return linearAxisN(lo, hi, pinZero, 5) }

// linearAxisN is linearAxis with about n ticks.
func linearAxisN(lo, hi float64, pinZero bool, n int) axis {
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
	step := niceStep(hi-lo, n)
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
func logAxis(lo, hi float64) axis { return logAxisN(lo, hi, 8) }

// logAxisN is logAxis with at most about n decade ticks.
func logAxisN(lo, hi float64, n int) axis {
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi == dlo {
		dhi++
	}
	a := axis{lo: math.Pow(10, dlo), hi: math.Pow(10, dhi), log: true}
	every := math.Ceil((dhi - dlo) / float64(n))
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
