// Package universal opens DeepSpeed universal checkpoints, the output of
// DeepSpeed's ds_to_universal (FORMATS.md §4, §5, §7).
//
// [Open] accepts a Hugging Face Trainer folder (checkpoint-N/, through its
// latest_universal file or its single global_step*_universal/ folder), a
// universal tag folder (holding zero/), or the zero/ folder itself, and
// returns a ckpt.Checkpoint: one parameter per folder of zero/, with its
// fp32 weight and AdamW moments read in place from their files, its step,
// its optimizer group (from the model states' param_shapes and
// zero/optimizer_state.pt) and its bf16 module weight (from
// mp_rank_00_model_states.pt). Optional pieces that are missing are
// recorded as notes on the checkpoint, never as errors.
//
// A universal checkpoint converted from ZeRO-3 (DeepSpeed 0.15.1's
// ds_to_universal, checked on its own output) differs: the tag folder holds
// every rank's zero_pp_rank_<r>_mp_rank_00_model_states.pt instead of
// mp_rank_00_model_states.pt — all are read and must agree (param_shapes,
// global_steps), a missing rank is structure.missing_rank — and its module
// tensors are empty (no bf16 weight); fp32.pt, exp_avg.pt and exp_avg_sq.pt
// are bare flat tensors, given the shape param_shapes records; there is no
// step.pt, so a parameter's step is its group's in zero/optimizer_state.pt
// (optimizer_state_dict.state[g].step, what a resume restores). With more
// than one data-parallel rank, that converter gives every parameter with
// fewer elements than ranks extra elements from another rank's padding,
// after its own: such a state is read as its first numel elements only —
// the statistics never include the extra ones — and the parameter gets a
// shapes.mismatch error naming the expected and the found shapes.
package universal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/dsmeta"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// ErrNotUniversal reports a path that holds no universal checkpoint.
var ErrNotUniversal = errors.New("not a DeepSpeed universal checkpoint")

// ErrMissingTag reports a latest_universal file naming a tag folder that
// does not exist (or has no zero/ folder).
var ErrMissingTag = errors.New("the tag folder named by latest_universal is missing")

// Layout is the layout name of checkpoints opened by this package.
const Layout = "universal"

// stepFile is the name, without .pt, of the file holding a parameter's
// optimizer step beside its state files.
const stepFile = "step"

// Options configures [Open].
type Options struct {
	// Torch configures the reading of every .pt file.
	Torch torchsave.Options
	// Tolerant makes an unreadable parameter state file an issue of the
	// checkpoint (ckpt.Checkpoint.Issues) instead of an error, so that a
	// check can report every problem at once.
	Tolerant bool
}

// Paths are the locations Open resolved.
type Paths struct {
	Trainer string // the Trainer folder, or "" when not inside one
	Tag     string // the universal tag folder (global_stepN_universal)
	Zero    string // the zero/ folder
}

// Resolve finds the tag and zero folders for a user-given path.
func Resolve(path string) (Paths, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Paths{}, err
	}
	if !fi.IsDir() {
		return Paths{}, fmt.Errorf("%s: %w: a file, not a folder", path, ErrNotUniversal)
	}
	clean := filepath.Clean(path)
	switch {
	case isDir(filepath.Join(clean, "zero")):
		p := Paths{Tag: clean, Zero: filepath.Join(clean, "zero")}
		p.Trainer = trainerOf(filepath.Dir(clean))
		return p, nil
	case filepath.Base(clean) == "zero" || hasParamFolders(clean):
		tag := filepath.Dir(clean)
		return Paths{Tag: tag, Zero: clean, Trainer: trainerOf(filepath.Dir(tag))}, nil
	}
	// A Trainer (or DeepSpeed save_dir) folder.
	tag, err := tagRule.Find(clean)
	if err != nil {
		return Paths{}, err
	}
	return Paths{Trainer: clean, Tag: tag, Zero: filepath.Join(tag, "zero")}, nil
}

// tagRule finds a universal tag in a save folder.
var tagRule = dsmeta.TagRule{Pointer: "latest_universal", Pattern: "global_step*_universal",
	IsTag: func(dir string) bool { return isDir(filepath.Join(dir, "zero")) },
	Holds: "a zero/ folder", Kind: "universal tag folders", Missing: ErrMissingTag, None: ErrNotUniversal}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// entryIsDir reports whether the directory entry e (at path p) is a
// folder, following a symbolic link; the entry's own type saves a stat of
// every other entry.
func entryIsDir(e fs.DirEntry, p string) bool {
	if e.Type()&fs.ModeSymlink != 0 {
		return isDir(p)
	}
	return e.IsDir()
}

func trainerOf(dir string) string {
	for _, f := range []string{"trainer_state.json", "config.json", "latest_universal"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return dir
		}
	}
	return ""
}

