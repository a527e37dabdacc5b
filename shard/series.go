package shard

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/series"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// SeriesCheckpoint is the result of a checkpoint unit of a split series:
// the checkpoint, what its task did, and its rows.
type SeriesCheckpoint struct {
	Unit      int    `json:"unit"`
	Path      string `json:"path"`
	Step      int64  `json:"step"`
	Scanned   bool   `json:"scanned"`
	Compared  bool   `json:"compared"`
	Cached    bool   `json:"cached"`
	BytesRead int64  `json:"bytes_read"`
	Rows      []Row  `json:"rows"`
}

// Row is series.Row (but for the step, its checkpoint's): undefined
// figures are NaN.
type Row struct {
	Param          string `json:"param"`
	Layer          int    `json:"layer"`
	Kind           string `json:"kind"`
	State          string `json:"state"`
	Numel          int64  `json:"numel"`
	L2             Float  `json:"l2"`
	RMS            Float  `json:"rms"`
	Mean           Float  `json:"mean"`
	Std            Float  `json:"std"`
	Min            Float  `json:"min"`
	Max            Float  `json:"max"`
	AbsMax         Float  `json:"absmax"`
	NaN            int64  `json:"nan"`
	Inf            int64  `json:"inf"`
	Zeros          int64  `json:"zeros"`
	UpdateRMS      Float  `json:"update_rms"`
	UpdateToWeight Float  `json:"update_to_weight"`
	DeltaL2        Float  `json:"delta_l2"`
	RelChange      Float  `json:"rel_change"`
	Cosine         Float  `json:"cosine"`
}

func rowOf(r series.Row) Row {
	f := func(x float64) Float { return Float(x) }
	return Row{Param: r.Param, Layer: r.Layer, Kind: string(r.Kind), State: string(r.State), Numel: r.Numel,
		L2: f(r.L2), RMS: f(r.RMS), Mean: f(r.Mean), Std: f(r.Std), Min: f(r.Min), Max: f(r.Max), AbsMax: f(r.AbsMax),
		NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros, UpdateRMS: f(r.UpdateRMS), UpdateToWeight: f(r.UpdateToWeight),
		DeltaL2: f(r.DeltaL2), RelChange: f(r.RelChange), Cosine: f(r.Cosine)}
}

func (r Row) row(step int64) series.Row {
	f := func(x Float) float64 { return float64(x) }
	return series.Row{Step: step, Param: r.Param, Layer: r.Layer, Kind: yulan.Kind(r.Kind), State: ckpt.State(r.State), Numel: r.Numel,
		L2: f(r.L2), RMS: f(r.RMS), Mean: f(r.Mean), Std: f(r.Std), Min: f(r.Min), Max: f(r.Max), AbsMax: f(r.AbsMax),
		NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros, UpdateRMS: f(r.UpdateRMS), UpdateToWeight: f(r.UpdateToWeight),
		DeltaL2: f(r.DeltaL2), RelChange: f(r.RelChange), Cosine: f(r.Cosine)}
}

// seriesPlan returns the plan of a split series: its checkpoints in step
// order, each unit's bytes those of its files (series.Checkpoint.Bytes),
// cut into count runs of consecutive checkpoints ([Consecutive]).
func seriesPlan(s *series.Series, count int) *Plan {
	units := make([]Unit, len(s.Checkpoints))
	for i, ck := range s.Checkpoints {
		units[i] = Unit{Name: ck.Path, Bytes: ck.Bytes}
	}
	return Consecutive("checkpoint", units, count)
}

// seriesRoots returns the checkpoints part k of plan reads: its own, and
// the one before its first.
func seriesRoots(s *series.Series, plan *Plan, k int) []string {
	own := plan.Owned(k)
	if len(own) == 0 {
		return nil
	}
	var roots []string
	for i := max(own[0]-1, 0); i <= own[len(own)-1]; i++ {
		roots = append(roots, s.Checkpoints[i].Path)
	}
	return roots
}

