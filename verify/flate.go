package verify

import (
	"bytes"
	"compress/flate"
	"io"
)

func flateReader(b []byte) io.ReadCloser { return flate.NewReader(bytes.NewReader(b)) }
