package htmlreport

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// ErrNoHist is wrapped by Precheck's error when no checkpoint has the
// --hist parameter.
var ErrNoHist = errors.New("--hist")

// Precheck opens every checkpoint of a report (metadata only) before
// anything is scanned, to fail early on what would make the report fail
// at its end: checkpoints of different models (ckpt.SameModel, unless
// force: then a note says what differs) and a --hist parameter no
// checkpoint has. It returns notes for the report: those differences,
// and the parameters some checkpoints lack.
func Precheck(paths []string, opt layout.Options, hist string, force bool) ([]string, error) {
	var notes []string
	var first *ckpt.Checkpoint
	found := hist == ""
	for _, path := range paths {
		cp, err := layout.Open(path, opt)
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
		if err := ckpt.SameModel(first, cp); err != nil {
			if !force {
				cp.Close()
				return nil, err
			}
			notes = append(notes, fmt.Sprintf("compared with --force: %v", err))
		}
		notes = append(notes, oneSided(first, cp)...)
		cp.Close()
	}
	if !found {
		_, err := first.Lookup(hist)
		return nil, fmt.Errorf("%w: %w", ErrNoHist, err)
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
