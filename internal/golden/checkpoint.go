package golden

import "math"

// Checkpoint is a checkpoint golden: the universal golden schema of
// testdata/README.md, as testdata/gen/realds/golden_realds.py writes it
// for the real DeepSpeed fixtures (with Layouts and ShapeFindings).
type Checkpoint struct {
	// Layouts gives the folders (under testdata/realds) the golden holds
	// for, by layout ("zero", "universal").
	Layouts    map[string]string `json:"layouts"`
	Checkpoint struct {
		Step        int64   `json:"step"`
		DSVersion   string  `json:"ds_version"`
		ParamGroups []Group `json:"param_groups"`
	} `json:"checkpoint"`
	Params  []Param `json:"params"`
	Summary struct {
		Step         int64   `json:"step"`
		Params       int     `json:"params"`
		Numel        int64   `json:"numel"`
		WeightNorm   float64 `json:"weight_norm"`
		ExpAvgNorm   float64 `json:"exp_avg_norm"`
		ExpAvgSqNorm float64 `json:"exp_avg_sq_norm"`
		BF16Norm     float64 `json:"bf16_norm"`
		NaN          int64   `json:"nan"`
		Inf          int64   `json:"inf"`
	} `json:"summary"`
	// ShapeFindings lists the parameters whose universal state files hold
	// more elements than param_shapes gives (found: the file's shape, by
	// state).
	ShapeFindings []struct {
		Name     string             `json:"name"`
		Expected []int64            `json:"expected"`
		Found    map[string][]int64 `json:"found"`
	} `json:"shape_findings"`
}

// Group is one optimizer param group of a checkpoint golden.
type Group struct {
	LR          float64    `json:"lr"`
	Betas       [2]float64 `json:"betas"`
	Eps         float64    `json:"eps"`
	WeightDecay float64    `json:"weight_decay"`
	Params      []string   `json:"params"`
}

// Param is one parameter of a checkpoint golden; a nil state is absent.
type Param struct {
	Name       string   `json:"name"`
	Shape      []int64  `json:"shape"`
	Numel      int64    `json:"numel"`
	Step       int64    `json:"step"`
	Group      int      `json:"group"`
	Scale      bool     `json:"scale"`
	ScaleValue *float64 `json:"scale_value"`
	FP32       *Stats   `json:"fp32"`
	ExpAvg     *Stats   `json:"exp_avg"`
	ExpAvgSq   *Stats   `json:"exp_avg_sq"`
	BF16       *Stats   `json:"bf16"`
	Adam       struct {
		UpdateRMS      *float64 `json:"update_rms"`
		UpdateToWeight *float64 `json:"update_to_weight"`
	} `json:"adam"`
}

// RelErr returns |got − want| / |want| (0 when equal, +Inf when want is 0
// and got is not), for reporting the largest relative error measured.
func RelErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}
