// Package verify checks that a checkpoint's optimizer state is intact
// before training resumes from it.
//
// [Run] turns the structural issues found while opening the checkpoint into
// findings, then runs one scan over every byte (the scan `stats` does, with
// the master and module weights read together) and checks shapes, values,
// steps, the master-vs-module rounding and the optimizer groups. Only the
// rare tensors already known to be bad are read a second time, to locate
// their first bad element. With Options.Deep it also recomputes the CRC-32
// of every zip record, in the same pass: the scan hashes what it reads and
// only the bytes no statistic needs are read again. Every finding names its
// check (a stable id, listed in [ckpt.Checks]), its severity, the
// parameter and the file.
package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// ErrConfig is wrapped by the error of Run when the config file named by
// Options.Config cannot be read (a problem of the command line, not a
// finding of the checkpoint).
var ErrConfig = errors.New("--config")

// Finding is one problem found.
type Finding struct {
	Check    ckpt.CheckID
	Severity ckpt.Severity
	// Layout names the copy the finding is about when a folder holds
	// several ([Target]); "" otherwise.
	Layout  string
	Param   string
	File    string
	Message string
}

// Options configures [Run].
type Options struct {
	Workers  int
	Progress func(bytes int64)
	// Deep recomputes the CRC-32 of every zip record.
	Deep bool
	// Config is the model config the scale factors are checked under; ""
	// finds the checkpoint's (ckpt.FindConfig).
	Config string
}

// Report is what [Run] found.
type Report struct {
	Findings []Finding
	Params   int
	Files    int
	// BytesScanned counts tensor bytes read by the value scan; BytesDeep
	// the bytes read by the CRC pass.
	BytesScanned, BytesDeep int64
	Errors, Warnings        int
	// Summary is the value scan's: global norms, NaN and Inf totals.
	Summary ckpt.Summary
	// Skipped lists the checks that did not apply, with why.
	Skipped []Skip
	// Config names the model config the scale factors were checked under,
	// "" when there was none (only their names were checked).
	Config string
}

// Skip is a check that was not run, and why.
type Skip struct {
	Check  ckpt.CheckID
	Reason string
}

// optimizerChecks are the checks of optimizer state and master weights: a
// weights-only checkpoint has none of them.
var optimizerChecks = []ckpt.CheckID{ckpt.CheckMissingState, ckpt.CheckParamNames, ckpt.CheckMissingRank, ckpt.CheckFragments,
	ckpt.CheckModelStates, ckpt.CheckOptimizerState, ckpt.CheckShapes, ckpt.CheckNegativeExpAvg, ckpt.CheckStaleMoments,
	ckpt.CheckStep, ckpt.CheckTrainerStep, ckpt.CheckMaster, ckpt.CheckGroups}

// Run checks c: [Begin], [ScanValues] of every parameter, with
// Options.Deep [CheckCRC] of every file, then [Report.Finish].
func Run(ctx context.Context, c *ckpt.Checkpoint, opt Options) (*Report, error) {
	r, err := Begin(c, opt)
	if err != nil {
		return nil, err
	}
	// With Deep, the CRC-32s come out of the same pass: the value scan
	// hashes every range it reads, and the CRC pass reads only the bytes
	// no statistic needs (pickles, padding, records of no parameter).
	var seen *readCRCs
	if opt.Deep {
		seen = newReadCRCs()
	}
	v, err := scanValues(ctx, c, opt, nil, seen)
	if err != nil {
		return nil, err
	}
	var crc *CRC
	if opt.Deep {
		if crc, err = checkCRC(ctx, c, opt, nil, seen); err != nil {
			return nil, err
		}
	}
	r.Finish(c, v, crc)
	return r, nil
}

// Begin runs the checks of c that read no tensor data — the structural
// issues found while opening, the structure, shapes, steps, optimizer
// groups, config shapes and scale factors — and returns the report
// holding their findings and the checks that do not apply. [Report.Finish]
// completes it with the value scan and the CRC pass.
func Begin(c *ckpt.Checkpoint, opt Options) (*Report, error) {
	r := &Report{Params: len(c.Params), Files: len(c.Files)}
	for _, is := range c.Issues {
		sev := is.Severity
		switch {
		case sev == ckpt.Info:
			continue
		case is.Check == ckpt.CheckModelStates || is.Check == ckpt.CheckOptimizerState:
			sev = ckpt.Error // resuming needs both files
		}
		r.add(Finding{Check: is.Check, Severity: sev, Param: is.Param, File: is.File, Message: is.Message})
	}
	if c.WeightsOnly {
		for _, id := range optimizerChecks {
			r.Skipped = append(r.Skipped, Skip{id, "weights only: no optimizer state or master weights"})
		}
	} else {
		checkStructure(r, c)
		checkShapes(r, c)
		checkSteps(r, c)
		checkGroups(r, c)
	}
	if why := checkConfigShapes(r, c); why != "" {
		r.Skipped = append(r.Skipped, Skip{ckpt.CheckConfigShapes, why})
	}
	records := false
	for _, f := range c.Files {
		records = records || len(f.Records) > 0
	}
	switch {
	case !opt.Deep:
		r.Skipped = append(r.Skipped, Skip{ckpt.CheckCRC, "without --deep"})
	case !records:
		r.Skipped = append(r.Skipped, Skip{ckpt.CheckCRC, "no zip record: the files carry no checksum"})
	}
	if err := checkScaleFactors(r, c, opt.Config); err != nil {
		return nil, err
	}
	return r, nil
}