// hasParamFolders reports whether dir looks like a zero/ folder: a
// subfolder holding fp32.pt.
func hasParamFolders(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "fp32.pt")); err == nil {
			return true
		}
	}
	return false
}

// Open opens the universal checkpoint at path.
func Open(path string, opt Options) (*ckpt.Checkpoint, error) {
	paths, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	c := &ckpt.Checkpoint{Path: path, Layout: Layout, Tag: filepath.Base(paths.Tag)}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	o := opener{c: c, opt: opt, r: dsmeta.Reader{C: c, Torch: opt.Torch}}
	// The parameter folders are read (in parallel) while the Trainer files
	// and the model and optimizer states are (one after the other): nothing
	// of a folder's reading needs those until the parameters are put in
	// order, and the folders of a large model are most of the opening.
	list, err := listZero(paths.Zero)
	if err != nil {
		return nil, err
	}
	params := o.startParams(paths.Zero, list.names)
	defer func() {
		if !ok { // the readers' files reach c, which closes them (absorbing twice moves nothing)
			for _, r := range params() {
				c.Absorb(r.c)
			}
		}
	}()
	if paths.Trainer != "" {
		o.r.ReadTrainer(paths.Trainer)
	} else {
		c.Report(ckpt.CheckTrainer, ckpt.Info, "", "", "not inside a Trainer folder: no trainer_state.json or config.json")
	}
	msPath := filepath.Join(paths.Tag, "mp_rank_00_model_states.pt")
	var ms dsmeta.ModelStates
	if _, err := os.Stat(msPath); err != nil && dsmeta.RankModelStatesFiles(paths.Tag, 0) != nil {
		// Converted from ZeRO-3: every rank's model states were copied.
		ms = o.r.ReadRankModelStates(paths.Tag, 0, 0)
	} else {
		ms = o.r.ReadModelStates(msPath)
	}
	o.opt0 = o.r.ReadOptimizerState(filepath.Join(paths.Zero, "optimizer_state.pt"))
	if err := o.readParams(paths.Zero, list, params, ms.Order, ms.Module); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

type opener struct {
	c    *ckpt.Checkpoint
	opt  Options
	r    dsmeta.Reader
	opt0 dsmeta.OptimizerState // what zero/optimizer_state.pt gave
}

// zeroList is what zero/ holds: its parameter folders, sorted, and the
// names of its stray files (reported once the Trainer files and the model
// states have been, as a serial reading reports them).
type zeroList struct {
	names  []string
	folder map[string]bool
	stray  []string
}

// listZero lists zero/.
func listZero(zero string) (zeroList, error) {
	entries, err := os.ReadDir(zero)
	if err != nil {
		return zeroList{}, err
	}
	l := zeroList{folder: map[string]bool{}}
	for _, e := range entries {
		p := filepath.Join(zero, e.Name())
		if isDir(p) {
			l.folder[e.Name()] = true
			l.names = append(l.names, e.Name())
		} else if e.Name() != "optimizer_state.pt" {
			l.stray = append(l.stray, e.Name())
		}
	}
	if len(l.names) == 0 {
		return zeroList{}, fmt.Errorf("%s: %w: zero/ holds no parameter folders", zero, ErrNotUniversal)
	}
	return l, nil
}

// readParams puts the parameter folders of zero/, read by startParams, in
// order and completes them from the model and optimizer states.
func (o *opener) readParams(zero string, list zeroList, pending func() []paramRead, order []string, module map[string]*ckpt.Tensor) error {
	for _, n := range list.stray {
		o.c.Report(ckpt.CheckStray, ckpt.Warning, "", filepath.Join(zero, n), "stray file in zero/: %s", n)
	}
	folders := list.folder
	groups := map[string]int{}
	for _, g := range o.c.ParamGroups {
		for _, n := range g.Params {
			groups[n] = g.Index
		}
	}
	// Order: the module's, then the groups', then the rest by name.
	var names []string
	seen := map[string]bool{}
	addName := func(n string) {
		if folders[n] && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, n := range order {
		addName(n)
	}
	for _, g := range o.c.ParamGroups {
		for _, n := range g.Params {
			addName(n)
		}
	}
	var rest []string
	for n := range folders {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		addName(n)
	}
	for _, g := range o.c.ParamGroups {
		for _, n := range g.Params {
			if !folders[n] {
				o.c.Report(ckpt.CheckParamNames, ckpt.Error, n, filepath.Join(zero, n), "parameter %s of the model states' param_shapes has no folder in zero/", n)
			}
		}
	}
	params, err := o.collect(zero, list.names, pending(), names)
	if err != nil {
		return err
	}
	for i, name := range names {
		p := params[i]
		if g, ok := groups[name]; ok {
			p.Group = g
			if s, ok := o.opt0.GroupSteps[g]; ok && p.Step == nil {
				// No step.pt (converted from ZeRO-3): the step a resume
				// restores is the optimizer state's.
				p.Step = &s
				p.StepFile = filepath.Join(zero, "optimizer_state.pt")
			}
		} else if len(o.c.ParamGroups) > 0 {
			o.c.Report(ckpt.CheckParamNames, ckpt.Error, name, filepath.Join(zero, name), "parameter folder %s is in no param group of the model states' param_shapes", name)
		}
		if t, ok := module[name]; ok && t.Numel() > 0 {
			// ZeRO-3 model states hold empty module tensors.
			p.BF16 = t
		}
		o.c.Params = append(o.c.Params, p)
	}
	return nil
}

// paramRead is a parameter folder as startParams read it, into a
// Checkpoint of its own. bare are its states held as bare tensors (a
// ZeRO-3 conversion's flat states), to be given the parameter's shape
// (reshape) once the model states are read.
type paramRead struct {
	p    *ckpt.Param
	c    *ckpt.Checkpoint
	bare []*ckpt.Tensor
	err  error
}

// startParams starts reading the parameter folders names of zero with a
// few workers (opening a file is mostly parsing its pickle, or waiting for
// its first and last pages) and returns the function that waits for them.
func (o *opener) startParams(zero string, names []string) func() []paramRead {
	res := make([]paramRead, len(names))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < min(openWorkers(), len(names)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				c := &ckpt.Checkpoint{}
				po := &opener{c: c, opt: o.opt, r: dsmeta.Reader{C: c, Torch: o.r.Torch}}
				p, bare, err := po.readParam(filepath.Join(zero, names[i]), names[i])
				res[i] = paramRead{p, c, bare, err}
			}
		}()
	}
	return func() []paramRead {
		wg.Wait()
		return res
	}
}

