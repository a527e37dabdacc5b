// Package ckpt is the layout-neutral model of a training checkpoint and the
// one-pass scan that measures it.
//
// A [Checkpoint] holds parameters; each [Param] has up to four logical
// tensors — the fp32 master weight, the AdamW moments exp_avg and
// exp_avg_sq, and the training-dtype module weight (bf16) — plus its step
// and its optimizer group. A logical [Tensor] is made of [Piece]s: views
// over read-only memory maps whose concatenation, in order, is the
// parameter flattened. A DeepSpeed universal checkpoint gives one piece per
// tensor; ZeRO shards give one piece per rank the parameter spans. Layout
// packages (universal, ...) build a Checkpoint; [Scan] measures one.
package ckpt

import (
	"fmt"
	"io"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// Checkpoint is an opened checkpoint.
type Checkpoint struct {
	Path   string // what was opened
	Layout string // "universal", ...
	Tag    string // e.g. "global_step120_universal"
	// Step is the model states' global_steps, if known.
	Step *int64
	// TrainerStep is trainer_state.json's global_step, if present.
	TrainerStep *int64
	// TrainerDir is the Hugging Face Trainer folder (checkpoint-N/) the
	// checkpoint is in, or "".
	TrainerDir string
	DSVersion  string
	// ZeroStage, DPWorldSize and MPWorldSize are the ZeRO stage and the
	// data- and model-parallel sizes of the run that saved the checkpoint
	// (the model states' ds_config, dp_world_size and mp_world_size), if
	// known.
	ZeroStage, DPWorldSize, MPWorldSize *int64
	// WeightsOnly is true for a checkpoint that holds model weights and no
	// optimizer state (a safetensors model, a PyTorch state_dict).
	WeightsOnly bool
	ParamGroups []ParamGroup
	Params      []*Param
	// Config is the model's config.json, if present.
	Config map[string]any
	// Notes say what was missing or odd but did not stop reading.
	Notes []string
	// Issues are the structural problems found while opening, for checks
	// (a subset of Notes, with their check ids).
	Issues []Issue
	// ModelShapes gives each parameter's shape as the model states'
	// param_shapes record it, when they were read.
	ModelShapes map[string][]int64
	// Files are every file opened, for integrity checks.
	Files []*File

	closers []func() error
}

// ParamGroup is one optimizer parameter group. Missing values are nil.
type ParamGroup struct {
	Index       int
	LR          *float64
	Betas       *[2]float64
	Eps         *float64
	WeightDecay *float64
	// Params are the names of the group's parameters, in flattening order.
	Params []string
}

// Param is one trainable parameter.
type Param struct {
	Name  string
	Shape []int64 // from the model states' param_shapes, else from the fp32 weight
	Group int     // index into Checkpoint.ParamGroups, or -1 when unknown
	// Step is the parameter's optimizer step, if known, and StepFile the
	// file it was read from (step.pt, a ZeRO rank's optimizer shard, or
	// zero/optimizer_state.pt).
	Step     *int64
	StepFile string
	// The logical tensors; nil when absent.
	FP32, ExpAvg, ExpAvgSq, BF16 *Tensor
	// Other lists further optimizer states found for the parameter.
	Other []*Tensor
	// Keys holds the optional keys saved beside the tensors (cat_dim,
	// vocab_tensor, ...), by state file ("fp32") and key.
	Keys map[string]map[string]any
}

// Numel returns the number of elements of the parameter's shape.
func (p *Param) Numel() int64 {
	n := int64(1)
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Tensor is a logical tensor: pieces whose concatenation is the tensor
// flattened in row-major order.
type Tensor struct {
	State  State
	File   string // the file it was read from (the first piece's, for several)
	DType  tensor.DType
	Shape  []int64
	Pieces []Piece
}

// Piece is one part of a logical tensor.
type Piece struct {
	View *tensor.View
	// Source reads the file View.Data was read from, and Offset is the
	// position of View.Data[0] in that file; Source is nil for data held
	// in memory only (an inflated record, say). Passes read the bytes
	// through Source (pread into small buffers) rather than through
	// View.Data where they can.
	Source io.ReaderAt
	Offset int64
	File   string
}

// Numel returns the element count of the shape.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// NBytes returns the bytes of the tensor's elements.
func (t *Tensor) NBytes() int64 { return t.Numel() * int64(t.DType.Size()) }

// OnClose registers a function Close calls.
func (c *Checkpoint) OnClose(fn func() error) { c.closers = append(c.closers, fn) }

// Close releases every file of the checkpoint.
func (c *Checkpoint) Close() error {
	var first error
	for i := len(c.closers) - 1; i >= 0; i-- {
		if err := c.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	c.closers = nil
	return first
}

// Absorb moves from's files (and the duty to close them), issues and notes
// to c, after c's own: a reader that opens parts of a checkpoint in
// parallel, each into a Checkpoint of its own, absorbs them in order.
func (c *Checkpoint) Absorb(from *Checkpoint) {
	c.Files = append(c.Files, from.Files...)
	c.closers = append(c.closers, from.closers...)
	c.Issues = append(c.Issues, from.Issues...)
	c.Notes = append(c.Notes, from.Notes...)
	from.Files, from.closers, from.Issues, from.Notes = nil, nil, nil, nil
}

// Notef records a note.
func (c *Checkpoint) Notef(format string, args ...any) {
	c.Notes = append(c.Notes, fmt.Sprintf(format, args...))
}

// Severity ranks an [Issue].
type Severity int

// Severities, from the least to the most serious.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	}
	return "error"
}

// Issue is a problem of a checkpoint's structure found while opening it:
// which check found it, how serious it is, and where.
type Issue struct {
	Check    CheckID
	Severity Severity
	Param    string // the parameter concerned, or ""
	File     string // the file concerned, or ""
	Message  string
}

// Report records an issue, and as a note when it is not an error.
func (c *Checkpoint) Report(check CheckID, sev Severity, param, file, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.Issues = append(c.Issues, Issue{Check: check, Severity: sev, Param: param, File: file, Message: msg})
	c.Notes = append(c.Notes, msg)
}
