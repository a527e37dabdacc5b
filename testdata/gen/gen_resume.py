"""Writes the fixtures of `ckptinspect verify --resume` (package resume): two Trainer checkpoints
and DeepSpeed configuration files that each break one rule of resuming.

Usage (from the repository root; deterministic, re-running gives byte-identical files):
  /usr/bin/python3 testdata/gen/gen_resume.py [--out testdata/resume]

The scenario is YuLan-Mini's (github.com/RUC-GSAI/YuLan-Mini, README "Continual Training
Tutorial" and pretrain/): its before-annealing checkpoint is resumed with a global batch of 1008
(21 per GPU x 48 GPUs x 1 accumulation step, pretrain/train.sh phases 11-25), DeepSpeed ZeRO-2
(pretrain/ds2_config_adamw.json, with "checkpoint": {"load_universal": true} as the card asks),
AdamW betas (0.9, 0.95), eps 1e-15, weight decay 0.1, lr 1e-2, the HF "linear" scheduler,
save_steps 250 and logging_steps 3 (pretrain/yulanmini-2B-final-phase25.sh).

OUT/universal/checkpoint-250/   the YuLan-Mini-Before-Annealing shape: a universal checkpoint only
    (latest_universal -> global_step250_universal; latest -> global_step250, which is not there),
    written by gen_universal.py (tiny YuLan-shaped model, dp 48), then:
    training_args.bin    a transformers TrainingArguments (hffake.py stand-ins; transformers 4.46
                         field set and __post_init__ state: enum members, hf_deepspeed_config with
                         the run's resolved DeepSpeed config, deepspeed_plugin, distributed_state
                         with num_processes 48), pickled by torch.save as Trainer._save does
    scheduler.pt         state_dict() of a real torch LambdaLR built as transformers'
                         get_linear_schedule_with_warmup (warmup 100, 1000 training steps) over a
                         real AdamW with 2 groups at lr 1e-2, stepped 250 times; the model states'
                         lr_scheduler is the same dict (DeepSpeed saves engine.lr_scheduler's)
    trainer_state.json   global_step 250, save_steps 250, logging_steps 3, eval_steps 500,
                         train_batch_size 21, max_steps 1000
    rng_state_<r>.pth    r < 48, as Trainer._save_rng_state writes them (python / numpy / cpu / cuda)
    model states: dp_world_size 48, global_steps 250, global_samples 250 * 1008, ds_config = the
    resolved config; zero/optimizer_state.pt param groups at the scheduled lr.
OUT/zero/checkpoint-120/        a DeepSpeed-native run: ZeRO-2 shards of 3 data-parallel ranks
    (global_step120/, bf16_zero_pp_rank_{0,1,2}_mp_rank_00_optim_states.pt) AND the universal
    checkpoint made from them (gen_universal.py --zero-shards), 4 per GPU x 3 x 2 accumulation
    steps = 24, lr 3e-3, and DeepSpeed's own scheduler WarmupDecayLR (warmup 100, total 1000
    steps) from the DeepSpeed config, so the model states' lr_scheduler is
    {'last_batch_iteration': 119} and, as with every DeepSpeed scheduler, there is no
    scheduler.pt (the Trainer writes it only for its own schedulers); training_args.bin as above.
OUT/configs/*.json  DeepSpeed configuration files (configs() below): one correct configuration
    per checkpoint and one per broken rule: universal-load-universal-false (the repository's own
    ds2_config_adamw.json: load_universal false while only the universal copy exists),
    universal-batch-1024 (16 per GPU x 64 GPUs: global batch 1008 -> 1024), universal-betas
    ((0.9, 0.95) -> (0.9, 0.99)), universal-stage3 (ZeRO stage 2 -> 3), zero-dp6 (the shards of 3
    ranks loaded by 6 without load_universal, 4 x 6 x 1 = 24 keeps the batch), zero-scheduler-end
    (WarmupDecayLR total_num_steps 100 while the checkpoint is at step 120).
"""

import argparse
import functools
import json
import os
import shutil
import sys
import warnings
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import dsfake  # noqa: E402
import gen_universal  # noqa: E402
import hffake  # noqa: E402

