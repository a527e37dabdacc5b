package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/layout"
)

// Text configures the text (table) output of the writers.
type Text struct {
	// Width is the columns lines may use (0: no bound). Tables fit it by
	// leaving out their least important columns and shortening names in
	// the middle; other lines are wrapped.
	Width int
	// Note, when set, receives remarks on the presentation (the columns
	// left out to fit Width), for standard error.
	Note func(string)
}

// printf writes a paragraph wrapped to the width.
func (t Text) printf(w io.Writer, indent, format string, args ...any) {
	output.Fprintw(w, t.Width, indent, format, args...)
}

// wrapped runs write, which writes whole lines, and writes them wrapped
// to the width.
func (t Text) wrapped(w io.Writer, write func(io.Writer)) {
	var b strings.Builder
	write(&b)
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if b.Len() > 0 {
			indent := strings.Repeat(" ", len(l)-len(strings.TrimLeft(l, " "))+2)
			t.printf(w, indent, "%s", l)
		}
	}
}

// table writes a table fitted to the width, and says which columns were
// left out.
func (t Text) table(w io.Writer, tw *output.TableWriter) error {
	tw.MaxWidth = t.Width
	if err := tw.WriteText(w); err != nil {
		return err
	}
	if h := tw.Hidden(); len(h) > 0 && t.Note != nil {
		what := "columns " + strings.Join(h, ", ")
		if len(h) == 1 {
			what = "column " + h[0]
		}
		t.Note(fmt.Sprintf("%s left out to fit %d columns (--wide or --format csv shows every column)", what, t.Width))
	}
	return nil
}

// statColumns are the columns of the per-parameter and per-layer tables
// of stats after the first two (name and shape, or layer and parameter
// count), with the rank in which they are left out to fit a narrow
// terminal (0: never).
var statColumns = []struct {
	header string
	drop   int
}{{"fp32 rms", 0}, {"absmax", 5}, {"bf16 rms", 4}, {"m rms", 2}, {"v mean", 1}, {"upd rms", 3}, {"upd/w", 0}, {"bad", 0}}

// statTable returns an empty table with the stats columns after first.
func statTable(first ...string) *output.TableWriter {
	tw := &output.TableWriter{Headers: first, Drop: make([]int, len(first))}
	for _, c := range statColumns {
		tw.Headers = append(tw.Headers, c.header)
		tw.Drop = append(tw.Drop, c.drop)
	}
	tw.Align = output.RightAligned(len(tw.Headers))
	return tw
}

// statCells returns the cells of the stats columns.
func statCells(fp32RMS, absmax, bf16RMS, mRMS, vMean, updRMS, updW *output.Float, bad int64) []string {
	return []string{output.Num(fp32RMS), output.Num(absmax), output.Num(bf16RMS), output.Num(mRMS), output.Num(vMean),
		output.Num(updRMS), output.Num(updW), output.Count(bad)}
}

// GroupTable returns the table of --group-by layer groups: for text, the
// columns of the per-parameter table (layer and parameter count in place
// of name and shape); for CSV, every figure with snake_case headers.
func GroupTable(gs []GroupStats, csv bool) *output.TableWriter {
	if !csv {
		tw := statTable("layer", "params")
		for _, g := range gs {
			tw.Add(append([]string{g.Name, strconv.Itoa(g.Params)},
				statCells(g.WeightRMS, g.WeightAbsMax, g.BF16RMS, g.ExpAvgRMS, g.ExpAvgSqMean, g.UpdateRMS, g.UpdateToWeight, g.NaN+g.Inf)...)...)
		}
		addEffectiveGroupColumn(tw, gs, csv)
		return tw
	}
	tw := &output.TableWriter{Headers: []string{"group", "params", "numel", "weight_norm", "weight_rms", "exp_avg_rms",
		"exp_avg_sq_mean", "bf16_rms", "update_rms", "update_to_weight", "nan", "inf", "weight_std", "weight_absmax", "exp_avg_absmax", "exp_avg_sq_max"}}
	for _, g := range gs {
		tw.Add(g.Name, strconv.Itoa(g.Params), strconv.FormatInt(g.Numel, 10), CSVNum(g.WeightNorm), CSVNum(g.WeightRMS), CSVNum(g.ExpAvgRMS),
			CSVNum(g.ExpAvgSqMean), CSVNum(g.BF16RMS), CSVNum(g.UpdateRMS), CSVNum(g.UpdateToWeight), strconv.FormatInt(g.NaN, 10),
			strconv.FormatInt(g.Inf, 10), CSVNum(g.WeightStd), CSVNum(g.WeightAbsMax), CSVNum(g.ExpAvgAbsMax), CSVNum(g.ExpAvgSqMax))
	}
	addEffectiveGroupColumn(tw, gs, csv)
	return tw
}

// optInt formats an optional integer for text, "?" for nil.
func optInt(p *int64) string {
	if p == nil {
		return "?"
	}
	return strconv.FormatInt(*p, 10)
}

