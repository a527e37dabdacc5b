"""Writes benchmark-size YuLan-Mini-shaped checkpoints, one tensor at a time, with torch.save.

Usage (from the repository root; needs Debian's python3-torch):

  /usr/bin/python3 bench/gen_ckpt.py --preset full  --out /work/bench-data/full
  /usr/bin/python3 bench/gen_ckpt.py --preset full  --out /work/bench-data/full --after 3
  /usr/bin/python3 bench/gen_ckpt.py --preset small --out /tmp/ckptbench/small [--after 3]
  /usr/bin/python3 bench/gen_ckpt.py --preset one   --out /tmp/ckptbench/one   [--after 3]
  /usr/bin/python3 bench/gen_ckpt.py --layers L --hidden H ... --out DIR        (any size)

Presets (the three checkpoints of issue 14; YuLan-Mini: 30 heads, 6 KV heads, WeSaR alphas,
bf16 module weights, step 2000):

  full   56 layers, hidden 1920, intermediate 4800, vocab 99000: 1,125 parameters, 4,508 files,
         about 34 GB (2.4 billion parameters x (3 x fp32 + bf16))
  small  the same 56 layers at a small width (hidden 60, intermediate 288, vocab 3000): the same
         1,125 parameters and 4,508 files, about 57 MB; opening dominates
  one    1 layer, hidden 1920, intermediate 4800, vocab 9000: 25 parameters, 108 files, 0.9 GB
         (the checkpoint of the README's Performance method)

It writes OUT/checkpoint-<step>/ in the layout of testdata/gen/gen_universal.py (a Hugging Face
Trainer folder holding a DeepSpeed universal checkpoint: config.json, trainer_state.json, latest,
latest_universal, rng_state_<r>.pth, global_step<N>_universal/mp_rank_00_model_states.pt,
zero/optimizer_state.pt, zero/<param>/{fp32,exp_avg,exp_avg_sq,step}.pt), reusing its config,
Trainer state and DeepSpeed structures, so every file is a real torch.save zip file.

--after K writes instead the checkpoint K AdamW-like steps later (OUT/checkpoint-<step+K>/): the
same values, recomputed, then K steps of AdamW (float32, the run's betas, eps, lr and decoupled
weight decay on the decay group) with synthetic gradients; rows whose moments are 0 (unseen
tokens) get no gradient. That is the second checkpoint of a `ckptinspect diff` benchmark.

Memory stays bounded whatever the size: values are drawn in chunks of 4Mi elements from one numpy
generator per (seed, parameter, quantity, chunk), so nothing depends on the chunking of the
write. Tensors up to 64 MiB are built in memory and saved; larger ones (the embedding and
lm_head at full size) are written chunk by chunk to a scratch file next to their destination
and saved from a file-backed torch.from_file tensor; the bf16 module weights (one flat buffer
per parameter group, as ZeRO-1/2 leaves them, 4.9 GB at full size) are written into scratch
files as each parameter is made, and mp_rank_00_model_states.pt is saved from views of
file-backed tensors at the end. Scratch files are removed as soon as their file is written.
The values are not those of gen_universal.py (which draws a whole tensor at once), and no golden
is written: check results against PyTorch with bench/torch_stats.py.
"""

import argparse
import json
import math
import os
import sys
import time
import zlib
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "testdata", "gen")
sys.path.insert(0, GEN)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import dsfake  # noqa: E402
import gen_universal as gu  # noqa: E402

CHUNK = 1 << 22  # elements drawn at a time
BIG = 64 << 20  # tensors larger than this (bytes of float32) go through a scratch file

