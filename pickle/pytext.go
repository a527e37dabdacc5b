package pickle

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the text forms CPython 3.11's unpickler accepts in the
// arguments of the text opcodes: INT (C strtol in base 0, then
// PyLong_FromString), LONG (PyLong_FromString in base 0), GET and PUT
// (PyLong_FromString in base 10), FLOAT (PyOS_string_to_double), STRING
// (PyBytes_DecodeEscape) and UNICODE (raw-unicode-escape). Each function
// takes the line without its '\n'; CPython sees the text up to its first
// NUL byte.

func cutNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// pySpace is Py_ISSPACE (and C isspace in the C locale).
func pySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// pyLongText reports whether PyLong_FromString(text, NULL, base) accepts
// b (base 0 or 10). It does not apply Python 3.11's limit of 4300 decimal
// digits, which a process can lift (sys.set_int_max_str_digits) and older
// Pythons lack.
func pyLongText(b []byte, base int) bool {
	_, ok := pyLong(b, base)
	return ok
}

// pyLong parses as PyLong_FromString does; the value is only meaningful
// when it fits in an int64 (fits is false otherwise).
func pyLong(b []byte, base int) (val struct {
	n    int64
	fits bool
}, ok bool) {
	s := cutNUL(b)
	i := 0
	for i < len(s) && pySpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	at := func(k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	nonzeroErr := false
	if base == 0 {
		switch {
		case at(i) != '0':
			base = 10
		case at(i+1) == 'x' || at(i+1) == 'X':
			base = 16
		case at(i+1) == 'o' || at(i+1) == 'O':
			base = 8
		case at(i+1) == 'b' || at(i+1) == 'B':
			base = 2
		default:
			nonzeroErr = true
			base = 10
		}
	}
	if at(i) == '0' && (base == 16 && (at(i+1) == 'x' || at(i+1) == 'X') ||
		base == 8 && (at(i+1) == 'o' || at(i+1) == 'O') ||
		base == 2 && (at(i+1) == 'b' || at(i+1) == 'B')) {
		i += 2
		if at(i) == '_' {
			i++
		}
	}
	if at(i) == '_' {
		return val, false
	}
	var n uint64
	fits := true
	digits := 0
	prevUnderscore := false
	for i < len(s) {
		c := s[i]
		if c == '_' {
			if prevUnderscore {
				return val, false
			}
			prevUnderscore = true
			i++
			continue
		}
		d := digitVal(c)
		if d >= base {
			break
		}
		prevUnderscore = false
		digits++
		if n > (math.MaxUint64-uint64(d))/uint64(base) {
			fits = false
		} else {
			n = n*uint64(base) + uint64(d)
		}
		i++
	}
	if prevUnderscore || digits == 0 {
		return val, false
	}
	if nonzeroErr && (n != 0 || !fits) {
		return val, false
	}
	for i < len(s) && pySpace(s[i]) {
		i++
	}
	if i != len(s) {
		return val, false
	}
	if fits && n <= math.MaxInt64 {
		val.n, val.fits = int64(n), true
		if neg {
			val.n = -val.n
		}
	} else if fits && neg && n == 1<<63 {
		val.n, val.fits = math.MinInt64, true
	}
	return val, true
}

// pyIntText reports whether the INT opcode accepts b: C strtol(s, &end, 0)
// must stop at the end of the line (or at a NUL byte) without overflow,
// or else PyLong_FromString(s, NULL, 0) must accept the whole line.
func pyIntText(b []byte) bool {
	if strtolOK(b) {
		return true
	}
	return pyLongText(b, 0)
}

func strtolOK(b []byte) bool {
	at := func(k int) byte {
		if k < len(b) {
			return b[k]
		}
		return '\n'
	}
	i := 0
	for i < len(b) && pySpace(b[i]) {
		i++
	}
	neg := false
	if at(i) == '+' || at(i) == '-' {
		neg = at(i) == '-'
		i++
	}
	base := 10
	if at(i) == '0' {
		if (at(i+1) == 'x' || at(i+1) == 'X') && digitVal(at(i+2)) < 16 {
			base = 16
			i += 2
		} else {
			base = 8
		}
	}
	start := i
	var n uint64
	over := false
	for ; i < len(b); i++ {
		d := digitVal(b[i])
		if d >= base {
			break
		}
		if n > (math.MaxUint64-uint64(d))/uint64(base) {
			over = true
		} else {
			n = n*uint64(base) + uint64(d)
		}
	}
	var end byte
	if i == start {
		end = at(0) // no conversion: endptr is the start of the text
	} else {
		end = at(i)
	}
	if end != '\n' && end != 0 {
		return false
	}
	if over || !neg && n > math.MaxInt64 || neg && n > 1<<63 {
		return false // ERANGE
	}
	return true
}

// pyDecimal parses a GET or PUT index as PyLong_FromString(s, NULL, 10)
// and PyLong_AsSsize_t do.
func pyDecimal(b []byte) (int64, bool) {
	v, ok := pyLong(b, 10)
	if !ok || !v.fits {
		return 0, false
	}
	return v.n, true
}

// pyFloatText reports whether the FLOAT opcode accepts b
// (PyOS_string_to_double, which raises on overflow).
func pyFloatText(b []byte) bool {
	s := string(cutNUL(b))
	if s == "" {
		return false
	}
	t := s
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
	}
	switch strings.ToLower(t) {
	case "inf", "infinity", "nan":
		return true
	}
	i, digits := 0, 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
		digits++
	}
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		k := j
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	if i != len(t) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && math.IsInf(f, 0) {
		return false // overflow
	}
	return true
}

