// Package report defines the JSON documents the commands print. Field names
// and meanings are a stable interface documented in the README: add fields,
// never rename or remove them.
package report

import (
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// Stats is the statistics object of one tensor (the README's STATS). All
// float figures are over the finite elements only and are null when there
// is none; nan, inf and zeros count elements.
type Stats struct {
	DType  string        `json:"dtype"`
	Shape  []int64       `json:"shape"`
	Numel  int64         `json:"numel"`
	L2     *output.Float `json:"l2"`
	RMS    *output.Float `json:"rms"`
	Mean   *output.Float `json:"mean"`
	Std    *output.Float `json:"std"`
	Min    *output.Float `json:"min"`
	Max    *output.Float `json:"max"`
	AbsMax *output.Float `json:"absmax"`
	NaN    int64         `json:"nan"`
	Inf    int64         `json:"inf"`
	Zeros  int64         `json:"zeros"`
}

// FromStats converts tensor statistics to their JSON form.
func FromStats(s tensor.Stats) Stats {
	ok := s.Valid()
	shape := s.Shape
	if shape == nil {
		shape = []int64{}
	}
	return Stats{
		DType: s.DType.String(), Shape: shape, Numel: s.Numel,
		L2: output.Opt(s.L2, ok), RMS: output.Opt(s.RMS, ok), Mean: output.Opt(s.Mean, ok),
		Std: output.Opt(s.Std, ok), Min: output.Opt(s.Min, ok), Max: output.Opt(s.Max, ok),
		AbsMax: output.Opt(s.AbsMax, ok), NaN: s.NaN, Inf: s.Inf, Zeros: s.Zeros,
	}
}

// NamedStats is one row of `stats FILE`: a tensor's dotted key path and
// its statistics.
type NamedStats struct {
	Name string `json:"name"`
	Stats
}

// FileStats is the document `ckptinspect stats FILE --format json` prints.
type FileStats struct {
	File    string       `json:"file"`
	Format  string       `json:"format"`
	Tensors []NamedStats `json:"tensors"`
}

// TensorInfo is one entry of the flat tensor list of `ls --format json`.
type TensorInfo struct {
	Name          string  `json:"name"`
	DType         string  `json:"dtype"`
	Shape         []int64 `json:"shape"`
	Strides       []int64 `json:"strides"`
	StorageOffset int64   `json:"storage_offset"`
	NBytes        int64   `json:"nbytes"`
	Storage       string  `json:"storage"`
	StorageNumel  int64   `json:"storage_numel"`
}

// Node is one value of the object tree of `ls --format json`. Kind is one
// of dict, ordered_dict, list, tuple, set, frozenset, str, int, float,
// bool, none, bytes, tensor, size, global, object, storage, cycle.
type Node struct {
	Kind  string `json:"kind"`
	Value any    `json:"value,omitempty"` // scalars: the value; bytes: length; size: dims
	// Containers.
	Items   []Node  `json:"items,omitempty"`
	Entries []Entry `json:"entries,omitempty"`
	// Tensors.
	DType         string  `json:"dtype,omitempty"`
	Shape         []int64 `json:"shape,omitempty"`
	Strides       []int64 `json:"strides,omitempty"`
	StorageOffset *int64  `json:"storage_offset,omitempty"`
	NBytes        *int64  `json:"nbytes,omitempty"`
	Parameter     bool    `json:"parameter,omitempty"`
	// Globals and objects.
	Class  string  `json:"class,omitempty"`
	Member string  `json:"member,omitempty"`
	Args   []Node  `json:"args,omitempty"`
	Fields []Entry `json:"fields,omitempty"`
	// Truncated counts items left out by --max-items.
	Truncated int `json:"truncated,omitempty"`
}

// Entry is a key and value of a dict, or a field of an object.
type Entry struct {
	Key   string `json:"key"`
	Value Node   `json:"value"`
}

// Listing is the document `ckptinspect ls FILE --format json` prints.
type Listing struct {
	File     string       `json:"file"`
	Format   string       `json:"format"`
	Version  string       `json:"version,omitempty"`
	Size     int64        `json:"size"`
	Warnings []string     `json:"warnings"`
	Tree     Node         `json:"tree"`
	Tensors  []TensorInfo `json:"tensors"`
}

// CheckpointStats is the document `ckptinspect stats CHECKPOINT --format
// json` prints.
type CheckpointStats struct {
	Checkpoint CheckpointInfo `json:"checkpoint"`
	Params     []ParamStats   `json:"params"`
	// Groups holds the aggregates of --group-by layer (omitted otherwise).
	Groups  []GroupStats `json:"groups,omitempty"`
	Summary Summary      `json:"summary"`
	// Effective says where the multipliers of --effective came from
	// (omitted without --effective).
	Effective *EffectiveInfo `json:"effective,omitempty"`
}

// CheckpointInfo describes an opened checkpoint.
type CheckpointInfo struct {
	Path        string           `json:"path"`
	Layout      string           `json:"layout"`
	Tag         string           `json:"tag"`
	Step        *int64           `json:"step"`
	TrainerStep *int64           `json:"trainer_step"`
	DSVersion   string           `json:"ds_version"`
	ParamGroups []ParamGroupInfo `json:"param_groups"`
	Notes       []string         `json:"notes"`
	// ZeroStage, DPWorldSize and MPWorldSize describe the run that saved
	// the checkpoint (null when unknown).
	ZeroStage   *int64 `json:"zero_stage"`
	DPWorldSize *int64 `json:"dp_world_size"`
	MPWorldSize *int64 `json:"mp_world_size"`
	// WeightsOnly is true for a checkpoint without optimizer state.
	WeightsOnly bool `json:"weights_only"`
	// TrainingArgs sums up the Trainer folder's training_args.bin (the
	// arguments that matter for a resume), or "" when it has none.
	TrainingArgs string `json:"training_args"`
}

// ParamGroupInfo is one optimizer parameter group; missing values are null.
type ParamGroupInfo struct {
	LR          *output.Float  `json:"lr"`
	Betas       []output.Float `json:"betas"`
	Eps         *output.Float  `json:"eps"`
	WeightDecay *output.Float  `json:"weight_decay"`
	Params      []string       `json:"params"`
}

// ParamStats is one parameter of a checkpoint. A state that is absent is
// null; adam is null when the update cannot be computed.
type ParamStats struct {
	Name       string                    `json:"name"`
	Shape      []int64                   `json:"shape"`
	Numel      int64                     `json:"numel"`
	Step       *int64                    `json:"step"`
	Group      *int                      `json:"group"`
	Scale      bool                      `json:"scale"`
	ScaleValue *output.Float             `json:"scale_value"`
	FP32       *Stats                    `json:"fp32"`
	ExpAvg     *Stats                    `json:"exp_avg"`
	ExpAvgSq   *Stats                    `json:"exp_avg_sq"`
	BF16       *Stats                    `json:"bf16"`
	Adam       *AdamStats                `json:"adam"`
	Keys       map[string]map[string]any `json:"keys,omitempty"`
	// The effective_* fields of --effective (omitted without it).
	*ParamEffective
}

// AdamStats are the AdamW update figures of a parameter.
type AdamStats struct {
	UpdateRMS      *output.Float `json:"update_rms"`
	UpdateToWeight *output.Float `json:"update_to_weight"`
	LR             output.Float  `json:"lr"`
	Step           int64         `json:"step"`
}

// GroupStats aggregates the parameters of one transformer layer (or of the
// embedding, the final norm, the head, or the rest).
type GroupStats struct {
	Name   string `json:"name"`
	Params int    `json:"params"`
	Numel  int64  `json:"numel"`
	// Norms are square roots of summed squared L2 norms; RMS figures are
	// over all the group's finite elements.
	WeightNorm     *output.Float `json:"weight_norm"`
	WeightRMS      *output.Float `json:"weight_rms"`
	ExpAvgRMS      *output.Float `json:"exp_avg_rms"`
	ExpAvgSqMean   *output.Float `json:"exp_avg_sq_mean"`
	BF16RMS        *output.Float `json:"bf16_rms"`
	UpdateRMS      *output.Float `json:"update_rms"`
	UpdateToWeight *output.Float `json:"update_to_weight"`
	NaN            int64         `json:"nan"`
	Inf            int64         `json:"inf"`
	// WeightStd is the standard deviation of all the group's finite fp32
	// elements; the maxima are over its parameters.
	WeightStd    *output.Float `json:"weight_std"`
	WeightAbsMax *output.Float `json:"weight_absmax"`
	ExpAvgAbsMax *output.Float `json:"exp_avg_absmax"`
	ExpAvgSqMax  *output.Float `json:"exp_avg_sq_max"`
	// The effective_* fields of --effective (omitted without it).
	*GroupEffective
}

// Summary aggregates a checkpoint scan.
type Summary struct {
	Step         *int64       `json:"step"`
	Params       int          `json:"params"`
	Numel        int64        `json:"numel"`
	BytesScanned int64        `json:"bytes_scanned"`
	WeightNorm   output.Float `json:"weight_norm"`
	ExpAvgNorm   output.Float `json:"exp_avg_norm"`
	ExpAvgSqNorm output.Float `json:"exp_avg_sq_norm"`
	BF16Norm     output.Float `json:"bf16_norm"`
	NaN          int64        `json:"nan"`
	Inf          int64        `json:"inf"`
	// States counts the parameters that have each state (fp32, exp_avg,
	// exp_avg_sq, bf16): a norm is over those only, and 0 when none has it.
	States map[string]int `json:"states"`
	// NonFinite names the parameters with a NaN or Inf in any state.
	NonFinite []string `json:"nonfinite_params"`
	// effective_norm with --effective (omitted without it).
	*SummaryEffective
}
