package term

import (
	"bytes"
	"os"
	"testing"
)

func TestWidth(t *testing.T) {
	var b bytes.Buffer
	t.Setenv("COLUMNS", "")
	if IsTerminal(&b) || Width(&b) != 0 {
		t.Errorf("a buffer: terminal %v, width %d", IsTerminal(&b), Width(&b))
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || Width(f) != 0 {
		t.Errorf("a file: terminal %v, width %d", IsTerminal(f), Width(f))
	}
	for env, want := range map[string]int{"80": 80, " 132 ": 132, "0": 0, "-5": 0, "wide": 0} {
		t.Setenv("COLUMNS", env)
		if got := Width(f); got != want {
			t.Errorf("COLUMNS=%q: width %d, want %d", env, got, want)
		}
	}
}
