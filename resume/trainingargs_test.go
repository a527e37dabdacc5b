package resume

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

func TestReadTrainingArgs(t *testing.T) {
	ta, err := ReadTrainingArgs(universalCkpt+"/training_args.bin", torchsave.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ta.Class != "transformers.training_args.TrainingArguments" {
		t.Errorf("class %q", ta.Class)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("per_device_train_batch_size", *ta.PerDeviceTrainBatchSize, int64(21))
	check("gradient_accumulation_steps", *ta.GradientAccumulationSteps, int64(1))
	check("learning_rate", *ta.LearningRate, 0.01)
	check("lr_scheduler_type", ta.LRSchedulerType, "linear") // SchedulerType.LINEAR, pickled by name
	check("save_strategy", ta.SaveStrategy, "steps")
	check("optim", ta.Optim, "adamw_torch")
	check("warmup_steps", *ta.WarmupSteps, int64(100))
	check("max_steps", *ta.MaxSteps, int64(1000))
	check("save_steps", *ta.SaveSteps, 250.0)
	check("logging_steps", *ta.LoggingSteps, 3.0)
	check("adam_beta2", *ta.AdamBeta2, 0.95)
	check("adam_epsilon", *ta.AdamEpsilon, 1e-15)
	check("bf16", *ta.BF16, true)
	check("deepspeed", ta.DeepSpeed, "ds2_config_adamw.json")
	check("world size", *ta.WorldSize, int64(48))
	check("ds_config train_batch_size", ta.DSConfig["train_batch_size"], int64(1008))
	check("summary", ta.Summary(), "per-device batch 21, accumulation 1, world size 48, lr 0.01, scheduler linear, warmup 100 steps, max_steps 1000, save_steps 250")
	fields := map[string]string{}
	for _, f := range ta.Fields {
		fields[f.Name] = f.Value
	}
	for name, want := range map[string]string{
		"output_dir": `"output/yulanmini-2B-final-phase25"`, "eval_strategy": "no", "hub_strategy": "every_save",
		"lr_scheduler_type": "linear", "debug": "[]", "accelerator_config": "transformers.trainer_pt_utils.AcceleratorConfig(...)",
		"learning_rate": "0.01", "report_to": `["tensorboard"]`,
	} {
		if fields[name] != want {
			t.Errorf("field %s shows %q, want %q", name, fields[name], want)
		}
	}
	// The 132 dataclass fields of transformers 4.46 (_n_gpu included) plus
	// what __post_init__ and the device set-up add: hf_deepspeed_config,
	// deepspeed_plugin, distributed_state and _setup_devices.
	if len(ta.Fields) != 136 || fields["distributed_state"] != "accelerate.state.PartialState(...)" {
		t.Errorf("%d fields (distributed_state %q), want every attribute of the object", len(ta.Fields), fields["distributed_state"])
	}
}

// TestParseTrainingArgsForms covers the other pickled forms: a training
// script's subclass, enums pickled by value (Python <= 3.10), and what is
// not a TrainingArguments.
func TestParseTrainingArgsForms(t *testing.T) {
	state := &pickle.Dict{Items: []pickle.Item{
		{Key: "per_device_train_batch_size", Value: int64(18)},
		{Key: "learning_rate", Value: 0.01},
		{Key: "lr_scheduler_type", Value: &pickle.Object{Module: "transformers.trainer_utils", Name: "SchedulerType", Args: []any{"cosine"}}},
		{Key: "optim", Value: &pickle.Object{Module: "transformers.training_args", Name: "OptimizerNames", Member: "ADAMW_BNB"}},
		{Key: "save_steps", Value: 0.25},
		{Key: "bf16", Value: true},
		{Key: "warmup_steps", Value: true}, // wrong type: ignored
	}}
	ta, err := ParseTrainingArgs(&pickle.Object{Module: "__main__", Name: "TrainingArguments", State: state})
	if err != nil {
		t.Fatal(err)
	}
	if ta.Class != "__main__.TrainingArguments" || ta.LRSchedulerType != "cosine" || ta.Optim != "adamw_bnb_8bit" || *ta.SaveSteps != 0.25 || ta.WarmupSteps != nil {
		t.Errorf("parsed %+v", ta)
	}
	if s := ta.Summary(); s != "per-device batch 18, lr 0.01, scheduler cosine, save_steps 0.25" {
		t.Errorf("summary %q", s)
	}
	for _, v := range []any{nil, &pickle.Dict{}, int64(3), &pickle.Object{Module: "x", Name: "Y", State: &pickle.Dict{}}} {
		if _, err := ParseTrainingArgs(v); !errors.Is(err, ErrNotTrainingArgs) {
			t.Errorf("%s: %v, want ErrNotTrainingArgs", pickle.Repr(v), err)
		}
	}
	if _, err := ReadTrainingArgs(universalCkpt+"/scheduler.pt", torchsave.Options{}); !errors.Is(err, ErrNotTrainingArgs) || !strings.Contains(err.Error(), "scheduler.pt") {
		t.Errorf("scheduler.pt: %v", err)
	}
}

func FuzzParseDSConfig(f *testing.F) {
	for _, name := range []string{"universal-ok.json", "zero-ok.json", "universal-batch-1024.json"} {
		b, err := os.ReadFile(configs + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"checkpoint": {"load_universal": "true"}, "train_batch_size": 1e300}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseDSConfig("fuzz.json", data)
		if err != nil {
			return
		}
		for _, k := range []string{"train_batch_size", "zero_optimization.stage", "optimizer.params.betas", "checkpoint.load_universal", "bf16.enabled"} {
			s := c.get(k)
			s.integer()
			s.pair()
			s.boolean()
			s.text()
		}
	})
}

func FuzzTrainingArgs(f *testing.F) {
	b, err := os.ReadFile(universalCkpt + "/training_args.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		tf, err := torchsave.Parse("fuzz.bin", data, torchsave.Options{})
		if err != nil {
			return
		}
		defer tf.Close()
		if ta, err := ParseTrainingArgs(tf.Root); err == nil {
			_ = ta.Summary()
		}
	})
}
