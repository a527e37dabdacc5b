package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/fixture"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/scan"
)

const (
	scanData   = "../../testdata/scan"
	evilPickle = "../../pickle/testdata"
	torchData  = "../../testdata/torch"
)

func TestScanGolden(t *testing.T) {
	cases := []struct {
		golden string
		code   int
		args   []string
	}{
		{"scan_deepspeed.txt", ExitOK, []string{"scan", "../../testdata/deepspeed"}},
		{"scan_evil.txt", ExitFindings, []string{"scan", scanData}},
		{"scan_evil.json", ExitFindings, []string{"scan", "-f", "json", scanData + "/zip_os_system.pt", scanData + "/nested_evil_p2.pkl", torchData + "/legacy.pt"}},
		{"scan_torch.csv", ExitOK, []string{"scan", "--format", "csv", torchData}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, code := run(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, errOut)
			}
			checkGolden(t, c.golden, out)
		})
	}
}

// TestScanBundled scans every bundled checkpoint: all clean.
func TestScanBundled(t *testing.T) {
	out, errOut, code := run("scan", "-f", "json", "../../testdata/sample", "../../testdata/deepspeed",
		torchData, "../../testdata/universal-intstep", "../../testdata/safetensors", "../../testdata/zero-dp3",
		"../../testdata/zero3-dp3", "../../testdata/drift", "../../testdata/hostile/benign")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc scan.Report
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Summary
	if s.Files < 100 || s.Clean != s.Files || s.Verdict != "clean" || s.ExitCode != 0 || s.Globals.Safe == 0 {
		t.Errorf("summary %+v", s)
	}
	for i := 1; i < len(doc.Files); i++ {
		if doc.Files[i-1].Path >= doc.Files[i].Path {
			t.Errorf("files not sorted: %s before %s", doc.Files[i-1].Path, doc.Files[i].Path)
		}
	}
}

// scanFile writes data to a temporary file named name and scans it.
func scanBytes(t *testing.T, name string, data []byte, args ...string) (scan.Report, string, int) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(append([]string{"scan", "-f", "json", p}, args...)...)
	var doc scan.Report
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return doc, errOut, code
}

