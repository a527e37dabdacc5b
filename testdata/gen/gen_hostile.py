"""Writes the corpus of `ckptinspect scan` in testdata/hostile/: hostile files
(testdata/hostile/hostile/) that some loader would make run code, benign files
(testdata/hostile/benign/) that must scan clean, and golden.json, the globals
CPython's unpickler imports for each file (gen_hostile_record.py: find_class
records and resolves nothing), for the differential test.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_hostile.py
(PyTorch 1.13, numpy, CPython 3.11; deterministic.)

NOTHING HERE EVER RUNS A PAYLOAD.  Hostile files are assembled opcode by opcode
from bytes, or made by pickle.dumps / torch.save of objects whose __reduce__
NAMES a payload (pickling only writes the name); they are read back only by the
recorder, whose find_class returns an inert stand-in.

Classes of hostile files (the file name starts with the class):
  parse_*     constructs where scanners and CPython's C unpickler used to read
              the bytes differently: protocols 0/1 without PROTO, INT/LONG/PUT/GET
              texts, LONG1/LONG4 of length 0, FRAMEs cut inside an argument, STRING
              and UNICODE names, READONLY_BUFFER, EXT codes, STOP then more pickles,
              big LONG4s, memo tricks
  zip_*       containers read as torch.load reads them: pickles in records not
              named data.pkl, names in other case, duplicates, local names that
              differ, compressed records, bad CRCs, a zip appended to a pickle
  poly_*      polyglots: tar + pickle, safetensors + pickle, the pre-0.4 tar format
  policy_*    globals an allowlist must refuse: nested loaders, file writers,
              dotted names, Python 2 names, getattr abuse, callables fed computed
              arguments, monkeypatching with BUILD, calls of returned values
  deny_*      one file per global of the deny lists (picklescan, modelscan,
              fickling) and the additions: each imported and called
  nest_*      torch.storage._load_from_bytes payloads: evil inside, nested,
              computed arguments
  limit_*     pickles past the scanner's limits (what follows cannot be vouched for)
"""

import collections
import copyreg
import datetime
import enum
import dataclasses
import io
import json
import zipfile
import os
import pathlib
import pickle
import random
import struct
import sys
import tarfile
import types
import zlib
from argparse import Namespace

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dsfake  # noqa: E402
import gen_hostile_record as rec  # noqa: E402
import gen_scan  # noqa: E402
import tdlib  # noqa: E402

OUT = os.path.join(os.path.dirname(HERE), "hostile")
CMD = "echo pwned"

# ---------------------------------------------------------------------------
# opcode assembly


def proto(n):
    return b"\x80" + bytes([n])


def glob(m, n):
    return b"c" + m.encode() + b"\n" + n.encode() + b"\n"


def sbu(s):
    b = s.encode() if isinstance(s, str) else s
    return b"\x8c" + bytes([len(b)]) + b


