"""Writes YuLan-Mini-shaped checkpoints whose WeSaR scale factors and muP multipliers are all far
from their defaults, with goldens of the effective statistics of every parameter and of the
tensors `ckptinspect export --to llama` must write.

Usage (from the repository root):
  /usr/bin/python3 testdata/gen/gen_wesar.py --rms-type llama|gemma --out DIR [--seed N]
      [--zero-shards] [--safetensors DIR2] [--drift-steps N --drift-out DIR3]
      [size options of gen_universal.py]

Bundled fixtures (deterministic; re-running gives byte-identical files):
  /usr/bin/python3 testdata/gen/gen_wesar.py --rms-type llama --out testdata/wesar-llama --seed 5 \\
      --zero-shards --safetensors testdata/wesar-llama-st
  /usr/bin/python3 testdata/gen/gen_wesar.py --rms-type gemma --out testdata/wesar-gemma --seed 6 \\
      --drift-steps 3 --drift-out testdata/wesar-gemma-drift

The checkpoint is written by gen_universal.py (same layout, same helpers: DIR/checkpoint-<step>/
with a universal checkpoint, optionally ZeRO-2 shards of the same weights), with two things
changed: config.json sets every multiplier of YuLan-Mini's modelling code to a non-default value
(ln_scale, hidden_states_shrink, scale_emb, dim_model_base_attn, dim_model_base_logits, rms_type;
the config's *_alpha init values too, which the network never reads), and the weights are those
of a trained WeSaR model: every *_alpha far from 1 (|a| in [0.25, 0.6] or [1.8, 3.5]; one of them,
model.layers.1.self_attn.v_proj_alpha, negative) and, for rms_type gemma, norm weights near 0 (the
network uses 1 + w).

Besides gen_universal's DIR.golden.json (raw statistics) it writes:
  DIR.effective.golden.json  per parameter: layer, kind, the multiplier (scale, offset, factors,
                             in the order ckptinspect multiplies them), the statistics of the
                             effective weight scale * (w + offset) computed in float64 from the fp32
                             master (tdlib.stats_real), and the AdamW update-to-weight ratio against
                             the effective weight, |scale| * lr * RMS(u) / RMS(effective).
  DIR.export.golden.json     the Llama config fields and, per tensor of the exported model (Hugging
                             Face Llama names, in the order written), its source, multiplier, shape,
                             the SHA-256 of its float32 bytes ((w.double() + offset) * scale).float(),
                             vocabulary rows cut to vocab_size, o_proj biases zeros) and of its
                             bfloat16 bytes (that float32 tensor .to(torch.bfloat16)), and the
                             statistics of the float32 values.
--safetensors DIR2 also writes DIR2/model.safetensors (the fp32 master weights under the model's
own names, embedding and lm_head with their padded vocabulary rows) and DIR2/config.json: a
weights-only input for export; and DIR2.effective.golden.json, the effective statistics of its
tensors (as DIR.effective.golden.json, over the padded vocabulary rows too, no AdamW figures).

--drift-steps N --drift-out DIR3 also writes a later checkpoint B = DIR3/checkpoint-<step + N>/ of
the same model: N steps of AdamW from DIR's checkpoint A, as testdata/gen/gen_drift.py trains
(synthetic gradients; the scale factors are trained too, so their values differ between A and
B), under the same config; and DIR3.effective-diff.golden.json, the float64 comparison of the
effective fp32 weights of A and B, each side under its own scale factors:

  {"a": {"path", "step"}, "b": {"path", "step"},
   "params": [{"name", "state": "fp32", "scale_a", "scale_b", "offset_a", "offset_b", "effective": PAIR}],
   "summary": {"params_compared", "effective": PAIR}}

PAIR is gen_drift.py's (pairs, changed, a_l2, b_l2, delta_l2, max_abs_delta, rel_change, cosine,
norm_ratio over the pairs (scale_a * (a + offset_a), scale_b * (b + offset_b)) where both are
finite; the summary's adds up every parameter's sums).
"""

import argparse
import hashlib
import json
import math
import os
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import gen_drift  # noqa: E402
import gen_safetensors  # noqa: E402
import gen_universal  # noqa: E402
import tdlib  # noqa: E402

NEGATIVE_ALPHA = "model.layers.1.self_attn.v_proj_alpha"