// Values is what [ScanValues] measured and found.
type Values struct {
	// Params are the results of the parameters scanned, in c.Params
	// order; Findings[i] the value findings of Params[i].
	Params   []*ckpt.ParamResult
	Findings [][]Finding
	// Bytes counts the tensor bytes read by the scan.
	Bytes int64
}

// ScanValues runs the value scan (the scan of stats, with each parameter's
// fp32 master and module weights read together and compared) over the
// parameters of c that keep accepts (all when keep is nil), and checks
// each one's values (values.*, master.mismatch; a parameter that could not
// be read is a structure.unreadable finding). A tensor found to hold bad
// values is read once more to locate the first. Each parameter's results
// and findings depend on it alone.
func ScanValues(ctx context.Context, c *ckpt.Checkpoint, opt Options, keep func(*ckpt.Param) bool) (*Values, error) {
	return scanValues(ctx, c, opt, keep, nil)
}

// scanValues is ScanValues hashing what it reads into seen, when not nil.
func scanValues(ctx context.Context, c *ckpt.Checkpoint, opt Options, keep func(*ckpt.Param) bool, seen *readCRCs) (*Values, error) {
	sopt := ckpt.ScanOptions{Workers: opt.Workers, Progress: opt.Progress, Compare: true, Filter: keep}
	if seen != nil {
		sopt.OnReadCRC = seen.add
	}
	res, err := ckpt.Scan(ctx, c, sopt)
	if err != nil {
		return nil, err
	}
	v := &Values{Params: res.Params, Bytes: res.Summary.BytesScanned}
	for _, pr := range res.Params {
		var r Report
		checkValues(&r, pr)
		v.Findings = append(v.Findings, r.Findings)
	}
	return v, nil
}

// Finish completes a report [Begin] started with the value scan v of every
// parameter of c (the results of several ScanValues of disjoint parameter
// sets put together in c.Params order) and, when not nil, the CRC pass
// crc of every file: the value scan's summary (ckpt.Assemble), the value
// findings in parameter order, then the CRC findings in file order, and
// sorts the findings by check (in ckpt.Checks order), then parameter.
func (r *Report) Finish(c *ckpt.Checkpoint, v *Values, crc *CRC) {
	r.BytesScanned = v.Bytes
	r.Summary = ckpt.Assemble(c, v.Params, v.Bytes, ckpt.ScanOptions{}).Summary
	for _, fs := range v.Findings {
		for _, f := range fs {
			r.add(f)
		}
	}
	if crc != nil {
		r.BytesDeep = crc.Bytes
		for _, fs := range crc.Findings {
			for _, f := range fs {
				r.add(f)
			}
		}
	}
	order := map[ckpt.CheckID]int{}
	for i, ch := range ckpt.Checks() {
		order[ch.ID] = i
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if order[a.Check] != order[b.Check] {
			return order[a.Check] < order[b.Check]
		}
		return a.Param < b.Param
	})
}

func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	switch f.Severity {
	case ckpt.Error:
		r.Errors++
	case ckpt.Warning:
		r.Warnings++
	}
}

func (r *Report) addf(check ckpt.CheckID, sev ckpt.Severity, param, file, format string, args ...any) {
	r.add(Finding{Check: check, Severity: sev, Param: param, File: file, Message: fmt.Sprintf(format, args...)})
}

func checkStructure(r *Report, c *ckpt.Checkpoint) {
	for _, m := range c.Missing() {
		if !unreadable(c, m.Param, string(m.State)) {
			r.addf(ckpt.CheckMissingState, ckpt.Error, m.Param, "", "parameter %s has no %s.pt", m.Param, m.State)
		}
	}
}

