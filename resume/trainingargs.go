package resume

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// ErrNotTrainingArgs reports a value or file that holds no TrainingArguments
// object.
var ErrNotTrainingArgs = errors.New("not a TrainingArguments object")

// TrainingArgs is what a Hugging Face Trainer's training_args.bin says: the
// pickled transformers.training_args.TrainingArguments (or a subclass, such
// as a training script's own `class TrainingArguments(transformers.TrainingArguments)`
// pickled as __main__.TrainingArguments), read as an inert object: nothing
// is imported or run. Fields that are absent or of an unexpected type are
// nil (or empty); Fields keeps every attribute as saved.
type TrainingArgs struct {
	// Class is the pickled class, "module.Name".
	Class string `json:"class"`

	PerDeviceTrainBatchSize   *int64   `json:"per_device_train_batch_size"`
	GradientAccumulationSteps *int64   `json:"gradient_accumulation_steps"`
	LearningRate              *float64 `json:"learning_rate"`
	// LRSchedulerType is the scheduler's value ("linear", "cosine", ...),
	// whichever way its enum member was pickled.
	LRSchedulerType string   `json:"lr_scheduler_type"`
	WarmupSteps     *int64   `json:"warmup_steps"`
	WarmupRatio     *float64 `json:"warmup_ratio"`
	MaxSteps        *int64   `json:"max_steps"`
	NumTrainEpochs  *float64 `json:"num_train_epochs"`
	// SaveSteps, LoggingSteps and EvalSteps may be ratios of the total
	// steps (values below 1), as the Trainer allows.
	SaveSteps    *float64 `json:"save_steps"`
	LoggingSteps *float64 `json:"logging_steps"`
	EvalSteps    *float64 `json:"eval_steps"`
	SaveStrategy string   `json:"save_strategy"`
	AdamBeta1    *float64 `json:"adam_beta1"`
	AdamBeta2    *float64 `json:"adam_beta2"`
	AdamEpsilon  *float64 `json:"adam_epsilon"`
	WeightDecay  *float64 `json:"weight_decay"`
	MaxGradNorm  *float64 `json:"max_grad_norm"`
	BF16         *bool    `json:"bf16"`
	FP16         *bool    `json:"fp16"`
	Optim        string   `json:"optim"`
	Seed         *int64   `json:"seed"`
	OutputDir    string   `json:"output_dir"`
	// DeepSpeed is the deepspeed argument: a config path, or "(dict)" when
	// the config was given as a dict.
	DeepSpeed string `json:"deepspeed"`
	// WorldSize is distributed_state.num_processes (accelerate's
	// PartialState, saved once the devices were set up), or nil.
	WorldSize *int64 `json:"world_size"`
	// DSConfig is hf_deepspeed_config.config: the DeepSpeed configuration
	// of the run with its "auto" values filled in, or nil.
	DSConfig map[string]any `json:"ds_config,omitempty"`

	// Fields are the object's attributes in the order they were saved.
	Fields []Field `json:"-"`
}

// Field is one attribute of a TrainingArguments object, formatted for
// display (enum members by their value).
type Field struct {
	Name  string
	Value string
}

