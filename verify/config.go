package verify

import (
	"slices"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// sizeKeys are the config.json keys the expected shapes come from; the
// check runs only when the config gives every one (a config of another
// kind of model, read with YuLan-Mini's defaults, would say nothing true).
var sizeKeys = []string{"hidden_size", "intermediate_size", "num_attention_heads", "vocab_size"}

// checkConfigShapes checks the shape of every weight of a Llama-style
// decoder against the sizes config.json gives. It returns why it could not
// run, or "".
func checkConfigShapes(r *Report, c *ckpt.Checkpoint) string {
	if c.Config == nil {
		return "no config.json"
	}
	for _, k := range sizeKeys {
		if _, ok := c.Config[k]; !ok {
			return "config.json has no " + k
		}
	}
	cfg, err := yulan.ParseConfig(c.Config)
	if err != nil {
		return err.Error()
	}
	for _, p := range c.Params {
		want, vocab, ok := configShape(cfg, p.Name)
		if !ok {
			continue
		}
		got := p.Shape
		fits := len(got) == len(want)
		for i := 0; fits && i < len(got); i++ {
			fits = got[i] == want[i] || (vocab && i == 0 && got[0] > want[0])
		}
		if !fits {
			file := ""
			if t := weightOf(p); t != nil {
				file = t.File
			}
			r.addf(ckpt.CheckConfigShapes, ckpt.Error, p.Name, file, "%s has shape %v, config.json gives %v", p.Name, got, want)
		}
	}
	return ""
}

// weightOf returns the tensor a parameter's shape was read from.
func weightOf(p *ckpt.Param) *ckpt.Tensor {
	for _, t := range []*ckpt.Tensor{p.FP32, p.BF16, p.ExpAvg, p.ExpAvgSq} {
		if t != nil {
			return t
		}
	}
	return nil
}

// configShape returns the shape config.json gives a parameter of a
// Llama-style decoder, and whether its first dimension is the vocabulary
// (which may be padded).
func configShape(cfg *yulan.Config, name string) (shape []int64, vocab, ok bool) {
	n := yulan.Parse(name)
	if n.Kind == yulan.KindAlpha || n.Kind == yulan.Other || n.Misplaced {
		return nil, false, false
	}
	h, d := int64(cfg.HiddenSize), int64(cfg.HeadDim)
	q, kv, inter := int64(cfg.NumAttentionHeads)*d, int64(cfg.NumKeyValueHeads)*d, int64(cfg.IntermediateSize)
	rows := map[yulan.Kind][]int64{
		yulan.QProj: {q, h}, yulan.KProj: {kv, h}, yulan.VProj: {kv, h}, yulan.OProj: {h, q},
		yulan.GateProj: {inter, h}, yulan.UpProj: {inter, h}, yulan.DownProj: {h, inter},
		yulan.InputLayernorm: {h}, yulan.PostAttentionLayernorm: {h}, yulan.Norm: {h},
		yulan.EmbedTokens: {int64(cfg.VocabSize), h}, yulan.LMHead: {int64(cfg.VocabSize), h},
	}
	shape, ok = rows[n.Kind]
	if !ok {
		return nil, false, false
	}
	if n.Part == "bias" {
		shape = shape[:1]
	}
	if n.HasLayer() && n.Layer >= cfg.NumHiddenLayers {
		return nil, false, false // a layer the config does not have: the names say more (param_names)
	}
	return slices.Clone(shape), n.Kind == yulan.EmbedTokens || n.Kind == yulan.LMHead, true
}
