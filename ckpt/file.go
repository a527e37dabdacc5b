package ckpt

import (
	"io"

	"github.com/ckptinspect/ckptinspect/internal/stream"
)

// File is one file a checkpoint was read from, as integrity checks see it.
type File struct {
	Path string
	Size int64
	// Source reads the file's bytes.
	Source io.ReaderAt
	// Records lists the records of a zip file (the torch.save zip format),
	// with the CRC-32 its directory gives each; nil for other formats.
	Records []Record
}

// Record is one record of a zip file.
type Record struct {
	Name             string
	Offset           int64 // offset of the record's data in the file
	CompressedSize   int64
	UncompressedSize int64
	Deflated         bool   // compressed with DEFLATE (else stored)
	CRC32            uint32 // from the zip directory
}

// Tuning sets how a pass reads its bytes. The zero value is right for
// every use; the fields exist for benchmarks and for tests that check that
// results do not depend on them.
type Tuning struct {
	// ChunkElems is the largest chunk of a tensor one worker handles, in
	// elements; 0 chooses by how the chunk is read.
	ChunkElems int64
	// Mapped reads tensor bytes through the files' memory mappings in
	// place of pread into per-worker buffers.
	Mapped bool
	// KeepPages keeps mapped pages in the process after reading them.
	KeepPages bool
}

func (t Tuning) stream(workers int, progress func(int64)) stream.Options {
	return stream.Options{Workers: workers, Progress: progress, ChunkElems: t.ChunkElems, Mapped: t.Mapped, KeepPages: t.KeepPages}
}

// source returns the piece as a stream source starting at the task's flat
// index start.
func (p Piece) source(start int64) stream.Source {
	s := stream.Source{View: p.View, Offset: p.Offset, Start: start, Name: p.File}
	if p.Source != nil {
		s.File = p.Source
	}
	return s
}
