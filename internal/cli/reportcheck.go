package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
		cp, err := layout.Open(path, layout.Options{Layout: o.Layout})
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

// special reports whether path exists and is neither a regular file nor a
// folder (a device such as /dev/null, a pipe): written in place.
func special(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}

// writeInPlace writes data to an existing file that is not a regular one.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// outputError names the user's output file in an error writing it (not a
// temporary file beside it): exit status 2.
func outputError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return inputError(fmt.Errorf("cannot write %s: folder %s does not exist", path, filepath.Dir(path)))
	}
	return inputError(fmt.Errorf("cannot write %s: %w", path, err))
}

// precheckOutput makes sure the report can be written to out before
// anything is read: not a folder, and a file can be created beside it.
func precheckOutput(out string) error {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return inputError(fmt.Errorf("cannot write %s: it is a folder", out))
	}
	if out != "-" && !special(out) {
		f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
		if err != nil {
			return outputError(out, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}
