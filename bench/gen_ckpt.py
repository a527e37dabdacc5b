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
Trainer folder holding a DeepSpeed universal checkpoint: config.json, trainer_state.json,
latest_universal, rng_state_<r>.pth, global_step<N>_universal/mp_rank_00_model_states.pt,
zero/optimizer_state.pt, zero/<param>/{fp32,exp_avg,exp_avg_sq,step}.pt), reusing its config,
Trainer state and DeepSpeed structures, so every file is a real torch.save zip file.

--after K writes instead the checkpoint K AdamW-like steps later (OUT/checkpoint-<step+K>/): the
same values, recomputed, then K steps of AdamW (float32, the run's betas, eps, lr and decoupled
weight decay on the decay group) with synthetic gradients; rows whose moments are 0 (unseen
tokens) get no gradient. That is the second checkpoint of a `ckptinspect diff` benchmark.

Memory and disk stay bounded whatever the size: values are drawn in chunks of 4Mi elements from
one numpy generator per (seed, parameter, quantity, chunk), so nothing depends on the chunking
of the write. Tensors up to 64 MiB are built in memory and saved. A larger one (the embedding
and lm_head at full size), and the bf16 module weights (one flat buffer per parameter group, as
ZeRO-1/2 leaves them, 4.9 GB at full size), are first saved by torch.save from a file-backed
tensor of zeros (torch.from_file of a sparse file, which takes no disk space), which writes the
file with the structure, pickle and zip records PyTorch gives it; the values are then written
into the storage's zip record chunk by chunk as they are drawn, and the record's CRC-32 (in its
data descriptor and in the central directory) is set to that of the values. So the disk holds
the checkpoint and nothing else, and `ckptinspect verify --deep` checks the CRCs.
The values are not those of gen_universal.py (which draws a whole tensor at once), and no golden
is written: check results against PyTorch with bench/torch_stats.py.
"""

import argparse
import json
import math
import os
import struct
import sys
import time
import zipfile
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
BIG = 64 << 20  # tensors larger than this (bytes of float32) are written in place (see Patch)

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


def record(path, size=None, suffix=None):
    """The zip record of a storage in a torch.save file: (name, offset of its data, size),
    chosen by its size or the end of its name."""
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if "/data/" in i.filename
                 and (size is None or i.file_size == size) and (suffix is None or i.filename.endswith(suffix))]
    if len(infos) != 1:
        raise RuntimeError(f"{path}: {len(infos)} storage records of {size} bytes")
    i = infos[0]
    with open(path, "rb") as f:
        f.seek(i.header_offset)
        h = f.read(30)
    assert h[:4] == b"PK\x03\x04" and i.compress_type == zipfile.ZIP_STORED, path
    n, e = struct.unpack("<HH", h[26:30])
    return i.filename, i.header_offset + 30 + n + e, i.file_size


def set_crcs(path, crcs):
    """Sets the CRC-32 of the named zip records of path: in the local header or, when the
    record has one (PyTorch writes them), in its data descriptor, and in the central directory."""
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        start = z.start_dir
    with open(path, "r+b") as f:
        for name, crc in crcs.items():
            i = infos[name]
            f.seek(i.header_offset)
            h = f.read(30)
            flags = struct.unpack("<H", h[6:8])[0]
            n, e = struct.unpack("<HH", h[26:30])
            if flags & 8:  # data descriptor after the data: [signature] crc sizes
                at = i.header_offset + 30 + n + e + i.file_size
                f.seek(at)
                at += 4 if f.read(4) == b"PK\x07\x08" else 0
            else:
                at = i.header_offset + 14
            f.seek(at)
            f.write(struct.pack("<I", crc))
        pos, done = start, 0
        while done < len(crcs):
            f.seek(pos)
            h = f.read(46)
            if h[:4] != b"PK\x01\x02":
                raise RuntimeError(f"{path}: central directory entry expected at {pos}")
            n, e, c = struct.unpack("<HHH", h[28:34])
            name = f.read(n).decode()
            if name in crcs:
                f.seek(pos + 16)
                f.write(struct.pack("<I", crcs[name]))
                done += 1
            pos += 46 + n + e + c


class Patch:
    """A storage record of a saved torch.save file whose values are written in place, in
    order, chunk by chunk; finish sets its CRC."""

    def __init__(self, path, size=None, suffix=None):
        self.path = path
        self.name, self.off, self.size = record(path, size, suffix)
        self.fd = os.open(path, os.O_RDWR)
        self.pos, self.crc = 0, 0

    def write(self, b, at=None):
        if at is not None and at != self.pos:
            raise RuntimeError(f"{self.path}: write at {at}, expected {self.pos}")
        os.pwrite(self.fd, b, self.off + self.pos)
        self.crc = zlib.crc32(b, self.crc)
        self.pos += len(b)

    def finish(self):
        if self.pos < self.size:  # the zero padding at the end of a flat group
            pad = bytes(min(self.size - self.pos, 1 << 20))
            while self.pos < self.size:
                self.write(pad[:self.size - self.pos])
        os.close(self.fd)
        set_crcs(self.path, {self.name: self.crc})


def zeros(path, n, dtype):
    """A file-backed tensor of n zeros of dtype: torch.from_file of a sparse scratch file,
    removed at once (the mapping keeps it)."""
    with open(path, "wb") as f:
        f.truncate(n * torch.empty(0, dtype=dtype).element_size())
    t = torch.from_file(path, shared=False, size=n, dtype=dtype)
    os.unlink(path)
    return t


class Sink:
    """Where one state of one parameter goes: an in-memory array saved at the end, or, for a
    large one, a file saved at once with zeros whose record is then written in place."""

    def __init__(self, path, n, shape, name, g):
        self.path, self.n, self.shape = path, n, shape
        self.big = 4 * n > BIG
        if self.big:
            t = zeros(path + ".scratch", n, torch.float32).view(shape)
            torch.save(gu.state_dict_form(name, t, g), path)
            del t
            self.patch = Patch(path, size=4 * n)
        else:
            self.name, self.g = name, g
            self.parts = []

    def add(self, x):
        if self.big:
            self.patch.write(x.tobytes())
        else:
            self.parts.append(x)

    def finish(self):
        if self.big:
            self.patch.finish()
        else:
            t = torch.from_numpy(np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32))
            torch.save(gu.state_dict_form(self.name, t.view(self.shape), self.g), self.path)


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
    # Only the universal copy is written: a latest naming the ZeRO shards'
    # folder, absent here, would be a dangling pointer (verify's
    # structure.latest).
    with open(os.path.join(ck, "latest_universal"), "w") as f:
        f.write(tag + "_universal")
    for r in range(g.dp):
        torch.save(gu.rng_state(g, r), os.path.join(ck, f"rng_state_{r}.pth"))

    # Model states first, with zeros for the bf16 module weights (one flat buffer per group,
    # the ZeRO-1/2 layout, each parameter a view of its group's buffer); the weights are
    # written into the flat buffers' records as each parameter is drawn.
    gsize = [cm.aligned_size(sum(cm.numel(s[1]) for s in grp), g.dp) for grp in groups]
    where = {}
    for gi, grp in enumerate(groups):
        off = 0
        for s in grp:
            where[s[0]] = (gi, off)
            off += cm.numel(s[1])
    flat16 = [zeros(os.path.join(udir, f"bf16_group{gi}.scratch"), n, torch.bfloat16) for gi, n in enumerate(gsize)]
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
    ms_path = os.path.join(udir, "mp_rank_00_model_states.pt")
    torch.save(ms, ms_path)
    del ms, module, views, flat16
    if gsize[0] == gsize[1]:
        raise RuntimeError("both groups have the same size: their records cannot be told apart")
    flats = [Patch(ms_path, size=2 * n) for n in gsize]

    step_obj = cm.step_value(g.step, "tensor")
    written = 0
    for i, (name, shape, gi, kind) in enumerate(specs):
        p = Param(a, g, name, shape, gi, kind)
        pdir = os.path.join(zdir, name)
        os.makedirs(pdir, exist_ok=True)
        sinks = [Sink(os.path.join(pdir, q + ".pt"), p.n, shape, name, g) for q in ("fp32", "exp_avg", "exp_avg_sq")]
        fg, off = where[name]
        for c in range((p.n + CHUNK - 1) // CHUNK):
            w, m, v = p.chunk(c)
            for s, x in zip(sinks, (w, m, v)):
                s.add(x)
            bf = torch.from_numpy(w).to(torch.bfloat16).view(torch.int16).numpy()
            flats[fg].write(bf.tobytes(), at=2 * (off + c * CHUNK))
        for s in sinks:
            s.finish()
            written += os.path.getsize(s.path)
        torch.save(step_obj, os.path.join(pdir, "step.pt"))
        if p.n >= 1_000_000 or i == len(specs) - 1 or i % 100 == 0:
            print(f"  [{i + 1}/{len(specs)}] {name} {list(shape)}  {written / 2**20:,.1f} MiB  "
                  f"{time.time() - t0:.1f}s", flush=True)
    for f in flats:
        f.finish()

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
