package resume

import (
	"encoding/json"
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
	"github.com/ckptinspect/ckptinspect/internal/smallfile"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/tensor"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// ErrNotTrainer reports a path that is not a Trainer (or DeepSpeed save)
// folder holding a checkpoint to resume from.
var ErrNotTrainer = errors.New("not a checkpoint folder to resume from")

var (
	optimShard = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(bf16_)?zero_pp_rank_(\d+)_mp_rank_(\d+)_optim_states\.pt$`)
	})
	zero3States = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^zero_pp_rank_(\d+)_mp_rank_(\d+)_model_states\.pt$`)
	})
	mpStates = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^mp_rank_(\d+)_model_states\.pt$`) })
	rngFile  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^rng_state(_(\d+))?\.pth$`) })
)

// maxSmallFile bounds the JSON and tag files read whole.
const maxSmallFile = 64 << 20

// folder is what was found in a checkpoint folder.
type folder struct {
	dir string

	latest, latestUniversal       string // tags named; "" when the file is absent
	hasLatest, hasLatestUniversal bool

	zeroTag   tagFolder    // the folder `latest` names
	uniTag    tagFolder    // the folder `latest_universal` names
	ms        *modelStates // the model states the checks use (see builder.load)
	msUni     *modelStates // latest_universal's tag's
	msZero    *modelStates // latest's tag's
	uniGroups []group      // zero/optimizer_state.pt of the universal tag
	uniStage  *int64
	uniFile   string
	shardFile string // rank 0's optimizer shard
	shardGrps []group
	shardStg  *int64

	sched      *schedState // scheduler.pt
	trainer    *trainerState
	args       *TrainingArgs
	argsErr    error
	rngFiles   map[int]string // rank -> file (rank -1: rng_state.pth)
	problems   []problem      // unreadable files, for findings
	schedError error
}

// problem is a file that could not be read.
type problem struct {
	check     ckpt.CheckID
	file, msg string
}

// tagFolder describes one tag folder.
type tagFolder struct {
	name, dir string
	exists    bool
	// states are the model states files; shards the optimizer shards.
	states, shards []string
	shardRanks     map[int]bool
	zero3          bool // zero_pp_rank_*_model_states.pt files (ZeRO-3)
	hasZero        bool // zero/optimizer_state.pt (universal)
}

// modelStates are the fields of a model states file that matter here.
type modelStates struct {
	file                               string
	globalSteps, globalSamples, dp, mp *int64
	skipped                            *int64
	lrScheduler                        map[string]any
	config                             *DSConfig
	dtype                              tensor.DType
	dsVersion                          string
	hasLRScheduler, lrSchedulerNone    bool
	hasUniversalInfo                   bool
	moduleTensors                      int
}

// group is one optimizer parameter group; nil when absent.
type group struct {
	LR          *float64    `json:"lr"`
	InitialLR   *float64    `json:"initial_lr,omitempty"`
	Betas       *[2]float64 `json:"betas"`
	Eps         *float64    `json:"eps"`
	WeightDecay *float64    `json:"weight_decay"`
}

// schedState is a scheduler state dict (scheduler.pt or the model states'
// lr_scheduler).
type schedState struct {
	file string
	raw  map[string]any
}

// trainerState is trainer_state.json.
type trainerState struct {
	file           string
	GlobalStep     *int64   `json:"global_step"`
	MaxSteps       *int64   `json:"max_steps"`
	SaveSteps      *float64 `json:"save_steps"`
	LoggingSteps   *float64 `json:"logging_steps"`
	EvalSteps      *float64 `json:"eval_steps"`
	TrainBatchSize *int64   `json:"train_batch_size"`
	NumTrainEpochs *float64 `json:"num_train_epochs"`
}

func readSmall(path string) ([]byte, error) { return smallfile.Read(path, maxSmallFile) }

// readTag reads a latest / latest_universal file: the tag it names, or
// "" and false when the file is absent.
func readTag(dir, name string) (string, bool, error) {
	p := filepath.Join(dir, name)
	b, err := readSmall(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	tag := strings.TrimSpace(string(b))
	if tag == "" || strings.ContainsAny(tag, "/\\\x00") || tag == "." || tag == ".." {
		return tag, true, fmt.Errorf("%s names %q, not a tag folder", p, tag)
	}
	return tag, true, nil
}

func scanTag(dir, name string) tagFolder {
	t := tagFolder{name: name, shardRanks: map[int]bool{}}
	if name == "" {
		return t
	}
	t.dir = filepath.Join(dir, name)
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		return t
	}
	t.exists = true
	for _, e := range entries {
		n := e.Name()
		switch {
		case optimShard().MatchString(n):
			t.shards = append(t.shards, filepath.Join(t.dir, n))
			m := optimShard().FindStringSubmatch(n)
			if m[3] == "00" || m[3] == "0" {
				r, _ := strconv.Atoi(m[2])
				t.shardRanks[r] = true
			}
		case zero3States().MatchString(n):
			t.zero3 = true
			t.states = append(t.states, filepath.Join(t.dir, n))
		case mpStates().MatchString(n):
			t.states = append(t.states, filepath.Join(t.dir, n))
		case n == "zero" && e.IsDir():
			if _, err := os.Stat(filepath.Join(t.dir, "zero", "optimizer_state.pt")); err == nil {
				t.hasZero = true
			}
		}
	}
	sort.Strings(t.states)
	sort.Strings(t.shards)
	return t
}

