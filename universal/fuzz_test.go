package universal

import (
	"os"
	"path/filepath"
	"testing"
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

// buildTree makes the folder that data describes under root (see fuzzOp).
func buildTree(t *testing.T, root string, data []byte, contents [][]byte) {
	dirs := []string{root}
	for ops := 0; len(data) >= 4 && ops < 32; ops++ {
		kind, parent, name, c := data[0]%4, dirs[int(data[1])%len(dirs)], fuzzNames[int(data[2])%len(fuzzNames)], data[3]
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
			os.WriteFile(p, b, 0o644)
		case 2:
			os.Symlink(fuzzTargets[int(c)%len(fuzzTargets)], p)
		case 3:
			n := min(int(c)%64, len(data))
			os.WriteFile(p, data[:n], 0o644)
			data = data[n:]
		}
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
