"""The reference side of the differential test of `ckptinspect scan`.

For a file, list the globals CPython 3.11's C unpickler (Modules/_pickle.c)
would import, in every pickle that some loader would run: torch.load,
pickle.load over a file with look-ahead, and over an io.BytesIO (the two
readers disagree about FRAMEs cut inside an argument).  The unpickler is a
subclass of pickle.Unpickler (the C one) whose find_class records the
(module, name) it is handed and returns an inert stand-in: NOTHING IS EVER
IMPORTED OR CALLED.  EXT opcodes go through copyreg's extension registry:
each code is registered (in this process only) as the placeholder global
("copyreg._inverted_registry", "<code>") that `scan` names it by, so that
find_class sees it too.

Two calls are followed, because torch.load follows them:
_codecs.encode(text, "latin1") is computed (a pure function of a str), and
torch.storage._load_from_bytes(b) records the globals of b as a torch.save
file of its own (torch.load of b).

Used by gen_hostile.py; run alone it prints the globals of the files given:
    /usr/bin/python3 testdata/gen/gen_hostile_record.py FILE...
"""

import codecs
import copyreg
import io
import pickle
import struct
import sys
import tarfile
import zipfile
import zlib

MAGIC = 0x1950A86A20F9469CFC6C
EXT_MODULE = "copyreg._inverted_registry"
MAX_NESTING = 4


def register_ext(codes):
    for code in codes:
        key = (EXT_MODULE, str(code))
        if copyreg._extension_registry.get(key) != code:
            copyreg.add_extension(EXT_MODULE, str(code), code)


def _anything(*args, **kwargs):
    return None


class _Any:
    """A descriptor callable from a class and from an instance."""

    def __get__(self, inst, owner):
        return _anything


class _StubMeta(type):
    def __setitem__(cls, k, v):
        pass

    def __call__(cls, *args, **kwargs):
        return cls._call(args)


class Recorder:
    def __init__(self):
        self.imports = set()
        self.dynamic = False
        self.depth = 0
        self.storages = []

    def stub(self, module, name):
        rec = self

        def _call(cls, args):
            if (module, name) == ("_codecs", "encode") and len(args) == 2 and all(isinstance(a, str) for a in args):
                try:
                    return codecs.encode(args[0], args[1])
                except Exception:
                    pass
            if (module, name) == ("torch.storage", "_load_from_bytes") and len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
                if rec.depth < MAX_NESTING:
                    rec.depth += 1
                    try:
                        rec.file(bytes(args[0]), nested=True)
                    finally:
                        rec.depth -= 1
            return object.__new__(cls)

        ns = {
            "_call": classmethod(_call),
            "__setstate__": _Any(),
            "append": _Any(),
            "extend": _Any(),
            "add": _Any(),
            "__setitem__": lambda self, k, v: None,
            "__call__": lambda self, *a, **k: object.__new__(type(self)),
            "__new__": lambda cls, *a, **k: object.__new__(cls),
            "__module__": "stub",
        }
        return _StubMeta("Stub", (), ns)

    def unpickler(self, f):
        rec = self

        class Rec(pickle.Unpickler):
            def find_class(self, module, name):
                rec.imports.add((module, name))
                return rec.stub(module, name)

            def persistent_load(self, pid):
                if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage" and isinstance(pid[2], str):
                    rec.storages.append(pid[2])
                return rec.stub("persistent", "id")()

        return Rec(f, encoding="utf-8")

    def loads_seq(self, data, mode, count=None, legacy=False):
        """Loads pickles back to back from data, as a reader of the mode."""
        f = io.BufferedReader(io.BytesIO(data)) if mode == "flat" else io.BytesIO(data)
        n = 0
        while True:
            pos = f.tell()
            if pos >= len(data) or (count is not None and n >= count):
                return
            try:
                v = self.unpickler(f).load()
            except Exception as e:
                if "STACK_GLOBAL requires str" in str(e):
                    self.dynamic = True
                return
            n += 1
            if legacy and n == 1 and isinstance(v, int) and v == MAGIC:
                count = 5  # the legacy torch.save format: magic, protocol, sys_info, object, keys

    def pickles(self, data, legacy=True):
        for mode in ("flat", "stream"):
            self.loads_seq(data, mode, legacy=legacy)

    def file(self, data, nested=False):
        if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            self.zip(data)
            return
        if is_tar(data):
            self.tar(data)
        if data[:1] and starts_pickle(data[:2]) or data[:1] and data[0:1] in OPCODES:
            self.pickles(data)
        if not nested and zipfile.is_zipfile(io.BytesIO(data)):
            self.zip(data)

    def zip(self, data):
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except Exception:
            return
        stored = None
        for info in z.infolist():
            b = raw_record(data, info)
            if b is None:
                continue
            if info.filename.lower().endswith(".pkl"):
                for mode in ("flat", "stream"):
                    self.loads_seq(b, mode)
            elif starts_pickle(b[:2]):
                # A record not named .pkl counts when its first pickle
                # reads to its STOP (otherwise it is data); torch.load
                # never unpickles it, another loader would with one
                # pickle.load, so only that first pickle counts.
                probe = Recorder()
                try:
                    probe.unpickler(io.BufferedReader(io.BytesIO(b))).load()
                except Exception:
                    continue
                # The storage records a data.pkl names are read by
                # torch.load as numbers, never unpickled.
                if stored is None:
                    stored = storage_records(data, z)
                if info.filename.lower() in stored:
                    continue
                for mode in ("flat", "stream"):
                    self.loads_seq(b, mode, count=1)

    def tar(self, data):
        try:
            t = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        except tarfile.TarError:
            return
        for m in t.getmembers():
            if not m.isreg():
                continue
            b = t.extractfile(m).read()
            if m.name in ("storages", "tensors", "pickle") or starts_pickle(b[:2]):
                self.loads_seq(b, "flat")


