package verify

import (
	"context"
	"hash/crc32"
	"io"
	"sync"

	"archive/zip"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/mmap"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// crcChunk is how much of a stored record is hashed before its pages are
// dropped.
const crcChunk = 16 << 20

// checkCRC recomputes the CRC-32 of every record of every zip file of c,
// one sequential read per file, files in parallel. It returns the bytes
// read.
func checkCRC(ctx context.Context, r *Report, c *ckpt.Checkpoint, opt Options) (int64, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = 2
	}
	files := make(chan *torchsave.File)
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				n, bad := crcFile(f, opt.Progress)
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
		if f.Format != torchsave.FormatZip {
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

// crcFile checks the records of one zip file.
func crcFile(f *torchsave.File, progress func(int64)) (read int64, bad []Finding) {
	m := f.Mapping()
	m.Advise(0, int64(m.Len()), mmap.Sequential)
	data := m.Bytes()
	for _, rec := range f.Records {
		var sum uint32
		var err error
		if rec.Method == zip.Store {
			for off := rec.Offset; off < rec.Offset+rec.CompressedSize; off += crcChunk {
				end := min(off+crcChunk, rec.Offset+rec.CompressedSize)
				sum = crc32.Update(sum, crc32.IEEETable, data[off:end])
				m.Advise(off, end-off, mmap.DontNeed)
				if progress != nil {
					progress(end - off)
				}
			}
		} else {
			sum, err = inflatedCRC(data[rec.Offset : rec.Offset+rec.CompressedSize])
		}
		read += rec.CompressedSize
		switch {
		case err != nil:
			bad = append(bad, Finding{Check: "integrity.crc", Severity: ckpt.Error, File: f.Path,
				Message: "record " + rec.Name + ": cannot inflate: " + err.Error()})
		case sum != rec.CRC32:
			bad = append(bad, Finding{Check: "integrity.crc", Severity: ckpt.Error, File: f.Path,
				Message: "record " + rec.Name + ": CRC-32 " + hex32(sum) + " does not match the zip directory's " + hex32(rec.CRC32)})
		}
	}
	return read, bad
}

func hex32(x uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[x&15]
		x >>= 4
	}
	return string(b)
}

func inflatedCRC(compressed []byte) (uint32, error) {
	h := crc32.NewIEEE()
	rc := flateReader(compressed)
	defer rc.Close()
	if _, err := io.Copy(h, rc); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}
