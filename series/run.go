package series

import (
	"context"
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// Part is what [Series.Run] measured of one checkpoint.
type Part struct {
	Index      int // in Series.Checkpoints
	Checkpoint *Checkpoint
	// Rows hold the checkpoint's parameters in its order, the states of
	// each in ckpt.States() order (those it has).
	Rows []Row
	// Hist is the histogram Options.Hist asked for, nil when the
	// checkpoint lacks the tensor or the tensor has no finite value.
	Hist *ckpt.Hist
}

// Run measures the checkpoints in step order and hands each one's rows to
// emit as soon as they are known; it stops at the first error (emit's
// included).
//
// A checkpoint whose statistics are not cached is read in one pass
// (ckpt.Scan) together with its predecessor's fp32 master weights
// (ckpt.ScanOptions.Prev); one whose statistics are cached but whose change
// from its predecessor is not (the predecessor changed, or is new) has
// only the two fp32 weights read (ckpt.Diff); one with both cached is not
// read at all. With Options.Hist, the histogram's tensor is read once more
// in every checkpoint. At most two checkpoints are open at a time.
func (s *Series) Run(ctx context.Context, emit func(Part) error) error {
	return s.RunRange(ctx, 0, len(s.Checkpoints), emit)
}

// RunRange is [Series.Run] of the checkpoints lo to hi−1 only: the first,
// lo, is measured as Run measures it, together with its predecessor lo−1,
// so the parts of a series cut into consecutive ranges are, one after the
// other, what Run emits.
func (s *Series) RunRange(ctx context.Context, lo, hi int, emit func(Part) error) error {
	if lo < 0 || hi > len(s.Checkpoints) || lo > hi {
		return fmt.Errorf("series: range %d to %d of %d checkpoints", lo, hi, len(s.Checkpoints))
	}
	open := map[int]*ckpt.Checkpoint{}
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	get := func(i int) (*ckpt.Checkpoint, error) {
		if c := open[i]; c != nil {
			return c, nil
		}
		c, err := layout.Open(s.Checkpoints[i].Path, layout.Options{Layout: s.opt.Layout, Policy: s.opt.Policy})
		if err != nil {
			return nil, err
		}
		open[i] = c
		return c, nil
	}
	n := len(s.Checkpoints)
	for i := lo; i < hi; i++ {
		ck := s.Checkpoints[i]
		// Only the predecessor may stay open.
		for k, c := range open {
			if k < i-1 {
				c.Close()
				delete(open, k)
			}
		}
		rows, err := s.measure(ctx, i, n, get)
		if err != nil {
			return err
		}
		part := Part{Index: i, Checkpoint: ck, Rows: rows}
		if s.opt.Hist != nil {
			if part.Hist, err = s.hist(ctx, i, rows, get); err != nil {
				return err
			}
		}
		if err := emit(part); err != nil {
			return err
		}
		if !s.needsPrev(i+1) && open[i] != nil {
			open[i].Close()
			delete(open, i)
		}
	}
	return nil
}

// needsPrev reports whether measuring checkpoint i reads its predecessor.
func (s *Series) needsPrev(i int) bool {
	if i <= 0 || i >= len(s.items) {
		return false
	}
	return !s.deltaCached(i)
}

// deltaCached reports whether the cache holds checkpoint i's change from
// its predecessor as it is now.
func (s *Series) deltaCached(i int) bool {
	e := s.items[i].entry
	if e == nil || e.Delta == nil || i == 0 {
		return false
	}
	p := s.items[i-1]
	return e.Delta.PrevPath == p.abs && e.Delta.PrevFingerprint == p.fingerprint
}

// measure returns the rows of checkpoint i, deltas filled in, reading what
// the cache does not hold, and updates the cache.
func (s *Series) measure(ctx context.Context, i, n int, get func(int) (*ckpt.Checkpoint, error)) ([]Row, error) {
	ck, it := s.Checkpoints[i], s.items[i]
	var full *entry
	if it.entry != nil {
		e, err := s.cache.loadFull(it.abs, it.fingerprint)
		if err != nil || e == nil {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: cache entry unreadable, measured again: %v", ck.Path, err))
			it.entry, ck.Cached = nil, false
		} else {
			full = e
		}
	}
	label := fmt.Sprintf("series %d/%d step %d", i+1, n, ck.Step)
	var rows []Row
	var deltas map[string]delta
	switch {
	case full == nil:
		cur, err := get(i)
		if err != nil {
			return nil, err
		}
		var prev *ckpt.Checkpoint
		if i > 0 {
			if prev, err = get(i - 1); err != nil {
				return nil, err
			}
		}
		opt := ckpt.ScanOptions{Workers: s.opt.Workers, Prev: prev, Filter: s.paramFilter()}
		if s.opt.Effective {
			if opt.Effective, err = effectiveOf(cur, s.opt.Config); err != nil {
				return nil, err
			}
		}
		total := cur.ScanBytes(opt.Filter) + fp32Bytes(prev, s.nameFilter())
		finish := s.progress(label, total, &opt.Progress)
		res, err := ckpt.Scan(ctx, cur, opt)
		finish()
		if err != nil {
			return nil, err
		}
		for _, pr := range res.Params {
			if pr.Err != nil {
				return nil, fmt.Errorf("%s: parameter %s: %w", ck.Path, pr.Param.Name, pr.Err)
			}
		}
		ck.Scanned, ck.Compared, ck.BytesRead = true, prev != nil, res.Summary.BytesScanned
		rows = rowsOf(ck.Step, res)
		if prev != nil {
			deltas = map[string]delta{}
			for _, pr := range res.Params {
				if d, ok := deltaOf(pr.Delta); ok {
					deltas[pr.Param.Name] = d
				}
			}
		}
	default:
		rows = full.rows(ck.Step)
		if i > 0 && !s.deltaCached(i) {
			prev, err := get(i - 1)
			if err != nil {
				return nil, err
			}
			cur, err := get(i)
			if err != nil {
				return nil, err
			}
			opt := ckpt.DiffOptions{Workers: s.opt.Workers, States: []ckpt.State{ckpt.FP32}, Filter: s.nameFilter()}
			total := fp32Bytes(prev, opt.Filter) + fp32Bytes(cur, opt.Filter)
			finish := s.progress(label+" (change only)", total, &opt.Progress)
			res, err := ckpt.Diff(ctx, prev, cur, opt)
			finish()
			if err != nil {
				return nil, err
			}
			deltas = map[string]delta{}
			for _, pd := range res.Params {
				if pd.Err != nil {
					return nil, fmt.Errorf("%s, %s: parameter %s: %w", prev.Path, cur.Path, pd.Name, pd.Err)
				}
				if d, ok := deltaOf(pd.States[ckpt.FP32]); ok {
					deltas[pd.Name] = d
				}
			}
			ck.Compared, ck.BytesRead = true, res.BytesScanned
		} else if i > 0 {
			deltas = full.deltas()
		}
	}
	applyDeltas(rows, deltas)
	if s.cache != nil && (ck.Scanned || ck.Compared) {
		var prevAbs, prevFP string
		if i > 0 {
			prevAbs, prevFP = s.items[i-1].abs, s.items[i-1].fingerprint
		}
		in := info{}
		if full != nil {
			in = full.Info
		} else {
			c, _ := get(i)
			in = infoOf(c)
			in.Step, in.HasStep = ck.Step, true
		}
		if err := s.cache.store(it.abs, it.fingerprint, in, rows, i > 0, prevAbs, prevFP, deltas); err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: not cached: %v", ck.Path, err))
		}
	}
	return rows, nil
}

