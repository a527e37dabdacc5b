package dsmeta

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// rankModelStates matches ZeRO-3's per-rank model states file names,
// zero_pp_rank_<dp>_mp_rank_<mp:02d>_model_states.pt.
var rankModelStates = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^zero_pp_rank_(\d+)_mp_rank_(\d+)_model_states\.pt$`)
})

// RankModelStatesName is the name of the model states file ZeRO-3 writes
// for data-parallel rank dp of model-parallel rank mp.
func RankModelStatesName(dp, mp int) string {
	return fmt.Sprintf("zero_pp_rank_%d_mp_rank_%02d_model_states.pt", dp, mp)
}

// RankModelStatesFiles lists the ZeRO-3 per-rank model states files of dir
// for model-parallel rank mp, by data-parallel rank. It returns nil when
// there are none (a ZeRO-1/2 checkpoint has one mp_rank_XX_model_states.pt).
func RankModelStatesFiles(dir string, mp int) map[int]string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var files map[int]string
	for _, e := range entries {
		m := rankModelStates().FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		dp, err1 := strconv.Atoi(m[1])
		rmp, err2 := strconv.Atoi(m[2])
		if err1 != nil || err2 != nil || rmp != mp || dp >= 1<<20 {
			continue
		}
		if files == nil {
			files = map[int]string{}
		}
		files[dp] = filepath.Join(dir, e.Name())
	}
	return files
}

// ReadRankModelStates reads the per-rank model states files ZeRO-3 writes
// (and ds_to_universal copies beside a universal checkpoint made from
// ZeRO-3): every data-parallel rank loads its own file when training
// resumes, so every one is opened and checked. The lowest rank's file
// (rank 0's, normally) is read with ReadModelStates and gives what the
// checkpoint learns from the model states; every other rank's must be a
// readable dict whose param_shapes (groups, names, order, shapes) and
// global_steps equal those, else it is a structure.model_states error
// naming the file. world is the number of data-parallel ranks expected
// beside the model states' own dp_world_size (0 if not known otherwise);
// each rank below the largest of them, and of the ranks found, without a
// file is a structure.missing_rank error naming the missing file.
func (o *Reader) ReadRankModelStates(dir string, mp, world int) ModelStates {
	files := RankModelStatesFiles(dir, mp)
	ranks := make([]int, 0, len(files))
	for dp := range files {
		ranks = append(ranks, dp)
	}
	sort.Ints(ranks)
	if len(ranks) == 0 {
		path := filepath.Join(dir, RankModelStatesName(0, mp))
		o.C.Report(ckpt.CheckModelStates, ckpt.Warning, "", path, "no model states file %s: no groups or global step", path)
		return ModelStates{Groups: map[string]int{}, Module: map[string]*ckpt.Tensor{}}
	}
	first := files[ranks[0]]
	ms := o.ReadModelStates(first)
	world = max(world, ms.DPWorld, ranks[len(ranks)-1]+1)
	for dp := 0; dp < world; dp++ {
		if _, ok := files[dp]; !ok {
			path := filepath.Join(dir, RankModelStatesName(dp, mp))
			o.C.Report(ckpt.CheckMissingRank, ckpt.Error, "", path,
				"model states file %s of data-parallel rank %d (of %d) is missing: that rank cannot resume", path, dp, world)
		}
	}
	var want [][]NamedShape
	var wantStep any
	if ms.root != nil {
		v, _ := ms.root.Get("param_shapes")
		want, _ = ParamShapes(v)
		wantStep, _ = ms.root.Get("global_steps")
	}
	for _, dp := range ranks[1:] {
		path := files[dp]
		f, err := o.Open(path)
		if err != nil {
			o.C.Report(StateCheck(err), ckpt.Error, "", path, "model states of data-parallel rank %d unreadable: %v", dp, err)
			continue
		}
		if msg := checkRankModelStates(f.Root, want, wantStep); msg != "" {
			o.C.Report(ckpt.CheckModelStates, ckpt.Error, "", path, "%s (data-parallel rank %d): %s, unlike %s", path, dp, msg, filepath.Base(first))
		}
	}
	return ms
}

// checkRankModelStates compares a rank's model states with the first
// rank's param_shapes and global_steps; it returns what differs, or "".
func checkRankModelStates(root any, want [][]NamedShape, wantStep any) string {
	d, ok := root.(*pickle.Dict)
	if !ok {
		return "not a dict"
	}
	v, ok := d.Get("param_shapes")
	if !ok {
		return "no param_shapes"
	}
	got, ok := ParamShapes(v)
	if !ok {
		return "param_shapes is not a list of {name: torch.Size} dicts"
	}
	if msg := diffShapes(got, want); msg != "" {
		return msg
	}
	if _, ok := d.Get("module"); !ok {
		return "no module"
	}
	step, ok := d.Get("global_steps")
	if !ok {
		return "no global_steps"
	}
	if wantStep != nil && pickle.Repr(step) != pickle.Repr(wantStep) {
		return fmt.Sprintf("global_steps %s", pickle.Repr(step))
	}
	return ""
}

// NamedShape is one entry of a model states' param_shapes.
type NamedShape struct {
	Name  string
	Shape []int64
}

// ParamShapes reads a model states' param_shapes: a list of one
// OrderedDict name → torch.Size per param group.
func ParamShapes(v any) ([][]NamedShape, bool) {
	l, ok := v.(*pickle.List)
	if !ok {
		return nil, false
	}
	out := make([][]NamedShape, 0, len(l.Items))
	for _, item := range l.Items {
		d, ok := item.(*pickle.Dict)
		if !ok {
			return nil, false
		}
		g := make([]NamedShape, 0, len(d.Items))
		for _, it := range d.Items {
			name, ok1 := it.Key.(string)
			sz, ok2 := it.Value.(torchsave.Size)
			if !ok1 || !ok2 {
				return nil, false
			}
			g = append(g, NamedShape{Name: name, Shape: []int64(sz)})
		}
		out = append(out, g)
	}
	return out, true
}

// diffShapes describes the first difference between two param_shapes, or
// returns "".
func diffShapes(got, want [][]NamedShape) string {
	if len(got) != len(want) {
		return fmt.Sprintf("param_shapes has %d groups, not %d", len(got), len(want))
	}
	for g := range got {
		if len(got[g]) != len(want[g]) {
			return fmt.Sprintf("param_shapes group %d has %d parameters, not %d", g, len(got[g]), len(want[g]))
		}
		for i, a := range got[g] {
			b := want[g][i]
			if a.Name != b.Name || fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
				return fmt.Sprintf("param_shapes group %d entry %d is %s %v, not %s %v", g, i, a.Name, a.Shape, b.Name, b.Shape)
			}
		}
	}
	return ""
}

// OptimizerState is what ReadOptimizerState found beside the groups'
// hyper-parameters it sets on the checkpoint.
type OptimizerState struct {
	// GroupSteps holds each group's optimizer step from the saved
	// optimizer's state (optimizer_state_dict.state[g].step), when the
	// file has it: a universal checkpoint converted from ZeRO-3 keeps the
	// step there and writes no step.pt.
	GroupSteps map[int]int64
}

// groupSteps reads optimizer_state_dict.state[g].step of every group.
func groupSteps(root *pickle.Dict) map[int]int64 {
	v, ok := root.Get("optimizer_state_dict")
	if !ok {
		return nil
	}
	osd, ok := v.(*pickle.Dict)
	if !ok {
		return nil
	}
	sv, ok := osd.Get("state")
	if !ok {
		return nil
	}
	st, ok := sv.(*pickle.Dict)
	if !ok {
		return nil
	}
	var out map[int]int64
	for _, it := range st.Items {
		g, ok := it.Key.(int64)
		d, ok2 := it.Value.(*pickle.Dict)
		if !ok || !ok2 || g < 0 || g >= 1<<20 {
			continue
		}
		sv, ok := d.Get("step")
		if !ok {
			continue
		}
		if n, ok := StepValue(sv); ok {
			if out == nil {
				out = map[int]int64{}
			}
			out[int(g)] = n
		}
	}
	return out
}

// StepValue reads a step: a Python int, a whole float, or a one-element
// tensor holding a whole number >= 0.
func StepValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == float64(int64(x))
	case *torchsave.Tensor:
		if x.Numel() == 1 {
			if view, err := x.View(); err == nil {
				s := view.Float64At(0)
				return int64(s), s == float64(int64(s)) && s >= 0
			}
		}
	}
	return 0, false
}
