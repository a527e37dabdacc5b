// Package output writes command results as aligned tables, CSV or JSON, with
// the number and byte formatting every command shares.
//
// JSON conventions: snake_case keys; a statistic that does not exist (the
// mean of an empty tensor) is null; a float that is NaN or infinite is
// written as the string "NaN", "Infinity" or "-Infinity" (see [Float]), so
// encoding never fails and every value survives a round trip.
package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is an output format.
type Format string

// The formats every command accepts with --format.
const (
	Table Format = "table"
	JSON  Format = "json"
	CSV   Format = "csv"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Table, JSON, CSV:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q (want table, json or csv)", s)
}

// Float is a float64 that encodes NaN and ±Inf in JSON as strings.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler, accepting the strings written
// by MarshalJSON.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = Float(math.NaN())
		return nil
	case `"Infinity"`:
		*f = Float(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = Float(math.Inf(-1))
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = Float(x)
	return nil
}

// Opt returns a pointer to x as a Float, or nil (JSON null) when ok is false.
func Opt(x float64, ok bool) *Float {
	if !ok {
		return nil
	}
	f := Float(x)
	return &f
}

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Num formats a float for tables: 4 significant digits, "-" for a missing
// value.
func Num(f *Float) string {
	if f == nil {
		return "-"
	}
	return NumF(float64(*f))
}

// NumF formats a float for tables with 4 significant digits.
func NumF(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case x == 0:
		return "0"
	}
	a := math.Abs(x)
	if a >= 1e-3 && a < 1e5 {
		s := strconv.FormatFloat(x, 'g', 4, 64)
		return s
	}
	return strconv.FormatFloat(x, 'e', 3, 64)
}

