package dsmeta

import (
	"archive/zip"
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// Tensor makes a one-piece logical tensor of the named state of a tensor
// read from a torch.save file.
func Tensor(state ckpt.State, f *torchsave.File, t *torchsave.Tensor) (*ckpt.Tensor, error) {
	v, err := t.View()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	p := ckpt.Piece{View: v, Offset: t.Storage.FileOffset(), File: f.Path}
	if p.Offset >= 0 {
		p.Source = f.ReaderAt()
	}
	return &ckpt.Tensor{State: state, File: f.Path, DType: t.DType, Shape: append([]int64{}, t.Shape...), Pieces: []ckpt.Piece{p}}, nil
}

// File describes a torch.save file for the checkpoint's integrity checks.
func File(f *torchsave.File) *ckpt.File {
	cf := &ckpt.File{Path: f.Path, Size: f.Size(), Source: f.ReaderAt()}
	for _, r := range f.Records {
		cf.Records = append(cf.Records, ckpt.Record{Name: r.Name, Offset: r.Offset, CompressedSize: r.CompressedSize,
			UncompressedSize: r.UncompressedSize, Deflated: r.Method == zip.Deflate, CRC32: r.CRC32})
	}
	return cf
}
