package mmap

import (
	"os"
	"syscall"
	"unsafe"
)

// mapFile maps the file read-only with a file mapping object and one view
// of the whole file.
func mapFile(f *os.File, size int) ([]byte, bool, error) {
	h, err := syscall.CreateFileMapping(syscall.Handle(f.Fd()), nil, syscall.PAGE_READONLY, uint32(uint64(size)>>32), uint32(size), nil)
	if err != nil {
		return nil, false, os.NewSyscallError("CreateFileMapping", err)
	}
	// The view keeps the mapping object alive; its handle is not needed.
	defer syscall.CloseHandle(h)
	addr, err := syscall.MapViewOfFile(h, syscall.FILE_MAP_READ, 0, 0, uintptr(size))
	if err != nil {
		return nil, false, os.NewSyscallError("MapViewOfFile", err)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(addr)), size), true, nil
}

func unmap(data []byte) error {
	return syscall.UnmapViewOfFile(uintptr(unsafe.Pointer(&data[0])))
}

// openFileLimit is unknown on Windows (handles are not a small table).
func openFileLimit() int64 { return 0 }
