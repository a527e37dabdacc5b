package series

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// Options configures [Open] and [Series.Run].
type Options struct {
	// Layout forces the layout of every checkpoint (layout.Options.Layout;
	// "" detects). It also chooses between a step's ZeRO shards and its
	// universal checkpoint in a DeepSpeed save folder (see [Find]).
	Layout string
	// Filter, when not empty, is a regular expression: only parameters
	// whose name matches it are measured.
	Filter string
	// Policy judges the pickles of the files read (layout.Options.Policy).
	Policy pickle.Policy
	// Workers is the number of parallel workers of each pass; 0 for all
	// cores.
	Workers int
	// Effective adds for every parameter with a weight a row of State
	// EffectiveState: the statistics of its effective weight, the weight
	// the network computes with (scale factors and the config's
	// multipliers applied: `ckptinspect stats --effective`), and its
	// update-to-weight ratio against it. Config names the model config
	// they come from; "" takes each checkpoint's config.json.
	Effective bool
	Config    string
	// CacheDir, when not empty, keeps each checkpoint's figures between
	// runs (see the package documentation); it is created if needed.
	CacheDir string
	// Hist, when set, asks for a histogram of one tensor in every
	// checkpoint (Part.Hist).
	Hist *HistOptions
	// Progress, when set, is told of each pass before it starts: a label
	// and the bytes the pass will read. It returns the function the pass
	// calls with the bytes as they are read, and the one called when the
	// pass ends (either may be nil).
	Progress func(label string, total int64) (add func(int64), finish func())
}

// HistOptions asks for a histogram of one tensor in every checkpoint,
// over the range of its own finite values (linear bins) or over decades
// (log bins of |x|).
type HistOptions struct {
	Param string
	State ckpt.State
	// Bins is the number of equal-width bins over [min, max] of the
	// tensor's finite values in each checkpoint (each its own range).
	Bins int
	// Log bins |x| by decades instead, PerDecade bins per power of ten
	// (suited to exp_avg_sq).
	Log       bool
	PerDecade int
}

// Checkpoint is one checkpoint of a series, in step order.
type Checkpoint struct {
	Path      string // as found or given
	Step      int64
	Layout    string // the layout read: "universal", "zero", "safetensors"
	Tag       string // e.g. "global_step120_universal"
	DSVersion string
	// ParamGroups are the optimizer's parameter groups (lr, betas, eps,
	// weight decay, parameter names).
	ParamGroups []ckpt.ParamGroup
	// Params counts the checkpoint's parameters (all of them, whatever
	// Options.Filter).
	Params int
	// Bytes is the size of the checkpoint's files (those its cache key
	// covers: every regular file below its folder).
	Bytes int64

	// What Run did: Cached is true when the checkpoint's statistics came
	// from the cache; Scanned when Run read its states in full (one pass,
	// together with its predecessor's fp32 weights unless the change from
	// the predecessor was cached or it is the first); Compared when Run
	// computed the change from its predecessor (reading the predecessor's
	// fp32 weights); BytesRead counts the bytes Run read for it.
	Cached, Scanned, Compared bool
	BytesRead                 int64
}

// Series is a run of checkpoints of one model, ordered by step.
type Series struct {
	Checkpoints []*Checkpoint
	// Notes say what was odd but did not stop the series (a folder named
	// after another step than the one it holds, a cache entry that could
	// not be read).
	Notes []string

	opt   Options
	re    *regexp.Regexp
	cache *cache
	items []*item // parallel to Checkpoints
}

// item is what Open learned about a checkpoint beyond Checkpoint.
type item struct {
	abs         string
	fingerprint string
	entry       *entry // the cache entry (meta only), nil when there is none
	model       *ckpt.Checkpoint
}

// ErrDuplicateStep reports two checkpoints of a series at the same step.
var ErrDuplicateStep = errors.New("two checkpoints at the same step")

