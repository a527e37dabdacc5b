"""Shared helpers for the ckptinspect fixture generators (not a script).

- tensor statistics exactly as the golden files define them (float64, finite elements only);
- a walker that lists every tensor (dotted path) and every stand-in object of a saved value;
- a pickle rewriter (replace GLOBALs / strings opcode by opcode, lengths fixed up);
- zip writers: a miniz-like writer laying records out as PyTorch's PyTorchStreamWriter does
  (local header extra field padded with an 'FB' block so record data starts 64-byte aligned,
  zero timestamps, data descriptors, zip64 end records), and Python-zipfile repacks.

Run the generators with /usr/bin/python3 (PyTorch 1.13 + numpy).
"""

import io
import json
import math
import os
import pickletools
import struct
import zipfile
import zlib
from collections import OrderedDict

import numpy as np
import torch

import dsfake

ALIGN = 64
FIXED_DATE = (1980, 1, 1, 0, 0, 0)

# ---------------------------------------------------------------------------
# statistics


def dtype_name(dt):
    return str(dt).replace("torch.", "")


def _null_if_nan(v):
    v = float(v)
    return None if math.isnan(v) else v


def stats_real(x):
    """x: float64 numpy array (any shape). Returns the count/statistics fields."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    nan = int(np.isnan(x).sum())
    inf = int(np.isinf(x).sum())
    fin = x[np.isfinite(x)]
    return _finish(x.size, fin, nan, inf, int((x == 0).sum()))


def stats_complex(z):
    """z: complex128 array. Statistics of |z| over elements with both parts finite."""
    z = np.asarray(z, dtype=np.complex128).reshape(-1)
    re, im = z.real, z.imag
    finite_mask = np.isfinite(re) & np.isfinite(im)
    nan_mask = np.isnan(re) | np.isnan(im)
    nan = int(nan_mask.sum())
    inf = int((~finite_mask & ~nan_mask).sum())
    zeros = int(((re == 0) & (im == 0)).sum())
    # The modulus as PyTorch computes it (a correctly rounded hypot); NumPy's
    # np.abs of complex128 can be an ulp off.
    fin = torch.from_numpy(np.ascontiguousarray(z[finite_mask])).abs().numpy()
    return _finish(z.size, fin, nan, inf, zeros)


def _finish(numel, fin, nan, inf, zeros):
    out = {"numel": int(numel), "finite": int(fin.size), "nan": nan, "inf": inf, "zeros": zeros}
    if fin.size == 0:
        out.update({k: None for k in ("l2", "rms", "mean", "std", "min", "max", "absmax")})
        return out
    sq = float(np.sum(fin * fin))
    mean = float(np.sum(fin)) / fin.size
    dev = fin - mean
    out.update({
        "l2": math.sqrt(sq),
        "rms": math.sqrt(sq / fin.size),
        "mean": mean,
        "std": math.sqrt(float(np.sum(dev * dev)) / fin.size),
        "min": float(fin.min()),
        "max": float(fin.max()),
        "absmax": float(np.abs(fin).max()),
    })
    return out


def tensor_values(t):
    t = t.detach()
    if t.is_complex():
        return t.to(torch.complex128).numpy()
    return t.double().numpy()


def tensor_stats(t, values=None):
    """Statistics of tensor t (values may override them, e.g. fp8 decoded bits)."""
    if values is None:
        values = tensor_values(t)
    if np.iscomplexobj(values):
        return stats_complex(values)
    return stats_real(values)


def storage_numel(t):
    return int(t.storage().size())


def tensor_record(name, t, dtype=None, values=None):
    rec = OrderedDict()
    rec["name"] = name
    rec["dtype"] = dtype or dtype_name(t.dtype)
    rec["shape"] = list(t.shape)
    rec["strides"] = list(t.stride())
    rec["storage_offset"] = int(t.storage_offset())
    rec["storage_numel"] = storage_numel(t)
    st = tensor_stats(t, values)
    rec.update(st)
    return rec


# ---------------------------------------------------------------------------
# fp8 decoding (PyTorch 1.13 cannot make these dtypes)


def decode_e4m3fn(bits):
    b = np.asarray(bits, dtype=np.uint8).astype(np.int64)
    s = np.where(b >> 7, -1.0, 1.0)
    e = (b >> 3) & 0xF
    m = (b & 7).astype(np.float64)
    val = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1.0 + m / 8.0) * np.exp2(e.astype(np.float64) - 7.0))
    val = s * val
    val = np.where((e == 15) & ((b & 7) == 7), np.nan, val)
    return val


def decode_e5m2(bits):
    b = np.asarray(bits, dtype=np.uint8).astype(np.int64)
    s = np.where(b >> 7, -1.0, 1.0)
    e = (b >> 2) & 0x1F
    m = (b & 3).astype(np.float64)
    val = np.where(e == 0, m / 4.0 * 2.0 ** -14, (1.0 + m / 4.0) * np.exp2(e.astype(np.float64) - 15.0))
    val = np.where(e == 31, np.where(m == 0, np.inf, np.nan), val)
    return s * val


# ---------------------------------------------------------------------------
# walking a saved value


def walk(obj, path="", tensors=None, objects=None, overrides=None):
    """Lists tensors and stand-in objects of obj in pickling order.

    overrides: {path: (dtype_name, float64 values)} for tensors whose saved dtype differs
    from the in-memory one (fp8 / unsigned made by rewriting the pickle).
    """
    if tensors is None:
        tensors, objects = [], []
    overrides = overrides or {}

    def sub(p, k):
        return f"{p}.{k}" if p != "" else str(k)

    if isinstance(obj, torch.Tensor):
        dt, vals = overrides.get(path, (None, None))
        tensors.append(tensor_record(path, obj, dt, vals))
    elif isinstance(obj, torch.Size):
        pass
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk(v, sub(path, k), tensors, objects, overrides)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            walk(v, sub(path, i), tensors, objects, overrides)
    elif dsfake.is_standin(obj):
        objects.append(OrderedDict([("name", path), ("module", type(obj).__module__),
                                    ("class", type(obj).__qualname__)]))
        if hasattr(obj, "__dict__") and not isinstance(obj, dsfake.ZeroStageEnum):
            for k, v in vars(obj).items():
                walk(v, sub(path, k), tensors, objects, overrides)
    return tensors, objects


def golden(file_name, fmt, obj, overrides=None):
    tensors, objects = walk(obj, overrides=overrides)
    return OrderedDict([("file", file_name), ("format", fmt), ("tensors", tensors), ("objects", objects)])


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1, allow_nan=False)
        f.write("\n")


def compare_goldens(a, b, ctx):
    """Asserts two goldens agree (used to check a file read back by torch.load)."""
    ta, tb = a["tensors"], b["tensors"]
    assert [t["name"] for t in ta] == [t["name"] for t in tb], ctx
    for x, y in zip(ta, tb):
        for k in x:
            if isinstance(x[k], float) and isinstance(y[k], float):
                assert math.isclose(x[k], y[k], rel_tol=1e-12, abs_tol=1e-300), (ctx, x["name"], k, x[k], y[k])
            else:
                assert x[k] == y[k], (ctx, x["name"], k, x[k], y[k])
    assert a["objects"] == b["objects"], ctx


# ---------------------------------------------------------------------------
# pickle rewriting


def rewrite_pickle(data, globals_map=None, strings_map=None):
    """Re-emits a pickle (protocol <= 3) replacing GLOBAL targets and unicode strings.

    globals_map: {("torch", "ByteStorage"): ("torch", "Float8_e4m3fnStorage")}
    strings_map: {"old": "new"} for BINUNICODE / SHORT_BINUNICODE arguments.
    Returns (new_bytes, number_of_replacements, end_position).
    """
    globals_map = globals_map or {}
    strings_map = strings_map or {}
    ops = list(pickletools.genops(data))
    out = bytearray()
    n = 0
    end = None
    for i, (op, arg, pos) in enumerate(ops):
        nxt = ops[i + 1][2] if i + 1 < len(ops) else pos + 1
        raw = data[pos:nxt]
        if op.name == "GLOBAL":
            mod, name = arg.split(" ", 1)
            if (mod, name) in globals_map:
                m2, n2 = globals_map[(mod, name)]
                raw = b"c" + m2.encode() + b"\n" + n2.encode() + b"\n"
                n += 1
        elif op.name in ("BINUNICODE", "SHORT_BINUNICODE") and arg in strings_map:
            s = strings_map[arg].encode("utf-8")
            raw = (b"X" + struct.pack("<I", len(s)) + s)
            n += 1
        out += raw
        if op.name == "STOP":
            end = nxt
            break
    return bytes(out), n, end


# ---------------------------------------------------------------------------
# zip files


def read_zip_records(path):
    """[(name, bytes)] in file order."""
    with zipfile.ZipFile(path) as z:
        infos = sorted(z.infolist(), key=lambda i: i.header_offset)
        return [(i.filename, z.read(i.filename)) for i in infos]


def write_miniz_zip(path, records):
    """Writes records like PyTorch's writer: STORED, 64-byte aligned data, data descriptors.

    records: [(full name, bytes)].  Returns {name: data offset}.
    """
    buf = io.BytesIO()
    central = []
    offsets = {}
    for name, data in records:
        nb = name.encode("utf-8")
        cursor = buf.tell()
        start = cursor + 30 + len(nb) + 4  # data start with an empty FB block
        pad = (-start) % ALIGN
        extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        crc = zlib.crc32(data) & 0xFFFFFFFF
        assert len(data) < 0xFFFFFFFF and cursor < 0xFFFFFFFF, "fixture writer has no zip64 records"
        buf.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, 0x0808, 0, 0, 0, 0, 0, 0, len(nb), len(extra)))
        buf.write(nb)
        buf.write(extra)
        offsets[name] = buf.tell()
        assert offsets[name] % ALIGN == 0
        buf.write(data)
        buf.write(struct.pack("<IIII", 0x08074B50, crc, len(data), len(data)))
        central.append((nb, crc, len(data), cursor))
    cd_start = buf.tell()
    for nb, crc, size, off in central:
        buf.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, 0x0808, 0, 0, 0, crc, size, size,
                              len(nb), 0, 0, 0, 0, 0, off))
        buf.write(nb)
    cd_end = buf.tell()
    cd_size = cd_end - cd_start
    n = len(central)
    buf.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x2D, 0, 0, n, n, cd_size, cd_start))
    buf.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
    buf.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_start, 0))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return offsets


def write_python_zip(path, records, compression=zipfile.ZIP_STORED):
    """Writes records with Python's zipfile (fixed timestamps: deterministic)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in records:
            zi = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            zi.compress_type = compression
            zi.create_system = 3
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)