PRESETS = {
    "full": dict(layers=56, hidden=1920, intermediate=4800, vocab=99000, heads=30, kv_heads=6),
    "small": dict(layers=56, hidden=60, intermediate=288, vocab=3000, heads=30, kv_heads=6),
    "one": dict(layers=1, hidden=1920, intermediate=4800, vocab=9000, heads=30, kv_heads=6),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), help="one of the three checkpoints of issue 14")
    p.add_argument("--layers", type=int)
    p.add_argument("--hidden", type=int)
    p.add_argument("--intermediate", type=int)
    p.add_argument("--vocab", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--step", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dp", type=int, default=2, help="data-parallel world size (rng_state files, group padding)")
    p.add_argument("--after", type=int, default=0, help="write the checkpoint this many AdamW steps later")
    p.add_argument("--out", required=True, help="writes OUT/checkpoint-<step>/")
    a = p.parse_args(argv)
    base = dict(PRESETS[a.preset]) if a.preset else {}
    for k in ("layers", "hidden", "intermediate", "vocab", "heads", "kv_heads"):
        if getattr(a, k) is not None:
            base[k] = getattr(a, k)
        if k not in base:
            p.error(f"--{k.replace('_', '-')} (or --preset) is required")
    if base["hidden"] % base["heads"] or base["heads"] % base["kv_heads"]:
        p.error("hidden must be a multiple of heads, heads of kv-heads")
    # The structures of gen_universal.py (config, Trainer state, model states) read its options.
    g = gu.parse_args(["--out", a.out, "--layers", str(base["layers"]), "--hidden", str(base["hidden"]),
                       "--intermediate", str(base["intermediate"]), "--vocab", str(base["vocab"]),
                       "--tp-pad-vocab", "0", "--heads", str(base["heads"]), "--kv-heads", str(base["kv_heads"]),
                       "--step", str(a.step + a.after), "--step-format", "tensor", "--seed", str(a.seed),
                       "--dp", str(a.dp)])
    return a, g


def rng(seed, name, what, i=0):
    return np.random.Generator(np.random.PCG64([seed, zlib.crc32(name.encode()), zlib.crc32(what.encode()), i]))


class Param:
    """One parameter's values, drawn chunk by chunk: the fp32 weight and the AdamW moments at the
    base step, optionally advanced by `after` steps."""

    def __init__(self, a, g, name, shape, group, kind):
        self.a, self.g = a, g
        self.name, self.shape, self.group, self.kind = name, shape, group, kind
        self.n = cm.numel(shape)
        r = rng(a.seed, name, "scale")
        lo, hi = (1e-3, 1e-2) if kind == "alpha" else (1e-4, 1e-3)
        self.gscale = math.exp(r.uniform(math.log(lo), math.log(hi)))  # gradient scale
        self.dead = None
        if kind == "embed":  # embedding rows of tokens never seen: both moments exactly 0
            self.dead = rng(a.seed, name, "dead").random(shape[0]) < 0.02

    def chunk(self, c):
        """(w, m, v) float32 for elements [c*CHUNK, min(n, (c+1)*CHUNK))."""
        a, name, kind = self.a, self.name, self.kind
        lo = c * CHUNK
        k = min(self.n, lo + CHUNK) - lo
        r = rng(a.seed, name, "fp32", c)
        if kind == "alpha":
            w = r.uniform(0.5, 3.0, size=k).astype(np.float32)
        elif kind == "norm":
            w = (1.0 + 0.05 * r.standard_normal(k, dtype=np.float32)).astype(np.float32)
        else:
            std = {"bias": 0.01, "linear_out": 0.02 / math.sqrt(2 * max(self.g.layers, 1))}.get(kind, 0.02)
            w = (std * r.standard_normal(k, dtype=np.float32)).astype(np.float32)
            w[r.random(k) < (0.02 if kind == "bias" else 1e-6)] = 0.0  # a few exact zeros
        r = rng(a.seed, name, "moments", c)
        v = ((self.gscale ** 2) * r.lognormal(0.0, 1.2, size=k)).astype(np.float32)
        m = (np.sqrt(v) * (0.15 * r.standard_normal(k, dtype=np.float32))).astype(np.float32)
        dead = self.dead_mask(lo, k)
        if dead is not None:
            m[dead] = 0.0
            v[dead] = 0.0
        for s in range(1, a.after + 1):
            w, m, v = self.adamw(w, m, v, c, s, dead)
        return w, m, v

    def dead_mask(self, lo, k):
        if self.dead is None:
            return None
        rows = (lo + np.arange(k, dtype=np.int64)) // self.shape[1]
        return self.dead[rows]

    def adamw(self, w, m, v, c, s, dead):
        """One step of torch.optim.AdamW's update in float32 with a synthetic gradient."""
        g = self.g
        t = g.step - self.a.after + s  # the step this update makes
        b1, b2 = g.betas
        lr = g.lr * min(1.0, t / g.warmup) if g.warmup > 0 else g.lr
        wd = g.weight_decay if self.group == cm.DECAY else 0.0
        grad = (self.gscale * rng(self.a.seed, self.name, "grad", c * 1000 + s).standard_normal(
            len(w), dtype=np.float32)).astype(np.float32)
        if dead is not None:
            grad[dead] = 0.0
        w = (w * np.float32(1 - lr * wd)).astype(np.float32)
        m = (np.float32(b1) * m + np.float32(1 - b1) * grad).astype(np.float32)
        v = (np.float32(b2) * v + np.float32(1 - b2) * grad * grad).astype(np.float32)
        mh = m / np.float32(1 - b1 ** t)
        vh = v / np.float32(1 - b2 ** t)
        w = (w - np.float32(lr) * mh / (np.sqrt(vh) + np.float32(g.eps))).astype(np.float32)
        return w, m, v


