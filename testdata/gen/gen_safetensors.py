"""Writes the safetensors fixtures in testdata/safetensors/ with their goldens.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_safetensors.py

The safetensors library is not packaged for Debian, so the files are written
here to the format's specification (github.com/huggingface/safetensors): an
8-byte little-endian header length, a JSON header mapping each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the byte
after the header) plus "__metadata__", padded with spaces so that the data
starts 8-byte aligned, then the tensors' raw little-endian bytes, ordered as
the reference writer orders them (by dtype alignment, largest first, then by
name). Tensor values come from PyTorch; goldens are PyTorch float64 statistics
(same schema as testdata/torch; see testdata/README.md).

  model.safetensors            a small YuLan-Mini-shaped model's bf16 weights (as
                               save_pretrained writes them), plus one tensor of
                               each other dtype (F32, F16, I64, BOOL, U8)
  sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
                               the same bf16 weights split in two shards, with the
                               index's weight_map (as sharded save_pretrained writes)
"""

import json
import os
import struct
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import ckptmodel as cm  # noqa: E402
import tdlib  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "safetensors")
DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write(path, tensors, metadata):
    names = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = OrderedDict()
    if metadata is not None:
        header["__metadata__"] = metadata
    off = 0
    blobs = []
    for n in names:
        b = raw_bytes(tensors[n])
        header[n] = OrderedDict([("dtype", DTYPES[tensors[n].dtype]), ("shape", list(tensors[n].shape)),
                                 ("data_offsets", [off, off + len(b)])])
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def golden(path, fmt, tensors):
    g = OrderedDict([("file", os.path.basename(path)), ("format", fmt), ("tensors", [])])
    for n in sorted(tensors):
        t = tensors[n]
        rec = OrderedDict([("name", n), ("dtype", tdlib.dtype_name(t.dtype)), ("shape", list(t.shape))])
        rec.update(tdlib.tensor_stats(t))
        g["tensors"].append(rec)
    tdlib.write_json(path.replace(".safetensors", ".golden.json"), g)


def main():
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    specs = cm.param_specs(1, 32, 64, 2, 1, 48)
    weights = OrderedDict()
    for name, shape, _, kind in specs:
        w = cm.gen_fp32(5, name, shape, kind, 1)
        weights[name] = torch.from_numpy(w).to(torch.bfloat16)
    extra = OrderedDict([
        ("extra.f32", torch.linspace(-3, 5, 37, dtype=torch.float32)),
        ("extra.f16", torch.tensor([0.5, -0.0, float("inf"), float("nan"), 65504.0], dtype=torch.float16)),
        ("extra.i64", torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4)),
        ("extra.bool", torch.tensor([True, False, True, True])),
        ("extra.u8", torch.arange(0, 250, 7, dtype=torch.uint8)),
    ])
    single = OrderedDict(weights)
    single.update(extra)
    p = os.path.join(OUT, "model.safetensors")
    write(p, single, {"format": "pt"})
    golden(p, "safetensors", single)

    names = list(weights)
    half = len(names) // 2
    shards = [OrderedDict((n, weights[n]) for n in names[:half]), OrderedDict((n, weights[n]) for n in names[half:])]
    weight_map = OrderedDict()
    total = 0
    for i, sh in enumerate(shards):
        fn = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write(os.path.join(OUT, "sharded", fn), sh, {"format": "pt"})
        for n, t in sh.items():
            weight_map[n] = fn
            total += t.numel() * t.element_size()
    index = OrderedDict([("metadata", {"total_size": total}), ("weight_map", OrderedDict(sorted(weight_map.items())))])
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    golden(os.path.join(OUT, "sharded", "sharded.safetensors"), "safetensors-index", weights)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
