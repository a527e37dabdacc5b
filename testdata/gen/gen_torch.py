"""Writes the torch.save fixtures in testdata/torch/ with their goldens.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_torch.py
(PyTorch 1.13 + numpy; fixed seeds, so re-running gives byte-identical files.)

For every fixture <name>.pt it writes <name>.golden.json:
  {"file", "format": zip|zip2|legacy|zip-deflate,
   "tensors": [{name, dtype, shape, strides, storage_offset, storage_numel, numel,
                finite, nan, inf, zeros, l2, rms, mean, std, min, max, absmax}],
   "objects": [{name, module, class}]}
(see testdata/README.md for the exact definitions).

Fixtures:
  dtypes.pt        zip     every dtype torch 1.13 saves (12), random values + exact zeros
  views.pt         zip     storage offset, prefix of a larger storage, transposed, strided,
                           expanded (stride 0), shared storage, 0-dim, empty [0] and [3,0]
  special.pt       zip     NaN / +Inf / -Inf / +-0 in float32/64/16/bf16/complex, all-non-finite
  containers.pt    zip     nested dict/list/tuple/OrderedDict, int dict keys, scalars, nn.Parameter
  bare_tensor.pt   zip     a tensor as the top-level object (its path is "")
  fp8_uint.pt      zip     float8_e4m3fn, float8_e5m2 (all 256 bit patterns), uint16/32/64: saved as
                           uint8/int8/int16/int32/int64 and the storage GLOBALs rewritten in data.pkl;
                           repacked with Python's zipfile (STORED, data NOT 64-byte aligned)
  legacy.pt        legacy  _use_new_zipfile_serialization=False: offset view, shared storage,
                           0-dim, bf16, empty, Parameter, containers (storage keys made deterministic)
  zip2.pt          zip2    PyTorch 2.0-2.5 layout: archive/ prefix, byteorder, .data/serialization_id
  zip2_v26.pt      zip2    PyTorch 2.6+ layout: adds archive/.format_version, archive/.storage_alignment
  deflate.pt       zip-deflate  every record DEFLATE-compressed (PyTorch never writes this)
"""

import os
import sys
import zipfile
from collections import OrderedDict

sys.dont_write_bytecode = True  # keep __pycache__ out of testdata/gen
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dsfake  # noqa: E402,F401
import tdlib  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "torch")


def rs(seed):
    return np.random.RandomState(seed)


def randn(r, shape, scale=1.0, zeros=0, dtype=torch.float32):
    a = r.standard_normal(size=int(np.prod(shape))) * scale
    if zeros:
        a[r.choice(a.size, size=zeros, replace=False)] = 0.0
    return torch.from_numpy(a.reshape(shape)).to(dtype)


def save_zip(obj, name):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    return path


def finish(name, fmt, obj, overrides=None, loadable=True):
    """Writes <name>.golden.json from the in-memory object; checks it against torch.load."""
    g = tdlib.golden(name, fmt, obj, overrides)
    if loadable:
        back = torch.load(os.path.join(OUT, name))
        tdlib.compare_goldens(g, tdlib.golden(name, fmt, back), name)
    tdlib.write_json(os.path.join(OUT, name.replace(".pt", ".golden.json")), g)
    print(f"  {name}: {len(g['tensors'])} tensors, {len(g['objects'])} objects, "
          f"{os.path.getsize(os.path.join(OUT, name))} bytes")


# ---------------------------------------------------------------------------


