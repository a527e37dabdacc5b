package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
)

// Histogram is the document `ckptinspect hist NAME CHECKPOINT --format
// json` prints.
type Histogram struct {
	Checkpoint CheckpointRef `json:"checkpoint"`
	Param      string        `json:"param"`
	State      string        `json:"state"`
	// Scale is "linear" (equal-width bins over [lo, hi]) or "log" (bins of
	// |x| by powers of ten, split by sign).
	Scale string `json:"scale"`
	// Lo and Hi are the linear range; null for log bins.
	Lo *output.Float `json:"lo"`
	Hi *output.Float `json:"hi"`
	// PerDecade is the number of log bins per power of ten (0 for linear).
	PerDecade int       `json:"per_decade"`
	Bins      []HistBin `json:"bins"`
	// Below and Above count the finite values outside [lo, hi] (linear).
	Below int64 `json:"below"`
	Above int64 `json:"above"`
	// Passes is the number of reads of the tensor: 2 when the range was
	// measured first, else 1.
	Passes int   `json:"passes"`
	Stats  Stats `json:"stats"`
}

// HistBin is one bin: values in [lo, hi) (the last linear bin includes
// hi). For log bins lo and hi bound |x|, and neg and pos split count by
// sign.
type HistBin struct {
	Lo    output.Float `json:"lo"`
	Hi    output.Float `json:"hi"`
	Count int64        `json:"count"`
	Neg   *int64       `json:"neg,omitempty"`
	Pos   *int64       `json:"pos,omitempty"`
}

// BuildHist turns a histogram into its JSON document.
func BuildHist(c *ckpt.Checkpoint, name, state string, h *ckpt.Hist, passes int) Histogram {
	doc := Histogram{Checkpoint: CheckpointRefOf(c), Param: name, State: state, Scale: "linear", Bins: []HistBin{},
		Below: h.Below, Above: h.Above, Passes: passes, Stats: FromStats(h.Stats)}
	if h.Spec.Log {
		doc.Scale, doc.PerDecade = "log", h.Spec.PerDecade
		for i := range h.Neg {
			neg, pos := h.Neg[i], h.Pos[i]
			k := h.MinBin + i
			doc.Bins = append(doc.Bins, HistBin{Lo: output.Float(h.LogEdge(k)), Hi: output.Float(h.LogEdge(k + 1)),
				Count: neg + pos, Neg: &neg, Pos: &pos})
		}
		return doc
	}
	if h.Counts == nil {
		return doc
	}
	doc.Lo, doc.Hi = output.Opt(h.Spec.Lo, true), output.Opt(h.Spec.Hi, true)
	width := (h.Spec.Hi - h.Spec.Lo) / float64(h.Spec.Bins)
	for i, n := range h.Counts {
		lo, hi := h.Spec.Lo+float64(i)*width, h.Spec.Lo+float64(i+1)*width
		if i == len(h.Counts)-1 {
			hi = h.Spec.Hi
		}
		doc.Bins = append(doc.Bins, HistBin{Lo: output.Float(lo), Hi: output.Float(hi), Count: n})
	}
	return doc
}

