// Package sniff tells how loaders would read a file, from its bytes alone.
//
// A checkpoint file is read by whatever loader the user runs, and loaders
// disagree: torch.load reads a file that starts with a zip local header as
// a zip archive, one that opens as a tar archive as the format of PyTorch
// < 0.4, and anything else as pickles; pickle.load reads any file as
// pickles; zipfile finds an archive appended to other bytes; a safetensors
// reader reads a length-prefixed JSON header. [Sniff] returns every
// interpretation some loader would take, so that a scanner can check each
// one. It knows containers, not checkpoints: it reads at most the first
// 512 bytes and the last 64 KiB, and never fails on odd input.
package sniff

import (
	"bytes"
	"encoding/binary"
	"io"
)

// Container is one way a loader reads a file.
type Container uint8

// The containers, in the order [Sniff] reports them.
const (
	// Zip: the file starts with a zip local file header ("PK\x03\x04"), as
	// torch.save writes since PyTorch 1.6; torch.load reads nothing else
	// as a zip archive.
	Zip Container = iota + 1
	// Tar: the first 512 bytes are a tar header with a valid checksum:
	// torch.load tries tarfile first, for the format of PyTorch < 0.4.
	Tar
	// Safetensors: an 8-byte little-endian header length, then a JSON
	// object that fits in the file.
	Safetensors
	// Pickle: the first byte is a pickle opcode; torch.load reads every
	// file that is neither zip nor tar as pickles (the legacy torch.save
	// format, or a plain pickle), and pickle.load any file.
	Pickle
	// AppendedZip: a zip end-of-directory record in the last 64 KiB of a
	// file that does not start as a zip: Python's zipfile (and numpy.load)
	// read the archive behind the other bytes.
	AppendedZip
)

var names = [...]string{"", "zip", "tar", "safetensors", "pickle", "appended zip"}

func (c Container) String() string {
	if int(c) < len(names) {
		return names[c]
	}
	return "container?"
}

// Sniff returns the containers of the size bytes of r, each once, in the
// order of [Container]; nil when no loader would read them (an empty file,
// or a first byte that is no pickle opcode in a file of no other kind).
// A read error counts as the bytes not being there.
func Sniff(r io.ReaderAt, size int64) []Container {
	if size <= 0 {
		return nil
	}
	head := make([]byte, min(size, 512))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	var out []Container
	zip := bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
	if zip {
		out = append(out, Zip)
	}
	if !zip && isTar(head) {
		out = append(out, Tar)
	}
	if isSafetensors(r, head, size) {
		out = append(out, Safetensors)
	}
	if !zip && len(head) > 0 && startsPickle(head[0]) {
		out = append(out, Pickle)
	}
	if !zip && hasZipEnd(r, size) {
		out = append(out, AppendedZip)
	}
	return out
}

// Bytes is [Sniff] over data.
func Bytes(data []byte) []Container { return Sniff(bytes.NewReader(data), int64(len(data))) }

// isTar reports whether a 512-byte tar header with a valid checksum (as
// Python's tarfile checks it: unsigned or signed sum, the checksum field
// counted as spaces) starts the file.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	h = h[:512]
	if bytes.Count(h, []byte{0}) == 512 {
		return false
	}
	field := bytes.TrimRight(bytes.Trim(h[148:156], " \x00"), " \x00")
	if len(field) == 0 {
		return false
	}
	var want int64
	for _, c := range field {
		if c < '0' || c > '7' {
			return false
		}
		want = want*8 + int64(c-'0')
	}
	var unsigned, signed int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// isSafetensors checks the header length and the braces of the JSON
// header.
func isSafetensors(r io.ReaderAt, head []byte, size int64) bool {
	if len(head) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(head)
	if n < 2 || n > uint64(size-8) || n > 100<<20 {
		return false
	}
	if head[8] != '{' {
		return false
	}
	var last [1]byte
	if _, err := r.ReadAt(last[:], 8+int64(n)-1); err != nil {
		return false
	}
	return last[0] == '}' || last[0] == ' '
}

// hasZipEnd looks for a zip end-of-central-directory record whose comment
// reaches the end of the file.
func hasZipEnd(r io.ReaderAt, size int64) bool {
	const tail = 64<<10 + 22
	start := max(0, size-tail)
	buf := make([]byte, size-start)
	n, _ := r.ReadAt(buf, start)
	buf = buf[:n]
	for i := len(buf) - 22; i >= 0; i-- {
		if buf[i] == 'P' && buf[i+1] == 'K' && buf[i+2] == 5 && buf[i+3] == 6 {
			clen := int(binary.LittleEndian.Uint16(buf[i+20:]))
			if i+22+clen == len(buf) {
				return true
			}
		}
	}
	return false
}

// startsPickle reports whether a pickle reader accepts c as a first
// opcode: any opcode at all (a reader fails later if it needs a stack).
func startsPickle(c byte) bool {
	if c >= 0x80 && c <= 0x98 {
		return true
	}
	return bytes.IndexByte([]byte("(.0123FIJKLMNPQRSTUVXabcd}eghijl]opqrst)uGBC"), c) >= 0
}
