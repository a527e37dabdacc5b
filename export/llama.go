// Package export writes a checkpoint's weights as a plain Hugging Face
// Llama model: OUT/config.json (LlamaForCausalLM) and OUT/model.safetensors,
// or model-0000k-of-0000n.safetensors shards with model.safetensors.index.json,
// that LlamaForCausalLM.from_pretrained(OUT) loads.
//
// The weights are the fp32 master weights (the module weights of a
// weights-only bf16 input) with every multiplier of YuLan-Mini's
// parameterisation folded in (yulan.Resolve: WeSaR scale factors, ln_scale,
// hidden_states_shrink, scale_emb, the attention and logits bases; norm
// weights of rms_type gemma become 1 + w), so that the Llama network
// computes the same function; vocabulary padding rows are dropped; Llama's
// o_proj biases are zeros. Each value is computed in float64 as
// Scale·(w + Offset), rounded to float32 (to nearest even), and for
// bfloat16 output that float32 rounded to bfloat16 (to nearest even, as
// torch's .to(torch.bfloat16) does).
//
// Writing streams: one chunk of one tensor in memory at a time, read from
// the checkpoint with pread; files are written under temporary names and
// renamed when complete.
package export

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// DefaultMaxShardSize is the default largest shard, in bytes of tensor
// data: 5 GB, as transformers' save_pretrained counts it (10⁹ bytes).
const DefaultMaxShardSize = 5_000_000_000

// ErrExists reports an output folder that already holds files (use
// Options.Force).
var ErrExists = errors.New("output folder is not empty")

// ErrUnsupported reports a checkpoint a plain Llama model cannot express.
var ErrUnsupported = errors.New("cannot be exported as a plain Llama model")

// Options configures [Llama].
type Options struct {
	// Config is the model's config (required; see FindConfig).
	Config *yulan.Config
	// DType is the output dtype: tensor.BFloat16 (the default, when
	// Invalid) or tensor.Float32.
	DType tensor.DType
	// MaxShardSize is the largest shard in bytes of tensor data (a larger
	// tensor gets a shard of its own); 0 means DefaultMaxShardSize.
	MaxShardSize int64
	// Force allows writing into a folder that is not empty; files of an
	// earlier export there (model*.safetensors, the index, config.json) are
	// replaced or removed.
	Force bool
	// Progress, when set, is called with the number of source bytes read.
	Progress func(bytes int64)
}

// Tensor is one tensor of the exported model.
type Tensor struct {
	Name   string // Hugging Face Llama name
	Source string // the checkpoint parameter it is made from; "" for a zero bias
	Shape  []int64
	// Multiplier is what the source was multiplied by.
	Multiplier yulan.Multiplier
	File       string // the file it is written to (base name)
	// NonFinite counts NaN and ±Inf values written.
	NonFinite int64

	src *ckpt.Tensor
}

// Result says what Llama wrote.
type Result struct {
	Dir     string
	DType   tensor.DType
	Files   []string // base names, config.json first
	Tensors []Tensor
	// Bytes is the tensor data written, the index's total_size.
	Bytes int64
	// Source says which weights were read ("fp32 master weights", ...).
	Source string
	// Notes say what was assumed or found (scale factors taken as 1,
	// dropped vocabulary rows, non-finite values).
	Notes []string
	// Config is the config.json written.
	Config map[string]any
}

