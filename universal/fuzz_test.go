package universal

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
)

// fuzzNames are the names a fuzzed checkpoint folder is built from: the
// names layout discovery looks for, and one it does not know.
var fuzzNames = []string{
	"global_step7_universal", "zero", "lm_head.weight", "model.norm.weight", "latest_universal",
	"latest", "fp32.pt", "exp_avg.pt", "exp_avg_sq.pt", "step.pt", "mp_rank_00_model_states.pt",
	"optimizer_state.pt", "trainer_state.json", "config.json", "global_step8_universal", "x",
}

// fuzzTargets are where fuzzed symbolic links point.
var fuzzTargets = []string{".", "..", "../..", "zero", "fp32.pt", "missing", "/nonexistent", "global_step7_universal"}

const fuzzSource = "../testdata/universal-intstep/checkpoint-7/global_step7_universal"

// fuzzContents are the file contents a fuzzed folder uses: real files of
// the bundled checkpoint, and small texts.
func fuzzContents(tb testing.TB) [][]byte {
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(fuzzSource, rel))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	return [][]byte{
		read("zero/lm_head.weight/fp32.pt"), read("zero/lm_head.weight/exp_avg.pt"),
		read("zero/lm_head.weight/step.pt"), read("mp_rank_00_model_states.pt"),
		read("zero/optimizer_state.pt"), []byte("global_step7_universal"), []byte(`{"global_step": 7}`),
		[]byte(""), []byte("../.."), []byte("{"),
	}
}

// fuzzOp encodes one step of building a folder, for seeds: kind 0 makes
// a folder, 1 writes a file (content index c), 2 makes a symbolic link
// (target index c), 3 writes the bytes that follow; parent indexes the
// folders made so far (0 is the root).
func fuzzOp(kind, parent, name, c byte) []byte { return []byte{kind, parent, name, c} }

// buildTree makes the folder that data describes under root (see fuzzOp),
// from fuzzNames.
func buildTree(t *testing.T, root string, data []byte, contents [][]byte) {
	buildTreeOf(t, root, data, fuzzNames, contents)
}

// buildTreeOf makes the folder that data describes under root, with the
// given names.
func buildTreeOf(t *testing.T, root string, data []byte, names []string, contents [][]byte) {
	dirs := []string{root}
	for ops := 0; len(data) >= 4 && ops < 32; ops++ {
		kind, parent, name, c := data[0]%4, dirs[int(data[1])%len(dirs)], names[int(data[2])%len(names)], data[3]
		data = data[4:]
		p := filepath.Join(parent, name)
		switch kind {
		case 0:
			if os.Mkdir(p, 0o755) == nil {
				dirs = append(dirs, p)
			}
		case 1:
			b := contents[int(c)%len(contents)]
			if c >= 128 {
				b = b[:len(b)/2] // truncated
			}
			writeNew(p, b)
		case 2:
			os.Symlink(fuzzTargets[int(c)%len(fuzzTargets)], p)
		case 3:
			n := min(int(c)%64, len(data))
			writeNew(p, data[:n])
			data = data[n:]
		}
	}
}

// writeNew writes a new file at p, and nothing if p exists: never through
// a symbolic link the tree already holds there (one to /nonexistent made
// the fuzzer write outside its folder).
func writeNew(p string, b []byte) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return
	}
	f.Write(b)
	f.Close()
}

// TestBuildTreeStaysInside checks that a fuzzed tree never writes through
// its own symbolic links, out of its folder.
func TestBuildTreeStaysInside(t *testing.T) {
	abs := fuzzTargets[slices.Index(fuzzTargets, "/nonexistent")]
	if _, err := os.Lstat(abs); err == nil {
		t.Skipf("%s exists on this machine", abs)
	}
	root := t.TempDir()
	x := byte(slices.Index(fuzzNames, "x"))
	link := byte(slices.Index(fuzzTargets, abs))
	data := append(fuzzOp(2, 0, x, link), fuzzOp(1, 0, x, 0)...) // x -> /nonexistent, then write x
	data = append(data, fuzzOp(3, 0, x, 4)...)
	data = append(data, "../.."...)
	buildTreeOf(t, root, data, fuzzNames, [][]byte{[]byte("data")})
	if _, err := os.Lstat(abs); err == nil {
		os.Remove(abs)
		t.Fatalf("the tree wrote %s through its symbolic link", abs)
	}
	if target, err := os.Readlink(filepath.Join(root, "x")); err != nil || target != abs {
		t.Fatalf("x is no longer the link: %q, %v", target, err)
	}
}

