package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// exportGolden is testdata/<fixture>.export.golden.json, written by
// testdata/gen/gen_wesar.py with PyTorch.
type exportGolden struct {
	ConfigFloat32  map[string]any `json:"config_float32"`
	ConfigBFloat16 map[string]any `json:"config_bfloat16"`
	Tensors        []struct {
		Name       string       `json:"name"`
		Source     *string      `json:"source"`
		Scale      float64      `json:"scale"`
		Offset     float64      `json:"offset"`
		Shape      []int64      `json:"shape"`
		F32SHA256  string       `json:"f32_sha256"`
		BF16SHA256 string       `json:"bf16_sha256"`
		Stats      golden.Stats `json:"stats"`
	} `json:"tensors"`
}

func testdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "testdata"}, parts...)...)
}

func open(t *testing.T, path, lay string) *ckpt.Checkpoint {
	t.Helper()
	c, err := layout.Open(path, layout.Options{Layout: lay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func export(t *testing.T, c *ckpt.Checkpoint, dir string, opt Options) *Result {
	t.Helper()
	if opt.Config == nil {
		cfg, _, err := ckpt.FindConfig(c, "")
		if err != nil {
			t.Fatal(err)
		}
		opt.Config = cfg
	}
	res, err := Llama(context.Background(), c, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkAgainstGolden reads the exported model back and compares every
// tensor, byte for byte (SHA-256), with the one PyTorch computed, and the
// config with the golden's.
func checkAgainstGolden(t *testing.T, dir string, g *exportGolden, dt tensor.DType) {
	t.Helper()
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	byName := map[string]*safetensors.Tensor{}
	for _, x := range set.Tensors {
		byName[x.Name] = x
		if x.File.Metadata["format"] != "pt" {
			t.Errorf("%s: metadata %v", x.File.Path, x.File.Metadata)
		}
	}
	if len(byName) != len(g.Tensors) {
		t.Errorf("%d tensors, want %d", len(byName), len(g.Tensors))
	}
	for _, gt := range g.Tensors {
		x := byName[gt.Name]
		if x == nil {
			t.Errorf("%s: not exported", gt.Name)
			continue
		}
		if x.DType != dt || fmt.Sprint(x.Shape) != fmt.Sprint(gt.Shape) {
			t.Errorf("%s: %v %v, want %v %v", gt.Name, x.DType, x.Shape, dt, gt.Shape)
			continue
		}
		b, _ := x.View.ContiguousBytes()
		sum := sha256.Sum256(b)
		want := gt.F32SHA256
		if dt == tensor.BFloat16 {
			want = gt.BF16SHA256
		}
		if hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: %v bytes differ from PyTorch's", gt.Name, dt)
		}
		if dt == tensor.Float32 {
			for _, d := range golden.Compare(x.View.Stats(), gt.Stats) {
				if !strings.HasPrefix(d, "dtype") && !strings.HasPrefix(d, "shape") {
					t.Errorf("%s: %s", gt.Name, d)
				}
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	want := g.ConfigFloat32
	if dt == tensor.BFloat16 {
		want = g.ConfigBFloat16
	}
	for k, v := range want {
		if !reflect.DeepEqual(cfg[k], v) {
			t.Errorf("config.json %s = %v, want %v", k, cfg[k], v)
		}
	}
}

func TestLlamaGolden(t *testing.T) {
	for _, tc := range []struct {
		name, golden, path, layout string
	}{
		{"universal llama", "wesar-llama", testdata("wesar-llama", "checkpoint-30"), layout.Universal},
		{"zero shards llama", "wesar-llama", testdata("wesar-llama", "checkpoint-30"), layout.Zero},
		{"safetensors llama", "wesar-llama", testdata("wesar-llama-st"), ""},
		{"universal gemma", "wesar-gemma", testdata("wesar-gemma", "checkpoint-30"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g exportGolden
			if err := golden.Load(testdata(tc.golden+".export.golden.json"), &g); err != nil {
				t.Fatal(err)
			}
			c := open(t, tc.path, tc.layout)
			for _, dt := range []tensor.DType{tensor.Float32, tensor.BFloat16} {
				dir := filepath.Join(t.TempDir(), "out")
				res := export(t, c, dir, Options{DType: dt})
				checkAgainstGolden(t, dir, &g, dt)
				if len(res.Files) != 2 || res.Files[1] != "model.safetensors" {
					t.Errorf("files %v", res.Files)
				}
				for i, gt := range g.Tensors {
					rt := res.Tensors[i]
					if rt.Name != gt.Name || rt.Multiplier.Scale != gt.Scale || rt.Multiplier.Offset != gt.Offset {
						t.Errorf("tensor %d: %s %v, want %s scale %v offset %v", i, rt.Name, rt.Multiplier, gt.Name, gt.Scale, gt.Offset)
					}
				}
				if !strings.Contains(strings.Join(res.Notes, "\n"), "8 padding rows beyond vocab_size 120 dropped") && tc.name == "safetensors llama" {
					t.Errorf("notes %v", res.Notes)
				}
				if res.Source != "fp32 master weights" {
					t.Errorf("source %q", res.Source)
				}
			}
		})
	}
}

func TestLlamaSharded(t *testing.T) {
	var g exportGolden
	if err := golden.Load(testdata("wesar-llama.export.golden.json"), &g); err != nil {
		t.Fatal(err)
	}
	c := open(t, testdata("wesar-llama", "checkpoint-30"), "")
	dir := filepath.Join(t.TempDir(), "out")
	// 10 KB shards: the 120x32 bf16 embedding (7680 bytes) fills one; the
	// 80x32 MLP matrices (5120) go two by two
	res := export(t, c, dir, Options{MaxShardSize: 10000})
	n := len(res.Files) - 2
	if n < 3 || res.Files[1] != "model.safetensors.index.json" || res.Files[2] != fmt.Sprintf("model-00001-of-%05d.safetensors", n) {
		t.Fatalf("files %v", res.Files)
	}
	checkAgainstGolden(t, dir, &g, tensor.BFloat16)
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Metadata["total_size"] != res.Bytes || len(idx.WeightMap) != len(g.Tensors) {
		t.Errorf("index %+v, bytes %d", idx.Metadata, res.Bytes)
	}
	sizes := map[string]int64{}
	for _, x := range res.Tensors {
		n := int64(2)
		for _, d := range x.Shape {
			n *= d
		}
		sizes[x.File] += n
		if idx.WeightMap[x.Name] != x.File {
			t.Errorf("%s: index says %s, written to %s", x.Name, idx.WeightMap[x.Name], x.File)
		}
	}
	for f, s := range sizes {
		if s > 10000 {
			t.Errorf("%s holds %d bytes of tensors", f, s)
		}
	}
	// forcing a single-file export over it leaves no stale shard or index
	export(t, c, dir, Options{Force: true})
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "config.json model.safetensors" {
		t.Errorf("after --force: %v", names)
	}
	checkAgainstGolden(t, dir, &g, tensor.BFloat16)
}

func TestLlamaRefusesOverwrite(t *testing.T) {
	c := open(t, testdata("wesar-gemma", "checkpoint-30"), "")
	cfg, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Llama(context.Background(), c, dir, Options{Config: cfg}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("wrote into a refused folder: %v", entries)
	}
	if _, err := Llama(context.Background(), c, dir, Options{Config: cfg, Force: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Error("--force removed a file that is not an export's")
	}
}

func TestLlamaErrors(t *testing.T) {
	c := open(t, testdata("wesar-llama", "checkpoint-30"), "")
	base, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*yulan.Config)) *yulan.Config {
		cfg := *base
		f(&cfg)
		return &cfg
	}
	for name, tc := range map[string]struct {
		opt  Options
		want string
		is   error
	}{
		"no config":      {Options{}, "no model config", ckpt.ErrNoConfig},
		"qk layernorm":   {Options{Config: with(func(c *yulan.Config) { c.QKLayernorm = true })}, "qk_layernorm", ErrUnsupported},
		"embedding norm": {Options{Config: with(func(c *yulan.Config) { c.EmbeddingRMSLN = true })}, "embedding_rmsln", ErrUnsupported},
		"sliding window": {Options{Config: with(func(c *yulan.Config) { c.UseSlidingWindow = true })}, "use_sliding_window", ErrUnsupported},
		"rope scaling":   {Options{Config: with(func(c *yulan.Config) { c.RopeScaling = json.RawMessage(`{"type":"linear","factor":2.0}`) })}, "rope_scaling", ErrUnsupported},
		"hidden size":    {Options{Config: with(func(c *yulan.Config) { c.HiddenSize, c.HeadDim, c.DimModelBaseAttn = 64, 16, 2 })}, "has shape [120 32]", nil},
		"vocab larger":   {Options{Config: with(func(c *yulan.Config) { c.VocabSize = 200 })}, "the config gives [200 32]", nil},
		"fewer layers":   {Options{Config: with(func(c *yulan.Config) { c.NumHiddenLayers = 1 })}, "in layer 1, but the config has num_hidden_layers 1", yulan.ErrConfig},
		"more layers":    {Options{Config: with(func(c *yulan.Config) { c.NumHiddenLayers = 3 })}, "layer 2 has no", yulan.ErrAlpha},
		"dtype":          {Options{Config: base, DType: tensor.Float16}, "want bfloat16 or float32", nil},
		"no bias":        {Options{Config: with(func(c *yulan.Config) { c.AttentionBias = false })}, "have no place in it (model.layers.0.self_attn.q_proj.bias", ErrUnsupported},
		"scale_depth":    {Options{Config: with(func(c *yulan.Config) { v := 1.4; c.ScaleDepth = &v })}, "scale_depth", yulan.ErrConfig},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		_, err := Llama(context.Background(), c, dir, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
		if _, serr := os.Stat(dir); serr == nil {
			t.Errorf("%s: output folder created", name)
		}
	}
}

// TestLlamaTied exports a checkpoint with tied embeddings and no
// lm_head.weight: the head is the embedding matrix with the head's
// multiplier.
func TestLlamaTied(t *testing.T) {
	var g exportGolden
	if err := golden.Load(testdata("wesar-llama.export.golden.json"), &g); err != nil {
		t.Fatal(err)
	}
	c := open(t, testdata("wesar-llama", "checkpoint-30"), "")
	tied := *c
	tied.Params = nil
	var embed *ckpt.Param
	for _, p := range c.Params {
		if p.Name != "lm_head.weight" {
			tied.Params = append(tied.Params, p)
		}
		if p.Name == "model.embed_tokens.weight" {
			embed = p
		}
	}
	cfg, _, err := ckpt.FindConfig(c, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TieWordEmbeddings = true
	dir := filepath.Join(t.TempDir(), "out")
	res, err := Llama(context.Background(), &tied, dir, Options{Config: cfg, DType: tensor.Float32})
	if err != nil {
		t.Fatal(err)
	}
	head := res.Tensors[len(res.Tensors)-1]
	want := g.Tensors[len(g.Tensors)-1]
	if head.Name != "lm_head.weight" || head.Source != "model.embed_tokens.weight" || head.Multiplier.Scale != want.Scale {
		t.Fatalf("head %+v, want scale %v", head, want.Scale)
	}
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, x := range set.Tensors {
		if x.Name != "lm_head.weight" {
			continue
		}
		raw := make([]float64, x.View.Numel())
		if err := embed.FP32.ReadFloat64s(0, raw, nil); err != nil {
			t.Fatal(err)
		}
		for i, r := range raw {
			if got, w := x.View.Float64At(int64(i)), float64(float32(want.Scale*r)); got != w {
				t.Fatalf("lm_head[%d] = %v, want %v", i, got, w)
			}
		}
		return
	}
	t.Fatal("no lm_head.weight written")
}