// TestScanPayloads builds hostile files from the real fixtures and checks
// that scan finds the payload where it is, whatever the container.
func TestScanPayloads(t *testing.T) {
	evil := func(name string) []byte { return fixture.MustRead(filepath.Join(evilPickle, name)) }
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	legacy := fixture.MustRead(torchData + "/legacy.pt")
	clean, _, err := fixture.DataPkl(torchData + "/zip2.pt")
	if err != nil {
		t.Fatal(err)
	}
	// A valid safetensors file (header: "{", spaces, "}") whose first
	// bytes (the header length 0x560280) also start a pickle: PROTO 2,
	// UNICODE up to the first newline, which is in the tensor data, where
	// the payload follows.
	polyglot := make([]byte, 8+0x560280)
	binary.LittleEndian.PutUint64(polyglot, 0x560280)
	for i := 9; i < len(polyglot)-1; i++ {
		polyglot[i] = ' '
	}
	polyglot[8], polyglot[len(polyglot)-1] = '{', '}'
	polyglot = append(polyglot, "\ncos\nsystem\n(S'echo pwned'\ntR."...)
	// A pickle whose STACK_GLOBAL takes its name from a computed value.
	dynamic := []byte("\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93.")
	cases := []struct {
		name   string
		file   string
		data   []byte
		args   []string
		code   int
		global string // the global judged as wanted
		want   string // its verdict
		where  string // the pickle it is in
	}{
		{"raw os.system", "a.pkl", evil("evil_os_system.pkl"), nil, ExitFindings, "posix.system", "dangerous", "pickle 1"},
		{"raw eval", "a.pkl", evil("evil_eval.pkl"), nil, ExitFindings, "builtins.eval", "dangerous", "pickle 1"},
		{"raw Popen", "a.pkl", evil("evil_popen.pkl"), nil, ExitFindings, "subprocess.Popen", "dangerous", "pickle 1"},
		{"raw getattr", "a.pkl", evil("evil_getattr.pkl"), nil, ExitFindings, "builtins.getattr", "dangerous", "pickle 1"},
		{"zip data.pkl os.system", "a.pt", must(fixture.ReplaceDataPkl(torchData+"/zip2.pt", evil("evil_os_system.pkl"))), nil, ExitFindings, "posix.system", "dangerous", "archive/data.pkl"},
		{"zip data.pkl eval", "a.pt", must(fixture.ReplaceDataPkl(torchData+"/views.pt", evil("evil_eval.pkl"))), nil, ExitFindings, "builtins.eval", "dangerous", "views/data.pkl"},
		{"zip data.pkl Popen", "a.bin", must(fixture.ReplaceDataPkl(torchData+"/dtypes.pt", evil("evil_popen.pkl"))), nil, ExitFindings, "subprocess.Popen", "dangerous", "dtypes/data.pkl"},
		{"zip data.pkl then a second pickle", "a.pt", must(fixture.ReplaceDataPkl(torchData+"/zip2.pt", append(append([]byte{}, clean...), evil("evil_eval.pkl")...))), nil, ExitFindings, "builtins.eval", "dangerous", "archive/data.pkl #2"},
		{"zip extra .pkl record", "a.pt", must(fixture.EditZip(torchData+"/zip2.pt", nil, fixture.Record{Name: "archive/extra.pkl", Data: evil("evil_popen.pkl")})), nil, ExitFindings, "subprocess.Popen", "dangerous", "archive/extra.pkl"},
		{"zip deflated .pkl record", "a.pt", must(fixture.EditZip(torchData+"/zip2.pt", nil, fixture.Record{Name: "x/constants.pkl", Data: evil("evil_eval.pkl"), Method: 8})), nil, ExitFindings, "builtins.eval", "dangerous", "x/constants.pkl (inflated)"},
		{"zip record not named .pkl holding a pickle", "a.pt", must(fixture.EditZip(torchData+"/zip2.pt", nil, fixture.Record{Name: "archive/data/99", Data: evil("evil_eval.pkl")})), nil, ExitFindings, "builtins.eval", "dangerous", "archive/data/99"},
		{"legacy sys_info", "a.pt", must(fixture.ReplaceLegacyPickle(legacy, 2, evil("evil_os_system.pkl"))), nil, ExitFindings, "posix.system", "dangerous", "sys_info"},
		{"legacy storage keys", "a.pt", must(fixture.ReplaceLegacyPickle(legacy, 4, evil("evil_eval.pkl"))), nil, ExitFindings, "builtins.eval", "dangerous", "storage_keys"},
		{"legacy storage bytes are not pickles", "a.pt", append(append([]byte{}, legacy...), evil("evil_eval.pkl")...), nil, ExitOK, "torch.FloatStorage", "safe", "object"},
		{"back to back", "a.pkl", append(append([]byte{}, clean...), evil("evil_popen.pkl")...), nil, ExitFindings, "subprocess.Popen", "dangerous", "pickle 2"},
		{"computed STACK_GLOBAL", "a.pkl", dynamic, nil, ExitFindings, "?.system", "dangerous", "pickle 1"},
		{"unknown class --lenient", "a.pkl", fixture.MustRead(evilPickle + "/objects_p2.pkl"), []string{"--lenient"}, ExitOK, "fakepkg.things.Thing", "unknown", "pickle 1"},
		{"unknown class", "a.pkl", fixture.MustRead(evilPickle + "/objects_p2.pkl"), nil, ExitFindings, "fakepkg.things.Thing", "unknown", "pickle 1"},
		{"unknown class --allow", "a.pkl", fixture.MustRead(evilPickle + "/objects_p2.pkl"), []string{"--allow", "fakepkg.things.*"}, ExitOK, "fakepkg.things.Thing", "safe", "pickle 1"},
		{"--allow cannot clear danger", "a.pkl", evil("evil_os_system.pkl"), []string{"--allow", "posix.*"}, ExitFindings, "posix.system", "dangerous", "pickle 1"},
		{"enum getattr", "a.pt", fixture.MustRead("../../testdata/deepspeed/optimizer_state.pt"), nil, ExitOK, "builtins.getattr", "safe", "optimizer_state/data.pkl"},
		{"protocol 0 without PROTO", "a.pkl", []byte("cos\nsystem\n(S'echo pwned'\ntR."), nil, ExitFindings, "os.system", "dangerous", "pickle 1"},
		{"dangerous, then truncated", "a.pkl", []byte("cos\nsystem\n(S'echo pwned'\ntR"), nil, ExitFindings, "os.system", "dangerous", "pickle 1"},
		{"safetensors and pickle", "a.bin", polyglot, nil, ExitFindings, "os.system", "dangerous", "pickle 1"},
		{"bytes passed to other calls are data", "a.pkl", fixture.MustRead(evilPickle + "/values_p2.pkl"), nil, ExitOK, "builtins.bytearray", "safe", "pickle 1"},
		{"bytes passed to other calls are data, protocol 4", "a.pkl", fixture.MustRead(evilPickle + "/values_p4.pkl"), nil, ExitOK, "builtins.bytearray", "safe", "pickle 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, errOut, code := scanBytes(t, c.file, c.data, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if len(doc.Files) != 1 {
				t.Fatalf("%d files", len(doc.Files))
			}
			for _, g := range doc.Files[0].Globals {
				if g.Module+"."+g.Name == c.global {
					if g.Verdict != c.want || len(g.Where) == 0 || g.Where[0].Pickle != c.where {
						t.Errorf("%s: %s in %+v, want %s in %s", c.global, g.Verdict, g.Where, c.want, c.where)
					}
					return
				}
			}
			t.Errorf("%s not found in %+v", c.global, doc.Files[0].Globals)
		})
	}
}