// decodeEscape decodes a STRING opcode's quoted text as
// PyBytes_DecodeEscape does, and reports false where it raises (a \x
// without two hex digits, a trailing backslash).
func decodeEscape(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, false
		}
		switch c = b[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'v':
			out = append(out, '\v')
		case 'a':
			out = append(out, '\a')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 < len(b)+0 && digitVal(b[i+1]) < 16 && digitVal(b[i+2]) < 16 {
				out = append(out, byte(digitVal(b[i+1])<<4|digitVal(b[i+2])))
				i += 2
			} else {
				return nil, false
			}
		default:
			out = append(out, '\\', c)
		}
	}
	return out, true
}

// validRawUnicodeEscape reports whether raw-unicode-escape decoding
// accepts b: a \u needs four hex digits and a \U eight, at most 10FFFF,
// when an odd number of backslashes precedes the u.
func validRawUnicodeEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		if (j-i)%2 == 0 || j >= len(b) || (b[j] != 'u' && b[j] != 'U') {
			i = j - 1
			continue
		}
		n := 4
		if b[j] == 'U' {
			n = 8
		}
		if j+1+n > len(b) {
			return false
		}
		var v uint64
		for _, c := range b[j+1 : j+1+n] {
			d := digitVal(c)
			if d >= 16 {
				return false
			}
			v = v<<4 | uint64(d)
		}
		if v > 0x10FFFF {
			return false
		}
		i = j + n
	}
	return true
}

// decodeRawUnicodeEscape decodes Python's raw-unicode-escape: \uXXXX and
// \UXXXXXXXX escapes after an odd number of backslashes, every other byte
// a Latin-1 character. Surrogates become U+FFFD.
func decodeRawUnicodeEscape(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			sb.WriteRune(rune(b[i]))
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		if (j-i)%2 == 1 && j < len(b) && (b[j] == 'u' || b[j] == 'U') {
			n := 4
			if b[j] == 'U' {
				n = 8
			}
			if j+1+n <= len(b) {
				if r, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32); err == nil && r <= 0x10FFFF {
					for k := i; k < j-1; k++ {
						sb.WriteByte('\\')
					}
					sb.WriteRune(rune(r))
					i = j + n
					continue
				}
			}
		}
		for k := i; k < j; k++ {
			sb.WriteByte('\\')
		}
		i = j - 1
	}
	return sb.String()
}

// validUTF8 reports whether b is strict UTF-8 (surrogates refused), as
// GLOBAL's names are decoded.
func validUTF8(b []byte) bool { return utf8.Valid(b) }

// validUTF8Surrogates reports whether b decodes as UTF-8 with the
// "surrogatepass" error handler, as BINUNICODE's text is decoded.
func validUTF8Surrogates(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			if len(b) >= 3 && b[0] == 0xED && b[1] >= 0xA0 && b[1] <= 0xBF && b[2] >= 0x80 && b[2] <= 0xBF {
				b = b[3:]
				continue
			}
			return false
		}
		b = b[n:]
	}
	return true
}