// validTree is the seed of FuzzOpen that builds a readable checkpoint.
func validTree() []byte {
	var valid []byte
	valid = append(valid, fuzzOp(0, 0, 0, 0)...) // 1: global_step7_universal/
	valid = append(valid, fuzzOp(0, 1, 1, 0)...) // 2: .../zero/
	valid = append(valid, fuzzOp(0, 2, 2, 0)...) // 3: .../zero/lm_head.weight/
	valid = append(valid, fuzzOp(1, 3, 6, 0)...) // fp32.pt
	valid = append(valid, fuzzOp(1, 3, 7, 1)...) // exp_avg.pt
	valid = append(valid, fuzzOp(1, 3, 8, 1)...) // exp_avg_sq.pt
	valid = append(valid, fuzzOp(1, 3, 9, 2)...) // step.pt
	valid = append(valid, fuzzOp(1, 1, 10, 3)...)
	valid = append(valid, fuzzOp(1, 2, 11, 4)...)
	valid = append(valid, fuzzOp(1, 0, 4, 5)...) // latest_universal
	valid = append(valid, fuzzOp(1, 0, 12, 6)...)
	return valid
}

// FuzzOpen fuzzes layout discovery and opening over folders built from the
// bundled checkpoint's files: any tree of folders, files (whole, truncated
// or made of fuzzed bytes) and symbolic links (loops included) must give
// a checkpoint or an error, never a panic or a hang.
func FuzzOpen(f *testing.F) {
	contents := fuzzContents(f)
	valid := validTree()
	f.Add(valid)
	f.Add(append(append([]byte{}, valid...), fuzzOp(2, 3, 3, 1)...))   // a link loop as a parameter
	f.Add(append(append([]byte{}, valid...), fuzzOp(2, 3, 7, 4)...))   // exp_avg.pt -> fp32.pt
	f.Add(append(append([]byte{}, valid...), fuzzOp(1, 3, 6, 200)...)) // a truncated fp32.pt
	f.Add(append(fuzzOp(2, 0, 1, 0), fuzzOp(3, 0, 4, 5)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		buildTree(t, root, data, contents)
		for _, p := range []string{root, filepath.Join(root, "global_step7_universal"), filepath.Join(root, "global_step7_universal", "zero")} {
			Resolve(p)
			for _, tolerant := range []bool{false, true} {
				c, err := Open(p, Options{Tolerant: tolerant})
				if err != nil {
					if c != nil {
						t.Fatalf("Open(%s) returned a checkpoint and the error %v", p, err)
					}
					continue
				}
				for _, prm := range c.Params {
					_ = prm.Name
				}
				c.Close()
			}
		}
	})
}

// TestFuzzSeed checks that FuzzOpen's main seed builds a checkpoint Open
// reads, so that the fuzzer starts from the interesting region.
func TestFuzzSeed(t *testing.T) {
	root := t.TempDir()
	buildTree(t, root, validTree(), fuzzContents(t))
	c, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Params) != 1 || c.Params[0].Name != "lm_head.weight" || c.Params[0].FP32 == nil || c.Params[0].Step == nil {
		t.Errorf("params %+v", c.Params)
	}
}

// The names and files a fuzzed universal checkpoint converted from ZeRO-3
// is built from: DeepSpeed's own output (testdata/realds), with its
// per-rank model states and flat state files, one with extra elements.
var fuzz3Names = []string{
	"global_step9_universal", "zero", "lm_head_alpha", "lm_head.weight", "fp32.pt", "exp_avg.pt", "exp_avg_sq.pt",
	"optimizer_state.pt", "zero_pp_rank_0_mp_rank_00_model_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt",
	"zero_pp_rank_2_mp_rank_00_model_states.pt", "latest_universal", "x",
}

