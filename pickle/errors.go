package pickle

import (
	"errors"
	"fmt"
)

// Sentinel errors: every error returned by this package wraps one of them.
var (
	// ErrFormat reports bytes that are not a valid pickle.
	ErrFormat = errors.New("pickle: invalid pickle")
	// ErrTruncated reports a pickle that ends before its STOP opcode or in
	// the middle of an argument.
	ErrTruncated = errors.New("pickle: truncated")
	// ErrLimit reports a pickle that exceeds one of the configured [Limits].
	ErrLimit = errors.New("pickle: limit exceeded")
	// ErrUnsafe reports a pickle that references a global judged dangerous
	// by the [Policy] in use.
	ErrUnsafe = errors.New("pickle: unsafe global")
)

// Error describes a problem at a position in a pickle.
type Error struct {
	Offset int64  // byte offset from the start of the pickle, or -1 if not tied to one
	Op     string // opcode name, if the problem is tied to one
	Msg    string // what is wrong
	Err    error  // one of the sentinels
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return "pickle: " + e.Msg
	}
	if e.Op != "" {
		return fmt.Sprintf("pickle offset %d (%s): %s", e.Offset, e.Op, e.Msg)
	}
	return fmt.Sprintf("pickle offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the sentinel category of e.
func (e *Error) Unwrap() error { return e.Err }

func errorf(sentinel error, off int, op string, format string, args ...any) *Error {
	return &Error{Offset: int64(off), Op: op, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