def make_dtypes():
    r = rs(1)
    d = OrderedDict()
    d["float64"] = randn(r, (4, 6), 3.0, zeros=2, dtype=torch.float64)
    d["float32"] = randn(r, (5, 7), 0.02, zeros=3)
    d["float16"] = randn(r, (3, 8), 10.0, zeros=2, dtype=torch.float16)
    d["bfloat16"] = randn(r, (6, 5), 1.5, zeros=2, dtype=torch.bfloat16)
    d["int64"] = torch.from_numpy(np.concatenate([
        r.randint(-10**12, 10**12, size=10, dtype=np.int64),
        np.array([0, 0, np.iinfo(np.int64).max, np.iinfo(np.int64).min + 1], dtype=np.int64)]))
    d["int32"] = torch.from_numpy(np.concatenate([
        r.randint(-100000, 100000, size=9).astype(np.int32),
        np.array([0, 2**31 - 1, -2**31], dtype=np.int32)]).reshape(3, 4))
    d["int16"] = torch.from_numpy(np.concatenate([
        r.randint(-3000, 3000, size=7).astype(np.int16), np.array([0, 32767, -32768], dtype=np.int16)]))
    d["int8"] = torch.from_numpy(np.concatenate([
        r.randint(-100, 100, size=13).astype(np.int8), np.array([0, 127, -128], dtype=np.int8)]).reshape(4, 4))
    d["uint8"] = torch.from_numpy(np.concatenate([
        r.randint(0, 256, size=9).astype(np.uint8), np.array([0, 255, 128], dtype=np.uint8)]).reshape(2, 6))
    d["bool"] = torch.from_numpy(r.rand(3, 5) > 0.4)
    c64 = (r.standard_normal(10) + 1j * r.standard_normal(10)).astype(np.complex64)
    c64[3] = 0
    d["complex64"] = torch.from_numpy(c64.reshape(2, 5))
    c128 = (r.standard_normal(6) * 5 + 1j * r.standard_normal(6)).astype(np.complex128)
    c128[0] = 0
    c128[4] = 2.5  # purely real
    d["complex128"] = torch.from_numpy(c128)
    save_zip(d, "dtypes.pt")
    finish("dtypes.pt", "zip", d)


def views_object():
    r = rs(2)
    d = OrderedDict()
    x = randn(r, (20,), 1.0)
    d["offset"] = x[3:]  # storage_offset 3, storage 20
    big = randn(r, (12, 4), 0.02, zeros=1)
    d["prefix"] = big[:9]  # like ds_to_universal's vocab tensor: smaller than its storage
    d["transposed"] = randn(r, (5, 3), 2.0).t()  # strides (1, 3)
    d["strided"] = randn(r, (4, 8), 1.0)[:, ::2]  # strides (8, 2)
    d["expanded"] = randn(r, (4,), 1.0).expand(3, 4)  # strides (0, 1)
    s = randn(r, (6, 4), 1.0, zeros=2)
    d["shared"] = OrderedDict([("a", s), ("b", s[2:5, 1:])])  # one storage, two views
    d["scalar"] = torch.tensor(3.25)
    d["scalar_int"] = torch.tensor(-7)
    d["empty"] = torch.empty(0)
    d["empty2"] = torch.empty(3, 0, dtype=torch.float16)
    d["bf16_view"] = randn(r, (8, 6), 1.0, dtype=torch.bfloat16)[2:, 1:5]
    return d


def make_views():
    d = views_object()
    save_zip(d, "views.pt")
    finish("views.pt", "zip", d)


def special_object():
    nan, inf = float("nan"), float("inf")
    d = OrderedDict()
    vals = [1.5, -2.25, nan, inf, -inf, 0.0, -0.0, 3.0, nan, 1e-3, -1e4, 0.0]
    d["f32"] = torch.tensor(vals, dtype=torch.float32).reshape(3, 4)
    d["f64"] = torch.tensor(vals, dtype=torch.float64)
    d["f16"] = torch.tensor(vals + [70000.0], dtype=torch.float16)  # 70000 overflows to +Inf
    d["bf16"] = torch.tensor(vals, dtype=torch.bfloat16).reshape(2, 6)
    d["c64"] = torch.tensor([complex(1, 1), complex(nan, 0), complex(inf, 1), complex(0, -inf),
                             complex(0, 0), complex(3, -4), complex(inf, nan)], dtype=torch.complex64)
    d["nonfinite"] = torch.tensor([nan, inf, -inf, nan], dtype=torch.float32)  # stats null
    d["allnan_bf16"] = torch.full((2, 3), nan, dtype=torch.bfloat16)
    d["zeros"] = torch.zeros(5)
    d["tiny"] = torch.tensor([1e-45, -1e-45, 1e-38], dtype=torch.float32)  # subnormals
    return d


def make_special():
    d = special_object()
    save_zip(d, "special.pt")
    finish("special.pt", "zip", d)


