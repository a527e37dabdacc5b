package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

// The checkpoints DeepSpeed 0.15.1 itself wrote (testdata/gen/realds) and
// their PyTorch float64 goldens.
const realds = "../../testdata/realds"

// runRealDS runs the command line and returns stdout, stderr and the exit
// code.
func runRealDS(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

// realFixture is one golden of testdata/realds and a folder it holds for.
type realFixture struct {
	name, layout, path string
	g                  *golden.Checkpoint
}

// realFixtures lists every (golden, layout) of testdata/realds.
func realFixtures(t *testing.T) []realFixture {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(realds, "*.golden.json"))
	var out []realFixture
	for _, p := range paths {
		if filepath.Base(p) == "diff.golden.json" {
			continue
		}
		g := &golden.Checkpoint{}
		if err := golden.Load(p, g); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".golden.json")
		for _, layout := range []string{"zero", "universal"} {
			if dir := g.Layouts[layout]; dir != "" {
				out = append(out, realFixture{name, layout, filepath.Join(realds, dir), g})
			}
		}
	}
	if len(out) < 9 {
		t.Fatalf("%d real fixtures", len(out))
	}
	return out
}

// maxRelErr is the largest relative error of a sum (l2, rms, std) against
// its golden over every test of this file, for the record (go test -v).
var maxRelErr struct {
	v     float64
	where string
}

func noteRelErr(got, want float64, where string) {
	if e := golden.RelErr(got, want); e > maxRelErr.v {
		maxRelErr.v, maxRelErr.where = e, where
	}
}

// compareStats checks one state of `stats --format json` against its
// golden: counts and extremes exactly, l2, rms, mean and std to 1e-9.
func compareStats(t *testing.T, what string, got *report.Stats, want *golden.Stats) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Errorf("%s: present %v, want %v", what, got != nil, want != nil)
		return
	}
	if got == nil {
		return
	}
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || got.Numel != want.Numel ||
		got.NaN != want.NaN || got.Inf != want.Inf || got.Zeros != want.Zeros {
		t.Errorf("%s: %s %v numel %d nan %d inf %d zeros %d, want %s %v %d %d %d %d", what, got.DType, got.Shape, got.Numel,
			got.NaN, got.Inf, got.Zeros, want.DType, want.Shape, want.Numel, want.NaN, want.Inf, want.Zeros)
	}
	if want.L2 == nil {
		if got.L2 != nil {
			t.Errorf("%s: statistics of no finite element", what)
		}
		return
	}
	f := func(x *output.Float) float64 {
		if x == nil {
			return 0
		}
		return float64(*x)
	}
	for _, c := range []struct {
		name  string
		got   *output.Float
		want  float64
		exact bool
	}{{"l2", got.L2, *want.L2, false}, {"rms", got.RMS, *want.RMS, false}, {"mean", got.Mean, *want.Mean, false},
		{"std", got.Std, *want.Std, false}, {"min", got.Min, *want.Min, true}, {"max", got.Max, *want.Max, true},
		{"absmax", got.AbsMax, *want.AbsMax, true}} {
		g := f(c.got)
		switch {
		case c.got == nil:
			t.Errorf("%s: no %s", what, c.name)
		case c.exact && g != c.want, !c.exact && !golden.Close(g, c.want, *want.RMS):
			t.Errorf("%s: %s = %.17g, want %.17g", what, c.name, g, c.want)
		}
		if !c.exact && c.name != "mean" {
			noteRelErr(g, c.want, what+" "+c.name)
		}
	}
}

