package tensor_test

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ckptinspect/ckptinspect/tensor"
)

func ExampleView_Stats() {
	// The raw little-endian bytes of a float32 storage of 8 elements, as
	// torch.save writes them.
	values := []float32{1, -2, 3, float32(math.NaN()), 5, 0, 7, 100}
	data := make([]byte, 4*len(values))
	for i, x := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	// A 2×3 view starting at element 1 with row stride 4: the elements
	// -2, 3, NaN (row 0) and 0, 7, 100 (row 1).
	v, err := tensor.NewView(tensor.Float32, data, 1, []int64{2, 3}, []int64{4, 1})
	if err != nil {
		panic(err)
	}
	s := v.Stats()
	fmt.Println(s.DType, s.Shape, "numel", s.Numel, "finite", s.Finite, "nan", s.NaN, "zeros", s.Zeros)
	fmt.Printf("mean %.2f std %.4f min %g max %g absmax %g\n", s.Mean, s.Std, s.Min, s.Max, s.AbsMax)
	fmt.Printf("l2 %.4f rms %.4f\n", s.L2, s.RMS)
	// Output:
	// float32 [2 3] numel 6 finite 5 nan 1 zeros 1
	// mean 21.60 std 39.3172 min -2 max 100 absmax 100
	// l2 100.3095 rms 44.8598
}

func ExampleView_Accumulate() {
	// Statistics of a large tensor in chunks (which may run in parallel),
	// merged into one result.
	data := make([]byte, 2*1000)
	for i := 0; i < 1000; i++ {
		binary.LittleEndian.PutUint16(data[2*i:], tensor.Float32ToBFloat16(float32(i)))
	}
	v, err := tensor.NewView(tensor.BFloat16, data, 0, []int64{1000}, nil)
	if err != nil {
		panic(err)
	}
	shift := v.Shift() // one shift for every chunk
	total := tensor.NewMoments(shift)
	for lo := int64(0); lo < v.Numel(); lo += 256 {
		part := tensor.NewMoments(shift)
		v.Accumulate(lo, min(lo+256, v.Numel()), &part)
		total.Merge(part)
	}
	s := total.Result(v.DType, v.Shape, v.Numel())
	fmt.Println(s.Finite, s.Min, s.Max)
	// Output:
	// 1000 0 1000
}
