"""Derives a later checkpoint B from a universal checkpoint A as training would, and writes the
PyTorch float64 goldens of `ckptinspect diff A B`.

Usage (from the repository root; the options after `--` are gen_universal.py's size options and
must be the ones A was made with, except --step and --out, which this script sets):

  /usr/bin/python3 testdata/gen/gen_drift.py --base testdata/universal-intstep/checkpoint-7 \\
      --steps 5 --drift 1.0 --drift-seed 3 --freeze 'lm_head_alpha$' \\
      --out testdata/drift --golden testdata/drift.golden.json -- \\
      --layers 1 --hidden 32 --intermediate 64 --vocab 64 --tp-pad-vocab 0 --heads 2 --kv-heads 1 \\
      --step-format int --dp 1 --seed 2

What it does:
  1. reads A's fp32 master weights and AdamW moments (zero/<param>/{fp32,exp_avg,exp_avg_sq}.pt; for
     vocabulary tensors the whole padded storage behind the saved view);
  2. runs --steps steps of torch.optim.AdamW's update (float32, decoupled weight decay on the decay
     group, the run's betas / eps / warmup schedule) with synthetic gradients
     g = drift * sqrt(exp_avg_sq of A) * (d + 0.5 * noise_t), d a fixed random direction per parameter:
     so rows whose moments are exactly 0 in A (unseen tokens, vocabulary padding) get no gradient;
     parameters matching --freeze are left exactly as they are in A (weights and moments);
  3. writes B = OUT/checkpoint-<step of A + steps>/ with gen_universal.py (same layout and files as
     A; bf16 module weights = B's fp32 rounded to bf16);
  4. with --golden, reads both checkpoints back with torch.load and writes, per parameter and per
     state (fp32, exp_avg, exp_avg_sq from the universal files; bf16 from the model states' module),
     the diff figures computed with torch in float64 over the pairs where both elements are finite:

  {"a": {"path", "step"}, "b": {"path", "step"},
   "params": [{"name", "shape", "fp32": PAIR, "exp_avg": PAIR, "exp_avg_sq": PAIR, "bf16": PAIR}],
   "summary": {"step_delta", "params_compared", "fp32": PAIR, "exp_avg": PAIR, "exp_avg_sq": PAIR,
               "bf16": PAIR}}
  PAIR = {"numel", "pairs", "skipped", "changed", "a_l2", "b_l2", "delta_l2", "max_abs_delta",
          "rel_change", "cosine", "norm_ratio"}

  pairs = elements where a and b are both finite; skipped = numel - pairs; changed = pairs with
  b != a; a_l2 = sqrt(sum a^2), b_l2 = sqrt(sum b^2), delta_l2 = sqrt(sum (b-a)^2) over the pairs;
  max_abs_delta = max |b-a| (null without pairs); rel_change = delta_l2 / a_l2, norm_ratio =
  b_l2 / a_l2 (null when a_l2 = 0); cosine = sum(a*b) / (a_l2 * b_l2) (null when a norm is 0).
  The summary's PAIRs add the sums of every parameter (numel, pairs, ... summed; the l2 figures
  are square roots of the summed squares).
"""

import argparse
import math
import os
import re
import sys
import zlib

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import gen_universal as gu  # noqa: E402
import tdlib  # noqa: E402

STATES = ("fp32", "exp_avg", "exp_avg_sq")


def parse_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="checkpoint A: a checkpoint-<N>/ folder written by gen_universal.py")
    p.add_argument("--steps", type=int, default=5, help="training steps from A to B")
    p.add_argument("--drift", type=float, default=1.0, help="gradient scale, in units of sqrt(exp_avg_sq of A)")
    p.add_argument("--drift-seed", type=int, default=3)
    p.add_argument("--freeze", default=None, help="parameters (regular expression) left unchanged")
    p.add_argument("--out", required=True, help="writes OUT/checkpoint-<N+steps>/")
    p.add_argument("--golden", help="write the diff golden JSON here")
    a = p.parse_args(argv)
    a.universal_args = rest
    return a


def read_step(ckpt):
    with open(os.path.join(ckpt, "latest_universal")) as f:
        tag = f.read().strip()
    m = re.fullmatch(r"global_step(\d+)_universal", tag)
    assert m, tag
    return int(m.group(1)), os.path.join(ckpt, tag)


def load_param(udir, name, state):
    return torch.load(os.path.join(udir, "zero", name, state + ".pt"))["param"]


def full_storage(t, shape):
    """The whole tensor behind a saved view (a vocabulary tensor drops padding rows)."""
    if tuple(t.shape) == tuple(shape):
        return t.clone()
    full = torch.empty(0, dtype=t.dtype).set_(t.storage(), 0, torch.Size(shape))
    assert torch.equal(full[:t.shape[0]], t)
    return full.clone()


