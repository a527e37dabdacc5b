package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// exampleRE matches an example of the README: a comment naming the
// command line (optionally "| head N": only the first N lines, then
// "..."), then a code block holding "$ ckptinspect ARGS" and its output.
var exampleRE = regexp.MustCompile("(?s)<!-- example: ([^\n]*?)(?: \\| head (\\d+))? -->\n```\n(.*?)```\n")

// TestREADMEExamples runs every example of the README, from a folder
// where testdata/ is the repository's, and compares the output with the
// README's (numbers to 1e-9); -update rewrites the README's blocks.
func TestREADMEExamples(t *testing.T) {
	readme, err := filepath.Abs("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	testdata, _ := filepath.Abs("../../testdata")
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(testdata, filepath.Join(dir, "testdata")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	matches := exampleRE.FindAllSubmatchIndex(b, -1)
	if len(matches) < 8 {
		t.Fatalf("%d examples in the README", len(matches))
	}
	var out strings.Builder
	last := 0
	for _, m := range matches {
		line, head, block := string(b[m[2]:m[3]]), "", string(b[m[6]:m[7]])
		if m[4] >= 0 {
			head = string(b[m[4]:m[5]])
		}
		stdout, stderr, code := run(shellWords(line)...)
		got := "$ ckptinspect " + line + "\n" + stdout
		if n, _ := strconv.Atoi(head); n > 0 {
			lines := strings.SplitAfter(stdout, "\n")
			if len(lines) > n {
				got = "$ ckptinspect " + line + "\n" + strings.Join(lines[:n], "") + "...\n"
			}
		}
		if code != 0 {
			got += fmt.Sprintf("$ echo $?\n%d\n", code)
		}
		if strings.Contains(stderr, "ckptinspect: ") && code == 0 && !strings.Contains(stderr, "wrote ") {
			t.Errorf("%s: stderr %q", line, stderr)
		}
		if msg := sameOutput(got, block); msg != "" && !*update {
			t.Errorf("README example %q is not the output of the current binary (go test ./internal/cli -run TestREADMEExamples -update): %s", line, msg)
		}
		out.Write(b[last:m[6]])
		out.WriteString(got)
		last = m[7]
	}
	out.Write(b[last:])
	if *update {
		if err := os.WriteFile(readme, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shellWords splits a command line as a shell does for the examples:
// at spaces, with '...' quoting.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	quoted, in := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestREADMEGoVersion: the Go version the README asks for is go.mod's.
func TestREADMEGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(\.\d+)?)$`).FindSubmatch(mod)
	readme, _ := os.ReadFile("../../README.md")
	if m == nil || !strings.Contains(string(readme), "Go "+string(m[1])+" or newer") || !strings.Contains(string(readme), "$(go env GOPATH)/bin") {
		t.Errorf("README does not ask for Go %s or newer (go.mod) or does not say where go install puts the binary", m[1])
	}
}
