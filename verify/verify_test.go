package verify

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/torchsave"
	"github.com/ckptinspect/ckptinspect/universal"
)

const (
	intstep = "../testdata/universal-intstep/checkpoint-7"
	sample  = "../testdata/sample/checkpoint-120"
)

func zero(dir, param, file string) string {
	tag := "global_step7_universal"
	if strings.HasSuffix(dir, "checkpoint-120") {
		tag = "global_step120_universal"
	}
	if param == "" {
		return filepath.Join(dir, tag, file)
	}
	return filepath.Join(dir, tag, "zero", param, file)
}

// tensorOffset returns where the element at flat index i of the tensor at
// key path name of a torch.save file lies, and its dtype size.
func tensorOffset(t *testing.T, path, name string, i int64) int64 {
	t.Helper()
	f, err := torchsave.Open(path, torchsave.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	named, err := f.Tensors()
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range named {
		if nt.Name == name {
			tt := nt.Tensor
			if tt.Numel() <= i {
				t.Fatalf("%s has %d elements", name, tt.Numel())
			}
			// Contiguous tensors only.
			return tt.Storage.FileOffset() + (tt.Offset+i)*int64(tt.DType.Size())
		}
	}
	t.Fatalf("no tensor %s in %s", name, path)
	return 0
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func putF32(t *testing.T, path string, i int64, x float32) {
	t.Helper()
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, math.Float32bits(x))
	writeAt(t, path, tensorOffset(t, path, "param", i), b)
}

func run(t *testing.T, dir string, deep bool) *Report {
	t.Helper()
	c, err := universal.Open(dir, universal.Options{Tolerant: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := Run(context.Background(), c, Options{Deep: deep, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCleanSamples(t *testing.T) {
	for _, dir := range []string{sample, intstep} {
		for _, deep := range []bool{false, true} {
			r := run(t, dir, deep)
			if r.Errors != 0 || r.Warnings != 0 {
				t.Errorf("%s deep=%v: %+v", dir, deep, r.Findings)
			}
		}
	}
}

// TestPlantedFaults plants one fault in a copy of a generator-made
// checkpoint and checks that verify finds it, on the right parameter.
func TestPlantedFaults(t *testing.T) {
	const up = "model.layers.0.mlp.up_proj.weight"
	cases := []struct {
		name  string
		src   string
		plant func(t *testing.T, dir string)
		check ckpt.CheckID
		param string
		deep  bool
	}{
		{"nan in a moment", intstep, func(t *testing.T, dir string) {
			putF32(t, zero(dir, up, "exp_avg.pt"), 5, float32(math.NaN()))
		}, "values.nonfinite", up, false},
		{"inf in a weight", sample, func(t *testing.T, dir string) {
			putF32(t, zero(dir, "model.norm.weight", "fp32.pt"), 3, float32(math.Inf(1)))
		}, "values.nonfinite", "model.norm.weight", false},
		{"negative exp_avg_sq", intstep, func(t *testing.T, dir string) {
			putF32(t, zero(dir, "lm_head.weight", "exp_avg_sq.pt"), 7, -1e-9)
		}, "values.negative_exp_avg_sq", "lm_head.weight", false},
		{"moment of the wrong shape", intstep, func(t *testing.T, dir string) {
			b, _ := os.ReadFile(zero(dir, "model.layers.0.self_attn.k_proj.weight", "exp_avg.pt"))
			os.WriteFile(zero(dir, "model.layers.0.self_attn.q_proj.weight", "exp_avg.pt"), b, 0o644)
		}, "shapes.mismatch", "model.layers.0.self_attn.q_proj.weight", false},
		{"one parameter at another step (int)", intstep, func(t *testing.T, dir string) {
			p := zero(dir, "model.norm.weight", "step.pt")
			b, _ := os.ReadFile(p)
			i := strings.Index(string(b), "K\x07.")
			if i < 0 {
				t.Fatal("step pickle not found")
			}
			writeAt(t, p, int64(i+1), []byte{8})
		}, "step.mismatch", "model.norm.weight", false},
		{"one parameter at another step (tensor)", sample, func(t *testing.T, dir string) {
			p := zero(dir, "model.layers.1.mlp.down_proj.weight", "step.pt")
			b := make([]byte, 4)
			binary.LittleEndian.PutUint32(b, math.Float32bits(121))
			writeAt(t, p, tensorOffset(t, p, "", 0), b)
		}, "step.mismatch", "model.layers.1.mlp.down_proj.weight", false},
		{"bf16 module weight not the rounded master", intstep, func(t *testing.T, dir string) {
			p := zero(dir, "", "mp_rank_00_model_states.pt")
			off := tensorOffset(t, p, "module."+up, 3)
			b, _ := os.ReadFile(p)
			writeAt(t, p, off, []byte{b[off] ^ 1})
		}, "master.mismatch", up, false},
		{"truncated state file", intstep, func(t *testing.T, dir string) {
			p := zero(dir, "model.embed_tokens.weight", "fp32.pt")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)*2/3], 0o644)
		}, "structure.truncated", "model.embed_tokens.weight", false},
		{"missing exp_avg_sq", intstep, func(t *testing.T, dir string) {
			os.Remove(zero(dir, "model.layers.0.self_attn.v_proj_alpha", "exp_avg_sq.pt"))
		}, "structure.missing_state", "model.layers.0.self_attn.v_proj_alpha", false},
		{"flipped byte inside a storage", intstep, func(t *testing.T, dir string) {
			p := zero(dir, "model.layers.0.mlp.gate_proj.weight", "exp_avg_sq.pt")
			off := tensorOffset(t, p, "param", 10)
			b, _ := os.ReadFile(p)
			writeAt(t, p, off, []byte{b[off] ^ 0x01}) // lowest mantissa bit: still a valid, positive value
		}, "integrity.crc", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fixture.CopyTree(t, c.src)
			c.plant(t, dir)
			r := run(t, dir, c.deep)
			if r.Errors == 0 {
				t.Fatalf("no error found; findings %+v", r.Findings)
			}
			found := false
			for _, f := range r.Findings {
				if f.Check == c.check && f.Param == c.param && f.Severity == ckpt.Error {
					found = true
					if c.check == "integrity.crc" && !strings.Contains(f.File, "gate_proj.weight") {
						t.Errorf("CRC finding names %s", f.File)
					}
				}
			}
			if !found {
				t.Errorf("no %s finding for %q; findings: %+v", c.check, c.param, r.Findings)
			}
			if c.deep {
				if r := run(t, dir, false); r.Errors != 0 {
					t.Errorf("without --deep: %+v", r.Findings)
				}
			}
		})
	}
}
