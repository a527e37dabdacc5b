package malformed

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ckptinspect/ckptinspect/internal/cli"
)

// corpusChildEnv makes the test binary run the corpus child: the commands
// of one input, each timed, then its own peak RSS, written as JSON to the
// file the variable names.
const corpusChildEnv = "CKPTINSPECT_CORPUS_CHILD"

// The ceilings of the corpus (issue 11): a hostile file below 10 MB takes
// at most 2 s and 200 MB in scan, ls, stats and verify; a multi-GiB zip
// bomb is refused within 10 s and 256 MB. Time is the command's CPU time
// (user + system, measured inside the child), which load on the machine
// does not inflate; wall time is logged.
const (
	corpusMaxCPU    = 2 * time.Second
	corpusMaxRSS    = 200 << 20
	bombMaxCPU      = 10 * time.Second
	bombMaxRSS      = 256 << 20
	corpusDir       = "../../testdata/hostile"
	corpusChildWait = 2 * time.Minute
)

// cmdResult is what the child reports of one command.
type cmdResult struct {
	Args     []string `json:"args"`
	Code     int      `json:"code"`
	Stderr   string   `json:"stderr"`
	OutBytes int64    `json:"out_bytes"`
	CPU      int64    `json:"cpu_ns"`
	Wall     int64    `json:"wall_ns"`
}

type childReport struct {
	Results []cmdResult `json:"results"`
	HWM     int64       `json:"hwm"`
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpusChild runs scan, ls --format json, stats and verify on the file
// given, one after the other in this process.
func corpusChild(out string, args []string) int {
	var rep childReport
	cmds := [][]string{{"scan"}, {"ls", "--format", "json"}, {"stats"}, {"verify"}}
	for _, file := range args {
		for _, cmd := range cmds {
			rep.Results = append(rep.Results, runCmd(append(append([]string{}, cmd...), file)))
		}
	}
	rep.HWM = peakRSS()
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return 4
	}
	return 0
}

// runCmd runs one command line of ckptinspect in this process.
func runCmd(a []string) cmdResult {
	{
		var stderr bytes.Buffer
		var stdout counter
		c0, w0 := cpuNow(), time.Now()
		code := cli.Main(a, cli.Streams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr})
		return cmdResult{Args: a, Code: code, Stderr: stderr.String(), OutBytes: stdout.n,
			CPU: int64(cpuNow() - c0), Wall: int64(time.Since(w0))}
	}
}

func runCorpusChild(t *testing.T, path string) childReport {
	t.Helper()
	return runCorpusChildren(t, []string{path})
}