def check_aligned(path, prefix):
    """Asserts every <prefix>data/<key> record's bytes start 64-byte aligned (local header read)."""
    raw = open(path, "rb").read()
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            if not i.filename.startswith(prefix + "data/"):
                continue
            off = i.header_offset
            nl, el = struct.unpack("<HH", raw[off + 26:off + 30])
            data_off = off + 30 + nl + el
            assert data_off % ALIGN == 0, (path, i.filename, data_off)
            assert raw[data_off:data_off + i.file_size] == z.read(i.filename)


def torch_save_bytes_deterministic(path):
    """PyTorch 1.13's zip writer uses zero timestamps: output depends only on the object."""
    return open(path, "rb").read()


# ---------------------------------------------------------------------------
# legacy format: make storage keys (memory addresses) deterministic


def legacy_stabilize_keys(path):
    """Makes a legacy torch.save file deterministic.

    The legacy writer names storages str(storage._cdata) (a pointer) and writes the storage
    data in the sorted order of those names, so two runs differ.  Keys are replaced by fixed
    14-digit numbers in order of first appearance in the object pickle, and the raw storage
    blocks (int64 element count + bytes) are reordered to the new sorted key order.
    """
    import pickle
    data = open(path, "rb").read()
    f = io.BytesIO(data)

    def skip_pickle():
        for _ in pickletools.genops(f):
            pass

    for _ in range(3):  # magic, protocol version, sys_info
        skip_pickle()
    obj_start = f.tell()
    seen = OrderedDict()  # key -> element size, in order of first appearance

    class U(pickle.Unpickler):
        def persistent_load(self, pid):
            _, storage_type, key, _, numel, _ = pid
            st = storage_type(numel)
            seen.setdefault(key, st.element_size())
            return st

    U(f).load()
    keys_start = f.tell()
    keys = pickle.load(f)
    data_start = f.tell()
    assert sorted(keys) == sorted(seen), "key list differs from the pickle's storages"
    pos = data_start
    raw = {}
    for k in keys:  # blocks are in the key list's (sorted address) order
        (count,) = struct.unpack("<q", data[pos:pos + 8])
        n = 8 + count * seen[k]
        raw[k] = data[pos:pos + n]
        pos += n
    assert pos == len(data), (pos, len(data))
    mapping = {k: str(93000000000000 + 4096 * i) for i, k in enumerate(seen)}
    new_keys = [mapping[k] for k in seen]  # already sorted
    assert new_keys == sorted(new_keys)
    obj_pkl, _, _ = rewrite_pickle(data[obj_start:keys_start], strings_map=mapping)
    keys_pkl = pickle.dumps(new_keys, protocol=2)
    new = data[:obj_start] + obj_pkl + keys_pkl + b"".join(raw[k] for k in seen)
    with open(path, "wb") as f:
        f.write(new)
    return mapping
