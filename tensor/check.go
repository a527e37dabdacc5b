package tensor

import "fmt"

// CheckView checks, without any data, that a view of dtype dt with the
// given shape, strides (nil: contiguous) and element offset fits a storage
// of storageNumel elements. It applies exactly the checks of NewView, so a
// file reader can validate every tensor before any byte is read.
func CheckView(dt DType, storageNumel, offset int64, shape, strides []int64) error {
	if !dt.Valid() {
		return fmt.Errorf("%w: dtype %v", ErrInvalidView, dt)
	}
	if storageNumel < 0 {
		return fmt.Errorf("%w: negative storage size %d", ErrInvalidView, storageNumel)
	}
	_, err := layout(dt, storageNumel, offset, shape, strides)
	return err
}
