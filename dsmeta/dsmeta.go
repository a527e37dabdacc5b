// Package dsmeta reads the files DeepSpeed and the Hugging Face Trainer
// write around the optimizer state of a checkpoint — the model states
// (mp_rank_00_model_states.pt: bf16 module weights, param_shapes,
// global_steps), param groups, trainer_state.json and config.json — into a
// ckpt.Checkpoint, for every layout package (universal, zero). Missing or
// unreadable optional pieces become issues of the checkpoint, never errors.
package dsmeta

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/smallfile"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// Reader reads DeepSpeed files into a checkpoint.
type Reader struct {
	C     *ckpt.Checkpoint
	Torch torchsave.Options
}

// ModelStates is what ReadModelStates found beside the checkpoint fields it
// sets (Step, DSVersion, ParamGroups' names, ModelShapes).
type ModelStates struct {
	// Order lists the module's parameters in the model's order.
	Order []string
	// Module holds the module (bf16) weights by name.
	Module map[string]*ckpt.Tensor
	// Groups maps a parameter to its group, from param_shapes.
	Groups map[string]int
	// UniversalInfo is the model states' universal_checkpoint_info, or nil.
	UniversalInfo *pickle.Dict
	// DPWorld is the model states' dp_world_size, or 0.
	DPWorld int

	root *pickle.Dict // the file's top-level dict, for comparisons
}

// Open opens a torch.save file and registers it with the checkpoint, which
// closes it.
func (o *Reader) Open(path string) (*torchsave.File, error) {
	f, err := torchsave.Open(path, o.Torch)
	if err != nil {
		return nil, err
	}
	o.C.Files = append(o.C.Files, File(f))
	// Only the file's bytes stay with the checkpoint: its pickle's values
	// go once the caller has taken what it needs from them.
	o.C.OnClose(f.Closer())
	for _, w := range f.Warnings {
		o.C.Notef("%s: %s", path, w)
	}
	return f, nil
}

// ReadTrainer reads trainer_state.json (global_step) and config.json from
// a Trainer folder.
func (o *Reader) ReadTrainer(dir string) {
	o.C.TrainerDir = dir
	var ts struct {
		GlobalStep *int64 `json:"global_step"`
	}
	if o.readJSON(dir, "trainer_state.json", &ts) {
		o.C.TrainerStep = ts.GlobalStep
	}
	o.readJSON(dir, "config.json", &o.C.Config)
}

// readJSON reads the JSON file name of the Trainer folder dir into v; a
// missing file is a note, an unreadable or invalid one a warning.
func (o *Reader) readJSON(dir, name string, v any) bool {
	path := filepath.Join(dir, name)
	b, err := smallfile.Read(path, smallfile.Max)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		o.C.Report(ckpt.CheckTrainer, ckpt.Info, "", path, "no %s in %s", name, dir)
		return false
	case err != nil: // the error names the file
		o.C.Report(ckpt.CheckTrainer, ckpt.Warning, "", path, "%v", err)
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		o.C.Report(ckpt.CheckTrainer, ckpt.Warning, "", path, "%s: %v", path, err)
		return false
	}
	return true
}

// ReadModelStates reads a model states file: global_steps, ds_version, the
// parameter groups (names in flattening order) and shapes from
// param_shapes, the module's parameter order and its (bf16) weights.
func (o *Reader) ReadModelStates(path string) ModelStates {
	groups := map[string]int{}
	module := map[string]*ckpt.Tensor{}
	f, err := o.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			o.C.Report(ckpt.CheckModelStates, ckpt.Warning, "", path, "no model states file %s: no bf16 weights, groups or global step", path)
		} else {
			o.C.Report(StateCheck(err), ckpt.Error, "", path, "model states unreadable: %v", err)
		}
		return ModelStates{Groups: groups, Module: module}
	}
	root, ok := f.Root.(*pickle.Dict)
	if !ok {
		o.C.Report(ckpt.CheckModelStates, ckpt.Error, "", path, "%s: not a dict", path)
		return ModelStates{Groups: groups, Module: module}
	}
	if v, ok := root.Get("global_steps"); ok {
		if n, ok := v.(int64); ok {
			o.C.Step = &n
		}
	}
	if v, ok := root.Get("ds_version"); ok {
		o.C.DSVersion, _ = v.(string)
	}
	o.C.DPWorldSize, o.C.MPWorldSize = intOf(root, "dp_world_size"), intOf(root, "mp_world_size")
	if v, ok := root.Get("ds_config"); ok {
		o.C.ZeroStage = zeroStage(v)
	}
	if v, ok := root.Get("param_shapes"); ok {
		if l, ok := v.(*pickle.List); ok {
			for g, item := range l.Items {
				d, ok := item.(*pickle.Dict)
				if !ok {
					continue
				}
				pg := ckpt.ParamGroup{Index: g}
				if o.C.ModelShapes == nil {
					o.C.ModelShapes = map[string][]int64{}
				}
				for _, it := range d.Items {
					name, ok := it.Key.(string)
					if !ok {
						continue
					}
					groups[name] = g
					pg.Params = append(pg.Params, name)
					if sz, ok := it.Value.(torchsave.Size); ok {
						o.C.ModelShapes[name] = []int64(sz)
					}
				}
				o.C.ParamGroups = append(o.C.ParamGroups, pg)
			}
		}
	} else {
		o.C.Report(ckpt.CheckModelStates, ckpt.Warning, "", path, "%s: no param_shapes: parameter groups unknown", path)
	}
	var dpWorld int
	if v, ok := root.Get("dp_world_size"); ok {
		if n, ok := v.(int64); ok && n > 0 && n < 1<<20 {
			dpWorld = int(n)
		}
	}
	var info *pickle.Dict
	if v, ok := root.Get("universal_checkpoint_info"); ok {
		info, _ = v.(*pickle.Dict)
	}
	var order []string
	if v, ok := root.Get("module"); ok {
		if d, ok := v.(*pickle.Dict); ok {
			for _, it := range d.Items {
				name, ok1 := it.Key.(string)
				t, ok2 := it.Value.(*torchsave.Tensor)
				if !ok1 || !ok2 {
					continue
				}
				lt, err := Tensor(ckpt.BF16, f, t)
				if err != nil {
					o.C.Report(ckpt.CheckModelStates, ckpt.Error, name, path, "module weight %s: %v", name, err)
					continue
				}
				module[name] = lt
				order = append(order, name)
			}
		}
	} else {
		o.C.Report(ckpt.CheckModelStates, ckpt.Warning, "", path, "%s: no module: bf16 weights unknown", path)
	}
	return ModelStates{Order: order, Module: module, Groups: groups, UniversalInfo: info, DPWorld: dpWorld, root: root}
}