# The model card's DeepSpeed config (README, Continual Training Tutorial, step 2).
CARD_CONFIG = OrderedDict([
    ("bf16", {"enabled": "auto"}),
    ("zero_optimization", OrderedDict([
        ("stage", 2), ("allgather_partitions", True), ("allgather_bucket_size", 8e8),
        ("overlap_comm", True), ("reduce_scatter", True), ("reduce_bucket_size", 8e8),
        ("contiguous_gradients", True)])),
    ("gradient_accumulation_steps", "auto"),
    ("gradient_clipping", "auto"),
    ("steps_per_print", 16),
    ("train_batch_size", "auto"),
    ("train_micro_batch_size_per_gpu", "auto"),
    ("wall_clock_breakdown", False),
    ("dump_state", True),
    ("optimizer", {"type": "AdamW", "params": OrderedDict([
        ("lr", "auto"), ("betas", "auto"), ("eps", "auto"), ("weight_decay", "auto")])}),
    ("checkpoint", {"load_universal": True}),
])

MODEL = ["--layers", "1", "--hidden", "16", "--intermediate", "40", "--vocab", "30",
         "--tp-pad-vocab", "2", "--heads", "2", "--kv-heads", "1"]


def deep(d):
    return json.loads(json.dumps(d), object_pairs_hook=OrderedDict)


def resolved(cfg, micro, accum, world, lr, betas, eps, wd, clip=1.0):
    """The config as the Trainer hands it to DeepSpeed: HfTrainerDeepSpeedConfig.trainer_config_process
    fills every "auto" from the TrainingArguments (train_batch_size = world * micro * accum)."""
    c = deep(cfg)
    c["bf16"]["enabled"] = True
    c["gradient_accumulation_steps"] = accum
    c["gradient_clipping"] = clip
    c["train_batch_size"] = world * micro * accum
    c["train_micro_batch_size_per_gpu"] = micro
    c["optimizer"]["params"] = OrderedDict([("lr", lr), ("betas", list(betas)), ("eps", eps),
                                            ("weight_decay", wd)])
    sched = c.get("scheduler")
    if sched:
        p = sched["params"]
        if p.get("warmup_max_lr") == "auto":
            p["warmup_max_lr"] = lr
    return c


def linear_lambda(step, num_warmup_steps, num_training_steps):
    # transformers.optimization._get_linear_schedule_with_warmup_lr_lambda (same formula)
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps)))