const fuzz3Source = "../testdata/realds/z3onegroup_dp3_bf16/global_step9_universal"

func fuzz3Contents(tb testing.TB) [][]byte {
	var out [][]byte
	for _, rel := range []string{"zero/lm_head_alpha/fp32.pt", "zero/lm_head_alpha/exp_avg.pt", "zero/lm_head.weight/fp32.pt",
		"zero/optimizer_state.pt", "zero_pp_rank_0_mp_rank_00_model_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt"} {
		b, err := os.ReadFile(filepath.Join(fuzz3Source, rel))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out, []byte("global_step9_universal"), []byte(""))
}

// validTree3 is the seed of FuzzOpenZeRO3 that builds a readable
// checkpoint: a tag folder with two ranks' model states, zero/ with
// optimizer_state.pt and lm_head_alpha's three state files.
func validTree3() []byte {
	var v []byte
	v = append(v, fuzzOp(0, 0, 0, 0)...) // 1: global_step9_universal/
	v = append(v, fuzzOp(0, 1, 1, 0)...) // 2: .../zero/
	v = append(v, fuzzOp(0, 2, 2, 0)...) // 3: .../zero/lm_head_alpha/
	v = append(v, fuzzOp(1, 3, 4, 0)...) // fp32.pt
	v = append(v, fuzzOp(1, 3, 5, 1)...) // exp_avg.pt
	v = append(v, fuzzOp(1, 3, 6, 1)...) // exp_avg_sq.pt
	v = append(v, fuzzOp(1, 2, 7, 3)...) // optimizer_state.pt
	v = append(v, fuzzOp(1, 1, 8, 4)...) // rank 0's model states
	v = append(v, fuzzOp(1, 1, 9, 5)...) // rank 1's
	v = append(v, fuzzOp(1, 0, 11, 6)...)
	return v
}

// FuzzOpenZeRO3 fuzzes the reading of universal checkpoints converted from
// ZeRO-3 (per-rank model states, flat state files reshaped or cut, steps
// from optimizer_state.pt): open and scan, never a panic or a hang.
func FuzzOpenZeRO3(f *testing.F) {
	contents := fuzz3Contents(f)
	valid := validTree3()
	f.Add(valid)
	f.Add(append(append([]byte{}, valid...), fuzzOp(1, 3, 4, 2)...))    // lm_head.weight's fp32.pt as lm_head_alpha's
	f.Add(append(append([]byte{}, valid...), fuzzOp(1, 1, 10, 200)...)) // a truncated rank 2 model states
	f.Add(append(append([]byte{}, valid...), fuzzOp(1, 2, 7, 4)...))    // model states as optimizer_state.pt
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		buildTreeOf(t, root, data, fuzz3Names, contents)
		for _, tolerant := range []bool{false, true} {
			c, err := Open(root, Options{Tolerant: tolerant})
			if err != nil {
				if c != nil {
					t.Fatalf("Open returned a checkpoint and the error %v", err)
				}
				continue
			}
			ckpt.Scan(context.Background(), c, ckpt.ScanOptions{Workers: 1})
			c.Close()
		}
	})
}

// TestFuzzSeed3 checks that FuzzOpenZeRO3's main seed builds a checkpoint
// Open reads as DeepSpeed wrote it: lm_head_alpha cut to its one element,
// at the optimizer state's step, rank 2's model states reported missing.
func TestFuzzSeed3(t *testing.T) {
	root := t.TempDir()
	buildTreeOf(t, root, validTree3(), fuzz3Names, fuzz3Contents(t))
	c, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Params) != 1 || c.Params[0].Name != "lm_head_alpha" || c.Params[0].FP32 == nil || c.Params[0].FP32.Numel() != 1 ||
		c.Params[0].Step == nil || *c.Params[0].Step != 9 {
		t.Errorf("params %+v", c.Params)
	}
	var checks []string
	for _, is := range c.Issues {
		checks = append(checks, string(is.Check))
	}
	if s := strings.Join(checks, " "); !strings.Contains(s, "structure.missing_rank") || !strings.Contains(s, "shapes.mismatch") {
		t.Errorf("issues %v", checks)
	}
}
