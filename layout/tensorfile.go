package layout

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/dsmeta"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/scan"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// TensorFile is a single file of tensors — a torch.save file or a
// safetensors file — with every tensor it holds as a logical tensor.
type TensorFile struct {
	Path string
	// Format is the container: torchsave's formats ("zip", "legacy",
	// "pickle") or "safetensors".
	Format string
	// Tensors are the file's tensors, in the file's order (for torch.save,
	// the order of the object tree).
	Tensors []NamedTensor
	// Warnings lists oddities that did not stop reading.
	Warnings []string
	// File is the file as integrity checks see it.
	File  *ckpt.File
	close func() error
}

// NamedTensor is a tensor of a file with its path in the saved object (a
// dotted path of dict keys and list indices), or its safetensors name.
type NamedTensor struct {
	Name   string
	Tensor *ckpt.Tensor
}

// Close releases the file; its tensors must not be read after.
func (f *TensorFile) Close() error { return f.close() }

// OpenTensorFile opens a torch.save or safetensors file, telling them
// apart by content; policy judges the pickles a loader would read in it
// (see Options.Policy).
func OpenTensorFile(path string, policy pickle.Policy) (*TensorFile, error) {
	if safetensors.IsFile(path) {
		// A safetensors file whose first bytes also start a pickle is
		// refused as torchsave refuses what `ckptinspect scan` flags.
		if err := scan.Refusal(scan.New(scan.Options{Policy: policy}).Path(path), policy); err != nil {
			return nil, err
		}
		f, err := safetensors.Open(path)
		if err != nil {
			return nil, err
		}
		tf := &TensorFile{Path: path, Format: Safetensors, close: f.Close, File: &ckpt.File{Path: path, Size: f.Size(), Source: f.ReaderAt()}}
		for _, t := range f.Tensors {
			tf.Tensors = append(tf.Tensors, NamedTensor{Name: t.Name, Tensor: safetensorsTensor(t, "")})
		}
		return tf, nil
	}
	f, err := torchsave.Open(path, torchsave.Options{Policy: policy})
	if err != nil {
		return nil, err
	}
	tf := &TensorFile{Path: path, Format: string(f.Format), Warnings: f.Warnings, close: f.Close, File: dsmeta.File(f)}
	named, err := f.Tensors()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, nt := range named {
		t, err := dsmeta.Tensor("", f, nt.Tensor)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %s: %w", path, nt.Name, err)
		}
		tf.Tensors = append(tf.Tensors, NamedTensor{Name: nt.Name, Tensor: t})
	}
	return tf, nil
}
