// Package golden reads the golden values the fixture generators in
// testdata/gen compute with PyTorch in float64, and compares measured
// statistics with them. It is used by tests only.
package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/ckptinspect/ckptinspect/tensor"
)

// Stats are the golden statistics of one tensor; float figures are nil
// when the tensor has no finite element.
type Stats struct {
	DType  string   `json:"dtype"`
	Shape  []int64  `json:"shape"`
	Numel  int64    `json:"numel"`
	Finite int64    `json:"finite"`
	NaN    int64    `json:"nan"`
	Inf    int64    `json:"inf"`
	Zeros  int64    `json:"zeros"`
	L2     *float64 `json:"l2"`
	RMS    *float64 `json:"rms"`
	Mean   *float64 `json:"mean"`
	Std    *float64 `json:"std"`
	Min    *float64 `json:"min"`
	Max    *float64 `json:"max"`
	AbsMax *float64 `json:"absmax"`
}

// Load decodes the JSON file at path into v.
func Load(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// RelTol is the relative tolerance of sums (l2, rms, mean, std): the
// statistics are float64 sums, so they agree with PyTorch's float64 to
// rounding.
const RelTol = 1e-9

// Close reports whether got agrees with want to RelTol relative, with an
// absolute floor scaled by ref for values that should be near zero (a mean
// or std that cancels).
func Close(got, want, ref float64) bool {
	if got == want {
		return true
	}
	diff := math.Abs(got - want)
	return diff <= RelTol*math.Abs(want) || diff <= RelTol*math.Abs(ref)
}

// Compare returns the differences between measured statistics and golden
// ones: counts, min, max and absmax must be exact, sums within RelTol.
func Compare(got tensor.Stats, want Stats) []string {
	var diffs []string
	bad := func(field string, g, w any) {
		diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", field, g, w))
	}
	if got.DType.String() != want.DType {
		bad("dtype", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) && !(len(got.Shape) == 0 && len(want.Shape) == 0) {
		bad("shape", got.Shape, want.Shape)
	}
	for _, c := range []struct {
		name string
		g, w int64
	}{{"numel", got.Numel, want.Numel}, {"finite", got.Finite, want.Finite}, {"nan", got.NaN, want.NaN},
		{"inf", got.Inf, want.Inf}, {"zeros", got.Zeros, want.Zeros}} {
		if c.g != c.w {
			bad(c.name, c.g, c.w)
		}
	}
	if want.L2 == nil {
		if got.Valid() {
			bad("valid", true, "null statistics")
		}
		return diffs
	}
	if !got.Valid() {
		bad("valid", false, "statistics")
		return diffs
	}
	ref := *want.RMS
	for _, c := range []struct {
		name string
		g    float64
		w    *float64
	}{{"l2", got.L2, want.L2}, {"rms", got.RMS, want.RMS}, {"mean", got.Mean, want.Mean}, {"std", got.Std, want.Std}} {
		if !Close(c.g, *c.w, ref) {
			bad(c.name, c.g, *c.w)
		}
	}
	for _, c := range []struct {
		name string
		g    float64
		w    *float64
	}{{"min", got.Min, want.Min}, {"max", got.Max, want.Max}, {"absmax", got.AbsMax, want.AbsMax}} {
		if c.g != *c.w {
			bad(c.name, c.g, *c.w)
		}
	}
	return diffs
}
