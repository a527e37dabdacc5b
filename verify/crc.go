package verify

import (
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/ckptinspect/ckptinspect/ckpt"
)

// crcChunk is how much of a record is read and hashed at a time.
const crcChunk = 1 << 20

// CRC is what [CheckCRC] found.
type CRC struct {
	// Files are the files checked, in c.Files order; Findings[i] the
	// integrity.crc findings of Files[i].
	Files    []*ckpt.File
	Findings [][]Finding
	// Bytes counts the bytes read.
	Bytes int64
}

// CheckCRC recomputes the CRC-32 of every record of the zip files of c
// that keep accepts (all when keep is nil), one sequential read per file,
// files in parallel. Its findings come in file order, whatever the order
// the files were read in.
func CheckCRC(ctx context.Context, c *ckpt.Checkpoint, opt Options, keep func(*ckpt.File) bool) (*CRC, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	out := &CRC{}
	for _, f := range c.Files {
		if len(f.Records) > 0 && (keep == nil || keep(f)) {
			out.Files = append(out.Files, f)
		}
	}
	out.Findings = make([][]Finding, len(out.Files))
	files := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, crcChunk)
			for i := range files {
				n, bad := crcFile(out.Files[i], buf, opt.Progress)
				mu.Lock()
				out.Bytes += n
				out.Findings[i] = bad
				mu.Unlock()
			}
		}()
	}
	var err error
	for i := range out.Files {
		select {
		case files <- i:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	close(files)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// crcFile checks the records of one zip file, reading them with buf.
func crcFile(f *ckpt.File, buf []byte, progress func(int64)) (read int64, bad []Finding) {
	for _, rec := range f.Records {
		h := crc32.NewIEEE()
		sec := io.NewSectionReader(f.Source, rec.Offset, rec.CompressedSize)
		var err error
		if rec.Deflated {
			fr := flate.NewReader(sec)
			_, err = io.CopyBuffer(h, fr, buf)
			fr.Close()
		} else {
			var n int64
			n, err = io.CopyBuffer(h, sec, buf)
			if err == nil && n < rec.CompressedSize {
				err = io.ErrUnexpectedEOF
			}
		}
		if progress != nil {
			progress(rec.CompressedSize)
		}
		read += rec.CompressedSize
		switch {
		case err != nil:
			bad = append(bad, Finding{Check: ckpt.CheckCRC, Severity: ckpt.Error, File: f.Path,
				Message: fmt.Sprintf("record %s: cannot read: %v", rec.Name, err)})
		case h.Sum32() != rec.CRC32:
			bad = append(bad, Finding{Check: ckpt.CheckCRC, Severity: ckpt.Error, File: f.Path,
				Message: fmt.Sprintf("record %s: CRC-32 %08x does not match the zip directory's %08x", rec.Name, h.Sum32(), rec.CRC32)})
		}
	}
	return read, bad
}
