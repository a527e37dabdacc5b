package layout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// The files of a PyTorch weights-only model (save_pretrained without
// safetensors).
const (
	pytorchModel = "pytorch_model.bin"
	pytorchIndex = "pytorch_model.bin.index.json"
)

// detectPyTorch accepts a torch.save file (by its name: .bin, .pt, .pth,
// .ckpt), a pytorch_model.bin.index.json, or a folder holding
// pytorch_model.bin or its index.
func detectPyTorch(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.Mode().IsRegular() && !safetensors.IsFile(path):
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || strings.HasSuffix(path, ".bin.index.json") {
			return nil
		}
	case fi.IsDir():
		for _, f := range []string{pytorchIndex, pytorchModel} {
			if _, err := os.Stat(filepath.Join(path, f)); err == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: no %s or %s", path, pytorchModel, pytorchIndex)
	}
	return fmt.Errorf("%s: not a torch.save file of weights (.bin, .pt, .pth)", path)
}

// openPyTorch opens a weights-only PyTorch model: every tensor of the
// torch.save file (or of the files of a sharded model's index) is a
// parameter, named by its path in the saved object (a state_dict's keys),
// whose weight is its fp32 state when stored in 32 or 64 bits, its bf16
// (module) state when stored in 16 bits.
func openPyTorch(path string, policy pickle.Policy) (*ckpt.Checkpoint, error) {
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files = []string{filepath.Join(path, pytorchModel)}
		if _, err := os.Stat(filepath.Join(path, pytorchIndex)); err == nil {
			files = []string{filepath.Join(path, pytorchIndex)}
		}
	}
	if strings.HasSuffix(files[0], ".index.json") {
		var err error
		if files, err = indexFiles(files[0]); err != nil {
			return nil, err
		}
	}
	c := &ckpt.Checkpoint{Path: path, Layout: PyTorch, Tag: filepath.Base(files[0]), WeightsOnly: true}
	if len(files) > 1 {
		c.Tag = pytorchIndex
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	readModelFolder(c, path)
	for _, file := range files {
		f, err := OpenTensorFile(file, policy)
		if err != nil {
			return nil, err
		}
		c.OnClose(f.Close)
		c.Files = append(c.Files, f.File)
		for _, w := range f.Warnings {
			c.Notef("%s: %s", file, w)
		}
		for _, nt := range f.Tensors {
			t := nt.Tensor
			p := &ckpt.Param{Name: nt.Name, Shape: append([]int64{}, t.Shape...), Group: -1}
			switch t.DType {
			case tensor.BFloat16, tensor.Float16:
				t.State, p.BF16 = ckpt.BF16, t
			case tensor.Float32, tensor.Float64:
				t.State, p.FP32 = ckpt.FP32, t
			default:
				continue // integer buffers (position ids, ...) are not weights
			}
			c.Params = append(c.Params, p)
		}
	}
	if len(c.Params) == 0 {
		return nil, fmt.Errorf("%s: %w: no floating-point tensors", path, ErrUnknown)
	}
	ok = true
	return c, nil
}

// indexFiles returns the files a sharded model's index names, in order.
func indexFiles(index string) ([]string, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range idx.WeightMap {
		if f == "" || strings.ContainsAny(f, "/\\") {
			return nil, fmt.Errorf("%s: weight_map names %q, not a file beside the index", index, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(filepath.Dir(index), f))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", index)
	}
	sort.Strings(files)
	return files, nil
}
