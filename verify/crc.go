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

// checkCRC recomputes the CRC-32 of every record of every zip file of c,
// one sequential read per file, files in parallel. It returns the bytes
// read.
func checkCRC(ctx context.Context, r *Report, c *ckpt.Checkpoint, opt Options) (int64, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	files := make(chan *ckpt.File)
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, crcChunk)
			for f := range files {
				n, bad := crcFile(f, buf, opt.Progress)
				mu.Lock()
				total += n
				for _, b := range bad {
					r.add(b)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
	for _, f := range c.Files {
		if len(f.Records) == 0 {
			continue
		}
		select {
		case files <- f:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	close(files)
	wg.Wait()
	return total, err
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
