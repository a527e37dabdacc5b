"""Writes the DeepSpeed fixtures in testdata/deepspeed/ with their goldens.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_deepspeed.py
(PyTorch 1.13 + numpy; deterministic.)  The DeepSpeed classes are stand-ins (dsfake.py)
registered under the real module names, so the pickles name the real classes.

A tiny YuLan-Mini-shaped model (1 layer, hidden 8, intermediate 20, 2 heads, 1 KV head,
vocab 24) trained with ZeRO-2, bf16, data parallel 2, at step 120 (DeepSpeed FusedAdam:
the step is a Python int):

  mp_rank_00_model_states.pt
      engine._save_checkpoint's dict: module (OrderedDict name -> bf16 tensor; as in a real
      ZeRO-1/2 run every tensor is a VIEW into one flat bf16 buffer per param group, so the
      file holds 2 storages with offsets), buffer_names, optimizer None, param_shapes (2
      groups: decay / no decay), frozen_param_shapes, shared_params, frozen_param_fragments,
      lr_scheduler, data_sampler, random_ltd, sparse_tensor_module_names (a set), skipped_steps,
      global_steps, global_samples, dp_world_size, mp_world_size, ds_config (a DeepSpeedConfig
      object whose zero_optimization_stage is a ZeroStageEnum), ds_version.
  bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt, bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt
      {'optimizer_state_dict': stage_1_and_2.state_dict(), 'ds_config': dict, 'ds_version'}:
      loss_scaler (LossScaler), dynamic_loss_scale, overflow, clip_grad, base_optimizer_state
      ({'state': {g: {step, exp_avg, exp_avg_sq}}, 'param_groups'}; flat partitions with the
      alignment padding), single_partition_of_fp32_groups (last rank: padding removed),
      zero_stage (ZeroStageEnum.gradients), group_paddings, partition_count, ds_version,
      param_slice_mappings (per group OrderedDict name -> fragment_address(numel, start)).
  optimizer_state.pt
      what ds_to_universal._save_optimizer_state writes to zero/optimizer_state.pt (rank 0's
      dict minus the sharded keys, plus param_groups).  ZeroStageEnum pickled the Python 3.11 way:
      getattr(ZeroStageEnum, 'gradients').
  optimizer_state_py310.pt
      the same from an fp16 run saved by Python <= 3.10: ZeroStageEnum pickled as
      REDUCE(ZeroStageEnum, (2,)), loss_scaler a DynamicLossScaler (its dtype is torch.float16).

Each <name>.pt has <name>.golden.json (same schema as testdata/torch; see testdata/README.md).
"""

import os
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import dsfake  # noqa: E402
import tdlib  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "deepspeed")

SEED = 11
LAYERS, HIDDEN, INTER, HEADS, KV, VOCAB = 1, 8, 20, 2, 1, 24
DP = 2
STEP = 120
LR, BETAS, EPS, WD = 0.01, (0.9, 0.95), 1e-15, 0.1


def finish(name, obj):
    g = tdlib.golden(name, "zip", obj)
    back = torch.load(os.path.join(OUT, name))
    tdlib.compare_goldens(g, tdlib.golden(name, "zip", back), name)
    tdlib.write_json(os.path.join(OUT, name.replace(".pt", ".golden.json")), g)
    print(f"  {name}: {len(g['tensors'])} tensors, {len(g['objects'])} objects, "
          f"{os.path.getsize(os.path.join(OUT, name))} bytes")


def build():
    specs = cm.param_specs(LAYERS, HIDDEN, INTER, HEADS, KV, VOCAB)
    groups = [[s for s in specs if s[2] == g] for g in (cm.DECAY, cm.NO_DECAY)]
    fp32, m, v = {}, {}, {}
    for name, shape, _, kind in specs:
        fp32[name] = cm.gen_fp32(SEED, name, shape, kind, LAYERS)
        m[name], v[name] = cm.gen_moments(SEED, name, shape, kind)

    flat = []  # per group: (fp32 flat, exp_avg flat, exp_avg_sq flat, bf16 flat, unpadded numel)
    for grp in groups:
        total = sum(cm.numel(s[1]) for s in grp)
        size = cm.aligned_size(total, DP)
        f32 = np.zeros(size, np.float32)
        fm = np.zeros(size, np.float32)
        fv = np.zeros(size, np.float32)
        off = 0
        for name, shape, _, _ in grp:
            n = cm.numel(shape)
            f32[off:off + n] = fp32[name].reshape(-1)
            fm[off:off + n] = m[name].reshape(-1)
            fv[off:off + n] = v[name].reshape(-1)
            off += n
        flat.append((f32, fm, fv, cm.bf16_round(f32), total))

    # model states: module tensors are views into the per-group flat bf16 buffers
    views = {}
    for gi, grp in enumerate(groups):
        for name, t in cm.flat_views(flat[gi][3], [(s[0], s[1]) for s in grp]):
            views[name] = t
    module = OrderedDict((s[0], views[s[0]]) for s in specs)
    group_shapes = [OrderedDict((s[0], torch.Size(s[1])) for s in grp) for grp in groups]
    cfg = dsfake.ds_config_dict(train_batch_size=16, micro_batch=4, grad_accum=2, lr=LR, betas=BETAS,
                                eps=EPS, weight_decay=WD)
    ms = cm.model_states(module, group_shapes, STEP, DP, dsfake.DeepSpeedConfig(cfg, world_size=DP),
                         dsfake.DS_VERSION, LR, 16)
    return specs, groups, flat, ms, cfg