// writeHeader writes what a checkpoint is: its path; its layout, tag and
// step; ZeRO stage, parallel sizes and DeepSpeed version; the optimizer
// groups; and the notes.
func (t Text) writeHeader(w io.Writer, ci CheckpointInfo) {
	fmt.Fprintln(w, ci.Path)
	what := fmt.Sprintf("%s checkpoint %s", layout.Title(ci.Layout), ci.Tag)
	if ci.Step != nil {
		what += " at step " + strconv.FormatInt(*ci.Step, 10)
	}
	t.printf(w, "    ", "  %s", what)
	var facts []string
	if ci.ZeroStage != nil {
		facts = append(facts, "ZeRO stage "+strconv.FormatInt(*ci.ZeroStage, 10))
	}
	if ci.DPWorldSize != nil || ci.MPWorldSize != nil {
		facts = append(facts, fmt.Sprintf("data parallel %s x model parallel %s", optInt(ci.DPWorldSize), optInt(ci.MPWorldSize)))
	}
	if ci.DSVersion != "" {
		facts = append(facts, "DeepSpeed "+ci.DSVersion)
	}
	if len(facts) > 0 {
		t.printf(w, "    ", "  %s", strings.Join(facts, ", "))
	}
	if ci.TrainingArgs != "" {
		t.printf(w, "    ", "  training arguments: %s", ci.TrainingArgs)
	}
	if len(ci.ParamGroups) > 0 {
		fmt.Fprintln(w, "  optimizer groups:")
	}
	for i, g := range ci.ParamGroups {
		betas := "-"
		if len(g.Betas) == 2 {
			betas = output.NumF(float64(g.Betas[0])) + ", " + output.NumF(float64(g.Betas[1]))
		}
		t.printf(w, "      ", "    %d: %d params, lr %s, betas (%s), eps %s, weight decay %s", i, len(g.Params),
			output.Num(g.LR), betas, output.Num(g.Eps), output.Num(g.WeightDecay))
	}
	for _, n := range ci.Notes {
		t.printf(w, "    ", "  note: %s", n)
	}
}

// health writes the health summary: NaN and Inf totals, what has them,
// and the global norms.
func (t Text) health(w io.Writer, s Summary, findings string) {
	t.printf(w, "  ", "health: NaN %s, Inf %s; %s", output.Count(s.NaN), output.Count(s.Inf), findings)
	t.printf(w, "    ", "  global %s", norms(s))
}

// norms formats the global norms of the states some parameter has.
func norms(s Summary) string {
	var parts []string
	for _, n := range []struct {
		state string
		norm  output.Float
	}{{"fp32", s.WeightNorm}, {"bf16", s.BF16Norm}, {"exp_avg", s.ExpAvgNorm}, {"exp_avg_sq", s.ExpAvgSqNorm}} {
		if s.States == nil || s.States[n.state] > 0 {
			parts = append(parts, n.state+" "+output.NumF(float64(n.norm)))
		}
	}
	if len(parts) == 0 {
		return "norms: none (nothing measured)"
	}
	return "norms: " + strings.Join(parts, ", ")
}

// badParams names the parameters with NaN or Inf values.
func badParams(s Summary) string {
	bad := s.NonFinite
	switch {
	case len(bad) == 0:
		return fmt.Sprintf("none of the %d parameters has NaN or Inf", s.Params)
	case len(bad) > 3:
		return fmt.Sprintf("in %d parameters: %s and %d more", len(bad), strings.Join(bad[:3], ", "), len(bad)-3)
	}
	return fmt.Sprintf("in %d parameters: %s", len(bad), strings.Join(bad, ", "))
}

// WriteStatsText writes a checkpoint's statistics as text: the header and
// the health summary, the table, and the summary again in one line.
func WriteStatsText(w io.Writer, doc CheckpointStats, t Text) error {
	ew, check := guard(w)
	return check(writeStatsTextBody(ew, doc, t))
}

