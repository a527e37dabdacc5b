// Package torchsave opens files written by PyTorch's torch.save without
// Python and without executing anything.
//
// It reads the zip format (PyTorch >= 1.6; records under "<stem>/" in 1.x
// and "archive/" in 2.x) and the legacy format (concatenated pickles
// followed by raw storages), and plain pickle files. The file is mapped
// read-only; the object pickle is read with package pickle; each storage
// becomes a [Storage] that names a byte range of the mapping, and each
// tensor a [Tensor] view over it. No tensor byte is read when a file is
// opened: [Storage.Bytes] only slices the mapping (a compressed record,
// which PyTorch never writes, is inflated into memory on first use, with a
// warning).
//
// Every offset and length is checked against the bytes present before it
// is trusted; errors name the file and what was being read ([FormatError]).
package torchsave
