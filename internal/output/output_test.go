package output

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFloatJSON(t *testing.T) {
	for _, x := range []float64{0, -0.5, 1e-300, 3.25e12, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64} {
		b, err := json.Marshal(Float(x))
		if err != nil {
			t.Fatal(err)
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !(float64(back) == x || (math.IsNaN(x) && math.IsNaN(float64(back)))) {
			t.Errorf("round trip of %v via %s gave %v", x, b, back)
		}
	}
	b, _ := json.Marshal(struct{ A *Float }{Opt(1, false)})
	if string(b) != `{"A":null}` {
		t.Errorf("missing value encodes as %s", b)
	}
}

func TestFormatting(t *testing.T) {
	cases := []struct{ got, want string }{
		{NumF(0.0123456), "0.01235"}, {NumF(123456), "1.235e+05"}, {NumF(-2e-9), "-2.000e-09"},
		{NumF(0), "0"}, {NumF(math.NaN()), "nan"}, {Count(1234567), "1,234,567"}, {Count(-12), "-12"},
		{Bytes(512), "512 B"}, {Bytes(1536), "1.5 KiB"}, {Bytes(3 << 30), "3.0 GiB"},
		{Shape([]int64{2, 3}), "[2, 3]"}, {Shape(nil), "[]"}, {ShapeCompact([]int64{264, 64}), "264x64"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestTable(t *testing.T) {
	tw := TableWriter{Headers: []string{"name", "n"}, Align: []Align{Left, Right}}
	tw.Add("a", "1")
	tw.Add("long,name", "100")
	var b bytes.Buffer
	if err := tw.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "name         n\na            1\nlong,name  100\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := tw.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "name,n\na,1\n\"long,name\",100\n" {
		t.Errorf("csv: %q", b.String())
	}
	_ = ParseFormat
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

func TestTableFits(t *testing.T) {
	tw := TableWriter{Headers: []string{"parameter", "shape", "a", "b", "c"}, Align: RightAligned(5), Drop: []int{0, 0, 2, 1, 0}, MinElastic: 10}
	tw.Add("model.layers.12.self_attn.o_proj.weight", "64x64", "1.234", "5.678", "9")
	tw.Add("lm_head.weight", "256x64", "0.1", "0.2", "0")
	var b bytes.Buffer
	for _, width := range []int{0, 80, 45, 30, 5} {
		b.Reset()
		tw.MaxWidth = width
		if err := tw.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(l); width >= 30 && n > width {
				t.Errorf("width %d: line %q has %d runes", width, l, n)
			}
		}
		switch width {
		case 0, 80:
			if tw.Hidden() != nil || !strings.Contains(b.String(), "model.layers.12.self_attn.o_proj.weight") {
				t.Errorf("width %d:\n%s (hidden %v)", width, b.String(), tw.Hidden())
			}
		case 45:
			if tw.Hidden() != nil || !strings.Contains(b.String(), "model.laye…oj.weight  ") {
				t.Errorf("width %d:\n%s (hidden %v)", width, b.String(), tw.Hidden())
			}
		case 30:
			if !slices.Equal(tw.Hidden(), []string{"a"}) || !strings.Contains(b.String(), "model.…eight") {
				t.Errorf("width 30: hidden %v\n%s", tw.Hidden(), b.String())
			}
		}
	}
}

func TestShortenAndWrap(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  string
	}{
		{"model.layers.12.self_attn.o_proj.weight", 30, "model.layers.12.…o_proj.weight"},
		{"model.layers.12.self_attn.o_proj.weight", 20, "model.laye…oj.weight"},
		{"module.model.embed_tokens.weight", 20, "module.mod…ns.weight"},
		{"short", 30, "short"}, {"abcdef", 1, "a"}, {"ééééé", 4, "éé…é"},
	} {
		if got := ShortenMiddle(c.s, c.width); got != c.want || utf8.RuneCountInString(got) > max(c.width, 1) {
			t.Errorf("ShortenMiddle(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
	}
	text := "global norms: weights 20.75, bf16 20.76, exp_avg 0.02948, exp_avg_sq 4.438e-04; NaN 0, Inf 0; a-very-long-path/that/cannot/be/broken/at/spaces/anywhere"
	for _, width := range []int{80, 40, 20} {
		lines := Wrap(text, width, "  ")
		if strings.Join(strings.Fields(strings.Join(lines, " ")), " ") == "" {
			t.Fatal("empty")
		}
		for _, l := range lines {
			if utf8.RuneCountInString(l) > width {
				t.Errorf("width %d: %q", width, l)
			}
		}
		if got := strings.ReplaceAll(strings.Join(lines, ""), " ", ""); got != strings.ReplaceAll(text, " ", "") {
			t.Errorf("width %d: text changed: %q", width, got)
		}
	}
	if got := Wrap("scanned 1.6 MiB here", 12, ""); !slices.Equal(got, []string{"scanned", "1.6 MiB here"}) {
		t.Errorf("units: %q", got)
	}
	if got := Wrap("short", 0, ""); len(got) != 1 || got[0] != "short" {
		t.Errorf("unbounded: %q", got)
	}
}

// TestTableDistinct: columns are left out rather than two names shortened
// to the same text.
func TestTableDistinct(t *testing.T) {
	tw := TableWriter{Headers: []string{"name", "a", "b"}, Align: RightAligned(3), Drop: []int{0, 1, 0}, MinElastic: 10, MaxWidth: 40}
	tw.Add("model.layers.0.input_layernorm_alpha", "1.000", "2.000")
	tw.Add("model.layers.0.post_attention_layernorm_alpha", "1.000", "2.000")
	var b bytes.Buffer
	tw.WriteText(&b)
	lines := strings.Split(b.String(), "\n")
	if !slices.Equal(tw.Hidden(), []string{"a"}) || strings.Fields(lines[1])[0] == strings.Fields(lines[2])[0] {
		t.Errorf("hidden %v:\n%s", tw.Hidden(), b.String())
	}
}
