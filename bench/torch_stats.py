"""The PyTorch way of computing what `ckptinspect stats` computes, for the benchmark.

Usage: /usr/bin/python3 bench/torch_stats.py CHECKPOINT [--json OUT] [--float64]

CHECKPOINT is a Hugging Face Trainer folder holding a DeepSpeed universal
checkpoint (checkpoint-N/, read through its latest_universal file) or the
universal folder itself (global_stepN_universal/). The script does what one
would write with PyTorch: torch.load every state file, then for every
parameter

  - norm, mean, std, min and max of the fp32 master weight, exp_avg,
    exp_avg_sq (zero/<param>/*.pt) and the bf16 module weight
    (mp_rank_00_model_states.pt), each in its own dtype (--float64: in
    float64, as ckptinspect does);
  - the AdamW update u = m̂ / (sqrt(v̂) + eps) with the step and the
    parameter group's betas, eps and lr: RMS(u) and lr·RMS(u)/RMS(weight).

It prints the totals and its wall time; --json writes the per-parameter
figures. DeepSpeed classes in the pickles are resolved with the repository's
stand-ins (testdata/gen/dsfake.py) when DeepSpeed is not installed.
"""

import argparse
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import deepspeed  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "testdata", "gen"))
    import dsfake  # noqa: F401,E402


def universal_dir(path):
    latest = os.path.join(path, "latest_universal")
    if os.path.exists(latest):
        with open(latest) as f:
            return os.path.join(path, f.read().strip())
    return path


def stats(x, f64):
    if f64:
        x = x.double()
    return {"norm": x.norm().item(), "mean": x.mean().item(), "std": x.std(unbiased=False).item(),
            "min": x.min().item(), "max": x.max().item()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--json", help="write the per-parameter figures here")
    p.add_argument("--float64", action="store_true", help="compute in float64")
    a = p.parse_args()

    t0 = time.time()
    u = universal_dir(a.checkpoint)
    ms = torch.load(os.path.join(u, "mp_rank_00_model_states.pt"), map_location="cpu")
    module = ms["module"]
    osd = torch.load(os.path.join(u, "zero", "optimizer_state.pt"), map_location="cpu")
    groups = osd.get("param_groups") or osd["optimizer_state_dict"]["param_groups"]
    out = []
    nbytes = 0
    sq = {"fp32": 0.0, "exp_avg": 0.0, "exp_avg_sq": 0.0, "bf16": 0.0}
    for gi, shapes in enumerate(ms["param_shapes"]):
        g = groups[gi]
        b1, b2 = g["betas"]
        for name in shapes:
            d = os.path.join(u, "zero", name)
            states = {}
            for s in ("fp32", "exp_avg", "exp_avg_sq"):
                states[s] = torch.load(os.path.join(d, s + ".pt"), map_location="cpu")["param"]
            states["bf16"] = module[name]
            step = torch.load(os.path.join(d, "step.pt"), map_location="cpu")
            step = int(step.item() if torch.is_tensor(step) else step)
            r = {"name": name, "numel": states["fp32"].numel()}
            for s, x in states.items():
                nbytes += x.numel() * x.element_size()
                r[s] = stats(x, a.float64)
                sq[s] += r[s]["norm"] ** 2
            m, v, w = states["exp_avg"], states["exp_avg_sq"], states["fp32"]
            if a.float64:
                m, v, w = m.double(), v.double(), w.double()
            c1, c2 = 1 - b1 ** step, 1 - b2 ** step
            upd = (m / c1) / ((v / c2).sqrt() + g["eps"])
            rms = upd.pow(2).mean().sqrt().item()
            wrms = w.pow(2).mean().sqrt().item()
            r["adam"] = {"update_rms": rms, "update_to_weight": g["lr"] * rms / wrms if wrms > 0 else None}
            out.append(r)
    wall = time.time() - t0
    print(f"{len(out)} parameters, {nbytes / 1e9:.2f} GB of tensors, {wall:.2f} s "
          f"({nbytes / wall / 1e9:.3f} GB/s, {torch.get_num_threads()} threads, torch {torch.__version__})")
    print("global norms: " + ", ".join(f"{k} {math.sqrt(v):.6g}" for k, v in sq.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"params": out, "wall_seconds": wall}, f)


if __name__ == "__main__":
    main()