# The multipliers of each fixture: every one differs from its default (1, 1, 1, head_dim, hidden).
MULTIPLIERS = {
    "llama": OrderedDict([("ln_scale", 1.3), ("hidden_states_shrink", "muparam"), ("scale_emb", 10.0),
                          ("dim_model_base_attn", 2), ("dim_model_base_logits", 8), ("rms_type", "llama")]),
    "gemma": OrderedDict([("ln_scale", 0.8), ("hidden_states_shrink", 0.3), ("scale_emb", 6.0),
                          ("dim_model_base_attn", 32), ("dim_model_base_logits", 12), ("rms_type", "gemma")]),
}


def alpha_value(seed, name):
    r = cm._rng(seed, name, "wesar-alpha")
    v = r.uniform(0.25, 0.6) if r.random() < 0.5 else r.uniform(1.8, 3.5)
    return -v if name == NEGATIVE_ALPHA else v


def patch_weights(rms_type):
    """Makes gen_universal write trained-WeSaR-like weights (see the module doc)."""
    orig = cm.gen_fp32

    def gen_fp32(seed, name, shape, kind, layers, vocab=None):
        if kind == "alpha":
            return np.full(shape, alpha_value(seed, name), dtype=np.float32)
        if kind == "norm" and rms_type == "gemma":
            r = cm._rng(seed, name, "fp32")
            return (0.05 * r.standard_normal(cm.numel(shape), dtype=np.float32)).astype(np.float32).reshape(shape)
        return orig(seed, name, shape, kind, layers, vocab)

    cm.gen_fp32 = gen_fp32


def patch_config(rms_type):
    orig = gen_universal.yulan_config

    def yulan_config(a):
        c = orig(a)
        c.update(MULTIPLIERS[rms_type])
        for k in list(c):
            if k.endswith("_proj_alpha") or k.endswith("layernorm_alpha") or k in ("norm_alpha", "lm_head_alpha"):
                c[k] = 5.0  # init values only: the network uses the trained parameters
        c["wesar_weights"] = True
        c["use_norm_alpha"] = True
        return c

    gen_universal.yulan_config = yulan_config


# ---------------------------------------------------------------------------
# names and multipliers, written independently of the Go code from FORMATS.md 8.1 and
# pretrain/modeling_yulanmini.py


def parse_name(name):
    """(layer or None, kind, alpha name or None)."""
    parts = name.split(".")
    if "layers" in parts:
        i = parts.index("layers")
        layer = int(parts[i + 1])
        rest = parts[i + 2:]
        if rest[-1].endswith("_alpha"):
            return layer, "alpha", rest[-1]
        if rest[0] in ("self_attn", "mlp"):
            return layer, rest[1], None
        return layer, rest[0], None
    if parts[-1].endswith("_alpha"):
        return None, "alpha", parts[-1]
    return None, parts[-2], None


def config_factors(cfg):
    layers = cfg["num_hidden_layers"]
    shrink = cfg["hidden_states_shrink"]
    if shrink == "muparam":
        shrink = 1 / math.sqrt(layers)
    shrink = shrink if 0 <= shrink < 1 else 1.0
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    return {
        "shrink": float(shrink),
        "attn": math.sqrt(cfg["dim_model_base_attn"] / head_dim),
        "logits": cfg["dim_model_base_logits"] / cfg["hidden_size"],
        "ln": float(cfg["ln_scale"]),
        "emb": float(cfg["scale_emb"]),
        "offset": 1.0 if cfg["rms_type"] == "gemma" else 0.0,
    }


def multiplier(name, cfg, alphas):
    """[(source, value, absent)], offset: the factors of the effective weight, in ckptinspect's order."""
    f = config_factors(cfg)
    layer, kind, _ = parse_name(name)
    p = f"model.layers.{layer}."

    def alpha(aname):
        return (aname, alphas[aname], False) if aname in alphas else (aname, 1.0, True)

    if kind == "alpha":
        return [], 0.0
    if kind == "embed_tokens":
        return [("scale_emb", f["emb"], False), alpha("model.embed_tokens_alpha")], 0.0
    if kind in ("input_layernorm", "post_attention_layernorm"):
        return [("ln_scale", f["ln"], False), alpha(p + kind + "_alpha")], f["offset"]
    if kind == "norm":
        return [("ln_scale", f["ln"], False), alpha("model.norm_alpha")], f["offset"]
    if kind == "q_proj":
        return [alpha(p + "self_attn.q_proj_alpha"), ("sqrt(dim_model_base_attn/head_dim)", f["attn"], False)], 0.0
    if kind in ("k_proj", "v_proj"):
        return [alpha(p + "self_attn." + kind + "_alpha")], 0.0
    if kind == "o_proj":
        return [alpha(p + "self_attn.o_proj_alpha"), ("hidden_states_shrink", f["shrink"], False)], 0.0
    if kind in ("gate_proj", "up_proj"):
        return [alpha(p + "gate_up_proj_alpha")], 0.0
    if kind == "down_proj":
        return [alpha(p + "down_proj_alpha"), ("hidden_states_shrink", f["shrink"], False)], 0.0
    if kind == "lm_head":
        return [alpha("lm_head_alpha"), ("dim_model_base_logits/hidden_size", f["logits"], False)], 0.0
    raise ValueError(name)


