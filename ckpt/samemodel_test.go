package ckpt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSameModel(t *testing.T) {
	model := func(path string, n int, cfg map[string]any, shape func(i int) []int64) *Checkpoint {
		c := &Checkpoint{Path: path, Config: cfg}
		for i := 0; i < n; i++ {
			c.Params = append(c.Params, &Param{Name: fmt.Sprintf("model.layers.%d.mlp.down_proj.weight", i), Shape: shape(i)})
		}
		return c
	}
	square := func(int) []int64 { return []int64{4, 4} }
	cfg := func(hidden int) map[string]any {
		return map[string]any{"model_type": "llama", "hidden_size": float64(hidden), "num_hidden_layers": float64(10)}
	}
	cases := []struct {
		name string
		a, b *Checkpoint
		want string // "" for the same model
	}{
		{"same", model("a", 10, cfg(64), square), model("b", 10, cfg(64), square), ""},
		{"no configs", model("a", 10, nil, square), model("b", 10, nil, square), ""},
		{"one config", model("a", 10, cfg(64), square), model("b", 10, nil, square), ""},
		{"a few more layers", model("a", 10, nil, square), model("b", 12, nil, square), ""},
		{"one shape differs", model("a", 10, nil, square), model("b", 10, nil, func(i int) []int64 {
			if i == 0 {
				return []int64{8, 4}
			}
			return []int64{4, 4}
		}), ""},
		{"config hidden size", model("a", 10, cfg(64), square), model("b", 10, cfg(128), square), "config.json hidden_size is 64 in a and 128 in b"},
		{"config key absent", model("a", 10, cfg(64), square), model("b", 10, map[string]any{"model_type": "llama", "num_hidden_layers": float64(10)}, square), "hidden_size is 64 in a and absent in b"},
		{"names", model("a", 10, nil, square), model("b", 30, nil, square), "only 10 of 30 parameter names are in both"},
		{"shapes", model("a", 10, nil, square), model("b", 10, nil, func(int) []int64 { return []int64{8, 8} }), "10 of the 10 common parameters have different shapes"},
	}
	for _, c := range cases {
		err := SameModel(c.a, c.b)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !errors.Is(err, ErrDifferentModels) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestOnlyIn(t *testing.T) {
	mk := func(names ...string) *Checkpoint {
		c := &Checkpoint{}
		for _, n := range names {
			c.Params = append(c.Params, &Param{Name: n})
		}
		return c
	}
	a, b := mk("x", "y", "z"), mk("z", "w", "x")
	onlyA, onlyB := OnlyIn(a, b)
	if !slices.Equal(onlyA, []string{"y"}) || !slices.Equal(onlyB, []string{"w"}) {
		t.Errorf("%v %v", onlyA, onlyB)
	}
}
