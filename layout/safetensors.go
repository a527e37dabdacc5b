package layout

import (
	"encoding/json"
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
	c := &ckpt.Checkpoint{Path: path, Layout: Safetensors, Tag: filepath.Base(path), WeightsOnly: true}
	c.OnClose(set.Close)
	if len(set.Files) == 1 {
		c.Tag = filepath.Base(set.Files[0].Path)
	} else if len(set.Files) > 1 {
		c.Tag = "model.safetensors.index.json"
	}
	for _, f := range set.Files {
		c.Files = append(c.Files, &ckpt.File{Path: f.Path, Size: f.Size(), Source: f.ReaderAt()})
	}
	readModelFolder(c, path)
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

// readModelFolder reads the Trainer files (trainer_state.json's step) and
// config.json of the folder holding a weights-only model (path, or the
// folder of the file path).
func readModelFolder(c *ckpt.Checkpoint, path string) {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	if _, err := os.Stat(filepath.Join(dir, "trainer_state.json")); err == nil {
		r := dsmeta.Reader{C: c}
		r.ReadTrainer(dir)
		c.Step = c.TrainerStep
		return
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if err := json.Unmarshal(b, &c.Config); err != nil {
			c.Report(ckpt.CheckTrainer, ckpt.Warning, "", filepath.Join(dir, "config.json"), "%s: %v", filepath.Join(dir, "config.json"), err)
		}
	}
}

// safetensorsTensor makes a one-piece logical tensor of a safetensors
// tensor.
func safetensorsTensor(t *safetensors.Tensor, state ckpt.State) *ckpt.Tensor {
	return &ckpt.Tensor{State: state, File: t.File.Path, DType: t.DType, Shape: append([]int64{}, t.Shape...),
		Pieces: []ckpt.Piece{{View: t.View, Source: t.File.ReaderAt(), Offset: t.Offset, File: t.File.Path}}}
}
