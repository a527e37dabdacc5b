// Package zero reads DeepSpeed ZeRO checkpoints where training wrote them,
// without converting them (FORMATS.md §6): a global_stepN/ folder of
// per-rank optimizer shards beside the model states.
//
// Each parameter's fp32 weight and AdamW moments become logical tensors
// made of pieces — byte ranges of the rank files' mappings — so nothing is
// copied. ZeRO-1/2 shards (stage_1_and_2.state_dict: each rank holds an
// equal partition of every flat parameter group, and param_slice_mappings
// locate each parameter's fragment in it) and ZeRO-3 shards (stage3: every
// parameter partitioned evenly across ranks with per-parameter padding) are
// read. ZeRO-3 writes one model states file per rank
// (zero_pp_rank_<dp>_mp_rank_<mp>_model_states.pt), each loaded by its rank
// on resume: every one is opened (so integrity checks cover it) and must
// agree with the first on param_shapes and global_steps; a missing one is a
// structure.missing_rank issue. Several model-parallel ranks are reported
// as tensor-parallel slices named "<param>[tp=<k>]". Where the model states carry
// universal_checkpoint_info with vocabulary patterns, vocabulary parameters
// lose their padding rows exactly as ds_to_universal drops them, so that a
// universal checkpoint and the shards it was made from give the same
// statistics.
package zero

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/dsmeta"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// Layout is the layout name of checkpoints opened by this package.
const Layout = "zero"

// ErrNotZero reports a path that holds no ZeRO shard folder.
var ErrNotZero = errors.New("not a DeepSpeed ZeRO checkpoint")

// ErrMissingTag reports a latest file naming a missing tag folder.
var ErrMissingTag = errors.New("the tag folder named by latest is missing")

// Options configures [Open].
type Options struct {
	Torch torchsave.Options
	// Tolerant records unreadable files and inconsistent fragments as
	// issues of the checkpoint instead of failing.
	Tolerant bool
}

// Paths are the locations Resolve found.
type Paths struct {
	Trainer string // the Trainer (save) folder, or ""
	Tag     string // the global_stepN folder holding the shards
}

