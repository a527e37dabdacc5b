package mmap

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestOpen(t *testing.T) {
	for _, n := range []int{1000, 10000} { // a small file read into memory, a mapped one
		t.Run(strconv.Itoa(n), func(t *testing.T) { testOpen(t, bytes.Repeat([]byte("ckptinspect"), n)) })
	}
}

func testOpen(t *testing.T, content []byte) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(path, content, 0o444); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != len(content) || !bytes.Equal(m.Bytes(), content) {
		t.Fatalf("mapping differs from file")
	}
	if small := len(content) <= SmallFile; small != (m.held > 0) {
		t.Errorf("%d bytes: read into memory %v", len(content), m.held > 0)
	}
	buf := make([]byte, 20)
	n, err := m.ReadAt(buf, int64(len(content)-10))
	if n != 10 || err != io.EOF || !bytes.Equal(buf[:10], content[len(content)-10:]) {
		t.Fatalf("ReadAt at end = %d, %v", n, err)
	}
	for _, a := range []Advice{Normal, Sequential, WillNeed, DontNeed} {
		if err := m.Advise(100, 5000, a); err != nil {
			t.Errorf("Advise(%d): %v", a, err)
		}
	}
	// DontNeed on a read-only shared mapping must not lose the data.
	if !bytes.Equal(m.Bytes(), content) {
		t.Fatalf("data changed after DontNeed")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(empty)
	if err != nil || m.Len() != 0 {
		t.Fatalf("empty file: %v", err)
	}
	m.Close()
	for _, p := range []string{dir, filepath.Join(dir, "missing")} {
		if _, err := Open(p); err == nil {
			t.Errorf("Open(%s) succeeded", p)
		}
	}
}

func TestReadAt(t *testing.T) {
	for _, n := range []int{1000, 10000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) { testReadAt(t, bytes.Repeat([]byte("0123456789"), n)) })
	}
}

func testReadAt(t *testing.T, content []byte) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(path, content, 0o444); err != nil {
		t.Fatal(err)
	}
	m, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*File{m, FromBytes("mem", content)} {
		buf := make([]byte, 100)
		if n, err := f.ReadAt(buf, 4321); n != 100 || err != nil || !bytes.Equal(buf, content[4321:4421]) {
			t.Fatalf("%s: ReadAt = %d, %v", f.Name(), n, err)
		}
		if n, err := f.ReadAt(buf, int64(len(content)-10)); n != 10 || err != io.EOF {
			t.Fatalf("%s: ReadAt at end = %d, %v", f.Name(), n, err)
		}
		if _, err := f.ReadAt(buf, -1); err == nil {
			t.Fatalf("%s: negative offset accepted", f.Name())
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOverFDBudget checks that a file opened when the descriptor budget is
// spent reads the same through ReadAt (through its mapping).
func TestOverFDBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	content := bytes.Repeat([]byte("0123456789"), 10000) // mapped, not a small file
	if err := os.WriteFile(path, content, 0o444); err != nil {
		t.Fatal(err)
	}
	saved := keptFiles.Load()
	keptFiles.Store(1 << 40)
	m, err := Open(path)
	keptFiles.Store(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.file != nil {
		t.Fatal("descriptor kept over budget")
	}
	buf := make([]byte, 10)
	if n, err := m.ReadAt(buf, 5000); n != 10 || err != nil || string(buf) != "0123456789" {
		t.Errorf("ReadAt = %d %v %q", n, err, buf)
	}
}

// TestSmallBudget: small files are read into memory only while those open
// hold at most SmallBudget bytes; Close gives their bytes back.
func TestSmallBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	content := bytes.Repeat([]byte("0123456789"), 100)
	if err := os.WriteFile(path, content, 0o444); err != nil {
		t.Fatal(err)
	}
	before := heldSmall.Load()
	m, err := Open(path)
	if err != nil || m.held != int64(len(content)) || heldSmall.Load() != before+int64(len(content)) {
		t.Fatalf("%v: held %d, in all %d", err, m.held, heldSmall.Load()-before)
	}
	m.Close()
	if heldSmall.Load() != before {
		t.Errorf("Close gave back %d bytes of %d", before+int64(len(content))-heldSmall.Load(), len(content))
	}
	heldSmall.Add(SmallBudget)
	m, err = Open(path)
	heldSmall.Add(-SmallBudget)
	if err != nil || m.held != 0 || !bytes.Equal(m.Bytes(), content) {
		t.Fatalf("over budget: %v, held %d", err, m.held)
	}
	m.Close()
	if heldSmall.Load() != before {
		t.Errorf("over budget: the count moved by %d", heldSmall.Load()-before)
	}
}