def containers_object():
    r = rs(3)
    p = torch.nn.Parameter(randn(r, (3, 3), 0.5))
    d = OrderedDict()
    d["name"] = "ckpt"
    d["version"] = 3
    d["big_int"] = 2**40 + 1
    d["neg_int"] = -123456789
    d["ratio"] = 0.1
    d["inf"] = float("inf")
    d["none"] = None
    d["flags"] = [True, False]
    d["bytes"] = b"\x00\x01raw"
    d["param"] = p
    d["nested"] = {
        "list": [1, 2.5, "three", None, randn(r, (2, 2)), [randn(r, (3,)), {"deep": randn(r, (1, 2))}]],
        "tuple": (randn(r, (2,), dtype=torch.float64), "x", (4, randn(r, (2, 1)))),
        "od": OrderedDict([("z", randn(r, (2,))), ("a", 1)]),
    }
    # torch.optim-style state: int keys become "0", "1" in dotted paths
    d["state"] = {0: {"step": torch.tensor(5.0), "exp_avg": randn(r, (3, 3), 1e-3)},
                  1: {"step": torch.tensor(5.0), "exp_avg": randn(r, (4,), 1e-3)}}
    d["param_groups"] = [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                          "amsgrad": False, "params": [0, 1]}]
    d["set"] = {1, 2, 3}
    d["shape"] = torch.Size([4, 5])
    d["dtype"] = torch.bfloat16
    d["device"] = torch.device("cpu")
    return d


def make_containers():
    d = containers_object()
    save_zip(d, "containers.pt")
    finish("containers.pt", "zip", d)


def make_bare():
    t = randn(rs(4), (3, 4), 1.0, zeros=1)
    save_zip(t, "bare_tensor.pt")
    finish("bare_tensor.pt", "zip", t)


def make_fp8_uint():
    """Saved with substitute dtypes, then the storage GLOBALs in data.pkl are rewritten."""
    r = rs(5)
    bits = np.arange(256, dtype=np.uint8)
    e4 = torch.from_numpy(bits.reshape(16, 16).copy())               # uint8 -> Float8_e4m3fn
    e5 = torch.from_numpy(bits[::-1].reshape(16, 16).view(np.int8).copy())  # int8 -> Float8_e5m2
    u16 = torch.from_numpy(np.array([0, 1, 255, 256, 32767, 32768, 40000, 65535, 12345, 0, 7, 60000],
                                    dtype=np.uint16).view(np.int16).reshape(3, 4))
    u32 = torch.from_numpy(np.array([0, 1, 2**31 - 1, 2**31, 3_000_000_000, 2**32 - 1], dtype=np.uint32)
                           .view(np.int32))
    u64 = torch.from_numpy(np.array([0, 5, 2**53, 2**63 - 1, 2**63, 2**63 + 4096, 2**64 - 1,
                                     int(r.randint(0, 2**31))], dtype=np.uint64).view(np.int64).reshape(2, 4))
    d = OrderedDict()
    d["e4m3fn"] = e4
    d["e4m3fn_view"] = e4[2:5, 3:]      # view of the same Float8_e4m3fn storage
    d["e5m2"] = e5
    d["uint16"] = u16
    d["uint32"] = u32
    d["uint64"] = u64
    d["e5m2_row"] = e5[7]               # offset view into the e5m2 storage

    def bits_of(t):
        return t.numpy().view(np.uint8)

    ov = {
        "e4m3fn": ("float8_e4m3fn", tdlib.decode_e4m3fn(bits_of(e4))),
        "e4m3fn_view": ("float8_e4m3fn", tdlib.decode_e4m3fn(bits_of(e4[2:5, 3:].contiguous()))),
        "e5m2": ("float8_e5m2", tdlib.decode_e5m2(bits_of(e5))),
        "e5m2_row": ("float8_e5m2", tdlib.decode_e5m2(bits_of(e5[7].contiguous()))),
        "uint16": ("uint16", u16.numpy().view(np.uint16).astype(np.float64)),
        "uint32": ("uint32", u32.numpy().view(np.uint32).astype(np.float64)),
        "uint64": ("uint64", u64.numpy().view(np.uint64).astype(np.float64)),
    }
    tmp = os.path.join(OUT, "fp8_uint.tmp.pt")
    torch.save(d, tmp)
    recs = tdlib.read_zip_records(tmp)
    os.remove(tmp)
    gmap = {
        ("torch", "ByteStorage"): ("torch", "Float8_e4m3fnStorage"),
        ("torch", "CharStorage"): ("torch", "Float8_e5m2Storage"),
        ("torch", "ShortStorage"): ("torch", "UInt16Storage"),
        ("torch", "IntStorage"): ("torch", "UInt32Storage"),
        ("torch", "LongStorage"): ("torch", "UInt64Storage"),
    }
    out = []
    for name, data in recs:
        name = name.replace("fp8_uint.tmp/", "fp8_uint/")
        if name.endswith("/data.pkl"):
            data, n, _ = tdlib.rewrite_pickle(data, globals_map=gmap)
            assert n == 5, n
        out.append((name, data))
    tdlib.write_python_zip(os.path.join(OUT, "fp8_uint.pt"), out, zipfile.ZIP_STORED)
    finish("fp8_uint.pt", "zip", d, overrides=ov, loadable=False)


