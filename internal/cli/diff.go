package cli

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/progress"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// DiffOptions are the inputs of `ckptinspect diff`.
type DiffOptions struct {
	Streams      Streams
	PathA, PathB string
	Format       output.Format
	Jobs         int
	Filter       string
	Sort         string
	Top          int
	GroupBy      string
	// LayoutA and LayoutB force the layouts of A and B ("" detects).
	LayoutA, LayoutB string
	filterRE         *regexp.Regexp
}

// diffFigures are the per-state figures --sort accepts, with how to read
// each and whether the smallest value sorts first.
var diffFigures = []struct {
	name      string
	get       func(*report.StateDiff) *output.Float
	ascending bool
}{
	{"delta_l2", func(d *report.StateDiff) *output.Float { return d.DeltaL2 }, false},
	{"rel_change", func(d *report.StateDiff) *output.Float { return d.RelChange }, false},
	{"cosine", func(d *report.StateDiff) *output.Float { return d.Cosine }, true},
	{"norm_ratio", func(d *report.StateDiff) *output.Float { return d.NormRatio }, false},
	{"max_abs_delta", func(d *report.StateDiff) *output.Float { return d.MaxAbsDelta }, false},
}

// diffState returns the comparison of the named state of a parameter row.
func diffState(p *report.ParamDiff, state string) *report.StateDiff {
	switch state {
	case "fp32":
		return p.FP32
	case "bf16":
		return p.BF16
	case "exp_avg":
		return p.ExpAvg
	case "exp_avg_sq":
		return p.ExpAvgSq
	}
	return nil
}

// diffSortKey returns how to read a --sort field of diff, or nil when the
// field is unknown: name and numel, or <state>.<figure>.
func diffSortKey(field string) (get func(*report.ParamDiff) (float64, bool), ascending bool) {
	if field == "numel" {
		return func(p *report.ParamDiff) (float64, bool) { return float64(p.Numel), true }, false
	}
	state, fig, ok := strings.Cut(field, ".")
	if !ok || !slices.Contains(ckpt.DiffStates(), ckpt.State(state)) {
		return nil, false
	}
	for _, f := range diffFigures {
		if f.name == fig {
			return func(p *report.ParamDiff) (float64, bool) {
				d := diffState(p, state)
				if d == nil || f.get(d) == nil {
					return 0, false
				}
				return float64(*f.get(d)), true
			}, f.ascending
		}
	}
	return nil, false
}

func diffSortNames() string {
	names := []string{"name", "numel"}
	for _, s := range ckpt.DiffStates() {
		names = append(names, string(s)+".{delta_l2,rel_change,cosine,norm_ratio,max_abs_delta}")
	}
	return strings.Join(names, ", ")
}