def zero_shard(rank, groups, flat, cfg):
    osd = OrderedDict()
    osd["loss_scaler"] = dsfake.LossScaler(scale=1.0)
    osd["dynamic_loss_scale"] = False
    osd["overflow"] = False
    osd["clip_grad"] = 1.0
    state = {}
    parts32 = []
    paddings = []
    mappings = []
    for gi, grp in enumerate(groups):
        f32, fm, fv, _, total = flat[gi]
        psize = len(f32) // DP
        lo, hi = rank * psize, (rank + 1) * psize
        state[gi] = {"step": STEP,
                     "exp_avg": torch.from_numpy(fm[lo:hi].copy()),
                     "exp_avg_sq": torch.from_numpy(fv[lo:hi].copy())}
        pad = len(f32) - total if rank == DP - 1 else 0
        paddings.append(pad)
        parts32.append(torch.from_numpy(f32[lo:hi - pad].copy()))
        mp = OrderedDict()
        off = 0
        for name, shape, _, _ in grp:
            n = cm.numel(shape)
            s, e = max(off, lo), min(off + n, hi)
            if s < e:
                mp[name] = dsfake.fragment_address(numel=e - s, start=s - lo)
            off += n
        mappings.append(mp)
    osd["base_optimizer_state"] = {"state": state,
                                   "param_groups": cm.fused_adam_groups(LR, BETAS, EPS, [WD, 0.0], "int")}
    osd["single_partition_of_fp32_groups"] = parts32
    osd["zero_stage"] = dsfake.ZeroStageEnum.gradients
    osd["group_paddings"] = paddings
    osd["partition_count"] = [DP, DP]
    osd["ds_version"] = dsfake.DS_VERSION
    osd["param_slice_mappings"] = mappings
    return {"optimizer_state_dict": osd, "ds_config": cfg, "ds_version": dsfake.DS_VERSION}


def universal_optimizer_state(shard0):
    osd = shard0["optimizer_state_dict"]
    sharded = ("base_optimizer_state", "param_slice_mappings", "single_partition_of_fp32_groups")
    out = {k: v for k, v in osd.items() if k not in sharded}
    out["param_groups"] = osd["base_optimizer_state"]["param_groups"]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    print(f"writing {OUT}")
    specs, groups, flat, ms, cfg = build()
    torch.save(ms, os.path.join(OUT, "mp_rank_00_model_states.pt"))
    finish("mp_rank_00_model_states.pt", ms)
    shards = []
    for rank in range(DP):
        sd = zero_shard(rank, groups, flat, cfg)
        shards.append(sd)
        name = f"bf16_zero_pp_rank_{rank}_mp_rank_00_optim_states.pt"
        torch.save(sd, os.path.join(OUT, name))
        finish(name, sd)
    uo = universal_optimizer_state(shards[0])
    torch.save(uo, os.path.join(OUT, "optimizer_state.pt"))
    finish("optimizer_state.pt", uo)

    old = dict(uo)
    old["loss_scaler"] = dsfake.DynamicLossScaler(init_scale=2**16, scale_window=500, min_scale=1)
    old["loss_scaler"].cur_scale = 32768.0
    old["loss_scaler"].cur_iter = STEP
    old["loss_scaler"].last_overflow_iter = 37
    old["dynamic_loss_scale"] = True
    old["ds_version"] = "0.9.5"
    with dsfake.py310_enum_pickling():
        torch.save(old, os.path.join(OUT, "optimizer_state_py310.pt"))
    finish("optimizer_state_py310.pt", old)
    check_enum_forms()


def check_enum_forms():
    import pickletools
    import zipfile
    for name, want in (("optimizer_state.pt", "getattr"), ("optimizer_state_py310.pt", "reduce")):
        with zipfile.ZipFile(os.path.join(OUT, name)) as z:
            pkl = z.read(name[:-3] + "/data.pkl")
        ops = list(pickletools.genops(pkl))
        gl = [a for o, a, _ in ops if o.name == "GLOBAL"]
        has_getattr = "__builtin__ getattr" in gl
        assert has_getattr == (want == "getattr"), (name, gl)
        assert "deepspeed.runtime.zero.config ZeroStageEnum" in gl
    print("  enum pickling forms checked (3.11 getattr / 3.10 REDUCE)")


if __name__ == "__main__":
    main()
