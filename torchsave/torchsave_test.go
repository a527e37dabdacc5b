package torchsave

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/golden"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/scan"
)

type goldenFile struct {
	File    string `json:"file"`
	Format  string `json:"format"`
	Tensors []struct {
		Name          string  `json:"name"`
		Strides       []int64 `json:"strides"`
		StorageOffset int64   `json:"storage_offset"`
		StorageNumel  int64   `json:"storage_numel"`
		golden.Stats
	} `json:"tensors"`
	Objects []struct {
		Name   string `json:"name"`
		Module string `json:"module"`
		Class  string `json:"class"`
	} `json:"objects"`
}

var formats = map[string]Format{"zip": FormatZip, "zip2": FormatZip, "zip-deflate": FormatZip, "legacy": FormatLegacy}

// TestGolden opens every fixture written by real PyTorch and checks every
// tensor's layout and statistics against PyTorch's float64 values.
func TestGolden(t *testing.T) {
	var goldens []string
	for _, dir := range []string{"../testdata/torch", "../testdata/deepspeed"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.golden.json"))
		goldens = append(goldens, m...)
	}
	if len(goldens) < 10 {
		t.Fatalf("only %d golden files found", len(goldens))
	}
	for _, gpath := range goldens {
		var g goldenFile
		if err := golden.Load(gpath, &g); err != nil {
			t.Fatal(err)
		}
		t.Run(g.File, func(t *testing.T) {
			f, err := Open(filepath.Join(filepath.Dir(gpath), g.File), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if want := formats[g.Format]; f.Format != want {
				t.Errorf("format %s, want %s", f.Format, want)
			}
			named, err := f.Tensors()
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*Tensor{}
			for _, nt := range named {
				byName[nt.Name] = nt.Tensor
			}
			if len(named) != len(g.Tensors) {
				t.Errorf("%d tensors, golden has %d", len(named), len(g.Tensors))
			}
			for _, want := range g.Tensors {
				tt, ok := byName[want.Name]
				if !ok {
					t.Errorf("tensor %s missing", want.Name)
					continue
				}
				if fmt.Sprint(tt.Strides) != fmt.Sprint(want.Strides) || tt.Offset != want.StorageOffset || tt.Storage.Numel != want.StorageNumel {
					t.Errorf("%s: strides %v offset %d storage %d, want %v %d %d", want.Name, tt.Strides, tt.Offset, tt.Storage.Numel, want.Strides, want.StorageOffset, want.StorageNumel)
				}
				v, err := tt.View()
				if err != nil {
					t.Errorf("%s: %v", want.Name, err)
					continue
				}
				for _, d := range golden.Compare(v.Stats(), want.Stats) {
					t.Errorf("%s: %s", want.Name, d)
				}
			}
			objects := map[string]*pickle.Object{}
			Walk(f.Root, func(path string, v any) bool {
				if o, ok := v.(*pickle.Object); ok {
					objects[path] = o
				}
				return true
			})
			for _, want := range g.Objects {
				o, ok := objects[want.Name]
				if !ok {
					t.Errorf("object %s missing", want.Name)
					continue
				}
				if o.Module != want.Module || o.Name != want.Class {
					t.Errorf("object %s is %s, want %s.%s", want.Name, o.Class(), want.Module, want.Class)
				}
			}
		})
	}
}

// TestSharedStorage checks that two tensors of one storage share it, and
// that storages are located in place, 64-byte aligned in the zip format.
func TestSharedStorage(t *testing.T) {
	f, err := Open("../testdata/torch/views.pt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	named, _ := f.Tensors()
	var a, b *Tensor
	for _, nt := range named {
		switch nt.Name {
		case "shared.a":
			a = nt.Tensor
		case "shared.b":
			b = nt.Tensor
		}
	}
	if a == nil || b == nil || a.Storage != b.Storage {
		t.Fatalf("shared.a and shared.b do not share a storage")
	}
	for _, s := range f.Storages() {
		if s.FileOffset()%64 != 0 {
			t.Errorf("storage %s at offset %d, not 64-byte aligned", s.Key, s.FileOffset())
		}
	}
}

func TestDeflateWarns(t *testing.T) {
	f, err := Open("../testdata/torch/deflate.pt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Warnings) == 0 || !strings.Contains(f.Warnings[0], "compressed") {
		t.Errorf("warnings = %q", f.Warnings)
	}
}

// TestBad checks that broken files give one clear error naming the file.
func TestBad(t *testing.T) {
	good, err := os.ReadFile("../testdata/torch/dtypes.pt")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := os.ReadFile("../testdata/torch/legacy.pt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"garbage", []byte("this is not a checkpoint at all"), ErrFormat},
		{"truncated zip", good[:len(good)/2], ErrTruncated},
		{"truncated legacy", legacy[:len(legacy)-10], ErrTruncated},
		{"truncated legacy pickle", legacy[:200], pickle.ErrTruncated},
		{"tar header without a valid checksum", append(make([]byte, 257), []byte("ustar\x0000")...), ErrFormat},
		{"tar", tarHeader(), ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".pt")
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p, Options{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// tarHeader returns a 512-byte tar header, checksum included, followed by
// an empty block: what tarfile (and so torch.load) opens as a tar archive.
func tarHeader() []byte {
	h := make([]byte, 1024)
	copy(h, "pickle")
	copy(h[100:], "0000644\x00")
	copy(h[124:], "00000000000\x00")
	copy(h[257:], "ustar\x0000")
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	sum := 0
	for _, c := range h[:512] {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

// TestCloser checks that the function Closer returns releases the file's
// bytes: a storage read after it is an error, not a crash, and Close
// after it is harmless.
func TestCloser(t *testing.T) {
	f, err := Open("../testdata/torch/dtypes.pt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss := f.Storages()
	if len(ss) == 0 {
		t.Fatal("no storages")
	}
	if _, err := ss[0].Bytes(); err != nil {
		t.Fatal(err)
	}
	if err := f.Closer()(); err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Size == 0 {
			continue
		}
		if _, err := s.Bytes(); err == nil || !strings.Contains(err.Error(), "after the file was closed") {
			t.Errorf("storage %s after Closer: %v", s.Key, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close after Closer: %v", err)
	}
}

// TestOpenUsesScan checks that opening takes the zip directory and the
// data.pkl inspection from the scan that judged the file (scan.Parsed),
// and that what it takes is what parsing again would give.
func TestOpenUsesScan(t *testing.T) {
	for _, tc := range []struct {
		file    string
		zip     bool
		program bool
	}{
		{"dtypes.pt", true, true},
		{"zip2.pt", true, true},
		{"deflate.pt", true, false}, // a compressed data.pkl is inflated by the loader, not shared
		{"legacy.pt", false, false},
	} {
		data, err := os.ReadFile(filepath.Join("../testdata/torch", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		rep, parsed := scan.New(scan.Options{}).Parse(tc.file, data)
		if rep.Verdict != "clean" {
			t.Fatalf("%s: verdict %s", tc.file, rep.Verdict)
		}
		if (parsed.Zip != nil) != tc.zip {
			t.Errorf("%s: parsed zip %v, want %v", tc.file, parsed.Zip != nil, tc.zip)
		}
		f, err := Parse(tc.file, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		pkl := f.Prefix + "data.pkl"
		got := parsed.Program(pkl)
		if (got != nil) != tc.program {
			t.Fatalf("%s: parsed program of %s: %v, want one: %v", tc.file, pkl, got != nil, tc.program)
		}
		if got == nil {
			continue
		}
		var rec Record
		for _, r := range f.Records {
			if r.Name == pkl {
				rec = r
			}
		}
		want, err := pickle.Inspect(data[rec.Offset:rec.Offset+rec.CompressedSize], pickle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the scan's program of %s differs from inspecting it again", tc.file, pkl)
		}
		if len(f.Program.Globals) != len(want.Globals) || f.Program.End != want.End {
			t.Errorf("%s: File.Program %d globals end %d, want %d, %d", tc.file, len(f.Program.Globals), f.Program.End, len(want.Globals), want.End)
		}
	}
}