// NewDiffCmd builds `ckptinspect diff`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewDiffCmd(s Streams, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{Streams: s}
	var format string
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two checkpoints of one model, parameter by parameter",
		Long: `Compare two checkpoints of one model (any layout ckptinspect reads), in one
streaming pass over both: for every parameter present in both, and for each of
its states present on both sides (fp32 master weight, bf16 module weight, AdamW
exp_avg and exp_avg_sq), the change from A to B:

  delta_l2    ‖B−A‖ = √Σ(b−a)²
  rel_change  ‖B−A‖ / ‖A‖            (null when ‖A‖ = 0)
  cosine      Σab / (‖A‖·‖B‖)         (null when a norm is 0)
  norm_ratio  ‖B‖ / ‖A‖              (null when ‖A‖ = 0)

all in float64 over the element pairs where both values are finite (pairs with
a NaN or Inf are counted as skipped). States whose shapes differ are reported,
not compared. The summary gives the step delta, the parameters present on one
side only, and the global change of the fp32 weights.

The table shows 1−cos instead of the cosine (readable when it is near 1), and
the relative change of the bf16 weights (bf16 rel) and of the moments (m rel,
v rel). --sort <state>.cosine puts the least similar first; other figures sort
largest first. A and B may be in different layouts (--layout, --layout-b).
The exit status is 0 whatever the differences.`,
		Example: `  ckptinspect diff checkpoint-1000 checkpoint-2000
  ckptinspect diff checkpoint-1000 checkpoint-2000 --sort fp32.rel_change --top 10
  ckptinspect diff checkpoint-1000 checkpoint-2000 --group-by layer
  ckptinspect diff a/checkpoint-7 b/checkpoint-12 --filter 'alpha$' --format csv`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.PathA, opts.PathB = args[0], args[1]
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			opts.Format = f
			if opts.Jobs < 0 {
				return usageError("-j must be positive")
			}
			if opts.Filter != "" {
				if opts.filterRE, err = regexp.Compile(opts.Filter); err != nil {
					return usageError("--filter: %v", err)
				}
			}
			if opts.Sort != "" && opts.Sort != "name" {
				if get, _ := diffSortKey(opts.Sort); get == nil {
					return usageError("--sort %q: unknown field (want one of %s)", opts.Sort, diffSortNames())
				}
			}
			if opts.Top < 0 {
				return usageError("--top must not be negative")
			}
			if opts.GroupBy != "" && opts.GroupBy != "layer" {
				return usageError("--group-by %q: only \"layer\" is supported", opts.GroupBy)
			}
			if !c.Flags().Lookup("layout-b").Changed {
				opts.LayoutB = opts.LayoutA
			}
			if runF != nil {
				return runF(opts)
			}
			return runDiff(c, opts)
		},
	}
	formatFlag(cmd, &format)
	cmd.Flags().IntVarP(&opts.Jobs, "jobs", "j", runtime.NumCPU(), "number of parallel workers")
	cmd.Flags().StringVar(&opts.Filter, "filter", "", "only parameters whose name matches this regular expression")
	cmd.Flags().StringVar(&opts.Sort, "sort", "", "sort parameters by a field (name A-Z; cosine smallest first; others largest first): "+diffSortNames())
	cmd.Flags().IntVar(&opts.Top, "top", 0, "show only the first N parameters (after --sort)")
	cmd.Flags().StringVar(&opts.GroupBy, "group-by", "", `aggregate parameters: "layer" (per transformer layer)`)
	layoutFlag(cmd, &opts.LayoutA)
	cmd.Flags().StringVar(&opts.LayoutB, "layout-b", "", "layout of B, when it differs from --layout")
	return cmd
}

func runDiff(c *cobra.Command, o *DiffOptions) error {
	a, err := layout.Open(o.PathA, layout.Options{Layout: o.LayoutA})
	if err != nil {
		return inputError(err)
	}
	defer a.Close()
	b, err := layout.Open(o.PathB, layout.Options{Layout: o.LayoutB})
	if err != nil {
		return inputError(err)
	}
	defer b.Close()
	opt := ckpt.DiffOptions{Workers: o.Jobs}
	if o.filterRE != nil {
		opt.Filter = o.filterRE.MatchString
	}
	res, err := diffCheckpoints(c, o.Streams, "diff", a, b, opt)
	if err != nil {
		return err
	}
	doc := buildDiffReport(res)
	if o.GroupBy == "layer" {
		doc.Groups = groupDiffs(res)
	}
	doc.Params = orderDiffs(doc.Params, o.Sort, o.Top)
	switch o.Format {
	case output.JSON:
		return output.WriteJSON(o.Streams.Out, doc)
	case output.CSV:
		if doc.Groups != nil {
			return diffGroupCSV(doc.Groups).WriteCSV(o.Streams.Out)
		}
		return diffCSV(doc.Params).WriteCSV(o.Streams.Out)
	}
	return writeDiffText(o.Streams.Out, doc)
}

// diffCheckpoints runs ckpt.Diff with a progress bar and turns a
// parameter's read error into an input error.
func diffCheckpoints(c *cobra.Command, s Streams, label string, a, b *ckpt.Checkpoint, opt ckpt.DiffOptions) (*ckpt.DiffResult, error) {
	var total int64
	states := opt.States
	if states == nil {
		states = ckpt.DiffStates()
	}
	for _, side := range []*ckpt.Checkpoint{a, b} {
		for _, p := range side.Params {
			if opt.Filter != nil && !opt.Filter(p.Name) {
				continue
			}
			for _, st := range states {
				if t := p.Tensor(st); t != nil {
					total += t.NBytes()
				}
			}
		}
	}
	bar := progress.New(s.ErrOut, label, total, s.ErrIsTerminal)
	opt.Progress = bar.Add
	res, err := ckpt.Diff(c.Context(), a, b, opt)
	bar.Finish()
	if err != nil {
		return nil, err
	}
	for _, pd := range res.Params {
		if pd.Err != nil {
			return nil, inputError(fmt.Errorf("parameter %s: %w", pd.Name, pd.Err))
		}
	}
	return res, nil
}

