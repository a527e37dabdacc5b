// Package resume works out what resuming training from a checkpoint will
// do, before a multi-node launch finds out: which tag DeepSpeed will load
// and whether it can (checkpoint.load_universal, data-parallel size, ZeRO
// stage), the batch arithmetic, the optimizer hyper-parameters that the
// checkpoint restores over the configuration, the dtype, the learning-rate
// scheduler's state and position, the Hugging Face Trainer's state that
// overrides the command line (trainer_state.json), and the random-number
// states of each rank.
//
// [Inspect] reads only the small metadata files of a Trainer checkpoint
// folder (checkpoint-N/: latest, latest_universal, the model states, the
// universal zero/optimizer_state.pt, rank 0's ZeRO shard, scheduler.pt,
// trainer_state.json, training_args.bin, rng_state_<rank>.pth) through the
// project's safe readers: every pickle is loaded as inert values, nothing
// is imported or run. It returns a [Plan] — every number with where it came
// from — and [Finding]s in the shape of package verify's (check id,
// severity, file, message) plus the fix. [Checks] lists the check ids and
// their severities.
//
// The rules are those of DeepSpeed 0.15/0.16 (runtime/engine.py
// load_checkpoint, zero/stage_1_and_2.py, checkpoint/universal_checkpoint.py,
// runtime/lr_schedules.py) and transformers 4.4x (trainer.py,
// integrations/deepspeed.py), cited in the messages. The resumed run's own
// training arguments are not known: "auto" values of the DeepSpeed
// configuration and the schedule's length come from the checkpoint's
// training_args.bin (the arguments it was trained with), and the plan says
// so wherever it does.
//
// [TrainingArgs] presents a pickled transformers TrainingArguments
// (training_args.bin) for `ckptinspect ls` and the headers of `stats` and
// `verify`.
package resume
