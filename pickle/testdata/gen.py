"""Writes the pickle test corpus of package pickle (run from this folder):

    /usr/bin/python3 gen.py

Every file is made by CPython's own pickle module (no hand-made bytes, except
where a file's point is to be malformed, which its name says). The hostile
payloads are only written, never loaded.
"""
import collections
import enum
import os
import pickle
import sys
import types


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# Values covering every opcode family, in every protocol.
class Color(enum.Enum):
    RED = 1
    GREEN = 2


sample = {
    "none": None, "true": True, "false": False,
    "small": 7, "neg": -300, "int32": 2**31 - 1, "big": 2**100, "negbig": -(2**70),
    "float": 0.1, "inf": float("inf"),
    "str": "héllo", "long_str": "x" * 300, "bytes": b"\x00\x01\xff", "bytearray": bytearray(b"ab"),
    "list": [1, [2, [3]]], "tuple0": (), "tuple1": (1,), "tuple2": (1, 2), "tuple3": (1, 2, 3), "tuple5": (1, 2, 3, 4, 5),
    "set": {3, 1, 2}, "frozenset": frozenset({"b", "a"}),
    "od": collections.OrderedDict([("z", 1), ("a", 2)]),
    "intkeys": {0: "zero", 1: "one"},
    "many": list(range(2500)),
}
shared = [1, 2]
sample["shared_a"] = shared
sample["shared_b"] = shared
for proto in range(0, 6):
    write(f"values_p{proto}.pkl", pickle.dumps(sample, protocol=proto))

# A module-level class under a fake module name, so pickles name it.
mod = types.ModuleType("fakepkg.things")
sys.modules["fakepkg"] = types.ModuleType("fakepkg")
sys.modules["fakepkg.things"] = mod


class Thing:
    def __init__(self, a, b):
        self.a = a
        self.b = b


Thing.__module__ = "fakepkg.things"
Thing.__qualname__ = "Thing"
mod.Thing = Thing


class Slotted:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x


Slotted.__module__ = "fakepkg.things"
Slotted.__qualname__ = "Slotted"
mod.Slotted = Slotted


class Kw:
    def __init__(self, *, k):
        self.k = k

    def __getnewargs_ex__(self):
        return ((), {"k": self.k})


Kw.__module__ = "fakepkg.things"
Kw.__qualname__ = "Kw"
mod.Kw = Kw


class Enumish(enum.Enum):
    gradients = 2


Enumish.__module__ = "deepspeed.runtime.zero.config"
Enumish.__qualname__ = "ZeroStageEnum"
Enumish.__name__ = "ZeroStageEnum"
dsmod = types.ModuleType("deepspeed.runtime.zero.config")
dsmod.ZeroStageEnum = Enumish
for m in ("deepspeed", "deepspeed.runtime", "deepspeed.runtime.zero"):
    sys.modules[m] = types.ModuleType(m)
sys.modules["deepspeed.runtime.zero.config"] = dsmod

objs = {"thing": Thing(1, [2]), "slotted": Slotted(5), "stage": Enumish.gradients}
for proto in (2, 4):
    write(f"objects_p{proto}.pkl", pickle.dumps(objs, protocol=proto))
write("newobj_ex_p4.pkl", pickle.dumps(Kw(k=3), protocol=4))

# A self-referencing list.
cyc = [1]
cyc.append(cyc)
write("cycle_p2.pkl", pickle.dumps(cyc, protocol=2))


# Hostile payloads: what a malicious checkpoint does.
class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


write("evil_os_system.pkl", pickle.dumps(Evil(os.system, "echo pwned"), protocol=2))
write("evil_eval.pkl", pickle.dumps(Evil(eval, "1+1"), protocol=2))
import subprocess  # noqa: E402
write("evil_popen.pkl", pickle.dumps(Evil(subprocess.Popen, ["true"]), protocol=4))


class EvilGetattr:
    def __reduce__(self):
        return (getattr, (os, "system"))


# getattr on a module object cannot be pickled by reference; use a class.
class EvilGetattrClass:
    def __reduce__(self):
        return (getattr, (Thing, "__init__"))


write("evil_getattr.pkl", pickle.dumps(EvilGetattrClass(), protocol=2))