// TestRealDSStats runs `stats --format json` on every real DeepSpeed
// checkpoint, in each layout the fixture holds, and checks every
// parameter's statistics, shape, step and group and the summary against
// PyTorch's float64 goldens.
func TestRealDSStats(t *testing.T) {
	for _, fx := range realFixtures(t) {
		t.Run(fx.name+"/"+fx.layout, func(t *testing.T) {
			out, errOut, code := runRealDS("stats", fx.path, "--layout", fx.layout, "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc report.CheckpointStats
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Checkpoint.Step == nil || *doc.Checkpoint.Step != fx.g.Checkpoint.Step || doc.Checkpoint.DSVersion != "0.15.1" ||
				doc.Checkpoint.Layout != fx.layout || len(doc.Checkpoint.ParamGroups) != len(fx.g.Checkpoint.ParamGroups) {
				t.Errorf("checkpoint %+v", doc.Checkpoint)
			}
			if len(doc.Params) != len(fx.g.Params) {
				t.Fatalf("%d params, want %d", len(doc.Params), len(fx.g.Params))
			}
			for i, want := range fx.g.Params {
				got := doc.Params[i]
				if got.Name != want.Name || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || got.Numel != want.Numel ||
					got.Step == nil || *got.Step != want.Step || got.Group == nil || *got.Group != want.Group {
					t.Errorf("param %d: %s %v %d step %v group %v, want %s %v %d %d %d", i, got.Name, got.Shape, got.Numel,
						got.Step, got.Group, want.Name, want.Shape, want.Numel, want.Step, want.Group)
					continue
				}
				compareStats(t, want.Name+" fp32", got.FP32, want.FP32)
				compareStats(t, want.Name+" exp_avg", got.ExpAvg, want.ExpAvg)
				compareStats(t, want.Name+" exp_avg_sq", got.ExpAvgSq, want.ExpAvgSq)
				compareStats(t, want.Name+" bf16", got.BF16, want.BF16)
				if want.Adam.UpdateRMS != nil {
					if got.Adam == nil || got.Adam.UpdateRMS == nil || !golden.Close(float64(*got.Adam.UpdateRMS), *want.Adam.UpdateRMS, 0) {
						t.Errorf("%s: adam %+v, want update_rms %v", want.Name, got.Adam, *want.Adam.UpdateRMS)
					}
				}
			}
			s := doc.Summary
			if s.Params != fx.g.Summary.Params || s.Numel != fx.g.Summary.Numel || s.NaN != fx.g.Summary.NaN || s.Inf != fx.g.Summary.Inf ||
				!golden.Close(float64(s.WeightNorm), fx.g.Summary.WeightNorm, 0) || !golden.Close(float64(s.ExpAvgNorm), fx.g.Summary.ExpAvgNorm, 0) ||
				!golden.Close(float64(s.ExpAvgSqNorm), fx.g.Summary.ExpAvgSqNorm, 0) || !golden.Close(float64(s.BF16Norm), fx.g.Summary.BF16Norm, 0) {
				t.Errorf("summary %+v, want %+v", s, fx.g.Summary)
			}
		})
	}
	t.Logf("largest relative error of l2/rms/std against the goldens: %.3g (%s)", maxRelErr.v, maxRelErr.where)
}

// verifyJSON runs `verify --format json` with args and decodes it.
func verifyJSON(t *testing.T, args ...string) (report.Verification, int) {
	t.Helper()
	out, errOut, code := runRealDS(append([]string{"verify", "--format", "json"}, args...)...)
	var doc report.Verification
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("verify %v: exit %d, %v: %s %s", args, code, err, out, errOut)
	}
	return doc, code
}

