package shard

import (
	"errors"
	"fmt"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// The JSON forms of a scan's internal results: every field, floats in
// their shortest exact form (Float: NaN and ±Inf as strings), so
// that a result read back is the result written, bit for bit.

// Stats is tensor.Stats.
type Stats struct {
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Numel  int64   `json:"numel"`
	Finite int64   `json:"finite"`
	NaN    int64   `json:"nan"`
	Inf    int64   `json:"inf"`
	PosInf int64   `json:"pos_inf"`
	NegInf int64   `json:"neg_inf"`
	Zeros  int64   `json:"zeros"`

	L2     Float `json:"l2"`
	RMS    Float `json:"rms"`
	Mean   Float `json:"mean"`
	Std    Float `json:"std"`
	Min    Float `json:"min"`
	Max    Float `json:"max"`
	AbsMax Float `json:"absmax"`
}

func statsOf(s *tensor.Stats) *Stats {
	if s == nil {
		return nil
	}
	return &Stats{DType: s.DType.String(), Shape: s.Shape, Numel: s.Numel, Finite: s.Finite, NaN: s.NaN, Inf: s.Inf,
		PosInf: s.PosInf, NegInf: s.NegInf, Zeros: s.Zeros,
		L2: Float(s.L2), RMS: Float(s.RMS), Mean: Float(s.Mean), Std: Float(s.Std),
		Min: Float(s.Min), Max: Float(s.Max), AbsMax: Float(s.AbsMax)}
}

func (s *Stats) stats() (*tensor.Stats, error) {
	if s == nil {
		return nil, nil
	}
	dt := tensor.Invalid
	if s.DType != tensor.Invalid.String() {
		var err error
		if dt, err = tensor.ParseDType(s.DType); err != nil {
			return nil, err
		}
	}
	return &tensor.Stats{DType: dt, Shape: s.Shape, Numel: s.Numel, Finite: s.Finite, NaN: s.NaN, Inf: s.Inf,
		PosInf: s.PosInf, NegInf: s.NegInf, Zeros: s.Zeros,
		L2: float64(s.L2), RMS: float64(s.RMS), Mean: float64(s.Mean), Std: float64(s.Std),
		Min: float64(s.Min), Max: float64(s.Max), AbsMax: float64(s.AbsMax)}, nil
}

// Adam is ckpt.Adam, with the raw sums the layer groups add up.
type Adam struct {
	Step           int64 `json:"step"`
	LR             Float `json:"lr"`
	SumSq          Float `json:"sum_sq"`
	N              int64 `json:"n"`
	UpdateRMS      Float `json:"update_rms"`
	UpdateToWeight Float `json:"update_to_weight"`
	HasRatio       bool  `json:"has_ratio"`
}

// Comparison is tensor.Comparison.
type Comparison struct {
	Compared int64 `json:"compared"`
	Mismatch int64 `json:"mismatch"`
	MaxDiff  Float `json:"max_diff"`
	First    int64 `json:"first"`
}

// StateDiff is ckpt.StateDiff, with its raw pair sums.
type StateDiff struct {
	State    string  `json:"state"`
	ShapeA   []int64 `json:"shape_a"`
	ShapeB   []int64 `json:"shape_b"`
	Compared bool    `json:"compared"`
	Numel    int64   `json:"numel"`
	Pairs    int64   `json:"pairs"`
	Changed  int64   `json:"changed"`
	SumDD    Float   `json:"sum_dd"`
	SumAA    Float   `json:"sum_aa"`
	SumBB    Float   `json:"sum_bb"`
	SumAB    Float   `json:"sum_ab"`
	MaxAbs   Float   `json:"max_abs"`
}

func stateDiffOf(d *ckpt.StateDiff) *StateDiff {
	if d == nil {
		return nil
	}
	s := d.Sums
	return &StateDiff{State: string(d.State), ShapeA: d.ShapeA, ShapeB: d.ShapeB, Compared: d.Compared,
		Numel: s.Numel, Pairs: s.Pairs, Changed: s.Changed, SumDD: Float(s.SumDD), SumAA: Float(s.SumAA),
		SumBB: Float(s.SumBB), SumAB: Float(s.SumAB), MaxAbs: Float(s.MaxAbs)}
}

func (d *StateDiff) stateDiff() *ckpt.StateDiff {
	if d == nil {
		return nil
	}
	return &ckpt.StateDiff{State: ckpt.State(d.State), ShapeA: d.ShapeA, ShapeB: d.ShapeB, Compared: d.Compared,
		Sums: tensor.PairSums{Numel: d.Numel, Pairs: d.Pairs, Changed: d.Changed, SumDD: float64(d.SumDD),
			SumAA: float64(d.SumAA), SumBB: float64(d.SumBB), SumAB: float64(d.SumAB), MaxAbs: float64(d.MaxAbs)}}
}

// Effective is ckpt.Effective without its multiplier, which the merge
// takes from the checkpoint's metadata as the task did.
type Effective struct {
	State          string `json:"state"`
	Stats          Stats  `json:"stats"`
	Accumulated    bool   `json:"accumulated"`
	UpdateToWeight Float  `json:"update_to_weight"`
	HasRatio       bool   `json:"has_ratio"`
}

// Param is the result of one parameter unit: ckpt.ParamResult.
type Param struct {
	Unit int    `json:"unit"`
	Name string `json:"name"`

	FP32     *Stats `json:"fp32"`
	ExpAvg   *Stats `json:"exp_avg"`
	ExpAvgSq *Stats `json:"exp_avg_sq"`
	BF16     *Stats `json:"bf16"`

	Adam       *Adam       `json:"adam"`
	Scale      bool        `json:"scale"`
	ScaleValue Float       `json:"scale_value"`
	Master     *Comparison `json:"master"`
	Delta      *StateDiff  `json:"delta"`
	Effective  *Effective  `json:"effective"`
	// Err is the message of the first error met reading the parameter.
	Err string `json:"error,omitempty"`
	// Findings are verify's findings about the parameter's values.
	Findings []Finding `json:"findings,omitempty"`
}

func paramOf(unit int, pr *ckpt.ParamResult) Param {
	p := Param{Unit: unit, Name: pr.Param.Name, FP32: statsOf(pr.FP32), ExpAvg: statsOf(pr.ExpAvg),
		ExpAvgSq: statsOf(pr.ExpAvgSq), BF16: statsOf(pr.BF16), Scale: pr.Scale, ScaleValue: Float(pr.ScaleValue),
		Delta: stateDiffOf(pr.Delta)}
	if a := pr.Adam; a != nil {
		p.Adam = &Adam{Step: a.Step, LR: Float(a.LR), SumSq: Float(a.SumSq), N: a.N,
			UpdateRMS: Float(a.UpdateRMS), UpdateToWeight: Float(a.UpdateToWeight), HasRatio: a.HasRatio}
	}
	if m := pr.Master; m != nil {
		p.Master = &Comparison{Compared: m.Compared, Mismatch: m.Mismatch, MaxDiff: Float(m.MaxDiff), First: m.First}
	}
	if e := pr.Effective; e != nil {
		p.Effective = &Effective{State: string(e.State), Stats: *statsOf(&e.Stats), Accumulated: e.Accumulated,
			UpdateToWeight: Float(e.UpdateToWeight), HasRatio: e.HasRatio}
	}
	if pr.Err != nil {
		p.Err = pr.Err.Error()
	}
	return p
}

// result rebuilds the ParamResult of param; effective gives the
// multiplier of its effective weight, as ckpt.ScanOptions.Effective.
func (p *Param) result(param *ckpt.Param, effective func(*ckpt.Param) (yulan.Multiplier, bool)) (*ckpt.ParamResult, error) {
	if p.Name != param.Name {
		return nil, fmt.Errorf("unit %d is parameter %s in the part, %s in the checkpoint", p.Unit, p.Name, param.Name)
	}
	pr := &ckpt.ParamResult{Param: param, Scale: p.Scale, ScaleValue: float64(p.ScaleValue), Delta: p.Delta.stateDiff()}
	var err error
	for _, s := range []struct {
		dst **tensor.Stats
		src *Stats
	}{{&pr.FP32, p.FP32}, {&pr.ExpAvg, p.ExpAvg}, {&pr.ExpAvgSq, p.ExpAvgSq}, {&pr.BF16, p.BF16}} {
		if *s.dst, err = s.src.stats(); err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
	}
	if a := p.Adam; a != nil {
		pr.Adam = &ckpt.Adam{Step: a.Step, LR: float64(a.LR), SumSq: float64(a.SumSq), N: a.N,
			UpdateRMS: float64(a.UpdateRMS), UpdateToWeight: float64(a.UpdateToWeight), HasRatio: a.HasRatio}
	}
	if m := p.Master; m != nil {
		pr.Master = &tensor.Comparison{Compared: m.Compared, Mismatch: m.Mismatch, MaxDiff: float64(m.MaxDiff), First: m.First}
	}
	if e := p.Effective; e != nil {
		var mult yulan.Multiplier
		ok := effective != nil
		if ok {
			mult, ok = effective(param)
		}
		if !ok {
			return nil, fmt.Errorf("parameter %s: the part has effective statistics, the checkpoint no multiplier", p.Name)
		}
		st, err := e.Stats.stats()
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		pr.Effective = &ckpt.Effective{Multiplier: mult, State: ckpt.State(e.State), Stats: *st, Accumulated: e.Accumulated,
			UpdateToWeight: float64(e.UpdateToWeight), HasRatio: e.HasRatio}
	}
	if p.Err != "" {
		pr.Err = errors.New(p.Err)
	}
	return pr, nil
}

// Float is a float64 of a part file, written in its shortest exact decimal
// form (so that it reads back to the same bits), NaN and ±Inf as the
// strings "NaN", "Infinity" and "-Infinity".
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) { return output.Float(f).MarshalJSON() }

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error { return (*output.Float)(f).UnmarshalJSON(b) }
