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
}

// Add appends a row.
func (t *TableWriter) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// WriteText writes the table with columns padded to a common width and
// separated by two spaces.
func (t *TableWriter) WriteText(w io.Writer) error {
	width := make([]int, len(t.Headers))
	measure := func(row []string) {
		for i, c := range row {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	measure(t.Headers)
	for _, r := range t.Rows {
		measure(r)
	}
	var b strings.Builder
	line := func(row []string) {
		b.Reset()
		for i := range width {
			c := ""
			if i < len(row) {
				c = row[i]
			}
			pad := width[i] - utf8.RuneCountInString(c)
			right := i < len(t.Align) && t.Align[i] == Right
			if i > 0 {
				b.WriteString("  ")
			}
			if right {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(c)
			} else {
				b.WriteString(c)
				if i < len(width)-1 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		b.WriteString("\n")
	}
	var out strings.Builder
	line(t.Headers)
	out.WriteString(b.String())
	for _, r := range t.Rows {
		line(r)
		out.WriteString(b.String())
	}
	_, err := io.WriteString(w, out.String())
	return err
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
