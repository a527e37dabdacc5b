package scan

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"strings"
	"testing"
)

// deflatedZeros returns a raw deflate stream of head followed by n MiB of
// zeros, about 1 KiB per MiB.
func deflatedZeros(head []byte, n int) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(head)
	if n == 0 {
		w.Close()
		return buf.Bytes()
	}
	zeros := make([]byte, 1<<20)
	w.Write(zeros)
	w.Flush()
	first := buf.Len()
	w.Write(zeros)
	w.Flush()
	chunk := append([]byte{}, buf.Bytes()[first:]...)
	out := append([]byte{}, buf.Bytes()[:first]...)
	for i := 1; i < n; i++ {
		out = append(out, chunk...)
	}
	return append(out, 0x03, 0x00) // an empty final block
}

// zipOf writes records, each already deflated, with archive/zip.
func zipOf(t *testing.T, names []string, deflated [][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i, name := range names {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CompressedSize64: uint64(len(deflated[i])), UncompressedSize64: 100})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(deflated[i])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBudget checks that one budget bounds a whole run: the bytes
// inflated from many records (each under the record cap) add up against
// the run's MaxInflate, across files; a record over MaxRecord is refused
// on its own; the file is then dangerous, whatever it held.
func TestBudget(t *testing.T) {
	rec := deflatedZeros([]byte("\x80\x02"), 3) // 3 MiB each
	names := []string{"archive/data.pkl"}
	bodies := [][]byte{deflatedZeros([]byte("\x80\x02N."), 0)}
	for i := 0; i < 6; i++ {
		names = append(names, fmt.Sprintf("archive/r%d.pkl", i))
		bodies = append(bodies, rec)
	}
	data := zipOf(t, names, bodies)

	sc := New(Options{Budget: &Budget{MaxInflate: 10 << 20, MaxRecord: 4 << 20}})
	f := sc.Bytes("a.pt", data)
	if f.Verdict != "dangerous" || !strings.Contains(f.Error, "in this run") {
		t.Errorf("first file: %s, %s", f.Verdict, f.Error)
	}
	// The budget is spent: a second file with one record is refused too.
	f = sc.Bytes("b.pt", zipOf(t, names[:2], bodies[:2]))
	if f.Verdict != "dangerous" || !strings.Contains(f.Error, "in this run") {
		t.Errorf("second file: %s, %s", f.Verdict, f.Error)
	}
	// A record over the per-record cap.
	f = New(Options{Budget: &Budget{MaxRecord: 2 << 20}}).Bytes("c.pt", zipOf(t, names[:2], bodies[:2]))
	if f.Verdict != "dangerous" || !strings.Contains(f.Error, "inflates to more than 2097152 bytes") {
		t.Errorf("record cap: %s, %s", f.Verdict, f.Error)
	}
	// Within the budget the same file is read to its end: its second
	// record is PROTO then zeros, not a pickle.
	f = New(Options{}).Bytes("d.pt", zipOf(t, names[:2], bodies[:2]))
	if f.Verdict != "unreadable" || !strings.Contains(f.Error, "unknown opcode 0x00") {
		t.Errorf("within budget: %s, %s", f.Verdict, f.Error)
	}
}
