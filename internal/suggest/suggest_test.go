package suggest

import (
	"slices"
	"testing"
)

func TestSimilar(t *testing.T) {
	params := []string{"model.layers.0.mlp.down_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight",
		"lm_head.weight", "lm_head_alpha", "model.norm.weight"}
	cases := []struct {
		word string
		want []string
	}{
		{"model.layers.0.mlp.down_proj.weigth", []string{"model.layers.0.mlp.down_proj.weight"}},                                        // a swap
		{"model.layers.0.mlp.dwn_proj.weight", []string{"model.layers.0.mlp.down_proj.weight"}},                                         // a deletion
		{"model.layers.2.mlp.down_proj.weight", []string{"model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight"}}, // a substitution, ties in order
		{"lm_head", []string{"lm_head.weight", "lm_head_alpha"}},                                                                        // a prefix: contained
		{"stast", nil},
		{"model.norm.weight", nil}, // itself is not a suggestion
	}
	for _, c := range cases {
		if got := Similar(c.word, params, 3); !slices.Equal(got, c.want) {
			t.Errorf("Similar(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := Similar("stast", []string{"stats", "scan", "ls", "verify"}, 3); !slices.Equal(got, []string{"stats"}) {
		t.Errorf("commands: %q", got)
	}
	if got := Similar("--sotr", []string{"--sort", "--top", "--filter"}, 3); !slices.Equal(got, []string{"--sort"}) {
		t.Errorf("flags: %q", got)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"kitten", "sitting", 3}, {"é", "e", 1}, {"", "abcd", 4}} {
		if got := distance(c.a, c.b, 10); got != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	if got := distance("abcdefgh", "hgfedcba", 2); got != 3 {
		t.Errorf("bounded distance %d, want limit+1", got)
	}
}