// statesFile returns the model states file DeepSpeed reads first: rank
// 0's for ZeRO-3, mp rank 0's otherwise.
func (t tagFolder) statesFile() string {
	for _, s := range t.states {
		b := filepath.Base(s)
		if b == "mp_rank_00_model_states.pt" || b == "zero_pp_rank_0_mp_rank_00_model_states.pt" {
			return s
		}
	}
	if len(t.states) > 0 {
		return t.states[0]
	}
	return ""
}

// rank0Shard returns data-parallel rank 0's optimizer shard of mp rank 0.
func (t tagFolder) rank0Shard() string {
	for _, s := range t.shards {
		m := optimShard().FindStringSubmatch(filepath.Base(s))
		if m[2] == "0" && (m[3] == "00" || m[3] == "0") {
			return s
		}
	}
	return ""
}

func readFolder(dir string, opt Options) (*folder, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: a file, not a folder", dir, ErrNotTrainer)
	}
	f := &folder{dir: dir, rngFiles: map[int]string{}}
	var tagErr error
	if f.latest, f.hasLatest, err = readTag(dir, "latest"); err != nil {
		tagErr = err
	}
	if f.latestUniversal, f.hasLatestUniversal, err = readTag(dir, "latest_universal"); err != nil && tagErr == nil {
		tagErr = err
	}
	if tagErr != nil {
		return nil, tagErr
	}
	f.zeroTag = scanTag(dir, f.latest)
	f.uniTag = scanTag(dir, f.latestUniversal)
	if !f.hasLatest && !f.hasLatestUniversal {
		// A folder without tag files: a single global_step*[_universal]/
		// folder may still be there (the Trainer only needs one).
		matches, _ := filepath.Glob(filepath.Join(dir, "global_step*"))
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: %w: no latest, latest_universal or global_step*/ folder", dir, ErrNotTrainer)
		}
	}
	f.readModelStates(opt)
	f.readOptimizer(opt)
	f.readScheduler(opt)
	f.readTrainerState()
	f.readArgs(opt)
	f.findRNG()
	return f, nil
}

func (f *folder) fail(check ckpt.CheckID, file string, err error) {
	f.problems = append(f.problems, problem{check: check, file: file, msg: err.Error()})
}

func open(path string, opt Options) (*torchsave.File, error) {
	return torchsave.Open(path, opt.Torch)
}

func (f *folder) readModelStates(opt Options) {
	for _, t := range []struct {
		tag tagFolder
		dst **modelStates
	}{{f.uniTag, &f.msUni}, {f.zeroTag, &f.msZero}} {
		p := t.tag.statesFile()
		if p == "" {
			continue
		}
		ms, err := readModelStates(p, opt)
		if err != nil {
			f.fail(ckpt.CheckLoadUniversal, p, err)
			continue
		}
		*t.dst = ms
	}
	f.ms = f.msUni
	if f.ms == nil {
		f.ms = f.msZero
	}
}

func readModelStates(path string, opt Options) (*modelStates, error) {
	tf, err := open(path, opt)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	root, ok := tf.Root.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: the model states are %s, not a dict", path, describe(tf.Root))
	}
	ms := &modelStates{file: path}
	for key, dst := range map[string]**int64{
		"global_steps": &ms.globalSteps, "global_samples": &ms.globalSamples,
		"dp_world_size": &ms.dp, "mp_world_size": &ms.mp, "skipped_steps": &ms.skipped,
	} {
		if v, ok := root.Get(key); ok {
			*dst = intField(v)
		}
	}
	if v, ok := root.Get("ds_version"); ok {
		ms.dsVersion, _ = v.(string)
	}
	if v, ok := root.Get("lr_scheduler"); ok {
		ms.hasLRScheduler = true
		if v == nil {
			ms.lrSchedulerNone = true
		} else if m, ok := plain(v, 0).(map[string]any); ok {
			ms.lrScheduler = m
		}
	}
	if v, ok := root.Get("ds_config"); ok {
		ms.config = configFromCheckpoint(v, path+" ds_config")
	}
	if _, ok := root.Get("universal_checkpoint_info"); ok {
		ms.hasUniversalInfo = true
	}
	if v, ok := root.Get("module"); ok {
		if d, ok := v.(*pickle.Dict); ok {
			for _, it := range d.Items {
				if t, ok := it.Value.(*torchsave.Tensor); ok {
					if ms.moduleTensors == 0 {
						ms.dtype = t.DType
					}
					ms.moduleTensors++
				}
			}
		}
	}
	return ms, nil
}

