"""Float64 goldens of the real DeepSpeed checkpoints in testdata/realds/, computed with PyTorch.

    /usr/bin/python3 testdata/gen/realds/golden_realds.py testdata/realds [--source OUT] [--deepspeed DS_SRC]

Reads the committed files only (torch.load, with testdata/gen/dsfake.py's stand-ins for the
DeepSpeed classes the pickles name, so DeepSpeed itself is not needed) and writes, for every
fixture of FIXTURES, `<name>.golden.json` (the universal golden schema of testdata/README.md, plus
`layouts` and `shape_findings`), and `diff.golden.json` (the figures of `ckptinspect diff` for the
pairs of DIFFS, as testdata/drift.golden.json).

Each parameter is rebuilt from the files the way DeepSpeed lays them out, independently of
ckptinspect's Go code:
  * ZeRO-1/2 shards (DeepSpeedZeroOptimizer, BF16_Optimizer): the ranks' flat partitions of a
    group concatenated are the flat group; parameters follow one another in param_shapes order.
    Checked against every rank's param_slice_mappings.
  * ZeRO-3 shards: every parameter is split into ceil(numel / world) elements per rank (the last
    padded), one after another in each rank's flat group, in param_shapes order.
  * universal, from ZeRO-1/2: fp32.pt / exp_avg.pt / exp_avg_sq.pt are {'param': tensor, ...},
    step.pt the step.
  * universal, from ZeRO-3: the state files are flat tensors with param_shapes' numel elements —
    or more: DeepSpeed 0.15.1's ds_to_universal appends another rank's padding to parameters with
    fewer elements than ranks; the parameter is the first numel elements (listed in
    `shape_findings` with the file's shape). No step.pt: the step is optimizer_state.pt's.
Where a fixture has both shards and a universal checkpoint of the same step, both are rebuilt and
must be identical (bit for bit) before the golden is written. With --deepspeed, the fp32 weights
are also checked against DeepSpeed's own zero_to_fp32 consolidation (not for BF16_Optimizer
checkpoints, which it refuses); with --source, fixtures kept without their shards (z3onegroup_dp1_bf16)
are checked against the shards in make.sh's output.
"""

import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # testdata/gen: dsfake, tdlib

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dsfake  # noqa: E402,F401  (registers the DeepSpeed stand-ins for torch.load)
import tdlib  # noqa: E402

STATES = ("fp32", "exp_avg", "exp_avg_sq")

# name -> (zero shard tag folder or None, universal tag folder or None), relative to testdata/realds
FIXTURES = OrderedDict([
    ("z2_dp3_bf16", ("z2_dp3_bf16/global_step9", "z2_dp3_bf16/global_step9_universal")),
    ("z2_dp3_bf16.step4", ("z2_dp3_bf16/global_step4", None)),
    ("z1bf16opt_dp3_bf16", ("z1bf16opt_dp3_bf16/global_step9", None)),
    ("z2_dp3_fp32", ("z2_dp3_fp32/global_step9", None)),
    ("z3_dp3_bf16", ("z3_dp3_bf16/global_step9", None)),
    ("z3onegroup_dp1_bf16", (None, "z3onegroup_dp1_bf16/global_step9_universal")),
    ("z3onegroup_dp3_bf16", ("z3onegroup_dp3_bf16/global_step9", "z3onegroup_dp3_bf16/global_step9_universal")),
])

# `ckptinspect diff A B` pairs: the same run at two steps, then the reference run (ZeRO-2, dp 3,
# bf16; same seed, model and data) against each other engine and layout.
DIFFS = [
    ("z2_dp3_bf16.step4", "z2_dp3_bf16"),
    ("z2_dp3_bf16", "z1bf16opt_dp3_bf16"),
    ("z2_dp3_bf16", "z2_dp3_fp32"),
    ("z2_dp3_bf16", "z3_dp3_bf16"),
    ("z2_dp3_bf16", "z3onegroup_dp1_bf16"),
    ("z2_dp3_bf16", "z3onegroup_dp3_bf16"),
]


def load(path):
    return torch.load(path, map_location="cpu")


