package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/output"
)

var update = flag.Bool("update", false, "rewrite the golden output files")

// run executes the command line and returns stdout, stderr and the exit
// code.
func run(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

// checkGolden compares got with testdata/<name>, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if msg := sameOutput(got, string(want)); msg != "" {
		t.Errorf("output differs from %s (run go test -update after checking): %s", path, msg)
	}
}

var numberRE = regexp.MustCompile(`-?\d+(\.\d+)?([eE][-+]?\d+)?`)

// sameOutput compares two outputs line by line; numbers may differ in their
// last digits (1e-9 relative), since sums are only reproducible to rounding
// across kernels. It returns "" or a description of the first difference.
func sameOutput(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(gl) != len(wl) {
		return fmt.Sprintf("%d lines, want %d", len(gl), len(wl))
	}
	for i := range gl {
		if gl[i] == wl[i] {
			continue
		}
		gn, wn := numberRE.FindAllString(gl[i], -1), numberRE.FindAllString(wl[i], -1)
		if numberRE.ReplaceAllString(gl[i], "#") != numberRE.ReplaceAllString(wl[i], "#") || len(gn) != len(wn) {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
		}
		for k := range gn {
			a, _ := strconv.ParseFloat(gn[k], 64)
			b, _ := strconv.ParseFloat(wn[k], 64)
			if math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
				return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
			}
		}
	}
	return ""
}

const sample = "../../testdata/sample/checkpoint-120"

func TestGoldenOutputs(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"ls_views.txt", []string{"ls", "../../testdata/torch/views.pt"}},
		{"ls_model_states.txt", []string{"ls", "../../testdata/deepspeed/mp_rank_00_model_states.pt", "--max-items", "4"}},
		{"ls_optimizer_state.json", []string{"ls", "../../testdata/deepspeed/optimizer_state.pt", "--format", "json"}},
		{"ls_legacy.csv", []string{"ls", "../../testdata/torch/legacy.pt", "--format", "csv"}},
		{"stats_special.txt", []string{"stats", "../../testdata/torch/special.pt"}},
		{"stats_special.json", []string{"stats", "../../testdata/torch/special.pt", "--format", "json"}},
		{"stats_dtypes.csv", []string{"stats", "../../testdata/torch/dtypes.pt", "-f", "csv"}},
		{"stats_sample.txt", []string{"stats", sample}},
		{"stats_sample_layers.txt", []string{"stats", sample, "--group-by", "layer"}},
		{"stats_sample_top.txt", []string{"stats", sample, "--sort", "adam.update_to_weight", "--top", "5", "--filter", "weight$"}},
		{"stats_sample.json", []string{"stats", sample, "--format", "json", "--filter", "layers.0.self_attn.q_proj"}},
		{"stats_sample.csv", []string{"stats", sample, "--format", "csv", "--filter", "alpha"}},
		{"ls_safetensors.txt", []string{"ls", "../../testdata/safetensors/model.safetensors", "--max-items", "8"}},
		{"stats_safetensors.txt", []string{"stats", "../../testdata/safetensors/model.safetensors"}},
		{"stats_safetensors_set.txt", []string{"stats", "../../testdata/safetensors/sharded", "--group-by", "layer"}},
		{"stats_zero.txt", []string{"stats", "../../testdata/zero-dp3/checkpoint-50", "--layout", "zero", "--group-by", "layer"}},
		{"stats_zero3.txt", []string{"stats", "../../testdata/zero3-dp3/checkpoint-9", "--layout", "zero", "--top", "5"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, code := run(c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			// Paths are relative to this package; keep them stable.
			checkGolden(t, c.golden, out)
		})
	}
}

func TestStatsJSONSchema(t *testing.T) {
	out, errOut, code := run("stats", sample, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"checkpoint", "params", "summary"} {
		if doc[k] == nil {
			t.Errorf("key %s missing", k)
		}
	}
	p := doc["params"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "shape", "numel", "step", "group", "scale", "fp32", "exp_avg", "exp_avg_sq", "bf16", "adam"} {
		if _, ok := p[k]; !ok {
			t.Errorf("param key %s missing", k)
		}
	}
	st := p["fp32"].(map[string]any)
	for _, k := range []string{"dtype", "shape", "numel", "l2", "rms", "mean", "std", "min", "max", "absmax", "nan", "inf", "zeros"} {
		if _, ok := st[k]; !ok {
			t.Errorf("stats key %s missing", k)
		}
	}
	ci := doc["checkpoint"].(map[string]any)
	for _, k := range []string{"path", "layout", "step", "ds_version", "param_groups"} {
		if _, ok := ci[k]; !ok {
			t.Errorf("checkpoint key %s missing", k)
		}
	}
}