var rankFile = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(bf16_)?zero_pp_rank_(\d+)_mp_rank_(\d+)_optim_states\.pt$`)
})

func hasShards(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if rankFile().MatchString(e.Name()) {
			return true
		}
	}
	return false
}

// Resolve finds the shard folder for a user-given path: the folder itself,
// the tag named by its latest file, or its only global_step*/ folder with
// shards.
func Resolve(path string) (Paths, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Paths{}, err
	}
	if !fi.IsDir() {
		return Paths{}, fmt.Errorf("%s: %w: a file, not a folder", path, ErrNotZero)
	}
	clean := filepath.Clean(path)
	if hasShards(clean) {
		parent := filepath.Dir(clean)
		p := Paths{Tag: clean}
		if _, err := os.Stat(filepath.Join(parent, "latest")); err == nil {
			p.Trainer = parent
		} else if _, err := os.Stat(filepath.Join(parent, "trainer_state.json")); err == nil {
			p.Trainer = parent
		}
		return p, nil
	}
	tag, err := tagRule.Find(clean)
	if err != nil {
		return Paths{}, err
	}
	return Paths{Trainer: clean, Tag: tag}, nil
}

// tagRule finds a ZeRO tag in a save folder.
var tagRule = dsmeta.TagRule{Pointer: "latest", Pattern: "global_step*",
	IsTag: func(dir string) bool { return !strings.HasSuffix(dir, "_universal") && hasShards(dir) },
	Holds: "optimizer shards", Kind: "ZeRO tag folders", Missing: ErrMissingTag, None: ErrNotZero}

// shard is one rank file.
type shard struct {
	dp, mp int
	path   string
	osd    *pickle.Dict // the optimizer_state_dict
	file   *torchsave.File
}

// Open opens the ZeRO checkpoint at path.
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
	r := dsmeta.Reader{C: c, Torch: opt.Torch}
	if paths.Trainer != "" {
		r.ReadTrainer(paths.Trainer)
	}
	entries, err := os.ReadDir(paths.Tag)
	if err != nil {
		return nil, err
	}
	byMP := map[int][]*shard{}
	for _, e := range entries {
		m := rankFile().FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		dp, _ := strconv.Atoi(m[2])
		mp, _ := strconv.Atoi(m[3])
		byMP[mp] = append(byMP[mp], &shard{dp: dp, mp: mp, path: filepath.Join(paths.Tag, e.Name())})
	}
	mps := make([]int, 0, len(byMP))
	for mp := range byMP {
		mps = append(mps, mp)
	}
	sort.Ints(mps)
	o := &opener{c: c, r: r, opt: opt, tag: paths.Tag, nmp: len(mps)}
	for _, mp := range mps {
		shards := byMP[mp]
		sort.Slice(shards, func(i, j int) bool { return shards[i].dp < shards[j].dp })
		if err := o.readMP(mp, shards); err != nil {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

type opener struct {
	c   *ckpt.Checkpoint
	r   dsmeta.Reader
	opt Options
	tag string
	nmp int
}

func (o *opener) fail(err error, check ckpt.CheckID, param, file string) error {
	if !o.opt.Tolerant {
		return err
	}
	o.c.Report(check, ckpt.Error, param, file, "%v", err)
	return nil
}

// readMP reads the shards of one model-parallel rank.
func (o *opener) readMP(mp int, shards []*shard) error {
	// The model states: ZeRO-1/2's one file, else ZeRO-3's one per rank.
	msPath := filepath.Join(o.tag, fmt.Sprintf("mp_rank_%02d_model_states.pt", mp))
	rankMS := false
	if _, err := os.Stat(msPath); err != nil && dsmeta.RankModelStatesFiles(o.tag, mp) != nil {
		rankMS = true
		msPath = filepath.Join(o.tag, dsmeta.RankModelStatesName(0, mp))
	}
	c := o.c
	if mp > 0 {
		// Other model-parallel ranks: their own groups and module, kept
		// apart and merged below.
		c = &ckpt.Checkpoint{}
	}
	r := dsmeta.Reader{C: c, Torch: o.opt.Torch}
	var ms dsmeta.ModelStates
	if rankMS {
		// Every rank loads its own model states to resume: all are checked.
		ms = r.ReadRankModelStates(o.tag, mp, maxRank(shards)+1)
	} else {
		ms = r.ReadModelStates(msPath)
	}
	if mp > 0 {
		o.c.Files = append(o.c.Files, c.Files...)
		o.c.OnClose(c.Close)
		o.c.Issues = append(o.c.Issues, c.Issues...)
		o.c.Notes = append(o.c.Notes, c.Notes...)
	}
	for _, s := range shards {
		f, err := o.r.Open(s.path)
		if err != nil {
			if err := o.fail(fmt.Errorf("%s: %w", s.path, err), dsmeta.StateCheck(err), "", s.path); err != nil {
				return err
			}
			continue
		}
		s.file = f
		root, _ := f.Root.(*pickle.Dict)
		if root != nil {
			v, _ := root.Get("optimizer_state_dict")
			s.osd, _ = v.(*pickle.Dict)
		}
		if s.osd == nil {
			if err := o.fail(fmt.Errorf("%s: no optimizer_state_dict", s.path), ckpt.CheckUnreadable, "", s.path); err != nil {
				return err
			}
		}
	}
	var live []*shard
	for _, s := range shards {
		if s.osd != nil {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return fmt.Errorf("%s: %w: no readable optimizer shard", o.tag, ErrNotZero)
	}
	first := live[0].osd
	if mp == 0 {
		if v, ok := first.Get("base_optimizer_state"); ok {
			if d, ok := v.(*pickle.Dict); ok {
				if l, ok := getList(d, "param_groups"); ok {
					o.r.SetParamGroups(l, live[0].path)
				}
			}
		} else if v, ok := first.Get("optimizer_state_dict"); ok {
			if d, ok := v.(*pickle.Dict); ok {
				if l, ok := getList(d, "param_groups"); ok {
					o.r.SetParamGroups(l, live[0].path)
				}
			}
		}
	}
	world := len(shards)
	if pc, ok := first.Get("partition_count"); ok {
		world = maxInt(pc, world)
	}
	have := map[int]*shard{}
	for _, s := range live {
		have[s.dp] = s
	}
	for dp := 0; dp < world; dp++ {
		if _, ok := have[dp]; !ok && !containsDP(shards, dp) {
			o.c.Report(ckpt.CheckMissingRank, ckpt.Error, "", filepath.Join(o.tag, fmt.Sprintf("*zero_pp_rank_%d_mp_rank_%02d_optim_states.pt", dp, mp)),
				"optimizer shard of data-parallel rank %d (of %d, per partition_count) is missing", dp, world)
		}
	}
	stage3 := false
	if _, ok := first.Get("fp32_flat_groups"); ok {
		stage3 = true
	}
	names := ms.Order
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	var groups [][]string
	for _, g := range c.ParamGroups {
		groups = append(groups, g.Params)
		for _, n := range g.Params {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(groups) == 0 {
		return fmt.Errorf("%s: %w: the model states give no param_shapes", msPath, ErrNotZero)
	}
	params := map[string]*ckpt.Param{}
	for g, gnames := range groups {
		var err error
		if stage3 {
			err = o.stage3Group(c, g, gnames, have, world, params)
		} else {
			err = o.stage2Group(c, g, gnames, have, world, params)
		}
		if err != nil {
			return err
		}
	}
	vocab := vocabRows(ms.UniversalInfo)
	for _, n := range names {
		p := params[n]
		if p == nil {
			continue
		}
		if t, ok := ms.Module[n]; ok && t.Numel() > 0 {
			p.BF16 = t
		}
		if rows, ok := vocab(n); ok {
			for _, st := range []ckpt.State{ckpt.FP32, ckpt.ExpAvg, ckpt.ExpAvgSq} {
				p.Keys[string(st)] = map[string]any{"vocab_tensor": true}
			}
			truncateRows(p, rows)
		}
		if o.nmp > 1 {
			p.Name = fmt.Sprintf("%s[tp=%d]", n, mp)
		}
		o.c.Params = append(o.c.Params, p)
	}
	if mp > 0 {
		for n, sh := range c.ModelShapes {
			if o.c.ModelShapes == nil {
				o.c.ModelShapes = map[string][]int64{}
			}
			o.c.ModelShapes[fmt.Sprintf("%s[tp=%d]", n, mp)] = sh
		}
	} else if o.nmp > 1 {
		shapes := map[string][]int64{}
		for n, sh := range o.c.ModelShapes {
			shapes[n+"[tp=0]"] = sh
		}
		o.c.ModelShapes = shapes
		for i := range o.c.ParamGroups {
			for j, n := range o.c.ParamGroups[i].Params {
				o.c.ParamGroups[i].Params[j] = n + "[tp=0]"
			}
		}
	}
	return nil
}

// maxRank returns the largest data-parallel rank of the shards, or -1.
func maxRank(shards []*shard) int {
	m := -1
	for _, s := range shards {
		m = max(m, s.dp)
	}
	return m
}

func containsDP(shards []*shard, dp int) bool {
	for _, s := range shards {
		if s.dp == dp {
			return true
		}
	}
	return false
}

func maxInt(v any, dflt int) int {
	switch x := v.(type) {
	case int64:
		return max(int(x), dflt)
	case *pickle.List:
		m := dflt
		for _, e := range x.Items {
			if n, ok := e.(int64); ok {
				m = max(m, int(n))
			}
		}
		return m
	}
	return dflt
}

func getList(d *pickle.Dict, key string) (*pickle.List, bool) {
	v, ok := d.Get(key)
	if !ok {
		return nil, false
	}
	l, ok := v.(*pickle.List)
	return l, ok
}

// listItem returns item i of a list-valued key, or of a dict-valued key
// indexed by integers (base_optimizer_state's state is {0: ..., 1: ...}).
func listItem(d *pickle.Dict, key string, i int) (any, bool) {
	v, ok := d.Get(key)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case *pickle.List:
		if i < len(x.Items) {
			return x.Items[i], true
		}
	case *pickle.Dict:
		return x.Lookup(int64(i))
	}
	return nil, false
}

// flat returns a rank's flat 1-D tensor as a view over its storage.
func flat(s *shard, v any) (*tensor.View, int64, error) {
	t, ok := v.(*torchsave.Tensor)
	if !ok {
		return nil, 0, fmt.Errorf("%s: expected a flat tensor, found %s", s.path, pickle.Repr(v))
	}
	if len(t.Shape) != 1 {
		return nil, 0, fmt.Errorf("%s: flat partition of shape %v", s.path, t.Shape)
	}
	b, err := t.Storage.Bytes()
	if err != nil {
		return nil, 0, err
	}
	view, err := tensor.NewView(t.DType, b, t.Offset, t.Shape, t.Strides)
	if err != nil {
		return nil, 0, err
	}
	return view, t.Storage.FileOffset(), nil
}

// piece makes the piece of a rank's flat partition [start, start+n).
func piece(s *shard, part *tensor.View, fileOff, start, n int64) (ckpt.Piece, error) {
	if start < 0 || n < 0 || start+n > part.Numel() || start+n < start {
		return ckpt.Piece{}, fmt.Errorf("fragment [%d, %d) outside the %d-element partition", start, start+n, part.Numel())
	}
	if part.Strides[0] != 1 {
		return ckpt.Piece{}, fmt.Errorf("partition is not contiguous")
	}
	v, err := tensor.NewView(part.DType, part.Data, part.Offset+start, []int64{n}, nil)
	if err != nil {
		return ckpt.Piece{}, err
	}
	p := ckpt.Piece{View: v, File: s.path, Offset: fileOff}
	if fileOff >= 0 {
		p.Source = s.file.ReaderAt()
	}
	return p, nil
}

func newParam(c *ckpt.Checkpoint, name string, g int) *ckpt.Param {
	p := &ckpt.Param{Name: name, Group: g, Keys: map[string]map[string]any{}}
	if sh, ok := c.ModelShapes[name]; ok {
		p.Shape = append([]int64{}, sh...)
	}
	return p
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// rankViews are one rank's flat partitions of a group: the fp32 weights
// and the two moments (nil when absent), with their file offsets, and the
// group's step on that rank.
type rankViews struct {
	s             *shard
	fp32, m, v    *tensor.View
	off32, om, ov int64
	step          *int64
}

// readMoments reads exp_avg, exp_avg_sq and step from a group's optimizer
// state dict.
func (rv *rankViews) readMoments(st any) error {
	sd, ok := st.(*pickle.Dict)
	if !ok {
		return nil
	}
	var err error
	if x, ok := sd.Get("exp_avg"); ok {
		if rv.m, rv.om, err = flat(rv.s, x); err != nil {
			return err
		}
	}
	if x, ok := sd.Get("exp_avg_sq"); ok {
		if rv.v, rv.ov, err = flat(rv.s, x); err != nil {
			return err
		}
	}
	if x, ok := sd.Get("step"); ok {
		if n, ok := dsmeta.StepValue(x); ok {
			rv.step = &n
		}
	}
	return nil
}

// pieces holds a parameter's pieces of each state, in rank order.
type pieces struct{ f32, m, v []ckpt.Piece }

// add appends the pieces [start, start+n) of each of the rank's partitions.
func (ps *pieces) add(rv *rankViews, start, n int64) error {
	for _, t := range []struct {
		view *tensor.View
		off  int64
		dst  *[]ckpt.Piece
	}{{rv.fp32, rv.off32, &ps.f32}, {rv.m, rv.om, &ps.m}, {rv.v, rv.ov, &ps.v}} {
		if t.view == nil {
			continue
		}
		pc, err := piece(rv.s, t.view, t.off, start, n)
		if err != nil {
			return err
		}
		*t.dst = append(*t.dst, pc)
	}
	return nil
}

// set makes the parameter's logical tensors from the pieces.
func (ps *pieces) set(p *ckpt.Param, n int64) {
	p.FP32 = logical("fp32", p.Shape, ps.f32, n)
	p.ExpAvg = logical("exp_avg", p.Shape, ps.m, n)
	p.ExpAvgSq = logical("exp_avg_sq", p.Shape, ps.v, n)
}

// stage2Group assembles the parameters of flat group g of ZeRO-1/2 shards.
func (o *opener) stage2Group(c *ckpt.Checkpoint, g int, names []string, have map[int]*shard, world int, params map[string]*ckpt.Param) error {
	type rankData struct {
		rankViews
		mapping *pickle.Dict
		psize   int64
	}
	ranks := make([]*rankData, world)
	for dp := 0; dp < world; dp++ {
		s := have[dp]
		if s == nil {
			continue
		}
		rd := &rankData{rankViews: rankViews{s: s}}
		fail := func(err error) error {
			return o.fail(fmt.Errorf("%s: group %d: %w", s.path, g, err), ckpt.CheckUnreadable, "", s.path)
		}
		v32, ok := listItem(s.osd, "single_partition_of_fp32_groups", g)
		if !ok {
			if err := fail(errors.New("no single_partition_of_fp32_groups")); err != nil {
				return err
			}
			continue
		}
		var err error
		if rd.fp32, rd.off32, err = flat(s, v32); err != nil {
			if err := fail(err); err != nil {
				return err
			}
			continue
		}
		if bos, ok := s.osd.Get("base_optimizer_state"); ok {
			var st any
			switch b := bos.(type) {
			case *pickle.Dict:
				st, _ = listItem(b, "state", g)
			case *pickle.List: // elastic checkpoints: one state per group
				if g < len(b.Items) {
					st = b.Items[g]
				}
			}
			if err := rd.readMoments(st); err != nil {
				if err := fail(err); err != nil {
					return err
				}
			}
		}
		if mv, ok := listItem(s.osd, "param_slice_mappings", g); ok {
			rd.mapping, _ = mv.(*pickle.Dict)
		}
		if rd.mapping == nil {
			if err := fail(errors.New("no param_slice_mappings")); err != nil {
				return err
			}
			continue
		}
		rd.psize = rd.fp32.Numel()
		if rd.m != nil {
			rd.psize = rd.m.Numel() // the moments keep the alignment padding
		}
		ranks[dp] = rd
	}
	// The partition size is the same on every rank (the last rank's fp32
	// partition lacks the padding, its moments do not).
	var psize int64
	for _, rd := range ranks {
		if rd != nil {
			psize = max(psize, rd.psize)
		}
	}
	var offset int64 // the parameter's position in the flat group
	for _, name := range names {
		p := newParam(c, name, g)
		n := numel(p.Shape)
		var ps pieces
		pos := offset
		bad := ""
		for dp, rd := range ranks {
			if rd == nil {
				if pos < int64(dp+1)*psize && offset+n > int64(dp)*psize && psize > 0 {
					bad = fmt.Sprintf("its fragment on data-parallel rank %d is missing", dp)
				}
				continue
			}
			fa, ok := rd.mapping.Get(name)
			if !ok {
				continue
			}
			start, cnt, err := fragment(fa)
			if err != nil {
				bad = err.Error()
				break
			}
			if global := int64(dp)*psize + start; global != pos {
				if global < pos {
					bad = fmt.Sprintf("fragment on rank %d starts at flat position %d, overlapping what earlier fragments cover (up to %d)", dp, global, pos)
				} else {
					bad = fmt.Sprintf("gap before the fragment on rank %d: flat positions [%d, %d) are in no fragment", dp, pos, global)
				}
				break
			}
			if err := ps.add(&rd.rankViews, start, cnt); err != nil {
				bad = fmt.Sprintf("rank %d: %v", dp, err)
				break
			}
			if rd.step != nil {
				p.Step, p.StepFile = rd.step, rd.s.path
			}
			pos += cnt
		}
		if bad == "" && pos != offset+n {
			bad = fmt.Sprintf("fragments cover %d of its %d elements", pos-offset, n)
		}
		offset += n
		if bad != "" {
			err := fmt.Errorf("parameter %s: %s", name, bad)
			if err := o.fail(err, ckpt.CheckFragments, name, o.tag); err != nil {
				return err
			}
			p.FP32, p.ExpAvg, p.ExpAvgSq = nil, nil, nil
			params[name] = p
			continue
		}
		ps.set(p, n)
		params[name] = p
	}
	return nil
}

// fragment reads a fragment_address(numel, start).
func fragment(v any) (start, n int64, err error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return 0, 0, fmt.Errorf("fragment address %s is not an object", pickle.Repr(v))
	}
	nv, ok1 := o.Field("numel")
	sv, ok2 := o.Field("start")
	if !ok1 || !ok2 {
		if len(o.Args) == 2 { // a namedtuple-style address
			nv, sv, ok1, ok2 = o.Args[0], o.Args[1], true, true
		}
	}
	n, okn := nv.(int64)
	start, oks := sv.(int64)
	if !ok1 || !ok2 || !okn || !oks || n < 0 || start < 0 {
		return 0, 0, fmt.Errorf("fragment address %s has no valid numel and start", o)
	}
	return start, n, nil
}

// logical makes a logical tensor from pieces covering n elements, or nil
// when there are none.
func logical(state ckpt.State, shape []int64, pieces []ckpt.Piece, n int64) *ckpt.Tensor {
	if len(pieces) == 0 && n > 0 {
		return nil
	}
	var got int64
	for _, p := range pieces {
		got += p.View.Numel()
	}
	if got != n {
		return nil
	}
	t := &ckpt.Tensor{State: state, Shape: append([]int64{}, shape...), Pieces: pieces, DType: tensor.Float32}
	if len(pieces) > 0 {
		t.File = pieces[0].File
		t.DType = pieces[0].View.DType
	}
	return t
}

// stage3Group assembles the parameters of group g of ZeRO-3 shards: each
// parameter is split evenly, ceil(numel/world) elements per rank (the last
// padded), laid out one after another in each rank's flat group.
func (o *opener) stage3Group(c *ckpt.Checkpoint, g int, names []string, have map[int]*shard, world int, params map[string]*ckpt.Param) error {
	ranks := make([]*rankViews, world)
	for dp := 0; dp < world; dp++ {
		s := have[dp]
		if s == nil {
			continue
		}
		rd := &rankViews{s: s}
		v32, ok := listItem(s.osd, "fp32_flat_groups", g)
		var err error
		if !ok {
			err = errors.New("no fp32_flat_groups")
		} else {
			rd.fp32, rd.off32, err = flat(s, v32)
		}
		if err == nil {
			if bos, ok := s.osd.Get("optimizer_state_dict"); ok {
				if b, ok := bos.(*pickle.Dict); ok {
					st, _ := listItem(b, "state", g)
					err = rd.readMoments(st)
				}
			}
		}
		if err != nil {
			if err := o.fail(fmt.Errorf("%s: group %d: %w", s.path, g, err), ckpt.CheckUnreadable, "", s.path); err != nil {
				return err
			}
			continue
		}
		ranks[dp] = rd
	}
	var offset int64
	for _, name := range names {
		p := newParam(c, name, g)
		n := numel(p.Shape)
		pn := (n + int64(world) - 1) / int64(world)
		var ps pieces
		bad := ""
		for dp, rd := range ranks {
			cnt := min(pn, max(0, n-int64(dp)*pn))
			if cnt == 0 {
				continue
			}
			if rd == nil {
				bad = fmt.Sprintf("its partition on data-parallel rank %d is missing", dp)
				break
			}
			if err := ps.add(rd, offset, cnt); err != nil {
				bad = fmt.Sprintf("rank %d: %v", dp, err)
				break
			}
			if rd.step != nil {
				p.Step, p.StepFile = rd.step, rd.s.path
			}
		}
		offset += pn
		if bad != "" {
			if err := o.fail(fmt.Errorf("parameter %s: %s", name, bad), ckpt.CheckFragments, name, o.tag); err != nil {
				return err
			}
			params[name] = p
			continue
		}
		ps.set(p, n)
		params[name] = p
	}
	return nil
}

// vocabRows returns, from universal_checkpoint_info, a function telling
// whether a parameter is a vocabulary parameter and its unpadded row count.
func vocabRows(info *pickle.Dict) func(string) (int64, bool) {
	none := func(string) (int64, bool) { return 0, false }
	if info == nil {
		return none
	}
	rowsV, ok := info.Get("original_vocab_size")
	rows, ok2 := rowsV.(int64)
	pv, ok3 := info.Get("vocabulary_parameter_patterns")
	pl, ok4 := pv.(*pickle.List)
	if !ok || !ok2 || !ok3 || !ok4 || rows <= 0 {
		return none
	}
	var res []*regexp.Regexp
	for _, it := range pl.Items {
		if s, ok := it.(string); ok {
			if re, err := regexp.Compile(s); err == nil {
				res = append(res, re)
			}
		}
	}
	return func(name string) (int64, bool) {
		for _, re := range res {
			if re.MatchString(name) {
				return rows, true
			}
		}
		return 0, false
	}
}

// truncateRows keeps the first rows of a vocabulary parameter's states, as
// ds_to_universal does with the padded vocabulary.
func truncateRows(p *ckpt.Param, rows int64) {
	if len(p.Shape) == 0 || p.Shape[0] <= rows {
		return
	}
	rowLen := numel(p.Shape[1:])
	keep := rows * rowLen
	p.Shape = append([]int64{rows}, p.Shape[1:]...)
	for _, t := range []*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq} {
		if t == nil {
			continue
		}
		t.Shape = append([]int64{}, p.Shape...)
		var out []ckpt.Piece
		var have int64
		for _, pc := range t.Pieces {
			if have >= keep {
				break
			}
			n := pc.View.Numel()
			if have+n > keep {
				v, err := tensor.NewView(pc.View.DType, pc.View.Data, pc.View.Offset, []int64{keep - have}, nil)
				if err != nil {
					break
				}
				pc.View = v
				n = keep - have
			}
			out = append(out, pc)
			have += n
		}
		t.Pieces = out
	}
}
