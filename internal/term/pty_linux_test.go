package term

import (
	"os"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

func openPTY(t *testing.T, cols int) *os.File {
	_, tty := fixture.PTY(t, cols)
	return tty
}

// TestTerminalWidth asks a pseudo-terminal of 80 and of 132 columns for
// its width; $COLUMNS wins over it.
func TestTerminalWidth(t *testing.T) {
	t.Setenv("COLUMNS", "")
	t.Setenv("TERM", "xterm")
	for _, cols := range []int{80, 132} {
		pty := openPTY(t, cols)
		if !IsTerminal(pty) || Width(pty) != cols {
			t.Errorf("a terminal of %d columns: terminal %v, width %d", cols, IsTerminal(pty), Width(pty))
		}
	}
	pty := openPTY(t, 80)
	t.Setenv("COLUMNS", "100")
	if Width(pty) != 100 {
		t.Errorf("COLUMNS=100 on a terminal of 80: width %d", Width(pty))
	}
	t.Setenv("COLUMNS", "")
	t.Setenv("TERM", "dumb")
	if IsTerminal(pty) || Width(pty) != 0 {
		t.Errorf("TERM=dumb: terminal %v, width %d", IsTerminal(pty), Width(pty))
	}
}
