package resume

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestTry(t *testing.T) {
	for _, c := range []struct{ ck, cfg string }{
		{"universal/checkpoint-250", "universal-ok"},
		{"universal/checkpoint-250", "universal-load-universal-false"},
		{"universal/checkpoint-250", "universal-batch-1024"},
		{"universal/checkpoint-250", "universal-betas"},
		{"universal/checkpoint-250", "universal-stage3"},
		{"universal/checkpoint-250", ""},
		{"zero/checkpoint-120", "zero-ok"},
		{"zero/checkpoint-120", "zero-dp6"},
		{"zero/checkpoint-120", "zero-scheduler-end"},
		{"zero/checkpoint-120", ""},
	} {
		opt := Options{}
		if c.cfg != "" {
			opt.DSConfig = "../testdata/resume/configs/" + c.cfg + ".json"
		}
		p, err := Inspect("../testdata/resume/"+c.ck, opt)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("==", c.ck, c.cfg, p.Errors, p.Warnings)
		for _, f := range p.Findings {
			fmt.Printf("  %s %s: %s\n    fix: %s\n", f.Severity, f.Check, f.Message, f.Fix)
		}
		if c.cfg == "universal-ok" || c.cfg == "zero-ok" {
			b, _ := json.MarshalIndent(p, "", " ")
			fmt.Println(string(b))
		}
	}
}
