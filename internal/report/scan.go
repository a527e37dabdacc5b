package report

// ScanReport is the document `ckptinspect scan --format json` prints.
// Files are sorted by path.
type ScanReport struct {
	Files []ScanFile `json:"files"`
	// Skipped lists what a folder walk did not enter: symbolic links to
	// folders (never followed, so that link loops end).
	Skipped []ScanSkipped `json:"skipped"`
	Summary ScanSummary   `json:"summary"`
}

// ScanFile is the scan of one file.
type ScanFile struct {
	Path string `json:"path"`
	// Format is the container: "zip" (torch.save zip format: its .pkl
	// records are scanned), "legacy" (the legacy torch.save format: its
	// five pickles), "pickle" (pickles back to back up to the end of the
	// file), or "" when not even that could be told.
	Format string `json:"format"`
	// Verdict is the worst verdict of the file's globals ("clean" when
	// all are safe or there are none, "unknown", "dangerous"), or
	// "unreadable" when the file could not be scanned to its end and no
	// dangerous global was seen before the error.
	Verdict string `json:"verdict"`
	// Pickles counts the pickles scanned, nested ones included.
	Pickles int `json:"pickles"`
	// Globals lists each distinct global once, dangerous ones first.
	Globals []ScanGlobal `json:"globals"`
	// Error says why the file could not be scanned to its end.
	Error string `json:"error,omitempty"`
}

// ScanGlobal is one global referenced by the pickles of a file.
type ScanGlobal struct {
	Module  string `json:"module"`
	Name    string `json:"name"`
	Verdict string `json:"verdict"` // safe, unknown or dangerous
	// Count is the number of references (GLOBAL, STACK_GLOBAL and INST
	// opcodes) to it.
	Count int `json:"count"`
	// Reason says why the global is not safe, or how a context-judged
	// global (getattr, _load_from_bytes) was used.
	Reason string `json:"reason,omitempty"`
	// Where lists the first references (at most 16 of Count).
	Where []ScanWhere `json:"where"`
}

// ScanWhere locates one reference to a global.
type ScanWhere struct {
	// Pickle names the pickle: a zip record ("archive/data.pkl"), a
	// legacy-format pickle ("magic", "protocol", "sys_info", "object",
	// "storage_keys"), or "pickle N" for the N-th pickle of a plain
	// pickle file; " #N" is added for the N-th pickle of a zip record
	// holding more than one, and "<outer> > <inner>" names a pickle
	// nested in a torch.storage._load_from_bytes payload.
	Pickle string `json:"pickle"`
	// Offset is the opcode's byte offset in the file — in the inflated
	// record for compressed zip records, in the payload for nested
	// pickles.
	Offset int64 `json:"offset"`
	// Use is what the pickle does with the global: value, call, new or
	// getattr.
	Use string `json:"use"`
}

// ScanSkipped is a path a folder walk did not enter, and why.
type ScanSkipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// ScanSummary aggregates a scan.
type ScanSummary struct {
	Files   int `json:"files"`
	Pickles int `json:"pickles"`
	// Files by verdict.
	Clean      int `json:"clean"`
	Unknown    int `json:"unknown"`
	Dangerous  int `json:"dangerous"`
	Unreadable int `json:"unreadable"`
	// Globals counts distinct globals per file, summed over files, by
	// verdict.
	Globals ScanGlobalCounts `json:"globals"`
	// Verdict is the worst file verdict: clean, unknown, unreadable or
	// dangerous.
	Verdict string `json:"verdict"`
	// Strict is true when unknown globals fail the scan (--strict).
	Strict bool `json:"strict"`
	// ExitCode is the process's exit code.
	ExitCode int `json:"exit_code"`
}

// ScanGlobalCounts counts globals by verdict.
type ScanGlobalCounts struct {
	Safe      int `json:"safe"`
	Unknown   int `json:"unknown"`
	Dangerous int `json:"dangerous"`
}
