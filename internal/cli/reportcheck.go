package cli

import (
	"fmt"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

// precheckReport checks, before anything is scanned, what would make a
// report fail at its end: that -o can be written, that the checkpoints
// are of one model (unless --force), and that --hist names a parameter.
// It returns notes for the report: the parameters some checkpoints lack,
// and what differs between models compared with --force.
func precheckReport(o *ReportOptions) ([]string, error) {
	var notes []string
	var first *ckpt.Checkpoint
	hist := o.Hist == ""
	for _, path := range o.Paths {
		cp, err := layout.Open(path, layout.Options{Layout: o.Layout, Policy: o.policy()})
		if err != nil {
			return nil, inputError(err)
		}
		if _, err := cp.Lookup(o.Hist); err == nil {
			hist = true
		}
		if first == nil {
			first = cp
			defer first.Close()
			continue
		}
		note, err := sameModel(first, cp, o.Force)
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
	if !hist {
		_, err := first.Lookup(o.Hist)
		return nil, inputError(fmt.Errorf("--hist: %w", err))
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