// unreadable reports whether opening found the state file of a parameter
// unreadable (already a finding of its own).
func unreadable(c *ckpt.Checkpoint, param, state string) bool {
	for _, is := range c.Issues {
		if is.Param == param && is.Check == ckpt.CheckFragments {
			return true // the fragments finding says why the state is missing
		}
		if is.Param == param && (is.Check == ckpt.CheckUnreadable || is.Check == ckpt.CheckTruncated) &&
			len(is.File) > len(state)+3 && is.File[len(is.File)-len(state)-3:] == state+".pt" {
			return true
		}
	}
	return false
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isVocab(p *ckpt.Param, state ckpt.State) bool {
	v, _ := p.Keys[string(state)]["vocab_tensor"].(bool)
	return v
}

func checkShapes(r *Report, c *ckpt.Checkpoint) {
	for _, p := range c.Params {
		want, known := c.ModelShapes[p.Name]
		for _, t := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq} {
			if t == nil {
				continue
			}
			switch {
			case known && sameShape(t.Shape, want):
			case known && isVocab(p, t.State) && len(t.Shape) == len(want) && len(want) > 0 &&
				t.Shape[0] <= want[0] && sameShape(t.Shape[1:], want[1:]):
				// A vocabulary tensor without its padding rows.
			case known:
				r.addf(ckpt.CheckShapes, ckpt.Error, p.Name, t.File, "%s of %s has shape %v, param_shapes says %v", t.State, p.Name, t.Shape, want)
			case p.FP32 != nil && !sameShape(t.Shape, p.FP32.Shape):
				r.addf(ckpt.CheckShapes, ckpt.Error, p.Name, t.File, "%s of %s has shape %v, fp32 has %v", t.State, p.Name, t.Shape, p.FP32.Shape)
			}
		}
		if p.BF16 != nil && known && !sameShape(p.BF16.Shape, want) {
			r.addf(ckpt.CheckShapes, ckpt.Error, p.Name, p.BF16.File, "module weight of %s has shape %v, param_shapes says %v", p.Name, p.BF16.Shape, want)
		}
	}
}

func checkSteps(r *Report, c *ckpt.Checkpoint) {
	want := c.Step
	if want == nil {
		// Without global_steps, the most common step is the reference.
		counts := map[int64]int{}
		for _, p := range c.Params {
			if p.Step != nil {
				counts[*p.Step]++
			}
		}
		best := -1
		for s, n := range counts {
			if n > best || (n == best && s < *want) {
				s := s
				want, best = &s, n
			}
		}
	}
	if want == nil {
		return
	}
	for _, p := range c.Params {
		if p.Step != nil && *p.Step != *want {
			r.addf(ckpt.CheckStep, ckpt.Error, p.Name, p.StepFile, "parameter %s is at step %d, the checkpoint at step %d", p.Name, *p.Step, *want)
		}
	}
	if c.TrainerStep != nil && c.Step != nil && *c.TrainerStep != *c.Step {
		r.addf(ckpt.CheckTrainerStep, ckpt.Warning, "", "trainer_state.json", "trainer_state.json says global_step %d, the model states %d", *c.TrainerStep, *c.Step)
	}
}

func checkGroups(r *Report, c *ckpt.Checkpoint) {
	for _, g := range c.ParamGroups {
		var bad []string
		if g.LR == nil || !(*g.LR >= 0) || math.IsInf(*g.LR, 0) {
			bad = append(bad, "lr "+optString(g.LR))
		}
		if g.Betas == nil {
			bad = append(bad, "betas missing")
		} else {
			for i, b := range g.Betas {
				if !(b >= 0 && b < 1) {
					bad = append(bad, fmt.Sprintf("beta%d %v not in [0, 1)", i+1, b))
				}
			}
		}
		if g.Eps == nil || !(*g.Eps > 0) || math.IsInf(*g.Eps, 0) {
			bad = append(bad, "eps "+optString(g.Eps))
		}
		for _, b := range bad {
			r.addf(ckpt.CheckGroups, ckpt.Error, "", "", "param group %d: %s", g.Index, b)
		}
	}
}

