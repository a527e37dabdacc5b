package ckpt_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
)

// checkPrefix matches the string literals that look like check ids.
var checkPrefix = regexp.MustCompile(`^(structure|shapes|values|step|master|optimizer|integrity|resume|wesar)\.[a-z_]+$`)

// TestCheckIDsInOneTable makes sure no package files findings under an id
// that ckpt.Checks does not list: every string literal of the module's
// non-test Go files that looks like a check id must be in the table, and
// the table must have no duplicates.
func TestCheckIDsInOneTable(t *testing.T) {
	known := map[ckpt.CheckID]bool{}
	for _, c := range ckpt.Checks() {
		if known[c.ID] {
			t.Errorf("check %s listed twice", c.ID)
		}
		known[c.ID] = true
		if c.What == "" {
			t.Errorf("check %s has no description", c.ID)
		}
	}
	root := filepath.Join("..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || d.Name() == "_generate") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && checkPrefix.MatchString(s) && !strings.HasSuffix(s, ".pt") && !known[ckpt.CheckID(s)] {
				t.Errorf("%s: check id %q is not in ckpt.Checks", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestREADMEListsChecks makes sure the README's table of checks lists
// every check of ckpt.Checks with its severity, and no other.
func TestREADMEListsChecks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+\\.[a-z_]+)` \\| (error|warning|info) \\|")
	inREADME := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		inREADME[m[1]] = m[2]
	}
	for _, c := range ckpt.Checks() {
		sev, ok := inREADME[string(c.ID)]
		switch {
		case !ok:
			t.Errorf("README does not list check %s", c.ID)
		case sev != c.Severity.String():
			t.Errorf("README gives check %s severity %s, ckpt.Checks %s", c.ID, sev, c.Severity)
		}
		delete(inREADME, string(c.ID))
	}
	for id := range inREADME {
		t.Errorf("README lists check %s, which ckpt.Checks does not", id)
	}
}