def product(factors):
    s = 1.0
    for _, v, _ in factors:
        s *= v
    return s


def effective(w, scale, offset):
    """float64 numpy array of the effective weight: scale * (w + offset), x + offset rounded first."""
    return (w.detach().double().numpy() + offset) * scale


# ---------------------------------------------------------------------------
# the exported Llama model


def llama_names(cfg):
    """[(HF Llama name, source parameter or None for a zero bias)] in the order export writes them."""
    out = [("model.embed_tokens.weight", "model.embed_tokens.weight")]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj"):
            out += [(p + f"self_attn.{proj}.weight", p + f"self_attn.{proj}.weight"),
                    (p + f"self_attn.{proj}.bias", p + f"self_attn.{proj}.bias")]
        out += [(p + "self_attn.o_proj.weight", p + "self_attn.o_proj.weight"), (p + "self_attn.o_proj.bias", None)]
        for proj in ("gate_proj", "up_proj", "down_proj"):
            out.append((p + f"mlp.{proj}.weight", p + f"mlp.{proj}.weight"))
        out += [(p + "input_layernorm.weight", p + "input_layernorm.weight"),
                (p + "post_attention_layernorm.weight", p + "post_attention_layernorm.weight")]
    out += [("model.norm.weight", "model.norm.weight"), ("lm_head.weight", "lm_head.weight")]
    return out


def export_tensor(name, src, weights, cfg, alphas):
    """(float32 tensor, scale, offset) of one exported tensor."""
    if src is None:
        return torch.zeros(cfg["hidden_size"], dtype=torch.float32), 1.0, 0.0
    w = weights[src]
    if src in ("model.embed_tokens.weight", "lm_head.weight"):
        w = w[:cfg["vocab_size"]]
    fs, off = multiplier(src, cfg, alphas)
    s = product(fs)
    return ((w.double() + off) * s).float().contiguous(), s, off


def llama_config(cfg, dtype):
    """The config.json fields export must write (the subset the golden pins)."""
    return OrderedDict([
        ("architectures", ["LlamaForCausalLM"]), ("model_type", "llama"),
        ("hidden_size", cfg["hidden_size"]), ("intermediate_size", cfg["intermediate_size"]),
        ("num_hidden_layers", cfg["num_hidden_layers"]), ("num_attention_heads", cfg["num_attention_heads"]),
        ("num_key_value_heads", cfg["num_key_value_heads"]),
        ("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"]), ("hidden_act", cfg["hidden_act"]),
        ("rms_norm_eps", cfg["rms_norm_eps"]), ("rope_theta", cfg["rope_theta"]), ("rope_scaling", None),
        ("max_position_embeddings", cfg["max_position_embeddings"]), ("vocab_size", cfg["vocab_size"]),
        ("bos_token_id", cfg["bos_token_id"]), ("eos_token_id", cfg["eos_token_id"]),
        ("attention_bias", True), ("mlp_bias", False), ("tie_word_embeddings", False), ("torch_dtype", dtype),
    ])


def sha256(t):
    return hashlib.sha256(gen_safetensors.raw_bytes(t)).hexdigest()


# ---------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rms-type", choices=("llama", "gemma"), required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--intermediate", type=int, default=80)
    p.add_argument("--vocab", type=int, default=120)
    p.add_argument("--tp-pad-vocab", type=int, default=8)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--step", type=int, default=30)
    p.add_argument("--dp", type=int, default=2)
    p.add_argument("--zero-shards", action="store_true")
    p.add_argument("--safetensors", help="also write a weights-only safetensors input here")
    p.add_argument("--drift-steps", type=int, default=0, help="also write a checkpoint this many AdamW steps later")
    p.add_argument("--drift-out", help="where the later checkpoint goes (with --drift-steps)")
    return p.parse_args(argv)