// collect gives the parameters read (read[i] is the folder sorted[i]) in
// the order names: each folder's bare states take their shape from the
// model states' param_shapes (reshape, reportExtra), then o.c absorbs the
// folder's Checkpoint, in names' order, so that files, issues and notes
// come out as a serial reading gives them. The error is that of the first
// failing folder in that order.
func (o *opener) collect(zero string, sorted []string, read []paramRead, names []string) ([]*ckpt.Param, error) {
	index := make(map[string]int, len(sorted))
	for i, n := range sorted {
		index[n] = i
	}
	params := make([]*ckpt.Param, len(names))
	var first error
	for i, name := range names {
		r := read[index[name]]
		if r.err == nil {
			want, known := o.c.ModelShapes[name]
			var extra []truncated
			for _, t := range r.bare {
				if found, cut := reshape(t, want, known); cut {
					extra = append(extra, truncated{t.State, found})
				}
			}
			setShape(r.p)
			if len(extra) > 0 {
				reportExtra(r.c, filepath.Join(zero, name), name, want, extra)
			}
		}
		o.c.Absorb(r.c)
		params[i] = r.p
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	return params, first
}

// openWorkers is how many files are opened at once: more than the cores,
// since a cold file is mostly waited for.
func openWorkers() int { return 2 * runtime.GOMAXPROCS(0) }

// readParam reads one parameter folder.
func (o *opener) readParam(dir, name string) (*ckpt.Param, []*ckpt.Tensor, error) {
	p := &ckpt.Param{Name: name, Group: -1, Keys: map[string]map[string]any{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var bares []*ckpt.Tensor
	for _, e := range entries {
		file := filepath.Join(dir, e.Name())
		state, isPT := strings.CutSuffix(e.Name(), ".pt")
		if !isPT || entryIsDir(e, file) {
			o.c.Report(ckpt.CheckStray, ckpt.Warning, name, file, "stray entry in parameter folder %s: %s", name, e.Name())
			continue
		}
		f, err := o.r.Open(file)
		if err == nil && state == stepFile {
			var step int64
			if step, err = readStep(f); err == nil {
				p.Step, p.StepFile = &step, file
				continue
			}
			err = fmt.Errorf("%s: %w", file, err)
		}
		var t *ckpt.Tensor
		var keys map[string]any
		bare := false
		if err == nil {
			t, keys, err = readState(f, ckpt.State(state))
			_, bare = f.Root.(*torchsave.Tensor)
		}
		if err != nil {
			if !o.opt.Tolerant {
				return nil, nil, fmt.Errorf("parameter %s: %w", name, err)
			}
			o.c.Report(dsmeta.StateCheck(err), ckpt.Error, name, file, "parameter %s: %v", name, err)
			continue
		}
		if len(keys) > 0 {
			p.Keys[state] = keys
		}
		if bare {
			bares = append(bares, t)
		}
		switch ckpt.State(state) {
		case ckpt.FP32:
			p.FP32 = t
		case ckpt.ExpAvg:
			p.ExpAvg = t
		case ckpt.ExpAvgSq:
			p.ExpAvgSq = t
		default:
			p.Other = append(p.Other, t)
		}
	}
	return p, bares, nil
}

// setShape gives p the shape of its fp32 weight, or else of its first
// moment, or else of its second.
func setShape(p *ckpt.Param) {
	for _, t := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq} {
		if t != nil {
			p.Shape = append([]int64{}, t.Shape...)
			return
		}
	}
}

// truncated is a state file that held more elements than its parameter.
type truncated struct {
	state ckpt.State
	found []int64 // the file's shape
}

// reshape gives a bare flat state tensor — ds_to_universal's output for a
// ZeRO-3 checkpoint: fp32.pt, exp_avg.pt and exp_avg_sq.pt hold the
// parameter flattened, not a {'param': ...} dict — the shape want that the
// model states' param_shapes give the parameter. A state holding more
// elements than that shape keeps only the first ones (the parameter's; see
// reportExtra) and takes the shape: reshape then returns the file's shape
// and true. A tensor that is not flat or holds fewer elements keeps its
// shape, for verify's shape check to report. Without param_shapes (known
// false) nothing changes.
func reshape(t *ckpt.Tensor, want []int64, known bool) ([]int64, bool) {
	if !known || len(t.Shape) != 1 {
		return nil, false
	}
	n, got := numelOf(want), t.Numel()
	switch {
	case got == n:
		t.Shape = append([]int64{}, want...)
		return nil, false
	case got < n || len(t.Pieces) != 1:
		return nil, false
	}
	pc := t.Pieces[0]
	v, err := tensor.NewView(pc.View.DType, pc.View.Data, pc.View.Offset, []int64{n}, []int64{pc.View.Strides[0]})
	if err != nil {
		return nil, false
	}
	pc.View = v
	found := t.Shape
	t.Pieces = []ckpt.Piece{pc}
	t.Shape = append([]int64{}, want...)
	return found, true
}

// reportExtra reports the states of a parameter that held more elements
// than its shape: DeepSpeed 0.15.1's ds_to_universal, converting a ZeRO-3
// checkpoint with more than one data-parallel rank, appends to each
// 1-element parameter's states elements of a later rank's padding
// (uninitialised memory). The first elements are the parameter's; only
// they are read.
func reportExtra(c *ckpt.Checkpoint, dir, name string, want []int64, extra []truncated) {
	var files []string
	for _, e := range extra {
		files = append(files, fmt.Sprintf("%s.pt %v", e.state, e.found))
	}
	c.Report(ckpt.CheckShapes, ckpt.Error, name, dir,
		"parameter %s: param_shapes gives shape %v (%d elements), its state files hold more (%s); the extra elements are "+
			"another rank's padding, which DeepSpeed's ds_to_universal appends to ZeRO-3 parameters with fewer elements than "+
			"data-parallel ranks: only the first %d are read",
		name, want, numelOf(want), strings.Join(files, ", "), numelOf(want))
}

func numelOf(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// readState reads a {'param': tensor, 'cat_dim': ..., ...} state file.
func readState(f *torchsave.File, state ckpt.State) (*ckpt.Tensor, map[string]any, error) {
	var t *torchsave.Tensor
	keys := map[string]any{}
	switch root := f.Root.(type) {
	case *torchsave.Tensor:
		t = root
	case *pickle.Dict:
		for _, it := range root.Items {
			k, _ := it.Key.(string)
			if k == "param" {
				t, _ = it.Value.(*torchsave.Tensor)
				continue
			}
			switch v := it.Value.(type) {
			case int64, float64, bool, string, nil:
				keys[k] = v
			case pickle.Tuple, *pickle.List, torchsave.Size:
				keys[k] = pickle.Repr(v)
			default:
				keys[k] = fmt.Sprintf("%T", v)
			}
		}
	}
	if t == nil {
		return nil, nil, fmt.Errorf("%s: no 'param' tensor", f.Path)
	}
	lt, err := dsmeta.Tensor(state, f, t)
	if err != nil {
		return nil, nil, err
	}
	return lt, keys, nil
}

// readStep reads step.pt: a Python int or float, a 0-dim tensor, or either
// wrapped as {'param': ...}.
func readStep(f *torchsave.File) (int64, error) {
	v := f.Root
	if d, ok := v.(*pickle.Dict); ok {
		v, _ = d.Get("param")
	}
	if n, ok := dsmeta.StepValue(v); ok {
		return n, nil
	}
	what := pickle.Repr(v)
	if t, ok := v.(*torchsave.Tensor); ok && t.Numel() == 1 {
		if view, err := t.View(); err == nil {
			what = fmt.Sprintf("%v (a %s)", view.Float64At(0), t)
		}
	}
	return 0, fmt.Errorf("step is %s, not a whole number >= 0 (an integer or a one-element tensor)", what)
}
