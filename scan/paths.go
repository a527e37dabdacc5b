package scan

import (
	"context"
	"sort"
)

// Paths scans every file the paths hold ([Targets]: files, and folders
// searched recursively) with one Scanner, so one budget for the run, and
// returns the report: files and skipped entries by path, and the summary
// (opt.Policy.Lenient deciding whether unknown globals fail). ctx stops it
// between files.
func Paths(ctx context.Context, paths []string, opt Options) (Report, error) {
	files, results, skipped, looked := Targets(paths)
	sc := New(opt)
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		results = append(results, sc.Path(p))
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Path < results[j].Path })
	sort.Slice(skipped, func(i, j int) bool { return skipped[i].Path < skipped[j].Path })
	r := Report{Files: results, Skipped: skipped}
	if r.Skipped == nil {
		r.Skipped = []Skipped{}
	}
	if r.Files == nil {
		r.Files = []File{}
	}
	r.Summary = Summarize(r.Files, opt.Policy.Lenient, looked)
	return r, nil
}
