// Package smallfile reads the small metadata files of a checkpoint
// (pointer files, config.json, trainer_state.json, index files) safely:
// only regular files (a FIFO would block forever), and at most a given
// size (a huge file is refused, not read into memory).
package smallfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Max is the limit of the metadata files ckptinspect reads whole: far
// above any real one (a 56-layer model's index or config is tens of KB).
const Max = 64 << 20

// ErrTooLarge is wrapped by the error for a file larger than the limit.
var ErrTooLarge = errors.New("file too large for a metadata file")

// Read returns the contents of the regular file at path, refusing other
// kinds of files (before opening them) and files of more than max bytes.
// A missing file gives an error for which errors.Is(err, fs.ErrNotExist).
func Read(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %w (%d bytes; the limit is %d)", path, ErrTooLarge, fi.Size(), max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max { // grew since Stat
		return nil, fmt.Errorf("%s: %w (the limit is %d bytes)", path, ErrTooLarge, max)
	}
	return b, nil
}
