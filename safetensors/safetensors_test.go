package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/golden"
)

type goldenFile struct {
	Tensors []struct {
		Name string `json:"name"`
		golden.Stats
	} `json:"tensors"`
}

func checkSet(t *testing.T, s *Set, goldenPath string) {
	t.Helper()
	var g goldenFile
	if err := golden.Load(goldenPath, &g); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Tensor{}
	for _, tt := range s.Tensors {
		byName[tt.Name] = tt
	}
	if len(byName) != len(g.Tensors) {
		t.Errorf("%d tensors, golden has %d", len(byName), len(g.Tensors))
	}
	for _, want := range g.Tensors {
		tt := byName[want.Name]
		if tt == nil {
			t.Errorf("%s missing", want.Name)
			continue
		}
		for _, d := range golden.Compare(tt.View.Stats(), want.Stats) {
			t.Errorf("%s: %s", want.Name, d)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, c := range []struct{ path, golden string }{
		{"../testdata/safetensors/model.safetensors", "../testdata/safetensors/model.golden.json"},
		{"../testdata/safetensors", "../testdata/safetensors/model.golden.json"},
		{"../testdata/safetensors/sharded", "../testdata/safetensors/sharded/sharded.golden.json"},
		{"../testdata/safetensors/sharded/model.safetensors.index.json", "../testdata/safetensors/sharded/sharded.golden.json"},
	} {
		t.Run(c.path, func(t *testing.T) {
			s, err := OpenSet(c.path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkSet(t, s, c.golden)
		})
	}
	f, err := Open("../testdata/safetensors/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
}

func TestBad(t *testing.T) {
	good, err := os.ReadFile("../testdata/safetensors/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte{}, good...)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	trunc := good[:len(good)-100]
	for name, data := range map[string][]byte{
		"empty": nil, "huge header": huge, "truncated": trunc, "garbage": []byte("0123456789abcdef"),
	} {
		if _, err := Parse(name, data); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := os.ReadFile("../testdata/safetensors/model.safetensors")
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz", data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("uncategorised: %v", err)
			}
			return
		}
		for _, tt := range s.Tensors {
			if tt.View.Numel() < 1<<16 {
				tt.View.Stats()
			}
		}
	})
}