// checkpointRef describes an opened checkpoint in documents.
func checkpointRef(c *ckpt.Checkpoint) report.CheckpointRef {
	r := report.CheckpointRef{Path: c.Path, Layout: c.Layout, Tag: c.Tag, Params: len(c.Params)}
	if s, ok := ckpt.StepOf(c); ok {
		r.Step = &s
	}
	return r
}

// stateDiff converts a state comparison to its JSON form.
func stateDiff(d *ckpt.StateDiff) *report.StateDiff {
	if d == nil {
		return nil
	}
	s := d.Sums
	r := &report.StateDiff{Compared: d.Compared, Numel: s.Numel, Pairs: s.Pairs, Skipped: s.Numel - s.Pairs, Changed: s.Changed}
	if !d.Compared {
		r.ShapeA, r.ShapeB = nonNil(d.ShapeA), nonNil(d.ShapeB)
		return r
	}
	r.DeltaL2 = output.Opt(d.DeltaL2())
	r.RelChange = output.Opt(d.RelChange())
	r.Cosine = output.Opt(d.Cosine())
	r.NormRatio = output.Opt(d.NormRatio())
	r.AL2 = output.Opt(d.NormA())
	r.BL2 = output.Opt(d.NormB())
	r.MaxAbsDelta = output.Opt(d.MaxAbsDelta())
	return r
}

func buildDiffReport(res *ckpt.DiffResult) report.Diff {
	doc := report.Diff{A: checkpointRef(res.A), B: checkpointRef(res.B), Params: []report.ParamDiff{}}
	sum := report.DiffSummary{StepA: doc.A.Step, StepB: doc.B.Step, ParamsCompared: len(res.Params),
		OnlyInA: nonNilS(res.OnlyA), OnlyInB: nonNilS(res.OnlyB), ShapeMismatch: []string{}, BytesScanned: res.BytesScanned}
	if sum.StepA != nil && sum.StepB != nil {
		d := *sum.StepB - *sum.StepA
		sum.StepDelta = &d
	}
	for _, pd := range res.Params {
		p := report.ParamDiff{Name: pd.Name, ShapeA: nonNil(pd.A.Shape), ShapeB: nonNil(pd.B.Shape), Numel: pd.A.Numel(),
			ShapeMismatch: pd.ShapeMismatch(),
			FP32:          stateDiff(pd.States["fp32"]), BF16: stateDiff(pd.States["bf16"]),
			ExpAvg: stateDiff(pd.States["exp_avg"]), ExpAvgSq: stateDiff(pd.States["exp_avg_sq"])}
		if p.ShapeMismatch {
			sum.ShapeMismatch = append(sum.ShapeMismatch, pd.Name)
		}
		doc.Params = append(doc.Params, p)
	}
	sum.Global = report.GlobalDiff{FP32: stateDiff(res.Totals["fp32"]), BF16: stateDiff(res.Totals["bf16"]),
		ExpAvg: stateDiff(res.Totals["exp_avg"]), ExpAvgSq: stateDiff(res.Totals["exp_avg_sq"])}
	if g := sum.Global.FP32; g != nil {
		sum.DeltaNorm, sum.RelChange = g.DeltaL2, g.RelChange
	}
	doc.Summary = sum
	return doc
}

// groupDiffs adds up the comparisons per transformer layer (as stats
// --group-by layer groups parameters).
func groupDiffs(res *ckpt.DiffResult) []report.GroupDiff {
	type acc struct {
		order  int
		params int
		states map[ckpt.State]*ckpt.StateDiff
	}
	groups := map[string]*acc{}
	var names []string
	for _, pd := range res.Params {
		name, order := layerOf(pd.Name)
		g := groups[name]
		if g == nil {
			g = &acc{order: order, states: map[ckpt.State]*ckpt.StateDiff{}}
			groups[name] = g
			names = append(names, name)
		}
		g.params++
		for s, sd := range pd.States {
			if !sd.Compared {
				continue
			}
			t := g.states[s]
			if t == nil {
				t = &ckpt.StateDiff{State: s, Compared: true}
				g.states[s] = t
			}
			t.Sums.Merge(sd.Sums)
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return groups[names[i]].order < groups[names[j]].order })
	out := make([]report.GroupDiff, 0, len(names))
	for _, n := range names {
		g := groups[n]
		out = append(out, report.GroupDiff{Name: n, Params: g.params, FP32: stateDiff(g.states[ckpt.FP32]), BF16: stateDiff(g.states[ckpt.BF16]),
			ExpAvg: stateDiff(g.states[ckpt.ExpAvg]), ExpAvgSq: stateDiff(g.states[ckpt.ExpAvgSq])})
	}
	return out
}

