package htmlreport

import (
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// Precheck checks, before anything is scanned, what would make a report of
// the checkpoints at paths fail at its end: that they are checkpoints of
// one model (unless force; the error wraps ckpt.ErrDifferentModels), and
// that hist, when not empty, names a parameter of one of them. It opens
// each (metadata only) with the layout named lay, and returns notes for
// the report: the parameters some checkpoints lack, and what differs
// between models compared with force.
func Precheck(paths []string, lay, hist string, force bool) ([]string, error) {
	var notes []string
	var first *ckpt.Checkpoint
	found := hist == ""
	for _, path := range paths {
		cp, err := layout.Open(path, layout.Options{Layout: lay})
		if err != nil {
			return nil, err
		}
		if _, err := cp.Lookup(hist); err == nil {
			found = true
		}
		if first == nil {
			first = cp
			defer first.Close()
			continue
		}
		note, err := ckpt.ModelsNote(first, cp, force)
		if err != nil {
			cp.Close()
			return nil, err
		}
		if note != "" {
			notes = append(notes, note)
		}
		notes = append(notes, oneSided(first, cp)...)
		cp.Close()
	}
	if !found {
		_, err := first.Lookup(hist)
		return nil, fmt.Errorf("--hist: %w", err)
	}
	return notes, nil
}

// oneSided notes the parameters of a that b lacks and of b that a lacks:
// they are in the statistics of one checkpoint only, and in no change.
func oneSided(a, b *ckpt.Checkpoint) []string {
	var notes []string
	onlyA, onlyB := ckpt.OnlyIn(a, b)
	for _, x := range []struct {
		names    []string
		has, not string
	}{{onlyA, a.Path, b.Path}, {onlyB, b.Path, a.Path}} {
		if n := len(x.names); n > 0 {
			notes = append(notes, fmt.Sprintf("%d parameters of %s are not in %s (counted in its statistics, in no change): %s",
				n, x.has, x.not, few(x.names, 10)))
		}
	}
	return notes
}

// few lists up to n names, then how many more.
func few(names []string, n int) string {
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
	}
	return strings.Join(names, ", ")
}
