"""Stand-ins for the DeepSpeed objects found in DeepSpeed checkpoints.

DeepSpeed is not installed (and must not be).  To make pickle write the REAL
module and class names, this module builds small module objects named like the
real DeepSpeed modules, registers them in sys.modules, and defines classes whose
__module__ / __qualname__ match the real ones:

    deepspeed.runtime.fp16.loss_scaler.LossScaler          (plain object: cur_scale, dynamic)
    deepspeed.runtime.fp16.loss_scaler.DynamicLossScaler   (plain object, fp16 runs)
    deepspeed.runtime.zero.config.ZeroStageEnum            (int Enum: disabled=0 .. weights=3, max_stage=3)
    deepspeed.runtime.config.DeepSpeedConfig               (plain object with a few config fields)
    deepspeed.utils.tensor_fragment.fragment_address       (@dataclass numel, start)
    deepspeed.checkpoint.universal_checkpoint.SubparamShape (@dataclass patterns, shape, partition_dim)

Field names were checked against the DeepSpeed sources (v0.15.1 / v0.16.x):
loss_scaler.py, zero/config.py, runtime/config.py, utils/tensor_fragment.py,
checkpoint/universal_checkpoint.py.  Nothing here is DeepSpeed code.

Python 3.11 pickles enum members as ``getattr(ZeroStageEnum, 'gradients')``;
Python <= 3.10 pickled them as ``ZeroStageEnum(2)`` (REDUCE of the class with the
value).  Use the ``py310_enum_pickling()`` context manager to get the old form.

Import this module before torch.save/torch.load of anything using the classes.
"""

import contextlib
import copyreg
import dataclasses
import enum
import sys
import types
from typing import List, Tuple, Union

import torch

_MODULES = [
    "deepspeed",
    "deepspeed.runtime",
    "deepspeed.runtime.fp16",
    "deepspeed.runtime.fp16.loss_scaler",
    "deepspeed.runtime.zero",
    "deepspeed.runtime.zero.config",
    "deepspeed.runtime.config",
    "deepspeed.utils",
    "deepspeed.utils.tensor_fragment",
    "deepspeed.checkpoint",
    "deepspeed.checkpoint.universal_checkpoint",
]


def _module(name):
    mod = sys.modules.get(name)
    if mod is None:
        mod = types.ModuleType(name)
        mod.__file__ = "<ckptinspect testdata stand-in>"
        sys.modules[name] = mod
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(_module(parent), child, mod)
    return mod


for _m in _MODULES:
    _module(_m)


def _register(cls, modname):
    cls.__module__ = modname
    setattr(_module(modname), cls.__name__, cls)
    return cls


# --- deepspeed.runtime.fp16.loss_scaler -------------------------------------

class LossScalerBase:
    def __init__(self, cur_scale):
        self.cur_scale = cur_scale
        self.dynamic = False

    @property
    def loss_scale(self):
        return self.cur_scale


class LossScaler(LossScalerBase):
    """Static scaler: what bf16 / fp32 runs pickle (cur_scale 1.0, dynamic False)."""

    def __init__(self, scale=1):
        super().__init__(scale)


class DynamicLossScaler(LossScalerBase):
    """Dynamic scaler of fp16 runs; its dtype field pickles as the global torch.float16."""

    def __init__(self, init_scale=2**32, scale_factor=2.0, scale_window=1000, min_scale=1,
                 delayed_shift=1, consecutive_hysteresis=False, raise_error_at_min_scale=True,
                 dtype=torch.half):
        super().__init__(init_scale)
        self.cur_iter = 0
        self.last_overflow_iter = -1
        self.scale_factor = scale_factor
        self.scale_window = scale_window
        self.min_scale = min_scale
        self.delayed_shift = delayed_shift
        self.cur_hysteresis = delayed_shift
        self.consecutive_hysteresis = consecutive_hysteresis
        self.raise_error_at_min_scale = raise_error_at_min_scale
        self.dynamic = True
        self.dtype = dtype


for _c in (LossScalerBase, LossScaler, DynamicLossScaler):
    _register(_c, "deepspeed.runtime.fp16.loss_scaler")


# --- deepspeed.runtime.zero.config ------------------------------------------

class ZeroStageEnum(int, enum.Enum):
    """ZeRO stages (max_stage is an alias of weights)."""
    disabled = 0
    optimizer_states = 1
    gradients = 2
    weights = 3
    max_stage = 3