// TestRealDSVerify runs `verify` and `verify --deep` on every real
// DeepSpeed checkpoint: exit 0 with no finding on every clean one; on the
// universal checkpoint DeepSpeed converted from ZeRO-3 with 3 ranks, exit
// 1 with one shapes.mismatch error on each 1-element parameter — exactly
// the golden's shape findings — and nothing else.
func TestRealDSVerify(t *testing.T) {
	for _, fx := range realFixtures(t) {
		for _, deep := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s/deep=%v", fx.name, fx.layout, deep), func(t *testing.T) {
				args := []string{fx.path, "--layout", fx.layout}
				if deep {
					args = append(args, "--deep")
				}
				doc, code := verifyJSON(t, args...)
				if doc.Summary.Step == nil || *doc.Summary.Step != fx.g.Checkpoint.Step || doc.Summary.Params != fx.g.Summary.Params {
					t.Errorf("summary %+v", doc.Summary)
				}
				want := map[string]string{}
				for _, f := range fx.g.ShapeFindings {
					want[f.Name] = fmt.Sprint(f.Expected)
				}
				if fx.layout != "universal" {
					want = nil
				}
				var got []string
				for _, f := range doc.Findings {
					exp, ok := want[f.Param]
					if f.Check != "shapes.mismatch" || f.Severity != "error" || !ok ||
						!strings.Contains(f.Message, "shape "+exp) || !strings.Contains(f.Message, "fp32.pt [") {
						t.Errorf("finding %+v", f)
						continue
					}
					got = append(got, f.Param)
				}
				if len(got) != len(want) {
					t.Errorf("shape findings on %d parameters %v, want %d", len(got), got, len(want))
				}
				wantCode := 0
				if len(want) > 0 {
					wantCode = ExitFindings
				}
				if code != wantCode || doc.Summary.OK != (wantCode == 0) {
					t.Errorf("exit %d ok %v, want %d", code, doc.Summary.OK, wantCode)
				}
			})
		}
	}
	// The garbage fixture does hold shape findings, on 1-element parameters only.
	var g golden.Checkpoint
	if err := golden.Load(filepath.Join(realds, "z3onegroup_dp3_bf16.golden.json"), &g); err != nil {
		t.Fatal(err)
	}
	ones := 0
	for _, p := range g.Params {
		if p.Numel == 1 {
			ones++
		}
	}
	if len(g.ShapeFindings) != ones || ones == 0 {
		t.Errorf("%d shape findings, %d 1-element parameters", len(g.ShapeFindings), ones)
	}
	for _, f := range g.ShapeFindings {
		if len(f.Found) != 3 || fmt.Sprint(f.Found["fp32"]) != "[2]" {
			t.Errorf("golden finding %+v", f)
		}
	}
}

// TestRealDSRankModelStates damages one rank's model states file of a
// ZeRO-3 shard folder, which a resume reads (every rank loads its own):
// deleted, verify fails with structure.missing_rank naming the file; one
// byte of its pickle changed (the file still parses), verify --deep fails
// with integrity.crc naming it.
func TestRealDSRankModelStates(t *testing.T) {
	const src = realds + "/z3_dp3_bf16"
	name := "zero_pp_rank_2_mp_rank_00_model_states.pt"
	t.Run("deleted", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		file := filepath.Join(dir, "global_step9", name)
		os.Remove(file)
		doc, code := verifyJSON(t, dir)
		if code != ExitFindings || !hasFinding(doc, "structure.missing_rank", file) {
			t.Errorf("exit %d, findings %+v", code, doc.Findings)
		}
	})
	t.Run("flipped", func(t *testing.T) {
		dir := fixture.CopyTree(t, src)
		file := filepath.Join(dir, "global_step9", name)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// A byte inside a string of data.pkl (the DeepSpeed version,
		// stored uncompressed): the file stays readable, its CRC does not.
		i := bytes.Index(b, []byte("0.15.1"))
		if i < 0 {
			t.Fatal("no version string")
		}
		b[i+5] = '9'
		os.WriteFile(file, b, 0o644)
		if doc, code := verifyJSON(t, dir); code != 0 {
			t.Logf("without --deep: exit %d, %+v", code, doc.Findings)
		}
		doc, code := verifyJSON(t, dir, "--deep")
		if code != ExitFindings || !hasFinding(doc, "integrity.crc", file) {
			t.Errorf("exit %d, findings %+v", code, doc.Findings)
		}
	})
}

func hasFinding(doc report.Verification, check, file string) bool {
	for _, f := range doc.Findings {
		if f.Check == check && f.File == file && f.Severity == "error" {
			return true
		}
	}
	return false
}

