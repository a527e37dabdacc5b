package cli

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// splitRun runs `args --shard i/n` for every i, writing the parts into a
// new folder, then `merge` of the folder with mergeArgs, and returns the
// merge's output, stderr and exit code.
func splitRun(t *testing.T, n int, args []string, mergeArgs ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		part := append(args, "--shard", fmt.Sprintf("%d/%d", i, n))
		if i%2 == 1 {
			part = append(part, "--format", "part") // as the job scripts give it
		}
		out, errOut, code := run(part...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v part %d/%d: exit %d: %s", args, i, n, code, errOut)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.part-%d-of-%d.json", args[0], i, n)), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run(append(append([]string{"merge"}, mergeArgs...), dir)...)
}

// TestSplitMergeExact is the test: for N = 1, 2, 3 and 7 parts,
// the merged output of stats, verify and series (JSON, and the other
// formats) is byte for byte the output of a single run, on the bundled
// checkpoints and on every real DeepSpeed checkpoint in every layout, and
// the merge exits as the single run does.
func TestSplitMergeExact(t *testing.T) {
	type job struct {
		name string
		args []string
	}
	jobs := []job{
		{"stats sample", []string{"stats", sample}},
		{"stats sample layers csv", []string{"stats", sample, "--group-by", "layer", "--sort", "fp32.rms", "--format", "csv"}},
		{"stats sample table", []string{"stats", sample, "--filter", "layers.1", "--sort", "adam.update_to_weight", "--top", "7", "--format", "table"}},
		{"stats effective", []string{"stats", "../../testdata/wesar-gemma/checkpoint-30", "--effective", "--group-by", "layer"}},
		{"verify sample deep", []string{"verify", sample, "--deep"}},
		{"verify copies deep", []string{"verify", "../../testdata/zero-dp3/checkpoint-50", "--deep"}},
		{"series", []string{"series", "../../testdata/series", "--format", "json"}},
		{"series csv", []string{"series", "../../testdata/series", "--filter", "alpha|norm"}},
		{"diff", []string{"diff", ckptA, ckptB, "--group-by", "layer"}},
		{"diff effective", []string{"diff", wesarGemma, wesarDrift, "--effective", "--sort", "effective.rel_change"}},
	}
	for _, fx := range realFixtures(t) {
		jobs = append(jobs, job{"stats " + fx.name + " " + fx.layout, []string{"stats", fx.path, "--layout", fx.layout}},
			job{"verify " + fx.name + " " + fx.layout, []string{"verify", fx.path, "--layout", fx.layout, "--deep"}})
	}
	jobs = append(jobs, job{"series realds", []string{"series", realds + "/z2_dp3_bf16/global_step4", realds + "/z2_dp3_bf16/global_step9", "--layout", "zero", "--format", "jsonl"}})
	exits := map[int]int{}
	for _, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			args := j.args
			var format []string
			for i := 0; i < len(args); i++ {
				if args[i] == "--format" {
					format = []string{"--format", args[i+1]}
					args = append(append([]string{}, args[:i]...), args[i+2:]...)
					break
				}
			}
			if format == nil && j.args[0] != "series" {
				format = []string{"--format", "json"}
			}
			want, wantErr, wantCode := run(append(append([]string{}, args...), format...)...)
			if wantCode > 1 {
				t.Fatalf("single run: exit %d: %s", wantCode, wantErr)
			}
			exits[wantCode]++
			for _, n := range []int{1, 2, 3, 7} {
				got, errOut, code := splitRun(t, n, args, format...)
				if code != wantCode {
					t.Fatalf("N=%d: merge exit %d, single run %d: %s", n, code, wantCode, errOut)
				}
				if got != want {
					t.Errorf("N=%d: merged output differs from the single run's:\n%s", n, firstDiff(got, want))
				}
			}
		})
	}
	if exits[1] == 0 || exits[0] == 0 {
		t.Errorf("exit statuses of the single runs %v: want both 0 and 1 among them", exits)
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// TestMergeRefuses checks that parts that do not make a whole are refused
// (exit 2) with a message naming them: a missing part, a duplicated one,
// a part of another split, a stale part (a file touched after the array),
// parts that saw different files, a file that is not a part, and merge run
// in another folder.
func TestMergeRefuses(t *testing.T) {
	ck := fixture.CopyTree(t, sample)
	dir := t.TempDir()
	write := func(name string, n, i int, args ...string) string {
		out, errOut, code := run(append(append([]string{"stats", ck}, args...), "--shard", fmt.Sprintf("%d/%d", i, n))...)
		if code != 0 {
			t.Fatalf("part %d/%d: exit %d: %s", i, n, code, errOut)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p0, p1, p2 := write("a0.json", 3, 0), write("a1.json", 3, 1), write("a2.json", 3, 2)
	other := write("b0.json", 2, 0)
	filtered := write("c1.json", 3, 1, "--filter", "layers")
	bogus := filepath.Join(dir, "notes.json")
	os.WriteFile(bogus, []byte(`{"hello": 1}`), 0o644)
	cases := []struct {
		name  string
		parts []string
		want  []string
	}{
		{"missing", []string{p0, p2}, []string{"part 1/3", "is missing", p0, p2, "--shard 1/3"}},
		{"duplicated", []string{p0, p1, p2, p1}, []string{p1, "both part 1/3"}},
		{"another split", []string{p0, p1, p2, other}, []string{p0, other, "different splits: 3 parts and 2 parts"}},
		{"another command line", []string{p0, filtered, p2}, []string{p0, filtered, "different command lines", "--filter=layers"}},
		{"not a part", []string{p0, bogus}, []string{bogus, "not a ckptinspect part file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := run(append([]string{"merge"}, c.parts...)...)
			if code != ExitInput {
				t.Errorf("exit %d, want %d: %s", code, ExitInput, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
		})
	}
	if out, errOut, code := run("merge", p0, p1, p2); code != 0 || !strings.Contains(out, "45 parameters") {
		t.Fatalf("merge of the whole: exit %d: %s", code, errOut)
	}

	// A file touched between the array and the merge: every part is stale.
	touched := filepath.Join(ck, "global_step120_universal", "zero", "lm_head.weight", "fp32.pt")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(touched, later, later); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run("merge", p0, p1, p2)
	if code != ExitInput || !strings.Contains(errOut, "stale parts") || !strings.Contains(errOut, touched) || !strings.Contains(errOut, p0) {
		t.Errorf("touched file: exit %d: %s", code, errOut)
	}
	// Parts written before and after the change saw different files.
	p1new := write("a1-new.json", 3, 1)
	_, errOut, code = run("merge", p0, p1new, p2)
	if code != ExitInput || !strings.Contains(errOut, "saw different input files") || !strings.Contains(errOut, touched) ||
		!strings.Contains(errOut, p0) || !strings.Contains(errOut, p1new) {
		t.Errorf("parts of two states: exit %d: %s", code, errOut)
	}
}

// TestMergeVerifyFindings checks that a damaged checkpoint's verify exit
// status comes through the merge: each task exits 0 once its part is
// written, the merge exits 1 and prints the findings of a single run, and
// with -o it still writes them.
func TestMergeVerifyFindings(t *testing.T) {
	ck := fixture.CopyTree(t, sample)
	for _, param := range []string{"model.norm.weight", "lm_head.weight", "model.layers.0.mlp.up_proj.weight"} {
		// A NaN inside the storage of exp_avg: a values.nonfinite finding
		// (of the part scanning the parameter) and an integrity.crc one
		// (of the part checking the file).
		p := filepath.Join(ck, "global_step120_universal", "zero", param, "exp_avg.pt")
		f, err := torchsave.Open(p, torchsave.Options{})
		if err != nil {
			t.Fatal(err)
		}
		named, err := f.Tensors()
		f.Close()
		if err != nil || len(named) != 1 {
			t.Fatalf("%s: %v", p, err)
		}
		tt := named[0].Tensor
		b, _ := os.ReadFile(p)
		binary.LittleEndian.PutUint32(b[tt.Storage.FileOffset()+(tt.Offset+3)*4:], math.Float32bits(float32(math.NaN())))
		os.WriteFile(p, b, 0o644)
	}
	want, _, wantCode := run("verify", ck, "--deep", "--format", "json")
	if wantCode != ExitFindings || strings.Count(want, "integrity.crc") != 3 || strings.Count(want, "values.nonfinite") != 3 {
		t.Fatalf("single run: exit %d: %s", wantCode, want)
	}
	out := filepath.Join(t.TempDir(), "verify.json")
	got, errOut, code := splitRun(t, 3, []string{"verify", ck, "--deep"}, "--format", "json", "-o", out)
	if code != ExitFindings || got != "" {
		t.Fatalf("merge: exit %d, stdout %q: %s", code, got, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != want {
		t.Errorf("merged findings differ from the single run's:\n%s", firstDiff(string(b), want))
	}
}

// TestShardFlags checks --shard's parsing and what a part records.
func TestShardFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"stats", sample, "--shard", "3/3"}, ExitUsage, "part 3 of 3"},
		{[]string{"stats", sample, "--shard", "x"}, ExitUsage, "want I/N"},
		{[]string{"stats", sample, "--shard", "0/2", "--format", "json"}, ExitUsage, "--format part"},
		{[]string{"stats", sample, "--shard", "auto"}, ExitUsage, "SLURM_ARRAY_TASK_ID is not set"},
		{[]string{"stats", sample + "/global_step120_universal/zero/lm_head.weight/fp32.pt", "--shard", "0/2"}, ExitUsage, "--shard"},
		{[]string{"hist", "lm_head.weight", sample, "--format", "part"}, ExitUsage, "--format"},
		{[]string{"merge"}, ExitUsage, "merge: missing PART"},
		{[]string{"merge", t.TempDir()}, ExitInput, "holds no part file"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := run(c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
		})
	}
	// auto in a Slurm array task: the part records its index and count.
	for k, v := range map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0",
		"SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_STEP": "1"} {
		t.Setenv(k, v)
	}
	out, errOut, code := run("stats", sample, "--shard", "auto", "--filter", "alpha", "-j", "1")
	if code != 0 || !strings.Contains(out, `"shard":{"index":2,"count":3}`) || !strings.Contains(out, `"flags":["--filter=alpha"]`) {
		t.Errorf("--shard auto: exit %d: %s %.400s", code, errOut, out)
	}
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	t.Setenv("SLURM_ARRAY_TASK_MAX", "3")
	if _, errOut, code := run("stats", sample, "--shard", "auto"); code != ExitUsage || !strings.Contains(errOut, "--array=0-2") {
		t.Errorf("array 1-3: exit %d: %s", code, errOut)
	}
}

// TestMergeSeriesStale: each part of a series records the files of the
// checkpoints it read (its own and its first one's predecessor); a file
// touched after the array makes the part that read it stale, and the
// merge names that part and the file.
func TestMergeSeriesStale(t *testing.T) {
	run0 := fixture.CopyTree(t, "../../testdata/series")
	dir := t.TempDir()
	var parts []string
	for i := range 3 {
		out, errOut, code := run("series", run0, "--shard", fmt.Sprintf("%d/3", i), "--format", "part")
		if code != 0 {
			t.Fatalf("part %d: exit %d: %s", i, code, errOut)
		}
		p := filepath.Join(dir, fmt.Sprintf("series.part-%d-of-3.json", i))
		os.WriteFile(p, []byte(out), 0o644)
		parts = append(parts, p)
	}
	if _, errOut, code := run("merge", dir); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errOut)
	}
	last, _ := filepath.Glob(filepath.Join(run0, "checkpoint-60", "*", "zero", "lm_head.weight", "fp32.pt"))
	if len(last) != 1 {
		t.Fatalf("%v", last)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(last[0], later, later)
	_, errOut, code := run("merge", dir)
	if code != ExitInput || !strings.Contains(errOut, "stale parts ("+parts[2]+")") || !strings.Contains(errOut, last[0]) {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