// orderDiffs sorts by field (see diffSortKey; missing values last; name
// A-Z) and keeps the first top.
func orderDiffs(ps []report.ParamDiff, field string, top int) []report.ParamDiff {
	switch {
	case field == "name":
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	case field != "":
		get, asc := diffSortKey(field)
		sort.SliceStable(ps, func(i, j int) bool {
			a, okA := get(&ps[i])
			b, okB := get(&ps[j])
			if okA != okB {
				return okA
			}
			if asc {
				return a < b
			}
			return a > b
		})
	}
	if top > 0 && len(ps) > top {
		ps = ps[:top]
	}
	return ps
}

// oneMinusCos formats 1 − cosine for tables.
func oneMinusCos(d *report.StateDiff) string {
	if d == nil || d.Cosine == nil {
		return "-"
	}
	return output.NumF(1 - float64(*d.Cosine))
}

// ratio formats a norm ratio with 6 significant digits: ratios are near 1.
func ratio(f *output.Float) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(float64(*f), 'g', 6, 64)
}

func relOf(d *report.StateDiff) string {
	if d == nil {
		return "-"
	}
	return output.Num(d.RelChange)
}

func describeRef(r report.CheckpointRef) string {
	s := fmt.Sprintf("%s (%s %s", r.Path, r.Layout, r.Tag)
	if r.Step != nil {
		s += fmt.Sprintf(", step %d", *r.Step)
	}
	return s + fmt.Sprintf(", %d parameters)", r.Params)
}

func writeDiffText(w io.Writer, doc report.Diff) error {
	fmt.Fprintf(w, "A: %s\nB: %s\n\n", describeRef(doc.A), describeRef(doc.B))
	if doc.Groups != nil {
		tw := output.TableWriter{Headers: []string{"group", "params", "|A|", "|B-A|", "rel", "1-cos", "|B|/|A|", "bf16 rel", "m rel", "v rel"}, Align: rightCols(10)}
		for _, g := range doc.Groups {
			fp := g.FP32
			if fp == nil {
				fp = &report.StateDiff{}
			}
			tw.Add(g.Name, strconv.Itoa(g.Params), output.Num(fp.AL2), output.Num(fp.DeltaL2), output.Num(fp.RelChange), oneMinusCos(g.FP32),
				ratio(fp.NormRatio), relOf(g.BF16), relOf(g.ExpAvg), relOf(g.ExpAvgSq))
		}
		if err := tw.WriteText(w); err != nil {
			return err
		}
	} else {
		tw := output.TableWriter{Headers: []string{"parameter", "shape", "|A|", "|B-A|", "rel", "1-cos", "|B|/|A|", "bf16 rel", "m rel", "v rel"}, Align: rightCols(10)}
		tw.Align[1] = output.Left
		for _, p := range doc.Params {
			shape := output.ShapeCompact(p.ShapeA)
			if p.ShapeMismatch {
				shape += " vs " + output.ShapeCompact(p.ShapeB)
			}
			fp := p.FP32
			if fp == nil {
				fp = &report.StateDiff{}
			}
			tw.Add(shortName(p.Name, 44), shape, output.Num(fp.AL2), output.Num(fp.DeltaL2), output.Num(fp.RelChange), oneMinusCos(p.FP32),
				ratio(fp.NormRatio), relOf(p.BF16), relOf(p.ExpAvg), relOf(p.ExpAvgSq))
		}
		if err := tw.WriteText(w); err != nil {
			return err
		}
	}
	s := doc.Summary
	fmt.Fprintln(w)
	gt := output.TableWriter{Headers: []string{"all parameters", "|A|", "|B|", "|B-A|", "rel", "1-cos", "|B|/|A|", "changed", "skipped"}, Align: rightCols(9)}
	for _, st := range []struct {
		name string
		d    *report.StateDiff
	}{{"fp32", s.Global.FP32}, {"bf16", s.Global.BF16}, {"exp_avg", s.Global.ExpAvg}, {"exp_avg_sq", s.Global.ExpAvgSq}} {
		if st.d == nil {
			continue
		}
		gt.Add(st.name, output.Num(st.d.AL2), output.Num(st.d.BL2), output.Num(st.d.DeltaL2), output.Num(st.d.RelChange), oneMinusCos(st.d),
			ratio(st.d.NormRatio), output.Count(st.d.Changed), output.Count(st.d.Skipped))
	}
	if len(gt.Rows) > 0 {
		if err := gt.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	list := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		const show = 10
		n, more := len(names), ""
		if n > show {
			more = fmt.Sprintf(" and %d more", n-show)
			names = names[:show]
		}
		fmt.Fprintf(w, "%s (%d): %s%s\n", what, n, strings.Join(names, ", "), more)
	}
	list("only in A", s.OnlyInA)
	list("only in B", s.OnlyInB)
	list("shapes differ, not compared", s.ShapeMismatch)
	step := "step ? -> ?"
	if s.StepA != nil && s.StepB != nil {
		step = fmt.Sprintf("step %d -> %d (%+d)", *s.StepA, *s.StepB, *s.StepDelta)
	} else if s.StepA != nil || s.StepB != nil {
		step = fmt.Sprintf("step %s -> %s", optInt(s.StepA), optInt(s.StepB))
	}
	fmt.Fprintf(w, "%s: %d parameters compared, %d only in A, %d only in B, %d with different shapes; %s scanned\n",
		step, s.ParamsCompared, len(s.OnlyInA), len(s.OnlyInB), len(s.ShapeMismatch), output.Bytes(s.BytesScanned))
	if s.DeltaNorm != nil {
		fmt.Fprintf(w, "fp32 weights moved by %s (relative %s)\n", output.Num(s.DeltaNorm), output.Num(s.RelChange))
	}
	return nil
}

