package resume

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ckptinspect/ckptinspect/pickle"
)

// MaxConfigSize bounds the size of a DeepSpeed configuration file (real ones
// are a few kilobytes).
const MaxConfigSize = 4 << 20

// ErrConfig reports a DeepSpeed configuration that is not a JSON object.
var ErrConfig = errors.New("not a DeepSpeed configuration")

// DSConfig is a DeepSpeed configuration (the JSON file given with
// --deepspeed to the Trainer, or the ds_config a checkpoint saved). Values
// are kept as decoded JSON; "auto" strings are the Hugging Face
// integration's placeholders, filled from the TrainingArguments.
type DSConfig struct {
	// Path is the file read, or a description of where the configuration
	// came from ("the checkpoint's model states ds_config").
	Path string
	raw  map[string]any
}

// ParseDSConfig decodes a DeepSpeed configuration; name is used in errors.
func ParseDSConfig(name string, data []byte) (*DSConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: %w: data after the JSON object", name, ErrConfig)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %w: the JSON value is not an object", name, ErrConfig)
	}
	return &DSConfig{Path: name, raw: m}, nil
}

// ReadDSConfig reads a DeepSpeed configuration file (at most MaxConfigSize
// bytes).
func ReadDSConfig(path string) (*DSConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrConfig, MaxConfigSize)
	}
	return ParseDSConfig(path, data)
}

// configFromCheckpoint turns the ds_config a checkpoint saved into a
// DSConfig: a plain dict (DeepSpeed >= 0.9), or the fields of a pickled
// deepspeed.runtime.config.DeepSpeedConfig object (older releases), mapped
// to the JSON keys.
func configFromCheckpoint(v any, where string) *DSConfig {
	switch x := v.(type) {
	case *pickle.Dict:
		if m, ok := plain(x, 0).(map[string]any); ok {
			return &DSConfig{Path: where, raw: m}
		}
	case *pickle.Object:
		if p, ok := x.Field("_param_dict"); ok {
			if m, ok := plain(p, 0).(map[string]any); ok {
				return &DSConfig{Path: where, raw: m}
			}
		}
		m := map[string]any{}
		for key, field := range map[string]string{
			"train_batch_size":               "train_batch_size",
			"train_micro_batch_size_per_gpu": "train_micro_batch_size_per_gpu",
			"gradient_accumulation_steps":    "gradient_accumulation_steps",
		} {
			if f, ok := x.Field(field); ok {
				m[key] = plain(f, 0)
			}
		}
		if f, ok := x.Field("zero_optimization_stage"); ok {
			if s, ok := zeroStage(f); ok {
				m["zero_optimization"] = map[string]any{"stage": float64(s)}
			}
		}
		if f, ok := x.Field("bfloat16_enabled"); ok {
			m["bf16"] = map[string]any{"enabled": plain(f, 0)}
		}
		if f, ok := x.Field("fp16_enabled"); ok {
			m["fp16"] = map[string]any{"enabled": plain(f, 0)}
		}
		if f, ok := x.Field("load_universal_checkpoint"); ok {
			m["checkpoint"] = map[string]any{"load_universal": plain(f, 0)}
		}
		if p, ok := x.Field("optimizer_params"); ok {
			name, _ := x.Field("optimizer_name")
			m["optimizer"] = map[string]any{"type": plain(name, 0), "params": plain(p, 0)}
		}
		if n, ok := x.Field("scheduler_name"); ok && n != nil {
			p, _ := x.Field("scheduler_params")
			m["scheduler"] = map[string]any{"type": plain(n, 0), "params": plain(p, 0)}
		}
		return &DSConfig{Path: where, raw: m}
	}
	return nil
}

// lookup returns the value at a dotted key ("zero_optimization.stage").
func (c *DSConfig) lookup(key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	var v any = c.raw
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// setting is one value of the configuration.
type setting struct {
	present bool
	auto    bool // the string "auto"
	value   any
}

func (c *DSConfig) get(key string) setting {
	v, ok := c.lookup(key)
	if !ok {
		return setting{}
	}
	if s, ok := v.(string); ok && s == "auto" {
		return setting{present: true, auto: true}
	}
	return setting{present: true, value: v}
}

// number returns an explicit numeric value.
func (s setting) number() (float64, bool) {
	if !s.present || s.auto {
		return 0, false
	}
	switch x := s.value.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case bool:
		return 0, false
	}
	return 0, false
}

// integer returns an explicit integral value.
func (s setting) integer() (int64, bool) {
	f, ok := s.number()
	if !ok || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// boolean returns an explicit boolean (DeepSpeed also accepts "true").
func (s setting) boolean() (bool, bool) {
	if !s.present || s.auto {
		return false, false
	}
	switch x := s.value.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// text returns an explicit string.
func (s setting) text() (string, bool) {
	if !s.present || s.auto {
		return "", false
	}
	x, ok := s.value.(string)
	return x, ok
}

// pair returns an explicit two-number list (betas).
func (s setting) pair() ([2]float64, bool) {
	if !s.present || s.auto {
		return [2]float64{}, false
	}
	l, ok := s.value.([]any)
	if !ok || len(l) != 2 {
		return [2]float64{}, false
	}
	a, ok1 := asFloat(l[0])
	b, ok2 := asFloat(l[1])
	return [2]float64{a, b}, ok1 && ok2
}

// precisionKey returns the config's section for bf16 ("bf16", or its
// alias "bfloat16").
func (c *DSConfig) bf16() setting {
	if s := c.get("bf16.enabled"); s.present {
		return s
	}
	return c.get("bfloat16.enabled")
}
