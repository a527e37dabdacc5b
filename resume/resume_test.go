package resume

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden plan files")

const (
	universalCkpt = "../testdata/resume/universal/checkpoint-250"
	zeroCkpt      = "../testdata/resume/zero/checkpoint-120"
	configs       = "../testdata/resume/configs/"
)

// got lists a plan's findings as "check severity", sorted.
func got(p *Plan) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, string(f.Check)+" "+f.Severity.String())
	}
	sort.Strings(out)
	return out
}

func same(a, b []string) bool {
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

// writeConfig writes a variant of a bundled configuration.
func writeConfig(t *testing.T, base string, edit func(m map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(configs + base)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	p := filepath.Join(t.TempDir(), "variant-"+base)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func section(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// TestFixtures runs every bundled configuration against its checkpoint:
// each broken one gives exactly its finding (an error: exit status 1), the
// correct ones none. Info findings (never an exit status) are listed too.
func TestFixtures(t *testing.T) {
	for _, c := range []struct {
		name, ckpt, config string
		opt                Options
		want               []string
	}{
		{"universal-ok", universalCkpt, "universal-ok.json", Options{}, nil},
		{"universal-load-universal-false", universalCkpt, "universal-load-universal-false.json", Options{}, []string{"resume.load_universal error"}},
		{"universal-batch-1024", universalCkpt, "universal-batch-1024.json", Options{}, []string{"resume.batch error", "resume.rng_state info"}},
		{"universal-betas", universalCkpt, "universal-betas.json", Options{}, []string{"resume.betas error"}},
		{"universal-stage3", universalCkpt, "universal-stage3.json", Options{}, []string{"resume.zero_stage error"}},
		// Without a configuration, the one the checkpoint was trained
		// with: YuLan-Mini's ds2_config_adamw.json has load_universal false.
		{"universal-own-config", universalCkpt, "", Options{}, []string{"resume.load_universal error"}},
		// Flags: 16 x 64 x 1 = 1024, and 42 x 24 x 1 = 1008 that
		// trainer_state.json's train_batch_size 21 silently halves.
		{"universal-flags-1024", universalCkpt, "universal-ok.json", Options{WorldSize: 64, PerDeviceBatch: 16}, []string{"resume.batch error", "resume.rng_state info"}},
		{"universal-flags-trainer-state", universalCkpt, "universal-ok.json", Options{WorldSize: 24, PerDeviceBatch: 42}, []string{"resume.trainer_state error"}},
		{"universal-flags-same-batch", universalCkpt, "universal-ok.json", Options{WorldSize: 8, GradAccum: 6}, nil},
		{"zero-ok", zeroCkpt, "zero-ok.json", Options{}, nil},
		{"zero-dp6", zeroCkpt, "zero-dp6.json", Options{}, []string{"resume.dp_size error", "resume.rng_state info"}},
		{"zero-scheduler-end", zeroCkpt, "zero-scheduler-end.json", Options{}, []string{"resume.scheduler error"}},
		{"zero-own-config", zeroCkpt, "", Options{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			if c.config != "" {
				opt.DSConfig = configs + c.config
			}
			p, err := Inspect(c.ckpt, opt)
			if err != nil {
				t.Fatal(err)
			}
			if g := got(p); !same(g, c.want) {
				for _, f := range p.Findings {
					t.Logf("%s %s: %s", f.Severity, f.Check, f.Message)
				}
				t.Fatalf("findings %q, want %q", g, c.want)
			}
			wantErr := false
			for _, w := range c.want {
				wantErr = wantErr || strings.HasSuffix(w, " error")
			}
			if (p.Errors > 0) != wantErr {
				t.Errorf("errors %d: exit status would be wrong", p.Errors)
			}
			for _, f := range p.Findings {
				if f.Message == "" || (f.Severity != ckpt.Info && f.Fix == "") {
					t.Errorf("%s: message %q, fix %q", f.Check, f.Message, f.Fix)
				}
			}
		})
	}
}

// TestVariants breaks the other rules with configurations and checkpoint
// copies made by the test.
func TestVariants(t *testing.T) {
	noSched := fixture.CopyTree(t, universalCkpt)
	os.Remove(filepath.Join(noSched, "scheduler.pt"))
	stepMismatch := fixture.CopyTree(t, universalCkpt)
	editJSON(t, filepath.Join(stepMismatch, "trainer_state.json"), func(m map[string]any) { m["global_step"] = 240.0 })
	finished := fixture.CopyTree(t, universalCkpt)
	editJSON(t, filepath.Join(finished, "trainer_state.json"), func(m map[string]any) { m["max_steps"] = 250.0 })
	os.Remove(filepath.Join(finished, "training_args.bin"))
	fewRNG := fixture.CopyTree(t, zeroCkpt)
	os.Remove(filepath.Join(fewRNG, "rng_state_2.pth"))
	badRNG := fixture.CopyTree(t, zeroCkpt)
	os.WriteFile(filepath.Join(badRNG, "rng_state_1.pth"), []byte("not a torch.save file"), 0o644)
	noUniversal := fixture.CopyTree(t, zeroCkpt)
	os.Remove(filepath.Join(noUniversal, "latest_universal"))

	for _, c := range []struct {
		name, ckpt string
		config     func(t *testing.T) string
		opt        Options
		want       []string
		contains   string
	}{
		{"lr", universalCkpt, func(t *testing.T) string {
			return writeConfig(t, "universal-ok.json", func(m map[string]any) { section(section(m, "optimizer"), "params")["lr"] = 0.02 })
		}, Options{}, []string{"resume.lr error"}, "base_lrs 0.01"},
		{"eps", universalCkpt, func(t *testing.T) string {
			return writeConfig(t, "universal-ok.json", func(m map[string]any) { section(section(m, "optimizer"), "params")["eps"] = 1e-8 })
		}, Options{}, []string{"resume.eps error"}, "eps 1e-15"},
		{"weight-decay", universalCkpt, func(t *testing.T) string {
			return writeConfig(t, "universal-ok.json", func(m map[string]any) { section(section(m, "optimizer"), "params")["weight_decay"] = 0.01 })
		}, Options{}, []string{"resume.weight_decay error"}, "weight decay 0.1, 0"},
		{"fp16", universalCkpt, func(t *testing.T) string {
			return writeConfig(t, "universal-ok.json", func(m map[string]any) {
				m["bf16"] = map[string]any{"enabled": false}
				m["fp16"] = map[string]any{"enabled": true}
			})
		}, Options{}, []string{"resume.dtype warning"}, "trained in bf16"},
		{"deepspeed-scheduler-over-lambdalr", universalCkpt, func(t *testing.T) string {
			return writeConfig(t, "universal-ok.json", func(m map[string]any) {
				m["scheduler"] = map[string]any{"type": "WarmupDecayLR", "params": map[string]any{"total_num_steps": 1000.0, "warmup_num_steps": 100.0, "warmup_max_lr": "auto"}}
			})
		}, Options{}, []string{"resume.scheduler error"}, "KeyError: 'last_batch_iteration'"},
		{"trainer-scheduler-over-deepspeed", zeroCkpt, func(t *testing.T) string {
			return writeConfig(t, "zero-ok.json", func(m map[string]any) { delete(m, "scheduler") })
		}, Options{}, []string{"resume.scheduler error"}, "WarmupDecayLR"},
		{"peak-lr", zeroCkpt, func(t *testing.T) string {
			return writeConfig(t, "zero-ok.json", func(m map[string]any) { section(section(m, "scheduler"), "params")["warmup_max_lr"] = 0.001 })
		}, Options{}, []string{"resume.lr warning"}, "from 0.003"},
		{"stage1", zeroCkpt, func(t *testing.T) string {
			return writeConfig(t, "zero-ok.json", func(m map[string]any) { section(m, "zero_optimization")["stage"] = 1.0 })
		}, Options{}, []string{"resume.zero_stage info"}, "partition the optimizer state alike"},
		{"universal-any-dp", zeroCkpt, func(t *testing.T) string {
			return writeConfig(t, "zero-dp6.json", func(m map[string]any) { section(m, "checkpoint")["load_universal"] = true })
		}, Options{}, []string{"resume.rng_state info"}, "3 of the 6"},
		{"train-batch-size-inconsistent", zeroCkpt, func(t *testing.T) string { return configs + "zero-ok.json" },
			Options{WorldSize: 4}, []string{"resume.batch error", "resume.dp_size error", "resume.rng_state info"}, "DeepSpeed refuses to start"},
		{"no-scheduler-pt", noSched, func(t *testing.T) string { return configs + "universal-ok.json" }, Options{}, []string{"resume.scheduler error"}, "FileNotFoundError"},
		{"global-step", stepMismatch, func(t *testing.T) string { return configs + "universal-ok.json" }, Options{}, []string{"resume.trainer_state warning"}, "global_step 240"},
		{"max-steps", finished, func(t *testing.T) string { return configs + "universal-ok.json" },
			Options{PerDeviceBatch: 21}, []string{"resume.max_steps warning", "resume.training_args warning"}, "max_steps 250"},
		{"rng-missing", fewRNG, func(t *testing.T) string { return configs + "zero-ok.json" }, Options{}, []string{"resume.rng_state info"}, "rng_state_2.pth"},
		{"rng-unreadable", badRNG, func(t *testing.T) string { return configs + "zero-ok.json" }, Options{}, []string{"resume.rng_state warning"}, "rng_state_1.pth"},
		{"no-latest-universal", noUniversal, func(t *testing.T) string {
			return writeConfig(t, "zero-ok.json", func(m map[string]any) { section(m, "checkpoint")["load_universal"] = true })
		}, Options{}, []string{"resume.load_universal error"}, "ds_to_universal.py"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			opt.DSConfig = c.config(t)
			p, err := Inspect(c.ckpt, opt)
			if err != nil {
				t.Fatal(err)
			}
			all := ""
			for _, f := range p.Findings {
				all += f.Message + " | " + f.Fix + "\n"
			}
			if g := got(p); !same(g, c.want) {
				t.Fatalf("findings %q, want %q\n%s", g, c.want, all)
			}
			if !strings.Contains(all, c.contains) {
				t.Errorf("no %q in\n%s", c.contains, all)
			}
		})
	}
}

func editJSON(t *testing.T, path string, edit func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlanGolden pins the whole plan of the two correct configurations
// (go test ./resume -update rewrites the goldens).
func TestPlanGolden(t *testing.T) {
	for _, c := range []struct{ name, ckpt, config string }{
		{"universal-ok", universalCkpt, "universal-ok.json"},
		{"zero-ok", zeroCkpt, "zero-ok.json"},
		{"universal-batch-1024", universalCkpt, "universal-batch-1024.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Inspect(c.ckpt, Options{DSConfig: configs + c.config})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			golden := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./resume -update)", err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("plan differs from %s (run go test ./resume -update and review the diff)", golden)
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	if _, err := Inspect("../testdata/resume/configs", Options{}); !errors.Is(err, ErrNotTrainer) {
		t.Errorf("a folder without tags: %v, want ErrNotTrainer", err)
	}
	if _, err := Inspect(configs+"zero-ok.json", Options{}); !errors.Is(err, ErrNotTrainer) {
		t.Errorf("a file: %v, want ErrNotTrainer", err)
	}
	if _, err := Inspect("../testdata/resume/nope", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing path: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"train_batch_size": 8,}`), 0o644)
	if _, err := Inspect(zeroCkpt, Options{DSConfig: bad}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a bad configuration: %v", err)
	}
	tag := fixture.CopyTree(t, zeroCkpt)
	os.WriteFile(filepath.Join(tag, "latest"), []byte("../../etc"), 0o644)
	if _, err := Inspect(tag, Options{}); err == nil || !strings.Contains(err.Error(), "not a tag folder") {
		t.Errorf("a latest file naming a path: %v", err)
	}
}
