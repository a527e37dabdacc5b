package export

// ReadBytes returns the source bytes Llama reports to Options.Progress as
// it writes the tensors of the plan r: the bytes of the elements read of
// every tensor made from a checkpoint parameter (zero biases read
// nothing).
func (r *Result) ReadBytes() int64 {
	var total int64
	for _, t := range r.Tensors {
		if t.src == nil {
			continue
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		total += n * int64(t.src.DType.Size())
	}
	return total
}
