package cli

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/htmlreport"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/tensor"
)

// ReportOptions are the inputs of `ckptinspect report`.
type ReportOptions struct {
	commonFlags
	Paths  []string
	Output string // the HTML file; "-" for stdout
	// Hist names the parameter to draw a histogram of ("" for none), and
	// HistState its state.
	Hist      string
	HistState string
	Bins      int
	Top       int
	Layout    string // forces the checkpoints' layout ("" detects)
}

// NewReportCmd builds `ckptinspect report`. runF, when not nil, replaces
// the command's behaviour (for tests of flag parsing).
func NewReportCmd(s Streams, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{commonFlags: commonFlags{Streams: s}}
	cmd := &cobra.Command{
		Use:   "report -o FILE CHECKPOINT...",
		Short: "Write an HTML report with charts of one or more checkpoints of one model",
		Long: `Write one self-contained HTML file (inline SVG charts and CSS, no script, nothing
fetched: it opens offline) about one or more checkpoints of one model, taken in
the order of their steps:

  - a summary table: norms, NaN/Inf counts, and the change from the previous
    checkpoint;
  - by layer (a line per checkpoint): fp32 weight RMS, AdamW update-to-weight
    ratio, RMS of exp_avg and of √exp_avg_sq, and the relative weight change
    between consecutive checkpoints;
  - the re-parameterisation scale factors (one-element *_alpha parameters,
    YuLan-Mini's WeSaR) by layer;
  - the parameters whose fp32 weights changed most between consecutive
    checkpoints (--top);
  - with --hist NAME, a histogram of that parameter's --hist-state tensor in
    every checkpoint, over common bins.

Each checkpoint is read once in full (the statistics of stats --group-by layer);
then each consecutive pair's fp32 weights are compared (one more read of the
fp32 weights), and the --hist tensor is binned over the range the statistics
gave (one more read of that tensor). Standard output gets the summary table
(--format table, csv or json: json prints all the report's data).`,
		Example: `  ckptinspect report -o report.html checkpoint-1000 checkpoint-2000 checkpoint-3000
  ckptinspect report -o report.html testdata/sample/checkpoint-120 --hist model.layers.0.mlp.down_proj.weight
  ckptinspect report -o report.html run/checkpoint-* --hist lm_head.weight --hist-state exp_avg --top 20`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.commonFlags.parse(); err != nil {
				return err
			}
			if opts.Output == "" {
				return usageError("-o FILE is required (- for standard output)")
			}
			if !slices.Contains(ckpt.DiffStates(), ckpt.State(opts.HistState)) {
				return usageError("--hist-state %q: want fp32, bf16, exp_avg or exp_avg_sq", opts.HistState)
			}
			if opts.Bins < 1 || opts.Bins > 10000 {
				return usageError("--bins %d: want 1 to 10000", opts.Bins)
			}
			if opts.Top < 1 {
				return usageError("--top must be at least 1")
			}
			if runF != nil {
				return runF(opts)
			}
			return runReport(c, opts)
		},
	}
	opts.addFormat(cmd)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the HTML file to write (- for standard output)")
	opts.addJobs(cmd)
	cmd.Flags().StringVar(&opts.Hist, "hist", "", "draw a histogram of this parameter")
	cmd.Flags().StringVar(&opts.HistState, "hist-state", "fp32", "the tensor of --hist: fp32, bf16, exp_avg or exp_avg_sq")
	cmd.Flags().IntVar(&opts.Bins, "bins", 60, "number of histogram bins")
	cmd.Flags().IntVar(&opts.Top, "top", 12, "most changed parameters shown per pair of checkpoints")
	layoutFlag(cmd, &opts.Layout)
	return cmd
}

// reportEntry is one checkpoint of a report.
type reportEntry struct {
	path    string
	step    int64
	hasStep bool
	item    htmlreport.Checkpoint
	// histStats are the statistics of the --hist tensor, if present.
	histStats *tensor.Stats
}