def effective_params(specs, udir):
    """{name: fp32 tensor} and {alpha name: value} of a universal checkpoint's zero/ folder."""
    weights = OrderedDict()
    for name, _, _, _ in specs:
        weights[name] = torch.load(os.path.join(udir, "zero", name, "fp32.pt"))["param"]
    alphas = OrderedDict((n, float(w.reshape(-1)[0])) for n, w in weights.items() if n.endswith("_alpha"))
    return weights, alphas


def drift(a, uargs, specs, cfg, ck_a):
    """Writes B, a.drift_steps AdamW steps after A (ck_a), and the golden of the effective diff."""
    out = a.drift_out.rstrip("/")
    step_b = a.step + a.drift_steps
    ub = uargs[:]
    ub[ub.index("--out") + 1] = out
    ub[ub.index("--step") + 1] = str(step_b)
    i = ub.index("--golden")
    del ub[i:i + 2]
    ua = gen_universal.parse_args(ub)
    da = argparse.Namespace(steps=a.drift_steps, drift=1.0, drift_seed=a.seed + 100, freeze=None)
    udir_a = os.path.join(ck_a, f"global_step{a.step}_universal")
    trained = gen_drift.train(da, ua, specs, udir_a, a.step)
    orig = (cm.gen_fp32, cm.gen_moments)
    cm.gen_fp32 = lambda seed, name, shape, kind, layers, vocab=None: trained[name][0]
    cm.gen_moments = lambda seed, name, shape, kind, vocab=None: trained[name][1:]
    gen_universal.main(ub)
    cm.gen_fp32, cm.gen_moments = orig

    ck_b = os.path.join(out, f"checkpoint-{step_b}")
    wa, aa = effective_params(specs, udir_a)
    wb, ab = effective_params(specs, os.path.join(ck_b, f"global_step{step_b}_universal"))
    params, total = [], None
    for name, _, _, _ in specs:
        fa, off_a = multiplier(name, cfg, aa)
        fb, off_b = multiplier(name, cfg, ab)
        sa, sb = product(fa), product(fb)
        ea = torch.from_numpy(np.asarray(effective(wa[name], sa, off_a)))
        eb = torch.from_numpy(np.asarray(effective(wb[name], sb, off_b)))
        sums = gen_drift.pair(ea, eb)
        total = gen_drift.merge(total, sums)
        params.append(OrderedDict([("name", name), ("state", "fp32"), ("scale_a", sa), ("scale_b", sb),
                                   ("offset_a", off_a), ("offset_b", off_b),
                                   ("effective", gen_drift.figures(sums))]))
    tdlib.write_json(out + ".effective-diff.golden.json", OrderedDict([
        ("a", OrderedDict([("path", ck_a), ("step", a.step)])), ("b", OrderedDict([("path", ck_b), ("step", step_b)])),
        ("params", params),
        ("summary", OrderedDict([("params_compared", len(params)), ("effective", gen_drift.figures(total))]))]))
    print(f"drift: {ck_b}, golden {out}.effective-diff.golden.json")


