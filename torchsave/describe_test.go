package torchsave

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// describe prints what a File read: format, records, the pickle's
// inspection, warnings and every tensor's place in its storage.
func describe(t *testing.T, f *File) string {
	t.Helper()
	prog, _ := json.Marshal(f.Program)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %q %+v %s %q\n", f.Format, f.Prefix, f.Version, f.Records, prog, f.Warnings)
	named, err := f.Tensors()
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	for _, nt := range named {
		tt := nt.Tensor
		s := tt.Storage
		fmt.Fprintf(&b, "%s %v %v %d %s %s %d %d\n", nt.Name, tt.Shape, tt.Strides, tt.Offset, s.DType, s.Record, s.Offset, s.Size)
	}
	return b.String()
}