func writeStatsTextBody(w io.Writer, doc CheckpointStats, t Text) error {
	s := doc.Summary
	t.writeHeader(w, doc.Checkpoint)
	t.wrapped(w, func(w io.Writer) { writeEffectiveNotes(w, doc) })
	t.health(w, s, badParams(s))
	fmt.Fprintln(w)
	if doc.Groups != nil {
		if err := t.table(w, GroupTable(doc.Groups, false)); err != nil {
			return err
		}
	} else {
		tw := statTable("parameter", "shape")
		tw.Align[1] = output.Left
		var scales []ParamStats
		for _, p := range doc.Params {
			get := func(s *Stats, f func(*Stats) *output.Float) *output.Float {
				if s == nil {
					return nil
				}
				return f(s)
			}
			rms := func(s *Stats) *output.Float { return s.RMS }
			var upd, ratio *output.Float
			if p.Adam != nil {
				upd, ratio = p.Adam.UpdateRMS, p.Adam.UpdateToWeight
			}
			tw.Add(append([]string{p.Name, output.ShapeCompact(p.Shape)},
				statCells(get(p.FP32, rms), get(p.FP32, func(s *Stats) *output.Float { return s.AbsMax }), get(p.BF16, rms), get(p.ExpAvg, rms),
					get(p.ExpAvgSq, func(s *Stats) *output.Float { return s.Mean }), upd, ratio, countAll(&p, "nan")+countAll(&p, "inf"))...)...)
			if p.Scale {
				scales = append(scales, p)
			}
		}
		addEffectiveColumn(tw, doc, doc.Params)
		if err := t.table(w, tw); err != nil {
			return err
		}
		if len(scales) > 0 {
			fmt.Fprintln(w)
			st := &output.TableWriter{Headers: []string{"scale factor", "value", "bf16", "m", "v", "upd/w"}, Align: output.RightAligned(6),
				Drop: []int{0, 0, 3, 1, 2, 0}}
			for _, p := range scales {
				bf, m, v, ratio := "-", "-", "-", "-"
				if p.BF16 != nil {
					bf = output.Num(p.BF16.Mean)
				}
				if p.ExpAvg != nil {
					m = output.Num(p.ExpAvg.Mean)
				}
				if p.ExpAvgSq != nil {
					v = output.Num(p.ExpAvgSq.Mean)
				}
				if p.Adam != nil {
					ratio = output.Num(p.Adam.UpdateToWeight)
				}
				st.Add(p.Name, output.Num(p.ScaleValue), bf, m, v, ratio)
			}
			if err := t.table(w, st); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(w)
	step := ""
	if s.Step != nil {
		step = fmt.Sprintf("step %d: ", *s.Step)
	}
	eff := ""
	if s.SummaryEffective != nil {
		eff = "; effective weights: global norm " + output.NumF(float64(s.EffectiveNorm))
	}
	t.printf(w, "  ", "%s%d parameters, %s elements, %s scanned; NaN %s, Inf %s; %s%s", step, s.Params,
		output.Count(s.Numel), output.Bytes(s.BytesScanned), output.Count(s.NaN), output.Count(s.Inf), norms(s), eff)
	return nil
}

// WriteFileStats writes the statistics of a file's tensors in the given
// output format.
func WriteFileStats(w io.Writer, f output.Format, doc FileStats, t Text) error {
	if f == output.JSON {
		return output.WriteJSON(w, doc)
	}
	tw := &output.TableWriter{
		Headers: []string{"name", "dtype", "shape", "numel", "l2", "rms", "mean", "std", "min", "max", "absmax", "nan", "inf", "zeros"},
		Align:   []output.Align{output.Left, output.Left, output.Left, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right, output.Right},
		Drop:    []int{0, 0, 0, 7, 8, 0, 5, 4, 3, 2, 6, 0, 0, 1},
	}
	for _, r := range doc.Tensors {
		if f == output.CSV {
			tw.Add(r.Name, r.DType, output.ShapeCompact(r.Shape), strconv.FormatInt(r.Numel, 10),
				CSVNum(r.L2), CSVNum(r.RMS), CSVNum(r.Mean), CSVNum(r.Std), CSVNum(r.Min), CSVNum(r.Max), CSVNum(r.AbsMax),
				strconv.FormatInt(r.NaN, 10), strconv.FormatInt(r.Inf, 10), strconv.FormatInt(r.Zeros, 10))
			continue
		}
		tw.Add(r.Name, r.DType, output.ShapeCompact(r.Shape), output.Count(r.Numel),
			output.Num(r.L2), output.Num(r.RMS), output.Num(r.Mean), output.Num(r.Std), output.Num(r.Min), output.Num(r.Max), output.Num(r.AbsMax),
			output.Count(r.NaN), output.Count(r.Inf), output.Count(r.Zeros))
	}
	if f == output.CSV {
		return tw.WriteCSV(w)
	}
	return t.table(w, tw)
}

// WriteStats writes a checkpoint's statistics in the given output format:
// the document as JSON; the group or parameter table as CSV; text tables.
func WriteStats(w io.Writer, f output.Format, doc CheckpointStats, t Text) error {
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
		if doc.Groups != nil {
			return GroupTable(doc.Groups, true).WriteCSV(w)
		}
		return ParamCSV(doc.Params).WriteCSV(w)
	}
	return WriteStatsText(w, doc, t)
}

// errWriter remembers the first error of the writes to w (and drops the
// writes after it), so that text writers made of many small writes report
// a standard output that cannot be written.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// guard wraps w, and returns a function giving the first error (or err,
// when there was none).
func guard(w io.Writer) (*errWriter, func(err error) error) {
	ew := &errWriter{w: w}
	return ew, func(err error) error {
		if ew.err != nil {
			return ew.err
		}
		return err
	}
}