class Sink:
    """Where one state of one parameter goes: an in-memory array, or a scratch file."""

    def __init__(self, path, n):
        self.path, self.n = path, n
        self.big = 4 * n > BIG
        if self.big:
            self.tmp = path + ".scratch"
            self.f = open(self.tmp, "wb")
        else:
            self.parts = []

    def add(self, x):
        if self.big:
            self.f.write(x.tobytes())
        else:
            self.parts.append(x)

    def tensor(self, shape):
        if self.big:
            self.f.close()
            t = torch.from_file(self.tmp, shared=False, size=self.n, dtype=torch.float32)
        else:
            t = torch.from_numpy(np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32))
        return t.view(shape)

    def done(self):
        if self.big:
            os.unlink(self.tmp)


def main(argv=None):
    a, g = parse_args(argv)
    t0 = time.time()
    specs = cm.param_specs(g.layers, g.hidden, g.intermediate, g.heads, g.kv_heads, g.vocab)
    groups = [[s for s in specs if s[2] == gi] for gi in (cm.DECAY, cm.NO_DECAY)]
    micro_batch, grad_accum = 4, 2
    ck = os.path.join(a.out, f"checkpoint-{g.step}")
    tag = f"global_step{g.step}"
    udir = os.path.join(ck, tag + "_universal")
    zdir = os.path.join(udir, "zero")
    os.makedirs(zdir, exist_ok=True)
    total = sum(cm.numel(s[1]) for s in specs)
    print(f"writing {ck}: {len(specs)} params, {total:,} elements, step {g.step}"
          + (f" ({a.after} steps after {a.step})" if a.after else ""), flush=True)

    with open(os.path.join(ck, "config.json"), "w") as f:
        json.dump(gu.yulan_config(g), f, indent=2)
        f.write("\n")
    with open(os.path.join(ck, "trainer_state.json"), "w") as f:
        json.dump(gu.trainer_state(g, micro_batch, grad_accum), f, indent=2)
        f.write("\n")
    for name, text in (("latest", tag), ("latest_universal", tag + "_universal")):
        with open(os.path.join(ck, name), "w") as f:
            f.write(text)
    for r in range(g.dp):
        torch.save(gu.rng_state(g, r), os.path.join(ck, f"rng_state_{r}.pth"))

    # bf16 module weights: one flat buffer per group (ZeRO-1/2 layout), in scratch files.
    gsize = [cm.aligned_size(sum(cm.numel(s[1]) for s in grp), g.dp) for grp in groups]
    flat_paths = [os.path.join(udir, f"bf16_group{gi}.scratch") for gi in range(len(groups))]
    flat_fds = []
    for path, n in zip(flat_paths, gsize):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(fd, 2 * n)  # the alignment padding stays zero
        flat_fds.append(fd)
    where = {}
    for gi, grp in enumerate(groups):
        off = 0
        for s in grp:
            where[s[0]] = (gi, off)
            off += cm.numel(s[1])

    step_obj = cm.step_value(g.step, "tensor")
    written = 0
    for i, (name, shape, gi, kind) in enumerate(specs):
        p = Param(a, g, name, shape, gi, kind)
        pdir = os.path.join(zdir, name)
        os.makedirs(pdir, exist_ok=True)
        sinks = [Sink(os.path.join(pdir, q + ".pt"), p.n) for q in ("fp32", "exp_avg", "exp_avg_sq")]
        fg, off = where[name]
        for c in range((p.n + CHUNK - 1) // CHUNK):
            w, m, v = p.chunk(c)
            for s, x in zip(sinks, (w, m, v)):
                s.add(x)
            bf = torch.from_numpy(w).to(torch.bfloat16).view(torch.int16).numpy()
            os.pwrite(flat_fds[fg], bf.tobytes(), 2 * (off + c * CHUNK))
        for s in sinks:
            d = gu.state_dict_form(name, s.tensor(shape), g)
            torch.save(d, s.path)
            del d
            s.done()
            written += os.path.getsize(s.path)
        torch.save(step_obj, os.path.join(pdir, "step.pt"))
        if p.n >= 1_000_000 or i == len(specs) - 1 or i % 100 == 0:
            print(f"  [{i + 1}/{len(specs)}] {name} {list(shape)}  {written / 2**20:,.1f} MiB  "
                  f"{time.time() - t0:.1f}s", flush=True)
    for fd in flat_fds:
        os.close(fd)

    # Model states, saved from views of the file-backed flat buffers.
    flat16 = [torch.from_file(path, shared=False, size=n, dtype=torch.bfloat16) for path, n in zip(flat_paths, gsize)]
    views = {}
    for gi, grp in enumerate(groups):
        for name, t in cm.flat_views(flat16[gi], [(s[0], s[1]) for s in grp]):
            views[name] = t
    module = OrderedDict((s[0], views[s[0]]) for s in specs)
    group_shapes = [OrderedDict((s[0], torch.Size(s[1])) for s in grp) for grp in groups]
    cfg = dsfake.ds_config_dict(train_batch_size=micro_batch * grad_accum * g.dp, micro_batch=micro_batch,
                                grad_accum=grad_accum, lr=g.lr, betas=g.betas, eps=g.eps,
                                weight_decay=g.weight_decay)
    ms = cm.model_states(module, group_shapes, g.step, g.dp, cfg, dsfake.DS_VERSION, g.lr,
                         micro_batch * grad_accum * g.dp, gu.universal_info(g))
    torch.save(ms, os.path.join(udir, "mp_rank_00_model_states.pt"))
    del ms, module, views, flat16
    for path in flat_paths:
        os.unlink(path)

    pgroups = cm.fused_adam_groups(gu.current_lr(g), g.betas, g.eps, [g.weight_decay, 0.0], "tensor", initial_lr=g.lr)
    osd = OrderedDict()
    osd["loss_scaler"] = dsfake.LossScaler(scale=1.0)
    osd["dynamic_loss_scale"] = False
    osd["overflow"] = False
    osd["clip_grad"] = 1.0
    osd["zero_stage"] = dsfake.ZeroStageEnum.gradients
    osd["group_paddings"] = [0, 0]
    osd["partition_count"] = [g.dp, g.dp]
    osd["ds_version"] = dsfake.DS_VERSION
    osd["param_groups"] = pgroups
    torch.save(osd, os.path.join(zdir, "optimizer_state.pt"))
    nfiles = sum(len(fs) for _, _, fs in os.walk(ck))
    print(f"done: {ck} ({gu.du(ck) / 1e9:,.3f} GB, {nfiles} files) in {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
