package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	b := New(&bytes.Buffer{}, "scan", 1<<30, false)
	b.Add(1 << 29)
	got := b.line(time.Second)
	for _, want := range []string{"50%", "512.0 MiB / 1.0 GiB", "512.0 MiB/s", "ETA 1s"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
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

func TestEnabledDraws(t *testing.T) {
	var w syncBuf
	b := New(&w, "scan", 100, true)
	b.Add(50)
	time.Sleep(450 * time.Millisecond)
	b.Finish()
	if !strings.Contains(w.String(), "50%") {
		t.Errorf("enabled bar drew %q", w.String())
	}
}