// TestScanFolders checks the folder walk: extensions, symbolic links
// (followed to files, never to folders, so loops end), unreadable
// entries, and the order of the output.
func TestScanFolders(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, data []byte) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			t.Skip("symlinks:", err)
		}
	}
	good := fixture.MustRead(torchData + "/bare_tensor.pt")
	write("ckpt/b/model.PT", good)
	write("ckpt/a.pth", good)
	write("ckpt/notes.txt", []byte("global_step7\n"))        // text a pickle reader rejects: skipped
	write("ckpt/config.json", []byte(`{"hidden_size": 64}`)) // no loader reads it: skipped
	write("ckpt/sub/deep/x.ckpt", good)
	write("ckpt/sub/noext", good)           // picked by content, not by name
	link("..", "ckpt/sub/loop")             // a folder loop: not followed
	link("../a.pth", "ckpt/sub/same.bin")   // a file: followed
	link(filepath.Join(dir, "ckpt"), "top") // the root may be a link
	out, errOut, code := run("scan", "-f", "json", filepath.Join(dir, "ckpt"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc scan.Report
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range doc.Files {
		rel, _ := filepath.Rel(dir, f.Path)
		got = append(got, rel+":"+f.Verdict)
	}
	want := "ckpt/a.pth:clean ckpt/b/model.PT:clean ckpt/sub/deep/x.ckpt:clean ckpt/sub/noext:clean ckpt/sub/same.bin:clean"
	if strings.Join(got, " ") != want {
		t.Errorf("files %v, want %s", got, want)
	}
	var skipped []string
	for _, s := range doc.Skipped {
		skipped = append(skipped, filepath.Base(s.Path))
	}
	if strings.Join(skipped, " ") != "config.json notes.txt loop" || doc.Summary.LookedAt != 8 {
		t.Errorf("skipped %+v, looked at %d", doc.Skipped, doc.Summary.LookedAt)
	}
	// Through the linked root, the same files.
	out, _, code = run("scan", "-f", "csv", filepath.Join(dir, "top"))
	if code != ExitOK || strings.Count(out, "\n") != 1+5*3 {
		t.Errorf("linked root: exit %d:\n%s", code, out)
	}
	// A hostile pickle is found whatever its name.
	evil := write("other/notes.txt", []byte("cos\nsystem\n(S'x'\ntR."))
	if out, _, code := run("scan", filepath.Dir(evil)); code != ExitFindings || !strings.Contains(out, "os.system") {
		t.Errorf("text-named pickle: exit %d:\n%s", code, out)
	}

	// Unreadable entries: each named once on stderr, exit 2.
	link("b.pt", "ckpt/a.pt") // a loop of file links: a.pt -> b.pt -> a.pt
	link("a.pt", "ckpt/b.pt")
	link("missing.pt", "ckpt/dangling.pt")
	if err := syscall.Mkfifo(filepath.Join(dir, "ckpt/fifo.pkl"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "ckpt/folder.pt"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run("scan", filepath.Join(dir, "ckpt"))
	if code != ExitInput {
		t.Errorf("exit %d, want 2", code)
	}
	for _, name := range []string{"a.pt", "b.pt", "dangling.pt", "fifo.pkl"} {
		if n := strings.Count(errOut, filepath.Join(dir, "ckpt", name)+":"); n != 1 {
			t.Errorf("%s named %d times on stderr:\n%s", name, n, errOut)
		}
	}
	if strings.Contains(errOut, "folder.pt") {
		t.Errorf("a folder named .pt is a folder, not an unreadable file:\n%s", errOut)
	}
	if !strings.Contains(out, "4 unreadable") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestScanExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pt")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	var many bytes.Buffer // 5000 pickles, each naming another global
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&many, "cmod%d\nx\n.", i)
	}
	manyGlobals := filepath.Join(dir, "many.pkl")
	os.WriteFile(manyGlobals, many.Bytes(), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"scan", garbage}, ExitInput, garbage + " (byte 0): not a valid torch.save file: neither a zip archive nor a pickle"},
		{[]string{"scan", filepath.Join(dir, "missing.pt")}, ExitInput, "missing.pt: no such file or directory"},
		{[]string{"scan", garbage, scanData + "/zip_eval.pt"}, ExitFindings, garbage},
		{[]string{"scan", manyGlobals}, ExitFindings, "many.pkl: pickle 4097 (byte 48042): pickle: limit exceeded: more than 4096 distinct globals"},
		{[]string{"scan"}, ExitUsage, "scan: missing PATH"},
		{[]string{"scan", garbage, "--format", "yaml"}, ExitUsage, "unknown format"},
		{[]string{"scan", garbage, "--allow", "os"}, ExitUsage, "--allow"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := run(c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errOut)
			}
			if !strings.Contains(errOut, c.msg) {
				t.Errorf("stderr %q lacks %q", errOut, c.msg)
			}
		})
	}
}

