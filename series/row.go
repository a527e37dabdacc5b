package series

import (
	"math"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// Row is the measurement of one state of one parameter at one step: the
// long format pandas reads (one row per checkpoint, parameter and state).
//
// The statistics are those of `ckptinspect stats` (package tensor's Stats):
// over the finite elements, in float64; they are NaN when the tensor has no
// finite element. The update figures and the change from the previous
// checkpoint exist on fp32 rows only and are NaN elsewhere, and when
// undefined.
type Row struct {
	Step  int64
	Param string
	// Layer is the decoder layer (the N of "layers.N."), -1 outside the
	// layers; Kind says what the parameter is (yulan.Parse).
	Layer int
	Kind  yulan.Kind
	State ckpt.State
	// Numel counts the tensor's elements (finite or not).
	Numel int64

	L2, RMS, Mean, Std, Min, Max, AbsMax float64
	NaN, Inf, Zeros                      int64

	// UpdateRMS is the RMS of the AdamW update direction u = m̂/(√v̂+ε)
	// (FORMATS.md §10) and UpdateToWeight = lr·UpdateRMS/RMS(fp32 weight).
	UpdateRMS, UpdateToWeight float64
	// DeltaL2 = ‖W−W_prev‖, RelChange = ‖W−W_prev‖/‖W_prev‖ and Cosine =
	// ΣwW_prev/(‖W‖·‖W_prev‖) compare the fp32 master weight with the
	// previous checkpoint's, over the element pairs where both are finite
	// (as `ckptinspect diff`). NaN for the first checkpoint, a parameter
	// the previous one lacks or shapes differently, and where undefined.
	DeltaL2, RelChange, Cosine float64
}

// HasDelta reports whether the row compares its weight with the previous
// checkpoint's.
func (r *Row) HasDelta() bool { return !math.IsNaN(r.DeltaL2) }

// Finite returns the number of finite elements the statistics are over.
func (r *Row) Finite() int64 { return r.Numel - r.NaN - r.Inf }

// rowsOf turns a scan's results into rows, params in order, states in
// ckpt.States() order; deltas are filled in later.
func rowsOf(step int64, res *ckpt.Result) []Row {
	var out []Row
	for _, pr := range res.Params {
		n := yulan.Parse(pr.Param.Name)
		for _, s := range ckpt.States() {
			st := stateStats(pr, s)
			if st == nil {
				continue
			}
			r := Row{Step: step, Param: pr.Param.Name, Layer: n.Layer, Kind: n.Kind, State: s, Numel: st.Numel}
			setStats(&r, *st)
			r.UpdateRMS, r.UpdateToWeight = nan, nan
			r.DeltaL2, r.RelChange, r.Cosine = nan, nan, nan
			if s == ckpt.FP32 && pr.Adam != nil {
				r.UpdateRMS = pr.Adam.UpdateRMS
				if pr.Adam.HasRatio {
					r.UpdateToWeight = pr.Adam.UpdateToWeight
				}
			}
			out = append(out, r)
		}
		if e := pr.Effective; e != nil {
			r := Row{Step: step, Param: pr.Param.Name, Layer: n.Layer, Kind: n.Kind, State: EffectiveState, Numel: e.Stats.Numel}
			setStats(&r, e.Stats)
			r.UpdateRMS, r.UpdateToWeight = nan, nan
			r.DeltaL2, r.RelChange, r.Cosine = nan, nan, nan
			if pr.Adam != nil && e.State == ckpt.FP32 {
				r.UpdateRMS = pr.Adam.UpdateRMS
			}
			if e.HasRatio {
				r.UpdateToWeight = e.UpdateToWeight
			}
			out = append(out, r)
		}
	}
	return out
}

// EffectiveState is the State of the rows of the effective weights
// (Options.Effective): Scale·(w + Offset) of the fp32 master weight w (the
// module weight of a parameter without one). Their change from the
// previous checkpoint is not measured (NaN).
const EffectiveState ckpt.State = "effective"

var nan = math.NaN()

func stateStats(pr *ckpt.ParamResult, s ckpt.State) *tensor.Stats {
	switch s {
	case ckpt.FP32:
		return pr.FP32
	case ckpt.ExpAvg:
		return pr.ExpAvg
	case ckpt.ExpAvgSq:
		return pr.ExpAvgSq
	case ckpt.BF16:
		return pr.BF16
	}
	return nil
}

func setStats(r *Row, s tensor.Stats) {
	r.NaN, r.Inf, r.Zeros = s.NaN, s.Inf, s.Zeros
	if !s.Valid() {
		r.L2, r.RMS, r.Mean, r.Std, r.Min, r.Max, r.AbsMax = nan, nan, nan, nan, nan, nan, nan
		return
	}
	r.L2, r.RMS, r.Mean, r.Std, r.Min, r.Max, r.AbsMax = s.L2, s.RMS, s.Mean, s.Std, s.Min, s.Max, s.AbsMax
}

// delta is the change of one parameter's fp32 weight from the previous
// checkpoint.
type delta struct {
	L2, Rel, Cos float64 // NaN when undefined
}

func deltaOf(d *ckpt.StateDiff) (delta, bool) {
	if d == nil || !d.Compared {
		return delta{}, false
	}
	out := delta{nan, nan, nan}
	if x, ok := d.DeltaL2(); ok {
		out.L2 = x
	}
	if x, ok := d.RelChange(); ok {
		out.Rel = x
	}
	if x, ok := d.Cosine(); ok {
		out.Cos = x
	}
	return out, true
}

// applyDeltas fills in the fp32 rows' change from the previous checkpoint.
func applyDeltas(rows []Row, deltas map[string]delta) {
	for i := range rows {
		r := &rows[i]
		if r.State != ckpt.FP32 {
			continue
		}
		if d, ok := deltas[r.Param]; ok {
			r.DeltaL2, r.RelChange, r.Cosine = d.L2, d.Rel, d.Cos
		}
	}
}
