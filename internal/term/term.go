// Package term tells whether output goes to a terminal and how many
// columns it may use, so that tables and the progress bar fit.
package term

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// IsTerminal reports whether w is a terminal that understands cursor
// movement (a character device, TERM not "dumb").
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Width returns the columns text written to w may use: $COLUMNS when it
// is set to a positive number, else the width of the terminal w is, else 0
// (no bound: w is a file or a pipe).
func Width(w io.Writer) int {
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok && IsTerminal(f) {
		return size(f)
	}
	return 0
}