// ReadOptimizerState reads a universal checkpoint's zero/optimizer_state.pt
// for the groups' lr, betas, eps and weight decay, and the groups' steps
// when it holds the optimizer's state (converted from ZeRO-3).
func (o *Reader) ReadOptimizerState(path string) OptimizerState {
	f, err := o.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			o.C.Report(ckpt.CheckOptimizerState, ckpt.Warning, "", path, "no %s: learning rates and betas unknown, no AdamW update statistics", path)
		} else {
			o.C.Report(StateCheck(err), ckpt.Error, "", path, "optimizer state unreadable: %v", err)
		}
		return OptimizerState{}
	}
	root, ok := f.Root.(*pickle.Dict)
	if !ok {
		o.C.Report(ckpt.CheckOptimizerState, ckpt.Error, "", path, "%s: not a dict", path)
		return OptimizerState{}
	}
	st := OptimizerState{GroupSteps: groupSteps(root)}
	v, ok := root.Get("param_groups")
	if !ok {
		if osd, ok := root.Get("optimizer_state_dict"); ok {
			if d, ok := osd.(*pickle.Dict); ok {
				v, ok = d.Get("param_groups")
				_ = ok
			}
		}
	}
	l, ok := v.(*pickle.List)
	if !ok {
		o.C.Report(ckpt.CheckOptimizerState, ckpt.Error, "", path, "%s: no param_groups", path)
		return st
	}
	o.SetParamGroups(l, path)
	return st
}

// SetParamGroups reads an optimizer's param_groups list (lr, betas, eps,
// weight_decay of each group) into the checkpoint's groups, by index.
func (o *Reader) SetParamGroups(l *pickle.List, path string) {
	for g, item := range l.Items {
		d, ok := item.(*pickle.Dict)
		if !ok {
			continue
		}
		for len(o.C.ParamGroups) <= g {
			o.C.ParamGroups = append(o.C.ParamGroups, ckpt.ParamGroup{Index: len(o.C.ParamGroups)})
		}
		pg := &o.C.ParamGroups[g]
		pg.LR = number(d, "lr")
		pg.Eps = number(d, "eps")
		pg.WeightDecay = number(d, "weight_decay")
		if b, ok := d.Get("betas"); ok {
			var items []any
			switch x := b.(type) {
			case pickle.Tuple:
				items = x
			case *pickle.List:
				items = x.Items
			}
			if len(items) == 2 {
				b0, ok0 := toFloat(items[0])
				b1, ok1 := toFloat(items[1])
				if ok0 && ok1 {
					pg.Betas = &[2]float64{b0, b1}
				}
			}
		}
	}
	if len(l.Items) != len(o.C.ParamGroups) {
		o.C.Report(ckpt.CheckOptimizerState, ckpt.Error, "", path, "%s has %d param groups, the model states' param_shapes %d", path, len(l.Items), len(o.C.ParamGroups))
	}
}

func number(d *pickle.Dict, key string) *float64 {
	v, ok := d.Get(key)
	if !ok {
		return nil
	}
	f, ok := toFloat(v)
	if !ok {
		return nil
	}
	return &f
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// intOf returns the integer d holds under key, or nil.
func intOf(d *pickle.Dict, key string) *int64 {
	if v, ok := d.Get(key); ok {
		if n, ok := v.(int64); ok {
			return &n
		}
	}
	return nil
}

// zeroStage reads the ZeRO stage of a saved DeepSpeed configuration: a
// dict's zero_optimization.stage, or a DeepSpeedConfig object's
// zero_optimization_stage (an int or a ZeroStageEnum member).
func zeroStage(v any) *int64 {
	var stage any
	switch x := v.(type) {
	case *pickle.Dict:
		if z, ok := x.Get("zero_optimization"); ok {
			if zd, ok := z.(*pickle.Dict); ok {
				stage, _ = zd.Get("stage")
			}
		}
	case *pickle.Object:
		stage, _ = x.Field("zero_optimization_stage")
	}
	if o, ok := stage.(*pickle.Object); ok && len(o.Args) == 1 {
		stage = o.Args[0] // ZeroStageEnum(2)
	} else if ok {
		members := map[string]int64{"disabled": 0, "optimizer_states": 1, "gradients": 2, "weights": 3}
		if n, ok := members[o.Member]; ok {
			stage = n
		}
	}
	if n, ok := stage.(int64); ok {
		return &n
	}
	return nil
}

// StateCheck tells a truncated file from an otherwise unreadable one.
func StateCheck(err error) ckpt.CheckID {
	if errors.Is(err, torchsave.ErrTruncated) || errors.Is(err, pickle.ErrTruncated) {
		return ckpt.CheckTruncated
	}
	return ckpt.CheckUnreadable
}
