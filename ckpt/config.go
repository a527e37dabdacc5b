package ckpt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/yulan"
)

// ErrNoConfig reports a checkpoint without a model config.
var ErrNoConfig = errors.New("no model config")

// FindConfig returns the model config of a checkpoint and where it came
// from: the file explicit when not empty; else the config.json the layout
// reader found (a Trainer folder's, c.Config); else a config.json in the
// folder the checkpoint was opened from or, for a file or a tag folder,
// its parent. A checkpoint without any is ErrNoConfig.
func FindConfig(c *Checkpoint, explicit string) (*yulan.Config, string, error) {
	if explicit != "" {
		cfg, err := yulan.ReadConfig(explicit)
		return cfg, explicit, err
	}
	if c.Config != nil {
		cfg, err := yulan.ParseConfig(c.Config)
		if err != nil {
			return nil, "", fmt.Errorf("%s: config.json: %w", c.Path, err)
		}
		return cfg, "config.json of " + c.Path, nil
	}
	dir := c.Path
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		p := filepath.Join(d, "config.json")
		if _, err := os.Stat(p); err == nil {
			cfg, err := yulan.ReadConfig(p)
			return cfg, p, err
		}
	}
	return nil, "", fmt.Errorf("%s: %w: no config.json beside it or in its parent folder (give one with --config)", c.Path, ErrNoConfig)
}

// Scales resolves the effective multiplier of every parameter of c under
// cfg (yulan.Resolve), reading the value of each scale factor from its
// weight (Param.Weight). It also resolves the multipliers of the weights
// named in virtual, which the checkpoint does not hold (lm_head.weight of
// a model with tied embeddings).
func Scales(c *Checkpoint, cfg *yulan.Config, virtual ...string) (*yulan.Scales, error) {
	ps := make([]yulan.Param, 0, len(c.Params)+len(virtual))
	for _, p := range c.Params {
		p := p
		ps = append(ps, yulan.Param{Name: p.Name, Numel: p.Numel(), Value: func() (float64, error) {
			t := p.Weight()
			if t == nil {
				return 0, fmt.Errorf("no weight in the checkpoint")
			}
			if t.Numel() != 1 {
				return 0, fmt.Errorf("%s: %d elements, not one", t.File, t.Numel())
			}
			var v [1]float64
			if err := t.ReadFloat64s(0, v[:], nil); err != nil {
				return 0, err
			}
			return v[0], nil
		}})
	}
	for _, n := range virtual {
		ps = append(ps, yulan.Param{Name: n})
	}
	return yulan.Resolve(cfg, ps)
}

// Weight returns the tensor holding a parameter's values: the fp32 master
// weight, else the module (bf16) weight; nil when it has neither.
func (p *Param) Weight() *Tensor {
	if p.FP32 != nil {
		return p.FP32
	}
	return p.BF16
}
