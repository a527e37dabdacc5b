package malformed

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptinspect/ckptinspect/internal/cli"
	"github.com/ckptinspect/ckptinspect/internal/fixture"
)

// childEnv makes the test binary run the command line instead of the tests:
// every row runs in a child process so that its peak RSS can be measured.
const childEnv = "CKPTINSPECT_MALFORMED_CHILD"

// hwmEnv names the file where the child writes its own peak RSS.
const hwmEnv = "CKPTINSPECT_MALFORMED_HWM"

func TestMain(m *testing.M) {
	if os.Getenv(corpusChildEnv) != "" {
		os.Exit(corpusChild(os.Getenv(corpusChildEnv), os.Args[1:]))
	}
	if os.Getenv(childEnv) == "1" {
		code := cli.Main(os.Args[1:], cli.System())
		if p := os.Getenv(hwmEnv); p != "" {
			if hwm := peakRSS(); hwm > 0 {
				os.WriteFile(p, []byte(strconv.FormatInt(hwm, 10)), 0o644)
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// peakRSS returns the peak resident set of this process's memory in bytes
// (Linux: VmHWM), or 0 when unknown. Unlike the rusage of a child, which
// on Linux also counts the parent's pages at the exec, it is the child's
// own.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

const (
	torchDir  = "../../testdata/torch"
	maxRSS    = 100 << 20       // bytes (times raceScale under the race detector)
	hangAfter = 2 * time.Minute // a child still running then has hung
)

// run runs ckptinspect args in a child process and returns its exit code,
// stderr, peak RSS in bytes (the rusage of the child: an upper bound),
// the child's own peak RSS (VmHWM, 0 if unknown) and wall time. With a
// nobody input, the child runs the copy of the test binary as the
// unprivileged user nobody.
func run(t *testing.T, in input, args ...string) (int, string, int64, int64, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangAfter)
	defer cancel()
	bin := os.Args[0]
	if in.nobody != "" {
		bin = in.nobody
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	if in.nobody != "" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	hwmFile := filepath.Join(t.TempDir(), "hwm")
	if in.nobody != "" {
		// A file nobody may write, in the folder nobody may enter.
		hwmFile = filepath.Join(filepath.Dir(in.nobody), "hwm")
		if err := os.WriteFile(hwmFile, nil, 0o666); err != nil || os.Chmod(hwmFile, 0o666) != nil {
			hwmFile = ""
		}
	}
	cmd.Env = append(os.Environ(), childEnv+"=1", hwmEnv+"="+hwmFile, "GOMAXPROCS=2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("ckptinspect %s: still running after %v: a hang", strings.Join(args, " "), hangAfter)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ckptinspect %s: %v", strings.Join(args, " "), err)
	}
	code := cmd.ProcessState.ExitCode()
	var rss, hwm int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	if b, err := os.ReadFile(hwmFile); err == nil {
		hwm, _ = strconv.ParseInt(string(b), 10, 64)
	}
	return code, stderr.String(), rss, hwm, took
}

// input is a malformed input: a file or folder under dir, and the path in
// it that the error must name.
type input struct {
	arg    string // what the command is given
	names  string // what its message must name
	nobody string // if set, the test binary copy to run as the user nobody
}

const nobody = 65534

type check struct {
	cmd  string // ls, stats or scan
	code int    // the exit code wanted
}

var (
	failAll  = []check{{"ls", 2}, {"stats", 2}, {"scan", 2}}
	failRead = []check{{"ls", 2}, {"stats", 2}, {"scan", 0}} // the pickles are intact: nothing for scan to find
)

// row is one row of the README's malformed-input table.
type row struct {
	name   string
	build  func(t *testing.T, dir string) input
	checks []check
}

func write(t *testing.T, dir, name string, data []byte) input {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return input{arg: p, names: p}
}

func must(t *testing.T) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// dataPkl returns a zip fixture with its data.pkl replaced by pkl.
func dataPkl(t *testing.T, src string, pkl []byte) []byte {
	return must(t)(fixture.ReplaceDataPkl(src, pkl))
}

// editPkl returns a zip fixture with one byte string of its data.pkl
// replaced.
func editPkl(t *testing.T, src string, old, new string) []byte {
	pkl, _, err := fixture.DataPkl(src)
	if err != nil {
		t.Fatal(err)
	}
	return dataPkl(t, src, must(t)(fixture.ReplaceOnce(pkl, []byte(old), []byte(new))))
}

func long1(x uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	return "\x8a\x08" + string(b[:])
}

// copyTree copies the folder src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

const bare = torchDir + "/bare_tensor.pt" // one float32 [3, 4] tensor: shape K\x03K\x04\x86, strides K\x04K\x01\x86

var rows = []row{
	{"random bytes", func(t *testing.T, dir string) input {
		b := make([]byte, 1<<20)
		rand.New(rand.NewSource(1)).Read(b)
		b[0] = 0xd7 // neither "PK" nor a pickle opcode
		return write(t, dir, "random.pt", b)
	}, failAll},
	{"truncated zip file", func(t *testing.T, dir string) input {
		b := fixture.MustRead(torchDir + "/views.pt")
		return write(t, dir, "views.pt", b[:len(b)/2])
	}, failAll},
	{"truncated legacy file (in the object pickle)", func(t *testing.T, dir string) input {
		b := fixture.MustRead(torchDir + "/legacy.pt")
		s, err := fixture.LegacySplit(b)
		if err != nil {
			t.Fatal(err)
		}
		obj := s[3]
		return write(t, dir, "legacy.pt", b[:(obj[0]+obj[1])/2])
	}, failAll},
	{"truncated legacy file (in the storage data)", func(t *testing.T, dir string) input {
		b := fixture.MustRead(torchDir + "/legacy.pt")
		return write(t, dir, "legacy.pt", b[:len(b)-10])
	}, failRead},
	{"zip file without data.pkl", func(t *testing.T, dir string) input {
		b := must(t)(fixture.EditZip(torchDir+"/zip2.pt", func(r *fixture.Record) bool { return !fixture.IsDataPkl(r.Name) }))
		return write(t, dir, "nopkl.pt", b)
	}, failAll},
	{"storage record shorter than its tensor needs", func(t *testing.T, dir string) input {
		b := must(t)(fixture.EditZip(bare, func(r *fixture.Record) bool {
			if strings.HasSuffix(r.Name, "/data/0") {
				r.Data = r.Data[:20] // 5 of the 12 float32 elements
			}
			return true
		}))
		return write(t, dir, "short.pt", b)
	}, failRead},
	{"pickle declaring a 4 TB bytes object", func(t *testing.T, dir string) input {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], 4<<40)
		return write(t, dir, "huge.pt", dataPkl(t, bare, []byte("\x80\x04\x8e"+string(n[:])+"tiny.")))
	}, failAll},
	{"200,000 nested lists", func(t *testing.T, dir string) input {
		pkl := "\x80\x02" + strings.Repeat("]", 200000) + strings.Repeat("a", 199999) + "."
		return write(t, dir, "nested.pt", dataPkl(t, bare, []byte(pkl)))
	}, []check{{"ls", 2}, {"stats", 2}, {"scan", 0}}}, // valid pickle without globals: harmless
	{"500,000 MARKs", func(t *testing.T, dir string) input {
		pkl := "\x80\x02" + strings.Repeat("(", 500000) + "N."
		return write(t, dir, "marks.pt", dataPkl(t, bare, []byte(pkl)))
	}, []check{{"ls", 2}, {"stats", 2}, {"scan", 1}}}, // Python reads on: what follows is not checked, so not clean
	{"unknown opcode", func(t *testing.T, dir string) input {
		pkl, _, err := fixture.DataPkl(bare)
		if err != nil {
			t.Fatal(err)
		}
		pkl = append([]byte{}, pkl...)
		pkl[2] = 0xff // the GLOBAL after PROTO 2
		return write(t, dir, "opcode.pt", dataPkl(t, bare, pkl))
	}, failAll},
	{"shape overflow", func(t *testing.T, dir string) input {
		return write(t, dir, "shape.pt", editPkl(t, bare, "K\x03K\x04\x86", long1(1<<62)+long1(1<<62)+"\x86"))
	}, failRead},
	{"stride overflow", func(t *testing.T, dir string) input {
		return write(t, dir, "stride.pt", editPkl(t, bare, "K\x04K\x01\x86", long1(1<<62)+"K\x01\x86"))
	}, failRead},
	{"negative dimension", func(t *testing.T, dir string) input {
		return write(t, dir, "negative.pt", editPkl(t, bare, "K\x03K\x04\x86", "J\xfd\xff\xff\xffK\x04\x86"))
	}, failRead},
	{"missing storage key (zip record)", func(t *testing.T, dir string) input {
		b := must(t)(fixture.EditZip(bare, func(r *fixture.Record) bool { return !strings.HasSuffix(r.Name, "/data/0") }))
		return write(t, dir, "nokey.pt", b)
	}, failRead},
	{"missing storage key (legacy key list)", func(t *testing.T, dir string) input {
		b := fixture.MustRead(torchDir + "/legacy.pt")
		s, err := fixture.LegacySplit(b)
		if err != nil {
			t.Fatal(err)
		}
		// The key list without its first key ("93000000000000", 14 digits).
		keys := b[s[4][0]:s[4][1]]
		i := bytes.Index(keys, []byte("X\x0e\x00\x00\x0093000000000000"))
		if i < 0 {
			t.Fatalf("first key not found in %q", keys)
		}
		end := i + 19
		if keys[end] == 'q' {
			end += 2 // its BINPUT
		}
		keys = append(append([]byte{}, keys[:i]...), keys[end:]...)
		return write(t, dir, "legacy.pt", must(t)(fixture.ReplaceLegacyPickle(b, 4, keys)))
	}, failRead},
	{"symlink loop inside a checkpoint folder", func(t *testing.T, dir string) input {
		ck := filepath.Join(dir, "checkpoint-7")
		copyTree(t, "../../testdata/universal-intstep/checkpoint-7", ck)
		param := filepath.Join(ck, "global_step7_universal", "zero", "lm_head.weight")
		loop := filepath.Join(param, "exp_avg.pt")
		os.Remove(loop)
		if err := os.Symlink("exp_avg.pt", loop); err != nil { // exp_avg.pt -> itself
			t.Skip("symlinks:", err)
		}
		// And a folder loop, which scan must not follow.
		if err := os.Symlink("..", filepath.Join(param, "up")); err != nil {
			t.Fatal(err)
		}
		return input{arg: ck, names: loop}
	}, []check{{"stats", 2}, {"scan", 2}}},
	{"unreadable file: chmod 000", func(t *testing.T, dir string) input {
		root := os.Geteuid() == 0
		if root {
			// Root reads files whatever their mode: run the command as
			// nobody, from a copy of this binary, in a folder it may
			// enter (t.TempDir's parent is private).
			d, err := os.MkdirTemp("", "ckptinspect-malformed-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
			dir = d
		}
		in := write(t, dir, "secret.pt", fixture.MustRead(bare))
		if err := os.Chmod(in.arg, 0); err != nil {
			t.Fatal(err)
		}
		if root {
			for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
				if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
					t.Skipf("%s is not searchable by nobody", d)
				}
			}
			in.nobody = filepath.Join(dir, "ckptinspect.test")
			if err := os.WriteFile(in.nobody, fixture.MustRead(os.Args[0]), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return in
	}, failAll},
	{"unreadable file: a FIFO", func(t *testing.T, dir string) input {
		p := filepath.Join(dir, "fifo.pt")
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
		return input{arg: p, names: p}
	}, failAll},
	{"unreadable file: a dangling symlink", func(t *testing.T, dir string) input {
		p := filepath.Join(dir, "dangling.pt")
		if err := os.Symlink(filepath.Join(dir, "gone.pt"), p); err != nil {
			t.Skip("symlinks:", err)
		}
		return input{arg: p, names: p}
	}, failAll},
	{"folder where a file is expected", func(t *testing.T, dir string) input {
		p := filepath.Join(dir, "model.pt")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return input{arg: p, names: p}
	}, []check{{"ls", 2}, {"stats", 2}}}, // scan takes folders: it searches this one (and finds nothing)
}

// wantMsg is what the failing commands' message says, per row.
var wantMsg = map[string]string{
	"random bytes":       "neither a zip archive nor a pickle",
	"truncated zip file": "zip directory",
	"truncated legacy file (in the object pickle)": "truncated",
	"truncated legacy file (in the storage data)":  "truncated",
	"zip file without data.pkl":                    "data.pkl",
	"storage record shorter than its tensor needs": "holds 20 bytes, but 12 float32 elements need 48",
	"pickle declaring a 4 TB bytes object":         "argument needs 4398046511104 bytes",
	"200,000 nested lists":                         "nested deeper than 512 levels",
	"500,000 MARKs":                                "more than 4096 MARKs",
	"unknown opcode":                               "unknown opcode 0xff",
	"shape overflow":                               "element count overflows",
	"stride overflow":                              "overflows",
	"negative dimension":                           "negative",
	"missing storage key (zip record)":             "no record",
	"missing storage key (legacy key list)":        "missing from the list of storage keys",
	"symlink loop inside a checkpoint folder":      "too many levels of symbolic links",
	"unreadable file: chmod 000":                   "permission denied",
	"unreadable file: a FIFO":                      "not a regular file",
	"unreadable file: a dangling symlink":          "no such file or directory",
	"folder where a file is expected":              "",
}

// TestMalformedInputs runs every row of the README's malformed-input table.
// Timings are logged, not asserted (go test -v prints them).
func TestMalformedInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			in := r.build(t, t.TempDir())
			for _, c := range r.checks {
				code, stderr, rss, hwm, took := run(t, in, c.cmd, in.arg)
				t.Logf("| %s | %s | exit %d | %.0f ms | %.1f MB | %.1f MB own | %s", r.name, c.cmd, code, took.Seconds()*1000,
					float64(rss)/(1<<20), float64(hwm)/(1<<20), strings.TrimSpace(stderr))
				if code != c.code {
					t.Errorf("%s: exit %d, want %d; stderr: %s", c.cmd, code, c.code, stderr)
				}
				if rss > maxRSS*raceScale() {
					t.Errorf("%s: peak RSS %.1f MB, want < %d MB", c.cmd, float64(rss)/(1<<20), maxRSS*raceScale()>>20)
				}
				if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
					t.Errorf("%s: panicked: %s", c.cmd, stderr)
				}
				if c.code == 0 {
					continue
				}
				if want, ok := wantMsg[r.name]; !ok || !strings.Contains(stderr, want) {
					t.Errorf("%s: stderr lacks %q: %s", c.cmd, want, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "ckptinspect: ") || !strings.Contains(lines[0], in.names) {
					t.Errorf("%s: stderr should be one line naming %s, got:\n%s", c.cmd, in.names, stderr)
				}
			}
		})
	}
}

// raceScale is the factor the race detector's overhead asks of time and
// memory ceilings.
func raceScale() int64 {
	if raceEnabled {
		return 10
	}
	return 1
}