def train(a, ua, specs, udir_a, step_a):
    """Runs a.steps AdamW steps from A; returns {name: (w, m, v)} as float32 numpy arrays."""
    b1, b2 = ua.betas
    frozen = re.compile(a.freeze) if a.freeze else None
    out = {}
    for name, shape, gi, kind in specs:
        w = full_storage(load_param(udir_a, name, "fp32"), shape)
        m = full_storage(load_param(udir_a, name, "exp_avg"), shape)
        v = full_storage(load_param(udir_a, name, "exp_avg_sq"), shape)
        g0 = torch.Generator().manual_seed(a.drift_seed * 1_000_003 + zlib.crc32(name.encode()))
        d = torch.randn(shape, generator=g0, dtype=torch.float32)
        scale = a.drift * v.sqrt()
        wd = ua.weight_decay if gi == cm.DECAY else 0.0
        steps = 0 if frozen is not None and frozen.search(name) else a.steps
        for t in range(step_a + 1, step_a + steps + 1):
            lr = ua.lr * min(1.0, t / ua.warmup) if ua.warmup > 0 else ua.lr
            g = scale * (d + 0.5 * torch.randn(shape, generator=g0, dtype=torch.float32))
            # torch.optim.AdamW, single-tensor path (float32)
            w.mul_(1 - lr * wd)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
            denom = (v.sqrt() / math.sqrt(bc2)).add_(ua.eps)
            w.addcdiv_(m, denom, value=-lr / bc1)
        out[name] = (w.numpy(), m.numpy(), v.numpy())
    return out


def pair(a, b):
    """The diff figures of two tensors, in float64 (torch), over the finite pairs."""
    a = a.detach().double().reshape(-1)
    b = b.detach().double().reshape(-1)
    ok = torch.isfinite(a) & torch.isfinite(b)
    x, y = a[ok], b[ok]
    d = y - x
    sums = {"numel": a.numel(), "pairs": int(ok.sum()), "changed": int((d != 0).sum()),
            "aa": float(torch.sum(x * x)), "bb": float(torch.sum(y * y)), "ab": float(torch.sum(x * y)),
            "dd": float(torch.sum(d * d)), "max": float(d.abs().max()) if d.numel() else None}
    return sums


def merge(acc, s):
    if acc is None:
        return dict(s)
    out = dict(acc)
    for k in ("numel", "pairs", "changed", "aa", "bb", "ab", "dd"):
        out[k] += s[k]
    if s["max"] is not None:
        out["max"] = s["max"] if out["max"] is None else max(out["max"], s["max"])
    return out


def figures(s):
    aa, bb = s["aa"], s["bb"]
    na, nb = math.sqrt(aa), math.sqrt(bb)
    return {"numel": s["numel"], "pairs": s["pairs"], "skipped": s["numel"] - s["pairs"], "changed": s["changed"],
            "a_l2": na, "b_l2": nb, "delta_l2": math.sqrt(s["dd"]), "max_abs_delta": s["max"],
            "rel_change": math.sqrt(s["dd"]) / na if na > 0 else None,
            "cosine": s["ab"] / (na * nb) if na > 0 and nb > 0 else None,
            "norm_ratio": nb / na if na > 0 else None}


def golden(path_a, path_b, specs):
    step_a, udir_a = read_step(path_a)
    step_b, udir_b = read_step(path_b)
    mod_a = torch.load(os.path.join(udir_a, "mp_rank_00_model_states.pt"))["module"]
    mod_b = torch.load(os.path.join(udir_b, "mp_rank_00_model_states.pt"))["module"]
    params, totals = [], {}
    for name, _, _, _ in specs:
        rec = {"name": name}
        for q in STATES + ("bf16",):
            if q == "bf16":
                ta, tb = mod_a[name], mod_b[name]
            else:
                ta, tb = load_param(udir_a, name, q), load_param(udir_b, name, q)
            assert ta.shape == tb.shape, (name, q)
            if q == "fp32":
                rec["shape"] = list(ta.shape)
            s = pair(ta, tb)
            totals[q] = merge(totals.get(q), s)
            rec[q] = figures(s)
        params.append(rec)
    summary = {"step_delta": step_b - step_a, "params_compared": len(params)}
    for q in STATES + ("bf16",):
        summary[q] = figures(totals[q])
    return {"a": {"path": path_a, "step": step_a}, "b": {"path": path_b, "step": step_b},
            "params": params, "summary": summary}


def main(argv=None):
    a = parse_args(argv)
    step_a, udir_a = read_step(a.base)
    step_b = step_a + a.steps
    ua = gu.parse_args(a.universal_args + ["--step", str(step_b), "--out", a.out])
    specs = cm.param_specs(ua.layers, ua.hidden, ua.intermediate, ua.heads, ua.kv_heads,
                           ua.vocab + ua.tp_pad_vocab)
    trained = train(a, ua, specs, udir_a, step_a)

    # gen_universal draws values from these two functions: hand it B's instead.
    cm.gen_fp32 = lambda seed, name, shape, kind, layers, vocab=None: trained[name][0]
    cm.gen_moments = lambda seed, name, shape, kind, vocab=None: trained[name][1:]
    gu.main(a.universal_args + ["--step", str(step_b), "--out", a.out])

    if a.golden:
        path_b = os.path.join(a.out, f"checkpoint-{step_b}")
        tdlib.write_json(a.golden, golden(a.base, path_b, specs))
        print(f"golden: {a.golden}")


if __name__ == "__main__":
    main()
