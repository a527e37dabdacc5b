package stream

import (
	"github.com/ckptinspect/ckptinspect/tensor"
)

// StatsTask (for tests) returns a task computing the statistics of src's view; done
// receives them (or the error that stopped the task).
func StatsTask(src Source, done func(tensor.Stats, error)) *Task {
	v := src.View
	shift := Shift(src)
	return &Task{
		Numel:   v.Numel(),
		Sources: []Source{src},
		ChunkRead: func(lo, hi int64, w []Window) any {
			m := tensor.NewMoments(shift)
			if w[0].View != nil { // nil for the empty chunk of an empty tensor
				w[0].View.Accumulate(lo-w[0].Base, hi-w[0].Base, &m)
			}
			return m
		},
		Done: func(parts []any, err error) {
			if err != nil {
				done(tensor.Stats{}, err)
				return
			}
			m := tensor.NewMoments(shift)
			for _, p := range parts {
				if p != nil {
					m.Merge(p.(tensor.Moments))
				}
			}
			done(m.Result(v.DType, v.Shape, v.Numel()), nil)
		},
	}
}
