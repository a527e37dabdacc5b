package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/tensor"
)

func TestExportFlags(t *testing.T) {
	parse := func(args ...string) (*ExportOptions, error) {
		var got *ExportOptions
		cmd := NewExportCmd(Streams{}, func(o *ExportOptions) error { got = o; return nil })
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		return got, err
	}
	o, err := parse("--to", "llama", "ck", "out")
	if err != nil || o.DType != tensor.BFloat16 || o.MaxShardSize != 5_000_000_000 || o.Force || o.Path != "ck" || o.Out != "out" {
		t.Fatalf("defaults %+v, %v", o, err)
	}
	o, err = parse("--to", "llama", "--dtype", "float32", "--max-shard-size", "2GiB", "--force", "--config", "c.json", "--layout", "zero", "ck", "out")
	if err != nil || o.DType != tensor.Float32 || o.MaxShardSize != 2<<30 || !o.Force || o.Config != "c.json" || o.Layout != "zero" {
		t.Fatalf("%+v, %v", o, err)
	}
	for _, args := range [][]string{
		{"ck", "out"}, {"--to", "gguf", "ck", "out"}, {"--to", "llama", "--dtype", "float16", "ck", "out"},
		{"--to", "llama", "--max-shard-size", "0", "ck", "out"}, {"--to", "llama", "--max-shard-size", "lots", "ck", "out"},
		{"--to", "llama", "--format", "csv", "ck", "out"}, {"--to", "llama", "ck"},
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	for in, want := range map[string]int64{"5GB": 5e9, "500MB": 5e8, "1.5gb": 15e8, "10KiB": 10240, "123": 123, "64 MiB": 64 << 20, "7B": 7} {
		if got, err := output.ParseSize(in); err != nil || got != want {
			t.Errorf("output.ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestExportCommand(t *testing.T) {
	ck := filepath.Join("..", "..", "testdata", "wesar-gemma", "checkpoint-30")
	out := filepath.Join(t.TempDir(), "llama")
	stdout, stderr, code := run("export", "--to", "llama", "--format", "json", "--max-shard-size", "20KB", ck, out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc report.ExportDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.DType != "bfloat16" || len(doc.Tensors) != 29 || doc.Files[0] != "config.json" || doc.Files[1] != "model.safetensors.index.json" ||
		doc.Source != "fp32 master weights" || doc.Layout != "universal" {
		t.Errorf("document %+v", doc)
	}
	for _, f := range doc.Files {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	var norm report.ExportTensor
	for _, x := range doc.Tensors {
		if x.Name == "model.norm.weight" {
			norm = x
		}
	}
	if norm.Offset != 1 || len(norm.Factors) != 2 || norm.Factors[0].Source != "ln_scale" || norm.Factors[0].Value != 0.8 {
		t.Errorf("model.norm.weight %+v", norm)
	}
	// again: refused (usage), then forced
	_, stderr, code = run("export", "--to", "llama", ck, out)
	if code != ExitUsage || !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "--force") {
		t.Errorf("second export: exit %d, %s", code, stderr)
	}
	stdout, stderr, code = run("export", "--to", "llama", "--force", ck, out)
	if code != 0 || !strings.Contains(stdout, "Llama model, bfloat16, 29 tensors") || !strings.Contains(stdout, "× (w + 1)") {
		t.Errorf("forced export: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors.index.json")); err == nil {
		t.Error("stale index left by --force")
	}
	// a bad config: exit 2, naming the file
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"rms_type": "layernorm"}`), 0o644)
	_, stderr, code = run("export", "--to", "llama", "--config", cfg, ck, filepath.Join(t.TempDir(), "x"))
	if code != ExitInput || !strings.Contains(stderr, cfg) || !strings.Contains(stderr, "rms_type") {
		t.Errorf("bad config: exit %d, %s", code, stderr)
	}
}