def legacy_object():
    r = rs(6)
    d = OrderedDict()
    x = randn(r, (10, 3), 1.0, zeros=2)
    d["offset"] = x[4:]
    d["shared"] = [x, x[1:3].t()]
    d["scalar"] = torch.tensor(2.5, dtype=torch.float64)
    d["bf16"] = randn(r, (3, 5), 0.02, dtype=torch.bfloat16)
    d["empty"] = torch.empty(0, 4)
    d["param"] = torch.nn.Parameter(randn(r, (2, 3)))
    d["ints"] = torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4)
    d["meta"] = {"epoch": 3, "names": ["a", "b"], "t": (1, None, 2.0)}
    return d


def make_legacy():
    d = legacy_object()
    path = os.path.join(OUT, "legacy.pt")
    torch.save(d, path, _use_new_zipfile_serialization=False)
    tdlib.legacy_stabilize_keys(path)
    finish("legacy.pt", "legacy", d)


def zip2_object():
    r = rs(7)
    d = OrderedDict()
    base = randn(r, (16, 8), 0.02, zeros=3)
    d["embed"] = base[:13]                 # vocab-like prefix view
    d["w_t"] = randn(r, (6, 4), 1.0).t()
    d["bf16"] = randn(r, (5, 7), 1.0, dtype=torch.bfloat16)
    d["step"] = torch.tensor(42.0)
    d["ids"] = torch.arange(12, dtype=torch.int32)
    d["shared"] = (base, base[14:])
    d["mask"] = torch.from_numpy(r.rand(9) > 0.5)
    return d


def repack_zip2(obj, name, v26=False):
    """Saves with 1.13 then re-lays the records out as PyTorch 2.x writes them."""
    tmp = os.path.join(OUT, name.replace(".pt", ".tmp.pt"))
    torch.save(obj, tmp)
    stem = os.path.basename(tmp)[:-3] + "/"
    recs = tdlib.read_zip_records(tmp)
    os.remove(tmp)
    by = {n[len(stem):]: data for n, data in recs}
    datas = sorted([k for k in by if k.startswith("data/")])
    out = [("archive/data.pkl", by["data.pkl"])]
    if v26:
        out.append(("archive/.format_version", b"1"))
        out.append(("archive/.storage_alignment", b"64"))
    out.append(("archive/byteorder", b"little"))
    out += [("archive/" + k, by[k]) for k in datas]
    out.append(("archive/version", b"3\n"))
    # 2.x: 20-digit record-name hash + 20-digit combined CRC (any 40 digits; fixed here)
    out.append(("archive/.data/serialization_id", b"1234567890123456789000000000003141592653"))
    path = os.path.join(OUT, name)
    tdlib.write_miniz_zip(path, out)
    tdlib.check_aligned(path, "archive/")


def make_zip2():
    d = zip2_object()
    repack_zip2(d, "zip2.pt")
    finish("zip2.pt", "zip2", d)
    d = views_object()
    repack_zip2(d, "zip2_v26.pt", v26=True)
    finish("zip2_v26.pt", "zip2", d)


def make_deflate():
    d = OrderedDict()
    r = rs(8)
    d["w"] = randn(r, (32, 16), 0.02, zeros=4)
    d["low_entropy"] = torch.zeros(64, 8)
    d["low_entropy"][::3] = 1.0
    d["view"] = d["w"][5:, ::2]
    d["i64"] = torch.arange(100, dtype=torch.int64)
    d["meta"] = {"note": "deflate", "step": 9}
    tmp = os.path.join(OUT, "deflate.tmp.pt")
    torch.save(d, tmp)
    recs = [(n.replace("deflate.tmp/", "deflate/"), data) for n, data in tdlib.read_zip_records(tmp)]
    os.remove(tmp)
    path = os.path.join(OUT, "deflate.pt")
    tdlib.write_python_zip(path, recs, zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    finish("deflate.pt", "zip-deflate", d)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    print(f"writing {OUT}")
    make_dtypes()
    make_views()
    make_special()
    make_containers()
    make_bare()
    make_fp8_uint()
    make_legacy()
    make_zip2()
    make_deflate()


if __name__ == "__main__":
    main()
