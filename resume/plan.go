package resume

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// Options configures [Inspect]: the resumed run's DeepSpeed configuration
// and the numbers given on the command line. Zero values mean "not given".
type Options struct {
	// DSConfig is the DeepSpeed configuration file the resumed run uses.
	// When empty, the configuration the checkpoint was trained with
	// (training_args.bin's hf_deepspeed_config, else the model states'
	// ds_config) stands in for it, and the plan says so.
	DSConfig string
	// WorldSize, PerDeviceBatch and GradAccum override what the
	// configuration and the training arguments say (the launcher's world
	// size, --per_device_train_batch_size, --gradient_accumulation_steps).
	WorldSize, PerDeviceBatch, GradAccum int64
	// Torch configures the reading of every torch.save file.
	Torch torchsave.Options
}

// Int is a number of the plan and where it came from.
type Int struct {
	Value int64  `json:"value"`
	From  string `json:"from"`
}

// Float is a number of the plan and where it came from.
type Float struct {
	Value float64 `json:"value"`
	From  string  `json:"from"`
}

// Plan says what resuming from a checkpoint will load and with which
// settings, and what will not go as configured ([Plan.Findings]).
type Plan struct {
	// Checkpoint is the Trainer folder inspected.
	Checkpoint string `json:"checkpoint"`
	// DSConfig is where the DeepSpeed configuration came from.
	DSConfig  ConfigRef `json:"ds_config"`
	Load      Load      `json:"load"`
	Batch     Batch     `json:"batch"`
	Optimizer Optimizer `json:"optimizer"`
	Precision Precision `json:"precision"`
	Scheduler Scheduler `json:"scheduler"`
	Trainer   Trainer   `json:"trainer"`
	RNG       RNG       `json:"rng"`
	// TrainingArgs is training_args.bin, or nil.
	TrainingArgs *TrainingArgs `json:"training_args"`
	// Notes say what was assumed and what the resumed run will inherit.
	Notes []string `json:"notes"`
	// Findings are sorted by check (in the order of [Checks]), then file.
	Findings []Finding `json:"findings"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
}

// ConfigRef says which DeepSpeed configuration the plan uses.
type ConfigRef struct {
	Path string `json:"path"`
	// From is "file" (Options.DSConfig), "checkpoint" (the configuration
	// the checkpoint was trained with) or "none".
	From string `json:"from"`
}

// Load is what DeepSpeed's load_checkpoint will read.
type Load struct {
	LoadUniversal bool   `json:"load_universal"`
	From          string `json:"load_universal_from"`
	// Latest and LatestUniversal are the tags the files name ("" when
	// absent).
	Latest          string `json:"latest"`
	LatestUniversal string `json:"latest_universal"`
	// Tag is the tag DeepSpeed reads (latest_universal's with
	// load_universal, latest's otherwise) and TagFound whether that folder
	// holds what DeepSpeed needs.
	Tag      string `json:"tag"`
	TagFound bool   `json:"tag_found"`
	// Layout is "universal" or "zero".
	Layout string `json:"layout"`
	// UniversalAvailable and ShardsAvailable tell which copies exist.
	UniversalAvailable bool `json:"universal_available"`
	ShardsAvailable    bool `json:"zero_shards_available"`
	// ShardRanks counts the optimizer shards of latest's tag (mp rank 0).
	ShardRanks       int  `json:"shard_ranks"`
	CheckpointDP     *Int `json:"checkpoint_dp"`
	MPWorldSize      *Int `json:"mp_world_size"`
	ResumeDP         *Int `json:"resume_dp"`
	CheckpointStage  *Int `json:"checkpoint_zero_stage"`
	ResumeStage      *Int `json:"resume_zero_stage"`
	CheckpointStep   *Int `json:"checkpoint_step"`
	CheckpointSample *Int `json:"checkpoint_samples"`
}

// Batch is the batch arithmetic: the resumed run's numbers and the
// checkpoint's.
type Batch struct {
	WorldSize *Int `json:"world_size"`
	PerDevice *Int `json:"per_device"`
	GradAccum *Int `json:"grad_accum"`
	// Global is PerDevice × WorldSize × GradAccum: what DeepSpeed is told.
	Global *Int `json:"global"`
	// FedPerDevice is what the Trainer's dataloader will feed per device:
	// trainer_state.json's train_batch_size when it has one.
	FedPerDevice *Int `json:"fed_per_device"`
	// Checkpoint is the checkpoint's global batch, and CheckpointAll every
	// way it could be found.
	Checkpoint    *Int  `json:"checkpoint_global"`
	CheckpointAll []Int `json:"checkpoint_sources"`
}

// HyperParams are optimizer settings of the resumed run's configuration.
type HyperParams struct {
	LR          *Float `json:"lr"`
	Beta1       *Float `json:"beta1"`
	Beta2       *Float `json:"beta2"`
	Eps         *Float `json:"eps"`
	WeightDecay *Float `json:"weight_decay"`
}

// Optimizer compares the configuration's hyper-parameters with the
// checkpoint's param groups, which DeepSpeed restores over them.
type Optimizer struct {
	Config     HyperParams `json:"config"`
	Groups     []group     `json:"checkpoint_groups"`
	GroupsFrom string      `json:"checkpoint_groups_from"`
}

// Precision compares the training dtype.
type Precision struct {
	Config     string `json:"config"`
	ConfigFrom string `json:"config_from"`
	Checkpoint string `json:"checkpoint"`
	// CheckpointFrom names the file the checkpoint's dtype was read from.
	CheckpointFrom string `json:"checkpoint_from"`
}

// Scheduler is the learning-rate schedule before and after the resume.
type Scheduler struct {
	// Checkpoint is the kind of state saved: "torch" (a torch LRScheduler
	// such as the Trainer's LambdaLR), "deepspeed" (last_batch_iteration),
	// or "" when none was saved.
	Checkpoint     string    `json:"checkpoint"`
	CheckpointFrom string    `json:"checkpoint_from"`
	SchedulerPT    bool      `json:"scheduler_pt"`
	Step           *int64    `json:"step"`
	BaseLRs        []float64 `json:"base_lrs"`
	LastLRs        []float64 `json:"last_lrs"`
	// Resume is "deepspeed" when the configuration has a scheduler
	// section, else "trainer" (the Trainer's own, from the training
	// arguments).
	Resume     string `json:"resume"`
	Type       string `json:"type"`
	TypeFrom   string `json:"type_from"`
	TotalSteps *Int   `json:"total_steps"`
	Warmup     *Int   `json:"warmup_steps"`
	// NextLR is the learning rate of the first group at the resumed run's
	// first step, when it can be computed.
	NextLR *float64 `json:"next_lr"`
}

// Trainer is the Hugging Face Trainer's state the resumed run inherits.
type Trainer struct {
	File         string   `json:"file"`
	GlobalStep   *int64   `json:"global_step"`
	MaxSteps     *int64   `json:"max_steps"`
	SaveSteps    *float64 `json:"save_steps"`
	LoggingSteps *float64 `json:"logging_steps"`
	EvalSteps    *float64 `json:"eval_steps"`
	// TrainBatchSize is trainer_state.json's per-device train_batch_size.
	TrainBatchSize *int64 `json:"train_batch_size"`
	// ArgsMaxSteps is training_args.bin's max_steps.
	ArgsMaxSteps *int64 `json:"args_max_steps"`
}

// RNG lists the random-number states the resumed ranks will look for.
type RNG struct {
	// Files counts the checkpoint's rng_state files, Expected the files
	// the resumed ranks look for (rng_state_<rank>.pth, or rng_state.pth
	// for one process), and Missing names those not there.
	Files    int      `json:"files"`
	Expected int      `json:"expected"`
	Missing  []string `json:"missing"`
}

// Finding is one way the resume will not go as configured: the shape of
// verify's findings, plus the fix.
type Finding struct {
	Check    ckpt.CheckID
	Severity ckpt.Severity
	Param    string
	File     string
	Message  string
	Fix      string
}

// MarshalJSON writes the severity as its name ("error", "warning",
// "info").
func (f Finding) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Check    ckpt.CheckID `json:"check"`
		Severity string       `json:"severity"`
		Param    string       `json:"param"`
		File     string       `json:"file"`
		Message  string       `json:"message"`
		Fix      string       `json:"fix"`
	}{f.Check, f.Severity.String(), f.Param, f.File, f.Message, f.Fix})
}

// Inspect reads the checkpoint folder at path (a Trainer checkpoint-N/
// folder or a DeepSpeed save folder holding latest / latest_universal),
// only its small metadata files — tag files, model states, optimizer
// state and rank 0's shard pickles, scheduler.pt, trainer_state.json,
// training_args.bin, rng_state files; no tensor data — and works out the
// resume plan and its findings. It fails only when path is not such a
// folder or the configuration file cannot be read; unreadable files of
// the checkpoint become findings.
func Inspect(path string, opt Options) (*Plan, error) {
	f, err := readFolder(path, opt)
	if err != nil {
		return nil, err
	}
	p := &Plan{Checkpoint: path, TrainingArgs: f.args, Notes: []string{}, Findings: []Finding{}}
	b := &builder{f: f, opt: opt, p: p}
	if err := b.config(); err != nil {
		return nil, err
	}
	for _, pr := range f.problems {
		b.add(pr.check, ckpt.Error, pr.file, "%s", pr.msg).fix("replace the file with a readable copy")
	}
	b.trainingArgs()
	b.load()
	b.stage()
	b.batch()
	b.dp()
	b.optimizer()
	b.precision()
	b.scheduler()
	b.trainerState()
	b.rng()
	order := map[ckpt.CheckID]int{}
	for i, c := range ckpt.Checks() {
		order[c.ID] = i
	}
	sort.SliceStable(p.Findings, func(i, j int) bool {
		a, c := p.Findings[i], p.Findings[j]
		if order[a.Check] != order[c.Check] {
			return order[a.Check] < order[c.Check]
		}
		return a.File < c.File
	})
	for _, fd := range p.Findings {
		switch fd.Severity {
		case ckpt.Error:
			p.Errors++
		case ckpt.Warning:
			p.Warnings++
		}
	}
	return p, nil
}

// builder carries what the checks share.
type builder struct {
	f   *folder
	opt Options
	p   *Plan
	cfg *DSConfig
	// cfgFile is the file the configuration was read from (findings name it).
	cfgFile string
	// world, micro, accum are the resumed run's numbers (nil: unknown).
	world, micro, accum *Int
}

type findingRef struct {
	p *Plan
	i int
}

func (r findingRef) fix(format string, args ...any) {
	r.p.Findings[r.i].Fix = fmt.Sprintf(format, args...)
}

func (b *builder) add(check ckpt.CheckID, sev ckpt.Severity, file, format string, args ...any) findingRef {
	b.p.Findings = append(b.p.Findings, Finding{Check: check, Severity: sev, File: file, Message: fmt.Sprintf(format, args...)})
	return findingRef{b.p, len(b.p.Findings) - 1}
}

func (b *builder) note(format string, args ...any) {
	b.p.Notes = append(b.p.Notes, fmt.Sprintf(format, args...))
}

func (b *builder) config() error {
	switch {
	case b.opt.DSConfig != "":
		c, err := ReadDSConfig(b.opt.DSConfig)
		if err != nil {
			return err
		}
		b.cfg, b.cfgFile = c, b.opt.DSConfig
		b.p.DSConfig = ConfigRef{Path: b.opt.DSConfig, From: "file"}
	case b.f.args != nil && b.f.args.DSConfig != nil:
		b.cfgFile = filepath.Join(b.f.dir, "training_args.bin")
		b.cfg = &DSConfig{Path: b.cfgFile + " hf_deepspeed_config", raw: b.f.args.DSConfig}
		b.p.DSConfig = ConfigRef{Path: b.cfg.Path, From: "checkpoint"}
		b.note("no DeepSpeed configuration given: the checks use the one the checkpoint was trained with (%s)", b.rel(b.cfg.Path))
	case b.f.ms != nil && b.f.ms.config != nil:
		b.cfg, b.cfgFile = b.f.ms.config, b.f.ms.file
		b.p.DSConfig = ConfigRef{Path: b.cfg.Path, From: "checkpoint"}
		b.note("no DeepSpeed configuration given: the checks use the one the checkpoint was trained with (%s)", b.rel(b.cfg.Path))
	default:
		b.cfg = &DSConfig{Path: "(none)", raw: map[string]any{}}
		b.p.DSConfig = ConfigRef{Path: "", From: "none"}
		b.note("no DeepSpeed configuration given or saved: DeepSpeed's defaults are assumed")
	}
	return nil
}

func (b *builder) trainingArgs() {
	if b.f.argsErr != nil {
		file := filepath.Join(b.f.dir, "training_args.bin")
		b.add(ckpt.CheckTrainingArgs, ckpt.Warning, file, "training_args.bin unreadable or absent (%v): the \"auto\" values of the DeepSpeed configuration cannot be resolved from the checkpoint's training arguments", b.f.argsErr).
			fix("give the resumed run's numbers with --per-device-batch, --grad-accum and --world-size")
	}
}
