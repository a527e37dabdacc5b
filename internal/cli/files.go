package cli

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/stream"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// fileTensor is one tensor of a single file, ready to be streamed.
type fileTensor struct {
	Name string
	Src  stream.Source
}

// tensorFile is a single file of tensors: a torch.save file or a
// safetensors file.
type tensorFile struct {
	Format   string
	Tensors  []fileTensor
	Warnings []string
	Torch    *torchsave.File   // for a torch.save file
	Safe     *safetensors.File // for a safetensors file
	close    func() error
}

func (f *tensorFile) Close() error { return f.close() }

// openTensorFile opens a torch.save or safetensors file.
func openTensorFile(path string) (*tensorFile, error) {
	if safetensors.IsFile(path) {
		if err := refuseFlagged(path); err != nil {
			return nil, err
		}
		f, err := safetensors.Open(path)
		if err != nil {
			return nil, err
		}
		tf := &tensorFile{Format: "safetensors", Safe: f, close: f.Close}
		for _, t := range f.Tensors {
			tf.Tensors = append(tf.Tensors, fileTensor{Name: t.Name, Src: stream.Source{View: t.View, Map: f.Mapping(), Offset: t.Offset}})
		}
		return tf, nil
	}
	f, err := torchsave.Open(path, torchsave.Options{})
	if err != nil {
		return nil, err
	}
	tf := &tensorFile{Format: string(f.Format), Torch: f, Warnings: f.Warnings, close: f.Close}
	named, err := f.Tensors()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, nt := range named {
		v, err := nt.Tensor.View()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %s: %w", path, nt.Name, err)
		}
		src := stream.Source{View: v, Map: f.Mapping(), Offset: nt.Tensor.Storage.FileOffset()}
		if src.Offset < 0 {
			src.Map = nil
		}
		tf.Tensors = append(tf.Tensors, fileTensor{Name: nt.Name, Src: src})
	}
	return tf, nil
}
