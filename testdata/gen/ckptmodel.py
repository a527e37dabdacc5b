"""A YuLan-Mini-shaped model for the DeepSpeed fixture generators (not a script).

param_specs() lists the parameters in the order nn.Module.named_parameters() yields them for
YuLan-Mini's pretrain/modeling_yulanmini.py (a module's own parameters come before its
children's): lm_head_alpha, model.norm_alpha, model.embed_tokens.weight, per layer the layer's
alphas, self_attn alphas, q/k/v/o projections, mlp, norms; model.norm.weight, lm_head.weight.
WeSaR alphas: self_attn.{q,k,v,o}_proj_alpha have shape [1] (torch.ones(1) * a), the others
are 0-dim (torch.tensor(1) * a).

Values come from one numpy Generator per (seed, parameter name, quantity), so a parameter's
values do not depend on the order or the set of parameters generated.
"""

import math
import zlib

import numpy as np
import torch

DECAY, NO_DECAY = 0, 1


def param_specs(layers, hidden, intermediate, heads, kv_heads, vocab_rows):
    """[(name, shape tuple, group, kind)] in named_parameters() order.

    vocab_rows: rows of the embedding / lm_head as the model holds them (padded vocab).
    group: 0 = weight decay (2-D weights), 1 = no decay (biases, norms, alphas).
    """
    head_dim = hidden // heads
    kv = kv_heads * head_dim
    specs = [
        ("lm_head_alpha", (), NO_DECAY, "alpha"),
        ("model.norm_alpha", (), NO_DECAY, "alpha"),
        ("model.embed_tokens.weight", (vocab_rows, hidden), DECAY, "embed"),
    ]
    for i in range(layers):
        p = f"model.layers.{i}."
        specs += [
            (p + "gate_up_proj_alpha", (), NO_DECAY, "alpha"),
            (p + "down_proj_alpha", (), NO_DECAY, "alpha"),
            (p + "input_layernorm_alpha", (), NO_DECAY, "alpha"),
            (p + "post_attention_layernorm_alpha", (), NO_DECAY, "alpha"),
            (p + "self_attn.q_proj_alpha", (1,), NO_DECAY, "alpha"),
            (p + "self_attn.k_proj_alpha", (1,), NO_DECAY, "alpha"),
            (p + "self_attn.v_proj_alpha", (1,), NO_DECAY, "alpha"),
            (p + "self_attn.o_proj_alpha", (1,), NO_DECAY, "alpha"),
            (p + "self_attn.q_proj.weight", (hidden, hidden), DECAY, "linear"),
            (p + "self_attn.q_proj.bias", (hidden,), NO_DECAY, "bias"),
            (p + "self_attn.k_proj.weight", (kv, hidden), DECAY, "linear"),
            (p + "self_attn.k_proj.bias", (kv,), NO_DECAY, "bias"),
            (p + "self_attn.v_proj.weight", (kv, hidden), DECAY, "linear"),
            (p + "self_attn.v_proj.bias", (kv,), NO_DECAY, "bias"),
            (p + "self_attn.o_proj.weight", (hidden, hidden), DECAY, "linear_out"),
            (p + "mlp.gate_proj.weight", (intermediate, hidden), DECAY, "linear"),
            (p + "mlp.up_proj.weight", (intermediate, hidden), DECAY, "linear"),
            (p + "mlp.down_proj.weight", (hidden, intermediate), DECAY, "linear_out"),
            (p + "input_layernorm.weight", (hidden,), NO_DECAY, "norm"),
            (p + "post_attention_layernorm.weight", (hidden,), NO_DECAY, "norm"),
        ]
    specs += [
        ("model.norm.weight", (hidden,), NO_DECAY, "norm"),
        ("lm_head.weight", (vocab_rows, hidden), DECAY, "lm_head"),
    ]
    return specs


def numel(shape):
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


def _rng(seed, name, what):
    return np.random.Generator(np.random.PCG64([seed, zlib.crc32(name.encode()), zlib.crc32(what.encode())]))


