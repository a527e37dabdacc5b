package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hwmEnv names the file where a child writes its own peak RSS.
const hwmEnv = "CKPTINSPECT_HWM_FILE"

// writePeakRSS writes the process's peak resident set (VmHWM: file-backed
// pages of mappings included, as /usr/bin/time and Slurm count them), in
// bytes, to path.
func writePeakRSS(path string) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				os.WriteFile(path, []byte(strconv.FormatInt(n<<10, 10)), 0o644)
			}
		}
	}
}

// maxRSS is the README's bound on the peak RSS of any job.
const maxRSS = 128 << 20

// writeSparseModel writes a sharded safetensors model of shards files,
// each holding perShard float32 tensors of n elements, and returns its
// folder and the bytes of all its tensors. The tensor bytes are holes
// (zeros): no disk space, read at memory speed.
func writeSparseModel(t *testing.T, shards, perShard int, n int64) (string, int64) {
	dir := t.TempDir()
	weights := map[string]string{}
	var total int64
	for s := 0; s < shards; s++ {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, shards)
		header := map[string]any{}
		for i := 0; i < perShard; i++ {
			tn := fmt.Sprintf("model.layers.%d.mlp.w%d.weight", s, i)
			off := int64(i) * n * 4
			header[tn] = map[string]any{"dtype": "F32", "shape": []int64{n / 1024, 1024}, "data_offsets": []int64{off, off + n*4}}
			weights[tn] = name
		}
		h, err := json.Marshal(header)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var size [8]byte
		binary.LittleEndian.PutUint64(size[:], uint64(len(h)))
		if _, err := f.Write(append(size[:], h...)); err != nil {
			t.Fatal(err)
		}
		data := int64(perShard) * n * 4
		if err := f.Truncate(int64(8+len(h)) + data); err != nil {
			t.Fatal(err)
		}
		f.Close()
		total += data
	}
	index, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weights})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), index, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, total
}

// TestPeakRSS: scanning a checkpoint whose tensors add up to four times the
// README's memory bound (two of them for diff) stays under it, measured as
// the child process's own VmHWM.
func TestPeakRSS(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("memory of the race detector; -short")
	}
	dir, total := writeSparseModel(t, 4, 4, 8<<20) // 16 tensors of 32 MiB: 512 MiB
	for _, args := range [][]string{
		{"stats", dir, "--format", "json"},
		{"verify", dir, "--format", "json"},
		{"diff", dir, dir, "--format", "json"},
		{"report", dir, dir, "-o", filepath.Join(t.TempDir(), "r.html")},
	} {
		t.Run(args[0], func(t *testing.T) {
			hwm := filepath.Join(t.TempDir(), "hwm")
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), childEnv+"=1", hwmEnv+"="+hwm, "GOMAXPROCS=2")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if args[0] == "stats" {
				var doc struct {
					Summary struct {
						BytesScanned int64 `json:"bytes_scanned"`
					} `json:"summary"`
				}
				if err := json.Unmarshal(out, &doc); err != nil || doc.Summary.BytesScanned != total {
					t.Fatalf("stats scanned %d bytes, want %d (%v)", doc.Summary.BytesScanned, total, err)
				}
			}
			b, err := os.ReadFile(hwm)
			if err != nil {
				t.Fatal(err)
			}
			peak, _ := strconv.ParseInt(string(b), 10, 64)
			t.Logf("%s: peak RSS %.1f MiB for %d MiB of tensors", args[0], float64(peak)/(1<<20), total>>20)
			if peak <= 0 || peak > maxRSS {
				t.Errorf("%s: peak RSS %d bytes, over %d", args[0], peak, maxRSS)
			}
		})
	}
}
