package shard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/buildinfo"
	"github.com/ckptinspect/ckptinspect/internal/stream"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/verify"
)

// FormatName and FormatVersion identify a part file.
const (
	FormatName    = "ckptinspect-part"
	FormatVersion = 1
)

// maxPartSize bounds the size of a part file read.
const maxPartSize = 1 << 30

// Part is the content of a part file: what one task of a split did (the
// command line, the build, the split, the input files as it saw them) and
// its results, every figure exact. Only the fields of its command are set.
type Part struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Command is the command run ("stats", "verify", "series", "diff");
	// Args its positional arguments and Flags the flags given to it that
	// shape its work or its output ("--name=value", in name order: not
	// --shard, --format, -j, -o, --wide), as typed; Cwd the folder it ran
	// in, which relative paths are relative to.
	Command string   `json:"command"`
	Args    []string `json:"args"`
	Flags   []string `json:"flags"`
	Cwd     string   `json:"cwd"`
	Tool    Tool     `json:"tool"`
	Shard   Spec     `json:"shard"`
	Split   Split    `json:"split"`
	Inputs  Inputs   `json:"inputs"`

	// BytesScanned counts the tensor bytes the part's scan read (stats,
	// diff).
	BytesScanned int64 `json:"bytes_scanned"`
	// Params are the results of the part's parameter units, in unit order
	// (stats, verify, series: none; diff: see Diffs).
	Params []Param `json:"params,omitempty"`
	// Copies hold what verify's value scan and CRC pass read of each copy
	// of the checkpoint, and Files the CRC findings of the part's file
	// units.
	Copies []CopyBytes `json:"copies,omitempty"`
	Files  []FileCRC   `json:"files,omitempty"`
	// Checkpoints are the part's checkpoints of a series, with their rows.
	Checkpoints []SeriesCheckpoint `json:"checkpoints,omitempty"`
	// Diffs are the comparisons of the part's parameters (diff).
	Diffs []ParamDiff `json:"diffs,omitempty"`

	Timing Timing `json:"timing"`

	file string // the file the part was read from
}

// Tool says what computed a part: the build, the kernel path, and the
// chunk size of the scan (results are exact functions of the bytes read
// given these three).
type Tool struct {
	Version    string `json:"version"`
	Kernels    string `json:"kernels"`
	ChunkElems int64  `json:"chunk_elems"`
}

// thisTool describes the running process.
func thisTool() Tool {
	return Tool{Version: buildinfo.Version(), Kernels: tensor.Kernels(), ChunkElems: stream.DefaultReadChunkElems}
}

// Split describes the split a part belongs to: what a unit is, how many
// units and bytes the whole work has, the plan's digest, and the units
// this part did.
type Split struct {
	Unit       string `json:"unit"`
	Units      int    `json:"units"`
	Bytes      int64  `json:"bytes"`
	PartBytes  int64  `json:"part_bytes"`
	PlanSHA256 string `json:"plan_sha256"`
	Owned      []int  `json:"owned"`
}

// Timing says when the task ran; it is never compared.
type Timing struct {
	Started string  `json:"started"`
	Seconds float64 `json:"seconds"`
}

// Finding is verify.Finding.
type Finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Param    string `json:"param"`
	File     string `json:"file"`
	Message  string `json:"message"`
}

func findingsOf(fs []verify.Finding) []Finding {
	out := []Finding{}
	for _, f := range fs {
		out = append(out, Finding{Check: string(f.Check), Severity: f.Severity.String(), Param: f.Param, File: f.File, Message: f.Message})
	}
	return out
}

func findings(fs []Finding) ([]verify.Finding, error) {
	var out []verify.Finding
	for _, f := range fs {
		var sev ckpt.Severity
		switch f.Severity {
		case "error":
			sev = ckpt.Error
		case "warning":
			sev = ckpt.Warning
		case "info":
			sev = ckpt.Info
		default:
			return nil, fmt.Errorf("finding of severity %q", f.Severity)
		}
		out = append(out, verify.Finding{Check: ckpt.CheckID(f.Check), Severity: sev, Param: f.Param, File: f.File, Message: f.Message})
	}
	return out, nil
}

// Task is one task of a split: the command line it runs and its part.
// Its methods (Stats, Verify, Series, Diff) do the part's work and write
// the part file.
type Task struct {
	Command string
	Args    []string // positional arguments
	Flags   []string // "--name=value", see Part.Flags
	Spec    Spec
	// Getwd returns the working directory (os.Getwd when nil).
	Getwd func() (string, error)
}

