package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

// runWidth runs a command line with tables fitted to width columns.
func runWidth(width int, args ...string) (string, string, int) {
	var out, errOut strings.Builder
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Width: width})
	return out.String(), errOut.String(), code
}

// TestExitCodesPerCommand checks the README's table of exit codes for
// every command: 0 success, 1 findings, 2 an input that cannot be read
// (or an output that cannot be written), 3 a bad command line.
func TestExitCodesPerCommand(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	broken := fixture.CopyTree(t, "../../testdata/universal-intstep/checkpoint-7")
	os.Remove(filepath.Join(broken, "global_step7_universal", "zero", "lm_head.weight", "exp_avg.pt"))
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ls"}, ExitUsage, "ls: missing PATH"},
		{[]string{"ls", sample, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"ls", sample, "extra"}, ExitUsage, `ls: unexpected argument "extra" (it takes PATH)`},
		{[]string{"ls", missing}, ExitInput, missing},
		{[]string{"ls", sample}, ExitOK, ""},
		{[]string{"stats"}, ExitUsage, "stats: missing PATH"},
		{[]string{"stats", sample, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"stats", sample, "--format", "yaml"}, ExitUsage, "--format"},
		{[]string{"stats", missing}, ExitInput, missing},
		{[]string{"stats", sample, "--sotr", "numel"}, ExitUsage, "unknown flag: --sotr"},
		{[]string{"verify"}, ExitUsage, "verify: missing CHECKPOINT"},
		{[]string{"verify", sample, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"verify", missing}, ExitInput, missing},
		{[]string{"verify", broken}, ExitFindings, ""},
		{[]string{"verify", sample}, ExitOK, ""},
		{[]string{"diff", sample}, ExitUsage, "diff: missing B"},
		{[]string{"diff", ckptA, ckptB, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"diff", ckptA, ckptB, "--layout-b", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"diff", ckptA, missing}, ExitInput, missing},
		{[]string{"diff", sample, ckptA}, ExitInput, "config.json hidden_size is 64"},
		{[]string{"diff", ckptA, ckptB}, ExitOK, ""},
		{[]string{"report", "-o", filepath.Join(dir, "r.html")}, ExitUsage, "report: missing CHECKPOINT"},
		{[]string{"report", "-o", filepath.Join(dir, "r.html"), sample, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"report", "-o", filepath.Join(dir, "nofolder", "x.html"), sample}, ExitInput,
			"cannot write " + filepath.Join(dir, "nofolder", "x.html") + ": folder " + filepath.Join(dir, "nofolder") + " does not exist"},
		{[]string{"report", "-o", filepath.Join(dir, "r.html"), sample, ckptA}, ExitInput, "not checkpoints of one model"},
		{[]string{"report", "-o", filepath.Join(dir, "r.html"), ckptA, missing}, ExitInput, missing},
		{[]string{"hist", "lm_head.weight"}, ExitUsage, "hist: missing CHECKPOINT"},
		{[]string{"hist", "lm_head.weight", sample, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"hist", "lm_head.weight", missing}, ExitInput, missing},
		{[]string{"hist", "lm_head.wieght", sample}, ExitInput, "did you mean lm_head.weight?"},
		{[]string{"export", "--to", "llama", sample}, ExitUsage, "export: missing OUT"},
		{[]string{"export", "--to", "llama", sample, out, "--layout", "foo"}, ExitUsage, `--layout: unknown layout "foo"`},
		{[]string{"export", "--to", "llama", missing, out}, ExitInput, missing},
		{[]string{"scan"}, ExitUsage, ""},
		{[]string{"scan", "../../testdata/scan/zip_os_system.pt"}, ExitFindings, ""},
		{[]string{"scan", missing}, ExitInput, missing},
		{[]string{"version", "x"}, ExitUsage, "version: unexpected argument"},
		{[]string{"stast", sample}, ExitUsage, `unknown command "stast"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := run(c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
			if strings.Contains(errOut, ".x.html.") || strings.Contains(errOut, "exit status") {
				t.Errorf("stderr names an internal detail: %q", errOut)
			}
		})
	}
}

// TestHints checks that suggestions come on a line of their own.
func TestHints(t *testing.T) {
	cases := []struct {
		args  []string
		lines []string
	}{
		{[]string{"stast", sample}, []string{`ckptinspect: unknown command "stast"`, "Did you mean: ckptinspect stats?", "Run 'ckptinspect --help' for usage."}},
		{[]string{"stats", sample, "--sotr", "numel"}, []string{"ckptinspect: stats: unknown flag: --sotr", "Did you mean --sort?", "Run 'ckptinspect stats --help' for usage."}},
		{[]string{"stats"}, []string{"ckptinspect: stats: missing PATH", "Run 'ckptinspect stats --help' for usage."}},
		{[]string{"diff", sample, ckptA}, []string{
			"ckptinspect: not checkpoints of one model: config.json hidden_size is 64 in " + sample + " and 32 in " + ckptA,
			"These are checkpoints of different models; --force compares them anyway."}},
	}
	for _, c := range cases {
		_, errOut, _ := run(c.args...)
		if got := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n"); !slices.Equal(got, c.lines) {
			t.Errorf("%v: stderr\n%s\nwant\n%s", c.args, strings.Join(got, "\n"), strings.Join(c.lines, "\n"))
		}
	}
}

// TestReportOutputChecked: a report that cannot be written fails before
// anything is read, naming the user's path (never a temporary file).
func TestReportOutputChecked(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	if f, err := os.CreateTemp(ro, "x"); err == nil { // running as root: permissions do not apply
		f.Close()
		t.Skip("the folder is writable whatever its mode")
	}
	path := filepath.Join(ro, "x.html")
	_, errOut, code := run("report", "-o", path, sample)
	if code != ExitInput || !strings.Contains(errOut, "cannot write "+path+": permission denied") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// TestDiffModelsAndSteps: different models are refused unless --force;
// steps going backwards get a note; parameters on one side are listed.
func TestDiffModelsAndSteps(t *testing.T) {
	out, errOut, code := run("diff", ckptB, ckptA, "--format", "json")
	var doc report.Diff
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d %s %v", code, errOut, err)
	}
	if len(doc.Summary.Notes) != 1 || !strings.Contains(doc.Summary.Notes[0], "B (step 7) is older than A (step 12)") {
		t.Errorf("notes %q", doc.Summary.Notes)
	}
	text, _, _ := run("diff", ckptB, ckptA)
	if !strings.Contains(text, "note: B (step 7) is older than A (step 12)") {
		t.Errorf("text:\n%s", text)
	}
	out, _, code = run("diff", sample, ckptA, "--force", "--format", "json")
	doc = report.Diff{}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatal(err, code)
	}
	if len(doc.Summary.OnlyInA) != 20 || !strings.Contains(strings.Join(doc.Summary.Notes, "\n"), "compared with --force: not checkpoints of one model") {
		t.Errorf("summary %+v", doc.Summary)
	}
	text, _, _ = run("diff", sample, ckptA, "--force")
	if !strings.Contains(text, "only in A (20, not compared): model.layers.1.gate_up_proj_alpha") {
		t.Errorf("text:\n%s", text)
	}
}

// TestStatsNotes: a deleted optional state is a note in table and JSON; a
// --filter matching nothing says so; a damaged file of a parameter outside
// --filter does not fail the run.
func TestStatsNotes(t *testing.T) {
	dir := fixture.CopyTree(t, ckptA)
	zero := filepath.Join(dir, "global_step7_universal", "zero")
	os.Remove(filepath.Join(zero, "model.norm.weight", "exp_avg.pt"))
	const note = "1 parameters have no exp_avg (exp_avg.pt missing or unreadable): model.norm.weight; its statistics and the AdamW update are not shown"
	out, errOut, code := run("stats", dir)
	if code != 0 || !strings.Contains(out, "note: "+note) {
		t.Errorf("table: exit %d %s\n%s", code, errOut, out)
	}
	out, _, _ = run("stats", dir, "--format", "json")
	var doc report.CheckpointStats
	if err := json.Unmarshal([]byte(out), &doc); err != nil || !slices.Contains(doc.Checkpoint.Notes, note) {
		t.Errorf("json notes %q (%v)", doc.Checkpoint.Notes, err)
	}
	_, errOut, code = run("stats", dir, "--filter", "^nothing")
	if code != 0 || errOut != `ckptinspect: --filter "^nothing" matches none of the 25 parameters of `+dir+"\n" {
		t.Errorf("no match: exit %d, stderr %q", code, errOut)
	}

	// Truncate lm_head.weight's fp32.pt: without a filter, or with one
	// that selects it, stats fails; with one that does not, a note.
	fp32 := filepath.Join(zero, "lm_head.weight", "fp32.pt")
	b, _ := os.ReadFile(fp32)
	os.WriteFile(fp32, b[:len(b)/2], 0o644)
	for _, args := range [][]string{{"stats", dir}, {"stats", dir, "--filter", "lm_head"}} {
		if _, errOut, code := run(args...); code != ExitInput || !strings.Contains(errOut, "lm_head.weight") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	out, errOut, code = run("stats", dir, "--filter", "^model.norm")
	if code != 0 || !strings.Contains(out, "not read (parameter lm_head.weight is not selected)") || !strings.Contains(out, "model.norm.weight") {
		t.Errorf("outside the filter: exit %d %q\n%s", code, errOut, out)
	}
}

// TestGroupSortTop: --sort and --top apply to --group-by layer groups, in
// the table and in JSON alike.
func TestGroupSortTop(t *testing.T) {
	out, errOut, code := run("stats", sample, "--group-by", "layer", "--sort", "fp32.rms", "--top", "2", "--format", "json")
	var doc report.CheckpointStats
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatal(err, code, errOut)
	}
	var names []string
	for _, g := range doc.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"final norm", "layer 1"}) {
		t.Errorf("json groups %v", names)
	}
	text, _, _ := run("stats", sample, "--group-by", "layer", "--sort", "fp32.rms", "--top", "2")
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "final norm") || strings.HasPrefix(l, "layer ") || strings.HasPrefix(l, "embedding") || strings.HasPrefix(l, "lm_head") {
			rows = append(rows, strings.Fields(l)[0]+" "+strings.Fields(l)[1])
		}
	}
	if !slices.Equal(rows, []string{"layer params", "final norm", "layer 1"}) {
		t.Errorf("table rows %q:\n%s", rows, text)
	}
	// The group table has the per-parameter table's columns.
	head := func(s string) []string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "parameter ") || strings.HasPrefix(l, "layer ") {
				return strings.Fields(l)[2:]
			}
		}
		return nil
	}
	params, _, _ := run("stats", sample)
	if h, g := head(params), head(text); !slices.Equal(h, g) || len(h) < 8 {
		t.Errorf("columns %q and %q", h, g)
	}
	// diff's groups as well.
	out, _, _ = run("diff", ckptA, ckptB, "--group-by", "layer", "--sort", "fp32.rel_change", "--top", "1", "--format", "json")
	var d report.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Groups) != 1 {
		t.Fatalf("%v %+v", err, d.Groups)
	}
}

// TestWidth checks that at 80 columns no line of any command's table
// output is wider, names are shortened in the middle, and --wide turns it
// off.
func TestWidth(t *testing.T) {
	for _, args := range [][]string{
		{"stats", sample}, {"stats", sample, "--group-by", "layer"}, {"verify", sample}, {"ls", sample},
		{"diff", ckptA, ckptB}, {"diff", ckptA, ckptB, "--group-by", "layer"}, {"hist", "lm_head.weight", sample},
		{"stats", "../../testdata/torch/dtypes.pt"}, {"verify", "../../testdata/pytorch/bad"},
		{"stats", wesarGemma, "--effective"}, {"diff", wesarGemma, wesarDrift, "--effective"},
	} {
		out, errOut, _ := runWidth(80, args...)
		for _, l := range strings.Split(out+errOut, "\n") {
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("%v: %d columns: %q", args, n, l)
			}
		}
	}
	out, errOut, _ := runWidth(80, "stats", sample)
	if !strings.Contains(out, "model.layers.0.…ion_layernorm_alpha") || !strings.Contains(errOut, "columns absmax, bf16 rms, m rms, upd rms left out to fit 80") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	out, errOut, _ = runWidth(80, "stats", sample, "--wide")
	if !strings.Contains(out, "model.layers.0.post_attention_layernorm_alpha") || errOut != "" {
		t.Errorf("--wide:\n%s\n%s", out, errOut)
	}
}

func TestVersion(t *testing.T) {
	a, _, codeA := run("version")
	b, _, codeB := run("--version")
	if codeA != 0 || codeB != 0 || a != b || !strings.HasPrefix(a, "ckptinspect ") || !strings.Contains(a, "go1.") {
		t.Errorf("version %q (%d), --version %q (%d)", a, codeA, b, codeB)
	}
}

// TestCompletion asks cobra's completion entry point what it offers: flag
// values, and the parameter names of the checkpoint on the command line.
func TestCompletion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"stats", sample, "--sort", ""}, []string{"fp32.rms", "adam.update_to_weight", "name"}},
		{[]string{"diff", ckptA, ckptB, "--sort", "fp32.c"}, []string{"fp32.cosine"}},
		{[]string{"verify", sample, "--format", ""}, []string{"table", "json", "csv"}},
		{[]string{"stats", sample, "--layout", ""}, []string{"universal", "zero", "safetensors", "pytorch"}},
		{[]string{"hist", "x", sample, "--state", ""}, []string{"fp32", "bf16", "exp_avg", "exp_avg_sq"}},
		{[]string{"hist", sample, "model.layers.1.mlp.d"}, []string{"model.layers.1.mlp.down_proj.weight"}},
		{[]string{"report", "-o", "r.html", sample, "--hist", "lm_"}, []string{"lm_head_alpha", "lm_head.weight"}},
		{[]string{"stats", sample, "--filter", "model.norm"}, []string{"model.norm_alpha", "model.norm.weight"}},
	}
	for _, c := range cases {
		out, errOut, code := run(append([]string{"__complete"}, c.args...)...)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%v: %q lacks %q (exit %d, %s)", c.args, got, w, code, errOut)
			}
		}
	}
	// The scripts exist for the shells.
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if out, _, code := run("completion", sh); code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d", sh, code)
		}
	}
}

// TestLsFolders lists a checkpoint's parameters and a run's checkpoints;
// the other commands read the run's last checkpoint, with a note.
func TestLsFolders(t *testing.T) {
	out, errOut, code := run("ls", sample)
	if code != 0 || !regexp.MustCompile(`(?m)^model\.layers\.0\.mlp\.down_proj\.weight +64x160 +float32 +fp32 m v bf16 +120$`).MatchString(out) {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
	out, _, _ = run("ls", sample, "--format", "json")
	var doc report.ParamListing
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Params) != 45 ||
		!slices.Equal(doc.Params[0].States, []string{"fp32", "exp_avg", "exp_avg_sq", "bf16"}) || *doc.Params[0].Step != 120 {
		t.Errorf("%v %+v", err, doc.Params[:1])
	}
	out, _, _ = run("ls", "../../testdata/zero3-dp3/checkpoint-9", "--layout", "zero", "--format", "csv")
	if !strings.Contains(out, "lm_head.weight,30x16,float32,fp32 exp_avg exp_avg_sq,9") {
		t.Errorf("zero-3 (no bf16):\n%s", out)
	}

	runDir := t.TempDir()
	for _, n := range []string{"checkpoint-7", "checkpoint-12"} {
		fixture.CopyTreeTo(t, ckptA, filepath.Join(runDir, n))
	}
	out, _, code = run("ls", runDir)
	if code != 0 || !strings.Contains(out, filepath.Join(runDir, "checkpoint-7")+"   universal") ||
		!strings.Contains(out, "2 checkpoints; stats, verify and the other commands read "+filepath.Join(runDir, "checkpoint-12")) {
		t.Errorf("run:\n%s", out)
	}
	out, _, code = run("stats", runDir, "--top", "1")
	if code != 0 || !strings.Contains(out, "note: "+runDir+" is a training run's folder with 2 checkpoints (checkpoint-7 to checkpoint-12): read the last, checkpoint-12") {
		t.Errorf("stats of a run:\n%s", out)
	}
	out, _, code = run("verify", runDir)
	if code != 0 || !strings.Contains(out, "note: "+runDir+" is a training run's folder") {
		t.Errorf("verify of a run:\n%s", out)
	}
}

// TestVerifyCopies: a folder holding two copies is verified through both,
// each named in the OK line and in JSON summary.checked.
func TestVerifyCopies(t *testing.T) {
	const shards = "../../testdata/zero-dp3/checkpoint-50"
	out, _, code := run("verify", shards)
	if code != 0 || !strings.HasPrefix(lastLine(out), "verify OK: "+shards+": 0 errors, 0 warnings; checked universal global_step50_universal (25 parameters, 102 files) and zero global_step50 (25 parameters, 4 files), cross-checked; step 50") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, _, _ = run("verify", shards, "--format", "json")
	var doc report.Verification
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, c := range doc.Summary.Checked {
		checked = append(checked, c.Layout+" "+c.Tag)
		if c.Params != 25 || c.Files == 0 || c.Checkpoint.Step == nil || c.Health.States["fp32"] != 25 {
			t.Errorf("%+v", c)
		}
	}
	if !slices.Equal(checked, []string{"universal global_step50_universal", "zero global_step50"}) || !doc.Summary.OK {
		t.Errorf("checked %v, ok %v", checked, doc.Summary.OK)
	}
	out, _, code = run("verify", shards, "--layout", "universal")
	if code != 0 || !strings.HasPrefix(lastLine(out), "verify OK: "+shards+": 0 errors, 0 warnings; checked universal global_step50_universal (25 parameters, 102 files); step 50") {
		t.Errorf("--layout universal:\n%s", out)
	}

	// Weights only: the checks that apply, the rest said to be skipped.
	out, _, code = run("verify", "../../testdata/pytorch/good")
	if code != 0 || !strings.Contains(out, "not checked: 13 checks of optimizer state (weights only") ||
		strings.Contains(out, "has no exp_avg") {
		t.Errorf("weights only: exit %d\n%s", code, out)
	}
	out, _, code = run("verify", "../../testdata/pytorch/bad")
	if code != ExitFindings || !strings.Contains(out, "shapes.config  error (1)") || !strings.Contains(out, "values.nonfinite  error (1)") {
		t.Errorf("weights only, bad: exit %d\n%s", code, out)
	}
}

// TestDamagedElsewhere: hist and diff read a checkpoint whose damaged file
// belongs to a parameter they do not read.
func TestDamagedElsewhere(t *testing.T) {
	dir := fixture.CopyTree(t, ckptA)
	fp32 := filepath.Join(dir, "global_step7_universal", "zero", "lm_head.weight", "fp32.pt")
	b, _ := os.ReadFile(fp32)
	os.WriteFile(fp32, b[:len(b)/2], 0o644)
	if out, errOut, code := run("hist", "model.norm.weight", dir, "--bins", "4"); code != 0 || !strings.Contains(out, "4 bins") {
		t.Errorf("hist: exit %d %s\n%s", code, errOut, out)
	}
	if _, errOut, code := run("hist", "lm_head.weight", dir); code != ExitInput || !strings.Contains(errOut, "fp32.pt") {
		t.Errorf("hist of the damaged one: exit %d %s", code, errOut)
	}
	if out, errOut, code := run("diff", dir, ckptB, "--filter", "^model"); code != 0 || !strings.Contains(out, "note: A: not read (parameter lm_head.weight is not selected)") {
		t.Errorf("diff: exit %d %s\n%s", code, errOut, out)
	}
}

// failWriter fails every write as a full disk does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}
}

// TestOutputFails: standard output that cannot be written is an I/O error
// (exit 2), never an internal one.
func TestOutputFails(t *testing.T) {
	var errOut strings.Builder
	for _, args := range [][]string{{"stats", sample}, {"verify", sample}, {"ls", sample, "--format", "json"}, {"version"}} {
		errOut.Reset()
		code := Main(args, Streams{In: strings.NewReader(""), Out: failWriter{}, ErrOut: &errOut})
		if code != ExitInput || !strings.Contains(errOut.String(), "no space left on device") {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
}

// TestReportToDevice: a report written to a device (a null device made in
// a temporary folder, as /dev/null) writes to it, never replaces it.
func TestReportToDevice(t *testing.T) {
	null := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v", err)
	}
	if _, errOut, code := run("report", "-o", null, ckptA); code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	if fi, err := os.Stat(null); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device was replaced: %v %v", fi.Mode(), err)
	}
	if _, errOut, code := run("report", "-o", t.TempDir(), ckptA); code != ExitInput || !strings.Contains(errOut, "it is a folder") {
		t.Errorf("a folder: exit %d %s", code, errOut)
	}
}