// Series does part t.Spec of `series` s and writes the part to w: the
// checkpoints, in step order, are cut into runs of consecutive ones
// balanced by bytes ([Consecutive]), and the part's run is measured
// (series.Series.RunRange: its first checkpoint with its predecessor, so
// that its change from the predecessor is the one a single run gives).
// The part's inputs are the files of the checkpoints it reads.
func (t *Task) Series(ctx context.Context, w io.Writer, s *series.Series) error {
	started := time.Now()
	plan := seriesPlan(s, t.Spec.Count)
	roots := seriesRoots(s, plan, t.Spec.Index)
	in, _, err := StatInputs(roots, nil)
	if err != nil {
		return err
	}
	p, err := t.begin(plan, in, started)
	if err != nil {
		return err
	}
	if own := p.Split.Owned; len(own) > 0 {
		err := s.RunRange(ctx, own[0], own[len(own)-1]+1, func(sp series.Part) error {
			ck := sp.Checkpoint
			x := SeriesCheckpoint{Unit: sp.Index, Path: ck.Path, Step: ck.Step, Scanned: ck.Scanned, Compared: ck.Compared,
				Cached: ck.Cached, BytesRead: ck.BytesRead, Rows: []Row{}}
			for _, r := range sp.Rows {
				x.Rows = append(x.Rows, rowOf(r))
			}
			p.Checkpoints = append(p.Checkpoints, x)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return t.finish(w, p, roots, nil, started)
}

// Series hands emit the rows of every checkpoint of s from the parts, in
// step order, as s.Run would (and sets what each checkpoint's task did:
// Scanned, Compared, Cached, BytesRead), after checking each part against
// the files of the checkpoints it read as they are now, and the plan s
// gives now. The rows are read from one part file at a time.
func (s *Set) Series(ser *series.Series, emit func(series.Part) error) error {
	if err := s.is("series"); err != nil {
		return err
	}
	plan := seriesPlan(ser, len(s.Parts))
	if err := s.fresh(plan, false, func(k int) ([]string, []string) { return seriesRoots(ser, plan, k), nil }); err != nil {
		return err
	}
	cks, err := collect(s, plan, func(p *Part) []SeriesCheckpoint { return p.Checkpoints }, func(x SeriesCheckpoint) int { return x.Unit }, nil)
	if err != nil {
		return err
	}
	var rows map[int][]Row // the rows of the part being read, by unit
	cur := -1
	for i, ck := range ser.Checkpoints {
		x, k := cks[i], plan.Part[i]
		if x.Path != ck.Path || x.Step != ck.Step {
			return fmt.Errorf("%w: %s: checkpoint %d is %s at step %d in the part, %s at step %d now", ErrParts, s.Parts[k].file, i, x.Path, x.Step, ck.Path, ck.Step)
		}
		if k != cur {
			if rows, err = s.Parts[k].seriesRows(); err != nil {
				return err
			}
			cur = k
		}
		ck.Scanned, ck.Compared, ck.Cached, ck.BytesRead = x.Scanned, x.Compared, x.Cached, x.BytesRead
		out := make([]series.Row, len(rows[i]))
		for j, r := range rows[i] {
			out[j] = r.row(ck.Step)
		}
		if err := emit(series.Part{Index: i, Checkpoint: ck, Rows: out}); err != nil {
			return err
		}
	}
	return nil
}

// seriesRows reads the part's file again for its rows (Load keeps none),
// checking that it is still the part Load read.
func (p *Part) seriesRows() (map[int][]Row, error) {
	q, err := Read(p.file)
	if err != nil {
		return nil, err
	}
	if q.Shard != p.Shard || q.Split.PlanSHA256 != p.Split.PlanSHA256 || q.Inputs.SHA256 != p.Inputs.SHA256 || q.Timing != p.Timing {
		return nil, fmt.Errorf("%w: %s changed while it was merged", ErrParts, p.file)
	}
	rows := map[int][]Row{}
	for _, ck := range q.Checkpoints {
		rows[ck.Unit] = ck.Rows
	}
	return rows, nil
}
