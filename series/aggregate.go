package series

import (
	"math"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// Point aggregates the parameters of one kind in one decoder layer (Layer
// −1 for the parameters outside the layers) at one step, for charts
// against step. Figures are NaN when undefined.
type Point struct {
	Step   int64
	Layer  int
	Kind   yulan.Kind
	Params int
	// WeightRMS = √(Σ‖W‖² / N) over the finite elements of the fp32
	// weights (a weight and its bias together).
	WeightRMS float64
	// UpdateToWeight = √(Σ n·(lr·RMS(u))² / Σ n) / WeightRMS: the RMS of the
	// AdamW step lr·u over the elements, relative to the weights'.
	UpdateToWeight float64
	// RelChange = √Σ‖W−W_prev‖² / √Σ‖W_prev‖² over the parameters compared
	// with the previous checkpoint (‖W_prev‖ from its statistics).
	RelChange float64
	// ExpAvgRMS is the RMS of exp_avg, ExpAvgSqMean the mean of
	// exp_avg_sq, over their finite elements.
	ExpAvgRMS, ExpAvgSqMean float64
	// EffectiveRMS = √(Σ‖scale·(W+offset)‖² / N): the RMS of the effective
	// weights (rows of EffectiveState; NaN without them).
	EffectiveRMS float64
}

// Scale is the value of one scale factor (a one-element *_alpha
// parameter, YuLan-Mini's WeSaR) at one step.
type Scale struct {
	Step  int64
	Layer int
	Alpha yulan.Alpha
	Param string
	Value float64
}

// Total sums one checkpoint's rows: global norms √(Σ‖·‖²) of each state,
// NaN and Inf counts over every state, and the change of the fp32 weights
// from the previous checkpoint (√Σ‖ΔW‖², relative to √Σ‖W_prev‖²).
type Total struct {
	Step                       int64
	Params                     int
	Numel                      int64
	Norm                       map[ckpt.State]float64
	NaN, Inf                   int64
	DeltaNorm, RelChange       float64
	UpdateRMSMax, UpdateToWMax float64 // the largest of any parameter
}

// Aggregate adds up the rows of a series, checkpoint by checkpoint, for
// charts: it keeps a few figures per step, layer and kind, whatever the
// number of parameters.
type Aggregate struct {
	Points []Point
	Scales []Scale
	Totals []Total
	prevL2 map[string]float64 // fp32 ‖W‖ of the previous checkpoint's parameters
}

type pointKey struct {
	layer int
	kind  yulan.Kind
}

type pointAcc struct {
	params                 int
	wSq, wN, luSq, luN     float64
	dSq, aSq               float64
	hasDelta               bool
	mSq, mN, vSum, vN      float64
	eSq, eN                float64
	hasW, hasM, hasV, hasU bool
}

// Add adds one checkpoint's rows (Parts must come in step order).
func (a *Aggregate) Add(p Part) {
	accs := map[pointKey]*pointAcc{}
	var order []pointKey
	t := Total{Step: p.Checkpoint.Step, Norm: map[ckpt.State]float64{}, DeltaNorm: nan, RelChange: nan}
	var dSq, aSq float64
	var anyDelta bool
	seen := map[string]bool{}
	cur := map[string]float64{}
	for i := range p.Rows {
		r := &p.Rows[i]
		if !seen[r.Param] {
			seen[r.Param] = true
			t.Params++
			t.Numel += r.Numel
		}
		if r.State != EffectiveState { // its elements are the weight's
			t.NaN += r.NaN
			t.Inf += r.Inf
		}
		valid := r.Finite() > 0 && !math.IsNaN(r.L2)
		if valid {
			t.Norm[r.State] += r.L2 * r.L2
		}
		k := pointKey{r.Layer, r.Kind}
		acc := accs[k]
		if acc == nil {
			acc = &pointAcc{}
			accs[k] = acc
			order = append(order, k)
		}
		n := float64(r.Finite())
		switch r.State {
		case ckpt.FP32:
			acc.params++
			if r.Kind == yulan.KindAlpha && r.Numel == 1 && valid {
				name := yulan.Parse(r.Param)
				a.Scales = append(a.Scales, Scale{Step: r.Step, Layer: r.Layer, Alpha: name.Alpha, Param: r.Param, Value: r.Mean})
			}
			if valid {
				acc.wSq += r.L2 * r.L2
				acc.wN += n
				acc.hasW = true
				cur[r.Param] = r.L2
			}
			if !math.IsNaN(r.UpdateToWeight) && valid {
				lu := r.UpdateToWeight * r.RMS // lr·RMS(u)
				acc.luSq += float64(r.Numel) * lu * lu
				acc.luN += float64(r.Numel)
				acc.hasU = true
			}
			if r.HasDelta() {
				if prev, ok := a.prevL2[r.Param]; ok {
					acc.dSq += r.DeltaL2 * r.DeltaL2
					acc.aSq += prev * prev
					acc.hasDelta = true
					dSq += r.DeltaL2 * r.DeltaL2
					aSq += prev * prev
					anyDelta = true
				}
			}
			if !math.IsNaN(r.UpdateRMS) {
				t.UpdateRMSMax = math.Max(t.UpdateRMSMax, r.UpdateRMS)
			}
			if !math.IsNaN(r.UpdateToWeight) {
				t.UpdateToWMax = math.Max(t.UpdateToWMax, r.UpdateToWeight)
			}
		case ckpt.ExpAvg:
			if valid {
				acc.mSq += r.L2 * r.L2
				acc.mN += n
				acc.hasM = true
			}
		case ckpt.ExpAvgSq:
			if valid {
				acc.vSum += r.Mean * n
				acc.vN += n
				acc.hasV = true
			}
		case EffectiveState:
			if valid {
				acc.eSq += r.L2 * r.L2
				acc.eN += n
			}
		}
	}
	for s, sq := range t.Norm {
		t.Norm[s] = math.Sqrt(sq)
	}
	if anyDelta {
		t.DeltaNorm = math.Sqrt(dSq)
		if aSq > 0 {
			t.RelChange = math.Sqrt(dSq) / math.Sqrt(aSq)
		}
	}
	a.Totals = append(a.Totals, t)
	for _, k := range order {
		acc := accs[k]
		pt := Point{Step: p.Checkpoint.Step, Layer: k.layer, Kind: k.kind, Params: acc.params,
			WeightRMS: nan, UpdateToWeight: nan, RelChange: nan, ExpAvgRMS: nan, ExpAvgSqMean: nan, EffectiveRMS: nan}
		if acc.hasW && acc.wN > 0 {
			pt.WeightRMS = math.Sqrt(acc.wSq / acc.wN)
		}
		if acc.hasU && acc.luN > 0 && pt.WeightRMS > 0 {
			pt.UpdateToWeight = math.Sqrt(acc.luSq/acc.luN) / pt.WeightRMS
		}
		if acc.hasDelta && acc.aSq > 0 {
			pt.RelChange = math.Sqrt(acc.dSq) / math.Sqrt(acc.aSq)
		}
		if acc.hasM && acc.mN > 0 {
			pt.ExpAvgRMS = math.Sqrt(acc.mSq / acc.mN)
		}
		if acc.hasV && acc.vN > 0 {
			pt.ExpAvgSqMean = acc.vSum / acc.vN
		}
		if acc.eN > 0 {
			pt.EffectiveRMS = math.Sqrt(acc.eSq / acc.eN)
		}
		a.Points = append(a.Points, pt)
	}
	a.prevL2 = cur
}
