package scan

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/sniff"
)

// checkParseAt scans data as Parse does and as ParseAt does (over a
// reader, with the bytes in place asked for only where needed) and fails
// when the reports or what was parsed differ, or when ParseAt asked for
// the bytes of a zip archive whose records are all small.
func checkParseAt(t *testing.T, name string, data []byte) {
	t.Helper()
	checkParseAtLimit(t, name, data, CopyLimit)
	checkParseAtLimit(t, name, data, 16) // records of over 16 bytes read in place
}

func checkParseAtLimit(t *testing.T, name string, data []byte, limit int64) {
	t.Helper()
	defer func(old int64) { copyLimit = old }(copyLimit)
	copyLimit = limit
	want, wantParsed := New(Options{}).Parse(name, data)
	asked := false
	got, gotParsed := New(Options{}).ParseAt(name, bytes.NewReader(data), int64(len(data)), func() []byte {
		asked = true
		return data
	})
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("%s: ParseAt reports\n%s\nParse reports\n%s", name, gj, wj)
	}
	if len(wantParsed.Containers) != len(gotParsed.Containers) || (wantParsed.Zip == nil) != (gotParsed.Zip == nil) || len(wantParsed.Pickles) != len(gotParsed.Pickles) {
		t.Fatalf("%s: ParseAt parsed %+v, Parse %+v", name, gotParsed, wantParsed)
	}
	for i, p := range wantParsed.Pickles {
		q := gotParsed.Pickles[i]
		pj, _ := json.Marshal(p)
		qj, _ := json.Marshal(q)
		if !bytes.Equal(pj, qj) {
			t.Fatalf("%s: pickle %d parsed as %s by ParseAt, %s by Parse", name, i, qj, pj)
		}
	}
	if asked && int64(len(data)) <= limit && len(wantParsed.Containers) == 1 && wantParsed.Containers[0] == sniff.Zip {
		t.Fatalf("%s: ParseAt asked for the bytes of a %d-byte zip archive", name, len(data))
	}
}

// TestParseAt scans every fixture both ways: the same report, and the
// bytes of a torch.save zip file are never asked for in place.
func TestParseAt(t *testing.T) {
	n := 0
	for _, pattern := range []string{"../testdata/scan/*", "../testdata/torch/*.pt", "../pickle/testdata/*.pkl", "../testdata/hostile/*/*", "../testdata/realds/*/*/*.pt", "../testdata/realds/*/*/*/*.pt", "../testdata/realds/*/*/*/*/*.pt"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			checkParseAt(t, p, data)
			n++
		}
	}
	if n < 50 {
		t.Fatalf("only %d fixtures found", n)
	}
	t.Logf("%d files scanned both ways", n)
}

// TestParseAtShrunk: a record the directory places inside the file but
// that the reader cannot read whole (the file shrank after it was opened)
// is an error located in the record, not a panic or a short pickle.
func TestParseAtShrunk(t *testing.T) {
	data, err := os.ReadFile("../testdata/scan/zip_os_system.pt")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var pkl int64 = -1
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/data.pkl") {
			pkl, _ = zf.DataOffset()
		}
	}
	if pkl < 0 {
		t.Fatal("no data.pkl")
	}
	f, _ := New(Options{}).ParseAt("shrunk.pt", shortReader{data, pkl}, int64(len(data)), func() []byte { return data })
	if !strings.Contains(f.Error, "shrunk.pt") || !strings.Contains(f.Error, "data.pkl") || !strings.Contains(f.Error, "the file shrank") {
		t.Fatalf("error %q for a file that shrank (want it located in data.pkl)", f.Error)
	}
}

// shortReader reads data as if the file had been cut at cut, except for
// the zip directory and local headers.
type shortReader struct {
	data []byte
	cut  int64
}

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off == r.cut {
		return 0, io.EOF
	}
	return bytes.NewReader(r.data).ReadAt(p, off)
}