func TestScanFlags(t *testing.T) {
	var got *ScanOptions
	cmd := NewScanCmd(Streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, func(o *ScanOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"a.pt", "dir", "--lenient", "-f", "csv", "--allow", "mylib.*", "--allow", "x.Y", "--max-inflate", "1000"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Paths, ",") != "a.pt,dir" || !got.Lenient || got.Format != output.CSV || strings.Join(got.Allow, ",") != "mylib.*,x.Y" || got.MaxInflate != 1000 {
		t.Errorf("options = %+v", got)
	}
}

// overlappingZip returns a zip file whose directory lists the one stored
// record pkl k times, under k names.
func overlappingZip(pkl []byte, k int) []byte {
	le := binary.LittleEndian
	crc := crc32.ChecksumIEEE(pkl)
	var b []byte
	b = le.AppendUint32(b, 0x04034b50)
	b = le.AppendUint16(b, 20)
	b = append(b, make([]byte, 8)...) // flags, method (stored), time, date
	b = le.AppendUint32(b, crc)
	b = le.AppendUint32(b, uint32(len(pkl)))
	b = le.AppendUint32(b, uint32(len(pkl)))
	b = le.AppendUint16(b, 8)
	b = le.AppendUint16(b, 0)
	b = append(b, "data.pkl"...)
	b = append(b, pkl...)
	cd := len(b)
	for i := 0; i < k; i++ {
		name := fmt.Sprintf("r%06d.pkl", i)
		b = le.AppendUint32(b, 0x02014b50)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 20)
		b = append(b, make([]byte, 8)...)
		b = le.AppendUint32(b, crc)
		b = le.AppendUint32(b, uint32(len(pkl)))
		b = le.AppendUint32(b, uint32(len(pkl)))
		b = le.AppendUint16(b, uint16(len(name)))
		b = append(b, make([]byte, 12)...) // extra, comment, disk, attributes
		b = le.AppendUint32(b, 0)          // the local header: the same for all
		b = append(b, name...)
	}
	end := len(b)
	b = le.AppendUint32(b, 0x06054b50)
	b = append(b, make([]byte, 4)...)
	b = le.AppendUint16(b, uint16(k))
	b = le.AppendUint16(b, uint16(k))
	b = le.AppendUint32(b, uint32(end-cd))
	b = le.AppendUint32(b, uint32(cd))
	return le.AppendUint16(b, 0)
}

// TestScanAmplification checks that bytes referenced many times are
// scanned once: a memoized _load_from_bytes payload called again and
// again at every nesting level, and zip directory entries that all point
// at the same record.
func TestScanAmplification(t *testing.T) {
	call := func(payload []byte, n int) []byte {
		b := []byte("\x80\x04\x8c\x0dtorch.storage\x8c\x10_load_from_bytes\x93q\x00B")
		b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
		b = append(append(b, payload...), "\x85q\x01"...)
		return append(append(b, bytes.Repeat([]byte("h\x00h\x01R0"), n)...), "N."...)
	}
	nested := fixture.MustRead(scanData + "/tensor_p4.pkl")
	for i := 0; i < 3; i++ {
		nested = call(nested, 200) // 200^3 calls, 4 distinct payloads
	}
	doc, errOut, code := scanBytes(t, "nested.pkl", nested)
	if code != ExitOK || doc.Files[0].Pickles != 3+6 {
		t.Errorf("nested calls: exit %d, %d pickles (%s)", code, doc.Files[0].Pickles, errOut)
	}
	pkl := append(bytes.Repeat([]byte("N"), 100000), '.')
	doc, errOut, code = scanBytes(t, "overlap.pt", overlappingZip(pkl, 3000))
	if code != ExitInput || doc.Files[0].Pickles > 3 || !strings.Contains(errOut, "the records overlap") {
		t.Errorf("overlapping records: exit %d, %d pickles (%s)", code, doc.Files[0].Pickles, errOut)
	}
}
