package shard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/verify"
)

const sample = "../testdata/sample/checkpoint-120"

// writeParts writes the n parts of stats of the sample into dir and
// returns their paths.
func writeParts(t *testing.T, dir string, n int) []string {
	t.Helper()
	c, err := layout.Open(sample, layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var paths []string
	for i := range n {
		var b bytes.Buffer
		task := &Task{Command: "stats", Args: []string{sample}, Spec: Spec{i, n}}
		if err := task.Stats(context.Background(), &b, c, ckpt.ScanOptions{Workers: 2}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("stats.part-%d-of-%d.json", i, n))
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// edit rewrites a part file through its JSON object.
func edit(t *testing.T, path, to string, f func(m map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // sizes and times exactly
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

// TestSetStats merges the parts of the sample's stats and compares the
// result with one scan: every parameter's result and the summary.
func TestSetStats(t *testing.T) {
	c, err := layout.Open(sample, layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want, err := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 4} {
		dir := t.TempDir()
		writeParts(t, dir, n)
		set, err := Load([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		got, err := set.Stats(c, ckpt.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Summary, want.Summary) || len(got.Params) != len(want.Params) {
			t.Fatalf("N=%d: summary %+v, want %+v", n, got.Summary, want.Summary)
		}
		for i := range got.Params {
			if !reflect.DeepEqual(*got.Params[i], *want.Params[i]) {
				t.Errorf("N=%d: %s: %+v, want %+v", n, want.Params[i].Param.Name, got.Params[i], want.Params[i])
			}
		}
		if _, err := set.Verify(nil, verify.Options{}); err == nil {
			t.Error("parts of stats merged as verify")
		}
	}
}

// TestLoadRefuses checks each way parts can fail to make a whole: the
// error names the parts concerned.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	p := writeParts(t, dir, 3)
	alt := t.TempDir()
	cases := []struct {
		name  string
		parts func() []string
		want  []string
	}{
		{"other kernels", func() []string {
			return []string{p[0], edit(t, p[1], filepath.Join(alt, "k.json"), func(m map[string]any) { m["tool"].(map[string]any)["kernels"] = otherKernels() })}
		}, []string{"different kernels", "k.json", "CKPTINSPECT_KERNELS"}},
		{"other build", func() []string {
			return []string{p[0], edit(t, p[1], filepath.Join(alt, "b.json"), func(m map[string]any) { m["tool"].(map[string]any)["version"] = "ckptinspect v9" })}
		}, []string{"different builds", "b.json"}},
		{"other format version", func() []string {
			return []string{edit(t, p[1], filepath.Join(alt, "v.json"), func(m map[string]any) { m["version"] = 2 })}
		}, []string{"v.json", "version 2"}},
		{"other plan", func() []string {
			return []string{p[0], p[1], edit(t, p[2], filepath.Join(alt, "plan.json"), func(m map[string]any) { m["split"].(map[string]any)["plan_sha256"] = "00" })}
		}, []string{"different splits", "plan.json"}},
		{"index out of range", func() []string {
			return []string{p[0], edit(t, p[1], filepath.Join(alt, "i.json"), func(m map[string]any) { m["shard"].(map[string]any)["index"] = 5 })}
		}, []string{"i.json says it is part 5 of 3"}},
		{"not JSON", func() []string {
			os.WriteFile(filepath.Join(alt, "x.json"), []byte("\x00\x01"), 0o644)
			return []string{p[0], filepath.Join(alt, "x.json")}
		}, []string{"x.json: not a ckptinspect part file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.parts())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not say %q", err, w)
				}
			}
		})
	}

	// Parts that make a whole, but hold other units than the plan gives
	// them, or lack one: refused by the merge.
	c, err := layout.Open(sample, layout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"owned", func(m map[string]any) { m["split"].(map[string]any)["owned"] = []int{0} }, "does not hold the units the plan gives"},
		{"lacks a unit", func(m map[string]any) { m["params"] = m["params"].([]any)[1:] }, "lacks unit"},
		{"another's unit", func(m map[string]any) {
			m["params"].([]any)[0].(map[string]any)["unit"] = 1e6
		}, "unit 1000000 of 45"},
	} {
		d := t.TempDir()
		q := writeParts(t, d, 2)
		edit(t, q[1], q[1], tc.edit)
		set, err := Load([]string{d})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := set.Stats(c, ckpt.ScanOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}

	// Relative paths read from another folder are refused.
	wd, _ := os.Getwd()
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if _, err := Load([]string{dir}); err == nil || !strings.Contains(err.Error(), "run merge in that folder") {
		t.Errorf("merge elsewhere: %v", err)
	}
}

// otherKernels names a kernel path this process does not run.
func otherKernels() string {
	if tensor.Kernels() == "generic" {
		return "avx512"
	}
	return "generic"
}
