package torchsave_test

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/torchsave"
)

// Open a file written by torch.save and print each tensor's statistics.
func ExampleOpen() {
	f, err := torchsave.Open("../testdata/torch/views.pt", torchsave.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	named, _ := f.Tensors()
	for _, nt := range named[:3] {
		v, _ := nt.Tensor.View()
		s := v.Stats()
		fmt.Printf("%s %s%v contiguous=%v l2=%.4f\n", nt.Name, nt.Tensor.DType, nt.Tensor.Shape, v.IsContiguous(), s.L2)
	}
	// Output:
	// offset float32[17] contiguous=true l2=4.4453
	// prefix float32[9 4] contiguous=true l2=0.1162
	// transposed float32[3 5] contiguous=false l2=9.5229
}