_register(ZeroStageEnum, "deepspeed.runtime.zero.config")


def _reduce_enum_py310(member):
    # Python <= 3.10: Enum.__reduce_ex__ returned (cls, (value,))
    return member.__class__, (member._value_,)


@contextlib.contextmanager
def py310_enum_pickling():
    """Within this block ZeroStageEnum members pickle as REDUCE(ZeroStageEnum, (value,))."""
    copyreg.pickle(ZeroStageEnum, _reduce_enum_py310)
    try:
        yield
    finally:
        copyreg.dispatch_table.pop(ZeroStageEnum, None)


# --- deepspeed.runtime.config -----------------------------------------------

class DeepSpeedConfig(object):
    """Inert stand-in: only its instance __dict__ is pickled."""

    def __init__(self, param_dict, world_size=1, global_rank=0):
        self._param_dict = param_dict
        self.global_rank = global_rank
        self.world_size = world_size
        self.elasticity_enabled = False
        zero = param_dict.get("zero_optimization", {})
        self.train_batch_size = param_dict.get("train_batch_size")
        self.train_micro_batch_size_per_gpu = param_dict.get("train_micro_batch_size_per_gpu")
        self.gradient_accumulation_steps = param_dict.get("gradient_accumulation_steps")
        self.steps_per_print = param_dict.get("steps_per_print", 10)
        self.dump_state = param_dict.get("dump_state", False)
        self.zero_optimization_stage = ZeroStageEnum(zero.get("stage", 0))
        self.zero_enabled = self.zero_optimization_stage > 0
        self.gradient_clipping = param_dict.get("gradient_clipping", 0.0)
        self.fp16_enabled = param_dict.get("fp16", {}).get("enabled", False)
        self.bfloat16_enabled = param_dict.get("bf16", {}).get("enabled", False)
        self.loss_scale = 0
        opt = param_dict.get("optimizer", {})
        self.optimizer_name = opt.get("type", "").lower() or None
        self.optimizer_params = opt.get("params")
        self.scheduler_name = None
        self.scheduler_params = None
        self.wall_clock_breakdown = param_dict.get("wall_clock_breakdown", False)
        self.checkpoint_tag_validation_enabled = True
        self.checkpoint_tag_validation_fail = False
        self.load_universal_checkpoint = param_dict.get("checkpoint", {}).get("load_universal", False)


_register(DeepSpeedConfig, "deepspeed.runtime.config")


# --- deepspeed.utils.tensor_fragment ----------------------------------------

@dataclasses.dataclass
class fragment_address:  # noqa: N801 (real name)
    numel: int
    start: int


_register(fragment_address, "deepspeed.utils.tensor_fragment")


# --- deepspeed.checkpoint.universal_checkpoint -------------------------------

@dataclasses.dataclass
class SubparamShape:
    patterns: List[str]
    shape: Tuple[Union[Tuple[int], int]]
    partition_dim: int


_register(SubparamShape, "deepspeed.checkpoint.universal_checkpoint")


# --- shared constants -------------------------------------------------------

DS_VERSION = "0.15.1"

# A YuLan-Mini-like DeepSpeed config (pretrain/ds2_config_adamw.json with the "auto"
# values resolved by the HF Trainer).
def ds_config_dict(train_batch_size=16, micro_batch=4, grad_accum=2, stage=2, clip=1.0,
                   lr=1e-2, betas=(0.9, 0.95), eps=1e-15, weight_decay=0.1):
    return {
        "bf16": {"enabled": True},
        "zero_optimization": {
            "stage": stage,
            "allgather_partitions": True,
            "allgather_bucket_size": 8e8,
            "overlap_comm": True,
            "reduce_scatter": True,
            "reduce_bucket_size": 8e8,
            "contiguous_gradients": True,
        },
        "gradient_accumulation_steps": grad_accum,
        "gradient_clipping": clip,
        "steps_per_print": 16,
        "train_batch_size": train_batch_size,
        "train_micro_batch_size_per_gpu": micro_batch,
        "wall_clock_breakdown": False,
        "dump_state": True,
        "optimizer": {
            "type": "AdamW",
            "params": {"lr": lr, "betas": list(betas), "eps": eps, "weight_decay": weight_decay},
        },
        "checkpoint": {"load_universal": False},
    }


def is_standin(obj):
    """True for instances of the stand-in classes (what goldens list under "objects")."""
    return type(obj).__module__.startswith("deepspeed.")