// runCorpusChildren runs the corpus child on several files at once.
func runCorpusChildren(t *testing.T, paths []string, env ...string) childReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), corpusChildWait)
	defer cancel()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.CommandContext(ctx, os.Args[0], paths...)
	cmd.Env = append(append(os.Environ(), corpusChildEnv+"="+out, "GOMAXPROCS=2"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child on %s: %v (%s)", paths, err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep childReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCorpus runs scan, ls, stats and verify on every file of the hostile
// corpus (testdata/hostile, made by testdata/gen/gen_hostile.py), each file
// in a child process: every hostile file makes scan exit 1 and ls and stats
// refuse it (exit 2, naming the global refused or the limit), every benign
// file scans clean, no panic, and each command stays within the time and
// memory ceilings.
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	var files []string
	for _, kind := range []string{"hostile", "benign"} {
		m, _ := filepath.Glob(filepath.Join(corpusDir, kind, "*"))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) < 180 {
		t.Fatalf("%d corpus files", len(files))
	}
	if raceEnabled {
		// The race detector checks concurrency, which these
		// single-threaded commands hardly have: a quarter of the corpus
		// keeps CI's time.
		var some []string
		for i := 0; i < len(files); i += 4 {
			some = append(some, files[i])
		}
		files = some
	}
	var mu sync.Mutex
	var slowest time.Duration
	var biggest int64
	var worst string
	// Files go to children in batches of 8 (fewer processes to start); the
	// peak RSS of a child bounds that of each of its commands.
	const batch = 8
	for lo := 0; lo < len(files); lo += batch {
		group := files[lo:min(lo+batch, len(files))]
		t.Run(filepath.Base(group[0]), func(t *testing.T) {
			t.Parallel()
			rep := runCorpusChildren(t, group)
			mu.Lock()
			biggest = max(biggest, rep.HWM)
			mu.Unlock()
			if rep.HWM > corpusMaxRSS*raceScale() {
				t.Errorf("peak RSS %.1f MB, want < %d MB (files %s)", float64(rep.HWM)/(1<<20), corpusMaxRSS>>20, group)
			}
			per := len(rep.Results) / len(group)
			for i, p := range group {
				res := rep.Results[i*per : (i+1)*per]
				hostile := filepath.Base(filepath.Dir(p)) == "hostile"
				for _, r := range res {
					cpu := time.Duration(r.CPU)
					mu.Lock()
					if cpu > slowest {
						slowest, worst = cpu, p
					}
					mu.Unlock()
					if cpu > corpusMaxCPU*time.Duration(raceScale()) {
						t.Errorf("%s: %v of CPU, want < %v", strings.Join(r.Args, " "), cpu, corpusMaxCPU)
					}
					if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
						t.Errorf("%s panicked: %s", strings.Join(r.Args, " "), r.Stderr)
					}
					if strings.Contains(r.Stderr, "0xc0") || strings.Contains(r.Stderr, "*pickle.") || strings.Contains(r.Stderr, "*types.") {
						t.Errorf("%s: a Go pointer or type name in the message: %s", strings.Join(r.Args, " "), r.Stderr)
					}
				}
				scan, ls, stats := res[0], res[1], res[2]
				if hostile {
					if scan.Code != 1 {
						t.Errorf("%s: scan: exit %d, want 1: %s", p, scan.Code, scan.Stderr)
					}
					for _, r := range []cmdResult{ls, stats} {
						if r.Code != 2 || !strings.Contains(r.Stderr, "refusing") && !strings.Contains(r.Stderr, "unsafe") {
							t.Errorf("%s: %s: exit %d, want a refusal (exit 2): %s", p, r.Args[0], r.Code, r.Stderr)
						}
					}
				} else if scan.Code != 0 {
					t.Errorf("%s: scan: exit %d, want 0 (clean): %s", p, scan.Code, scan.Stderr)
				}
			}
		})
	}
	t.Cleanup(func() {
		t.Logf("slowest command: %v of CPU (%s); largest peak RSS %.1f MB", slowest, worst, float64(biggest)/(1<<20))
	})
}

// bombZip returns a zip archive whose record name holds body deflated as
// given (claiming a small size), beside a clean stored data.pkl.
func bombZip(name string, deflated []byte, pklHead []byte) []byte {
	le := binary.LittleEndian
	var b []byte
	type rec struct {
		name   string
		data   []byte
		method uint16
		off    int
		usize  uint32
		crc    uint32
	}
	clean := []byte("\x80\x02}q\x00.")
	recs := []*rec{{name: "archive/data.pkl", data: clean, usize: uint32(len(clean)), crc: crc32.ChecksumIEEE(clean)},
		{name: name, data: deflated, method: 8, usize: 1234, crc: 0}}
	if pklHead != nil {
		recs[1].data = pklHead
	}
	for _, r := range recs {
		r.off = len(b)
		b = le.AppendUint32(b, 0x04034b50)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, r.method)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, r.crc)
		b = le.AppendUint32(b, uint32(len(r.data)))
		b = le.AppendUint32(b, r.usize)
		b = le.AppendUint16(b, uint16(len(r.name)))
		b = le.AppendUint16(b, 0)
		b = append(b, r.name...)
		b = append(b, r.data...)
	}
	cd := len(b)
	for _, r := range recs {
		b = le.AppendUint32(b, 0x02014b50)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 20)
		b = le.AppendUint16(b, 0)
		b = le.AppendUint16(b, r.method)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, r.crc)
		b = le.AppendUint32(b, uint32(len(r.data)))
		b = le.AppendUint32(b, r.usize)
		b = le.AppendUint16(b, uint16(len(r.name)))
		b = append(b, make([]byte, 12)...)
		b = le.AppendUint32(b, uint32(r.off))
		b = append(b, r.name...)
	}
	end := len(b)
	b = le.AppendUint32(b, 0x06054b50)
	b = append(b, make([]byte, 4)...)
	b = le.AppendUint16(b, uint16(len(recs)))
	b = le.AppendUint16(b, uint16(len(recs)))
	b = le.AppendUint32(b, uint32(end-cd))
	b = le.AppendUint32(b, uint32(cd))
	return le.AppendUint16(b, 0)
}

