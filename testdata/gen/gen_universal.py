"""Writes a Hugging Face Trainer checkpoint folder holding a DeepSpeed universal checkpoint.

Usage (from the repository root):
  /usr/bin/python3 testdata/gen/gen_universal.py --out DIR [size options] [--golden FILE]

Bundled fixtures (deterministic; re-running gives byte-identical files):
  /usr/bin/python3 testdata/gen/gen_universal.py --out testdata/sample \\
      --layers 2 --hidden 64 --intermediate 160 --vocab 256 --tp-pad-vocab 8 --heads 4 --kv-heads 2 \\
      --step 120 --step-format tensor --dp 2 --seed 1 --golden testdata/sample.golden.json
  /usr/bin/python3 testdata/gen/gen_universal.py --out testdata/universal-intstep \\
      --layers 1 --hidden 32 --intermediate 64 --vocab 64 --tp-pad-vocab 0 --heads 2 --kv-heads 1 \\
      --step 7 --step-format int --dp 1 --seed 2 --golden testdata/universal-intstep.golden.json
Benchmark-size (multi-GB; one parameter in memory at a time, golden optional):
  /usr/bin/python3 testdata/gen/gen_universal.py --out /tmp/bench --layers 4 --hidden 1920 \\
      --intermediate 4800 --vocab 99000 --heads 30 --kv-heads 6 --step 2000

It writes DIR/checkpoint-<step>/:
  config.json          YuLan-Mini-like model config (sizes, scale_emb, hidden_states_shrink,
                       dim_model_base_logits, ln_scale, WeSaR alpha settings, ...)
  trainer_state.json   HF TrainerState (global_step, log_history, save_steps, train_batch_size, ...)
  latest               "global_step<N>"            (no newline, as DeepSpeed writes it), only beside the
                       ZeRO shards it names (--zero-shards, --zero3-shards) or with --dangling-latest
  latest_universal     "global_step<N>_universal"  (no newline, as ds_to_universal writes it)
  rng_state_<r>.pth    HF per-rank RNG states (python / numpy / cpu / cuda) for r < --dp
  global_step<N>_universal/
    mp_rank_00_model_states.pt   engine._save_checkpoint dict (module = bf16 weights, each a VIEW into
                                 one flat bf16 buffer per param group as ZeRO-1/2 leaves them; the
                                 embedding / lm_head have the TP-padded vocab rows; param_shapes in
                                 2 groups: 2-D weights with decay, then biases / norms / alphas
                                 without; universal_checkpoint_info as Megatron-DeepSpeed clients set it)
    zero/optimizer_state.pt      ds_to_universal._save_optimizer_state output
    zero/<param>/fp32.pt         {'cat_dim'?, 'vocab_tensor'?, 'param': fp32}
    zero/<param>/exp_avg.pt      same form, AdamW first moment
    zero/<param>/exp_avg_sq.pt   same form, AdamW second moment
    zero/<param>/step.pt         Python int (--step-format int: FusedAdam) or 0-dim float32 tensor
                                 (--step-format tensor: torch.optim.AdamW)
The per-parameter dict keys follow ds_to_universal.merge_tp_slices with the patterns in
universal_checkpoint_info: TP-replicated (alphas, norm weights): only 'param'; row-parallel
(o_proj, down_proj): cat_dim 1; vocabulary (embed_tokens, lm_head): cat_dim 0 + vocab_tensor True and
'param' is a view [:vocab] of the padded [vocab + pad, hidden] storage; the rest cat_dim 0.

--golden FILE writes per-parameter statistics (float64; see testdata/README.md).
"""

import argparse
import json
import math
import os
import random
import sys
import time
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import dsfake  # noqa: E402
import tdlib  # noqa: E402