def main(argv=None):
    a = parse_args(argv)
    patch_weights(a.rms_type)
    patch_config(a.rms_type)
    out = a.out.rstrip("/")
    uargs = ["--out", out, "--layers", str(a.layers), "--hidden", str(a.hidden), "--intermediate", str(a.intermediate),
             "--vocab", str(a.vocab), "--tp-pad-vocab", str(a.tp_pad_vocab), "--heads", str(a.heads),
             "--kv-heads", str(a.kv_heads), "--step", str(a.step), "--step-format", "tensor", "--dp", str(a.dp),
             "--seed", str(a.seed), "--golden", out + ".golden.json"]
    if a.zero_shards:
        uargs.append("--zero-shards")
    gen_universal.main(uargs)

    ck = os.path.join(out, f"checkpoint-{a.step}")
    with open(os.path.join(ck, "config.json")) as f:
        cfg = json.load(f, object_pairs_hook=OrderedDict)
    zdir = os.path.join(ck, f"global_step{a.step}_universal", "zero")
    specs = cm.param_specs(a.layers, a.hidden, a.intermediate, a.heads, a.kv_heads, a.vocab + a.tp_pad_vocab)
    weights, moments = OrderedDict(), {}
    for name, _, gi, _ in specs:
        weights[name] = torch.load(os.path.join(zdir, name, "fp32.pt"))["param"]
        moments[name] = (torch.load(os.path.join(zdir, name, "exp_avg.pt"))["param"],
                         torch.load(os.path.join(zdir, name, "exp_avg_sq.pt"))["param"], gi)
    alphas = OrderedDict((n, float(w.reshape(-1)[0])) for n, w in weights.items() if n.endswith("_alpha"))
    for n, v in alphas.items():
        assert (abs(v) <= 0.6 or abs(v) >= 1.8), (n, v)

    # AdamW coefficients, as gen_universal wrote them
    lr = gen_universal.current_lr(gen_universal.parse_args(uargs))
    b1, b2, eps, t = 0.9, 0.95, 1e-15, a.step

    # effective statistics
    params = []
    for name, w in weights.items():
        layer, kind, aname = parse_name(name)
        fs, off = multiplier(name, cfg, alphas)
        s = product(fs)
        e = effective(w, s, off)
        st = tdlib.stats_real(e)
        rec = OrderedDict([("name", name), ("layer", layer), ("kind", kind), ("alpha", aname),
                           ("scale", s), ("offset", off),
                           ("factors", [OrderedDict([("source", src), ("value", v), ("absent", ab)]) for src, v, ab in fs]),
                           ("effective", OrderedDict([("dtype", "float32"), ("shape", list(w.shape))] + list(st.items())))])
        m, v, _ = moments[name]
        u = (m.double().numpy() / (1 - b1 ** t)) / (np.sqrt(v.double().numpy() / (1 - b2 ** t)) + eps)
        urms = math.sqrt(float(np.sum(u * u)) / u.size)
        rec["update_rms"] = urms
        rec["update_to_weight"] = abs(s) * lr * urms / st["rms"] if st["rms"] else None
        params.append(rec)
    settings = OrderedDict((k, cfg[k]) for k in MULTIPLIERS[a.rms_type])
    tdlib.write_json(out + ".effective.golden.json", OrderedDict([
        ("checkpoint", os.path.basename(ck)), ("config", settings),
        ("factors", config_factors(cfg)), ("alphas", alphas), ("params", params)]))

    # the exported Llama model
    tensors = []
    for hf, src in llama_names(cfg):
        e32, s, off = export_tensor(hf, src, weights, cfg, alphas)
        st = tdlib.stats_real(e32.double().numpy())
        tensors.append(OrderedDict([("name", hf), ("source", src), ("scale", s), ("offset", off),
                                    ("shape", list(e32.shape)), ("f32_sha256", sha256(e32)),
                                    ("bf16_sha256", sha256(e32.to(torch.bfloat16))), ("stats", st)]))
    tdlib.write_json(out + ".export.golden.json", OrderedDict([
        ("config_float32", llama_config(cfg, "float32")), ("config_bfloat16", llama_config(cfg, "bfloat16")),
        ("tensors", tensors)]))

    if a.safetensors:
        os.makedirs(a.safetensors, exist_ok=True)
        full = OrderedDict()
        for name, shape, _, kind in specs:  # full padded rows, as the model holds them
            full[name] = torch.from_numpy(cm.gen_fp32(a.seed, name, shape, kind, a.layers))
            assert torch.equal(full[name].reshape(-1)[:weights[name].numel()], weights[name].reshape(-1)), name
        gen_safetensors.write(os.path.join(a.safetensors, "model.safetensors"), full, {"format": "pt"})
        with open(os.path.join(a.safetensors, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        st_params = []
        for name, w in full.items():  # the safetensors tensors, padded vocabulary rows included
            fs, off = multiplier(name, cfg, alphas)
            s = product(fs)
            st = tdlib.stats_real(effective(w, s, off))
            st_params.append(OrderedDict([("name", name), ("scale", s), ("offset", off),
                                          ("effective", OrderedDict([("dtype", "float32"), ("shape", list(w.shape))]
                                                                    + list(st.items())))]))
        tdlib.write_json(a.safetensors.rstrip("/") + ".effective.golden.json", OrderedDict([
            ("config", settings), ("alphas", alphas), ("params", st_params)]))
        print(f"safetensors: {a.safetensors}")

    if a.drift_steps:
        drift(a, uargs, specs, cfg, ck)
    print(f"goldens: {out}.effective.golden.json, {out}.export.golden.json")


if __name__ == "__main__":
    main()