// diffStateColumns are the CSV columns of one state comparison.
var diffStateColumns = []string{"compared", "delta_l2", "rel_change", "cosine", "norm_ratio", "a_l2", "b_l2", "max_abs_delta", "pairs", "skipped", "changed"}

func diffStateCells(d *report.StateDiff) []string {
	if d == nil {
		return make([]string, len(diffStateColumns))
	}
	return []string{strconv.FormatBool(d.Compared), csvNum(d.DeltaL2), csvNum(d.RelChange), csvNum(d.Cosine), csvNum(d.NormRatio),
		csvNum(d.AL2), csvNum(d.BL2), csvNum(d.MaxAbsDelta), strconv.FormatInt(d.Pairs, 10), strconv.FormatInt(d.Skipped, 10),
		strconv.FormatInt(d.Changed, 10)}
}

func diffHeaders(first ...string) []string {
	h := first
	for _, s := range ckpt.DiffStates() {
		for _, c := range diffStateColumns {
			h = append(h, string(s)+"_"+c)
		}
	}
	return h
}

func diffCSV(ps []report.ParamDiff) *output.TableWriter {
	tw := &output.TableWriter{Headers: diffHeaders("name", "shape_a", "shape_b", "numel", "shape_mismatch")}
	for _, p := range ps {
		row := []string{p.Name, output.ShapeCompact(p.ShapeA), output.ShapeCompact(p.ShapeB), strconv.FormatInt(p.Numel, 10), strconv.FormatBool(p.ShapeMismatch)}
		for _, d := range []*report.StateDiff{p.FP32, p.BF16, p.ExpAvg, p.ExpAvgSq} {
			row = append(row, diffStateCells(d)...)
		}
		tw.Add(row...)
	}
	return tw
}

func diffGroupCSV(gs []report.GroupDiff) *output.TableWriter {
	tw := &output.TableWriter{Headers: diffHeaders("group", "params")}
	for _, g := range gs {
		row := []string{g.Name, strconv.Itoa(g.Params)}
		for _, d := range []*report.StateDiff{g.FP32, g.BF16, g.ExpAvg, g.ExpAvgSq} {
			row = append(row, diffStateCells(d)...)
		}
		tw.Add(row...)
	}
	return tw
}