VOCAB_PARAMS = ("model.embed_tokens.weight", "lm_head.weight")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--intermediate", type=int, default=160)
    p.add_argument("--vocab", type=int, default=256, help="real vocabulary size (config.json)")
    p.add_argument("--tp-pad-vocab", type=int, default=8,
                   help="padding rows the model's embedding / lm_head have beyond --vocab")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--step", type=int, default=120)
    p.add_argument("--step-format", choices=("int", "tensor"), default="tensor")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dp", type=int, default=2, help="data-parallel world size of the run")
    p.add_argument("--lr", type=float, default=0.003, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.95))
    p.add_argument("--eps", type=float, default=1e-15)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--zero-shards", action="store_true",
                   help="also write global_step<N>/: the ZeRO-2 shards (one optim_states file per --dp rank) "
                        "the universal checkpoint is made from, with the same weights and moments")
    p.add_argument("--zero3-shards", action="store_true",
                   help="also write global_step<N>/ as ZeRO-3 shards (stage3: every parameter partitioned "
                        "evenly across the --dp ranks, with per-parameter padding) of the same weights")
    p.add_argument("--dangling-latest", action="store_true",
                   help="write latest even without the shards it names (as YuLan-Mini's released intermediate "
                        "checkpoints have it: only the universal copy was kept)")
    p.add_argument("--out", required=True, help="writes OUT/checkpoint-<step>/")
    p.add_argument("--golden", help="write the per-parameter golden JSON here")
    a = p.parse_args(argv)
    assert a.hidden % a.heads == 0 and a.heads % a.kv_heads == 0
    return a


def current_lr(a):
    return a.lr * min(1.0, a.step / a.warmup) if a.warmup > 0 else a.lr


