package output

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
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