// checkScaleFactors checks that every scale factor has a known target
// under the model config (yulan.Check), and that the config parses.
func checkScaleFactors(r *Report, c *ckpt.Checkpoint, explicit string) error {
	var params []yulan.Param
	scales := false
	for _, p := range c.Params {
		params = append(params, yulan.Param{Name: p.Name, Numel: p.Numel()})
		scales = scales || yulan.IsAlpha(p.Name)
	}
	cfg, src, err := ckpt.FindConfig(c, explicit)
	file := src
	if c.Config != nil && explicit == "" {
		file = "config.json"
	}
	switch {
	case err == nil:
		r.Config = src
	case errors.Is(err, ckpt.ErrNoConfig):
		cfg = nil
	case explicit != "" && !errors.Is(err, yulan.ErrConfig):
		return fmt.Errorf("%w: %w", ErrConfig, err) // not a finding of the checkpoint
	default:
		sev, what := ckpt.Warning, "the config's multipliers cannot be known"
		if scales {
			sev, what = ckpt.Error, "the scale factors' multipliers cannot be known"
		}
		if file == "" {
			file = "config.json"
		}
		r.addf(ckpt.CheckScaleFactors, sev, "", file, "%v: %s", err, what)
		cfg = nil
	}
	for _, e := range yulan.Check(cfg, params) {
		param := ""
		var pe *yulan.ParamError
		if errors.As(e, &pe) {
			param = pe.Param
		}
		msg := e.Error()
		if cfg != nil {
			msg += " (config: " + src + ")"
		}
		r.addf(ckpt.CheckScaleFactors, ckpt.Error, param, file, "%s", msg)
	}
	return nil
}

func optString(f *float64) string {
	if f == nil {
		return "missing"
	}
	return fmt.Sprint(*f)
}

func checkValues(r *Report, pr *ckpt.ParamResult) {
	p := pr.Param
	if pr.Err != nil {
		r.addf(ckpt.CheckUnreadable, ckpt.Error, p.Name, "", "reading %s: %v", p.Name, pr.Err)
		return
	}
	for _, st := range []struct {
		t *ckpt.Tensor
		s *tensor.Stats
	}{{p.FP32, pr.FP32}, {p.ExpAvg, pr.ExpAvg}, {p.ExpAvgSq, pr.ExpAvgSq}, {p.BF16, pr.BF16}} {
		if st.s == nil || st.s.NaN+st.s.Inf == 0 {
			continue
		}
		first := firstIndex(st.t, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) })
		r.addf(ckpt.CheckNonFinite, ckpt.Error, p.Name, st.t.File, "%s of %s has %d NaN and %d Inf of %d elements; the first at flat index %d",
			st.t.State, p.Name, st.s.NaN, st.s.Inf, st.s.Numel, first)
	}
	if s := pr.ExpAvgSq; s != nil && s.Valid() && s.Min < 0 {
		n, first := countWhere(p.ExpAvgSq, func(x float64) bool { return x < 0 })
		r.addf(ckpt.CheckNegativeExpAvg, ckpt.Error, p.Name, p.ExpAvgSq.File, "exp_avg_sq of %s has %d negative elements (min %g); the first at flat index %d",
			p.Name, n, s.Min, first)
	}
	step := int64(0)
	if p.Step != nil {
		step = *p.Step
	}
	if step > 0 {
		for _, st := range []struct {
			t *ckpt.Tensor
			s *tensor.Stats
		}{{p.ExpAvg, pr.ExpAvg}, {p.ExpAvgSq, pr.ExpAvgSq}} {
			if st.s != nil && st.s.Numel > 0 && st.s.Zeros == st.s.Numel {
				r.addf(ckpt.CheckStaleMoments, ckpt.Warning, p.Name, st.t.File, "%s of %s is entirely zero at step %d", st.t.State, p.Name, step)
			}
		}
	}
	if m := pr.Master; m != nil && m.Mismatch > 0 {
		r.addf(ckpt.CheckMaster, ckpt.Error, p.Name, p.BF16.File, "module weight of %s differs from the fp32 master rounded to %s in %d of %d elements (largest difference %g, first at flat index %d)",
			p.Name, p.BF16.DType, m.Mismatch, m.Compared, m.MaxDiff, m.First)
	}
}

// firstIndex returns the flat index of the first element of t for which
// pred holds, or -1.
func firstIndex(t *ckpt.Tensor, pred func(float64) bool) int64 {
	_, first := scanWhere(t, pred, true)
	return first
}

// countWhere counts the elements of t for which pred holds, and returns
// the first one's flat index.
func countWhere(t *ckpt.Tensor, pred func(float64) bool) (int64, int64) {
	return scanWhere(t, pred, false)
}

func scanWhere(t *ckpt.Tensor, pred func(float64) bool, stopAtFirst bool) (int64, int64) {
	var buf [4096]float64
	var count int64
	first := int64(-1)
	var base int64
	for _, pc := range t.Pieces {
		n := pc.View.Numel()
		for lo := int64(0); lo < n; lo += int64(len(buf)) {
			k := min(n-lo, int64(len(buf)))
			pc.View.Float64s(lo, buf[:k])
			for i, x := range buf[:k] {
				if pred(x) {
					if first < 0 {
						first = base + lo + int64(i)
						if stopAtFirst {
							return 1, first
						}
					}
					count++
				}
			}
		}
		base += n
	}
	return count, first
}
