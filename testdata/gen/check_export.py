"""Checks that `ckptinspect export --to llama` writes a model that computes the same function.

Usage (from the repository root, after `go build -o /tmp/ckptinspect ./cmd/ckptinspect`):
  /usr/bin/python3 testdata/gen/check_export.py --tool /tmp/ckptinspect

For each WeSaR fixture written by gen_wesar.py (rms_type llama: from the universal checkpoint, from
its ZeRO-2 shards and from the weights-only safetensors copy; rms_type gemma: from the universal
checkpoint) it runs the tool to export a float32 and a bfloat16 Llama model into a temporary
folder, then:

  1. runs a YuLan-Mini forward pass written from pretrain/modeling_yulanmini.py (plain torch,
     float32, eager attention) on the ORIGINAL fp32 master weights (torch.load of the universal
     checkpoint's zero/<param>/fp32.pt) and config.json: every WeSaR factor, ln_scale,
     hidden_states_shrink, scale_emb, sqrt(dim_model_base_attn)/head_dim attention scaling,
     the logits division by hidden_size/dim_model_base_logits, rms_type llama (w) or gemma (1 + w);
  2. runs a standard Hugging Face Llama forward pass (plain torch, float32: RMSNorm weight * x,
     1/sqrt(head_dim) attention, q/k/v/o biases, SwiGLU MLP, untied lm_head) on the EXPORTED
     float32 safetensors, read with the parser below (the safetensors library is not packaged);
  3. compares the logits on random token ids: max |a - b| / max |a| must be <= 1e-5 (it also
     prints the largest elementwise relative difference over logits with |a| > 0.1 max |a|, and
     the same comparison with both passes run in float64, where only the float32 rounding of the
     exported weights remains);
  4. checks that every exported bfloat16 tensor is bit for bit the exported float32 tensor
     rounded by torch (.to(torch.bfloat16), round to nearest even), and that the two models have
     the same tensors and config.json apart from torch_dtype.
Exit status 1 if any check fails.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TD = os.path.join(ROOT, "testdata")

CASES = [  # (label, fixture with config.json and universal fp32 weights, export input, --layout)
    ("llama universal", "wesar-llama/checkpoint-30", "wesar-llama/checkpoint-30", "universal"),
    ("llama zero-2 shards", "wesar-llama/checkpoint-30", "wesar-llama/checkpoint-30", "zero"),
    ("llama safetensors", "wesar-llama/checkpoint-30", "wesar-llama-st", ""),
    ("gemma universal", "wesar-gemma/checkpoint-30", "wesar-gemma/checkpoint-30", "universal"),
]

# ---------------------------------------------------------------------------
# safetensors, parsed from the format's specification


def read_safetensors(path):
    """{name: torch tensor} of a safetensors file (F32 and BF16 only), and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        lo, hi = e["data_offsets"]
        raw = data[base + lo:base + hi]
        shape = e["shape"]
        if e["dtype"] == "F32":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        elif e["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            raise ValueError(f"{path}: {name}: dtype {e['dtype']}")
        assert t.numel() == int(np.prod(shape, dtype=np.int64)), (name, shape)
        out[name] = t.reshape(shape)
    return out, meta


def read_model(folder):
    """All tensors of an exported model folder (single file or shards with index)."""
    idx = os.path.join(folder, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for fn in files:
        t, meta = read_safetensors(os.path.join(folder, fn))
        assert meta.get("format") == "pt", (fn, meta)
        tensors.update(t)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    return tensors, cfg


# ---------------------------------------------------------------------------
# shared pieces


def rope(q, k, theta, head_dim, seq):
    """Rotary embedding as both modelling codes apply it (rotate_half form), in q's dtype."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(q.dtype) / head_dim))
    t = torch.arange(seq, dtype=torch.int64).to(q.dtype)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]

    def rot(x):
        x1, x2 = x[..., :x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    return q * cos + rot(q) * sin, k * cos + rot(k) * sin


def repeat_kv(x, n):
    b, h, s, d = x.shape
    return x if n == 1 else x[:, :, None].expand(b, h, n, s, d).reshape(b, h * n, s, d)


def causal_softmax(scores):
    s = scores.shape[-1]
    mask = torch.full((s, s), torch.finfo(scores.dtype).min, dtype=scores.dtype).triu(1)
    return torch.softmax(scores + mask, dim=-1)


def linear(x, w, b=None):
    y = x @ w.t()
    return y if b is None else y + b


# ---------------------------------------------------------------------------
# YuLan-Mini, from pretrain/modeling_yulanmini.py (eager path)


def yulan_rmsnorm(x, w, eps, rms_type):
    # the modelling code computes in float32; here in the dtype of the pass (float32 or float64)
    var = x.square().mean(-1, keepdim=True)
    h = x * torch.rsqrt(var + eps)
    return h * (w + (1.0 if rms_type == "gemma" else 0.0))


def yulan_forward(W, cfg, ids):
    H, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = H // nh
    c = cfg.get("ln_scale", 1.0)
    shrink = cfg.get("hidden_states_shrink", 1)
    if shrink == "muparam":
        shrink = 1 / math.sqrt(L)
    A = cfg.get("dim_model_base_attn") or d
    B = cfg.get("dim_model_base_logits") or H
    eps, rt = cfg["rms_norm_eps"], cfg.get("rms_type", "llama")
    a = lambda name: W.get(name, 1.0)  # noqa: E731 (absent factor: 1)
    bsz, seq = ids.shape
    h = W["model.embed_tokens.weight"][ids] * cfg.get("scale_emb", 1)
    h = h * 1  # embed_tokens_alpha is the constant 1
    for i in range(L):
        p = f"model.layers.{i}."
        res = h
        x = yulan_rmsnorm(h, W[p + "input_layernorm.weight"], eps, rt) * c * a(p + "input_layernorm_alpha")
        q = linear(x, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias")) * a(p + "self_attn.q_proj_alpha")
        k = linear(x, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias")) * a(p + "self_attn.k_proj_alpha")
        v = linear(x, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias")) * a(p + "self_attn.v_proj_alpha")
        q = q.view(bsz, seq, nh, d).transpose(1, 2)
        k = k.view(bsz, seq, nkv, d).transpose(1, 2)
        v = v.view(bsz, seq, nkv, d).transpose(1, 2)
        q, k = rope(q, k, cfg["rope_theta"], d, seq)
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        att = causal_softmax(q @ k.transpose(2, 3) * math.sqrt(A) / d)
        o = (att @ v).transpose(1, 2).reshape(bsz, seq, H)
        o = a(p + "self_attn.o_proj_alpha") * linear(o, W[p + "self_attn.o_proj.weight"])
        if 0 <= shrink < 1:
            o = o * shrink
        h = res + o
        res = h
        x = yulan_rmsnorm(h, W[p + "post_attention_layernorm.weight"], eps, rt) * c * a(p + "post_attention_layernorm_alpha")
        x = x * a(p + "gate_up_proj_alpha")
        m = linear(torch.nn.functional.silu(linear(x, W[p + "mlp.gate_proj.weight"])) * linear(x, W[p + "mlp.up_proj.weight"]),
                   W[p + "mlp.down_proj.weight"])
        m = m * a(p + "down_proj_alpha")
        if 0 <= shrink < 1:
            m = m * shrink
        h = res + m
    h = yulan_rmsnorm(h, W["model.norm.weight"], eps, rt) * c * a("model.norm_alpha")
    if B != H:
        h = h / (H / B)
    h = h * a("lm_head_alpha")
    return linear(h, W["lm_head.weight"])


# ---------------------------------------------------------------------------
# Hugging Face Llama (LlamaForCausalLM), plain torch


def llama_rmsnorm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def llama_forward(W, cfg, ids):
    H, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim", H // nh)
    eps = cfg["rms_norm_eps"]
    bsz, seq = ids.shape
    h = W["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}.self_attn."
        x = llama_rmsnorm(h, W[f"model.layers.{i}.input_layernorm.weight"], eps)
        q = linear(x, W[p + "q_proj.weight"], W[p + "q_proj.bias"]).view(bsz, seq, nh, d).transpose(1, 2)
        k = linear(x, W[p + "k_proj.weight"], W[p + "k_proj.bias"]).view(bsz, seq, nkv, d).transpose(1, 2)
        v = linear(x, W[p + "v_proj.weight"], W[p + "v_proj.bias"]).view(bsz, seq, nkv, d).transpose(1, 2)
        q, k = rope(q, k, cfg["rope_theta"], d, seq)
        k, v = repeat_kv(k, nh // nkv), repeat_kv(v, nh // nkv)
        att = causal_softmax(q @ k.transpose(2, 3) * d ** -0.5)
        o = (att @ v).transpose(1, 2).reshape(bsz, seq, nh * d)
        h = h + linear(o, W[p + "o_proj.weight"], W[p + "o_proj.bias"])
        m = f"model.layers.{i}.mlp."
        x = llama_rmsnorm(h, W[f"model.layers.{i}.post_attention_layernorm.weight"], eps)
        h = h + linear(torch.nn.functional.silu(linear(x, W[m + "gate_proj.weight"])) * linear(x, W[m + "up_proj.weight"]),
                       W[m + "down_proj.weight"])
    h = llama_rmsnorm(h, W["model.norm.weight"], eps)
    return linear(h, W["lm_head.weight"])


# ---------------------------------------------------------------------------


def original_weights(ck):
    """The fp32 master weights of a universal checkpoint, by parameter name."""
    with open(os.path.join(ck, "latest_universal")) as f:
        tag = f.read().strip()
    zdir = os.path.join(ck, tag, "zero")
    W = {}
    for name in sorted(os.listdir(zdir)):
        p = os.path.join(zdir, name, "fp32.pt")
        if os.path.exists(p):
            W[name] = torch.load(p)["param"].float()
    return W


def export(tool, src, lay, dtype, out):
    cmd = [tool, "export", "--to", "llama", "--dtype", dtype, src, out]
    if lay:
        cmd += ["--layout", lay]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", required=True, help="the ckptinspect binary")
    ap.add_argument("--tokens", type=int, default=24, help="sequence length")
    ap.add_argument("--batch", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    failed = False
    for label, fixture, src, lay in CASES:
        ck = os.path.join(TD, fixture)
        with open(os.path.join(ck, "config.json")) as f:
            cfg = json.load(f)
        W = original_weights(ck)
        ids = torch.randint(0, cfg["vocab_size"], (a.batch, a.tokens))
        with tempfile.TemporaryDirectory() as tmp:
            f32_dir, bf16_dir = os.path.join(tmp, "f32"), os.path.join(tmp, "bf16")
            export(a.tool, os.path.join(TD, src), lay, "float32", f32_dir)
            export(a.tool, os.path.join(TD, src), lay, "bfloat16", bf16_dir)
            E32, cfg32 = read_model(f32_dir)
            E16, cfg16 = read_model(bf16_dir)
        with torch.no_grad():
            ref = yulan_forward(W, cfg, ids)
            got = llama_forward(E32, cfg32, ids)
            # the same two passes in float64 (weights widened): what is left is the float32 rounding of
            # the folded weights, not the arithmetic of the passes
            ref64 = yulan_forward({k: v.double() for k, v in W.items()}, cfg, ids)
            got64 = llama_forward({k: v.double() for k, v in E32.items()}, cfg32, ids)
        scale = ref.abs().max().item()
        normwise = (ref - got).abs().max().item() / scale
        big = ref.abs() > 0.1 * scale
        elementwise = ((ref - got).abs() / ref.abs())[big].max().item()
        normwise64 = (ref64 - got64).abs().max().item() / ref64.abs().max().item()
        noise = (ref - ref64.float()).abs().max().item() / scale
        ok = normwise <= 1e-5
        # bf16 = float32 rounded by torch, bit for bit; same tensors, same config but torch_dtype
        bad16 = [n for n in E32 if n not in E16 or not torch.equal(E32[n].to(torch.bfloat16).view(torch.int16),
                                                                     E16[n].view(torch.int16))]
        bad16 += [n for n in E16 if n not in E32]
        same_cfg = {k: v for k, v in cfg32.items() if k != "torch_dtype"} == {k: v for k, v in cfg16.items() if k != "torch_dtype"}
        ok16 = not bad16 and same_cfg and cfg32["torch_dtype"] == "float32" and cfg16["torch_dtype"] == "bfloat16"
        nparams = sum(t.numel() for t in E32.values())
        print(f"{label}: rms_type {cfg.get('rms_type')}, logits {tuple(ref.shape)}, max|yulan| {scale:.4g}\n"
              f"  float32 passes: max|diff|/max|yulan| {normwise:.2e} (limit 1e-5: {'OK' if ok else 'FAIL'}), "
              f"largest elementwise relative difference where |yulan| > 0.1 max {elementwise:.2e}\n"
              f"  float64 passes: max|diff|/max|yulan| {normwise64:.2e}; float32 rounding noise of the YuLan pass itself "
              f"{noise:.2e}\n"
              f"  bfloat16 export == float32 export rounded by torch, bit for bit, {len(E16)} tensors ({nparams} values), "
              f"same config but torch_dtype: {'OK' if ok16 else 'FAIL ' + str(bad16[:3])}")
        failed |= not (ok and ok16)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