// NewTask returns the task doing part spec of a command line: spec is a
// --shard value ([ParseSpec], reading the environment through getenv), or
// "" for the whole work in one part.
func NewTask(command string, args, flags []string, spec string, getenv func(string) string) (*Task, error) {
	t := &Task{Command: command, Args: args, Flags: flags, Spec: Spec{Index: 0, Count: 1}}
	if spec != "" {
		var err error
		if t.Spec, err = ParseSpec(spec, getenv); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// begin starts the part of a task: the header, the input files stated,
// and the plan's part.
func (t *Task) begin(plan *Plan, in Inputs, started time.Time) (*Part, error) {
	getwd := t.Getwd
	if getwd == nil {
		getwd = os.Getwd
	}
	wd, err := getwd()
	if err != nil {
		return nil, err
	}
	all, mine := plan.Bytes(t.Spec.Index)
	owned := plan.Owned(t.Spec.Index)
	if owned == nil {
		owned = []int{}
	}
	flags := append([]string{}, t.Flags...)
	sort.Strings(flags)
	return &Part{Format: FormatName, Version: FormatVersion, Command: t.Command, Args: append([]string{}, t.Args...), Flags: flags, Cwd: wd,
		Tool: thisTool(), Shard: t.Spec, Inputs: in,
		Split:  Split{Unit: plan.Kind, Units: len(plan.Units), Bytes: all, PartBytes: mine, PlanSHA256: plan.SHA256(), Owned: owned},
		Timing: Timing{Started: started.UTC().Format(time.RFC3339Nano)}}, nil
}

// finish checks that the input files did not change while the part was
// computed, and writes the part to w.
func (t *Task) finish(w io.Writer, p *Part, roots, extra []string, started time.Time) error {
	now, _, err := StatInputs(roots, extra)
	if err != nil {
		return err
	}
	if path, was, is, ok := difference(p.Inputs, now); ok {
		return fmt.Errorf("%s changed while part %s was computed (%s before, %s after): run the task again", path, t.Spec, was, is)
	}
	p.Timing.Seconds = time.Since(started).Seconds()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// Read reads a part file.
func Read(path string) (*Part, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPartSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxPartSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a part file", path, maxPartSize)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Format != FormatName {
		return nil, fmt.Errorf("%s: not a ckptinspect part file (written by a command run with --shard I/N or --format part)", path)
	}
	if head.Version != FormatVersion {
		return nil, fmt.Errorf("%s: part format version %d; this ckptinspect reads version %d", path, head.Version, FormatVersion)
	}
	p := &Part{}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.file = path
	return p, nil
}

// File returns the file the part was read from.
func (p *Part) File() string { return p.file }

// Set is the parts of one split, checked to belong together: one command
// line, one build, one split, one state of the input files, every part
// once. Its methods (Stats, Verify, Series, Diff) check them against the
// checkpoint as it is now and give the command's results.
type Set struct {
	// Parts are the parts, by index.
	Parts []*Part
}

// ErrParts is wrapped by the errors saying that parts do not make a
// whole: missing, duplicated, of other splits, stale.
var ErrParts = errors.New("cannot merge")

// Load reads the parts in paths (files, or folders: every file *.json not
// starting with "." in them) and checks that they are the parts of one
// split, each once: every difference is an error naming the parts.
func Load(paths []string) (*Set, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		n := len(files)
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
		if len(files) == n {
			return nil, fmt.Errorf("%w: %s holds no part file (*.json)", ErrParts, p)
		}
	}
	var parts []*Part
	for _, f := range files {
		p, err := Read(f)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	set, err := check(parts)
	if err != nil {
		return nil, err
	}
	if wd, err := os.Getwd(); err == nil && wd != set.Cwd() {
		for _, a := range set.Parts[0].Args {
			if !filepath.IsAbs(a) {
				return nil, fmt.Errorf("%w: the parts were written in %s and name %s relative to it: run merge in that folder", ErrParts, set.Cwd(), a)
			}
		}
	}
	return set, nil
}

// check checks that parts make one whole.
func check(parts []*Part) (*Set, error) {
	first := parts[0]
	for _, p := range parts[1:] {
		what := ""
		switch {
		case p.Command != first.Command || !slices.Equal(p.Args, first.Args) || !slices.Equal(p.Flags, first.Flags):
			what = fmt.Sprintf("different command lines (`%s` and `%s`)", first.commandLine(), p.commandLine())
		case p.Cwd != first.Cwd:
			what = fmt.Sprintf("command lines run in different folders (%s and %s)", first.Cwd, p.Cwd)
		case p.Shard.Count != first.Shard.Count:
			what = fmt.Sprintf("different splits: %d parts and %d parts", first.Shard.Count, p.Shard.Count)
		case p.Split.PlanSHA256 != first.Split.PlanSHA256 || p.Split.Unit != first.Split.Unit || p.Split.Units != first.Split.Units:
			what = fmt.Sprintf("different splits (%d %ss, plan %.12s, and %d %ss, plan %.12s)", first.Split.Units, first.Split.Unit,
				first.Split.PlanSHA256, p.Split.Units, p.Split.Unit, p.Split.PlanSHA256)
		case p.Tool.Version != first.Tool.Version:
			what = fmt.Sprintf("different builds (%s and %s)", first.Tool.Version, p.Tool.Version)
		case p.Tool.Kernels != first.Tool.Kernels:
			what = fmt.Sprintf("different kernels (%s and %s: their float64 sums differ in the last bits; set CKPTINSPECT_KERNELS for every task, or keep the array on one kind of node)", first.Tool.Kernels, p.Tool.Kernels)
		case p.Tool.ChunkElems != first.Tool.ChunkElems:
			what = fmt.Sprintf("different chunk sizes (%d and %d elements)", first.Tool.ChunkElems, p.Tool.ChunkElems)
		}
		if what != "" {
			return nil, fmt.Errorf("%w: %s and %s are parts of %s: merge the parts of one run only", ErrParts, first.file, p.file, what)
		}
	}
	n := first.Shard.Count
	set := &Set{Parts: make([]*Part, n)}
	for _, p := range parts {
		i := p.Shard.Index
		if i < 0 || i >= n {
			return nil, fmt.Errorf("%w: %s says it is part %d of %d", ErrParts, p.file, i, n)
		}
		if q := set.Parts[i]; q != nil {
			return nil, fmt.Errorf("%w: %s and %s are both part %s: keep one", ErrParts, q.file, p.file, p.Shard)
		}
		set.Parts[i] = p
	}
	if err := sameInputs(parts); err != nil {
		return nil, err
	}
	var missing []string
	for i, p := range set.Parts {
		if p == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		var have []string
		for _, p := range set.Parts {
			if p != nil {
				have = append(have, fmt.Sprintf("%s (%s)", p.file, p.Shard))
			}
		}
		return nil, fmt.Errorf("%w: part %s of `%s` is missing (given: %s): run its task (--shard %s), then merge again",
			ErrParts, strings.Join(missing, ", "), first.commandLine(), strings.Join(have, ", "), missing[0])
	}
	return set, nil
}

// sameInputs checks that the parts saw the same input files: each part of
// a series the files of the checkpoints it read, which its neighbour may
// have read too (the same, then); every part of another command the same
// files, whose lists are then kept once (the first part's).
func sameInputs(parts []*Part) error {
	first := parts[0]
	if first.Command != "series" {
		for _, p := range parts[1:] {
			if path, was, is, ok := difference(first.Inputs, p.Inputs); ok {
				return fmt.Errorf("%w: %s and %s saw different input files: %s was %s for part %s, %s for part %s (it changed while the tasks ran): run the array again",
					ErrParts, first.file, p.file, path, was, first.Shard, is, p.Shard)
			}
		}
		for _, p := range parts[1:] {
			p.Inputs.Files = nil
		}
		return nil
	}
	type seen struct {
		f File
		p *Part
	}
	files := map[string]seen{}
	for _, p := range parts {
		for _, f := range p.Inputs.Files {
			if q, ok := files[f.Path]; ok && q.f != f {
				return fmt.Errorf("%w: %s and %s saw different input files: %s was %s for part %s, %s for part %s (it changed while the tasks ran): run the array again",
					ErrParts, q.p.file, p.file, f.Path, q.f.describe(true), q.p.Shard, f.describe(true), p.Shard)
			}
			files[f.Path] = seen{f, p}
		}
		for i := range p.Checkpoints {
			p.Checkpoints[i].Rows = nil // read again, one part at a time, by Set.Series
		}
	}
	return nil
}

// commandLine returns the part's command line, as typed (but for the
// flags of the split).
func (p *Part) commandLine() string {
	return strings.Join(append(append([]string{p.Command}, p.Args...), p.Flags...), " ")
}

// Command returns the command of the parts.
func (s *Set) Command() string { return s.Parts[0].Command }

// CommandLine returns the arguments that run the parts' command as the
// tasks ran it (flags, then "--" and the positional arguments), with
// extra flags added after the recorded ones.
func (s *Set) CommandLine(extra ...string) []string {
	p := s.Parts[0]
	args := append(slices.Clone(p.Flags), extra...)
	return append(append(args, "--"), p.Args...)
}

// Cwd returns the folder the tasks ran in.
func (s *Set) Cwd() string { return s.Parts[0].Cwd }

// Tool returns what computed the parts.
func (s *Set) Tool() Tool { return s.Parts[0].Tool }

// names lists the part files, for messages.
func (s *Set) names() string {
	var out []string
	for _, p := range s.Parts {
		out = append(out, p.file)
	}
	if len(out) > 4 {
		return strings.Join(out[:3], ", ") + fmt.Sprintf(" and %d more", len(out)-3)
	}
	return strings.Join(out, ", ")
}

// fresh checks the parts against the input files as they are now, and
// against the plan made now: a file changed since, or a plan that
// differs, makes the parts stale. inputs gives the roots and files of
// part k; shared says that every part has the same (then they are stated
// once).
func (s *Set) fresh(plan *Plan, shared bool, inputs func(k int) (roots, files []string)) error {
	for k, p := range s.Parts {
		if shared && k > 0 {
			break
		}
		roots, files := inputs(k)
		now, _, err := StatInputs(roots, files)
		if err != nil {
			return s.staleHint(fmt.Errorf("%w: checking the input files again: %w", ErrParts, err))
		}
		if path, was, is, ok := difference(p.Inputs, now); ok {
			which := p.file
			if shared {
				which = s.names()
			}
			return s.staleHint(fmt.Errorf("%w: stale parts (%s): %s was %s when they were written, and is %s now: run the array again", ErrParts, which, path, was, is))
		}
	}
	p := s.Parts[0]
	if plan.SHA256() != p.Split.PlanSHA256 {
		return fmt.Errorf("%w: stale parts (%s): the checkpoint's %d %ss now make another plan than theirs (%d %ss): run the array again",
			ErrParts, s.names(), len(plan.Units), plan.Kind, p.Split.Units, p.Split.Unit)
	}
	for i, q := range s.Parts {
		if !slices.Equal(q.Split.Owned, nonNil(plan.Owned(i))) {
			return fmt.Errorf("%w: %s does not hold the units the plan gives part %s", ErrParts, q.file, q.Shard)
		}
	}
	return nil
}

// staleHint adds to err where the tasks ran, when it is not here.
func (s *Set) staleHint(err error) error {
	if wd, e := os.Getwd(); e == nil && wd != s.Cwd() {
		return fmt.Errorf("%w (the tasks ran in %s, relative paths are read from there: run merge in that folder)", err, s.Cwd())
	}
	return err
}

func nonNil(x []int) []int {
	if x == nil {
		return []int{}
	}
	return x
}

// collect gathers the results of every unit from the parts, each from the
// part the plan gives it, every unit once (every unit expect accepts, all
// when nil, present): results returns a part's results, unitOf the unit
// of one.
func collect[T any](s *Set, plan *Plan, results func(*Part) []T, unitOf func(T) int, expect func(u int) bool) ([]*T, error) {
	out := make([]*T, len(plan.Units))
	for _, p := range s.Parts {
		for _, r := range results(p) {
			u := unitOf(r)
			switch {
			case u < 0 || u >= len(out):
				return nil, fmt.Errorf("%w: %s: unit %d of %d", ErrParts, p.file, u, len(out))
			case plan.Part[u] != p.Shard.Index:
				return nil, fmt.Errorf("%w: %s holds unit %d (%s), which the plan gives part %d", ErrParts, p.file, u, plan.Units[u].Name, plan.Part[u])
			case out[u] != nil:
				return nil, fmt.Errorf("%w: %s holds unit %d (%s) twice", ErrParts, p.file, u, plan.Units[u].Name)
			}
			r := r
			out[u] = &r
		}
	}
	for u, r := range out {
		if r == nil && (expect == nil || expect(u)) {
			return nil, fmt.Errorf("%w: %s lacks unit %d (%s)", ErrParts, s.Parts[plan.Part[u]].file, u, plan.Units[u].Name)
		}
	}
	return out, nil
}
