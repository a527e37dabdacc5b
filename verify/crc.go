package verify

import (
	"compress/flate"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/crc"
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
	return checkCRC(ctx, c, opt, keep, nil)
}

// checkCRC is CheckCRC taking the CRC-32s of the ranges the value scan
// already read from seen: of a stored record only the bytes no range
// covers are read, and the record's CRC-32 is put together from the
// pieces.
func checkCRC(ctx context.Context, c *ckpt.Checkpoint, opt Options, keep func(*ckpt.File) bool, seen *readCRCs) (*CRC, error) {
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
			var buf crcBuf
			for i := range files {
				f := out.Files[i]
				n, bad := crcFile(f, seen.of(f.Source), &buf, opt.Progress)
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

// crcBuf is a worker's read buffer, grown to what the reads need, up to
// crcChunk: after the value scan of --deep what is left to read is mostly
// pickles and padding, and a fresh megabyte per worker costs more to fault
// in than those reads take.
type crcBuf struct{ b []byte }

// get returns a buffer for reading n bytes in reads of at most crcChunk.
func (c *crcBuf) get(n int64) []byte {
	n = max(min(n, crcChunk), 512)
	if int64(len(c.b)) < n {
		c.b = make([]byte, n)
	}
	return c.b[:n]
}

// crcFile checks the records of one zip file, reading with buf what the
// pieces (the CRC-32s of ranges already read, by offset) do not cover.
func crcFile(f *ckpt.File, pieces []crcPiece, buf *crcBuf, progress func(int64)) (checked int64, bad []Finding) {
	for _, rec := range f.Records {
		var sum uint32
		var err error
		if rec.Deflated {
			h := new(crc.Hash)
			fr := flate.NewReader(io.NewSectionReader(f.Source, rec.Offset, rec.CompressedSize))
			_, err = io.CopyBuffer(h, fr, buf.get(rec.UncompressedSize))
			fr.Close()
			sum = h.Sum32()
			if progress != nil {
				progress(rec.CompressedSize)
			}
		} else {
			sum, err = crcStored(f.Source, rec.Offset, rec.CompressedSize, pieces, buf, progress)
		}
		checked += rec.CompressedSize
		switch {
		case err != nil:
			bad = append(bad, Finding{Check: ckpt.CheckCRC, Severity: ckpt.Error, File: f.Path,
				Message: fmt.Sprintf("record %s: cannot read: %v", rec.Name, err)})
		case sum != rec.CRC32:
			bad = append(bad, Finding{Check: ckpt.CheckCRC, Severity: ckpt.Error, File: f.Path,
				Message: fmt.Sprintf("record %s: CRC-32 %08x does not match the zip directory's %08x", rec.Name, sum, rec.CRC32)})
		}
	}
	return checked, bad
}

// crcStored returns the CRC-32 of the n bytes at off of src: the pieces
// inside the range are taken as they are, the bytes between them read.
func crcStored(src io.ReaderAt, off, n int64, pieces []crcPiece, buf *crcBuf, progress func(int64)) (uint32, error) {
	var sum uint32
	cur, end := off, off+n
	gap := func(to int64) error {
		h := new(crc.Hash)
		got, err := io.CopyBuffer(h, io.NewSectionReader(src, cur, to-cur), buf.get(to-cur))
		if progress != nil {
			progress(got)
		}
		if err == nil && got < to-cur {
			err = io.ErrUnexpectedEOF
		}
		sum = crcCombine(sum, h.Sum32(), to-cur)
		cur = to
		return err
	}
	i := sort.Search(len(pieces), func(i int) bool { return pieces[i].off >= off })
	for ; i < len(pieces) && pieces[i].off < end; i++ {
		p := pieces[i]
		if p.off < cur || p.off+p.n > end {
			continue // overlaps what is already summed, or leaves the record
		}
		if p.off > cur {
			if err := gap(p.off); err != nil {
				return 0, err
			}
		}
		sum = crcCombine(sum, p.crc, p.n)
		cur = p.off + p.n
	}
	if cur < end {
		if err := gap(end); err != nil {
			return 0, err
		}
	}
	return sum, nil
}