// stateStats returns the scan's statistics of a parameter's state.
func stateStats(pr *ckpt.ParamResult, state string) *tensor.Stats {
	switch state {
	case "fp32":
		return pr.FP32
	case "bf16":
		return pr.BF16
	case "exp_avg":
		return pr.ExpAvg
	case "exp_avg_sq":
		return pr.ExpAvgSq
	}
	return nil
}

func runReport(c *cobra.Command, o *ReportOptions) error {
	n := len(o.Paths)
	// 1. Statistics of every checkpoint, one at a time.
	entries := make([]*reportEntry, n)
	for i, path := range o.Paths {
		cp, err := layout.Open(path, layout.Options{Layout: o.Layout})
		if err != nil {
			return inputError(err)
		}
		res, err := scanCheckpoint(c, o.Streams, fmt.Sprintf("report: stats %d/%d", i+1, n), cp, ckpt.ScanOptions{Workers: o.Jobs})
		if err != nil {
			cp.Close()
			return err
		}
		e := &reportEntry{path: path}
		e.step, e.hasStep = ckpt.StepOf(cp)
		doc := report.BuildStats(cp, res)
		doc.Groups = report.GroupByLayer(res)
		e.item.Stats = doc
		for _, pr := range res.Params {
			if pr.Param.Name == o.Hist {
				e.histStats = stateStats(pr, o.HistState)
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
	rep := &htmlreport.Report{Title: "ckptinspect report", Top: o.Top}
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
			return inputError(fmt.Errorf("--hist: no checkpoint has a %s tensor for parameter %q", o.HistState, o.Hist))
		case lo > hi:
			rep.Notes = append(rep.Notes, fmt.Sprintf("No histogram: %s (%s) has no finite value.", o.Hist, o.HistState))
		default:
			s := linearSpec(lo, hi, o.Bins)
			spec = &s
			rep.Hist = &htmlreport.Hist{Param: o.Hist, State: o.HistState, Lo: s.Lo, Hi: s.Hi, Bins: s.Bins}
		}
	}
	if n > 1 || spec != nil {
		var prev *ckpt.Checkpoint
		for i, e := range entries {
			cp, err := layout.Open(e.path, layout.Options{Layout: o.Layout})
			if err != nil {
				closeIf(prev)
				return inputError(err)
			}
			if prev != nil {
				res, err := diffCheckpoints(c, o.Streams, fmt.Sprintf("report: diff %d/%d", i, n-1), prev, cp,
					ckpt.DiffOptions{Workers: o.Jobs, States: []ckpt.State{ckpt.FP32}})
				prev.Close()
				if err != nil {
					cp.Close()
					return err
				}
				doc := report.BuildDiff(res)
				doc.Groups = report.GroupDiffs(res)
				rep.Changes = append(rep.Changes, htmlreport.Change{Label: entries[i-1].item.Label + " → " + e.item.Label, Diff: doc})
			}
			prev = cp
			if spec == nil || e.histStats == nil {
				continue
			}
			t, err := histTensor(cp, o.Hist, o.HistState)
			if err != nil {
				closeIf(prev)
				return err
			}
			bar := progress.New(o.Streams.ErrOut, fmt.Sprintf("report: hist %d/%d", i+1, n), t.NBytes(), o.Streams.ErrIsTerminal)
			h, err := ckpt.Histogram(c.Context(), t, *spec, ckpt.PassOptions{Workers: o.Jobs, Progress: bar.Add})
			bar.Finish()
			if err != nil {
				closeIf(prev)
				return inputError(err)
			}
			rep.Hist.Series = append(rep.Hist.Series, htmlreport.HistSeries{Label: e.item.Label, Counts: h.Counts,
				NonFinite: h.Stats.NaN + h.Stats.PosInf + h.Stats.NegInf})
		}
		closeIf(prev)
	}
	var html bytes.Buffer
	if err := htmlreport.Write(&html, rep); err != nil {
		return err
	}
	if o.Output == "-" {
		_, err := o.Streams.Out.Write(html.Bytes())
		return err
	}
	if err := writeFileAtomic(o.Output, html.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: wrote %s (%s)\n", o.Output, output.Bytes(int64(html.Len())))
	return htmlreport.WriteSummary(o.Streams.Out, o.Format, rep)
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

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