// Plan checks that c can be exported under opt and returns what Llama
// would write (without File names and NonFinite counts), reading only the
// scale factors.
func Plan(c *ckpt.Checkpoint, opt Options) (*Result, error) {
	cfg := opt.Config
	if cfg == nil {
		return nil, fmt.Errorf("%s: %w", c.Path, ckpt.ErrNoConfig)
	}
	dt := opt.DType
	if dt == tensor.Invalid {
		dt = tensor.BFloat16
	}
	if dt != tensor.BFloat16 && dt != tensor.Float32 {
		return nil, fmt.Errorf("export dtype %v: want bfloat16 or float32", dt)
	}
	unsupported := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: "+format, append([]any{c.Path, ErrUnsupported}, args...)...)
	}
	switch {
	case cfg.QKLayernorm:
		return nil, unsupported("the config sets qk_layernorm (per-head LayerNorms of q and k)")
	case cfg.EmbeddingLN || cfg.EmbeddingRMSLN:
		return nil, unsupported("the config sets embedding_ln or embedding_rmsln (a norm after the embeddings)")
	case cfg.UseSlidingWindow:
		return nil, unsupported("the config sets use_sliding_window")
	case string(cfg.RopeScaling) != "null":
		return nil, unsupported("the config sets rope_scaling %s, which YuLan-Mini's modelling code implements its own way", cfg.RopeScaling)
	}
	var virtual []string
	if cfg.TieWordEmbeddings && !hasParam(c, "lm_head.weight") {
		virtual = append(virtual, "lm_head.weight") // for its multiplier
	}
	scales, err := ckpt.Scales(c, cfg, virtual...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	for name, v := range scales.Alphas {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: scale factor %s is %v: the exported weights would not be finite", c.Path, name, v)
		}
	}
	params := map[string]*ckpt.Param{}
	for _, p := range c.Params {
		params[p.Name] = p
	}
	res := &Result{DType: dt, Notes: append([]string{}, scales.Notes...)}
	used := map[string]bool{}
	kinds := map[string]int{}
	h, d := int64(cfg.HiddenSize), int64(cfg.HeadDim)
	q, kv, inter, vocab := int64(cfg.NumAttentionHeads)*d, int64(cfg.NumKeyValueHeads)*d, int64(cfg.IntermediateSize), int64(cfg.VocabSize)
	add := func(name, src string, shape []int64, vocabRows bool) error {
		t := Tensor{Name: name, Source: src, Shape: shape}
		if src == "" {
			t.Multiplier = yulan.Multiplier{Scale: 1, Known: true}
			res.Tensors = append(res.Tensors, t)
			return nil
		}
		p := params[src]
		if p == nil {
			return fmt.Errorf("%s: the checkpoint has no %s", c.Path, src)
		}
		used[src] = true
		w := p.Weight()
		if w == nil {
			return fmt.Errorf("%s: %s has no weight (neither fp32 master nor module weight)", c.Path, src)
		}
		kinds[string(w.State)]++
		got := w.Shape
		ok := len(got) == len(shape)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i] == shape[i] || (vocabRows && i == 0 && got[0] > shape[0])
		}
		if !ok {
			return fmt.Errorf("%s: %s has shape %v in %s, but the config gives %v", c.Path, src, got, w.File, shape)
		}
		if vocabRows && got[0] > shape[0] {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d padding rows beyond vocab_size %d dropped", src, got[0]-shape[0], shape[0]))
		}
		m, ok := scales.Of(name)
		if !ok || !m.Known {
			return fmt.Errorf("%s: %s: no known multiplier", c.Path, src)
		}
		t.Multiplier, t.src = m, w
		res.Tensors = append(res.Tensors, t)
		return nil
	}
	if err := add("model.embed_tokens.weight", "model.embed_tokens.weight", []int64{vocab, h}, true); err != nil {
		return nil, err
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		for _, x := range []struct {
			proj string
			rows int64
		}{{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}} {
			if err := add(p+"self_attn."+x.proj+".weight", p+"self_attn."+x.proj+".weight", []int64{x.rows, h}, false); err != nil {
				return nil, err
			}
			if cfg.AttentionBias {
				if err := add(p+"self_attn."+x.proj+".bias", p+"self_attn."+x.proj+".bias", []int64{x.rows}, false); err != nil {
					return nil, err
				}
			}
		}
		if err := add(p+"self_attn.o_proj.weight", p+"self_attn.o_proj.weight", []int64{h, q}, false); err != nil {
			return nil, err
		}
		if cfg.AttentionBias {
			// YuLan-Mini's o_proj has no bias; Llama's attention_bias gives it one.
			if err := add(p+"self_attn.o_proj.bias", "", []int64{h}, false); err != nil {
				return nil, err
			}
		}
		for _, x := range []struct {
			proj  string
			shape []int64
		}{{"gate_proj", []int64{inter, h}}, {"up_proj", []int64{inter, h}}, {"down_proj", []int64{h, inter}}} {
			if err := add(p+"mlp."+x.proj+".weight", p+"mlp."+x.proj+".weight", x.shape, false); err != nil {
				return nil, err
			}
		}
		for _, n := range []string{"input_layernorm.weight", "post_attention_layernorm.weight"} {
			if err := add(p+n, p+n, []int64{h}, false); err != nil {
				return nil, err
			}
		}
	}
	if err := add("model.norm.weight", "model.norm.weight", []int64{h}, false); err != nil {
		return nil, err
	}
	head := "lm_head.weight"
	if len(virtual) > 0 {
		// tied: the head reads the embedding matrix, with the head's multiplier
		head = "model.embed_tokens.weight"
		res.Notes = append(res.Notes, "tie_word_embeddings: lm_head.weight written from model.embed_tokens.weight with lm_head's multiplier")
	}
	if err := add("lm_head.weight", head, []int64{vocab, h}, true); err != nil {
		return nil, err
	}
	var extra []string
	for _, p := range c.Params {
		if !used[p.Name] && yulan.Parse(p.Name).Kind != yulan.KindAlpha {
			extra = append(extra, p.Name)
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("%s: %w: %d parameters have no place in it (%s)", c.Path, ErrUnsupported, len(extra), strings.Join(head3(extra), ", "))
	}
	switch {
	case kinds["bf16"] == 0:
		res.Source = "fp32 master weights"
	case len(kinds) == 1:
		res.Source = "bf16 module weights (no fp32 master weights in the checkpoint)"
		res.Notes = append(res.Notes, "exported from the bf16 module weights: the checkpoint has no fp32 master weights")
	default:
		res.Source = "fp32 master weights, bf16 module weights where no fp32 one exists"
		res.Notes = append(res.Notes, fmt.Sprintf("%d tensors exported from bf16 module weights: no fp32 master weight", kinds["bf16"]))
	}
	for _, t := range res.Tensors {
		n := int64(dt.Size())
		for _, x := range t.Shape {
			n *= x
		}
		res.Bytes += n
	}
	res.Config = llamaConfig(cfg, dt)
	return res, nil
}

