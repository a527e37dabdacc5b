package layout

import (
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/dsmeta"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// hasSafetensors reports whether a folder holds a safetensors model.
func hasSafetensors(dir string) bool {
	for _, f := range []string{"model.safetensors.index.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// openSafetensors opens a weights-only checkpoint: every tensor is a
// parameter whose weight is its fp32 state when it is stored in 32 or 64
// bits, its bf16 (module) state when stored in 16 bits.
func openSafetensors(path string) (*ckpt.Checkpoint, error) {
	set, err := safetensors.OpenSet(path)
	if err != nil {
		return nil, err
	}
	c := &ckpt.Checkpoint{Path: path, Layout: Safetensors, Tag: filepath.Base(path)}
	c.OnClose(set.Close)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "trainer_state.json")); err == nil {
			r := dsmeta.Reader{C: c}
			r.ReadTrainer(path)
			c.Step = c.TrainerStep
		}
	}
	for _, t := range set.Tensors {
		p := &ckpt.Param{Name: t.Name, Shape: append([]int64{}, t.Shape...), Group: -1}
		switch t.DType {
		case tensor.BFloat16, tensor.Float16:
			p.BF16 = safetensorsTensor(t, ckpt.BF16)
		default:
			p.FP32 = safetensorsTensor(t, ckpt.FP32)
		}
		c.Params = append(c.Params, p)
	}
	return c, nil
}

// safetensorsTensor makes a one-piece logical tensor of a safetensors
// tensor.
func safetensorsTensor(t *safetensors.Tensor, state ckpt.State) *ckpt.Tensor {
	return &ckpt.Tensor{State: state, File: t.File.Path, DType: t.DType, Shape: append([]int64{}, t.Shape...),
		Pieces: []ckpt.Piece{{View: t.View, Source: t.File.ReaderAt(), Offset: t.Offset, File: t.File.Path}}}
}
