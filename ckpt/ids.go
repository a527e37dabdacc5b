package ckpt

// State names one logical tensor of a parameter: the fp32 master weight,
// the module weight in the training dtype, an AdamW moment, or another
// optimizer state found beside them (by its file name).
type State string

// The states every layout knows.
const (
	FP32     State = "fp32"       // the fp32 master weight
	BF16     State = "bf16"       // the module weight in the training dtype (bf16 or fp16)
	ExpAvg   State = "exp_avg"    // AdamW's first moment
	ExpAvgSq State = "exp_avg_sq" // AdamW's second moment
)

// States returns the four known states, in the order reports list them.
func States() []State { return []State{FP32, ExpAvg, ExpAvgSq, BF16} }

// String returns the state's name.
func (s State) String() string { return string(s) }

// Tensor returns the parameter's tensor of state s, or nil when absent.
// Other states are looked up in p.Other.
func (p *Param) Tensor(s State) *Tensor {
	switch s {
	case FP32:
		return p.FP32
	case BF16:
		return p.BF16
	case ExpAvg:
		return p.ExpAvg
	case ExpAvgSq:
		return p.ExpAvgSq
	}
	for _, t := range p.Other {
		if t.State == s {
			return t
		}
	}
	return nil
}

// CheckID is the stable id of one check of a checkpoint (for example
// "structure.missing_rank"): what findings are filed under, in JSON output
// and in the README's table of checks. Every id is listed by [Checks].
type CheckID string

// The checks. Structure checks are found while a layout opens a
// checkpoint; the others by package verify's passes.
const (
	CheckLatest         CheckID = "structure.latest"
	CheckCopies         CheckID = "structure.copies"
	CheckUnreadable     CheckID = "structure.unreadable"
	CheckTruncated      CheckID = "structure.truncated"
	CheckMissingState   CheckID = "structure.missing_state"
	CheckParamNames     CheckID = "structure.param_names"
	CheckMissingRank    CheckID = "structure.missing_rank"
	CheckFragments      CheckID = "structure.fragments"
	CheckModelStates    CheckID = "structure.model_states"
	CheckOptimizerState CheckID = "structure.optimizer_state"
	CheckStray          CheckID = "structure.stray"
	CheckTrainer        CheckID = "structure.trainer"
	CheckScaleFactors   CheckID = "structure.scale_factors"
	CheckShapes         CheckID = "shapes.mismatch"
	CheckConfigShapes   CheckID = "shapes.config"
	CheckNonFinite      CheckID = "values.nonfinite"
	CheckNegativeExpAvg CheckID = "values.negative_exp_avg_sq"
	CheckStaleMoments   CheckID = "values.stale_moments"
	CheckStep           CheckID = "step.mismatch"
	CheckTrainerStep    CheckID = "step.trainer"
	CheckMaster         CheckID = "master.mismatch"
	CheckGroups         CheckID = "optimizer.groups"
	CheckCRC            CheckID = "integrity.crc"

	// Checks of verify --resume (package resume): will the resumed run
	// read this checkpoint the way the user intends?
	CheckLoadUniversal CheckID = "resume.load_universal"
	CheckDPSize        CheckID = "resume.dp_size"
	CheckZeroStage     CheckID = "resume.zero_stage"
	CheckBatch         CheckID = "resume.batch"
	CheckTrainerState  CheckID = "resume.trainer_state"
	CheckBetas         CheckID = "resume.betas"
	CheckEps           CheckID = "resume.eps"
	CheckWeightDecay   CheckID = "resume.weight_decay"
	CheckLR            CheckID = "resume.lr"
	CheckDType         CheckID = "resume.dtype"
	CheckScheduler     CheckID = "resume.scheduler"
	CheckMaxSteps      CheckID = "resume.max_steps"
	CheckRNG           CheckID = "resume.rng_state"
	CheckTrainingArgs  CheckID = "resume.training_args"
)

// Check describes one check: its id, the severity of its findings, and
// what it makes sure of.
type Check struct {
	ID       CheckID
	Severity Severity
	What     string
}