// Open finds the checkpoints of the RUN arguments (see [Find]), learns
// each one's step, layout and model — from the cache, or by opening it
// (metadata only: no tensor is read) —, orders them by step, and checks
// that they are checkpoints of one model: each against the first and
// against its predecessor, with ckpt.SameModel (an error wrapping
// ckpt.ErrDifferentModels otherwise). A checkpoint's step is its own
// (ckpt.StepOf), else the one its folder name gives.
func Open(args []string, opt Options) (*Series, error) {
	s := &Series{opt: opt}
	if opt.Filter != "" {
		re, err := regexp.Compile(opt.Filter)
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		s.re = re
	}
	if opt.CacheDir != "" {
		s.cache = &cache{dir: opt.CacheDir, layout: opt.Layout, filter: opt.Filter}
		if opt.Effective {
			s.cache.effective = "config=" + opt.Config
		}
	}
	if opt.Hist != nil {
		if err := opt.Hist.validate(); err != nil {
			return nil, err
		}
	}
	cands, err := Find(args, opt.Layout)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		ck, it, err := s.learn(c)
		if err != nil {
			return nil, err
		}
		s.Checkpoints = append(s.Checkpoints, ck)
		s.items = append(s.items, it)
	}
	idx := make([]int, len(s.Checkpoints))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Checkpoints[idx[a]].Step < s.Checkpoints[idx[b]].Step })
	cks, its := make([]*Checkpoint, len(idx)), make([]*item, len(idx))
	for k, i := range idx {
		cks[k], its[k] = s.Checkpoints[i], s.items[i]
	}
	s.Checkpoints, s.items = cks, its
	for i := 1; i < len(cks); i++ {
		if cks[i].Step == cks[i-1].Step {
			return nil, fmt.Errorf("%w: %s and %s are both at step %d", ErrDuplicateStep, cks[i-1].Path, cks[i].Path, cks[i].Step)
		}
		if err := ckpt.SameModel(its[0].model, its[i].model); err != nil {
			return nil, fmt.Errorf("%s and %s: %w", cks[0].Path, cks[i].Path, err)
		}
		if i > 1 {
			if err := ckpt.SameModel(its[i-1].model, its[i].model); err != nil {
				return nil, fmt.Errorf("%s and %s: %w", cks[i-1].Path, cks[i].Path, err)
			}
		}
	}
	for _, it := range its {
		it.model = nil
	}
	return s, nil
}

// learn fingerprints a candidate and reads what ordering and the model
// check need, from the cache or from the checkpoint's metadata.
func (s *Series) learn(c Candidate) (*Checkpoint, *item, error) {
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return nil, nil, err
	}
	fp, size, err := fingerprint(c.Path)
	if err != nil {
		return nil, nil, err
	}
	it := &item{abs: abs, fingerprint: fp}
	var in info
	if s.cache != nil {
		e, err := s.cache.loadMeta(abs, fp)
		if err != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("%s: cache entry ignored: %v", c.Path, err))
		}
		if e != nil {
			it.entry, in = e, e.Info
		}
	}
	if it.entry == nil {
		cp, err := layout.Open(c.Path, layout.Options{Layout: s.opt.Layout, Policy: s.opt.Policy})
		if err != nil {
			return nil, nil, err
		}
		in = infoOf(cp)
		cp.Close()
		if !in.HasStep {
			if !c.HasNameStep {
				return nil, nil, fmt.Errorf("%s: the checkpoint has no step (no global_steps, trainer_state.json or parameter step) and its name gives none: it cannot be placed in a series", c.Path)
			}
			in.Step, in.HasStep = c.NameStep, true
		}
	}
	if c.HasNameStep && c.NameStep != in.Step {
		s.Notes = append(s.Notes, fmt.Sprintf("%s holds step %d, not the step %d its name gives: ordered by step %d", c.Path, in.Step, c.NameStep, in.Step))
	}
	ck := &Checkpoint{Path: c.Path, Step: in.Step, Layout: in.Layout, Tag: in.Tag, DSVersion: in.DSVersion,
		ParamGroups: in.ParamGroups, Params: len(in.Params), Bytes: size, Cached: it.entry != nil}
	it.model = in.model(c.Path)
	return ck, it, nil
}

