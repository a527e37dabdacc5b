// Package apicheck holds tests of the module's public API as a whole.
package apicheck

import (
	"go/importer"
	"go/token"
	"go/types"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoInternalTypesInPublicAPI type-checks every public package of the
// module and fails when an exported name's type (a field, a parameter, a
// result, an embedded type) mentions a type of an internal package, which
// no program outside the module could use.
func TestNoInternalTypesInPublicAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module from source")
	}
	out, err := exec.Command("go", "list", "github.com/ckptinspect/ckptinspect/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imp := importer.ForCompiler(token.NewFileSet(), "source", nil)
	for _, path := range strings.Fields(string(out)) {
		if strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal") || strings.Contains(path, "/cmd/") || strings.Contains(path, "/bench/") {
			continue
		}
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			check(t, path+"."+name, obj.Type(), map[types.Type]bool{})
			if tn, ok := obj.(*types.TypeName); ok {
				if named, ok := tn.Type().(*types.Named); ok {
					for i := 0; i < named.NumMethods(); i++ {
						if m := named.Method(i); m.Exported() {
							check(t, path+"."+name+"."+m.Name(), m.Type(), map[types.Type]bool{})
						}
					}
				}
			}
		}
	}
}

// check reports internal types reachable through the exported parts of typ.
func check(t *testing.T, where string, typ types.Type, seen map[types.Type]bool) {
	if seen[typ] {
		return
	}
	seen[typ] = true
	switch x := typ.(type) {
	case *types.Named:
		if p := x.Obj().Pkg(); p != nil && strings.Contains(p.Path(), "/internal/") {
			t.Errorf("%s mentions %s.%s, a type of an internal package", where, p.Path(), x.Obj().Name())
			return
		}
		if p := x.Obj().Pkg(); p != nil && !strings.HasPrefix(p.Path(), "github.com/ckptinspect/") {
			return // another module's type: its own business
		}
		check(t, where, x.Underlying(), seen)
	case *types.Pointer:
		check(t, where, x.Elem(), seen)
	case *types.Slice:
		check(t, where, x.Elem(), seen)
	case *types.Array:
		check(t, where, x.Elem(), seen)
	case *types.Map:
		check(t, where, x.Key(), seen)
		check(t, where, x.Elem(), seen)
	case *types.Chan:
		check(t, where, x.Elem(), seen)
	case *types.Signature:
		for i := 0; i < x.Params().Len(); i++ {
			check(t, where, x.Params().At(i).Type(), seen)
		}
		for i := 0; i < x.Results().Len(); i++ {
			check(t, where, x.Results().At(i).Type(), seen)
		}
	case *types.Struct:
		for i := 0; i < x.NumFields(); i++ {
			if f := x.Field(i); f.Exported() || f.Embedded() {
				check(t, where+"."+f.Name(), f.Type(), seen)
			}
		}
	case *types.Interface:
		for i := 0; i < x.NumMethods(); i++ {
			check(t, where+"."+x.Method(i).Name(), x.Method(i).Type(), seen)
		}
	}
}

// tiers orders the module's packages: a package may import packages of
// its own tier or lower ones only (README, "Layout"). Test-only and
// benchmark packages are not listed.
var tiers = [][]string{
	{"pickle", "sniff", "internal/cpuid", "tensor/internal/kernel", "internal/crc", "internal/mmap", "internal/output", "internal/term", "internal/suggest", "internal/buildinfo", "internal/smallfile", "internal/hugepages", "internal/parquet"},
	{"tensor", "scan", "safetensors", "internal/progress"},
	{"torchsave", "yulan", "internal/stream"},
	{"ckpt"},
	{"dsmeta"},
	{"universal", "zero"},
	{"layout"},
	{"verify", "series", "export", "resume", "shard"},
	{"internal/report"},
	{"internal/htmlreport"},
	{"internal/cli"},
	{"cmd/ckptinspect"},
}

// TestImportTiers checks the import graph against tiers.
func TestImportTiers(t *testing.T) {
	const mod = "github.com/ckptinspect/ckptinspect/"
	tierOf := map[string]int{}
	for i, ps := range tiers {
		for _, p := range ps {
			tierOf[p] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		mine, ok := tierOf[pkg]
		if !ok {
			if !strings.HasPrefix(pkg, "bench/") && !strings.HasPrefix(pkg, "internal/golden") && pkg != "internal/fixture" &&
				pkg != "internal/malformed" && pkg != "internal/apicheck" {
				t.Errorf("package %s is in no tier (add it to tiers and to README's Layout)", pkg)
			}
			continue
		}
		for _, imp := range f[1:] {
			dep, ours := strings.CutPrefix(imp, mod)
			if !ours {
				continue
			}
			if tierOf[dep] > mine {
				t.Errorf("%s (tier %d) imports %s (tier %d): dependencies flow downwards only", pkg, mine, dep, tierOf[dep])
			}
		}
	}
}

// binaryModules are the modules the command may link: the design card's
// dependencies, cobra's pflag, and golang.org/x/sys. Every package linked
// runs its initialisation in every command, before main: the Parquet
// library this replaced brought protobuf and three compression libraries
// with it, 13 MB of binary and ~8 ms of start-up to each run (README ›
// Performance). Test-only dependencies are free to be more.
var binaryModules = []string{
	"github.com/ckptinspect/ckptinspect",
	"github.com/nlpodyssey/gopickle",
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"github.com/x448/float16",
	"golang.org/x/sys",
}

// TestBinaryModules checks that the command links only binaryModules.
func TestBinaryModules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{.Module.Path}}{{end}}", "github.com/ckptinspect/ckptinspect/cmd/ckptinspect").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, m := range strings.Fields(string(out)) {
		if !slices.Contains(binaryModules, m) {
			t.Errorf("the command links module %s: a new dependency of the binary (its packages initialise in every run); add it to binaryModules only if it is worth that", m)
		}
	}
}