// enumValues maps the pickled enum members whose value is not the member
// name in lower case (transformers' ExplicitEnum members are pickled by
// name from Python 3.11 on: SchedulerType.REDUCE_ON_PLATEAU, not
// "reduce_lr_on_plateau").
var enumValues = map[string]string{
	"SchedulerType.REDUCE_ON_PLATEAU": "reduce_lr_on_plateau",
	"OptimizerNames.ADAMW_BNB":        "adamw_bnb_8bit",
	"OptimizerNames.LION":             "lion_32bit",
	"OptimizerNames.PAGED_ADAMW":      "paged_adamw_32bit",
	"OptimizerNames.PAGED_ADEMAMIX":   "paged_ademamix_32bit",
	"OptimizerNames.PAGED_LION":       "paged_lion_32bit",
	"OptimizerNames.RMSPROP_8BIT":     "rmsprop_bnb_8bit",
	"OptimizerNames.RMSPROP_32BIT":    "rmsprop_bnb_32bit",
	"ZeroStageEnum.disabled":          "0",
	"ZeroStageEnum.optimizer_states":  "1",
	"ZeroStageEnum.gradients":         "2",
	"ZeroStageEnum.weights":           "3",
	"ZeroStageEnum.max_stage":         "3",
	"DistributedType.NO":              "NO",
	"DistributedType.MULTI_GPU":       "MULTI_GPU",
	"DistributedType.DEEPSPEED":       "DEEPSPEED",
	"DistributedType.FSDP":            "FSDP",
	"DistributedType.MULTI_CPU":       "MULTI_CPU",
	"DistributedType.MULTI_NPU":       "MULTI_NPU",
	"DistributedType.MULTI_XPU":       "MULTI_XPU",
	"DistributedType.MULTI_MLU":       "MULTI_MLU",
	"DistributedType.XLA":             "XLA",
	"DistributedType.MEGATRON_LM":     "MEGATRON_LM",
}

func isEnumClass(o *pickle.Object) bool {
	for _, c := range pickle.EnumClasses() {
		if c == o.Class() {
			return true
		}
	}
	return false
}

// enumValue returns an enum member's value: the argument of the
// Python <= 3.10 form EnumClass(value), or for the Python >= 3.11 form
// getattr(EnumClass, NAME) the value known for NAME (transformers' enums:
// the name in lower case).
func enumValue(o *pickle.Object) string {
	if o.Member == "" {
		if len(o.Args) == 1 {
			if s, ok := o.Args[0].(string); ok {
				return s
			}
			return pickle.Repr(o.Args[0])
		}
		return o.Class()
	}
	if v, ok := enumValues[o.Name+"."+o.Member]; ok {
		return v
	}
	if strings.HasPrefix(o.Module, "transformers.") {
		return strings.ToLower(o.Member)
	}
	return o.Name + "." + o.Member
}

// stringValue reads a string field that may be an enum member.
func stringValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *pickle.Object:
		if x.Member != "" || len(x.Args) == 1 {
			return enumValue(x)
		}
	}
	return ""
}

// ParseTrainingArgs reads a loaded TrainingArguments object (the root of
// training_args.bin). It accepts any object with the attributes of
// TrainingArguments (per_device_train_batch_size, learning_rate), so
// subclasses defined by training scripts are read too.
func ParseTrainingArgs(v any) (*TrainingArgs, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return nil, fmt.Errorf("%w: the file holds %s", ErrNotTrainingArgs, describe(v))
	}
	_, hasBatch := o.Field("per_device_train_batch_size")
	_, hasLR := o.Field("learning_rate")
	if !hasBatch || !hasLR {
		return nil, fmt.Errorf("%w: %s has no per_device_train_batch_size or learning_rate", ErrNotTrainingArgs, o.Class())
	}
	t := &TrainingArgs{Class: o.Class()}
	for _, it := range o.Fields() {
		name, ok := it.Key.(string)
		if !ok {
			continue
		}
		t.Fields = append(t.Fields, Field{Name: name, Value: display(it.Value)})
		t.set(name, it.Value)
	}
	return t, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case *pickle.Object:
		return "a " + x.Class() + " object"
	case *pickle.Dict:
		return fmt.Sprintf("a dict of %d items", x.Len())
	case nil:
		return "None"
	}
	return fmt.Sprintf("a %T", v)
}

func intField(v any) *int64 {
	if _, isBool := v.(bool); isBool {
		return nil
	}
	if n, ok := asInt(v); ok {
		return &n
	}
	return nil
}

func floatField(v any) *float64 {
	if _, isBool := v.(bool); isBool {
		return nil
	}
	if f, ok := asFloat(v); ok {
		return &f
	}
	return nil
}

func boolField(v any) *bool {
	if b, ok := v.(bool); ok {
		return &b
	}
	return nil
}