// checks is the one table of checks, in the order findings are reported.
var checks = []Check{
	{CheckLatest, Error, "latest and latest_universal name tag folders that exist and hold their checkpoint (what a resume reads)"},
	{CheckCopies, Error, "the copies a folder holds (ZeRO shards and their universal conversion) have the same parameter names, shapes and step"},
	{CheckUnreadable, Error, "every file can be read: a valid torch.save file, zip directory consistent"},
	{CheckTruncated, Error, "no file is truncated: every storage byte range lies inside its file"},
	{CheckMissingState, Error, "every parameter has fp32, exp_avg and exp_avg_sq (and step, if any parameter has one)"},
	{CheckParamNames, Error, "every name of the model states' param_shapes has a folder and every folder a name"},
	{CheckMissingRank, Error, "every data-parallel rank's optimizer shard is present, per partition_count (ZeRO shards), and under ZeRO-3 every rank's model states file"},
	{CheckFragments, Error, "(ZeRO shards) the fragments of each parameter cover it exactly once, with no gap or overlap"},
	{CheckModelStates, Error, "the model states (mp_rank_00_model_states.pt, or every ZeRO-3 rank's) are present, readable and agree with each other (needed to resume)"},
	{CheckOptimizerState, Error, "zero/optimizer_state.pt is present and readable, with one param group per param_shapes group"},
	{CheckStray, Warning, "no stray files beside the state files"},
	{CheckTrainer, Warning, "trainer_state.json and config.json, when present, are valid JSON"},
	{CheckScaleFactors, Error, "every *_alpha scale factor has a known target under the model config (a YuLan-Mini factor in its place, one element, in every layer or none, allowed by wesar_weights / use_norm_alpha), no parameter lies in a layer the config lacks, and the config's multiplier keys parse (a warning when the checkpoint has no scale factors)"},
	{CheckShapes, Error, "fp32, exp_avg, exp_avg_sq and the bf16 module weight have the shape param_shapes gives"},
	{CheckConfigShapes, Error, "every weight has the shape config.json gives (hidden_size, intermediate_size, heads, KV heads, vocab_size; vocabulary rows may be padded)"},
	{CheckNonFinite, Error, "no NaN or Inf in any state"},
	{CheckNegativeExpAvg, Error, "exp_avg_sq >= 0 everywhere"},
	{CheckStaleMoments, Warning, "a moment is not entirely zero while the step is > 0"},
	{CheckStep, Error, "all parameters share one step, equal to the model states' global_steps"},
	{CheckTrainerStep, Warning, "trainer_state.json's global_step equals the model states' global_steps"},
	{CheckMaster, Error, "the bf16 module weight equals the fp32 master rounded to bf16 (round to nearest even)"},
	{CheckGroups, Error, "every param group has lr >= 0, betas in [0, 1) and eps > 0"},
	{CheckCRC, Error, "(--deep) every zip record's CRC-32 matches the zip directory"},
	{CheckLoadUniversal, Error, "the tag DeepSpeed will read (latest_universal with checkpoint.load_universal, latest without) names a folder holding what it loads"},
	{CheckZeroStage, Error, "the configuration's ZeRO stage can load the checkpoint's (3 and 1/2 cannot load each other; 1 <-> 2 is an info, 0 <-> 1/2 a warning)"},
	{CheckDPSize, Error, "ZeRO shards are loaded at the data-parallel size that wrote them (any size needs the universal checkpoint)"},
	{CheckBatch, Error, "the global batch (per device x world size x accumulation) equals the checkpoint's, and DeepSpeed's train_batch_size agrees with it"},
	{CheckTrainerState, Error, "trainer_state.json's train_batch_size, which the Trainer restores over the command line, equals the per-device batch DeepSpeed is given; its global_step equals the model states' (a warning)"},
	{CheckBetas, Error, "the configuration's betas equal the checkpoint's param groups' (DeepSpeed restores the saved ones over the configuration)"},
	{CheckEps, Error, "the configuration's eps equals the checkpoint's param groups'"},
	{CheckWeightDecay, Error, "the configuration's weight decay is the checkpoint's (groups without decay excepted)"},
	{CheckLR, Error, "the configuration's learning rate is the one the resumed run will follow (a warning when DeepSpeed's scheduler takes a new peak lr from the configuration)"},
	{CheckDType, Warning, "the configuration's bf16 / fp16 setting is the checkpoint's training dtype"},
	{CheckScheduler, Error, "the checkpoint's scheduler state can be loaded by the resumed run's scheduler (and scheduler.pt is there when the Trainer needs it), and the schedule has not ended"},
	{CheckMaxSteps, Warning, "the checkpoint's global_step has not reached max_steps (resumed with the same arguments, the Trainer would stop at once)"},
	{CheckRNG, Info, "every resumed rank finds its rng_state_<rank>.pth (else its data order and dropout differ; a warning when a file is unreadable)"},
	{CheckTrainingArgs, Warning, "training_args.bin is readable (it resolves the configuration's \"auto\" values)"},
}

// Checks returns every check, in the order findings are reported. The
// slice is a copy.
func Checks() []Check { return append([]Check(nil), checks...) }

// LookupCheck returns the check with the given id.
func LookupCheck(id CheckID) (Check, bool) {
	for _, c := range checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
