package shard

import (
	"encoding/json"
	"math"
	"testing"
)

// TestFloatRoundTrip: every float64 a part holds reads back to the same
// bits (NaN as NaN).
func TestFloatRoundTrip(t *testing.T) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, math.Pi, 1e-300, 5e-324, math.MaxFloat64,
		math.Nextafter(1, 2), 0.1 + 0.2, math.Inf(1), math.Inf(-1), math.NaN()} {
		b, err := json.Marshal(Float(x))
		if err != nil {
			t.Fatal(err)
		}
		var y Float
		if err := json.Unmarshal(b, &y); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if math.IsNaN(x) != math.IsNaN(float64(y)) || (!math.IsNaN(x) && math.Float64bits(x) != math.Float64bits(float64(y))) {
			t.Errorf("%v: wrote %s, read %v", x, b, float64(y))
		}
	}
}