def yulan_config(a):
    return OrderedDict([
        ("architectures", ["YuLanMiniForCausalLM"]),
        ("auto_map", {"AutoConfig": "configuration_yulanmini.YuLanMiniConfig",
                      "AutoModelForCausalLM": "modeling_yulanmini.YuLanMiniForCausalLM"}),
        ("model_type", "yulanmini"),
        ("attention_bias", True),
        ("attention_dropout", 0.0),
        ("bos_token_id", 1),
        ("eos_token_id", 2),
        ("hidden_act", "silu"),
        ("hidden_size", a.hidden),
        ("intermediate_size", a.intermediate),
        ("num_hidden_layers", a.layers),
        ("num_attention_heads", a.heads),
        ("num_key_value_heads", a.kv_heads),
        ("vocab_size", a.vocab),
        ("max_position_embeddings", 4096),
        ("rms_norm_eps", 1e-06),
        ("rms_type", "llama"),
        ("rope_theta", 10000.0),
        ("rope_scaling", None),
        ("tie_word_embeddings", False),
        ("initializer_range", 0.014434),
        ("init_scale_o", 1),
        ("scale_emb", 10.0),
        ("hidden_states_shrink", 1.0 / math.sqrt(a.layers)),
        ("dim_model_base", a.hidden // 2),
        ("dim_model_base_attn", a.hidden // a.heads),
        ("dim_model_base_init", None),
        ("dim_model_base_lmh", 1),
        ("dim_model_base_logits", a.hidden // 2),
        ("dim_model_base_lr", a.hidden // 2),
        ("ln_scale", 1.0),
        ("qk_layernorm", False),
        ("embedding_ln", False),
        ("embedding_rmsln", False),
        ("z_loss", 0.0001),
        ("wesar_weights", True),
        ("use_norm_alpha", True),
        ("use_emb_alpha", False),
        ("embed_tokens_alpha", 1),
        ("q_proj_alpha", 1.0),
        ("k_proj_alpha", 1.0),
        ("v_proj_alpha", 1.0),
        ("o_proj_alpha", 1.0),
        ("gate_up_proj_alpha", 1.0),
        ("down_proj_alpha", 1.0),
        ("input_layernorm_alpha", 1.0),
        ("post_attention_layernorm_alpha", 1.0),
        ("norm_alpha", 1.0),
        ("lm_head_alpha", 1.0),
        ("shrink_alpha", 1),
        ("use_cache", False),
        ("use_liger", False),
        ("torch_dtype", "bfloat16"),
        ("transformers_version", "4.44.0"),
    ])


def trainer_state(a, micro_batch, grad_accum):
    save_steps = a.step
    log = []
    for s in sorted({max(1, a.step // 4), max(1, a.step // 2), a.step}):
        lr = a.lr * min(1.0, s / a.warmup) if a.warmup > 0 else a.lr
        log.append(OrderedDict([("epoch", round(s / (4 * a.step), 4)), ("grad_norm", 1.0 / math.sqrt(s) + 0.25),
                                ("learning_rate", lr), ("loss", round(9.0 - 3.0 * math.log10(1 + s), 4)),
                                ("step", s)]))
    return OrderedDict([
        ("best_metric", None),
        ("best_model_checkpoint", None),
        ("epoch", round(a.step / (4 * a.step), 4)),
        ("eval_steps", 500),
        ("global_step", a.step),
        ("is_hyper_param_search", False),
        ("is_local_process_zero", True),
        ("is_world_process_zero", True),
        ("log_history", log),
        ("logging_steps", 1),
        ("max_steps", 4 * a.step),
        ("num_input_tokens_seen", a.step * micro_batch * grad_accum * a.dp * 4096),
        ("num_train_epochs", 1),
        ("save_steps", save_steps),
        ("stateful_callbacks", {"TrainerControl": {"args": {
            "should_epoch_stop": False, "should_evaluate": False, "should_log": False,
            "should_save": True, "should_training_stop": False}, "attributes": {}}}),
        ("total_flos", float(6 * a.step * micro_batch * grad_accum * a.dp * 4096 * 1e6)),
        ("train_batch_size", micro_batch),
        ("trial_name", None),
        ("trial_params", None),
    ])


def universal_info(a):
    return OrderedDict([
        ("universal_checkpoint_version", 0.2),
        ("original_vocab_size", a.vocab),
        ("padded_vocab_size", a.vocab + a.tp_pad_vocab),
        ("vocabulary_parameter_patterns", [r"model\.embed_tokens\.weight", r"lm_head\.weight"]),
        ("tp_replicated_parameter_patterns", [r".*_alpha$", r".*layernorm\.weight$", r"model\.norm\.weight$"]),
        ("parameter_with_row_parallelism_patterns", [r".*o_proj\.weight$", r".*down_proj\.weight$"]),
        ("pipeline_replicated_parameter_patterns", []),
        ("parameter_to_average_patterns", []),
    ])


def state_dict_form(name, t, a):
    """The dict ds_to_universal.merge_tp_slices saves for one state of one parameter."""
    d = OrderedDict()
    if name.endswith("_alpha") or name.endswith("layernorm.weight") or name == "model.norm.weight":
        pass  # tp-replicated: param = slices[0], no cat_dim
    elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
        d["cat_dim"] = 1
    else:
        d["cat_dim"] = 0
    if name in VOCAB_PARAMS:
        d["vocab_tensor"] = True
        t = t[:a.vocab, :]  # a view: the padded rows stay in the saved storage
    d["param"] = t
    return d


def stats(t, values=None):
    rec = OrderedDict([("dtype", tdlib.dtype_name(t.dtype)), ("shape", list(t.shape))])
    rec.update(tdlib.tensor_stats(t, values))
    return rec


def rng_state(a, rank):
    """What HF Trainer._save_rng_state writes (rng_state_<rank>.pth)."""
    pr = random.Random(a.seed * 1000 + rank)
    nr = np.random.RandomState(a.seed * 1000 + rank)
    nr.standard_normal(3)
    g = torch.Generator()
    g.manual_seed(a.seed * 1000 + rank)
    torch.rand(5, generator=g)
    return {"python": pr.getstate(), "numpy": nr.get_state(), "cpu": g.get_state(),
            "cuda": [torch.from_numpy(np.frombuffer(np.random.RandomState(rank).bytes(16), dtype=np.uint8).copy())]}


def main(argv=None):
    a = parse_args(argv)
    t0 = time.time()
    rows = a.vocab + a.tp_pad_vocab
    specs = cm.param_specs(a.layers, a.hidden, a.intermediate, a.heads, a.kv_heads, rows)
    groups = [[s for s in specs if s[2] == g] for g in (cm.DECAY, cm.NO_DECAY)]
    lr = current_lr(a)
    wds = [a.weight_decay, 0.0]
    micro_batch, grad_accum = 4, 2

    ck = os.path.join(a.out, f"checkpoint-{a.step}")
    tag = f"global_step{a.step}"
    utag = tag + "_universal"
    udir = os.path.join(ck, utag)
    zdir = os.path.join(udir, "zero")
    os.makedirs(zdir, exist_ok=True)
    total = sum(cm.numel(s[1]) for s in specs)
    print(f"writing {ck}: {len(specs)} params, {total:,} elements, step {a.step} ({a.step_format})")

    with open(os.path.join(ck, "config.json"), "w") as f:
        json.dump(yulan_config(a), f, indent=2)
        f.write("\n")
    with open(os.path.join(ck, "trainer_state.json"), "w") as f:
        json.dump(trainer_state(a, micro_batch, grad_accum), f, indent=2)
        f.write("\n")
    pointers = [("latest_universal", utag)]
    if a.zero_shards or a.zero3_shards or a.dangling_latest:
        pointers.insert(0, ("latest", tag))
    for name, text in pointers:
        with open(os.path.join(ck, name), "w") as f:
            f.write(text)
    for r in range(a.dp):
        torch.save(rng_state(a, r), os.path.join(ck, f"rng_state_{r}.pth"))

    # bf16 module weights: one flat buffer per group (ZeRO-1/2 layout), filled param by param
    gsize = [cm.aligned_size(sum(cm.numel(s[1]) for s in grp), a.dp) for grp in groups]
    flat16 = [torch.zeros(n, dtype=torch.bfloat16) for n in gsize]
    where = {}
    for gi, grp in enumerate(groups):
        off = 0
        for s in grp:
            where[s[0]] = (gi, off)
            off += cm.numel(s[1])

    # ZeRO-2 flat fp32 / exp_avg / exp_avg_sq groups, for --zero-shards
    flat32 = flatm = flatv = None
    if a.zero_shards or a.zero3_shards:
        flat32 = [np.zeros(n, np.float32) for n in gsize]
        flatm = [np.zeros(n, np.float32) for n in gsize]
        flatv = [np.zeros(n, np.float32) for n in gsize]

    step_obj = cm.step_value(a.step, a.step_format)
    b1, b2 = a.betas
    gold_params = []
    sums = {"fp32": 0.0, "exp_avg": 0.0, "exp_avg_sq": 0.0, "bf16": 0.0}
    bad = {"nan": 0, "inf": 0}
    written = 0
    for i, (name, shape, gi, kind) in enumerate(specs):
        w = cm.gen_fp32(a.seed, name, shape, kind, a.layers)
        m, v = cm.gen_moments(a.seed, name, shape, kind, vocab=a.vocab if kind == "embed" else None)
        g, off = where[name]
        n = cm.numel(shape)
        flat16[g][off:off + n] = torch.from_numpy(w.reshape(-1)).to(torch.bfloat16)
        if a.zero_shards or a.zero3_shards:
            flat32[g][off:off + n] = w.reshape(-1)
            flatm[g][off:off + n] = m.reshape(-1)
            flatv[g][off:off + n] = v.reshape(-1)
        pdir = os.path.join(zdir, name)
        os.makedirs(pdir, exist_ok=True)
        saved = {}
        for qname, arr in (("fp32", w), ("exp_avg", m), ("exp_avg_sq", v)):
            d = state_dict_form(name, torch.from_numpy(arr), a)
            torch.save(d, os.path.join(pdir, qname + ".pt"))
            saved[qname] = d["param"]
            written += os.path.getsize(os.path.join(pdir, qname + ".pt"))
        torch.save(step_obj, os.path.join(pdir, "step.pt"))
        if a.golden:
            gold_params.append(param_golden(a, name, gi, saved, flat16[g][off:off + n].view(shape),
                                            lr, b1, b2, sums, bad))
        del w, m, v, saved
        if n >= 1_000_000 or i == len(specs) - 1 or i % 50 == 0:
            print(f"  [{i + 1}/{len(specs)}] {name} {list(shape)}  {written / 2**20:,.1f} MiB  "
                  f"{time.time() - t0:.1f}s", flush=True)

    # model states (copied unchanged from the source ZeRO checkpoint by ds_to_universal)
    views = {}
    for gi, grp in enumerate(groups):
        for name, t in cm.flat_views(flat16[gi], [(s[0], s[1]) for s in grp]):
            views[name] = t
    module = OrderedDict((s[0], views[s[0]]) for s in specs)
    group_shapes = [OrderedDict((s[0], torch.Size(s[1])) for s in grp) for grp in groups]
    cfg = dsfake.ds_config_dict(train_batch_size=micro_batch * grad_accum * a.dp, micro_batch=micro_batch,
                                grad_accum=grad_accum, lr=a.lr, betas=a.betas, eps=a.eps,
                                weight_decay=a.weight_decay)
    ms = cm.model_states(module, group_shapes, a.step, a.dp, cfg, dsfake.DS_VERSION, a.lr,
                         micro_batch * grad_accum * a.dp, universal_info(a))
    torch.save(ms, os.path.join(udir, "mp_rank_00_model_states.pt"))

    pgroups = cm.fused_adam_groups(lr, a.betas, a.eps, wds, a.step_format, initial_lr=a.lr)
    osd = OrderedDict()
    osd["loss_scaler"] = dsfake.LossScaler(scale=1.0)
    osd["dynamic_loss_scale"] = False
    osd["overflow"] = False
    osd["clip_grad"] = 1.0
    osd["zero_stage"] = dsfake.ZeroStageEnum.gradients
    osd["group_paddings"] = [0, 0]  # data-parallel rank 0's
    osd["partition_count"] = [a.dp, a.dp]
    osd["ds_version"] = dsfake.DS_VERSION
    osd["param_groups"] = pgroups
    torch.save(osd, os.path.join(zdir, "optimizer_state.pt"))
    if a.zero_shards:
        write_zero_shards(a, ck, tag, groups, flat32, flatm, flatv, ms, cfg, pgroups)
    if a.zero3_shards:
        write_zero3_shards(a, ck, tag, groups, flat32, flatm, flatv, ms, cfg, pgroups)
    print(f"done: {ck} ({du(ck) / 2**20:,.1f} MiB) in {time.time() - t0:.1f}s")

    if a.golden:
        gold = OrderedDict()
        gold["checkpoint"] = OrderedDict([
            ("step", a.step),
            ("ds_version", dsfake.DS_VERSION),
            ("param_groups", [OrderedDict([("lr", g["lr"]), ("betas", list(g["betas"])), ("eps", g["eps"]),
                                           ("weight_decay", g["weight_decay"]),
                                           ("params", [s[0] for s in grp])])
                              for g, grp in zip(pgroups, groups)]),
        ])
        gold["params"] = gold_params
        gold["summary"] = OrderedDict([
            ("step", a.step),
            ("params", len(specs)),
            ("numel", sum(p["numel"] for p in gold_params)),
            ("weight_norm", math.sqrt(sums["fp32"])),
            ("exp_avg_norm", math.sqrt(sums["exp_avg"])),
            ("exp_avg_sq_norm", math.sqrt(sums["exp_avg_sq"])),
            ("bf16_norm", math.sqrt(sums["bf16"])),
            ("nan", bad["nan"]),
            ("inf", bad["inf"]),
        ])
        tdlib.write_json(a.golden, gold)
        print(f"golden: {a.golden}")


def write_zero_shards(a, ck, tag, groups, flat32, flatm, flatv, ms, cfg, pgroups):
    """Writes ck/global_step<N>/ as DeepSpeed ZeRO-2 (stage_1_and_2.state_dict) saves it: the model
    states, and per data-parallel rank r a bf16_zero_pp_rank_<r>_mp_rank_00_optim_states.pt with rank r's
    equal partition of each flat group: exp_avg / exp_avg_sq with the alignment padding kept, the fp32
    partition with the padding removed on the last rank, and param_slice_mappings giving each parameter's
    fragment (numel, start) inside the partition; a parameter can straddle partitions."""
    sdir = os.path.join(ck, tag)
    os.makedirs(sdir, exist_ok=True)
    torch.save(ms, os.path.join(sdir, "mp_rank_00_model_states.pt"))
    dp = a.dp
    totals = [sum(cm.numel(s[1]) for s in grp) for grp in groups]
    for rank in range(dp):
        osd = OrderedDict()
        osd["loss_scaler"] = dsfake.LossScaler(scale=1.0)
        osd["dynamic_loss_scale"] = False
        osd["overflow"] = False
        osd["clip_grad"] = 1.0
        state, parts32, paddings, mappings = {}, [], [], []
        for gi, grp in enumerate(groups):
            psize = len(flat32[gi]) // dp
            lo, hi = rank * psize, (rank + 1) * psize
            state[gi] = {"step": cm.step_value(a.step, a.step_format),
                         "exp_avg": torch.from_numpy(flatm[gi][lo:hi].copy()),
                         "exp_avg_sq": torch.from_numpy(flatv[gi][lo:hi].copy())}
            pad = len(flat32[gi]) - totals[gi] if rank == dp - 1 else 0
            paddings.append(pad)
            parts32.append(torch.from_numpy(flat32[gi][lo:hi - pad].copy()))
            mp = OrderedDict()
            off = 0
            for name, shape, _, _ in grp:
                n = cm.numel(shape)
                s0, e0 = max(off, lo), min(off + n, hi)
                if s0 < e0:
                    mp[name] = dsfake.fragment_address(numel=e0 - s0, start=s0 - lo)
                off += n
            mappings.append(mp)
        osd["base_optimizer_state"] = {"state": state, "param_groups": pgroups}
        osd["single_partition_of_fp32_groups"] = parts32
        osd["zero_stage"] = dsfake.ZeroStageEnum.gradients
        osd["group_paddings"] = paddings
        osd["partition_count"] = [dp] * len(groups)
        osd["ds_version"] = dsfake.DS_VERSION
        osd["param_slice_mappings"] = mappings
        torch.save({"optimizer_state_dict": osd, "ds_config": cfg, "ds_version": dsfake.DS_VERSION},
                   os.path.join(sdir, f"bf16_zero_pp_rank_{rank}_mp_rank_00_optim_states.pt"))
    print(f"  ZeRO-2 shards: {sdir} ({dp} ranks, group paddings {[len(f) - t for f, t in zip(flat32, totals)]})")


def write_zero3_shards(a, ck, tag, groups, flat32, flatm, flatv, ms, cfg, pgroups):
    """Writes ck/global_step<N>/ as DeepSpeed ZeRO-3 saves it (stage3._rigid_state_dict): per rank r,
    zero_pp_rank_<r>_mp_rank_00_optim_states.pt = {'optimizer_state_dict': {zero_stage, loss_scaler, ...,
    partition_count, optimizer_state_dict: base optimizer state_dict (flat per-group exp_avg / exp_avg_sq of
    the rank), fp32_flat_groups: [flat fp32 per group]}, ds_config, ds_version}, where each parameter of a
    group contributes ceil(numel / dp) elements to every rank's flat group (rank r holds its elements
    [r * pn, (r + 1) * pn), zero-padded past numel); and zero_pp_rank_<r>_mp_rank_00_model_states.pt with
    the module's parameters as empty placeholders (ZeRO-3 keeps no whole weight) and param_shapes."""
    sdir = os.path.join(ck, tag)
    os.makedirs(sdir, exist_ok=True)
    dp = a.dp
    empty = OrderedDict((k, torch.zeros(0, dtype=torch.bfloat16)) for k in ms["module"])
    ms3 = OrderedDict(ms)
    ms3["module"] = empty
    for rank in range(dp):
        torch.save(ms3, os.path.join(sdir, f"zero_pp_rank_{rank}_mp_rank_00_model_states.pt"))
        state, flats = {}, []
        for gi, grp in enumerate(groups):
            parts32, partsm, partsv = [], [], []
            off = 0
            for name, shape, _, _ in grp:
                n = cm.numel(shape)
                pn = -(-n // dp)
                lo, hi = min(n, rank * pn), min(n, (rank + 1) * pn)
                for src, dst in ((flat32, parts32), (flatm, partsm), (flatv, partsv)):
                    part = np.zeros(pn, np.float32)
                    part[:hi - lo] = src[gi][off + lo:off + hi]
                    dst.append(part)
                off += n
            flats.append(torch.from_numpy(np.concatenate(parts32)))
            state[gi] = {"step": cm.step_value(a.step, a.step_format),
                         "exp_avg": torch.from_numpy(np.concatenate(partsm)),
                         "exp_avg_sq": torch.from_numpy(np.concatenate(partsv))}
        osd = OrderedDict()
        osd["zero_stage"] = dsfake.ZeroStageEnum.weights
        osd["loss_scaler"] = dsfake.LossScaler(scale=1.0)
        osd["dynamic_loss_scale"] = False
        osd["overflow"] = False
        osd["partition_count"] = dp
        osd["optimizer_state_dict"] = {"state": state, "param_groups": pgroups}
        osd["fp32_flat_groups"] = flats
        torch.save({"optimizer_state_dict": osd, "ds_config": cfg, "ds_version": dsfake.DS_VERSION},
                   os.path.join(sdir, f"zero_pp_rank_{rank}_mp_rank_00_optim_states.pt"))
    print(f"  ZeRO-3 shards: {sdir} ({dp} ranks)")


def param_golden(a, name, gi, saved, bf16, lr, b1, b2, sums, bad):
    fp = saved["fp32"]
    rec = OrderedDict()
    rec["name"] = name
    rec["shape"] = list(fp.shape)
    rec["numel"] = int(fp.numel())
    rec["step"] = a.step
    rec["group"] = gi
    rec["scale"] = bool(fp.numel() == 1 and name.endswith("_alpha"))
    rec["scale_value"] = float(fp.reshape(-1)[0]) if rec["scale"] else None
    for q in ("fp32", "exp_avg", "exp_avg_sq"):
        rec[q] = stats(saved[q])
    rec["bf16"] = stats(bf16)
    for q in ("fp32", "exp_avg", "exp_avg_sq", "bf16"):
        l2 = rec[q]["l2"]
        sums[q] += (l2 or 0.0) ** 2
        bad["nan"] += rec[q]["nan"]
        bad["inf"] += rec[q]["inf"]
    t = a.step
    m = saved["exp_avg"].double().numpy().reshape(-1)
    v = saved["exp_avg_sq"].double().numpy().reshape(-1)
    if t > 0 and m.size:
        mh = m / (1.0 - b1 ** t)
        vh = v / (1.0 - b2 ** t)
        u = mh / (np.sqrt(vh) + a.eps)
        urms = math.sqrt(float(np.sum(u * u)) / u.size)
        wrms = rec["fp32"]["rms"]
        rec["adam"] = OrderedDict([("update_rms", urms),
                                   ("update_to_weight", lr * urms / wrms if wrms else None)])
    else:
        rec["adam"] = OrderedDict([("update_rms", None), ("update_to_weight", None)])
    return rec


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


if __name__ == "__main__":
    main()