def natural(path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def as_step(v):
    if torch.is_tensor(v):
        assert v.numel() == 1
        v = v.item()
    assert float(v) == int(v), v
    return int(v)


class Ckpt:
    """A checkpoint rebuilt: per parameter its shape, group, step and fp32/exp_avg/exp_avg_sq
    (float tensors of the parameter's shape) and module weight ("bf16": the training-dtype
    module tensor, None under ZeRO-3)."""

    def __init__(self):
        self.step = None
        self.ds_version = None
        self.groups = []  # [{"lr", "betas", "eps", "weight_decay", "params": [names]}]
        self.params = OrderedDict()  # name -> {"shape", "group", "step", "fp32", ..., "bf16"}
        self.shape_findings = []


def model_states_info(ms, ck):
    ck.step = ms["global_steps"]
    ck.ds_version = ms["ds_version"]
    shapes = OrderedDict()
    for g, d in enumerate(ms["param_shapes"]):
        ck.groups.append({"params": list(d.keys())})
        for n, s in d.items():
            shapes[n] = (list(s), g)
    return shapes


def set_hyper(ck, param_groups):
    assert len(param_groups) == len(ck.groups)
    for g, pg in zip(ck.groups, param_groups):
        g.update(lr=pg["lr"], betas=list(pg["betas"]), eps=pg["eps"], weight_decay=pg["weight_decay"])


def rank_files(tag, pattern):
    files = sorted(glob.glob(os.path.join(tag, pattern)), key=natural)
    assert files, (tag, pattern)
    return files


def module_of(ms, name):
    t = ms["module"].get(name)
    return t if t is not None and t.numel() > 0 else None


def read_zero12(tag):
    ck = Ckpt()
    ms = load(os.path.join(tag, "mp_rank_00_model_states.pt"))
    shapes = model_states_info(ms, ck)
    osds = [load(f)["optimizer_state_dict"] for f in rank_files(tag, "*zero_pp_rank_*_mp_rank_00_optim_states.pt")]
    world = len(osds)
    bos = osds[0]["base_optimizer_state"]
    set_hyper(ck, bos["param_groups"])
    for g, group in enumerate(ck.groups):
        flat = {}
        flat["fp32"] = torch.cat([o["single_partition_of_fp32_groups"][g] for o in osds])
        for q in ("exp_avg", "exp_avg_sq"):
            flat[q] = torch.cat([o["base_optimizer_state"]["state"][g][q] for o in osds])
        steps = {as_step(o["base_optimizer_state"]["state"][g]["step"]) for o in osds}
        assert len(steps) == 1, steps
        step = steps.pop()
        psize = osds[0]["base_optimizer_state"]["state"][g]["exp_avg"].numel()
        off = 0
        for name in group["params"]:
            shape, _ = shapes[name]
            n = int(np.prod(shape)) if shape else 1
            p = {"shape": shape, "group": g, "step": step}
            for q in STATES:
                p[q] = flat[q][off:off + n].reshape(shape)
            # the same elements through every rank's param_slice_mappings
            pieces = []
            for r, o in enumerate(osds):
                fa = o["param_slice_mappings"][g].get(name)
                if fa is not None:
                    assert r * psize + fa.start == off + sum(x.numel() for x in pieces), name
                    pieces.append(o["single_partition_of_fp32_groups"][g][fa.start:fa.start + fa.numel])
            assert torch.equal(torch.cat(pieces), p["fp32"].reshape(-1)), name
            p["bf16"] = module_of(ms, name)
            ck.params[name] = p
            off += n
    order = [n for n in ms["module"].keys() if n in ck.params]
    ck.params = OrderedDict((n, ck.params[n]) for n in order + [n for n in ck.params if n not in order])
    assert world == ms["dp_world_size"]
    return ck


def read_zero3(tag):
    ck = Ckpt()
    msfiles = rank_files(tag, "zero_pp_rank_*_mp_rank_00_model_states.pt")
    mss = [load(f) for f in msfiles]
    shapes = model_states_info(mss[0], ck)
    for m in mss[1:]:
        assert [list(d.items()) for d in m["param_shapes"]] == [list(d.items()) for d in mss[0]["param_shapes"]]
        assert m["global_steps"] == ck.step
    osds = [load(f)["optimizer_state_dict"] for f in rank_files(tag, "*zero_pp_rank_*_mp_rank_00_optim_states.pt")]
    world = len(osds)
    assert world == len(mss) == mss[0]["dp_world_size"]
    set_hyper(ck, osds[0]["optimizer_state_dict"]["param_groups"])
    for g, group in enumerate(ck.groups):
        steps = {as_step(o["optimizer_state_dict"]["state"][g]["step"]) for o in osds}
        assert len(steps) == 1, steps
        step = steps.pop()
        flats = []
        for o in osds:
            st = o["optimizer_state_dict"]["state"][g]
            flats.append({"fp32": o["fp32_flat_groups"][g], "exp_avg": st["exp_avg"], "exp_avg_sq": st["exp_avg_sq"]})
        off = 0
        for name in group["params"]:
            shape, _ = shapes[name]
            n = int(np.prod(shape)) if shape else 1
            pn = math.ceil(n / world)
            p = {"shape": shape, "group": g, "step": step, "bf16": None}
            for q in STATES:
                full = torch.cat([f[q][off:off + pn] for f in flats])[:n]
                p[q] = full.reshape(shape)
            ck.params[name] = p
            off += pn
    order = [n for n in mss[0]["module"].keys() if n in ck.params]
    ck.params = OrderedDict((n, ck.params[n]) for n in order + [n for n in ck.params if n not in order])
    return ck


def read_universal(tag):
    ck = Ckpt()
    zero = os.path.join(tag, "zero")
    ms_path = os.path.join(tag, "mp_rank_00_model_states.pt")
    zero3 = not os.path.exists(ms_path)
    if zero3:
        mss = [load(f) for f in rank_files(tag, "zero_pp_rank_*_mp_rank_00_model_states.pt")]
        ms = mss[0]
        for m in mss[1:]:
            assert [list(d.items()) for d in m["param_shapes"]] == [list(d.items()) for d in ms["param_shapes"]]
    else:
        ms = load(ms_path)
    shapes = model_states_info(ms, ck)
    osd = load(os.path.join(zero, "optimizer_state.pt"))
    set_hyper(ck, osd["param_groups"])
    group_steps = {}
    if zero3:
        for g, st in osd["optimizer_state_dict"]["state"].items():
            group_steps[g] = as_step(st["step"])
    for name in ms["module"].keys():
        shape, g = shapes[name]
        n = int(np.prod(shape)) if shape else 1
        p = {"shape": shape, "group": g, "bf16": module_of(ms, name)}
        found = OrderedDict()
        for q in STATES:
            v = load(os.path.join(zero, name, q + ".pt"))
            if zero3:
                assert torch.is_tensor(v) and v.dim() == 1, (name, q)
                if v.numel() != n:
                    assert v.numel() > n, (name, q, v.shape)
                    found[q] = list(v.shape)
                p[q] = v[:n].reshape(shape)
            else:
                p[q] = v["param"]
                assert list(p[q].shape) == shape, (name, q)
        if found:
            ck.shape_findings.append(OrderedDict([("name", name), ("expected", shape), ("found", found)]))
        if zero3:
            p["step"] = group_steps[g]
        else:
            p["step"] = as_step(load(os.path.join(zero, name, "step.pt")))
        ck.params[name] = p
    return ck


def same(a, b, what):
    assert a.step == b.step and a.ds_version == b.ds_version, what
    assert json.dumps(a.groups) == json.dumps(b.groups), (what, a.groups, b.groups)
    assert list(a.params) == list(b.params), what
    for name, p in a.params.items():
        q = b.params[name]
        assert p["shape"] == q["shape"] and p["group"] == q["group"] and p["step"] == q["step"], (what, name)
        for s in STATES + ("bf16",):
            x, y = p[s], q[s]
            assert (x is None) == (y is None), (what, name, s)
            if x is not None:
                assert x.dtype == y.dtype and torch.equal(bits(x), bits(y)), (what, name, s)


def bits(t):
    """t's elements as integers of the same width (bit-for-bit comparisons, NaNs included)."""
    ints = {torch.float32: torch.int32, torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float64: torch.int64}
    return t.contiguous().reshape(-1).view(ints[t.dtype])


def stats(t):
    rec = OrderedDict([("dtype", tdlib.dtype_name(t.dtype)), ("shape", list(t.shape))])
    rec.update(tdlib.tensor_stats(t))
    return rec


def golden(ck, layouts):
    params, sums, bad = [], {q: 0.0 for q in STATES + ("bf16",)}, {"nan": 0, "inf": 0}
    for name, p in ck.params.items():
        g = ck.groups[p["group"]]
        fp = p["fp32"]
        rec = OrderedDict()
        rec["name"] = name
        rec["shape"] = p["shape"]
        rec["numel"] = int(fp.numel())
        rec["step"] = p["step"]
        rec["group"] = p["group"]
        rec["scale"] = bool(fp.numel() == 1 and name.endswith("_alpha"))
        rec["scale_value"] = float(fp.reshape(-1)[0]) if rec["scale"] else None
        for q in STATES + ("bf16",):
            rec[q] = stats(p[q]) if p[q] is not None else None
            if rec[q] is not None:
                sums[q] += (rec[q]["l2"] or 0.0) ** 2
                bad["nan"] += rec[q]["nan"]
                bad["inf"] += rec[q]["inf"]
        t, (b1, b2), eps, lr = p["step"], g["betas"], g["eps"], g["lr"]
        m = p["exp_avg"].double().reshape(-1).numpy()
        v = p["exp_avg_sq"].double().reshape(-1).numpy()
        if t > 0 and m.size:
            u = (m / (1.0 - b1 ** t)) / (np.sqrt(v / (1.0 - b2 ** t)) + eps)
            urms = math.sqrt(float(np.sum(u * u)) / u.size)
            wrms = rec["fp32"]["rms"]
            rec["adam"] = OrderedDict([("update_rms", urms), ("update_to_weight", lr * urms / wrms if wrms else None)])
        else:
            rec["adam"] = OrderedDict([("update_rms", None), ("update_to_weight", None)])
        params.append(rec)
    steps = {p["step"] for p in ck.params.values()}
    assert steps == {ck.step}, (steps, ck.step)
    summary = OrderedDict([
        ("step", ck.step), ("params", len(params)), ("numel", sum(r["numel"] for r in params)),
        ("weight_norm", math.sqrt(sums["fp32"])), ("exp_avg_norm", math.sqrt(sums["exp_avg"])),
        ("exp_avg_sq_norm", math.sqrt(sums["exp_avg_sq"])), ("bf16_norm", math.sqrt(sums["bf16"])),
        ("nan", bad["nan"]), ("inf", bad["inf"]),
    ])
    return OrderedDict([
        ("layouts", layouts),
        ("checkpoint", OrderedDict([("step", ck.step), ("ds_version", ck.ds_version), ("param_groups", ck.groups)])),
        ("params", params),
        ("summary", summary),
        ("shape_findings", ck.shape_findings),
    ])


# ---- diff figures (as testdata/gen/gen_drift.py defines them) ----

def pair(a, b):
    a = a.detach().double().reshape(-1)
    b = b.detach().double().reshape(-1)
    ok = torch.isfinite(a) & torch.isfinite(b)
    x, y = a[ok], b[ok]
    d = y - x
    return {"numel": a.numel(), "pairs": int(ok.sum()), "changed": int((d != 0).sum()),
            "aa": float(torch.sum(x * x)), "bb": float(torch.sum(y * y)), "ab": float(torch.sum(x * y)),
            "dd": float(torch.sum(d * d)), "max": float(d.abs().max()) if d.numel() else None}


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
    if s is None:
        return None
    aa, bb = s["aa"], s["bb"]
    na, nb = math.sqrt(aa), math.sqrt(bb)
    return {"numel": s["numel"], "pairs": s["pairs"], "skipped": s["numel"] - s["pairs"], "changed": s["changed"],
            "a_l2": na, "b_l2": nb, "delta_l2": math.sqrt(s["dd"]), "max_abs_delta": s["max"],
            "rel_change": math.sqrt(s["dd"]) / na if na > 0 else None,
            "cosine": max(-1.0, min(1.0, s["ab"] / (na * nb))) if na > 0 and nb > 0 else None,
            "norm_ratio": nb / na if na > 0 else None}


def diff_golden(name_a, a, name_b, b):
    params, totals = [], {}
    assert list(a.params) == list(b.params)
    for name, pa in a.params.items():
        pb = b.params[name]
        assert pa["shape"] == pb["shape"], name
        rec = OrderedDict([("name", name), ("shape", pa["shape"])])
        for q in STATES + ("bf16",):
            ta, tb = pa[q], pb[q]
            if ta is None or tb is None:
                rec[q] = None
                continue
            assert ta.shape == tb.shape, (name, q)
            s = pair(ta, tb)
            totals[q] = merge(totals.get(q), s)
            rec[q] = figures(s)
        params.append(rec)
    summary = OrderedDict([("step_delta", b.step - a.step), ("params_compared", len(params))])
    for q in STATES + ("bf16",):
        summary[q] = figures(totals.get(q))
    return OrderedDict([("a", name_a), ("b", name_b), ("params", params), ("summary", summary)])


def check_zero_to_fp32(ds_src, tag, ck):
    """The fp32 weights against DeepSpeed's own consolidation (deepspeed/utils/zero_to_fp32.py), run
    in a child process with the real DeepSpeed on its path (this one has dsfake's stand-ins)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fp32.pt")
        code = ("import sys, torch\n"
                "from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint as get\n"
                "torch.save(dict(get(sys.argv[1], tag=sys.argv[2])), sys.argv[3])\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ds_src, "shims"), ds_src]),
                   DS_ACCELERATOR="cpu", DS_BUILD_OPS="0", PYTHONDONTWRITEBYTECODE="1")
        subprocess.run([sys.executable, "-c", code, os.path.dirname(tag), os.path.basename(tag), out],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        sd = torch.load(out)
    assert sorted(sd) == sorted(ck.params), (tag, sorted(sd))
    for name, p in ck.params.items():
        assert torch.equal(bits(sd[name].reshape(-1)), bits(p["fp32"].reshape(-1))), (tag, name)
    print(f"   {tag}: fp32 weights equal DeepSpeed's zero_to_fp32 consolidation")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", help="testdata/realds")
    ap.add_argument("--source", help="make.sh's OUT folder: also rebuild, from their shards there, the fixtures "
                    "whose shards are not kept, and require the same values")
    ap.add_argument("--deepspeed", help="a DeepSpeed 0.15.1 source tree (make.sh's OUT/deepspeed-src): "
                    "also check the fp32 weights against its zero_to_fp32")
    a = ap.parse_args()
    read = {}
    for name, (ztag, utag) in FIXTURES.items():
        cks, layouts = [], OrderedDict()
        if ztag:
            tag = os.path.join(a.root, ztag)
            zero3 = bool(glob.glob(os.path.join(tag, "zero_pp_rank_*_mp_rank_00_model_states.pt")))
            ck = read_zero3(tag) if zero3 else read_zero12(tag)
            cks.append(ck)
            layouts["zero"] = ztag
            bf16opt = bool(glob.glob(os.path.join(tag, "bf16_*optim_states.pt"))) and \
                "zero_stage" not in load(rank_files(tag, "*optim_states.pt")[0])["optimizer_state_dict"]
            if a.deepspeed and not bf16opt:
                check_zero_to_fp32(a.deepspeed, tag, ck)
        if utag:
            ck = read_universal(os.path.join(a.root, utag))
            cks.append(ck)
            layouts["universal"] = utag
        if not ztag and a.source:
            src = os.path.join(a.source, "ckpt", os.path.dirname(utag), os.path.basename(utag).replace("_universal", ""))
            cks.insert(0, read_zero3(src) if glob.glob(os.path.join(src, "zero_pp_rank_*_model_states.pt")) else read_zero12(src))
            if a.deepspeed:
                check_zero_to_fp32(a.deepspeed, src, cks[0])
        for other in cks[1:]:
            # the universal checkpoint DeepSpeed converted holds exactly the shards' values
            # (its extra elements aside, which shape_findings lists)
            same(cks[0], other, name)
        ck = cks[-1]
        read[name] = ck
        g = golden(ck, layouts)
        tdlib.write_json(os.path.join(a.root, name + ".golden.json"), g)
        print(f"{name}: {len(ck.params)} params, step {ck.step}, {len(ck.shape_findings)} shape findings")
    diffs = [diff_golden(x, read[x], y, read[y]) for x, y in DIFFS]
    tdlib.write_json(os.path.join(a.root, "diff.golden.json"), {"diffs": diffs})
    print(f"diff.golden.json: {len(diffs)} pairs")


if __name__ == "__main__":
    main()
