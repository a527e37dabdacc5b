package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

// childEnv makes the test binary run as ckptinspect.
const childEnv = "CKPTINSPECT_TERMINAL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		code := run()
		if p := os.Getenv(hwmEnv); p != "" {
			writePeakRSS(p)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// escape matches the terminal control sequences the progress bar writes.
var escape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// inTerminal runs ckptinspect with standard output and error on a
// pseudo-terminal of cols columns (no $COLUMNS) and returns what the
// terminal shows, line by line (a carriage return starts the line again).
func inTerminal(t *testing.T, cols int, args ...string) []string {
	t.Helper()
	master, tty := fixture.PTY(t, cols)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "COLUMNS=", "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once the child is gone and tty closed
		close(done)
	}()
	cmd.Wait()
	tty.Close()
	<-done
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		l = escape.ReplaceAllString(strings.TrimSuffix(l, "\r"), "")
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		lines = append(lines, l)
	}
	return lines
}

// TestFitsTerminal runs the commands in a terminal of 80 columns: no line
// is wider, and the tables are there.
func TestFitsTerminal(t *testing.T) {
	const sample = "../../testdata/sample/checkpoint-120"
	for _, args := range [][]string{
		{"stats", sample},
		{"stats", sample, "--group-by", "layer"},
		{"verify", "../../testdata/zero-dp3/checkpoint-50", "--deep"},
		{"diff", "../../testdata/universal-intstep/checkpoint-7", "../../testdata/drift/checkpoint-12"},
		{"ls", sample},
		{"hist", "model.layers.0.mlp.down_proj.weight", sample},
		{"stats", "../../testdata/torch/dtypes.pt"},
	} {
		lines := inTerminal(t, 80, args...)
		text := strings.Join(lines, "\n")
		if len(lines) < 5 || strings.Contains(text, "ckptinspect: ") && !strings.Contains(text, "ckptinspect: note:") {
			t.Errorf("%v:\n%s", args, text)
		}
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("%v: a line of %d columns: %q", args, n, l)
			}
		}
	}
	// The same command with --wide keeps full names, wider than 80.
	wide := strings.Join(inTerminal(t, 80, "stats", sample, "--wide"), "\n")
	if !strings.Contains(wide, "model.layers.0.post_attention_layernorm.weight") {
		t.Errorf("--wide shortened names:\n%s", wide)
	}
}
