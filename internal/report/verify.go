package report

// Verification is the document `ckptinspect verify --format json` prints.
type Verification struct {
	Findings []FindingInfo `json:"findings"`
	Summary  VerifySummary `json:"summary"`
}

// FindingInfo is one problem found by verify.
type FindingInfo struct {
	Check    string `json:"check"`
	Severity string `json:"severity"` // "error" or "warning"
	Param    string `json:"param"`
	File     string `json:"file"`
	Message  string `json:"message"`
}

// VerifySummary sums up a verification.
type VerifySummary struct {
	Path         string `json:"path"`
	Layout       string `json:"layout"`
	Tag          string `json:"tag"`
	Step         *int64 `json:"step"`
	Params       int    `json:"params"`
	Files        int    `json:"files"`
	BytesScanned int64  `json:"bytes_scanned"`
	Deep         bool   `json:"deep"`
	BytesDeep    int64  `json:"bytes_deep"`
	Errors       int    `json:"errors"`
	Warnings     int    `json:"warnings"`
	// OK is true when there is no error (warnings allowed).
	OK bool `json:"ok"`
}