// Count formats an integer count with thousands separators.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Bytes formats a byte count in binary units: "512 B", "1.5 KiB", "2.3 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Shape formats a shape as "[d0, d1]" ("[]" for a 0-dim tensor).
func Shape(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ShapeCompact formats a shape as "d0x d1" without spaces: "264x64", "scalar".
func ShapeCompact(s []int64) string {
	if len(s) == 0 {
		return "scalar"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(parts, "x")
}

// Align says how a table column is aligned.
type Align uint8

// Column alignments.
const (
	Left Align = iota
	Right
)

// TableWriter collects rows and writes them as an aligned text table or as
// CSV.
type TableWriter struct {
	Headers []string
	Align   []Align // per column; missing entries are Left
	Rows    [][]string
	// MaxWidth bounds the width of the text table's lines, in columns (0:
	// no bound). To fit, columns with a Drop rank are left out, the highest
	// rank first, as long as the Elastic column would otherwise be shorter
	// than MinElastic or two of its cells would look the same; then its
	// cells are shortened in the middle (ShortenMiddle). Hidden tells what
	// was left out.
	MaxWidth int
	// Elastic is the column that shrinks to fit MaxWidth (the names).
	Elastic int
	// MinElastic is the narrowest the Elastic column gets before columns
	// are dropped (default 30).
	MinElastic int
	// Drop ranks the columns that may be left out to fit MaxWidth: higher
	// ranks go first; 0 (or a missing entry) is never left out.
	Drop []int

	hidden []string
}

// Add appends a row.
func (t *TableWriter) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Hidden returns the headers of the columns the last WriteText left out to
// fit MaxWidth.
func (t *TableWriter) Hidden() []string { return t.hidden }

// layout returns the columns to show and their widths.
func (t *TableWriter) layout() (cols, width []int) {
	natural := make([]int, len(t.Headers))
	measure := func(row []string) {
		for i, c := range row {
			if i < len(natural) {
				natural[i] = max(natural[i], utf8.RuneCountInString(c))
			}
		}
	}
	measure(t.Headers)
	for _, r := range t.Rows {
		measure(r)
	}
	show := make([]bool, len(natural))
	for i := range show {
		show[i] = true
	}
	t.hidden = nil
	total := func() int {
		n := 0
		for i, w := range natural {
			if show[i] {
				n += w + 2
			}
		}
		return n - 2
	}
	if t.MaxWidth > 0 && t.Elastic < len(natural) {
		minE := t.MinElastic
		if minE == 0 {
			minE = 30
		}
		minE = min(max(minE, utf8.RuneCountInString(t.Headers[t.Elastic])), natural[t.Elastic])
		full := natural[t.Elastic]
		// Leave out columns, the highest rank first, while the names would
		// be narrower than minE, or would shorten to the same text.
		for {
			natural[t.Elastic] = full
			if over := total() - t.MaxWidth; over > 0 {
				natural[t.Elastic] = max(full-over, 1)
			}
			if natural[t.Elastic] >= minE && t.distinct(natural[t.Elastic]) {
				break
			}
			drop, rank := -1, 0
			for i := range natural {
				if show[i] && i < len(t.Drop) && t.Drop[i] > rank {
					drop, rank = i, t.Drop[i]
				}
			}
			if drop < 0 {
				// Nothing more to leave out: the names get what is left
				// (the lines fit), down to a few characters.
				natural[t.Elastic] = max(natural[t.Elastic], min(minE, 8))
				break
			}
			show[drop] = false
		}
		for i := range natural {
			if !show[i] {
				t.hidden = append(t.hidden, t.Headers[i])
			}
		}
	}
	for i := range natural {
		if show[i] {
			cols = append(cols, i)
			width = append(width, natural[i])
		}
	}
	return cols, width
}

// distinct reports whether the Elastic column's cells stay distinct when
// shortened to width.
func (t *TableWriter) distinct(width int) bool {
	seen := map[string]string{}
	for _, r := range t.Rows {
		if t.Elastic >= len(r) {
			continue
		}
		short := ShortenMiddle(r[t.Elastic], width)
		if orig, ok := seen[short]; ok && orig != r[t.Elastic] {
			return false
		}
		seen[short] = r[t.Elastic]
	}
	return true
}

// WriteText writes the table with columns padded to a common width and
// separated by two spaces, fitted to MaxWidth.
func (t *TableWriter) WriteText(w io.Writer) error {
	cols, width := t.layout()
	var out, l strings.Builder
	line := func(row []string) {
		l.Reset()
		defer func() { out.WriteString(strings.TrimRight(l.String(), " ") + "\n") }()
		out := &l
		for k, i := range cols {
			c := ""
			if i < len(row) {
				c = row[i]
			}
			if i == t.Elastic {
				c = ShortenMiddle(c, width[k])
			}
			pad := width[k] - utf8.RuneCountInString(c)
			if k > 0 {
				out.WriteString("  ")
			}
			if i < len(t.Align) && t.Align[i] == Right {
				out.WriteString(strings.Repeat(" ", max(pad, 0)))
				out.WriteString(c)
			} else {
				out.WriteString(c)
				if k < len(cols)-1 {
					out.WriteString(strings.Repeat(" ", max(pad, 0)))
				}
			}
		}
	}
	line(t.Headers)
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// ShortenMiddle keeps s within width runes by replacing its middle with
// "…"; s is returned as is when it fits. A dotted name keeps its head up
// to its first numeric component when the rest still shows (the layer:
// model.layers.12.…o_proj.weight), else its first half.
func ShortenMiddle(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width < 2 {
		return string(r[:max(width, 0)])
	}
	keep := width - 1
	head := keep - keep/2
	parts := strings.Split(s, ".")
	n := 0
	for _, p := range parts[:len(parts)-1] {
		n += len([]rune(p)) + 1
		if _, err := strconv.Atoi(p); err == nil {
			if n <= keep-8 {
				head = n
			}
			break
		}
	}
	return string(r[:head]) + "…" + string(r[len(r)-(keep-head):])
}

// Wrap breaks text into lines of at most width runes at spaces (0: no
// bound), the lines after the first starting with indent. A word longer
// than a line is cut.
func Wrap(text string, width int, indent string) []string {
	if width <= 0 || utf8.RuneCountInString(text) <= width {
		return []string{text}
	}
	lead := text[:len(text)-len(strings.TrimLeft(text, " "))]
	var lines []string
	line := []rune(lead)
	empty := true // no word on the line yet
	for _, word := range glueUnits(strings.Fields(text)) {
		w := []rune(word)
		if !empty && len(line)+1+len(w) > width {
			lines = append(lines, string(line))
			line, empty = []rune(indent), true
		}
		if !empty {
			line = append(line, ' ')
		}
		for len(line)+len(w) > width && width > len(line) {
			cut := width - len(line)
			lines = append(lines, string(append(line, w[:cut]...)))
			line, w = []rune(indent), w[cut:]
		}
		line = append(line, w...)
		empty = false
	}
	return append(lines, string(line))
}

// glueUnits joins a byte unit to its number ("1.6 MiB"), so that Wrap
// does not break between them.
func glueUnits(words []string) []string {
	out := words[:0:0]
	for _, w := range words {
		switch w {
		case "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB":
			if len(out) > 0 {
				out[len(out)-1] += " " + w
				continue
			}
		}
		out = append(out, w)
	}
	return out
}

// Fprintw writes a formatted paragraph wrapped to width (see Wrap), the
// continuation lines indented by indent.
func Fprintw(w io.Writer, width int, indent, format string, args ...any) {
	for _, l := range Wrap(fmt.Sprintf(format, args...), width, indent) {
		fmt.Fprintln(w, l)
	}
}

// WriteCSV writes the header and rows as CSV.
func (t *TableWriter) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Headers); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// RightAligned returns the alignment of a table of n columns whose first
// column (names) is left-aligned and the others (figures) right-aligned.
func RightAligned(n int) []Align {
	a := make([]Align, n)
	for i := 1; i < n; i++ {
		a[i] = Right
	}
	return a
}

// ParseSize parses a byte count such as 5GB (10⁹), 500MB, 2GiB (2³⁰) or
// 123456.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return int64(f * float64(mult)), nil
}

// ParseRange parses "LO,HI", two finite numbers with LO < HI.
func ParseRange(s string) ([]float64, error) {
	lo, hi, ok := strings.Cut(s, ",")
	if ok {
		a, errA := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		b, errB := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if errA == nil && errB == nil && a < b && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
			return []float64{a, b}, nil
		}
	}
	return nil, fmt.Errorf("%q: want LO,HI with LO < HI, both finite", s)
}

// OneLine joins the lines of s (an error's text, say) into one, its runs
// of white space made single spaces.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
