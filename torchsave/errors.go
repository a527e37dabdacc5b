package torchsave

import (
	"errors"
	"fmt"
)

// Sentinel errors for the categories of problems a file can have.
var (
	// ErrFormat reports a file that is not a valid torch.save file.
	ErrFormat = errors.New("not a valid torch.save file")
	// ErrTruncated reports data that ends before what it declares.
	ErrTruncated = errors.New("truncated")
	// ErrUnsupported reports a valid file in a variant this package does
	// not read (the tar format of PyTorch < 0.4, big-endian data).
	ErrUnsupported = errors.New("unsupported")
)

// FormatError locates a problem in a file.
type FormatError struct {
	Path   string // the file
	What   string // the part being read: "zip directory", "data.pkl", "storage archive/data/3", ...
	Offset int64  // byte offset in the file, or -1 if unknown
	Err    error  // what is wrong
}

func (e *FormatError) Error() string {
	where := e.Path
	if e.What != "" {
		where += ": " + e.What
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

func (f *File) errorf(what string, off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Path: f.Path, What: what, Offset: off, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

func (f *File) wrap(what string, off int64, err error) error {
	return &FormatError{Path: f.Path, What: what, Offset: off, Err: err}
}
