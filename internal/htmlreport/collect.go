package htmlreport

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// CollectOptions says what Collect measures for a report of a few
// checkpoints.
type CollectOptions struct {
	Paths   []string      // the checkpoints, in any order (they are sorted by step)
	Layout  string        // forces their layout ("" detects)
	Policy  pickle.Policy // judges the pickles read (see layout.Options)
	Workers int
	// Hist names the parameter to draw a histogram of ("" for none), and
	// HistState its state; Bins is the number of bins.
	Hist      string
	HistState ckpt.State
	Bins      int
	Top       int      // most changed parameters shown per pair
	Notes     []string // notes for the report
	// Effective also compares the effective weights of each pair (diff
	// --effective), under the model config Config ("": each checkpoint's
	// config.json).
	Effective bool
	Config    string
	// Progress, when set, is told of each pass before it starts: a label
	// and the bytes it reads; it returns what to call as bytes are read and
	// when the pass is over.
	Progress func(label string, total int64) (add func(int64), finish func())
}

func (o CollectOptions) progress(label string, total int64) (func(int64), func()) {
	if o.Progress == nil {
		return nil, func() {}
	}
	return o.Progress(label, total)
}

// reportEntry is one checkpoint of a report.
type reportEntry struct {
	path    string
	step    int64
	hasStep bool
	item    Checkpoint
	// histStats are the statistics of the --hist tensor, if present.
	histStats *tensor.Stats
}

// Collect measures the checkpoints of a report, one at a time (at most two
// open at once): the statistics of each (as stats --group-by layer), the
// change of the fp32 weights between consecutive ones (sorted by step),
// and the histogram of the --hist tensor over the range the statistics
// gave.
func Collect(ctx context.Context, o CollectOptions) (*Report, error) {
	n := len(o.Paths)
	// 1. Statistics of every checkpoint, one at a time.
	entries := make([]*reportEntry, n)
	for i, path := range o.Paths {
		cp, err := layout.Open(path, layout.Options{Layout: o.Layout, Policy: o.Policy})
		if err != nil {
			return nil, err
		}
		opt := ckpt.ScanOptions{Workers: o.Workers}
		add, finish := o.progress(fmt.Sprintf("report: stats %d/%d", i+1, n), cp.ScanBytes(nil))
		opt.Progress = add
		res, err := ckpt.Scan(ctx, cp, opt)
		finish()
		if err == nil {
			err = res.Err(cp)
		}
		if err != nil {
			cp.Close()
			return nil, err
		}
		e := &reportEntry{path: path}
		e.step, e.hasStep = ckpt.StepOf(cp)
		doc := report.BuildStats(cp, res)
		doc.Groups = report.GroupByLayer(res)
		e.item.Stats = doc
		for _, pr := range res.Params {
			if pr.Param.Name == o.Hist {
				e.histStats = pr.Stats(o.HistState)
			}
		}
		cp.Close()
		entries[i] = e
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.hasStep != b.hasStep {
			return a.hasStep
		}
		return a.step < b.step
	})
	labelEntries(entries)
	rep := &Report{Title: "ckptinspect report", Top: o.Top, Notes: o.Notes}
	for _, e := range entries {
		rep.Checkpoints = append(rep.Checkpoints, e.item)
	}
	// 2. Consecutive checkpoints compared, and the histogram binned over
	// the range the statistics gave.
	var spec *ckpt.HistSpec
	if o.Hist != "" {
		lo, hi, found := math.Inf(1), math.Inf(-1), false
		for _, e := range entries {
			if e.histStats != nil {
				found = true
				if e.histStats.Valid() {
					lo, hi = math.Min(lo, e.histStats.Min), math.Max(hi, e.histStats.Max)
				}
			}
		}
		switch {
		case !found:
			return nil, fmt.Errorf("--hist: no checkpoint has a %s tensor for parameter %q", o.HistState, o.Hist)
		case lo > hi:
			rep.Notes = append(rep.Notes, fmt.Sprintf("No histogram: %s (%s) has no finite value.", o.Hist, o.HistState))
		default:
			s := ckpt.LinearSpec(lo, hi, o.Bins)
			spec = &s
			rep.Hist = &Hist{Param: o.Hist, State: string(o.HistState), Lo: s.Lo, Hi: s.Hi, Bins: s.Bins}
		}
	}
	if n > 1 || spec != nil {
		var prev *ckpt.Checkpoint
		for i, e := range entries {
			cp, err := layout.Open(e.path, layout.Options{Layout: o.Layout, Policy: o.Policy})
			if err != nil {
				closeIf(prev)
				return nil, err
			}
			if prev != nil {
				dopt := ckpt.DiffOptions{Workers: o.Workers, States: []ckpt.State{ckpt.FP32}}
				var info *report.DiffEffectiveInfo
				if o.Effective {
					info = &report.DiffEffectiveInfo{}
					if dopt.EffectiveA, info.A, err = report.EffectiveOf(prev, o.Config); err == nil {
						dopt.EffectiveB, info.B, err = report.EffectiveOf(cp, o.Config)
					}
					if err != nil {
						prev.Close()
						cp.Close()
						return nil, err
					}
				}
				add, finish := o.progress(fmt.Sprintf("report: diff %d/%d", i, n-1), ckpt.DiffBytes(prev, cp, dopt))
				dopt.Progress = add
				res, err := ckpt.Diff(ctx, prev, cp, dopt)
				finish()
				prev.Close()
				if err == nil {
					err = res.Err()
				}
				if err != nil {
					cp.Close()
					return nil, err
				}
				doc := report.DiffDoc(res, report.DiffView{GroupBy: "layer", Effective: info})
				rep.Changes = append(rep.Changes, Change{Label: entries[i-1].item.Label + " → " + e.item.Label, Diff: doc})
			}
			prev = cp
			if spec == nil || e.histStats == nil {
				continue
			}
			t, err := cp.Tensor(o.Hist, o.HistState)
			if err != nil {
				closeIf(prev)
				return nil, err
			}
			add, finish := o.progress(fmt.Sprintf("report: hist %d/%d", i+1, n), t.NBytes())
			h, err := ckpt.Histogram(ctx, t, *spec, ckpt.PassOptions{Workers: o.Workers, Progress: add})
			finish()
			if err != nil {
				closeIf(prev)
				return nil, err
			}
			rep.Hist.Series = append(rep.Hist.Series, HistSeries{Label: e.item.Label, Counts: h.Counts,
				NonFinite: h.Stats.NaN + h.Stats.PosInf + h.Stats.NegInf})
		}
		closeIf(prev)
	}
	return rep, nil
}

func closeIf(c *ckpt.Checkpoint) {
	if c != nil {
		c.Close()
	}
}

// labelEntries names checkpoints in legends by their step, adding the
// folder name when steps are unknown or repeated.
func labelEntries(entries []*reportEntry) {
	count := map[int64]int{}
	for _, e := range entries {
		if e.hasStep {
			count[e.step]++
		}
	}
	for _, e := range entries {
		switch {
		case !e.hasStep:
			e.item.Label = filepath.Base(filepath.Clean(e.path))
		case count[e.step] > 1:
			e.item.Label = fmt.Sprintf("step %d (%s)", e.step, filepath.Base(filepath.Clean(e.path)))
		default:
			e.item.Label = "step " + strconv.FormatInt(e.step, 10)
		}
	}
}
