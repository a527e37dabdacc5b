"""Writes a training run of universal checkpoints with known AdamW steps between them, and the
PyTorch float64 goldens of every row of `ckptinspect series` over it.

Usage (from the repository root):

  /usr/bin/python3 testdata/gen/gen_series.py --out testdata/series --golden testdata/series.golden.json

What it does:
  1. writes OUT/checkpoint-<S0>/ with gen_universal.py (a YuLan-Mini-shaped model with WeSaR
     scale factors; the size options below);
  2. for each further step S of --steps, runs S - S_prev steps of torch.optim.AdamW's update from
     the previous checkpoint (gen_drift.train: float32, decoupled weight decay, the run's betas /
     eps / warmup schedule, synthetic gradients; lm_head_alpha frozen) and writes
     OUT/checkpoint-<S>/ with gen_universal.py;
  3. in the last checkpoint, makes one fp32 element of model.layers.1.self_attn.v_proj.bias NaN
     (so its bf16 copy is NaN too) and one exp_avg element of the same parameter +Inf, as a
     diverging run would;
  4. with --golden, reads every checkpoint back with torch.load and writes, per checkpoint,
     parameter and state (fp32, exp_avg, exp_avg_sq from the universal files; bf16 from the model
     states' module), the statistics in float64 (tdlib.tensor_stats), on fp32 rows the AdamW update
     figures, and the change of the fp32 weight from the previous checkpoint:

  {"checkpoints": [{"path", "step"}],
   "rows": [{"step", "param", "state", "numel", "finite", "nan", "inf", "zeros", "l2", "rms", "mean",
             "std", "min", "max", "absmax", "update_rms", "update_to_weight", "delta_l2",
             "rel_change", "cosine"}]}

  update_rms = sqrt(mean of u^2) over the elements where u = m_hat / (sqrt(v_hat) + eps) is
  finite (m_hat = exp_avg / (1 - b1^t), v_hat = exp_avg_sq / (1 - b2^t), t the step);
  update_to_weight = lr * update_rms / rms(fp32), lr the param group's at that step;
  delta_l2 = sqrt(sum (w - w_prev)^2), rel_change = delta_l2 / sqrt(sum w_prev^2), cosine =
  sum w * w_prev / (|w| |w_prev|), over the pairs where both are finite (gen_drift.pair);
  null where undefined (no finite element, first checkpoint, non-fp32 rows).
"""

import argparse
import json
import math
import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import gen_drift as gd  # noqa: E402
import gen_universal as gu  # noqa: E402
import tdlib  # noqa: E402

SIZE = ["--layers", "3", "--hidden", "16", "--intermediate", "32", "--vocab", "32", "--tp-pad-vocab", "0",
        "--heads", "2", "--kv-heads", "1", "--step-format", "tensor", "--dp", "1", "--seed", "7",
        "--warmup", "25", "--lr", "0.0003"]
DIVERGE = "model.layers.1.self_attn.v_proj.bias"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="writes OUT/checkpoint-<step>/ for every step")
    p.add_argument("--steps", default="10,20,30,45,60", help="the checkpoints' steps, increasing")
    p.add_argument("--golden", help="write the golden JSON here")
    p.add_argument("--layers", type=int, default=3, help="decoder layers (the bundled run has 3)")
    a = p.parse_args(argv)
    i = SIZE.index("--layers")
    SIZE[i + 1] = str(a.layers)
    return a


def write(step, out, trained=None):
    """Writes checkpoint-<step> with gen_universal, from trained arrays when given."""
    fp32, moments = cm.gen_fp32, cm.gen_moments
    if trained is not None:
        cm.gen_fp32 = lambda seed, name, shape, kind, layers, vocab=None: trained[name][0]
        cm.gen_moments = lambda seed, name, shape, kind, vocab=None: trained[name][1:]
    try:
        gu.main(SIZE + ["--step", str(step), "--out", out])
    finally:
        cm.gen_fp32, cm.gen_moments = fp32, moments
    return os.path.join(out, f"checkpoint-{step}")


