package zero

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
)

// fuzzSlots are the files of a ZeRO-3 shard folder as DeepSpeed writes it
// (testdata/realds/z3_dp3_bf16, 3 ranks), which FuzzOpen fills.
var fuzzSlots = []string{
	"zero_pp_rank_0_mp_rank_00_model_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt",
	"zero_pp_rank_2_mp_rank_00_model_states.pt", "bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt",
	"bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt", "bf16_zero_pp_rank_2_mp_rank_00_optim_states.pt",
}

const fuzzSource = "../testdata/realds/z3_dp3_bf16/global_step9"

// fuzzTree writes a shard folder under root: byte i of data chooses what
// slot i holds — nothing (0), real file k (1-6; another slot's file when k
// is not i+1), its first half (129-134), or the bytes that follow (other
// values: up to 32 of them).
func fuzzTree(t *testing.T, root string, data []byte, files [][]byte) {
	for _, slot := range fuzzSlots {
		if len(data) == 0 {
			return
		}
		c := data[0]
		data = data[1:]
		p := filepath.Join(root, slot)
		switch {
		case c == 0:
		case c >= 1 && c <= 6:
			os.WriteFile(p, files[c-1], 0o644)
		case c >= 129 && c <= 134:
			b := files[c-129]
			os.WriteFile(p, b[:len(b)/2], 0o644)
		default:
			n := min(int(c)%32, len(data))
			os.WriteFile(p, data[:n], 0o644)
			data = data[n:]
		}
	}
}

// FuzzOpen fuzzes the reading of ZeRO-3 shard folders — every rank's model
// states and optimizer shard present, missing, swapped, truncated or
// garbage — open (strict and tolerant) and scan: a checkpoint or an error,
// never a panic or a hang.
func FuzzOpen(f *testing.F) {
	var files [][]byte
	for _, s := range fuzzSlots {
		b, err := os.ReadFile(filepath.Join(fuzzSource, s))
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, b)
	}
	f.Add([]byte{1, 2, 3, 4, 5, 6})
	f.Add([]byte{1, 0, 3, 4, 5, 6})
	f.Add([]byte{1, 3, 2, 4, 6, 5})
	f.Add([]byte{131, 2, 3, 4, 5, 134})
	f.Add([]byte{1, 2, 9, 'P', 'K', 3, 4, 0, 0, 0, 0, 0, 4, 5, 6})
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		fuzzTree(t, root, data, files)
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

// TestFuzzSeed checks that FuzzOpen's first seed is the checkpoint as
// DeepSpeed wrote it, read without an issue, and the second one lacks
// rank 1's model states.
func TestFuzzSeed(t *testing.T) {
	var files [][]byte
	for _, s := range fuzzSlots {
		b, err := os.ReadFile(filepath.Join(fuzzSource, s))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for _, seed := range []struct {
		data   []byte
		issues int
	}{{[]byte{1, 2, 3, 4, 5, 6}, 0}, {[]byte{1, 0, 3, 4, 5, 6}, 1}} {
		root := t.TempDir()
		fuzzTree(t, root, seed.data, files)
		c, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Params) != 45 || len(c.Issues) != seed.issues {
			t.Errorf("seed %v: %d params, issues %+v", seed.data, len(c.Params), c.Issues)
		}
		c.Close()
	}
}