func head3(s []string) []string {
	if len(s) > 3 {
		return append(s[:3:3], "...")
	}
	return s
}

// llamaConfig returns the config.json of the exported model.
func llamaConfig(cfg *yulan.Config, dt tensor.DType) map[string]any {
	torchDType := "bfloat16"
	if dt == tensor.Float32 {
		torchDType = "float32"
	}
	return map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"hidden_size":             cfg.HiddenSize,
		"intermediate_size":       cfg.IntermediateSize,
		"num_hidden_layers":       cfg.NumHiddenLayers,
		"num_attention_heads":     cfg.NumAttentionHeads,
		"num_key_value_heads":     cfg.NumKeyValueHeads,
		"head_dim":                cfg.HeadDim,
		"hidden_act":              cfg.HiddenAct,
		"rms_norm_eps":            cfg.RMSNormEps,
		"rope_theta":              cfg.RopeTheta,
		"rope_scaling":            nil,
		"max_position_embeddings": cfg.MaxPositionEmbeddings,
		"vocab_size":              cfg.VocabSize,
		"bos_token_id":            cfg.BosTokenID,
		"eos_token_id":            cfg.EosTokenID,
		"attention_bias":          cfg.AttentionBias,
		"attention_dropout":       cfg.AttentionDropout,
		"mlp_bias":                false,
		"tie_word_embeddings":     false,
		"initializer_range":       cfg.InitializerRange,
		"pretraining_tp":          1,
		"use_cache":               true,
		"torch_dtype":             torchDType,
	}
}

// Llama writes c as a plain Llama model into dir (created if needed): see
// the package documentation. It refuses a folder that is not empty unless
// opt.Force.
func Llama(ctx context.Context, c *ckpt.Checkpoint, dir string, opt Options) (*Result, error) {
	res, err := Plan(c, opt)
	if err != nil {
		return nil, err
	}
	res.Dir = dir
	if err := prepare(dir, opt.Force); err != nil {
		return nil, err
	}
	maxShard := opt.MaxShardSize
	if maxShard <= 0 {
		maxShard = DefaultMaxShardSize
	}
	shards := plan(res.Tensors, res.DType, maxShard)
	var tmp []string
	defer func() {
		for _, f := range tmp {
			os.Remove(f)
		}
	}()
	names := make([]string, len(shards))
	for i := range shards {
		names[i] = "model.safetensors"
		if len(shards) > 1 {
			names[i] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		}
	}
	w := &converter{dt: res.DType, progress: opt.Progress}
	for i, sh := range shards {
		path := filepath.Join(dir, ".tmp-"+names[i])
		tmp = append(tmp, path)
		for _, k := range sh {
			res.Tensors[k].File = names[i]
		}
		if err := w.writeFile(ctx, path, res.Tensors, sh); err != nil {
			return nil, err
		}
	}
	for i := range res.Tensors {
		if n := res.Tensors[i].NonFinite; n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d NaN or infinite values written", res.Tensors[i].Name, n))
		}
	}
	write := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		path := filepath.Join(dir, ".tmp-"+name)
		tmp = append(tmp, path)
		return os.WriteFile(path, append(b, '\n'), 0o644)
	}
	final := []string{"config.json"}
	if err := write("config.json", res.Config); err != nil {
		return nil, err
	}
	if len(shards) > 1 {
		wm := map[string]string{}
		for _, t := range res.Tensors {
			wm[t.Name] = t.File
		}
		if err := write("model.safetensors.index.json", map[string]any{
			"metadata": map[string]any{"total_size": res.Bytes}, "weight_map": wm}); err != nil {
			return nil, err
		}
		final = append(final, "model.safetensors.index.json")
	}
	final = append(final, names...)
	for _, name := range final {
		if err := os.Rename(filepath.Join(dir, ".tmp-"+name), filepath.Join(dir, name)); err != nil {
			return nil, err
		}
	}
	tmp = nil
	res.Files = final
	return res, nil
}

