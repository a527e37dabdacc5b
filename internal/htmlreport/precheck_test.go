package htmlreport

import (
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/layout"
)

const (
	ckptA  = "../../testdata/universal-intstep/checkpoint-7"
	ckptB  = "../../testdata/drift/checkpoint-12"
	sample = "../../testdata/sample/checkpoint-120"
)

// opts are the inputs of Precheck.
type opts struct {
	Paths []string
	Hist  string
	Force bool
}

// TestPrecheck: --hist NAME is checked before anything is
// scanned, with the names it was probably meant to be.
func TestPrecheck(t *testing.T) {
	o := &opts{Paths: []string{ckptA, ckptB}, Hist: "model.layers.0.mlp.down_proj.weigth"}
	if _, err := Precheck(o.Paths, layout.Options{}, o.Hist, o.Force); err == nil || !strings.Contains(err.Error(), "--hist: ") ||
		!strings.Contains(err.Error(), "did you mean model.layers.0.mlp.down_proj.weight?") {
		t.Errorf("%v", err)
	}
	o.Hist = "model.layers.0.mlp.down_proj.weight"
	if notes, err := Precheck(o.Paths, layout.Options{}, o.Hist, o.Force); err != nil || len(notes) != 0 {
		t.Errorf("%v %q", err, notes)
	}
	// Different models: refused, or with --force a note with what differs
	// and the parameters one side lacks.
	o = &opts{Paths: []string{ckptA, sample}}
	if _, err := Precheck(o.Paths, layout.Options{}, o.Hist, o.Force); err == nil || !strings.Contains(err.Error(), "hidden_size") {
		t.Errorf("%v", err)
	}
	o.Force = true
	notes, err := Precheck(o.Paths, layout.Options{}, o.Hist, o.Force)
	if err != nil || len(notes) != 2 || !strings.Contains(notes[0], "compared with --force") ||
		!strings.Contains(notes[1], "20 parameters of "+sample+" are not in "+ckptA) {
		t.Errorf("%v %q", err, notes)
	}
}