// TestNullStatistics checks that tensors without finite values print null.
func TestNullStatistics(t *testing.T) {
	out, _, code := run("stats", "../../testdata/torch/special.pt", "--format", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var doc struct {
		Tensors []struct {
			Name string        `json:"name"`
			L2   *output.Float `json:"l2"`
			NaN  int64         `json:"nan"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for _, tt := range doc.Tensors {
		if tt.L2 == nil {
			nulls++
		}
	}
	if nulls == 0 {
		t.Errorf("no tensor with null statistics in special.pt: %s", out)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pt")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	good, _ := os.ReadFile("../../testdata/torch/dtypes.pt")
	trunc := filepath.Join(dir, "trunc.pt")
	os.WriteFile(trunc, good[:len(good)/3], 0o644)
	evil := "../../pickle/testdata/evil_os_system.pkl"
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ls", garbage}, ExitInput, garbage},
		{[]string{"stats", garbage}, ExitInput, garbage},
		{[]string{"ls", trunc}, ExitInput, trunc},
		{[]string{"stats", trunc}, ExitInput, trunc},
		{[]string{"ls", evil}, ExitInput, "refusing posix.system"},
		{[]string{"stats", evil}, ExitInput, "refusing posix.system"},
		{[]string{"ls", filepath.Join(dir, "missing.pt")}, ExitInput, "no such file"},
		{[]string{"stats", dir}, ExitInput, "not a DeepSpeed universal checkpoint"},
		{[]string{"ls"}, ExitUsage, "ls: missing PATH"},
		{[]string{"ls", garbage, "--format", "yaml"}, ExitUsage, "unknown format"},
		{[]string{"stats", sample, "--sort", "bogus"}, ExitUsage, "unknown field"},
		{[]string{"stats", sample, "--filter", "("}, ExitUsage, "--filter"},
		{[]string{"stats", "../../testdata/torch/dtypes.pt", "--top", "3"}, ExitUsage, "checkpoint folders"},
		{[]string{"nope"}, ExitUsage, "unknown command"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, code := run(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.msg) {
				t.Errorf("stderr %q lacks %q", errOut, c.msg)
			}
			if lines := strings.Count(strings.TrimSpace(errOut), "\n"); c.code == ExitInput && lines != 0 {
				t.Errorf("stderr has %d lines, want one: %q", lines+1, errOut)
			}
			if c.code != 0 && out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
		})
	}
}

func TestFlagParsing(t *testing.T) {
	var got *StatsOptions
	cmd := NewStatsCmd(Streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, func(o *StatsOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"ckpt", "-j", "3", "--format", "csv", "--sort", "fp32.rms", "--top", "7", "--filter", "^model", "--group-by", "layer"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Path != "ckpt" || got.Jobs != 3 || got.Format != output.CSV || got.Sort != "fp32.rms" || got.Top != 7 || got.GroupBy != "layer" || got.re == nil {
		t.Errorf("options = %+v", got)
	}
	var ls *LsOptions
	lc := NewLsCmd(Streams{}, func(o *LsOptions) error { ls = o; return nil })
	lc.SetArgs([]string{"f.pt", "--max-items", "3", "-f", "json"})
	if err := lc.Execute(); err != nil {
		t.Fatal(err)
	}
	if ls.Path != "f.pt" || ls.MaxItems != 3 || ls.Format != output.JSON {
		t.Errorf("ls options = %+v", ls)
	}
}

// TestPolicyFlags checks that the commands reading pickles take --allow
// and --lenient as scan does: a file with a global not known as data is
// refused (naming --allow), read with --allow naming it or --lenient, and
// a dangerous global is refused whatever the flags.
func TestPolicyFlags(t *testing.T) {
	unknown := "../../testdata/hostile/hostile/policy_unknown_newobj.pkl"
	evil := "../../testdata/scan/zip_os_system.pt"
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ls", unknown}, ExitInput, "--allow mylib.config.TrainCfg"},
		{[]string{"ls", unknown, "--allow", "mylib.config.TrainCfg"}, ExitOK, ""},
		{[]string{"ls", unknown, "--allow", "mylib.config.*"}, ExitOK, ""},
		{[]string{"ls", unknown, "--lenient"}, ExitOK, ""},
		{[]string{"stats", unknown, "--lenient"}, ExitOK, ""},
		{[]string{"ls", evil, "--lenient"}, ExitInput, "posix.system"},
		{[]string{"ls", evil, "--allow", "posix.system"}, ExitInput, "posix.system"},
		{[]string{"stats", evil, "--allow", "posix.*"}, ExitInput, "posix.system"},
		{[]string{"ls", unknown, "--allow", "os"}, ExitUsage, "--allow"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := run(c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, c.code, c.msg)
			}
		})
	}
}