// TestRealDSDiff runs `diff --format json` on pairs of real DeepSpeed
// checkpoints — one run at steps 4 and 9, and the ZeRO-2 run against the
// BF16_Optimizer, fp32, ZeRO-3 and ZeRO-3-universal runs (same seed, model
// and data) — and checks every figure against PyTorch's float64 ones.
func TestRealDSDiff(t *testing.T) {
	var dg struct {
		Diffs []struct {
			A, B    string
			Params  []map[string]json.RawMessage `json:"params"`
			Summary struct {
				StepDelta      int64 `json:"step_delta"`
				ParamsCompared int   `json:"params_compared"`
			} `json:"summary"`
		} `json:"diffs"`
	}
	if err := golden.Load(filepath.Join(realds, "diff.golden.json"), &dg); err != nil {
		t.Fatal(err)
	}
	where := map[string]realFixture{}
	for _, fx := range realFixtures(t) {
		if _, ok := where[fx.name]; !ok || fx.layout == "zero" {
			where[fx.name] = fx
		}
	}
	if len(dg.Diffs) < 5 {
		t.Fatalf("%d diffs", len(dg.Diffs))
	}
	for _, d := range dg.Diffs {
		a, b := where[d.A], where[d.B]
		t.Run(d.A+"_vs_"+d.B, func(t *testing.T) {
			out, errOut, code := runRealDS("diff", a.path, b.path, "--layout", a.layout, "--layout-b", b.layout, "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc report.Diff
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Summary.StepDelta == nil || *doc.Summary.StepDelta != d.Summary.StepDelta || doc.Summary.ParamsCompared != d.Summary.ParamsCompared ||
				len(doc.Summary.ShapeMismatch) != 0 || len(doc.Params) != len(d.Params) {
				t.Fatalf("summary %+v, %d params; want %+v, %d", doc.Summary, len(doc.Params), d.Summary, len(d.Params))
			}
			byName := map[string]report.ParamDiff{}
			for _, p := range doc.Params {
				byName[p.Name] = p
			}
			for _, want := range d.Params {
				var name string
				json.Unmarshal(want["name"], &name)
				got, ok := byName[name]
				if !ok {
					t.Errorf("%s missing", name)
					continue
				}
				for _, st := range []struct {
					key string
					got *report.StateDiff
				}{{"fp32", got.FP32}, {"exp_avg", got.ExpAvg}, {"exp_avg_sq", got.ExpAvgSq}, {"bf16", got.BF16}} {
					var w *realPair
					if err := json.Unmarshal(want[st.key], &w); err != nil {
						t.Fatal(err)
					}
					what := name + " " + st.key
					if w == nil {
						if st.got != nil && st.got.Compared {
							t.Errorf("%s: compared, want absent", what)
						}
						continue
					}
					checkPair(t, what, st.got, *w)
				}
			}
		})
	}
	t.Logf("largest relative error of the diff figures against the goldens: %.3g (%s)", maxDiffRelErr.v, maxDiffRelErr.where)
}

// TestRealDSDiffLayouts diffs the shards and the universal checkpoint
// DeepSpeed made of them: every state of every parameter is compared (the
// converter's extra elements are not read, so the shapes agree), no
// element changed, and both norms are the golden's l2.
func TestRealDSDiffLayouts(t *testing.T) {
	n := 0
	for _, fx := range realFixtures(t) {
		if fx.layout != "zero" || fx.g.Layouts["universal"] == "" {
			continue
		}
		n++
		t.Run(fx.name, func(t *testing.T) {
			u := filepath.Join(realds, fx.g.Layouts["universal"])
			out, errOut, code := runRealDS("diff", fx.path, u, "--layout", "zero", "--layout-b", "universal", "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc report.Diff
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Params) != len(fx.g.Params) || doc.Summary.ParamsCompared != len(fx.g.Params) || len(doc.Summary.ShapeMismatch) != 0 {
				t.Fatalf("%d params, summary %+v", len(doc.Params), doc.Summary)
			}
			for i, want := range fx.g.Params {
				got := doc.Params[i]
				for _, st := range []struct {
					name string
					got  *report.StateDiff
					want *golden.Stats
				}{{"fp32", got.FP32, want.FP32}, {"exp_avg", got.ExpAvg, want.ExpAvg}, {"exp_avg_sq", got.ExpAvgSq, want.ExpAvgSq}, {"bf16", got.BF16, want.BF16}} {
					if st.want == nil {
						continue
					}
					d := st.got
					if d == nil || !d.Compared || d.Changed != 0 || d.Pairs != st.want.Finite || d.AL2 == nil || d.BL2 == nil ||
						!golden.Close(float64(*d.AL2), *st.want.L2, 0) || float64(*d.AL2) != float64(*d.BL2) {
						t.Errorf("%s %s: %+v, want %d unchanged pairs of l2 %v", want.Name, st.name, d, st.want.Finite, *st.want.L2)
					}
				}
			}
		})
	}
	if n < 2 {
		t.Errorf("%d fixtures with both layouts", n)
	}
}

// realPair is one state's figures in testdata/realds/diff.golden.json.
type realPair struct {
	Pairs       int64    `json:"pairs"`
	Skipped     int64    `json:"skipped"`
	Changed     int64    `json:"changed"`
	AL2         float64  `json:"a_l2"`
	BL2         float64  `json:"b_l2"`
	DeltaL2     float64  `json:"delta_l2"`
	MaxAbsDelta *float64 `json:"max_abs_delta"`
	RelChange   *float64 `json:"rel_change"`
	Cosine      *float64 `json:"cosine"`
	NormRatio   *float64 `json:"norm_ratio"`
}

// checkPair checks one state of `diff --format json` against its golden:
// counts and max_abs_delta exactly, the sums to 1e-9.
func checkPair(t *testing.T, what string, got *report.StateDiff, want realPair) {
	t.Helper()
	if got == nil || !got.Compared {
		t.Errorf("%s: not compared", what)
		return
	}
	if got.Pairs != want.Pairs || got.Skipped != want.Skipped || got.Changed != want.Changed {
		t.Errorf("%s: pairs %d skipped %d changed %d, want %d %d %d", what, got.Pairs, got.Skipped, got.Changed, want.Pairs, want.Skipped, want.Changed)
	}
	p := func(x float64) *float64 { return &x }
	for _, f := range []struct {
		name  string
		got   *output.Float
		want  *float64
		exact bool
	}{
		{"delta_l2", got.DeltaL2, p(want.DeltaL2), false}, {"a_l2", got.AL2, p(want.AL2), false}, {"b_l2", got.BL2, p(want.BL2), false},
		{"rel_change", got.RelChange, want.RelChange, false}, {"cosine", got.Cosine, want.Cosine, false},
		{"norm_ratio", got.NormRatio, want.NormRatio, false}, {"max_abs_delta", got.MaxAbsDelta, want.MaxAbsDelta, true},
	} {
		switch {
		case (f.got == nil) != (f.want == nil):
			t.Errorf("%s: %s = %v, want %v", what, f.name, f.got, f.want)
		case f.got == nil:
		case f.exact && float64(*f.got) != *f.want, !f.exact && !golden.Close(float64(*f.got), *f.want, 0):
			t.Errorf("%s: %s = %.17g, want %.17g", what, f.name, float64(*f.got), *f.want)
		default:
			if e := golden.RelErr(float64(*f.got), *f.want); !f.exact && e > maxDiffRelErr.v {
				maxDiffRelErr.v, maxDiffRelErr.where = e, what+" "+f.name
			}
		}
	}
}

// maxDiffRelErr is the largest relative error of a diff figure against its
// golden, for the record (go test -v).
var maxDiffRelErr struct {
	v     float64
	where string
}

// TestRealDSListAndScan runs `ls` on every kind of file DeepSpeed wrote
// (model states of ZeRO-1/2 and of each ZeRO-3 rank, optimizer shards of
// each engine, universal state files of both forms and optimizer_state.pt)
// and `scan` on every fixture folder: all list, all are clean.
func TestRealDSListAndScan(t *testing.T) {
	var files []string
	for _, pat := range []string{"*/global_step9/*.pt", "*/global_step9_universal/*.pt", "*/global_step9_universal/zero/*.pt",
		"*/global_step9_universal/zero/lm_head_alpha/*.pt"} {
		m, _ := filepath.Glob(filepath.Join(realds, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) < 30 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		out, errOut, code := runRealDS("ls", f, "--format", "json")
		var doc report.Listing
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Format != "zip" || doc.Tree.Kind == "" {
			t.Errorf("ls %s: exit %d, format %q, %s", f, code, doc.Format, errOut)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(realds, "*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		out, errOut, code := runRealDS("scan", d, "--format", "json")
		if code != 0 {
			t.Errorf("scan %s: exit %d %s %.500s", d, code, errOut, out)
		}
	}
}
