"""Writes the fixtures of `ckptinspect scan` in testdata/scan/.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_scan.py
(PyTorch 1.13; deterministic: re-running gives byte-identical files.)

Hostile payloads are only ever written here, never loaded: every file is made by
torch.save or CPython's pickle module from objects whose __reduce__ names the
payload, and the legacy files' storage keys (pointer values) are made fixed by
static rewriting (pickletools, nothing is unpickled).

  zip_os_system.pt       torch.save (zip): a state dict with a tensor and os.system('echo pwned')
  zip_eval.pt            torch.save (zip): builtins.eval
  zip_popen.pt           torch.save (zip): subprocess.Popen
  legacy_os_system.pt    torch.save legacy format: os.system in the object pickle, beside a tensor
  tensor_p2.pkl          pickle.dumps of a tensor, protocol 2: its storage is
                         torch.storage._load_from_bytes(_codecs.encode(<legacy torch.save>, 'latin1'))
  tensor_p4.pkl          the same, protocol 4: _load_from_bytes(<bytes literal>)
  nested_evil_p2.pkl     _load_from_bytes of a legacy torch.save file holding os.system (protocol 2)
  nested_evil_p4.pkl     the same, protocol 4
  multi_evil.pkl         two pickles back to back: a clean dict, then os.system
"""

import io
import os
import pickle
import pickletools
import subprocess
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import tdlib  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "scan")


class Evil:
    """Pickles as fn(arg): what a hostile checkpoint holds."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


class FromBytes:
    """Pickles as torch.storage._load_from_bytes(payload), as a storage does."""

    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (torch.storage._load_from_bytes, (self.payload,))


class PickledTensor:
    """Pickles as pickle.dumps(tensor) does, over a by-value storage."""

    def __init__(self, storage, n):
        self.storage, self.n = storage, n

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (self.storage, 0, (self.n,), (1,), False, OrderedDict()))


def skip_pickle(f):
    for _ in pickletools.genops(f):
        pass


def legacy_fixed_keys(data):
    """Replaces the storage keys of a legacy torch.save file, statically."""
    f = io.BytesIO(data)
    for _ in range(3):  # magic, protocol version, sys_info
        skip_pickle(f)
    obj_start = f.tell()
    skip_pickle(f)
    keys_start = f.tell()
    skip_pickle(f)
    data_start = f.tell()
    keys = [arg for op, arg, _ in pickletools.genops(data[keys_start:data_start])
            if op.name in ("BINUNICODE", "SHORT_BINUNICODE")]
    assert keys == sorted(keys)
    mapping = {k: str(93000000000000 + 4096 * i) for i, k in enumerate(keys)}
    obj_pkl, _, _ = tdlib.rewrite_pickle(data[obj_start:keys_start], strings_map=mapping)
    keys_pkl = pickle.dumps([mapping[k] for k in keys], protocol=2)
    return data[:obj_start] + obj_pkl + keys_pkl + data[data_start:]


def legacy_bytes(obj):
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=False)
    return legacy_fixed_keys(b.getvalue())


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"  {name}: {len(data)} bytes")


def save_zip(name, obj):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    print(f"  {name}: {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    save_zip("zip_os_system.pt", OrderedDict([("weight", w), ("payload", Evil(os.system, "echo pwned"))]))
    save_zip("zip_eval.pt", {"weight": w, "payload": Evil(eval, "print('pwned')")})
    save_zip("zip_popen.pt", {"weight": w, "payload": Evil(subprocess.Popen, ["echo", "pwned"])})
    write("legacy_os_system.pt", legacy_bytes({"weight": w, "payload": Evil(os.system, "echo pwned")}))

    x = torch.tensor([1.0, 2.0, 3.0])
    storage = legacy_bytes(x.storage())
    evil = legacy_bytes({"payload": Evil(os.system, "echo pwned")})
    for proto in (2, 4):
        write(f"tensor_p{proto}.pkl", pickle.dumps(PickledTensor(FromBytes(storage), 3), protocol=proto))
        write(f"nested_evil_p{proto}.pkl", pickle.dumps(PickledTensor(FromBytes(evil), 3), protocol=proto))
    write("multi_evil.pkl", pickle.dumps({"a": 1, "b": [2, 3]}, protocol=2)
          + pickle.dumps(Evil(os.system, "echo pwned"), protocol=2))


if __name__ == "__main__":
    main()
