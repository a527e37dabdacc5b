package ckpt

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/ckptinspect/ckptinspect/yulan"
)

// ErrDifferentModels is wrapped by the errors of [SameModel].
var ErrDifferentModels = errors.New("not checkpoints of one model")

// SameModel tells whether a and b are checkpoints of one model, so that
// comparing them parameter by parameter means something: it returns an
// error wrapping ErrDifferentModels, naming the first difference, when
// their config.json files (both present) differ in an architecture key
// (yulan.ArchitectureKeys), when fewer than half of the parameter names of
// the larger are in both, or when more than half of the common parameters
// have different shapes. A few parameters on one side only, or a few
// shapes that differ (a vocabulary grown by padding), are not enough: the
// comparison lists them.
func SameModel(a, b *Checkpoint) error {
	if a.Config != nil && b.Config != nil {
		for _, k := range yulan.ArchitectureKeys() {
			va, okA := a.Config[k]
			vb, okB := b.Config[k]
			if okA != okB || !reflect.DeepEqual(va, vb) {
				return fmt.Errorf("%w: config.json %s is %s in %s and %s in %s", ErrDifferentModels, k, show(va, okA), a.Path, show(vb, okB), b.Path)
			}
		}
	}
	inB := make(map[string]*Param, len(b.Params))
	for _, p := range b.Params {
		inB[p.Name] = p
	}
	var common, shapes int
	var onlyA, shapeEx []string
	for _, p := range a.Params {
		q, ok := inB[p.Name]
		if !ok {
			onlyA = append(onlyA, p.Name)
			continue
		}
		common++
		if !slices.Equal(p.Shape, q.Shape) {
			shapes++
			if len(shapeEx) < 1 {
				shapeEx = append(shapeEx, fmt.Sprintf("%s is %v in A and %v in B", p.Name, p.Shape, q.Shape))
			}
		}
	}
	most := max(len(a.Params), len(b.Params))
	if most > 0 && 2*common < most {
		var onlyB []string
		inA := make(map[string]bool, len(a.Params))
		for _, p := range a.Params {
			inA[p.Name] = true
		}
		for _, q := range b.Params {
			if !inA[q.Name] {
				onlyB = append(onlyB, q.Name)
			}
		}
		return fmt.Errorf("%w: only %d of %d parameter names are in both (%d parameters in %s, %d in %s; e.g. %s)",
			ErrDifferentModels, common, most, len(a.Params), a.Path, len(b.Params), b.Path, examples(onlyA, onlyB))
	}
	if common > 0 && 2*shapes > common {
		return fmt.Errorf("%w: %d of the %d common parameters have different shapes (e.g. %s)", ErrDifferentModels, shapes, common, shapeEx[0])
	}
	return nil
}

func show(v any, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprint(v)
}

func examples(onlyA, onlyB []string) string {
	var s []string
	if len(onlyA) > 0 {
		s = append(s, onlyA[0]+" only in A")
	}
	if len(onlyB) > 0 {
		s = append(s, onlyB[0]+" only in B")
	}
	return strings.Join(s, ", ")
}

// OnlyIn returns the names of a's parameters that b lacks and of b's that
// a lacks, each in its checkpoint's order.
func OnlyIn(a, b *Checkpoint) (onlyA, onlyB []string) {
	missing := func(x, y *Checkpoint) []string {
		has := make(map[string]bool, len(y.Params))
		for _, p := range y.Params {
			has[p.Name] = true
		}
		var out []string
		for _, p := range x.Params {
			if !has[p.Name] {
				out = append(out, p.Name)
			}
		}
		return out
	}
	return missing(a, b), missing(b, a)
}
