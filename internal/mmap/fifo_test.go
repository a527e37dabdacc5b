//go:build unix

package mmap

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenFIFO checks that a FIFO is refused at once: opening one for
// reading would block until a writer comes.
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.pt")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	done := make(chan error, 1)
	go func() {
		m, err := Open(p)
		if err == nil {
			m.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("Open(fifo) = %v, want a 'not a regular file' error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open(fifo) blocks")
	}
}
