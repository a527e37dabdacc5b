package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	b := New(&bytes.Buffer{}, "scan", 1<<30, false)
	b.Add(1 << 29)
	got := b.line(time.Second, 120)
	for _, want := range []string{"50%", "512.0 MiB / 1.0 GiB", "512.0 MiB/s", "ETA 1s"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
}

// TestLineFits draws the bar at every width from 1 to 130 columns: it never
// reaches the last column (which would wrap), and what it keeps is what
// matters most (the bar and percentage, then the sizes, then the rate).
func TestLineFits(t *testing.T) {
	b := New(&bytes.Buffer{}, "report: stats 12/40", 5<<30, false)
	b.Add(3 << 30)
	for width := 1; width <= 130; width++ {
		got := b.line(1500*time.Millisecond, width)
		if n := utf8.RuneCountInString(got); n >= width && width > 1 {
			t.Errorf("width %d: %d columns: %q", width, n, got)
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("width %d: line break in %q", width, got)
		}
		switch {
		case width >= 100 && !strings.Contains(got, "ETA"):
			t.Errorf("width %d: no ETA in %q", width, got)
		case width >= 80 && !strings.Contains(got, "3.0 GiB / 5.0 GiB"):
			t.Errorf("width %d: no sizes in %q", width, got)
		case width >= 20 && !strings.Contains(got, "60%"):
			t.Errorf("width %d: no percentage in %q", width, got)
		}
	}
}

func TestDisabledDrawsNothing(t *testing.T) {
	var w bytes.Buffer
	b := New(&w, "scan", 100, false)
	b.Add(100)
	b.Finish()
	if w.Len() != 0 || b.Done() != 100 {
		t.Errorf("disabled bar wrote %q, done %d", w.String(), b.Done())
	}
}

// TestEnabledDraws checks that the bar redraws in place: every drawing
// starts with a carriage return, erases the rest of the line, and fits in
// $COLUMNS; nothing ends a line.
func TestEnabledDraws(t *testing.T) {
	t.Setenv("COLUMNS", "60")
	var w syncBuf
	b := New(&w, "verify", 100, true)
	b.Add(50)
	time.Sleep(450 * time.Millisecond)
	b.Finish()
	out := w.String()
	if !strings.Contains(out, "50%") || strings.Contains(out, "\n") {
		t.Errorf("enabled bar drew %q", out)
	}
	for _, draw := range strings.Split(out, "\r")[1:] {
		line := strings.TrimSuffix(draw, "\x1b[K")
		if n := utf8.RuneCountInString(line); n >= 60 {
			t.Errorf("a drawing of %d columns: %q", n, line)
		}
	}
}
