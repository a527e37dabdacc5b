package scan

import (
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/pickle"
)

// Report is the document `ckptinspect scan --format json` prints. Files
// are sorted by path.
type Report struct {
	Files []File `json:"files"`
	// Skipped lists what a folder walk did not scan: symbolic links to
	// folders (never followed, so that link loops end) and files no loader
	// reads as a checkpoint.
	Skipped []Skipped `json:"skipped"`
	Summary Summary   `json:"summary"`
}

// File is the scan of one file.
type File struct {
	Path string `json:"path"`
	// Format names the containers read: "zip" (torch.save zip format: its
	// records that hold pickles are scanned), "legacy" (the legacy
	// torch.save format: its five pickles), "pickle" (pickles back to
	// back up to the end of the file), "tar" (torch.save of PyTorch <
	// 0.4), "safetensors"; several joined with "+" when loaders disagree
	// ("safetensors+pickle", "tar+pickle", "pickle+zip"); "" when no
	// loader reads the file.
	Format string `json:"format"`
	// Verdict is "dangerous" (a dangerous global, a call of a computed
	// value, or a pickle too big to check to its end), "unknown" (a
	// global not known as data), "unreadable" (the file could not be
	// scanned to its end, and nothing dangerous was seen before), or
	// "clean". With a lenient policy, unknown ranks below unreadable.
	Verdict string `json:"verdict"`
	// Pickles counts the pickles scanned, nested ones included.
	Pickles int `json:"pickles"`
	// Globals lists each distinct global once, dangerous first.
	Globals []Global `json:"globals"`
	// Error says why the file could not be scanned to its end.
	Error string `json:"error,omitempty"`
}

// Global is one global imported by the pickles of a file.
type Global struct {
	Module  string `json:"module"`
	Name    string `json:"name"`
	Verdict string `json:"verdict"` // safe, unknown or dangerous
	// Count is the number of imports (GLOBAL, STACK_GLOBAL, INST and EXT
	// opcodes) of it.
	Count int `json:"count"`
	// Reason says why the global is not safe, or how a context-judged
	// global (getattr, _load_from_bytes) was used.
	Reason string `json:"reason,omitempty"`
	// Where lists the first imports (at most 16 of Count).
	Where []Where `json:"where"`

	raw [][2]string // what find_class receives (up to 16 spellings); none for computed names
}

// Where locates one import of a global.
type Where struct {
	// Pickle names the pickle: a zip record ("archive/data.pkl"), a
	// legacy-format pickle ("magic", "protocol", "sys_info", "object",
	// "storage_keys"), a tar member ("tar pickle"), or "pickle N" for the
	// N-th pickle of a plain pickle file; " #N" is added for the N-th
	// pickle of a zip record holding more than one, " (inflated)" for a
	// compressed record, and "<outer> > <inner>" names a pickle nested in
	// a torch.storage._load_from_bytes payload.
	Pickle string `json:"pickle"`
	// Offset is the opcode's byte offset in the file — in the inflated
	// record for compressed zip records, in the payload for nested
	// pickles.
	Offset int64 `json:"offset"`
	// Use is what the pickle does with the global: value, call, new or
	// getattr.
	Use string `json:"use"`
}

// Skipped is a path a folder walk did not scan, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Summary aggregates a scan.
type Summary struct {
	// LookedAt counts the files a walk looked at (every regular file
	// below the folders given, and each file given); Files those scanned.
	LookedAt int `json:"looked_at"`
	Files    int `json:"files"`
	Pickles  int `json:"pickles"`
	// Files by verdict.
	Clean      int `json:"clean"`
	Unknown    int `json:"unknown"`
	Dangerous  int `json:"dangerous"`
	Unreadable int `json:"unreadable"`
	// Globals counts distinct globals per file, summed over files, by
	// verdict.
	Globals GlobalCounts `json:"globals"`
	// Verdict is the worst file verdict: clean, unknown, unreadable or
	// dangerous.
	Verdict string `json:"verdict"`
	// Lenient is true when unknown globals do not fail the scan.
	Lenient bool `json:"lenient"`
	// ExitCode is the process's exit code: 1 for a dangerous or (unless
	// lenient) unknown file, else 2 for an unreadable one, else 0.
	ExitCode int `json:"exit_code"`
}

// GlobalCounts counts globals by verdict.
type GlobalCounts struct {
	Safe      int `json:"safe"`
	Unknown   int `json:"unknown"`
	Dangerous int `json:"dangerous"`
}

// Summarize aggregates file reports and decides the exit code.
func Summarize(files []File, lenient bool, lookedAt int) Summary {
	s := Summary{LookedAt: lookedAt, Files: len(files), Lenient: lenient, Verdict: "clean"}
	for _, f := range files {
		s.Pickles += f.Pickles
		switch f.Verdict {
		case "clean":
			s.Clean++
		case "unknown":
			s.Unknown++
		case "dangerous":
			s.Dangerous++
		case "unreadable":
			s.Unreadable++
		}
		if rank(f.Verdict, lenient) > rank(s.Verdict, lenient) {
			s.Verdict = f.Verdict
		}
		for _, g := range f.Globals {
			switch g.Verdict {
			case "safe":
				s.Globals.Safe++
			case "unknown":
				s.Globals.Unknown++
			case "dangerous":
				s.Globals.Dangerous++
			}
		}
	}
	switch {
	case s.Dangerous > 0 || s.Unknown > 0 && !lenient:
		s.ExitCode = 1
	case s.Unreadable > 0:
		s.ExitCode = 2
	}
	return s
}

// rank orders file verdicts from best to worst.
func rank(v string, lenient bool) int {
	switch v {
	case "unknown":
		if lenient {
			return 1
		}
		return 3
	case "unreadable":
		return 2
	case "dangerous":
		return 4
	}
	return 0
}

// Refusal returns nil when policy p lets a scanned file pass, or an error
// wrapping pickle.ErrUnsafe that names the first global p refuses (or the
// limit the scan hit), located in the file: what a reader that must refuse
// exactly what `ckptinspect scan` flags (ls, stats) reports.
func Refusal(f File, p pickle.Policy) error {
	if f.Verdict != "dangerous" && (f.Verdict != "unknown" || p.Lenient) {
		return nil
	}
	for _, g := range f.Globals {
		if (g.Verdict == "dangerous" || g.Verdict == "unknown" && !p.Lenient) && len(g.Where) > 0 {
			w := g.Where[0]
			return &Error{Path: f.Path, What: w.Pickle, Offset: w.Offset,
				Err: fmt.Errorf("%w: refusing %s.%s: %s (ckptinspect scan lists every finding)", pickle.ErrUnsafe, g.Module, g.Name, g.Reason)}
		}
	}
	return &Error{Path: f.Path, Offset: -1, Err: fmt.Errorf("%w: %s", pickle.ErrUnsafe, strings.TrimPrefix(f.Error, f.Path+": "))}
}
