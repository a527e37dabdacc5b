package ckpt

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	c := &Checkpoint{Path: "ck", Params: []*Param{{Name: "model.norm.weight"}, {Name: "lm_head.weight"}, {Name: "lm_head_alpha"}}}
	if p, err := c.Lookup("lm_head.weight"); err != nil || p != c.Params[1] {
		t.Fatalf("%v %v", p, err)
	}
	for name, hint := range map[string]string{
		"model.norm.wieght": "(did you mean model.norm.weight?)",
		"lm_head":           "(did you mean lm_head.weight, lm_head_alpha?)",
		"bogus":             `no such parameter "bogus" among its 3 parameters`,
	} {
		_, err := c.Lookup(name)
		if !errors.Is(err, ErrNoParam) || !strings.Contains(err.Error(), hint) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMissing(t *testing.T) {
	one := int64(1)
	full := &Param{Name: "a", FP32: &Tensor{}, ExpAvg: &Tensor{}, ExpAvgSq: &Tensor{}, Step: &one}
	noM := &Param{Name: "b", FP32: &Tensor{}, ExpAvgSq: &Tensor{}}
	c := &Checkpoint{Params: []*Param{full, noM}}
	want := []Missing{{"b", ExpAvg}, {"b", StepState}}
	if got := c.Missing(); !slices.Equal(got, want) {
		t.Errorf("missing %v, want %v", got, want)
	}
	c.WeightsOnly = true
	if got := c.Missing(); got != nil {
		t.Errorf("weights only: %v", got)
	}
}