def storage_records(data, z):
    """The lower-case names of the records data/<key> beside a data.pkl
    whose pickle names the storage key in a persistent id."""
    names = set()
    for info in z.infolist():
        lower = info.filename.lower()
        if lower != "data.pkl" and not lower.endswith("/data.pkl"):
            continue
        b = raw_record(data, info)
        if b is None:
            continue
        probe = Recorder()
        try:
            probe.unpickler(io.BufferedReader(io.BytesIO(b))).load()
        except Exception:
            pass
        names.update(lower[: -len("data.pkl")] + "data/" + k.lower() for k in probe.storages)
    return names


OPCODES = set(bytes([c]) for c in b"(.0123FIJKLMNPQRSTUVXabcd}eghijl]opqrst)uGBC") | set(bytes([c]) for c in range(0x80, 0x99))


def starts_pickle(b):
    if len(b) >= 2 and b[0] == 0x80 and b[1] <= 5:
        return True
    return len(b) > 0 and b[0] in b"(cI]}lLSVNdi)"


def is_tar(data):
    try:
        tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        return True
    except Exception:
        return False


def raw_record(data, info):
    """The record's bytes as torch reads them: no CRC check, inflated as it comes."""
    off = info.header_offset
    if data[off:off + 4] != b"PK\x03\x04":
        return None
    nlen, xlen = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + nlen + xlen
    raw = data[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return raw
    if info.compress_type == zipfile.ZIP_DEFLATED:
        d = zlib.decompressobj(-15)
        try:
            return d.decompress(raw, 1 << 30)
        except zlib.error:
            return None
    return None


def record(data, ext_codes=()):
    register_ext(ext_codes)
    copyreg._extension_cache.clear()
    r = Recorder()
    r.file(data)
    return sorted(r.imports), r.dynamic


if __name__ == "__main__":
    for p in sys.argv[1:]:
        with open(p, "rb") as f:
            imports, dynamic = record(f.read(), range(1, 300))
        print(p, imports, "dynamic" if dynamic else "")