// effectiveOf returns the multipliers of c's parameters under the model
// config (explicit, or c's config.json).
func effectiveOf(c *ckpt.Checkpoint, explicit string) (func(*ckpt.Param) (yulan.Multiplier, bool), error) {
	cfg, src, err := ckpt.FindConfig(c, explicit)
	if err != nil {
		return nil, fmt.Errorf("effective weights: %w", err)
	}
	sc, err := ckpt.Scales(c, cfg)
	if err != nil {
		return nil, fmt.Errorf("effective weights: %s (config: %s): %w", c.Path, src, err)
	}
	return func(p *ckpt.Param) (yulan.Multiplier, bool) { return sc.Of(p.Name) }, nil
}

// hist computes the histogram Options.Hist asks for in checkpoint i.
func (s *Series) hist(ctx context.Context, i int, rows []Row, get func(int) (*ckpt.Checkpoint, error)) (*ckpt.Hist, error) {
	h := s.opt.Hist
	var row *Row
	for k := range rows {
		if rows[k].Param == h.Param && rows[k].State == h.State {
			row = &rows[k]
		}
	}
	if row == nil || row.Finite() == 0 {
		return nil, nil
	}
	c, err := get(i)
	if err != nil {
		return nil, err
	}
	var t *ckpt.Tensor
	for _, p := range c.Params {
		if p.Name == h.Param {
			t = p.Tensor(h.State)
		}
	}
	if t == nil {
		return nil, nil
	}
	opt := ckpt.PassOptions{Workers: s.opt.Workers}
	finish := s.progress(fmt.Sprintf("series %d/%d hist", i+1, len(s.Checkpoints)), t.NBytes(), &opt.Progress)
	hist, err := ckpt.Histogram(ctx, t, h.spec(row.Min, row.Max), opt)
	finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %s (%s): %w", c.Path, h.Param, h.State, err)
	}
	s.Checkpoints[i].BytesRead += t.NBytes()
	return hist, nil
}

// progress starts a progress report and sets *add; it returns the
// function ending it.
func (s *Series) progress(label string, total int64, add *func(int64)) func() {
	if s.opt.Progress == nil {
		return func() {}
	}
	a, finish := s.opt.Progress(label, total)
	*add = a
	if finish == nil {
		finish = func() {}
	}
	return finish
}

func (s *Series) nameFilter() func(string) bool {
	if s.re == nil {
		return nil
	}
	return s.re.MatchString
}

func (s *Series) paramFilter() func(*ckpt.Param) bool {
	if s.re == nil {
		return nil
	}
	return func(p *ckpt.Param) bool { return s.re.MatchString(p.Name) }
}

// fp32Bytes returns the bytes of the fp32 weights of c's parameters that
// keep accepts (all when nil); 0 for a nil c.
func fp32Bytes(c *ckpt.Checkpoint, keep func(string) bool) int64 {
	if c == nil {
		return 0
	}
	var n int64
	for _, p := range c.Params {
		if p.FP32 != nil && (keep == nil || keep(p.Name)) {
			n += p.FP32.NBytes()
		}
	}
	return n
}
