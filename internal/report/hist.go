package report

import "github.com/ckptinspect/ckptinspect/internal/output"

// Histogram is the document `ckptinspect hist NAME CHECKPOINT --format
// json` prints.
type Histogram struct {
	Checkpoint CheckpointRef `json:"checkpoint"`
	Param      string        `json:"param"`
	State      string        `json:"state"`
	// Scale is "linear" (equal-width bins over [lo, hi]) or "log" (bins of
	// |x| by powers of ten, split by sign).
	Scale string `json:"scale"`
	// Lo and Hi are the linear range; null for log bins.
	Lo *output.Float `json:"lo"`
	Hi *output.Float `json:"hi"`
	// PerDecade is the number of log bins per power of ten (0 for linear).
	PerDecade int       `json:"per_decade"`
	Bins      []HistBin `json:"bins"`
	// Below and Above count the finite values outside [lo, hi] (linear).
	Below int64 `json:"below"`
	Above int64 `json:"above"`
	// Passes is the number of reads of the tensor: 2 when the range was
	// measured first, else 1.
	Passes int   `json:"passes"`
	Stats  Stats `json:"stats"`
}

// HistBin is one bin: values in [lo, hi) (the last linear bin includes
// hi). For log bins lo and hi bound |x|, and neg and pos split count by
// sign.
type HistBin struct {
	Lo    output.Float `json:"lo"`
	Hi    output.Float `json:"hi"`
	Count int64        `json:"count"`
	Neg   *int64       `json:"neg,omitempty"`
	Pos   *int64       `json:"pos,omitempty"`
}
