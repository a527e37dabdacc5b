// Package progress draws a one-line progress bar (bytes done, rate, ETA) on
// a terminal, redrawn in place: the line is fitted to the terminal's width
// (asked again at every redraw, so a resized window is followed), so that
// it never wraps into a trail of lines. A disabled bar costs one atomic add
// per update and draws nothing, so callers need not check whether output
// is a terminal.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/term"
)

// Bar is a progress bar over a known number of bytes.
type Bar struct {
	w       io.Writer
	label   string
	total   int64
	done    atomic.Int64
	start   time.Time
	stop    chan struct{}
	stopped sync.WaitGroup
	enabled bool
}

// New starts a bar over total bytes drawn on w every 200 ms when enabled.
func New(w io.Writer, label string, total int64, enabled bool) *Bar {
	b := &Bar{w: w, label: label, total: total, start: time.Now(), stop: make(chan struct{}), enabled: enabled && total > 0}
	if b.enabled {
		b.stopped.Add(1)
		go b.loop()
	}
	return b
}

// Add records n more bytes done. It is safe for concurrent use.
func (b *Bar) Add(n int64) { b.done.Add(n) }

// Done returns the bytes recorded so far.
func (b *Bar) Done() int64 { return b.done.Load() }

// Finish stops drawing and erases the bar.
func (b *Bar) Finish() {
	if !b.enabled {
		return
	}
	close(b.stop)
	b.stopped.Wait()
	fmt.Fprint(b.w, "\r\x1b[K")
}

func (b *Bar) loop() {
	defer b.stopped.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			width := term.Width(b.w)
			if width <= 0 {
				width = 80
			}
			fmt.Fprint(b.w, "\r"+b.line(time.Since(b.start), width)+"\x1b[K")
		}
	}
}

// line renders the bar for the elapsed time in fewer than width columns
// (a line filling the last column would wrap on some terminals): the bar
// shrinks first, then the rate and ETA, the sizes and the label go.
func (b *Bar) line(elapsed time.Duration, width int) string {
	done := min(b.done.Load(), b.total)
	frac := float64(done) / float64(b.total)
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	eta := "?"
	if rate > 0 && done > 0 {
		eta = time.Duration(float64(b.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := fmt.Sprintf("%3.0f%%", frac*100)
	// Sizes padded to a fixed width, so that the bar keeps its length.
	parts := []string{fmt.Sprintf("  %10s / %s", output.Bytes(done), output.Bytes(b.total)), fmt.Sprintf("  %10s/s  ETA %s", output.Bytes(int64(rate)), eta)}
	room := width - 1
	label := b.label + " "
	for {
		n := utf8.RuneCountInString(label) + len(pct) + 3 // "[" "]" " "
		for _, p := range parts {
			n += len(p)
		}
		bar := min(30, room-n)
		switch {
		case bar >= 10 || (len(parts) == 0 && label == "" && bar >= 0):
			fill := int(frac * float64(bar))
			return label + "[" + strings.Repeat("=", fill) + strings.Repeat(" ", bar-fill) + "] " + pct + strings.Join(parts, "")
		case len(parts) > 0:
			parts = parts[:len(parts)-1]
		case label != "":
			label = ""
		default:
			return pct[:min(len(pct), max(room, 0))]
		}
	}
}

// Bars returns a progress hook for a job of several passes: each pass
// gets a bar of its own (label, total bytes) on w, drawn when enabled.
// It returns the function the pass calls with the bytes it reads and the
// one it calls when done.
func Bars(w io.Writer, enabled bool) func(label string, total int64) (add func(int64), finish func()) {
	return func(label string, total int64) (func(int64), func()) {
		bar := New(w, label, total, enabled)
		return bar.Add, bar.Finish
	}
}