def bu(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def sbb(b):
    return b"C" + bytes([len(b)]) + b


def sglob(m, n):
    return sbu(m) + sbu(n) + b"\x93"


def call1(fn, arg):
    return fn + arg + b"\x85R"


def evil0(m="os", n="system", arg=CMD):
    """Protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE, STOP."""
    return glob(m, n) + b"(S'" + arg.encode() + b"'\ntR."


def evil2(m="os", n="system", arg=CMD):
    return proto(2) + call1(glob(m, n), bu(arg)) + b"."


def evil4(m="os", n="system", arg=CMD):
    return proto(4) + call1(sglob(m, n), sbu(arg)) + b"."


def frame(n):
    return b"\x95" + struct.pack("<Q", n)


CLEAN2 = pickle.dumps({"a": 1, "b": [2.0, "x"]}, protocol=2)


class Reduce:
    """Pickles as fn(*args): the name is written, nothing is called."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class Named:
    """A global by name, for __reduce__: pickles as GLOBAL module name."""

    def __init__(self, module, name):
        self.module, self.name = module, name


def named_reduce(module, name, args, proto_=2):
    """A pickle calling module.name(*args), assembled (the module need not exist)."""
    body = b"".join(pickle.dumps(a, protocol=proto_)[2:-1] for a in args)
    return proto(proto_) + glob(module, name) + b"(" + body + b"tR."


# ---------------------------------------------------------------------------
# containers


def torch_bytes(obj, legacy=False):
    """torch.save output; the legacy format's storage keys (memory
    addresses) made fixed, so that the corpus is deterministic."""
    if legacy:
        return gen_scan.legacy_bytes(obj)
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=True)
    return b.getvalue()


def dumps_tensor(t, protocol):
    """What pickle.dumps(t) writes (torch.storage._load_from_bytes of a legacy
    torch.save of the storage), with fixed storage keys."""
    return pickle.dumps(gen_scan.PickledTensor(gen_scan.FromBytes(gen_scan.legacy_bytes(t.storage())), t.numel()), protocol=protocol)


BASE_ZIP = None


def base_records():
    """The records of a real torch.save zip file (a 2x3 tensor), name -> bytes."""
    global BASE_ZIP
    if BASE_ZIP is None:
        raw = torch_bytes({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)})
        import zipfile
        z = zipfile.ZipFile(io.BytesIO(raw))
        BASE_ZIP = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    return list(BASE_ZIP)


def mkzip(records, local_names=None, bad_crc=(), deflate=(), trailer=b""):
    """A zip archive; records: [(name, data)].  local_names: {index: name in the
    local header}; bad_crc / deflate: indices."""
    out = io.BytesIO()
    central = []
    for i, (name, data) in enumerate(records):
        nb = name.encode()
        lnb = (local_names or {}).get(i, name).encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if i in bad_crc:
            crc ^= 0xDEADBEEF
        method, payload = 0, data
        if i in deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
            method = 8
        off = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(payload), len(data), len(lnb), 0))
        out.write(lnb)
        out.write(payload)
        central.append((nb, crc, len(payload), len(data), off, method))
    cd = out.tell()
    for nb, crc, csize, usize, off, method in central:
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, csize, usize, len(nb), 0, 0, 0, 0, 0o644 << 16, off))
        out.write(nb)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), end - cd, cd, 0))
    return out.getvalue() + trailer


def zip_with_pkl(pkl, name="archive/data.pkl", extra=()):
    recs = [(n, d) for n, d in base_records()]
    prefix = recs[0][0].split("/")[0]
    recs = [((name if n.endswith("/data.pkl") else n.replace(prefix + "/", "archive/", 1)), (pkl if n.endswith("/data.pkl") else d)) for n, d in recs]
    return mkzip(recs + list(extra))


def mktar(members, first_name=None):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return out.getvalue()


# ---------------------------------------------------------------------------
# Hugging Face stand-ins (real module and class names; transformers and
# accelerate are not installed)


def hf_module(name):
    return dsfake._module(name)


class ExplicitEnum(str, enum.Enum):
    pass


def hf_enum(module, name, members):
    e = enum.Enum(name, members, type=str)
    e.__module__ = module
    e.__qualname__ = name
    setattr(hf_module(module), name, e)
    return e


IntervalStrategy = hf_enum("transformers.trainer_utils", "IntervalStrategy", {"NO": "no", "STEPS": "steps", "EPOCH": "epoch"})
SaveStrategy = hf_enum("transformers.trainer_utils", "SaveStrategy", {"NO": "no", "STEPS": "steps", "EPOCH": "epoch", "BEST": "best"})
SchedulerType = hf_enum("transformers.trainer_utils", "SchedulerType", {"LINEAR": "linear", "COSINE": "cosine", "WSD": "warmup_stable_decay"})
HubStrategy = hf_enum("transformers.trainer_utils", "HubStrategy", {"END": "end", "EVERY_SAVE": "every_save"})
FSDPOption = hf_enum("transformers.trainer_utils", "FSDPOption", {"FULL_SHARD": "full_shard"})
OptimizerNames = hf_enum("transformers.training_args", "OptimizerNames", {"ADAMW_TORCH": "adamw_torch", "ADAMW_HF": "adamw_hf"})
DebugOption = hf_enum("transformers.debug_utils", "DebugOption", {"UNDERFLOW_OVERFLOW": "underflow_overflow"})
DistributedType = hf_enum("accelerate.utils.dataclasses", "DistributedType", {"NO": "NO", "MULTI_GPU": "MULTI_GPU", "DEEPSPEED": "DEEPSPEED"})


def hf_class(module, name, base=object, dataclass=False):
    cls = type(name, (base,), {"__module__": module, "__qualname__": name})
    if dataclass:
        cls = dataclasses.dataclass(cls)
    setattr(hf_module(module), name, cls)
    return cls


TrainingArguments = hf_class("transformers.training_args", "TrainingArguments")
AcceleratorConfig = hf_class("transformers.trainer_pt_utils", "AcceleratorConfig")
PartialState = hf_class("accelerate.state", "PartialState")
DeepSpeedPlugin = hf_class("accelerate.utils.dataclasses", "DeepSpeedPlugin")
HfTrainerDeepSpeedConfig = hf_class("transformers.integrations.deepspeed", "HfTrainerDeepSpeedConfig")


def training_args(with_deepspeed):
    """What a transformers 4.4x Trainer pickles as training_args.bin."""
    a = TrainingArguments()
    a.__dict__.update(dict(
        output_dir="out", overwrite_output_dir=False, do_train=True, eval_strategy=IntervalStrategy.STEPS,
        prediction_loss_only=False, per_device_train_batch_size=4, gradient_accumulation_steps=8,
        learning_rate=1e-2, weight_decay=0.1, adam_beta1=0.9, adam_beta2=0.95, adam_epsilon=1e-8,
        max_grad_norm=1.0, num_train_epochs=1.0, max_steps=120, lr_scheduler_type=SchedulerType.WSD,
        lr_scheduler_kwargs={}, warmup_ratio=0.0, warmup_steps=10, log_level="passive",
        logging_strategy=IntervalStrategy.STEPS, logging_steps=1, save_strategy=SaveStrategy.STEPS,
        save_steps=60, save_total_limit=None, seed=42, bf16=True, fp16=False, debug=[DebugOption.UNDERFLOW_OVERFLOW][:0],
        fsdp=[], fsdp_config={"min_num_params": 0, "xla": False}, deepspeed="ds.json" if with_deepspeed else None,
        optim=OptimizerNames.ADAMW_TORCH, report_to=["tensorboard"], hub_strategy=HubStrategy.EVERY_SAVE,
        ddp_timeout=1800, torch_compile=False, include_tokens_per_second=False,
        _n_gpu=1, distributed_state=None))
    cfg = AcceleratorConfig()
    cfg.__dict__.update(split_batches=False, dispatch_batches=None, even_batches=True, use_seedable_sampler=True,
                        non_blocking=False, gradient_accumulation_kwargs=None)
    a.accelerator_config = cfg
    st = PartialState()
    st.__dict__.update(_cpu=False, backend="nccl", device=torch.device("cuda", 0), debug=False,
                       distributed_type=DistributedType.DEEPSPEED if with_deepspeed else DistributedType.MULTI_GPU,
                       num_processes=8, process_index=0, local_process_index=0, fork_launched=False)
    a.distributed_state = st
    a.__dict__["__cached__setup_devices"] = torch.device("cuda", 0)
    if with_deepspeed:
        hf = HfTrainerDeepSpeedConfig()
        hf.__dict__.update(config={"zero_optimization": {"stage": 2}, "bf16": {"enabled": True}}, _stage=2,
                           _offload=False, _dtype=torch.bfloat16, mismatches=[])
        a.hf_deepspeed_config = hf
        p = DeepSpeedPlugin()
        p.__dict__.update(hf_ds_config=hf, gradient_accumulation_steps=8, gradient_clipping=1.0, zero_stage=2,
                          is_train_batch_min=True, offload_optimizer_device="none", zero3_init_flag=False)
        a.deepspeed_plugin = p
    return a


# ---------------------------------------------------------------------------
# the corpus

FILES = []  # (kind, relative name, bytes, note)
EXT_CODES = set()


def hostile(name, data, note=""):
    FILES.append(("hostile", name, data, note))


def benign(name, data, note=""):
    FILES.append(("benign", name, data, note))


def parse_cases():
    hostile("parse_p0_global_reduce.pkl", evil0(), "protocol 0, no PROTO")
    hostile("parse_p0_inst", b"(S'" + CMD.encode() + b"'\nios\nsystem\n.", "protocol 0 INST, no extension")
    hostile("parse_p0_obj.pkl", b"(" + glob("subprocess", "call") + b"(S'ls'\nlo.", "protocol 0 OBJ")
    hostile("parse_p1_binary.pkl", glob("os", "system") + b"(X" + struct.pack("<I", len(CMD)) + CMD.encode() + b"tR.", "protocol 1 opcodes without PROTO")
    hostile("parse_int_hex.pkl", b"I0x10\n0" + evil0()[:-1] + b".", "INT 0x10 (C strtol base 0) before the payload")
    hostile("parse_int_underscore.pkl", b"I1_000\n0" + evil0(), "INT 1_000 (PyLong_FromString)")
    hostile("parse_int_spaces.pkl", b"I  12  \n0" + evil0(), "INT with spaces")
    hostile("parse_int_octal.pkl", b"I010\n0" + evil0(), "INT 010 (octal for strtol)")
    hostile("parse_int_nul.pkl", b"I5\x00junk\n0" + evil0(), "INT text cut at a NUL byte")
    hostile("parse_long_hex.pkl", b"L0x10L\n0" + evil0(), "LONG 0x10L")
    hostile("parse_long_plus.pkl", b"L +7_7 \n0" + evil0(), "LONG with sign, underscore, spaces")
    hostile("parse_long1_empty.pkl", proto(2) + b"\x8a\x00" + b"0" + evil2()[2:], "LONG1 of length 0 (the integer 0)")
    hostile("parse_long4_empty.pkl", proto(2) + b"\x8b\x00\x00\x00\x00" + b"0" + evil2()[2:], "LONG4 of length 0")
    hostile("parse_long4_big.pkl", proto(2) + b"\x8b" + struct.pack("<i", 6000) + b"\x01" * 6000 + b"0" + evil2()[2:], "a 6000-byte LONG4 (past old limits)")
    hostile("parse_long_digits.pkl", b"L" + b"7" * 4000 + b"L\n0" + evil0(), "a 4000-digit LONG")
    hostile("parse_put_get_text.pkl", glob("os", "system") + b"p 1_0\n0g10\n(S'ls'\ntR.", "PUT ' 1_0' / GET 10")
    hostile("parse_get_plus.pkl", glob("os", "system") + b"p7\n0g+07\n(S'ls'\ntR.", "GET +07")
    hostile("parse_memo_sparse.pkl", proto(2) + glob("os", "system") + b"r\x00\x00\x00\x01" + b"0j\x00\x00\x00\x01" + bu("ls") + b"\x85R.", "LONG_BINPUT at a huge index")
    hostile("parse_memoize_get.pkl", proto(4) + sglob("os", "system") + b"\x94" + b"0" + b"h\x00" + sbu("ls") + b"\x85R.", "MEMOIZE then BINGET")
    hostile("parse_stop_then_evil.pkl", CLEAN2 + evil2(), "STOP, then a second pickle")
    hostile("parse_third_pickle.pkl", CLEAN2 + CLEAN2 + evil4(), "the third pickle")
    hostile("parse_string_names.pkl", proto(4) + b"S'os'\nS'system'\n\x93" + sbu("ls") + b"\x85R.", "STACK_GLOBAL of STRING opcodes")
    hostile("parse_string_escapes.pkl", proto(4) + b"S'o\\x73'\nS'sys\\164em'\n\x93" + sbu("ls") + b"\x85R.", "STRING names written with escapes")
    hostile("parse_unicode_names.pkl", proto(4) + b"V\\u006fs\nVsystem\n\x93" + sbu("ls") + b"\x85R.", "UNICODE names with raw-unicode-escapes")
    hostile("parse_binstring_names.pkl", proto(4) + b"U\x02osT\x06\x00\x00\x00system\x93" + sbu("ls") + b"\x85R.", "SHORT_BINSTRING/BINSTRING names")
    hostile("parse_binunicode8_names.pkl", proto(4) + b"\x8d" + struct.pack("<Q", 2) + b"os" + b"\x8d" + struct.pack("<Q", 6) + b"system\x93" + sbu("ls") + b"\x85R.", "BINUNICODE8 names")
    hostile("parse_readonly_buffer.pkl", proto(5) + sbb(b"abc") + b"\x98" + b"0" + evil4()[2:], "READONLY_BUFFER on bytes")
    hostile("parse_bytearray8.pkl", proto(5) + b"\x96" + struct.pack("<Q", 3) + b"abc" + b"0" + evil4()[2:], "BYTEARRAY8")
    for code, op in ((7, b"\x82\x07"), (300, b"\x83" + struct.pack("<H", 300)), (0x1234567, b"\x84" + struct.pack("<i", 0x1234567))):
        EXT_CODES.add(code)
        hostile(f"parse_ext_{code}.pkl", proto(2) + op + bu("ls") + b"\x85R.", "EXT code: a global from copyreg's extension registry")
    hostile("parse_proto_change.pkl", proto(2) + b"N0" + proto(4) + sglob("torch", "os.system") + sbu("ls") + b"\x85R.", "PROTO 4 in the middle: dotted names resolve")
    hostile("parse_dup_pop_mark.pkl", b"((N1" + glob("os", "system") + b"2" + b"0(S'ls'\ntR.", "POP_MARK, DUP")
    hostile("parse_empty_tuple_args.pkl", proto(2) + glob("os", "getpid") + b")R.", "EMPTY_TUPLE arguments")
    hostile("parse_newobj.pkl", proto(2) + glob("subprocess", "Popen") + b"]" + bu("ls") + b"a\x85\x81.", "NEWOBJ of a dangerous class")
    hostile("parse_newobj_ex.pkl", proto(4) + sglob("subprocess", "Popen") + b"]" + sbu("ls") + b"a\x85}\x92.", "NEWOBJ_EX")
    hostile("parse_build_setstate.pkl", proto(2) + glob("subprocess", "Popen") + b")\x81}b.", "BUILD after NEWOBJ")
    # FRAMEs cut inside an argument: readers disagree.  L is the string's
    # declared length; the frame holds its first 2 bytes only.
    tail = b"zz" + b"co" + b"s\nsystem\n(S'ls'\ntR."
    L = 4  # flat reads "ab"+"zz" and goes on at "cos\n...": GLOBAL os.system
    body = b"\x8c" + bytes([L]) + b"ab"
    hostile("parse_frame_flat_evil.pkl", proto(4) + frame(len(body)) + body + tail,
            "FRAME cut inside an argument: a reader with look-ahead runs os.system")
    body = b"\x8c\x02" + b"x"
    tail2 = b"yy" + evil0()  # stream: drops "x", reads "yy", then the payload; flat: "xy", then "y" (not an opcode)
    hostile("parse_frame_stream_evil.pkl", proto(4) + frame(len(body)) + body + tail2,
            "FRAME cut inside an argument: io.BytesIO (torch.load of a zip record) runs os.system")
    hostile("parse_frame_line_stream.pkl", proto(4) + frame(3) + b"cab" + b"os\nsystem\n(S'ls'\ntR.",
            "a GLOBAL line cut by the frame: the stream reader reads the line after it")
    stop_frame = proto(4) + frame(8) + b"N." + b"\xff\xff\xff\xff\xff\xff"
    hostile("parse_stop_in_frame.pkl", stop_frame + evil4(), "STOP inside a frame: a stream reader goes on after the frame")
    hostile("parse_frame_ok_evil.pkl", pickle.dumps(Reduce(os.system, CMD), protocol=4), "protocol 4 with frames, as Python writes it")
    hostile("parse_p5.pkl", pickle.dumps(Reduce(os.system, CMD), protocol=5), "protocol 5")
    hostile("parse_p3.pkl", pickle.dumps(Reduce(os.system, CMD), protocol=3), "protocol 3")
    hostile("parse_p1_dumps.pkl", pickle.dumps(Reduce(os.system, CMD), protocol=1), "pickle.dumps protocol 1")
    hostile("parse_p0_dumps.pkl", pickle.dumps(Reduce(os.system, CMD), protocol=0), "pickle.dumps protocol 0")
    hostile("parse_tuple3_args.pkl", proto(2) + glob("os", "spawnl") + b"K\x00" + bu("/bin/sh") + bu("sh") + b"\x87R.", "TUPLE3 arguments")


def zip_cases():
    evil = evil2()
    hostile("zip_data_pkl.pt", zip_with_pkl(evil), "data.pkl of a torch.save zip")
    hostile("zip_other_record.pt", zip_with_pkl(CLEAN2, extra=[("archive/data/7", evil2("builtins", "eval", "1+1"))]), "a pickle in a record not named .pkl")
    hostile("zip_constants_pkl.pt", zip_with_pkl(CLEAN2, extra=[("archive/constants.pkl", evil4("subprocess", "check_output", "ls"))]), "constants.pkl (TorchScript)")
    hostile("zip_upper_case.pt", zip_with_pkl(evil, name="ARCHIVE/DATA.PKL"), "DATA.PKL: torch compares names without case")
    recs = [(n.replace(base_records()[0][0].split("/")[0] + "/", "archive/", 1), d) for n, d in base_records()]
    pk = [i for i, (n, _) in enumerate(recs) if n.endswith("data.pkl")][0]
    dup_first = recs[:pk] + [("archive/data.pkl", evil)] + recs[pk:]
    hostile("zip_duplicate_first.pt", mkzip(dup_first), "two data.pkl records, the first one evil")
    dup_last = recs + [("archive/data.pkl", evil)]
    hostile("zip_duplicate_last.pt", mkzip(dup_last), "two data.pkl records, the last one evil")
    swapped = [(n, evil if i == pk else d) for i, (n, d) in enumerate(recs)]
    hostile("zip_local_name_differs.pt", mkzip(swapped, local_names={pk: "archive/innocent.bin"}), "the local header names another file")
    hostile("zip_deflated.pt", mkzip(swapped, deflate={pk}), "data.pkl deflated")
    hostile("zip_bad_crc.pt", mkzip(swapped, bad_crc={pk}), "a wrong CRC (torch does not check it)")
    hostile("zip_deflated_bad_crc.pt", mkzip(swapped, deflate={pk}, bad_crc={pk}), "deflated, wrong CRC")
    hostile("zip_deflated_other.pt", mkzip(recs + [("archive/x", evil4("builtins", "exec", "1"))], deflate={len(recs)}), "a deflated record not named .pkl")
    hostile("zip_second_pickle.pt", mkzip([(n, CLEAN2 + evil if i == pk else d) for i, (n, d) in enumerate(recs)]), "data.pkl holds a second pickle")
    hostile("zip_no_folder.pt", mkzip([("data.pkl", evil)]), "data.pkl at the top")
    hostile("zip_deep_folder.pt", mkzip([("a/b/c/data.pkl", evil)]), "a deeper folder")
    hostile("zip_appended_to_pickle.pkl", CLEAN2 + mkzip([("x/data.pkl", evil)]), "a zip appended to a clean pickle (zipfile reads it)")
    real = [(n.replace(base_records()[0][0].split("/")[0] + "/", "archive/", 1), d) for n, d in base_records()]
    hostile("zip_unnamed_storage_record.pt", mkzip(real + [("archive/data/1", evil0())]),
            "a pickle in a storage-like record (data/1) that data.pkl does not name")
    hostile("zip_storage_other_folder.pt", mkzip(real + [("other/data/0", evil2())]),
            "a pickle in data/0 of another folder than data.pkl's")
    hostile("zip_version_record.pt", zip_with_pkl(CLEAN2, extra=[("archive/version", evil0())]), "a record named version holding a pickle")
    hostile("zip_no_extension", zip_with_pkl(evil), "no file name extension")
    hostile("zip_ckpt.ckpt", zip_with_pkl(evil4("posix", "system")), "a .ckpt file")
    hostile("zip_bin.bin", zip_with_pkl(evil4("nt", "system")), "a .bin file")
    hostile("zip_pth_tar.pth.tar", zip_with_pkl(evil2("subprocess", "run")), "a .pth.tar file")


def poly_cases():
    # tar header whose name field is a protocol-0 pickle
    t = mktar([("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
               ("tensors", pickle.dumps(0, protocol=2)), ("pickle", CLEAN2)])
    name = evil0().decode()
    t2 = mktar([(name, b"x")])
    hostile("poly_tar_name_pickle.pt", t2, "a tar archive whose first member name is a pickle (pickle.load runs it)")
    hostile("poly_tar_legacy_pickle.tar", mktar([("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
                                                 ("tensors", pickle.dumps(0, protocol=2)), ("pickle", evil2())]),
            "the tar format of PyTorch < 0.4: evil 'pickle' member")
    hostile("poly_tar_storages.tar", mktar([("storages", evil2("builtins", "eval", "1")), ("tensors", pickle.dumps(0, protocol=2)), ("pickle", CLEAN2)]),
            "tar format: evil 'storages' member")
    hostile("poly_tar_tensors.tar", mktar([("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
                                           ("tensors", evil4("subprocess", "Popen", "ls")), ("pickle", CLEAN2)]),
            "tar format: evil 'tensors' member")
    hostile("poly_tar_other_member.tar", mktar([("pickle", CLEAN2), ("extra.pkl", evil2())]), "tar: another member holds a pickle")
    assert t
    # safetensors header length bytes that start a pickle: 'V' (UNICODE)
    # swallows the length and the JSON header up to the newline that starts
    # the tensor data, where the payload follows.
    payload = b"\n" + evil0()
    data = payload + b" " * ((-len(payload)) % 8)
    header = json.dumps({"t": {"dtype": "U8", "shape": [len(data)], "data_offsets": [0, len(data)]}}).encode()
    n = 0x56 + 256 * ((len(header) + 255) // 256)
    header = header + b" " * (n - len(header))
    st = struct.pack("<Q", n) + header + data
    assert st[0:1] == b"V"
    hostile("poly_safetensors_pickle.safetensors", st, "a safetensors file whose first bytes start a pickle")
    hostile("poly_safetensors_pickle.bin", st, "the same named .bin")
    # legacy torch.save file with the payload in each of its pickles
    legacy = torch_bytes({"w": torch.ones(2)}, legacy=True)
    parts = split_pickles(legacy, 5)
    for i, label in enumerate(["magic", "protocol", "sys_info", "object", "keys"]):
        if i == 0:
            continue
        b = legacy[:parts[i][0]] + evil2() + legacy[parts[i][1]:]
        hostile(f"poly_legacy_{label}.pt", b, f"legacy torch.save: the {label} pickle is evil")
    hostile("poly_legacy_object_p0.pt", legacy[:parts[3][0]] + evil0() + legacy[parts[3][1]:], "legacy: protocol-0 object pickle")


def split_pickles(data, n):
    import pickletools
    f = io.BytesIO(data)
    spans = []
    for _ in range(n):
        s = f.tell()
        for _ in pickletools.genops(f):
            pass
        spans.append((s, f.tell()))
    return spans


DENY = [
    ("os", "system"), ("posix", "system"), ("nt", "system"), ("os", "popen"), ("os", "execv"), ("posix", "execve"),
    ("subprocess", "Popen"), ("subprocess", "run"), ("subprocess", "check_output"), ("subprocess", "getoutput"),
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "compile"), ("builtins", "__import__"),
    ("builtins", "open"), ("builtins", "breakpoint"), ("builtins", "getattr"), ("builtins", "setattr"),
    ("builtins", "globals"), ("builtins", "input"), ("__builtin__", "eval"), ("__builtin__", "apply"),
    ("runpy", "_run_code"), ("runpy", "run_path"), ("pty", "spawn"), ("socket", "create_connection"),
    ("webbrowser", "open"), ("shutil", "rmtree"), ("shutil", "copyfile"), ("pickle", "loads"), ("_pickle", "loads"),
    ("marshal", "loads"), ("dill", "loads"), ("cloudpickle", "loads"), ("joblib", "load"), ("yaml", "unsafe_load"),
    ("torch", "load"), ("torch.serialization", "load"), ("torch.hub", "load"), ("torch.hub", "download_url_to_file"),
    ("torch", "save"), ("torch", "from_file"), ("torch.jit", "load"), ("torch.fx.graph_module", "reduce_graph_module"),
    ("torch._inductor.codecache", "compile_file"), ("torch.utils.collect_env", "run"), ("torch.utils.cpp_extension", "load_inline"),
    ("torch.utils.model_zoo", "load_url"), ("torch.distributed.distributed_c10d", "_tensor_to_object"),
    ("torch.utils.data.datapipes.utils.decoder", "basichandlers"), ("torch.jit.unsupported_tensor_ops", "execWrapper"),
    ("pandas", "read_pickle"), ("pandas.io.pickle", "read_pickle"), ("numpy", "load"), ("numpy", "memmap"),
    ("numpy", "fromfile"), ("numpy", "save"), ("numpy.testing._private.utils", "runstring"), ("numpy.f2py", "compile"),
    ("numpy.ctypeslib", "load_library"), ("logging", "FileHandler"), ("logging.handlers", "SocketHandler"),
    ("gzip", "GzipFile"), ("bz2", "BZ2File"), ("lzma", "LZMAFile"), ("zipfile", "ZipFile"), ("tarfile", "open"),
    ("tempfile", "mkstemp"), ("io", "FileIO"), ("_io", "FileIO"), ("codecs", "open"), ("glob", "glob"),
    ("importlib", "import_module"), ("importlib.machinery", "SourceFileLoader"), ("pkgutil", "resolve_name"),
    ("pydoc", "locate"), ("pydoc", "pipepager"), ("operator", "attrgetter"), ("operator", "methodcaller"),
    ("operator", "itemgetter"), ("_operator", "attrgetter"), ("functools", "partial"), ("functools", "reduce"),
    ("itertools", "starmap"), ("builtins", "map"), ("types", "FunctionType"), ("types", "CodeType"),
    ("ctypes", "CDLL"), ("ctypes", "cdll"), ("code", "InteractiveInterpreter"), ("codeop", "compile_command"),
    ("timeit", "timeit"), ("cProfile", "run"), ("profile", "run"), ("pdb", "run"), ("bdb", "Bdb"), ("trace", "Trace"),
    ("doctest", "debug_script"), ("sys", "exit"), ("signal", "raise_signal"), ("multiprocessing", "Process"),
    ("threading", "Thread"), ("_thread", "start_new_thread"), ("asyncio", "create_subprocess_shell"),
    ("requests.api", "get"), ("requests", "get"), ("aiohttp.client", "ClientSession"), ("httplib", "HTTPSConnection"),
    ("http.client", "HTTPSConnection"), ("urllib.request", "urlopen"), ("urllib2", "urlopen"), ("ftplib", "FTP"),
    ("smtplib", "SMTP"), ("ssl", "get_server_certificate"), ("venv", "create"), ("pip", "main"), ("ensurepip", "_run_pip"),
    ("distutils.file_util", "write_file"), ("idlelib.pyshell", "ModifiedInterpreter"), ("lib2to3.pgen2.grammar", "Grammar"),
    ("commands", "getoutput"), ("cPickle", "loads"), ("copy", "_reconstruct"), ("copyreg", "add_extension"),
    ("shelve", "open"), ("sqlite3", "connect"), ("mmap", "mmap"), ("fcntl", "ioctl"), ("resource", "setrlimit"),
    ("site", "main"), ("antigravity", "geohash"), ("IPython", "embed"), ("keras.models", "load_model"),
]


def deny_cases():
    for i, (m, n) in enumerate(DENY):
        enc = i % 3
        data = [evil0, evil2, evil4][enc](m, n, "x")
        hostile(f"deny_{m.replace('.', '_')}_{n}.pkl", data, f"{m}.{n} called")


def policy_cases():
    # dotted names (protocol 4 resolves them)
    for m, n in [("torch", "os.system"), ("numpy", "lib.npyio.load"), ("builtins", "print.__self__.eval"),
                 ("collections", "OrderedDict.__init__.__globals__"), ("torch._utils", "_rebuild_tensor_v2.__globals__"),
                 ("torch", "serialization.load"), ("torch", "_utils.pickle.loads"), ("code", "InteractiveInterpreter.runcode"),
                 ("torch.utils._config_module", "ConfigModule.load_config"), ("argparse", "Namespace.__reduce__")]:
        hostile(f"policy_dotted_{m.replace('.', '_')}_{n.replace('.', '_')}.pkl", evil4(m, n, "x"), f"the dotted name {m} {n}")
    hostile("policy_unknown_dotted.pkl", evil4("torch", "nn.modules.module.Module", "x"), "a dotted name not in the allowlist")
    # Python 2 names
    for m, n in [("__builtin__", "getattr"), ("__builtin__", "reduce"), ("itertools", "imap"), ("thread", "start_new_thread"),
                 ("commands", "getstatusoutput"), ("copy_reg", "_reconstructor")]:
        hostile(f"policy_py2_{m}_{n}.pkl", evil2(m, n, "x") if n != "_reconstructor" else
                proto(2) + glob(m, n) + glob("subprocess", "Popen") + glob("__builtin__", "object") + b"N\x87R.", f"Python 2 name {m}.{n}")
    # getattr abuse
    ds = "deepspeed.runtime.zero.config"
    hostile("policy_getattr_os.pkl", proto(2) + glob("__builtin__", "getattr") + glob("os", "environ") + bu("copy") + b"\x86R)R.", "getattr(os.environ, 'copy')()")
    hostile("policy_getattr_dunder.pkl", proto(2) + glob("__builtin__", "getattr") + glob(ds, "ZeroStageEnum") + bu("__class__") + b"\x86R.", "getattr(Enum, '__class__')")
    hostile("policy_getattr_nonenum.pkl", proto(2) + glob("__builtin__", "getattr") + glob("collections", "OrderedDict") + bu("fromkeys") + b"\x86R.", "getattr on a class that is not an enum")
    hostile("policy_getattr_called.pkl", proto(2) + glob("__builtin__", "getattr") + glob(ds, "ZeroStageEnum") + bu("gradients") + b"\x86R" + b")R.", "getattr(Enum, 'member')() : the result called")
    hostile("policy_getattr_escaped.pkl", proto(2) + b"]" + glob("__builtin__", "getattr") + b"a.", "getattr stored in a list")
    hostile("policy_getattr_obj.pkl", proto(2) + b"(" + glob("__builtin__", "getattr") + glob(ds, "ZeroStageEnum") + bu("gradients") + b"o.", "getattr called by OBJ")
    hostile("policy_getattr_computed_name.pkl", proto(2) + glob("__builtin__", "getattr") + glob(ds, "ZeroStageEnum") + glob("builtins", "str") + bu("x") + b"\x85R\x86R.", "getattr with a computed name")
    hostile("policy_getattr_of_getattr.pkl", proto(2) + glob("__builtin__", "getattr") + b"q\x00h\x00" + glob(ds, "ZeroStageEnum") + bu("gradients") + b"\x86R" + bu("x") + b"\x86R.", "getattr of what getattr returned")
    # arguments of callables that call them
    hostile("policy_reconstructor_computed_base.pkl", proto(2) + glob("copyreg", "_reconstructor") + glob("argparse", "Namespace")
            + glob("builtins", "str") + bu("x") + b"\x85R" + b"N\x87R.", "copyreg._reconstructor with a computed base")
    hostile("policy_reconstructor_popen.pkl", proto(2) + glob("copy_reg", "_reconstructor") + glob("argparse", "Namespace") + glob("subprocess", "Popen") + b"]" + bu("ls") + b"a\x87R.", "copyreg._reconstructor with base subprocess.Popen")
    hostile("policy_numpy_reconstruct_persid.pkl", proto(2) + glob("numpy.core.multiarray", "_reconstruct") + bu("x") + b"Q" + b"K\x00\x85" + bu("b") + b"\x87R.", "numpy _reconstruct of a persistent-loader value")
    hostile("policy_rebuild_from_type_computed.pkl", proto(2) + glob("torch._tensor", "_rebuild_from_type_v2") + b"(" + glob("builtins", "str") + bu("x") + b"\x85R"
            + glob("torch", "Tensor") + b")}" + b"tR.", "_rebuild_from_type_v2 with a computed function")
    hostile("policy_rebuild_from_type_reconstructor.pkl", proto(2) + glob("torch._tensor", "_rebuild_from_type_v2") + b"(" + glob("copyreg", "_reconstructor")
            + glob("torch", "Tensor") + b"(" + glob("argparse", "Namespace") + glob("builtins", "str") + bu("x") + b"\x85R" + b"Nt}" + b"tR.",
            "_rebuild_from_type_v2 calls copyreg._reconstructor with a computed base")
    hostile("policy_randomstate_ctor.pkl", proto(2) + glob("numpy.random._pickle", "__randomstate_ctor") + bu("MT19937") + glob("subprocess", "getoutput") + b"\x86R.", "numpy __randomstate_ctor handed subprocess.getoutput")
    hostile("policy_bitgen_ctor_computed.pkl", proto(2) + glob("numpy.random._pickle", "__bit_generator_ctor") + glob("collections", "OrderedDict") + b")R" + b"\x85R.", "__bit_generator_ctor of a computed value")
    hostile("policy_reconstructor_indirect.pkl", proto(2) + glob("numpy.random._pickle", "__bit_generator_ctor") + glob("copyreg", "_reconstructor") + b"\x85R.",
            "copyreg._reconstructor called by numpy's __bit_generator_ctor, arguments unseen")
    # monkeypatching and calls of returned values
    hostile("policy_build_on_global.pkl", proto(2) + glob("torch._utils", "_rebuild_tensor_v2") + b"N}" + bu("__defaults__") + b"N" + b"s\x86b.", "BUILD on a function: sets its attributes")
    hostile("policy_setitem_on_global.pkl", proto(2) + glob("collections", "OrderedDict") + bu("k") + b"Ns.", "SETITEM on a class")
    hostile("policy_append_on_global.pkl", proto(2) + glob("torch", "Size") + b"Na.", "APPEND on a class")
    hostile("policy_result_called.pkl", proto(2) + glob("collections", "OrderedDict") + b")R" + b")R.", "what OrderedDict() returns is called")
    hostile("policy_persid_called.pkl", proto(2) + bu("x") + b"Q" + b")R.", "a persistent-loader value called")
    hostile("policy_unknown_persid_module.pkl", proto(2) + bu("module") + glob("posixpath", "join") + bu("a") + bu("b") + b"\x87Q" + b")R.",
            "legacy 'module' persistent id: the class named is returned and called")
    hostile("policy_unknown_class.pkl", pickle.dumps(Reduce(random.Random, 1), protocol=2).replace(b"random\nRandom", b"mylib.x\nCfg"), "a user's own class (unknown)")
    hostile("policy_unknown_newobj.pkl", proto(2) + glob("mylib.config", "TrainCfg") + b")\x81}" + bu("lr") + b"G?\x84z\xe1G\xae\x14{sb.", "an unknown class with state")
    hostile("policy_unknown_module_only.pkl", proto(2) + glob("sklearn.pipeline", "Pipeline") + b".", "an unknown global as a value")
    hostile("policy_dynamic_global.pkl", proto(4) + glob("builtins", "str") + sbu("os") + b"\x85R" + sbu("system") + b"\x93" + sbu("ls") + b"\x85R.", "STACK_GLOBAL of a computed string")
    hostile("policy_load_from_bytes_value.pkl", proto(2) + b"]" + glob("torch.storage", "_load_from_bytes") + b"a.", "_load_from_bytes as a value")


def nested_payload(inner):
    return torch_bytes_legacy_raw(inner)


def torch_bytes_legacy_raw(obj):
    return torch_bytes(obj, legacy=True)


class FromBytes:
    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (torch.storage._load_from_bytes, (self.payload,))


def nest_cases():
    evil_legacy = torch_bytes({"x": Reduce(os.system, CMD)}, legacy=True)
    evil_zip = torch_bytes({"x": Reduce(os.system, CMD)})
    for p in (2, 4):
        hostile(f"nest_legacy_p{p}.pkl", pickle.dumps(FromBytes(evil_legacy), protocol=p), "pickle.dumps-style storage whose payload runs os.system")
        hostile(f"nest_zip_p{p}.pkl", pickle.dumps(FromBytes(evil_zip), protocol=p), "a torch.save zip as the payload")
    lvl2 = pickle.dumps(FromBytes(pickle.dumps(FromBytes(evil_legacy), protocol=4)), protocol=4)
    hostile("nest_two_levels.pkl", lvl2, "a payload inside a payload")
    lvl3 = pickle.dumps(FromBytes(lvl2), protocol=2)
    hostile("nest_three_levels.pkl", lvl3, "three levels")
    hostile("nest_in_zip.pt", zip_with_pkl(pickle.dumps(FromBytes(evil_legacy), protocol=2)), "a payload in data.pkl of a zip")
    hostile("nest_plain_pickle_payload.pkl", pickle.dumps(FromBytes(evil4()), protocol=4), "a plain pickle as the payload")
    hostile("nest_computed_arg.pkl", proto(2) + glob("torch.storage", "_load_from_bytes") + glob("builtins", "bytes") + b"K\x05\x85R\x85R.", "_load_from_bytes of computed bytes")
    hostile("nest_two_args.pkl", proto(4) + sglob("torch.storage", "_load_from_bytes") + sbb(b"a") + sbb(b"b") + b"\x86R.", "_load_from_bytes with two arguments")
    hostile("nest_safetensors_polyglot_payload.pkl", pickle.dumps(FromBytes(evil0()), protocol=4), "a protocol-0 payload")


def limit_cases():
    hostile("limit_marks.pkl", proto(2) + b"(" * 5000 + b"N" + b"0" * 0 + b"." , "5000 MARKs open: past the limit (the rest is not checked)")
    many = b"".join(b"cmod%d\nx\n0" % i for i in range(4200))
    hostile("limit_distinct_globals.pkl", proto(2) + many + b"N.", "4200 distinct globals in one file")


def benign_cases():
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    benign("zip_state_dict.pt", torch_bytes(collections.OrderedDict([("w", t), ("b", torch.zeros(4))])))
    benign("legacy_state_dict.pt", torch_bytes(collections.OrderedDict([("w", t)]), legacy=True))
    benign("zip_views.pt", torch_bytes({"v": t[1:, ::2], "t": t.t(), "bf16": t.bfloat16(), "half": t.half(), "i64": t.long(), "b": t > 3}))
    benign("zip_parameter.pt", torch_bytes({"p": torch.nn.Parameter(torch.ones(3))}))
    benign("zip_sparse.pt", torch_bytes({"s": torch.eye(3).to_sparse()}))
    benign("zip_quantized.pt", torch_bytes({"q": torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.quint8)}))
    benign("zip_complex.pt", torch_bytes({"c": torch.ones(2, dtype=torch.complex64)}))
    benign("zip_optimizer.pt", torch_bytes(optimizer_state()))
    benign("zip_scheduler.pt", torch_bytes({"base_lrs": [0.01], "last_epoch": 7, "_step_count": 8, "verbose": False, "_get_lr_called_within_step": False, "_last_lr": [0.01]}))
    benign("legacy_optimizer.pt", torch_bytes(optimizer_state(), legacy=True))
    for p in (2, 4):
        benign(f"pickle_dumps_tensor_p{p}.pkl", dumps_tensor(torch.tensor([1.0, 2.0, 3.0]), p), "pickle.dumps(tensor)")
    benign("pickle_dumps_storage_p2.pkl", pickle.dumps(gen_scan.FromBytes(gen_scan.legacy_bytes(torch.ones(3).storage())), protocol=2), "pickle.dumps(storage)")
    benign("numpy_array.pkl", pickle.dumps({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(1.5), "i": np.int64(3)}, protocol=2))
    np2 = pickle.dumps({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(1.5)}, protocol=2)
    benign("numpy2_names.pkl", np2.replace(b"cnumpy.core.multiarray\n", b"cnumpy._core.multiarray\n"), "numpy 2 module names (numpy._core)")
    benign("numpy_randomstate.pkl", pickle.dumps(np.random.RandomState(1), protocol=2))
    benign("numpy_generator.pkl", pickle.dumps(np.random.default_rng(1), protocol=2))
    rng = {"python": random.Random(3).getstate(), "numpy": np.random.RandomState(4).get_state(), "cpu": torch.random.get_rng_state()}
    benign("rng_state_0.pth", torch_bytes(rng))
    # Tensor bytes that read as a pickle importing a global: torch.load
    # reads a storage record as numbers, never unpickles it. The first one
    # is a real optimizer moment's bytes (EMPTY_TUPLE, EXT4, STOP).
    seen = bytearray(b")\x84\xb39\x7f_.8Ggx\xb8^\xa3\x849")
    benign("zip_storage_reads_as_ext.pt", torch_bytes({"exp_avg": torch.frombuffer(seen, dtype=torch.float32).clone()}),
           "float32 storage bytes that read as a pickle with an EXT4 import")
    z = zipfile.ZipFile(io.BytesIO(torch_bytes({"exp_avg": torch.frombuffer(seen, dtype=torch.float32).clone()})))
    recs = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    recs.sort(key=lambda r: not r[0].endswith("/data/0"))  # the storage before data.pkl in the directory
    benign("zip_storage_before_data_pkl.pt", mkzip(recs), "the same storage bytes, their record listed before data.pkl")
    benign("zip_storage_reads_as_global.pt", torch_bytes({"b": torch.frombuffer(bytearray(evil0()), dtype=torch.uint8).clone()}),
           "uint8 storage bytes that read as a protocol 0 os.system pickle")
    benign("training_args.bin", torch_bytes(training_args(True)))
    benign("training_args_nods.bin", torch_bytes(training_args(False)))
    with dsfake.py310_enum_pickling():
        benign("ds_enum_py310.pt", torch_bytes({"zero_stage": dsfake.ZeroStageEnum.gradients}))
    benign("ds_enum_py311.pt", torch_bytes({"zero_stage": dsfake.ZeroStageEnum.gradients, "loss_scaler": dsfake.LossScaler(1.0)}))
    benign("ds_fragments.pt", torch_bytes({"param_slice_mappings": [collections.OrderedDict([("w", dsfake.fragment_address(12, 0))])],
                                           "ds_config": {"zero_optimization": {"stage": 2}}, "ds_version": "0.15.1"}))
    benign("ds_config_obj.pt", torch_bytes({"ds_config": dsfake.DeepSpeedConfig({"zero_optimization": {"stage": 1}, "optimizer": {"type": "AdamW"}})}))
    benign("containers.pkl", pickle.dumps({"ns": Namespace(lr=0.1, steps=5), "od": collections.OrderedDict(a=1), "dd": collections.defaultdict(list, a=[1]),
                                          "set": {1, 2}, "fs": frozenset([3]), "slice": slice(1, 5), "range": range(3), "cplx": 1 + 2j,
                                          "ba": bytearray(b"ab"), "by": b"x", "dt": datetime.datetime(2024, 1, 2, 3, 4, 5),
                                          "td": datetime.timedelta(seconds=3), "path": pathlib.PurePosixPath("/a/b")}, protocol=2))
    for p in range(6):
        benign(f"plain_p{p}.pkl", pickle.dumps({"step": 7, "lr": [0.1, 0.01], "name": "run", "t": (1, None, True), "f": 1.5}, protocol=p))
    benign("back_to_back.pkl", CLEAN2 + pickle.dumps([1, 2], protocol=4) + pickle.dumps("x", protocol=0))
    benign("safetensors.safetensors", safetensors_bytes())
    benign("zip_archive_prefix.pt", archive_prefix(torch_bytes({"w": t})))
    benign("zip_no_ext", torch_bytes({"w": t}))
    benign("big_list.pkl", pickle.dumps(list(range(3000)), protocol=2))
    # Memo bombs: no code runs, but one value is reached by 10^8 paths.
    benign("memo_laughs.pkl", pickle.dumps(laughs([1, "x"], 8), protocol=2), "10^8 paths to one list (ls and stats stay bounded)")
    benign("memo_laughs_tensor.pkl", pickle.dumps(laughs([gen_scan.PickledTensor(gen_scan.FromBytes(gen_scan.legacy_bytes(torch.ones(2).storage())), 2)], 8), protocol=2), "10^8 paths to one tensor")
    benign("memo_laughs_zip.pt", torch_bytes({"w": laughs([t], 7)}), "10^7 paths to one tensor, torch.save")


def laughs(leaf, depth):
    v = leaf
    for _ in range(depth):
        v = [v] * 10
    return v


def optimizer_state():
    p = torch.nn.Parameter(torch.ones(4))
    opt = torch.optim.AdamW([p], lr=0.01)
    p.grad = torch.full((4,), 0.5)
    opt.step()
    return opt.state_dict()


def safetensors_bytes():
    data = struct.pack("<4f", 1, 2, 3, 4)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * ((-len(header)) % 8)
    return struct.pack("<Q", len(header)) + header + data


def archive_prefix(raw):
    import zipfile
    z = zipfile.ZipFile(io.BytesIO(raw))
    recs = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    pre = recs[0][0].split("/")[0] + "/"
    out = io.BytesIO()
    os.makedirs(OUT, exist_ok=True)
    tdlib_path = os.path.join(OUT, ".tmp.zip")
    tdlib.write_miniz_zip(tdlib_path, [("archive/" + n[len(pre):], d) for n, d in recs])
    b = open(tdlib_path, "rb").read()
    os.remove(tdlib_path)
    return b


def main():
    random.seed(0)
    torch.manual_seed(0)
    parse_cases()
    zip_cases()
    poly_cases()
    deny_cases()
    policy_cases()
    nest_cases()
    limit_cases()
    benign_cases()
    for kind in ("hostile", "benign"):
        os.makedirs(os.path.join(OUT, kind), exist_ok=True)
        for f in os.listdir(os.path.join(OUT, kind)):
            os.remove(os.path.join(OUT, kind, f))
    golden = {"note": "globals CPython 3.11's unpickler imports (find_class arguments) per file, "
                      "recorded by testdata/gen/gen_hostile_record.py; EXT codes registered as copyreg._inverted_registry.<code>",
              "ext_codes": sorted(EXT_CODES), "files": {}}
    names = set()
    for kind, name, data, note in FILES:
        assert name not in names, name
        names.add(name)
        with open(os.path.join(OUT, kind, name), "wb") as f:
            f.write(data)
        imports, dynamic = rec.record(data, sorted(EXT_CODES))
        golden["files"][kind + "/" + name] = {"imports": [list(x) for x in imports], "dynamic": dynamic, "note": note, "size": len(data)}
    tdlib.write_json(os.path.join(OUT, "golden.json"), golden)
    nh = sum(1 for f in FILES if f[0] == "hostile")
    print(f"  {nh} hostile, {len(FILES) - nh} benign files")


if __name__ == "__main__":
    main()