// barOf draws a bar of count out of most in width cells, with eighths.
func barOf(count, most int64, width int, logScale bool) string {
	if count <= 0 || most <= 0 {
		return ""
	}
	f := float64(count) / float64(most)
	if logScale {
		f = math.Log1p(float64(count)) / math.Log1p(float64(most))
	}
	eighths := int(math.Round(f * float64(width) * 8))
	eighths = max(eighths, 1) // a non-empty bin always shows
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// WriteHistText draws a histogram as text bars of at most width runes
// (fewer when the text's width needs), with bar lengths proportional to the
// counts or their logarithms.
func WriteHistText(w io.Writer, doc Histogram, width int, logCounts bool, t Text) error {
	ew, check := guard(w)
	return check(writeHistTextBody(ew, doc, width, logCounts, t))
}

func writeHistTextBody(w io.Writer, doc Histogram, width int, logCounts bool, t Text) error {
	st := doc.Stats
	t.printf(w, "  ", "%s %s %s (%s) in %s", doc.Param, doc.State, output.Shape(st.Shape), st.DType, describeRef(doc.Checkpoint))
	t.printf(w, "  ", "%s elements: min %s, max %s, mean %s, std %s, rms %s; NaN %s, Inf %s, zeros %s",
		output.Count(st.Numel), output.Num(st.Min), output.Num(st.Max), output.Num(st.Mean), output.Num(st.Std), output.Num(st.RMS),
		output.Count(st.NaN), output.Count(st.Inf), output.Count(st.Zeros))
	read := "read once"
	if doc.Passes == 2 {
		read = "range measured by a first pass: read twice"
	}
	var most int64
	for _, b := range doc.Bins {
		most = max(most, b.Count)
	}
	var tw *output.TableWriter
	if doc.Scale == "log" {
		if len(doc.Bins) == 0 {
			fmt.Fprintln(w, "no nonzero finite value")
			return nil
		}
		t.printf(w, "  ", "|x| in %d bins per decade (%s); %s zeros not binned", doc.PerDecade, read, output.Count(st.Zeros))
		tw = &output.TableWriter{Headers: []string{"|x| from", "to", "neg", "pos"}, Align: output.RightAligned(4)}
		for _, b := range doc.Bins {
			tw.Add(output.NumF(float64(b.Lo)), output.NumF(float64(b.Hi)), output.Count(*b.Neg), output.Count(*b.Pos))
		}
	} else {
		if len(doc.Bins) == 0 {
			fmt.Fprintln(w, "no finite value")
			return nil
		}
		t.printf(w, "  ", "%d bins of width %s over [%s, %s] (%s)", len(doc.Bins), output.NumF((float64(*doc.Hi)-float64(*doc.Lo))/float64(len(doc.Bins))),
			output.NumF(float64(*doc.Lo)), output.NumF(float64(*doc.Hi)), read)
		tw = &output.TableWriter{Headers: []string{"from", "to", "count"}, Align: output.RightAligned(3)}
		for _, b := range doc.Bins {
			tw.Add(output.NumF(float64(b.Lo)), output.NumF(float64(b.Hi)), output.Count(b.Count))
		}
	}
	tw.Align[0] = output.Right
	if t.Width > 0 {
		var sb strings.Builder
		tw.WriteText(&sb)
		used := len(strings.SplitN(sb.String(), "\n", 2)[0])
		width = max(1, min(width, t.Width-used-2))
	}
	tw.Headers = append(tw.Headers, "")
	for i, b := range doc.Bins {
		tw.Rows[i] = append(tw.Rows[i], barOf(b.Count, most, width, logCounts))
	}
	fmt.Fprintln(w)
	if err := tw.WriteText(w); err != nil {
		return err
	}
	if doc.Below+doc.Above > 0 {
		fmt.Fprintf(w, "\noutside the range: %s below, %s above\n", output.Count(doc.Below), output.Count(doc.Above))
	}
	return nil
}

// WriteHist writes a histogram in the given output format: the document
// as JSON, the bins as CSV, or bars of at most width runes.
func WriteHist(w io.Writer, f output.Format, doc Histogram, width int, logCounts bool, t Text) error {
	switch f {
	case output.JSON:
		return output.WriteJSON(w, doc)
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"lo", "hi", "count"}}
		if doc.Scale == "log" {
			tw.Headers = append(tw.Headers, "neg", "pos")
		}
		for _, b := range doc.Bins {
			row := []string{CSVNum(&b.Lo), CSVNum(&b.Hi), strconv.FormatInt(b.Count, 10)}
			if b.Neg != nil {
				row = append(row, strconv.FormatInt(*b.Neg, 10), strconv.FormatInt(*b.Pos, 10))
			}
			tw.Add(row...)
		}
		return tw.WriteCSV(w)
	}
	return WriteHistText(w, doc, width, logCounts, t)
}