// paramGroups reads an optimizer param_groups list.
func paramGroups(v any) []group {
	l, ok := items(v)
	if !ok {
		return nil
	}
	var out []group
	for _, it := range l {
		g := group{}
		if x, ok := get(it, "lr"); ok {
			g.LR = floatField(x)
		}
		if x, ok := get(it, "initial_lr"); ok {
			g.InitialLR = floatField(x)
		}
		if x, ok := get(it, "eps"); ok {
			g.Eps = floatField(x)
		}
		if x, ok := get(it, "weight_decay"); ok {
			g.WeightDecay = floatField(x)
		}
		if x, ok := get(it, "betas"); ok {
			if b, ok := items(x); ok && len(b) == 2 {
				b0, ok0 := asFloat(b[0])
				b1, ok1 := asFloat(b[1])
				if ok0 && ok1 {
					g.Betas = &[2]float64{b0, b1}
				}
			}
		}
		out = append(out, g)
	}
	return out
}

func (f *folder) readOptimizer(opt Options) {
	if f.uniTag.hasZero {
		p := filepath.Join(f.uniTag.dir, "zero", "optimizer_state.pt")
		f.uniFile = p
		if tf, err := open(p, opt); err != nil {
			f.fail(ckpt.CheckLoadUniversal, p, err)
		} else {
			if v, ok := get(tf.Root, "param_groups"); ok {
				f.uniGroups = paramGroups(v)
			}
			if v, ok := get(tf.Root, "zero_stage"); ok {
				if s, ok := zeroStage(v); ok {
					f.uniStage = &s
				}
			}
			tf.Close()
		}
	}
	if p := f.zeroTag.rank0Shard(); p != "" {
		f.shardFile = p
		tf, err := open(p, opt)
		if err != nil {
			f.fail(ckpt.CheckDPSize, p, err)
			return
		}
		defer tf.Close()
		osd, _ := get(tf.Root, "optimizer_state_dict")
		if v, ok := get(osd, "zero_stage"); ok {
			if s, ok := zeroStage(v); ok {
				f.shardStg = &s
			}
		}
		for _, keys := range [][]string{
			{"base_optimizer_state", "param_groups"}, // ZeRO-1/2
			{"optimizer_state_dict", "param_groups"}, // ZeRO-3
			{"param_groups"},                         // BF16_Optimizer and others
		} {
			if v, ok := path(osd, keys...); ok {
				f.shardGrps = paramGroups(v)
				break
			}
		}
	}
}

func (f *folder) readScheduler(opt Options) {
	p := filepath.Join(f.dir, "scheduler.pt")
	if _, err := os.Stat(p); err != nil {
		return
	}
	tf, err := open(p, opt)
	if err != nil {
		f.schedError = err
		return
	}
	defer tf.Close()
	m, ok := plain(tf.Root, 0).(map[string]any)
	if !ok {
		f.schedError = fmt.Errorf("%s: the scheduler state is %s, not a dict", p, describe(tf.Root))
		return
	}
	f.sched = &schedState{file: p, raw: m}
}

func (f *folder) readTrainerState() {
	p := filepath.Join(f.dir, "trainer_state.json")
	b, err := readSmall(p)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		f.fail(ckpt.CheckTrainerState, p, err)
		return
	}
	ts := &trainerState{file: p}
	if err := json.Unmarshal(b, ts); err != nil {
		f.fail(ckpt.CheckTrainerState, p, fmt.Errorf("%s: %w", p, err))
		return
	}
	f.trainer = ts
}

func (f *folder) readArgs(opt Options) {
	p := filepath.Join(f.dir, "training_args.bin")
	if _, err := os.Stat(p); err != nil {
		f.argsErr = err
		return
	}
	f.args, f.argsErr = ReadTrainingArgs(p, opt.Torch)
}

func (f *folder) findRNG() {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := rngFile().FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		r := -1
		if m[2] != "" {
			n, err := strconv.Atoi(m[2])
			if err != nil {
				continue
			}
			r = n
		}
		f.rngFiles[r] = filepath.Join(f.dir, e.Name())
	}
}

// checkRNG opens an rng_state file and checks it holds what
// Trainer._load_rng_state reads: python, numpy and cpu states.
func checkRNG(path string, opt Options) error {
	tf, err := open(path, opt)
	if err != nil {
		return err
	}
	defer tf.Close()
	for _, k := range []string{"python", "numpy", "cpu"} {
		if _, ok := get(tf.Root, k); !ok {
			return fmt.Errorf("%s: no %q state", path, k)
		}
	}
	return nil
}
