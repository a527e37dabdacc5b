package pickle

import (
	"archive/zip"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestInspectStorages: the storage keys of a real torch.save data.pkl, and
// persistent ids that do not name a storage.
func TestInspectStorages(t *testing.T) {
	zr, err := zip.OpenReader("../testdata/hostile/benign/zip_state_dict.pt")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var pkl []byte
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/data.pkl") {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			pkl, err = io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"torch.save", pkl, []string{"0", "1"}},
		// ('storage', 'x', 'k') then BINPERSID, STOP
		{"three strings", []byte("\x80\x02(X\x07\x00\x00\x00storageX\x01\x00\x00\x00xX\x01\x00\x00\x00ktQ."), []string{"k"}},
		{"another tag", []byte("\x80\x02(X\x06\x00\x00\x00moduleX\x01\x00\x00\x00xX\x01\x00\x00\x00ktQ."), nil},
		{"key not a string", []byte("\x80\x02(X\x07\x00\x00\x00storageX\x01\x00\x00\x00xK\x07tQ."), nil},
		{"too short", []byte("\x80\x02X\x07\x00\x00\x00storage\x85Q."), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := Inspect(tc.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(prog.Storages, tc.want) {
				t.Errorf("Storages = %q, want %q", prog.Storages, tc.want)
			}
		})
	}
}