def gen_fp32(seed, name, shape, kind, layers, vocab=None):
    """fp32 master weight (numpy float32, given shape)."""
    r = _rng(seed, name, "fp32")
    n = numel(shape)
    if kind == "alpha":
        a = r.uniform(0.5, 3.0, size=n).astype(np.float32)
    elif kind == "norm":
        a = (1.0 + 0.05 * r.standard_normal(n, dtype=np.float32)).astype(np.float32)
    elif kind == "bias":
        a = 0.01 * r.standard_normal(n, dtype=np.float32)
        a[r.choice(n, size=max(1, n // 50), replace=False)] = 0.0  # a few exact zeros
    else:
        std = 0.02 / math.sqrt(2 * max(layers, 1)) if kind == "linear_out" else 0.02
        a = std * r.standard_normal(n, dtype=np.float32)
        if n >= 64:
            a[r.choice(n, size=2, replace=False)] = 0.0
    return a.astype(np.float32).reshape(shape)


def gen_moments(seed, name, shape, kind, vocab=None):
    """(exp_avg, exp_avg_sq) numpy float32 arrays of the given shape.

    exp_avg_sq: positive, heavy tailed, ~1e-8..1e-6 (alphas larger); exp_avg ~1e-4 with mixed
    signs and |exp_avg| well below sqrt(exp_avg_sq).  Embedding rows of tokens never seen
    (and padded vocabulary rows >= vocab) have both moments exactly 0.
    """
    r = _rng(seed, name, "moments")
    n = numel(shape)
    lo, hi = (1e-3, 1e-2) if kind == "alpha" else (1e-4, 1e-3)
    g = math.exp(r.uniform(math.log(lo), math.log(hi)))  # per-parameter gradient scale
    v = (g * g) * r.lognormal(0.0, 1.2, size=n).astype(np.float32)
    m = np.sqrt(v) * (0.15 * r.standard_normal(n, dtype=np.float32))
    v = v.astype(np.float32).reshape(shape)
    m = m.astype(np.float32).reshape(shape)
    if kind == "embed":
        rows = shape[0]
        dead = r.random(rows) < 0.02
        if vocab is not None:
            dead[vocab:] = True
        m[dead] = 0.0
        v[dead] = 0.0
    elif n >= 64:
        idx = r.choice(n, size=2, replace=False)
        m.reshape(-1)[idx] = 0.0
        v.reshape(-1)[idx] = 0.0
    return m, v


def bf16_round(a32):
    """fp32 numpy -> torch bfloat16 (round to nearest even, as Tensor.to does)."""
    return torch.from_numpy(np.ascontiguousarray(a32)).to(torch.bfloat16)


def aligned_size(total, dp):
    """ZeRO-1/2 flat group size: padded to a multiple of 2 * dp (nccl_start_alignment_factor 2)."""
    align = 2 * dp
    return total + ((-total) % align)


def flat_views(flat, specs):
    """Views of a flat tensor laid out as the specs' parameters, in order (storage shared)."""
    out = []
    off = 0
    for name, shape in specs:
        n = numel(shape)
        out.append((name, flat.narrow(0, off, n).view(shape)))
        off += n
    return out


# ---------------------------------------------------------------------------
# DeepSpeed structures


def lr_scheduler_state(lr, step, n_groups, warmup=100):
    """state_dict() of the HF LambdaLR scheduler handed to DeepSpeed (engine.lr_scheduler)."""
    return {
        "base_lrs": [lr * 1.0 for _ in range(n_groups)],
        "last_epoch": step,
        "verbose": False,
        "_step_count": step + 1,
        "_get_lr_called_within_step": False,
        "_last_lr": [lr * min(1.0, step / warmup) for _ in range(n_groups)],
        "lr_lambdas": [None] * n_groups,
    }


def model_states(module, group_shapes, step, dp, ds_config, ds_version, lr, samples_per_step,
                 universal_info=None):
    """The dict engine._save_checkpoint writes (DeepSpeed 0.15, ZeRO-2, bf16)."""
    from collections import OrderedDict
    sd = OrderedDict()
    sd["module"] = module
    sd["buffer_names"] = []
    sd["optimizer"] = None
    sd["param_shapes"] = group_shapes
    sd["frozen_param_shapes"] = OrderedDict()
    sd["shared_params"] = {}
    sd["frozen_param_fragments"] = OrderedDict()
    sd["lr_scheduler"] = lr_scheduler_state(lr, step, len(group_shapes))
    sd["data_sampler"] = None
    sd["random_ltd"] = None
    sd["sparse_tensor_module_names"] = set()
    sd["skipped_steps"] = 0
    sd["global_steps"] = step
    sd["global_samples"] = step * samples_per_step
    sd["dp_world_size"] = dp
    sd["mp_world_size"] = 1
    sd["ds_config"] = ds_config
    sd["ds_version"] = ds_version
    if universal_info is not None:
        sd["universal_checkpoint_info"] = universal_info  # client_state (Megatron-DeepSpeed style)
    return sd


def fused_adam_groups(lr, betas, eps, weight_decays, step_format, initial_lr=None):
    """param_groups of the base optimizer's state_dict (one flat param per group under ZeRO).

    step_format 'int': DeepSpeed FusedAdam (keys lr, bias_correction, betas, eps, weight_decay and a
    group 'step' that FusedAdam sets to 0 and never advances; the real count is in the state).
    step_format 'tensor': torch.optim.AdamW (2.x keys; the state's step is a float32 0-dim tensor).
    """
    groups = []
    for i, wd in enumerate(weight_decays):
        if step_format == "int":
            g = {"lr": lr, "bias_correction": True, "betas": tuple(betas), "eps": eps,
                 "weight_decay": wd, "step": 0}
        else:
            g = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": wd, "amsgrad": False,
                 "foreach": None, "maximize": False, "capturable": False, "differentiable": False,
                 "fused": None}
        g["initial_lr"] = initial_lr if initial_lr is not None else lr
        g["params"] = [i]
        groups.append(g)
    return groups


def step_value(step, step_format):
    return int(step) if step_format == "int" else torch.tensor(float(step))
