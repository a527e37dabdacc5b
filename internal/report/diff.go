package report

import "github.com/ckptinspect/ckptinspect/internal/output"

// Diff is the document `ckptinspect diff A B --format json` prints.
type Diff struct {
	A      CheckpointRef `json:"a"`
	B      CheckpointRef `json:"b"`
	Params []ParamDiff   `json:"params"`
	// Groups holds the aggregates of --group-by layer (omitted otherwise).
	Groups  []GroupDiff `json:"groups,omitempty"`
	Summary DiffSummary `json:"summary"`
	// Effective says where each side's multipliers of --effective came
	// from (omitted without --effective).
	Effective *DiffEffectiveInfo `json:"effective,omitempty"`
}

// CheckpointRef names a checkpoint a document is about (one of the two
// checkpoints `diff` compares, the one `hist` reads): what was opened, its
// layout, tag, step and number of parameters.
type CheckpointRef struct {
	Path   string `json:"path"`
	Layout string `json:"layout"`
	Tag    string `json:"tag"`
	Step   *int64 `json:"step"`
	Params int    `json:"params"`
}

// ParamDiff compares one parameter present in both checkpoints. A state
// that either side lacks is null.
type ParamDiff struct {
	Name          string     `json:"name"`
	ShapeA        []int64    `json:"shape_a"`
	ShapeB        []int64    `json:"shape_b"`
	Numel         int64      `json:"numel"`
	ShapeMismatch bool       `json:"shape_mismatch"`
	FP32          *StateDiff `json:"fp32"`
	BF16          *StateDiff `json:"bf16"`
	ExpAvg        *StateDiff `json:"exp_avg"`
	ExpAvgSq      *StateDiff `json:"exp_avg_sq"`
	// The effective* fields of --effective (omitted without it).
	*ParamEffectiveDiff
}

// StateDiff compares one state of a parameter (or, in the summary, of all
// parameters) element by element, over the pairs (a, b) at the same flat
// index where both are finite. When the shapes differ, compared is false
// and every figure is null.
type StateDiff struct {
	Compared bool    `json:"compared"`
	ShapeA   []int64 `json:"shape_a,omitempty"`
	ShapeB   []int64 `json:"shape_b,omitempty"`
	// DeltaL2 = ‖B−A‖ = √Σ(b−a)²; null when no pair is finite.
	DeltaL2 *output.Float `json:"delta_l2"`
	// RelChange = ‖B−A‖/‖A‖; null when ‖A‖ = 0.
	RelChange *output.Float `json:"rel_change"`
	// Cosine = Σab/√(Σa²·Σb²), clamped to [−1, 1]; null when either norm
	// is 0.
	Cosine *output.Float `json:"cosine"`
	// NormRatio = ‖B‖/‖A‖; null when ‖A‖ = 0.
	NormRatio *output.Float `json:"norm_ratio"`
	// AL2 and BL2 are ‖A‖ and ‖B‖ over the finite pairs.
	AL2 *output.Float `json:"a_l2"`
	BL2 *output.Float `json:"b_l2"`
	// MaxAbsDelta = max |b−a|.
	MaxAbsDelta *output.Float `json:"max_abs_delta"`
	Numel       int64         `json:"numel"`   // pairs of elements
	Pairs       int64         `json:"pairs"`   // pairs where both are finite
	Skipped     int64         `json:"skipped"` // pairs with a NaN or infinite element
	Changed     int64         `json:"changed"` // finite pairs where b ≠ a
}

// GroupDiff aggregates the comparisons of one transformer layer (or of the
// embedding, the final norm, the head, or the rest): its states' sums are
// added over the layer's parameters.
type GroupDiff struct {
	Name     string     `json:"name"`
	Params   int        `json:"params"`
	FP32     *StateDiff `json:"fp32"`
	BF16     *StateDiff `json:"bf16"`
	ExpAvg   *StateDiff `json:"exp_avg"`
	ExpAvgSq *StateDiff `json:"exp_avg_sq"`
	// effective with --effective (omitted without it).
	*GroupEffectiveDiff
}

// DiffSummary aggregates a comparison.
type DiffSummary struct {
	StepA *int64 `json:"step_a"`
	StepB *int64 `json:"step_b"`
	// StepDelta = step_b − step_a; null when either step is unknown.
	StepDelta *int64 `json:"step_delta"`
	// ParamsCompared counts the parameters present on both sides.
	ParamsCompared int      `json:"params_compared"`
	OnlyInA        []string `json:"only_in_a"`
	OnlyInB        []string `json:"only_in_b"`
	// ShapeMismatch names the parameters whose shapes differ.
	ShapeMismatch []string `json:"shape_mismatch"`
	// DeltaNorm and RelChange are the fp32 master weights' global change:
	// √(Σ over parameters of ‖B−A‖²) and that divided by
	// √(Σ over parameters of ‖A‖²).
	DeltaNorm *output.Float `json:"delta_norm"`
	RelChange *output.Float `json:"rel_change"`
	// Global holds each state's figures over all compared parameters.
	Global       GlobalDiff `json:"global"`
	BytesScanned int64      `json:"bytes_scanned"`
	// Notes say what the reader should know about the comparison (B
	// before A, different models compared with --force).
	Notes []string `json:"notes"`
}

// GlobalDiff holds a state comparison per state; a state compared nowhere
// is null.
type GlobalDiff struct {
	FP32     *StateDiff `json:"fp32"`
	BF16     *StateDiff `json:"bf16"`
	ExpAvg   *StateDiff `json:"exp_avg"`
	ExpAvgSq *StateDiff `json:"exp_avg_sq"`
	// effective with --effective (omitted without it).
	*GroupEffectiveDiff
}
