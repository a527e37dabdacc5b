package tensor

import (
	"fmt"
	"math"
	"testing"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// forPaths runs f once for every kernel path the CPU has (see
// kernel.Paths), with that path active.
func forPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range kernel.Paths() {
		t.Run(p.String(), func(t *testing.T) {
			defer kernel.Use(p)()
			f(t)
		})
	}
}

// spread returns a view of the n elements of a contiguous storage placed at
// every other slot of a new storage: the same values, not contiguous, so
// that the general (non-kernel) paths read them.
func spread(t *testing.T, dt DType, data []byte) *View {
	t.Helper()
	size := dt.Size()
	n := len(data) / size
	wide := make([]byte, 2*len(data))
	for i := 0; i < n; i++ {
		copy(wide[2*i*size:], data[i*size:(i+1)*size])
	}
	v, err := NewView(dt, wide, 0, []int64{int64(n)}, []int64{2})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func view1(t *testing.T, dt DType, data []byte) *View {
	t.Helper()
	v, err := NewView(dt, data, 0, []int64{int64(len(data) / dt.Size())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAdamSquaresPaths checks that the fused float32 kernel (on every path)
// and the general block path of AdamSquares agree: counts exactly, sums to
// 1e-12.
func TestAdamSquaresPaths(t *testing.T) {
	r := newRand(41)
	for _, n := range []int{0, 5, 100, 1000, 20000} {
		for _, p := range []float64{0, 0.01, 0.5} {
			md := randomStorage(r, Float32, n, 0, 1e-3, p)
			vd := randomStorage(r, Float32, n, 1e-6, 1e-7, p)
			m, v := view1(t, Float32, md), view1(t, Float32, vd)
			ms, vs := spread(t, Float32, md), spread(t, Float32, vd)
			c1, c2 := 1-math.Pow(0.9, 50), 1-math.Pow(0.95, 50)
			for _, lo := range []int64{0, int64(n / 3)} {
				k := int64(n) - lo
				wantS, wantN := AdamSquares(ms, vs, lo, lo, k, c1, c2, 1e-8)
				forPaths(t, func(t *testing.T) {
					gotS, gotN := AdamSquares(m, v, lo, lo, k, c1, c2, 1e-8)
					if gotN != wantN || math.Abs(gotS-wantS) > 1e-12*wantS {
						t.Fatalf("n=%d p=%v lo=%d: %v %d, general path %v %d", n, p, lo, gotS, gotN, wantS, wantN)
					}
				})
			}
		}
	}
}

// TestCompareRoundedPaths checks that the fused kernels (on every path) and
// the general block path of CompareRounded give the same Comparison.
func TestCompareRoundedPaths(t *testing.T) {
	r := newRand(42)
	for _, dt := range []DType{BFloat16, Float16} {
		for _, n := range []int{0, 7, 100, 3000, 20000} {
			for _, pMis := range []float64{0, 1e-3, 0.3} {
				md := randomStorage(r, Float32, n, 0, 1, 0.01)
				xs := make([]float64, n)
				master := view1(t, Float32, md)
				for i := range xs {
					xs[i] = RoundTo(float32(master.Float64At(int64(i))), dt)
					if r.Float64() < pMis {
						xs[i] += 0.25
					}
				}
				module := valuesView(t, dt, xs)
				want := CompareRounded(spread(t, Float32, md), spread(t, dt, module.Data), 0, 0, int64(n), 7)
				forPaths(t, func(t *testing.T) {
					got := CompareRounded(master, module, 0, 0, int64(n), 7)
					if got.Compared != want.Compared || got.Mismatch != want.Mismatch || got.First != want.First || !same(got.MaxDiff, want.MaxDiff) {
						t.Fatalf("%v n=%d p=%v: %+v, general path %+v", dt, n, pMis, got, want)
					}
				})
			}
		}
	}
}

// TestStatsPaths checks View.Stats on every path against the generic one,
// contiguous and strided: counts, Min and Max exactly, sums to 1e-12.
func TestStatsPaths(t *testing.T) {
	r := newRand(43)
	for _, dt := range []DType{Float32, BFloat16, Float16, Float64} {
		for _, n := range []int{100, 5000, 40000} {
			data := randomStorage(r, dt, n, 2, 1, 0.01)
			for _, v := range []*View{view1(t, dt, data), spread(t, dt, data)} {
				var want Stats
				func() {
					defer kernel.Use(kernel.Generic)()
					want = v.Stats()
				}()
				forPaths(t, func(t *testing.T) {
					got := v.Stats()
					what := fmt.Sprintf("%v n=%d contiguous=%v", dt, n, v.IsContiguous())
					checkCounts(t, what, got, want)
					for _, f := range []struct {
						name      string
						got, want float64
					}{{"l2", got.L2, want.L2}, {"mean", got.Mean, want.Mean}, {"std", got.Std, want.Std}} {
						if math.Abs(f.got-f.want) > 1e-12*math.Abs(f.want) {
							t.Fatalf("%s: %s %v, generic %v", what, f.name, f.got, f.want)
						}
					}
				})
			}
		}
	}
}

// TestMomentsAdamPaths checks MomentsAdam (the fused kernel on every path)
// against Accumulate and AdamSquares on the same elements read through
// non-contiguous views.
func TestMomentsAdamPaths(t *testing.T) {
	r := newRand(44)
	for _, n := range []int{0, 5, 100, 1000, 40000} {
		for _, p := range []float64{0, 0.01, 0.5} {
			md := randomStorage(r, Float32, n, 0, 1e-3, p)
			vd := randomStorage(r, Float32, n, 1e-6, 1e-7, p)
			m, v := view1(t, Float32, md), view1(t, Float32, vd)
			ms, vs := spread(t, Float32, md), spread(t, Float32, vd)
			c1, c2 := 1-math.Pow(0.9, 50), 1-math.Pow(0.95, 50)
			wm, wv := NewMoments(1e-3), NewMoments(2e-6)
			ms.Accumulate(0, int64(n), &wm)
			vs.Accumulate(0, int64(n), &wv)
			wantS, wantN := AdamSquares(ms, vs, 0, 0, int64(n), c1, c2, 1e-8)
			forPaths(t, func(t *testing.T) {
				gm, gv := NewMoments(1e-3), NewMoments(2e-6)
				gotS, gotN := MomentsAdam(m, v, 0, 0, int64(n), &gm, &gv, c1, c2, 1e-8)
				what := fmt.Sprintf("n=%d p=%v", n, p)
				if gotN != wantN || math.Abs(gotS-wantS) > 1e-12*wantS {
					t.Fatalf("%s: %v %d, want %v %d", what, gotS, gotN, wantS, wantN)
				}
				for _, c := range []struct{ got, want Moments }{{gm, wm}, {gv, wv}} {
					checkCounts(t, what, c.got.Result(Float32, nil, int64(n)), c.want.Result(Float32, nil, int64(n)))
					if math.Abs(c.got.S2-c.want.S2) > 1e-12*c.want.S2 {
						t.Fatalf("%s: S2 %v, want %v", what, c.got.S2, c.want.S2)
					}
				}
			})
		}
	}
}