// info is what a checkpoint's metadata gives the series.
type info struct {
	Step        int64             `json:"step"`
	HasStep     bool              `json:"has_step"`
	Layout      string            `json:"layout"`
	Tag         string            `json:"tag"`
	DSVersion   string            `json:"ds_version"`
	ParamGroups []ckpt.ParamGroup `json:"param_groups"`
	// Config holds config.json's architecture keys (yulan.ArchitectureKeys);
	// nil without config.json.
	Config map[string]any `json:"config"`
	Params []paramInfo    `json:"params"`
}

type paramInfo struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

func infoOf(c *ckpt.Checkpoint) info {
	in := info{Layout: c.Layout, Tag: c.Tag, DSVersion: c.DSVersion, ParamGroups: c.ParamGroups}
	in.Step, in.HasStep = ckpt.StepOf(c)
	if c.Config != nil {
		in.Config = map[string]any{}
		for _, k := range yulan.ArchitectureKeys() {
			if v, ok := c.Config[k]; ok {
				in.Config[k] = v
			}
		}
	}
	for _, p := range c.Params {
		in.Params = append(in.Params, paramInfo{Name: p.Name, Shape: p.Shape})
	}
	return in
}

// model returns a checkpoint holding only what ckpt.SameModel looks at.
func (in info) model(path string) *ckpt.Checkpoint {
	c := &ckpt.Checkpoint{Path: path, Config: in.Config}
	for _, p := range in.Params {
		c.Params = append(c.Params, &ckpt.Param{Name: p.Name, Shape: p.Shape})
	}
	return c
}

func (h *HistOptions) validate() error {
	switch {
	case h.Param == "":
		return errors.New("histogram: no parameter named")
	case h.State != ckpt.FP32 && h.State != ckpt.BF16 && h.State != ckpt.ExpAvg && h.State != ckpt.ExpAvgSq:
		return fmt.Errorf("histogram: state %q: want fp32, bf16, exp_avg or exp_avg_sq", h.State)
	case h.Log:
		return ckpt.HistSpec{Log: true, PerDecade: h.PerDecade}.Validate()
	case h.Bins < 1 || h.Bins > 10000:
		return fmt.Errorf("histogram: %d bins (want 1 to 10000)", h.Bins)
	}
	return nil
}

// spec returns the bins of the histogram of a tensor whose finite values
// span [lo, hi]: its own range, widened around a single value.
func (h *HistOptions) spec(lo, hi float64) ckpt.HistSpec {
	if h.Log {
		return ckpt.HistSpec{Log: true, PerDecade: h.PerDecade}
	}
	if lo == hi {
		d := math.Max(math.Abs(lo)*1e-3, 1e-12)
		lo, hi = lo-d, hi+d
	}
	return ckpt.HistSpec{Lo: lo, Hi: hi, Bins: h.Bins}
}

// Summary says what the run measured: the checkpoints and steps, how many
// were read in full, compared with their predecessor only, or taken from
// the cache, and the bytes read.
func (s *Series) Summary() string {
	var scanned, compared, cached int
	var read int64
	for _, ck := range s.Checkpoints {
		read += ck.BytesRead
		if ck.Scanned {
			scanned++
			continue
		}
		if ck.Compared {
			compared++
		}
		if ck.Cached {
			cached++
		}
	}
	first, last := int64(0), int64(0)
	if n := len(s.Checkpoints); n > 0 {
		first, last = s.Checkpoints[0].Step, s.Checkpoints[n-1].Step
	}
	return fmt.Sprintf("%d checkpoints, steps %d to %d: %d read in full, %d compared with their predecessor only, %d from the cache; %s read",
		len(s.Checkpoints), first, last, scanned, compared, cached, output.Bytes(read))
}