// pickleStart is a deflate stream of "\x80\x02" followed by n MiB of
// zeros: a record that starts like a pickle.
func pickleStart(n int) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte("\x80\x02"))
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
	return append(out, 0x03, 0x00)
}

// payloadPickle wraps a torch.save file as the bytes literal of a
// torch.storage._load_from_bytes call.
func payloadPickle(payload []byte) []byte {
	b := []byte("\x80\x04\x8c\rtorch.storage\x8c\x10_load_from_bytes\x93\x8e")
	b = binary.LittleEndian.AppendUint64(b, uint64(len(payload)))
	b = append(b, payload...)
	return append(b, "\x85R."...)
}

// TestZipBombs checks that archives inflating to several GiB are refused
// within 10 s of CPU and 256 MB: a .pkl record and a data record that
// inflate to 4 GiB, one nested in _load_from_bytes payloads (two levels),
// (the run's budget over many records is tested in package scan, with a
// small budget).
func TestZipBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := t.TempDir()
	big := pickleStart(4096)
	inner := bombZip("archive/x.pkl", pickleStart(2048), nil)
	cases := []struct {
		name string
		data []byte
	}{
		{"pkl_record_4g.pt", bombZip("archive/extra.pkl", big, nil)},
		{"data_record_4g.pt", bombZip("archive/data/0", big, nil)},
		{"nested_payload_2g.pkl", payloadPickle(inner)},
		{"nested_twice_2g.pkl", payloadPickle(payloadPickle(inner))},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep := runCorpusChild(t, p)
			for _, r := range rep.Results[:min(3, len(rep.Results))] {
				t.Logf("%s: exit %d, %v CPU, %v wall, %s", strings.Join(r.Args, " "), r.Code, time.Duration(r.CPU), time.Duration(r.Wall), firstLine(r.Stderr))
				if time.Duration(r.CPU) > bombMaxCPU*time.Duration(raceScale()) {
					t.Errorf("%s: %v of CPU, want < %v", r.Args[0], time.Duration(r.CPU), bombMaxCPU)
				}
			}
			if rep.Results[0].Code != 1 || !strings.Contains(rep.Results[0].Stderr, "inflate") {
				t.Errorf("scan: exit %d, want 1 naming the inflation: %s", rep.Results[0].Code, rep.Results[0].Stderr)
			}
			for _, r := range rep.Results[1:min(3, len(rep.Results))] {
				if r.Code != 2 {
					t.Errorf("%s: exit %d, want 2", r.Args[0], r.Code)
				}
			}
			t.Logf("peak RSS %.1f MB (%d bytes on disk)", float64(rep.HWM)/(1<<20), len(c.data))
			if rep.HWM > bombMaxRSS*raceScale() {
				t.Errorf("peak RSS %.1f MB, want < %d MB", float64(rep.HWM)/(1<<20), bombMaxRSS>>20)
			}
		})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