func (t *TrainingArgs) set(name string, v any) {
	switch name {
	case "per_device_train_batch_size":
		t.PerDeviceTrainBatchSize = intField(v)
	case "gradient_accumulation_steps":
		t.GradientAccumulationSteps = intField(v)
	case "learning_rate":
		t.LearningRate = floatField(v)
	case "lr_scheduler_type":
		t.LRSchedulerType = stringValue(v)
	case "warmup_steps":
		t.WarmupSteps = intField(v)
	case "warmup_ratio":
		t.WarmupRatio = floatField(v)
	case "max_steps":
		t.MaxSteps = intField(v)
	case "num_train_epochs":
		t.NumTrainEpochs = floatField(v)
	case "save_steps":
		t.SaveSteps = floatField(v)
	case "logging_steps":
		t.LoggingSteps = floatField(v)
	case "eval_steps":
		t.EvalSteps = floatField(v)
	case "save_strategy":
		t.SaveStrategy = stringValue(v)
	case "adam_beta1":
		t.AdamBeta1 = floatField(v)
	case "adam_beta2":
		t.AdamBeta2 = floatField(v)
	case "adam_epsilon":
		t.AdamEpsilon = floatField(v)
	case "weight_decay":
		t.WeightDecay = floatField(v)
	case "max_grad_norm":
		t.MaxGradNorm = floatField(v)
	case "bf16":
		t.BF16 = boolField(v)
	case "fp16":
		t.FP16 = boolField(v)
	case "optim":
		t.Optim = stringValue(v)
	case "seed":
		t.Seed = intField(v)
	case "output_dir":
		t.OutputDir, _ = v.(string)
	case "deepspeed":
		switch x := v.(type) {
		case string:
			t.DeepSpeed = x
		case *pickle.Dict:
			t.DeepSpeed = "(dict)"
		}
	case "distributed_state":
		if n, ok := get(v, "num_processes"); ok {
			t.WorldSize = intField(n)
		}
	case "hf_deepspeed_config":
		if c, ok := get(v, "config"); ok {
			if m, ok := plain(c, 0).(map[string]any); ok {
				t.DSConfig = m
			}
		}
	}
}

// ReadTrainingArgs reads a training_args.bin file.
func ReadTrainingArgs(path string, opt torchsave.Options) (*TrainingArgs, error) {
	f, err := torchsave.Open(path, opt)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ParseTrainingArgs(f.Root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Summary returns the arguments that matter for a resume, for a header
// line: per-device batch, accumulation, learning rate, scheduler, warmup,
// max steps and save steps, e.g. "per-device batch 21, accumulation 1, lr
// 0.01, scheduler linear, warmup 100 steps, max_steps 1000, save_steps 250".
// Unknown values are left out.
func (t *TrainingArgs) Summary() string {
	var parts []string
	if t.PerDeviceTrainBatchSize != nil {
		parts = append(parts, fmt.Sprintf("per-device batch %d", *t.PerDeviceTrainBatchSize))
	}
	if t.GradientAccumulationSteps != nil {
		parts = append(parts, fmt.Sprintf("accumulation %d", *t.GradientAccumulationSteps))
	}
	if t.WorldSize != nil {
		parts = append(parts, fmt.Sprintf("world size %d", *t.WorldSize))
	}
	if t.LearningRate != nil {
		parts = append(parts, "lr "+fmtFloat(*t.LearningRate))
	}
	if t.LRSchedulerType != "" {
		parts = append(parts, "scheduler "+t.LRSchedulerType)
	}
	switch {
	case t.WarmupSteps != nil && *t.WarmupSteps > 0:
		parts = append(parts, fmt.Sprintf("warmup %d steps", *t.WarmupSteps))
	case t.WarmupRatio != nil && *t.WarmupRatio > 0:
		parts = append(parts, "warmup ratio "+fmtFloat(*t.WarmupRatio))
	case t.WarmupSteps != nil:
		parts = append(parts, "no warmup")
	}
	if t.MaxSteps != nil && *t.MaxSteps > 0 {
		parts = append(parts, fmt.Sprintf("max_steps %d", *t.MaxSteps))
	}
	if t.SaveSteps != nil {
		parts = append(parts, "save_steps "+fmtFloat(*t.SaveSteps))
	}
	return strings.Join(parts, ", ")
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