def hf_linear_scheduler_state(lr, steps, warmup, total, groups=2):
    """A real LambdaLR over a real AdamW, as transformers' get_scheduler("linear") builds it."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    opt = torch.optim.AdamW([{"params": [p]} for p in params], lr=lr)
    fn = functools.partial(linear_lambda, num_warmup_steps=warmup, num_training_steps=total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()"
        for _ in range(steps):
            opt.step()
            sched.step()
    return sched.state_dict()


def warmup_decay_lr(it, lr, warmup, total, min_lr=0.0):
    """DeepSpeed WarmupDecayLR (warmup_type linear) at last_batch_iteration it."""
    if it < warmup:
        gamma = it / warmup
    else:
        gamma = max(0.0, float(total - it) / float(max(1.0, total - warmup)))
    return min_lr + (lr - min_lr) * gamma


def patch(path, fn):
    obj = torch.load(path)
    fn(obj)
    torch.save(obj, path)


def set_group_lrs(groups, lr, keep_initial=True):
    for g in groups:
        g["lr"] = lr
        if not keep_initial:
            g.pop("initial_lr", None)


def training_args(out_dir, micro, accum, lr, betas, eps, wd, max_steps, warmup, save_steps,
                  logging_steps, ds_path, ds_resolved, world, scheduler="linear"):
    ta = hffake.TrainingArguments(
        output_dir=out_dir, do_train=True, eval_strategy="no",
        per_device_train_batch_size=micro, per_device_eval_batch_size=4,
        gradient_accumulation_steps=accum, learning_rate=lr, weight_decay=wd,
        adam_beta1=betas[0], adam_beta2=betas[1], adam_epsilon=eps, max_grad_norm=1.0,
        num_train_epochs=25.0, max_steps=max_steps, lr_scheduler_type=scheduler,
        warmup_ratio=0.0, warmup_steps=warmup, logging_steps=logging_steps,
        save_strategy="steps", save_steps=save_steps, save_total_limit=25, seed=42, bf16=True,
        tf32=True, dataloader_num_workers=4, dataloader_prefetch_factor=2,
        run_name="yulanmini-resume-fixture", deepspeed=ds_path, report_to="tensorboard",
        gradient_checkpointing=True, ddp_timeout=3600, torch_compile=True)
    return ta.post_init_like(ds_config=ds_resolved, world_size=world)


def trainer_state(step, save_steps, logging_steps, micro, max_steps, lr_at):
    log = []
    for s in range(logging_steps, step + 1, max(logging_steps, step // 4 // logging_steps * logging_steps)):
        log.append(OrderedDict([("epoch", round(s / max_steps * 25, 4)), ("grad_norm", round(0.3 + 1.0 / s, 6)),
                                ("learning_rate", lr_at(s)), ("loss", round(9.0 - s / 100.0, 4)), ("step", s)]))
    return OrderedDict([
        ("best_metric", None), ("best_model_checkpoint", None),
        ("epoch", round(step / max_steps * 25, 4)), ("eval_steps", 500), ("global_step", step),
        ("is_hyper_param_search", False), ("is_local_process_zero", True), ("is_world_process_zero", True),
        ("log_history", log), ("logging_steps", logging_steps), ("max_steps", max_steps),
        ("num_input_tokens_seen", 0), ("num_train_epochs", 25), ("save_steps", save_steps),
        ("stateful_callbacks", {"TrainerControl": {"args": {
            "should_epoch_stop": False, "should_evaluate": False, "should_log": False,
            "should_save": True, "should_training_stop": False}, "attributes": {}}}),
        ("total_flos", 0), ("train_batch_size", micro), ("trial_name", None), ("trial_params", None),
    ])


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def universal_fixture(out):
    """YuLan-Mini-Before-Annealing-like: universal checkpoint only, HF linear scheduler, batch 1008."""
    step, world, micro, accum = 250, 48, 21, 1
    lr, betas, eps, wd = 1e-2, (0.9, 0.95), 1e-15, 0.1
    warmup, total = 100, 1000
    root = os.path.join(out, "universal")
    shutil.rmtree(root, ignore_errors=True)
    gen_universal.main(["--out", root] + MODEL + [
        "--step", str(step), "--step-format", "tensor", "--dp", str(world), "--seed", "5",
        "--lr", str(lr), "--warmup", str(warmup), "--betas", str(betas[0]), str(betas[1]),
        "--eps", str(eps), "--weight-decay", str(wd), "--dangling-latest"])
    ck = os.path.join(root, f"checkpoint-{step}")
    utag = os.path.join(ck, f"global_step{step}_universal")

    sched = hf_linear_scheduler_state(lr, step, warmup, total)
    cur_lr = sched["_last_lr"][0]
    torch.save(sched, os.path.join(ck, "scheduler.pt"))
    user_cfg = deep(CARD_CONFIG)
    user_cfg["checkpoint"]["load_universal"] = False  # pretrain/ds2_config_adamw.json as trained
    ds = resolved(user_cfg, micro, accum, world, lr, betas, eps, wd)

    def fix_states(ms):
        ms["lr_scheduler"] = sched
        ms["global_samples"] = step * world * micro * accum
        ms["ds_config"] = ds
    patch(os.path.join(utag, "mp_rank_00_model_states.pt"), fix_states)
    patch(os.path.join(utag, "zero", "optimizer_state.pt"), lambda o: set_group_lrs(o["param_groups"], cur_lr))
    ta = training_args("output/yulanmini-2B-final-phase25", micro, accum, lr, betas, eps, wd, total, warmup,
                       250, 3, "ds2_config_adamw.json", ds, world)
    torch.save(ta, os.path.join(ck, "training_args.bin"))
    write_json(os.path.join(ck, "trainer_state.json"),
               trainer_state(step, 250, 3, micro, total, lambda s: lr * linear_lambda(s, warmup, total)))
    return ck


def zero_fixture(out):
    """A DeepSpeed-scheduler run: ZeRO-2 shards (dp 3) and the universal checkpoint made from them."""
    step, world, micro, accum = 120, 3, 4, 2
    lr, betas, eps, wd = 3e-3, (0.9, 0.95), 1e-15, 0.1
    warmup, total = 100, 1000
    root = os.path.join(out, "zero")
    shutil.rmtree(root, ignore_errors=True)
    gen_universal.main(["--out", root] + MODEL + [
        "--step", str(step), "--step-format", "int", "--dp", str(world), "--seed", "6",
        "--lr", str(lr), "--warmup", str(warmup), "--betas", str(betas[0]), str(betas[1]),
        "--eps", str(eps), "--weight-decay", str(wd), "--zero-shards"])
    ck = os.path.join(root, f"checkpoint-{step}")
    tag = os.path.join(ck, f"global_step{step}")
    utag = os.path.join(ck, f"global_step{step}_universal")
    cfg = zero_config(load_universal=False)
    ds = resolved(cfg, micro, accum, world, lr, betas, eps, wd)
    cur_lr = warmup_decay_lr(step - 1, lr, warmup, total)

    def fix_states(ms):
        ms["lr_scheduler"] = {"last_batch_iteration": step - 1}
        ms["ds_config"] = ds
    for d in (tag, utag):
        patch(os.path.join(d, "mp_rank_00_model_states.pt"), fix_states)
    patch(os.path.join(utag, "zero", "optimizer_state.pt"),
          lambda o: set_group_lrs(o["param_groups"], cur_lr, keep_initial=False))
    for r in range(world):
        def fix_shard(sd):
            sd["ds_config"] = ds
            set_group_lrs(sd["optimizer_state_dict"]["base_optimizer_state"]["param_groups"], cur_lr,
                          keep_initial=False)
        patch(os.path.join(tag, f"bf16_zero_pp_rank_{r}_mp_rank_00_optim_states.pt"), fix_shard)
    ta = training_args("output/zero-run", micro, accum, lr, betas, eps, wd, total, warmup, 40, 10,
                       "ds_config.json", ds, world)
    torch.save(ta, os.path.join(ck, "training_args.bin"))
    write_json(os.path.join(ck, "trainer_state.json"),
               trainer_state(step, 40, 10, micro, total, lambda s: warmup_decay_lr(s - 1, lr, warmup, total)))
    return ck


def zero_config(load_universal, total=1000, micro=4, accum=2, batch=24):
    return OrderedDict([
        ("bf16", {"enabled": True}),
        ("zero_optimization", OrderedDict([("stage", 2), ("overlap_comm", True), ("contiguous_gradients", True)])),
        ("gradient_accumulation_steps", accum),
        ("gradient_clipping", 1.0),
        ("train_batch_size", batch),
        ("train_micro_batch_size_per_gpu", micro),
        ("optimizer", {"type": "AdamW", "params": OrderedDict([
            ("lr", 3e-3), ("betas", [0.9, 0.95]), ("eps", 1e-15), ("weight_decay", 0.1)])}),
        ("scheduler", {"type": "WarmupDecayLR", "params": OrderedDict([
            ("warmup_min_lr", 0), ("warmup_max_lr", 3e-3), ("warmup_num_steps", 100),
            ("total_num_steps", total), ("warmup_type", "linear")])}),
        ("checkpoint", {"load_universal": load_universal}),
    ])


def configs():
    """name -> (config, what it breaks).  universal-* go with OUT/universal/checkpoint-250,
    zero-* with OUT/zero/checkpoint-120."""
    c = OrderedDict()
    c["universal-ok.json"] = deep(CARD_CONFIG)
    lu = deep(CARD_CONFIG)
    lu["checkpoint"]["load_universal"] = False  # = pretrain/ds2_config_adamw.json
    c["universal-load-universal-false.json"] = lu
    b = deep(CARD_CONFIG)
    b["train_batch_size"] = 1024
    b["train_micro_batch_size_per_gpu"] = 16
    b["gradient_accumulation_steps"] = 1
    c["universal-batch-1024.json"] = b
    be = deep(CARD_CONFIG)
    be["optimizer"]["params"]["betas"] = [0.9, 0.99]
    c["universal-betas.json"] = be
    s3 = deep(CARD_CONFIG)
    s3["zero_optimization"]["stage"] = 3
    c["universal-stage3.json"] = s3
    c["zero-ok.json"] = zero_config(load_universal=False)
    c["zero-dp6.json"] = zero_config(load_universal=False, micro=4, accum=1, batch=24)
    c["zero-scheduler-end.json"] = zero_config(load_universal=False, total=100)
    return c


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="testdata/resume")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    universal_fixture(a.out)
    zero_fixture(a.out)
    cdir = os.path.join(a.out, "configs")
    shutil.rmtree(cdir, ignore_errors=True)
    os.makedirs(cdir)
    for name, cfg in configs().items():
        write_json(os.path.join(cdir, name), cfg)
    print(f"done: {a.out}")


if __name__ == "__main__":
    main()