// prepare makes dir ready: created when missing; when it holds anything,
// refused without force, and with force cleared of an earlier export's
// files.
func prepare(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0 && !force:
		return fmt.Errorf("%s: %w (it holds %s%s; use --force to write into it)", dir, ErrExists, entries[0].Name(),
			map[bool]string{true: " and more", false: ""}[len(entries) > 1])
	}
	for _, e := range entries {
		n := e.Name()
		if n == "model.safetensors" || n == "model.safetensors.index.json" || n == "config.json" ||
			(strings.HasPrefix(n, "model-") && strings.HasSuffix(n, ".safetensors")) || strings.HasPrefix(n, ".tmp-model") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// plan splits the tensors into shards as save_pretrained does: in order,
// a new shard when the next tensor would take the current one past max (a
// tensor larger than max gets a shard of its own).
func plan(ts []Tensor, dt tensor.DType, maxBytes int64) [][]int {
	var shards [][]int
	var cur []int
	var size int64
	for i, t := range ts {
		n := int64(dt.Size())
		for _, x := range t.Shape {
			n *= x
		}
		if len(cur) > 0 && size+n > maxBytes {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	return shards
}

// chunkElems is how many elements the converter handles at a time.
const chunkElems = 1 << 16

// converter reads, folds, rounds and writes tensors, reusing its buffers.
type converter struct {
	dt       tensor.DType
	progress func(int64)
	vals     []float64
	out      []byte
	scratch  []byte
}

func (w *converter) writeFile(ctx context.Context, path string, ts []Tensor, idx []int) (err error) {
	hs := make([]safetensors.Header, len(idx))
	for i, k := range idx {
		hs[i] = safetensors.Header{Name: ts[k].Name, DType: w.dt, Shape: ts[k].Shape}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	sw, err := safetensors.NewWriter(bw, hs, map[string]string{"format": "pt"})
	if err != nil {
		return err
	}
	for _, k := range idx {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.writeTensor(sw, &ts[k]); err != nil {
			return fmt.Errorf("%s: %w", ts[k].Name, err)
		}
	}
	if err := sw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Sync()
}

func (w *converter) writeTensor(sw *safetensors.Writer, t *Tensor) error {
	n := int64(1)
	for _, x := range t.Shape {
		n *= x
	}
	size := w.dt.Size()
	if cap(w.vals) < chunkElems {
		w.vals = make([]float64, chunkElems)
		w.out = make([]byte, chunkElems*4)
	}
	m := t.Multiplier
	for lo := int64(0); lo < n; lo += chunkElems {
		k := min(n-lo, chunkElems)
		vals := w.vals[:k]
		if t.src == nil {
			clear(vals)
		} else {
			// The first n elements of the source in row-major order are its
			// first rows: vocabulary padding rows come last and are not read.
			if err := t.src.ReadFloat64s(lo, vals, &w.scratch); err != nil {
				return err
			}
			if w.progress != nil {
				w.progress(k * int64(t.src.DType.Size()))
			}
		}
		out := w.out[:k*int64(size)]
		for i, x := range vals {
			y := float32(m.Apply(x))
			if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
				t.NonFinite++
			}
			if w.dt == tensor.Float32 {
				binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(y))
			} else {
				binary.LittleEndian.PutUint16(out[2*i:], tensor.Float32ToBFloat16(y))
			}
		}
		if _, err := sw.Write(out); err != nil {
			return err
		}
	}
	return nil
}

func hasParam(c *ckpt.Checkpoint, name string) bool {
	for _, p := range c.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}
