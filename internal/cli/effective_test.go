package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
)

// The WeSaR fixtures of testdata/gen/gen_wesar.py: configs with every
// multiplier off its default, scale factors far from 1.
const (
	wesarLlama = "../../testdata/wesar-llama/checkpoint-30"
	wesarST    = "../../testdata/wesar-llama-st"
	wesarGemma = "../../testdata/wesar-gemma/checkpoint-30"
	wesarDrift = "../../testdata/wesar-gemma-drift/checkpoint-33"
)

// effectiveGolden is testdata/<fixture>.effective.golden.json.
type effectiveGolden struct {
	Config map[string]any `json:"config"`
	Params []struct {
		Name           string       `json:"name"`
		Scale          float64      `json:"scale"`
		Offset         float64      `json:"offset"`
		Effective      golden.Stats `json:"effective"`
		UpdateToWeight *float64     `json:"update_to_weight"`
	} `json:"params"`
}

// statsEffective runs `stats PATH --effective --format json` (with the
// effective values accumulated rather than derived when accumulate) and
// decodes the document.
func statsEffective(t *testing.T, path string, accumulate bool, args ...string) report.CheckpointStats {
	t.Helper()
	var out, errOut bytes.Buffer
	var cmd *cobra.Command
	cmd = NewStatsCmd(Streams{Out: &out, ErrOut: &errOut}, func(o *StatsOptions) error {
		o.accumulateEffective = accumulate
		return runStats(cmd, o)
	})
	cmd.SetArgs(append([]string{path, "--effective", "--format", "json", "-j", "2"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var doc report.CheckpointStats
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	return doc
}

// relErr is the error of got against want relative to want, or to ref
// for a figure that cancels (a mean near 0).
func relErr(got, want, ref float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / max(math.Abs(want), math.Abs(ref))
}

// compareEffStats checks a STATS object against PyTorch's float64 golden:
// counts, min, max and absmax exactly, sums to 1e-9; it returns the
// largest relative error of the sums.
func compareEffStats(t *testing.T, what string, got *report.Stats, want golden.Stats) float64 {
	t.Helper()
	if got == nil {
		t.Errorf("%s: null", what)
		return 0
	}
	if got.Numel != want.Numel || got.NaN != want.NaN || got.Inf != want.Inf || got.Zeros != want.Zeros ||
		got.DType != want.DType || !equalShape(got.Shape, want.Shape) {
		t.Errorf("%s: %s %v numel %d nan %d inf %d zeros %d, want %s %v %d %d %d %d", what, got.DType, got.Shape, got.Numel, got.NaN, got.Inf, got.Zeros,
			want.DType, want.Shape, want.Numel, want.NaN, want.Inf, want.Zeros)
	}
	if want.L2 == nil {
		if got.L2 != nil {
			t.Errorf("%s: statistics where the golden has none", what)
		}
		return 0
	}
	var worst float64
	ref := *want.RMS
	for _, f := range []struct {
		name  string
		got   *output.Float
		want  float64
		exact bool
	}{{"l2", got.L2, *want.L2, false}, {"rms", got.RMS, *want.RMS, false}, {"mean", got.Mean, *want.Mean, false}, {"std", got.Std, *want.Std, false},
		{"min", got.Min, *want.Min, true}, {"max", got.Max, *want.Max, true}, {"absmax", got.AbsMax, *want.AbsMax, true}} {
		switch {
		case f.got == nil:
			t.Errorf("%s: %s null", what, f.name)
		case f.exact && float64(*f.got) != f.want, !f.exact && !golden.Close(float64(*f.got), f.want, ref):
			t.Errorf("%s: %s = %.17g, want %.17g", what, f.name, float64(*f.got), f.want)
		case !f.exact:
			worst = max(worst, relErr(float64(*f.got), f.want, ref))
		}
	}
	return worst
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStatsEffectiveGolden checks the effective statistics of every
// parameter that `stats --effective --format json` prints, derived and
// accumulated, from universal, ZeRO and safetensors inputs, against
// PyTorch's float64 goldens; and the config values it says it used.
func TestStatsEffectiveGolden(t *testing.T) {
	for _, c := range []struct {
		name, path, golden string
		args               []string
	}{
		{"llama", wesarLlama, "wesar-llama", nil},
		{"llama-zero", wesarLlama, "wesar-llama", []string{"--layout", "zero"}},
		{"llama-safetensors", wesarST, "wesar-llama-st", nil},
		{"gemma", wesarGemma, "wesar-gemma", nil},
	} {
		var g effectiveGolden
		if err := golden.Load(filepath.Join("../../testdata", c.golden+".effective.golden.json"), &g); err != nil {
			t.Fatal(err)
		}
		for _, accumulate := range []bool{false, true} {
			name := c.name
			method := "derived"
			if accumulate {
				name, method = name+"/accumulated", "accumulated"
			}
			t.Run(name, func(t *testing.T) {
				doc := statsEffective(t, c.path, accumulate, c.args...)
				if len(doc.Params) != len(g.Params) {
					t.Fatalf("%d parameters, golden %d", len(doc.Params), len(g.Params))
				}
				var worst, worstRatio, sumSq float64
				byName := map[string]int{}
				for i, gp := range g.Params {
					byName[gp.Name] = i
				}
				for _, p := range doc.Params {
					i, ok := byName[p.Name]
					if !ok || p.ParamEffective == nil {
						t.Fatalf("parameter %s: in the golden %v, effective fields %v", p.Name, ok, p.ParamEffective != nil)
					}
					gp := g.Params[i]
					if p.EffectiveScale == nil || float64(*p.EffectiveScale) != gp.Scale || p.EffectiveOffset == nil || float64(*p.EffectiveOffset) != gp.Offset {
						t.Errorf("%s: scale %v offset %v, want %v %v", p.Name, p.EffectiveScale, p.EffectiveOffset, gp.Scale, gp.Offset)
					}
					if p.EffectiveMethod == nil || *p.EffectiveMethod != method || p.EffectiveState == nil || *p.EffectiveState != "fp32" {
						t.Errorf("%s: method %v state %v, want %s fp32", p.Name, p.EffectiveMethod, p.EffectiveState, method)
					}
					worst = max(worst, compareEffStats(t, p.Name, p.Effective, gp.Effective))
					if gp.Effective.L2 != nil {
						sumSq += *gp.Effective.L2 * *gp.Effective.L2
					}
					switch {
					case gp.UpdateToWeight == nil:
						if p.EffectiveUpdateToWeight != nil {
							t.Errorf("%s: effective update/weight %v, golden has none", p.Name, *p.EffectiveUpdateToWeight)
						}
					case p.EffectiveUpdateToWeight == nil:
						t.Errorf("%s: no effective update/weight", p.Name)
					default:
						r := float64(*p.EffectiveUpdateToWeight)
						if !golden.Close(r, *gp.UpdateToWeight, 0) {
							t.Errorf("%s: effective update/weight %.17g, want %.17g", p.Name, r, *gp.UpdateToWeight)
						}
						worstRatio = max(worstRatio, relErr(r, *gp.UpdateToWeight, 0))
					}
				}
				s := doc.Summary.SummaryEffective
				if s == nil || !golden.Close(float64(s.EffectiveNorm), math.Sqrt(sumSq), 0) {
					t.Errorf("summary effective norm %v, want %v", s, math.Sqrt(sumSq))
				}
				// the config values used, none defaulted
				if doc.Effective == nil || !strings.HasSuffix(doc.Effective.Config, "config.json") && !strings.Contains(doc.Effective.Config, "config.json of") {
					t.Fatalf("effective info %+v", doc.Effective)
				}
				used := map[string]report.Setting{}
				for _, st := range doc.Effective.Settings {
					used[st.Key] = st
				}
				for k, v := range g.Config {
					st, ok := used[k]
					if !ok || st.Defaulted {
						t.Errorf("setting %s: %+v", k, st)
						continue
					}
					if f, isNum := v.(float64); isNum && st.Value != f || !isNum && k == "rms_type" && st.Value != v {
						t.Errorf("setting %s = %v, config %v", k, st.Value, v)
					}
				}
				t.Logf("largest relative error against PyTorch float64: statistics %.2g, update/weight %.2g", worst, worstRatio)
			})
		}
	}
}

// TestStatsEffectiveOutputs checks the table, CSV and --group-by forms of
// --effective, and that it leaves the raw figures as they are.
func TestStatsEffectiveOutputs(t *testing.T) {
	out, errOut, code := run("stats", wesarGemma, "--effective", "--sort", "effective.rms", "--top", "3", "--filter", "weight$")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"effective weights: config config.json of " + wesarGemma + ": ", "rms_type gemma, ln_scale 0.8, hidden_states_shrink 0.3",
		"eff rms", "effective weights: global norm 27.71", "\nmodel.norm.weight "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	out, _, code = run("stats", wesarGemma, "--effective", "--group-by", "layer", "--format", "csv")
	if code != 0 || !strings.Contains(strings.SplitN(out, "\n", 2)[0], ",effective_norm,effective_rms") {
		t.Errorf("group CSV: exit %d:\n%s", code, out)
	}
	out, _, code = run("stats", wesarGemma, "--effective", "--format", "csv", "--filter", `^model\.norm\.weight$`)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.Contains(lines[0], "effective_rms") ||
		!strings.Contains(lines[1], ",fp32,derived,") {
		t.Errorf("CSV: exit %d:\n%s", code, out)
	}
	// raw figures are those of a run without --effective
	plain, _, _ := run("stats", wesarGemma, "--format", "json")
	eff, _, _ := run("stats", wesarGemma, "--format", "json", "--effective")
	var a, b report.CheckpointStats
	if err := json.Unmarshal([]byte(plain), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(eff), &b); err != nil {
		t.Fatal(err)
	}
	for i := range a.Params {
		b.Params[i].ParamEffective = nil
		x, _ := json.Marshal(a.Params[i])
		y, _ := json.Marshal(b.Params[i])
		if !bytes.Equal(x, y) {
			t.Errorf("%s: raw figures differ with --effective:\n%s\n%s", a.Params[i].Name, x, y)
		}
	}
	if strings.Contains(plain, "effective") {
		t.Error("effective fields without --effective")
	}
}

// effectiveDiffGolden is testdata/wesar-gemma-drift.effective-diff.golden.json.
type effectiveDiffGolden struct {
	Params []struct {
		Name      string     `json:"name"`
		State     string     `json:"state"`
		ScaleA    float64    `json:"scale_a"`
		ScaleB    float64    `json:"scale_b"`
		OffsetA   float64    `json:"offset_a"`
		OffsetB   float64    `json:"offset_b"`
		Effective pairGolden `json:"effective"`
	} `json:"params"`
	Summary struct {
		ParamsCompared int        `json:"params_compared"`
		Effective      pairGolden `json:"effective"`
	} `json:"summary"`
}

// TestDiffEffectiveGolden checks `diff --effective --format json` of a
// WeSaR checkpoint and the same run 3 AdamW steps later (scale factors
// trained too) against PyTorch's float64 comparison of the effective
// weights, each side under its own scale factors; and that the raw
// figures are those of a diff without --effective.
func TestDiffEffectiveGolden(t *testing.T) {
	var g effectiveDiffGolden
	if err := golden.Load("../../testdata/wesar-gemma-drift.effective-diff.golden.json", &g); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("diff", wesarGemma, wesarDrift, "--effective", "--format", "json", "-j", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc report.Diff
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Params) != len(g.Params) || doc.Effective == nil || doc.Effective.A == nil || doc.Effective.B == nil {
		t.Fatalf("%d parameters (golden %d), effective info %+v", len(doc.Params), len(g.Params), doc.Effective)
	}
	var worst float64
	for i, p := range doc.Params {
		gp := g.Params[i]
		if p.Name != gp.Name || p.ParamEffectiveDiff == nil || p.EffectiveState == nil || *p.EffectiveState != gp.State {
			t.Fatalf("parameter %d: %s (golden %s)", i, p.Name, gp.Name)
		}
		if float64(*p.EffectiveScaleA) != gp.ScaleA || float64(*p.EffectiveScaleB) != gp.ScaleB ||
			float64(*p.EffectiveOffsetA) != gp.OffsetA || float64(*p.EffectiveOffsetB) != gp.OffsetB {
			t.Errorf("%s: multipliers %v %v %v %v, want %v %v %v %v", p.Name, *p.EffectiveScaleA, *p.EffectiveScaleB,
				*p.EffectiveOffsetA, *p.EffectiveOffsetB, gp.ScaleA, gp.ScaleB, gp.OffsetA, gp.OffsetB)
		}
		comparePair(t, p.Name+" effective", p.Effective, gp.Effective)
		worst = max(worst, pairErr(p.Effective, gp.Effective))
	}
	if ge := doc.Summary.Global.GroupEffectiveDiff; ge == nil {
		t.Error("no global effective comparison")
	} else {
		comparePair(t, "global effective", ge.Effective, g.Summary.Effective)
		worst = max(worst, pairErr(ge.Effective, g.Summary.Effective))
	}
	t.Logf("largest relative error against PyTorch float64: %.2g", worst)

	// the raw comparison is the one without --effective
	plain, _, _ := run("diff", wesarGemma, wesarDrift, "--format", "json", "-j", "3")
	var raw report.Diff
	if err := json.Unmarshal([]byte(plain), &raw); err != nil {
		t.Fatal(err)
	}
	for i := range raw.Params {
		doc.Params[i].ParamEffectiveDiff = nil
		x, _ := json.Marshal(raw.Params[i])
		y, _ := json.Marshal(doc.Params[i])
		if !bytes.Equal(x, y) {
			t.Errorf("%s: raw comparison differs with --effective", raw.Params[i].Name)
		}
	}

	// table and CSV
	out, _, code = run("diff", wesarGemma, wesarDrift, "--effective", "--sort", "effective.rel_change", "--top", "2")
	if code != 0 || !strings.Contains(out, "eff rel") || !strings.Contains(out, "\neffective ") || !strings.Contains(out, "effective weights of B: config config.json of "+wesarDrift) {
		t.Errorf("table: exit %d:\n%s", code, out)
	}
	out, _, code = run("diff", wesarGemma, wesarDrift, "--effective", "--group-by", "layer", "--format", "csv")
	if code != 0 || !strings.Contains(strings.SplitN(out, "\n", 2)[0], ",effective_delta_l2,") {
		t.Errorf("CSV: exit %d:\n%s", code, out)
	}
}

// pairErr is the largest relative error of a comparison's sums against
// the golden.
func pairErr(got *report.StateDiff, want pairGolden) float64 {
	if got == nil || got.DeltaL2 == nil {
		return 0
	}
	e := max(relErr(float64(*got.DeltaL2), want.DeltaL2, 0), relErr(float64(*got.AL2), want.AL2, 0), relErr(float64(*got.BL2), want.BL2, 0))
	for _, f := range []struct {
		got  *output.Float
		want *float64
	}{{got.RelChange, want.RelChange}, {got.Cosine, want.Cosine}, {got.NormRatio, want.NormRatio}} {
		if f.got != nil && f.want != nil {
			e = max(e, relErr(float64(*f.got), *f.want, 0))
		}
	}
	return e
}

// TestVerifyScaleFactorsCommand checks verify's scale-factor check through
// the command: the WeSaR fixtures are clean, an unknown scale factor
// planted in a copy is an error (exit 1).
func TestVerifyScaleFactorsCommand(t *testing.T) {
	for _, args := range [][]string{{wesarLlama}, {wesarLlama, "--layout", "zero"}, {wesarGemma}, {wesarDrift}} {
		out, errOut, code := run(append([]string{"verify"}, args...)...)
		if code != 0 || !strings.HasPrefix(lastLine(out), "verify OK") {
			t.Errorf("%v: exit %d: %s%s", args, code, out, errOut)
		}
	}
	out, _, _ := run("verify", wesarGemma, "--format", "json")
	if !strings.Contains(out, `"config": "config.json of `+wesarGemma+`"`) {
		t.Errorf("summary does not name the config:\n%s", out)
	}

	// An unknown factor, renamed consistently in the folder and the model
	// states (same length, so the pickle stays valid).
	dir := fixture.CopyTree(t, wesarGemma)
	tag := filepath.Join(dir, "global_step30_universal")
	const from, to = "model.layers.1.self_attn.v_proj_alpha", "model.layers.1.self_attn.u_proj_alpha"
	if err := os.Rename(filepath.Join(tag, "zero", from), filepath.Join(tag, "zero", to)); err != nil {
		t.Fatal(err)
	}
	ms := filepath.Join(tag, "mp_rank_00_model_states.pt")
	pkl, _, err := fixture.DataPkl(ms)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fixture.ReplaceDataPkl(ms, bytes.ReplaceAll(pkl, []byte(from), []byte(to)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ms, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("verify", dir, "--format", "json")
	var doc report.Verification
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	found := false
	for _, f := range doc.Findings {
		if f.Check != "structure.scale_factors" || f.Severity != "error" {
			t.Errorf("other finding: %+v", f)
		}
		if f.Param == to && strings.Contains(f.Message, "u_proj_alpha is not one of YuLan-Mini's scale factors") {
			found = true
		}
	}
	if code != ExitFindings || !found || doc.Summary.OK {
		t.Errorf("unknown scale factor: exit %d, %+v", code, doc)
	}
	// stats --effective refuses it, naming it
	_, errOut, code = run("stats", dir, "--effective")
	if code != ExitInput || !strings.Contains(errOut, to) {
		t.Errorf("stats --effective: exit %d: %s", code, errOut)
	}
	// and stats without --effective does not care
	if _, errOut, code = run("stats", dir); code != 0 {
		t.Errorf("stats: exit %d: %s", code, errOut)
	}
}

// TestEffectiveErrors checks the usage and input errors of --effective.
func TestEffectiveErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rms_type": "t5"}`), 0o644)
	notJSON := filepath.Join(dir, "config.json")
	os.WriteFile(notJSON, []byte(`nope`), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"stats", wesarST, "--effective", "--config", bad}, ExitInput, bad + `: model config: rms_type "t5" is neither`},
		{[]string{"stats", wesarST, "--effective", "--config", notJSON}, ExitInput, notJSON + ": model config: not a JSON object"},
		{[]string{"stats", wesarST, "--effective", "--config", filepath.Join(dir, "missing.json")}, ExitInput, "missing.json"},
		{[]string{"stats", "../../testdata/safetensors/model.safetensors", "--effective"}, ExitUsage, "--effective apply to checkpoint folders"},
		{[]string{"stats", wesarST, "--sort", "effective.rms"}, ExitUsage, "needs --effective"},
		{[]string{"stats", wesarST, "--config", bad}, ExitUsage, "--effective only"},
		{[]string{"diff", wesarGemma, wesarDrift, "--sort", "effective.cosine"}, ExitUsage, "needs --effective"},
		{[]string{"diff", wesarGemma, wesarDrift, "--effective", "--config-b", bad}, ExitInput, bad},
		{[]string{"verify", wesarGemma, "--config", filepath.Join(dir, "missing.json")}, ExitInput, "missing.json"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, errOut, code := run(c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) || out != "" {
				t.Errorf("exit %d (want %d), stderr %q (want %q), stdout %q", code, c.code, errOut, c.msg, out)
			}
		})
	}
}
