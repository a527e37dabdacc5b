package sniff

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func tarHeader(name string) []byte {
	h := make([]byte, 1024)
	copy(h, name)
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
	copy(h[148:], []byte{byte('0' + sum>>15&7), byte('0' + sum>>12&7), byte('0' + sum>>9&7), byte('0' + sum>>6&7), byte('0' + sum>>3&7), byte('0' + sum&7), 0, ' '})
	return h
}

func safetensors(body []byte) []byte {
	header := []byte(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`)
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), body...)
}

func TestSniff(t *testing.T) {
	eocd := append([]byte("PK\x05\x06"), make([]byte, 18)...)
	cases := []struct {
		name string
		data []byte
		want []Container
	}{
		{"empty", nil, nil},
		{"zip", []byte("PK\x03\x04rest of a zip"), []Container{Zip}},
		{"empty zip", eocd, []Container{Zip}},
		{"protocol 2 pickle", []byte("\x80\x02}q\x00."), []Container{Pickle}},
		{"protocol 0 pickle", []byte("cos\nsystem\n."), []Container{Pickle}},
		{"text", []byte("{\"a\": 1}"), nil},
		{"random first byte", []byte{0xd7, 1, 2}, nil},
		{"tar", tarHeader("weights"), []Container{Tar}},
		{"tar whose first name starts with an opcode", tarHeader("pickle"), []Container{Tar, Pickle}},
		{"tar whose name is a pickle", tarHeader("cos\nsystem\n."), []Container{Tar, Pickle}},
		{"tar with a bad checksum", append(make([]byte, 257), []byte("ustar\x0000")...), nil},
		{"safetensors", safetensors([]byte{7}), []Container{Safetensors}},
		{"pickle then zip", append([]byte("\x80\x02N."), eocd...), []Container{Pickle, AppendedZip}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Bytes(c.data); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Sniff = %v, want %v", got, c.want)
			}
		})
	}
	// A safetensors header length whose bytes start a pickle: 'V' (0x56).
	poly := make([]byte, 8+0x156+1)
	binary.LittleEndian.PutUint64(poly, 0x156)
	poly[8] = '{'
	for i := 9; i < 8+0x156; i++ {
		poly[i] = ' '
	}
	poly[8+0x156-1] = '}'
	if got := Bytes(poly); !reflect.DeepEqual(got, []Container{Safetensors, Pickle}) {
		t.Errorf("polyglot: %v", got)
	}
}

// FuzzSniff requires that Sniff never panics, reports each container once,
// in order, and agrees with itself over a ReaderAt.
func FuzzSniff(f *testing.F) {
	for _, pattern := range []string{"../testdata/hostile/*/*", "../testdata/torch/*.pt"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Bytes(data)
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Fatalf("containers out of order or repeated: %v", got)
			}
		}
		for _, c := range got {
			if c.String() == "container?" {
				t.Fatalf("unknown container %d", c)
			}
		}
		if bytes.HasPrefix(data, []byte("PK\x03\x04")) && (len(got) == 0 || got[0] != Zip) {
			t.Fatalf("zip prefix not reported: %v", got)
		}
	})
}
