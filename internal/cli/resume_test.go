package cli

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestVerifyResume runs verify --resume with each DeepSpeed configuration
// of testdata/resume: each broken one gives exactly its finding and exit
// 1, the correct ones exit 0.
func TestVerifyResume(t *testing.T) {
	const dir = "../../testdata/resume/"
	cases := []struct {
		ckpt, config string
		code         int
		errors       []string // the error findings' checks
	}{
		{"universal/checkpoint-250", "universal-ok", ExitOK, nil},
		{"universal/checkpoint-250", "universal-load-universal-false", ExitFindings, []string{"resume.load_universal", "structure.latest"}},
		{"universal/checkpoint-250", "universal-batch-1024", ExitFindings, []string{"resume.batch"}},
		{"universal/checkpoint-250", "universal-betas", ExitFindings, []string{"resume.betas"}},
		{"universal/checkpoint-250", "universal-stage3", ExitFindings, []string{"resume.zero_stage"}},
		{"zero/checkpoint-120", "zero-ok", ExitOK, nil},
		{"zero/checkpoint-120", "zero-dp6", ExitFindings, []string{"resume.dp_size"}},
		{"zero/checkpoint-120", "zero-scheduler-end", ExitFindings, []string{"resume.scheduler"}},
	}
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			out, errOut, code := run("verify", "--resume", dir+c.ckpt, "--ds-config", dir+"configs/"+c.config+".json", "--format", "json")
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			var doc struct {
				Findings []struct{ Check, Severity, Fix string }
				Resume   *struct {
					Load struct{ Tag string }
				}
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Resume == nil || doc.Resume.Load.Tag == "" {
				t.Fatalf("no resume plan in %s", out)
			}
			var got []string
			for _, f := range doc.Findings {
				if f.Severity == "error" {
					got = append(got, f.Check)
					if strings.HasPrefix(f.Check, "resume.") && f.Fix == "" {
						t.Errorf("%s has no fix", f.Check)
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(c.errors, " ") {
				t.Errorf("errors %v, want %v", got, c.errors)
			}
		})
	}
	if _, errOut, code := run("verify", "--resume", dir+"universal/checkpoint-250", "--world-size", "-1"); code != ExitUsage {
		t.Errorf("--world-size -1: exit %d (%s)", code, errOut)
	}
	if _, errOut, code := run("verify", "--resume", dir+"universal/checkpoint-250", "--ds-config", dir+"missing.json"); code != ExitInput || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing config: exit %d (%s)", code, errOut)
	}
}