def adam(w, m, v, t, lr, b1, b2, eps):
    """update_rms and update_to_weight in float64 over the finite updates."""
    m = m.double().reshape(-1)
    v = v.double().reshape(-1)
    u = (m / (1 - b1 ** t)) / (torch.sqrt(v / (1 - b2 ** t)) + eps)
    u = u[torch.isfinite(u)]
    if u.numel() == 0:
        return None, None
    urms = math.sqrt(float(torch.sum(u * u)) / u.numel())
    ww = w.double().reshape(-1)
    ww = ww[torch.isfinite(ww)]
    wrms = math.sqrt(float(torch.sum(ww * ww)) / ww.numel()) if ww.numel() else 0.0
    return urms, (lr * urms / wrms if wrms > 0 else None)


def golden(paths, specs, ua_of):
    rows, cks = [], []
    prev = None
    for path in paths:
        step, udir = gd.read_step(path)
        cks.append({"path": path, "step": step})
        ua = ua_of(step)
        lr = gu.current_lr(ua)
        b1, b2 = ua.betas
        module = torch.load(os.path.join(udir, "mp_rank_00_model_states.pt"))["module"]
        cur = {}
        for name, _, _, _ in specs:
            t = {q: gd.load_param(udir, name, q) for q in gd.STATES}
            t["bf16"] = module[name]
            cur[name] = t["fp32"]
            for q in ("fp32", "exp_avg", "exp_avg_sq", "bf16"):
                st = tdlib.tensor_stats(t[q])
                row = {"step": step, "param": name, "state": q, "numel": int(t[q].numel())}
                row.update({k: st[k] for k in ("finite", "nan", "inf", "zeros", "l2", "rms", "mean", "std",
                                                "min", "max", "absmax")})
                row.update({"update_rms": None, "update_to_weight": None,
                            "delta_l2": None, "rel_change": None, "cosine": None})
                if q == "fp32":
                    row["update_rms"], row["update_to_weight"] = adam(t["fp32"], t["exp_avg"], t["exp_avg_sq"],
                                                                      step, lr, b1, b2, ua.eps)
                    if prev is not None:
                        f = gd.figures(gd.pair(prev[name], t["fp32"]))
                        row["delta_l2"] = f["delta_l2"] if f["pairs"] else None
                        row["rel_change"], row["cosine"] = f["rel_change"], f["cosine"]
                rows.append(row)
        prev = cur
    return {"checkpoints": cks, "rows": rows}


def main(argv=None):
    a = parse_args(argv)
    steps = [int(s) for s in a.steps.split(",")]
    assert steps == sorted(steps) and len(set(steps)) == len(steps), steps

    def ua_of(step):
        return gu.parse_args(SIZE + ["--step", str(step), "--out", a.out])

    ua = ua_of(steps[0])
    specs = cm.param_specs(ua.layers, ua.hidden, ua.intermediate, ua.heads, ua.kv_heads, ua.vocab + ua.tp_pad_vocab)
    paths = [write(steps[0], a.out)]
    for i, step in enumerate(steps[1:], 1):
        drift = argparse.Namespace(steps=step - steps[i - 1], drift=1.0, drift_seed=11 + i, freeze=r"lm_head_alpha$")
        _, udir = gd.read_step(paths[-1])
        trained = gd.train(drift, ua_of(step), specs, udir, steps[i - 1])
        if i == len(steps) - 1:
            w, m, v = (np.array(x, copy=True) for x in trained[DIVERGE])
            w.reshape(-1)[3] = np.nan
            m.reshape(-1)[5] = np.inf
            trained[DIVERGE] = (w, m, v)
        paths.append(write(step, a.out, trained))
    if a.golden:
        write_golden(a.golden, golden(paths, specs, ua_of))
        print(f"golden: {a.golden}")


def write_golden(path, g):
    """JSON with one row per line (diffs stay readable, the file small)."""
    with open(path, "w") as f:
        f.write('{"checkpoints": %s,\n "rows": [\n' % json.dumps(g["checkpoints"]))
        f.write(",\n".join("  " + json.dumps(r, allow_nan=False) for r in g["rows"]))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
