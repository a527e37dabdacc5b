"""Stand-ins for the Hugging Face objects pickled into a Trainer checkpoint's training_args.bin.

transformers and accelerate are not installed (and must not be).  As dsfake.py does for
DeepSpeed, this module registers module objects under the real module names in sys.modules and
defines classes whose __module__ / __qualname__ are the real ones, so that torch.save writes the
same globals a real Trainer writes:

    transformers.training_args.TrainingArguments          (@dataclass; fields of v4.46, below)
    transformers.training_args.OptimizerNames             (ExplicitEnum: str + Enum)
    transformers.trainer_utils.IntervalStrategy           (ExplicitEnum)
    transformers.trainer_utils.SchedulerType              (ExplicitEnum)
    transformers.trainer_utils.HubStrategy                (ExplicitEnum)
    transformers.debug_utils.DebugOption                  (ExplicitEnum)
    transformers.trainer_pt_utils.AcceleratorConfig       (@dataclass)
    transformers.integrations.deepspeed.HfDeepSpeedConfig / HfTrainerDeepSpeedConfig
    accelerate.state.PartialState                         (plain object: the distributed state)
    accelerate.utils.dataclasses.DistributedType          (str + Enum)
    accelerate.utils.dataclasses.DeepSpeedPlugin          (@dataclass)

Version mirrored: transformers 4.46 (the 4.4x line; the TrainingArguments field list, in
declaration order, is that of src/transformers/training_args.py of the 4.46 releases: fields such
as include_for_metrics and average_tokens_across_devices are new in 4.46, tp_size of later
releases is absent), accelerate 1.x.  What TrainingArguments.__post_init__ leaves in the instance
__dict__ is mirrored too, because that __dict__ is what pickle writes (a dataclass has no
__getstate__): the strategy / scheduler / optimizer fields turned into enum members, debug and
fsdp into lists, accelerator_config into an AcceleratorConfig, and, for a DeepSpeed run,
hf_deepspeed_config (HfTrainerDeepSpeedConfig holding the DeepSpeed config with its "auto"
values filled in by trainer_config_process) and deepspeed_plugin (accelerate's DeepSpeedPlugin);
the device set-up adds distributed_state (accelerate's PartialState: num_processes = world size)
and the cached _setup_devices (a torch.device).

Python 3.11 pickles an enum member as getattr(EnumClass, 'MEMBER_NAME') (the member's NAME,
e.g. SchedulerType.LINEAR, not its value "linear").  Nothing here is transformers or accelerate
code.  Import this module before torch.save / torch.load of anything using the classes.
"""

import dataclasses
import enum
import sys
import types
from typing import Any, Dict, List, Optional, Union

import torch

_MODULES = [
    "transformers",
    "transformers.training_args",
    "transformers.trainer_utils",
    "transformers.debug_utils",
    "transformers.trainer_pt_utils",
    "transformers.utils",
    "transformers.utils.generic",
    "transformers.integrations",
    "transformers.integrations.deepspeed",
    "accelerate",
    "accelerate.state",
    "accelerate.utils",
    "accelerate.utils.dataclasses",
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


# --- enums (transformers.utils.generic.ExplicitEnum is `class ExplicitEnum(str, Enum)`) ----------

class ExplicitEnum(str, enum.Enum):
    pass


_register(ExplicitEnum, "transformers.utils.generic")


class IntervalStrategy(ExplicitEnum):
    NO = "no"
    STEPS = "steps"
    EPOCH = "epoch"


class SchedulerType(ExplicitEnum):
    LINEAR = "linear"
    COSINE = "cosine"
    COSINE_WITH_RESTARTS = "cosine_with_restarts"
    POLYNOMIAL = "polynomial"
    CONSTANT = "constant"
    CONSTANT_WITH_WARMUP = "constant_with_warmup"
    INVERSE_SQRT = "inverse_sqrt"
    REDUCE_ON_PLATEAU = "reduce_lr_on_plateau"
    COSINE_WITH_MIN_LR = "cosine_with_min_lr"
    WARMUP_STABLE_DECAY = "warmup_stable_decay"


class HubStrategy(ExplicitEnum):
    END = "end"
    EVERY_SAVE = "every_save"
    CHECKPOINT = "checkpoint"
    ALL_CHECKPOINTS = "all_checkpoints"


for _c in (IntervalStrategy, SchedulerType, HubStrategy):
    _register(_c, "transformers.trainer_utils")


class DebugOption(ExplicitEnum):
    UNDERFLOW_OVERFLOW = "underflow_overflow"
    TPU_METRICS_DEBUG = "tpu_metrics_debug"


_register(DebugOption, "transformers.debug_utils")


class OptimizerNames(ExplicitEnum):
    """A subset of the members (the values are the real ones)."""
    ADAMW_HF = "adamw_hf"
    ADAMW_TORCH = "adamw_torch"
    ADAMW_TORCH_FUSED = "adamw_torch_fused"
    ADAMW_APEX_FUSED = "adamw_apex_fused"
    ADAFACTOR = "adafactor"
    SGD = "sgd"
    ADAMW_BNB = "adamw_bnb_8bit"
    LION = "lion_32bit"


_register(OptimizerNames, "transformers.training_args")


class DistributedType(str, enum.Enum):
    NO = "NO"
    MULTI_CPU = "MULTI_CPU"
    MULTI_GPU = "MULTI_GPU"
    DEEPSPEED = "DEEPSPEED"
    FSDP = "FSDP"


_register(DistributedType, "accelerate.utils.dataclasses")


# --- accelerate ------------------------------------------------------------------------------

class PartialState:
    """accelerate.state.PartialState: a Borg whose shared __dict__ is what pickle writes."""

    def __init__(self, num_processes, process_index=0, local_process_index=0):
        self._cpu = False
        self.backend = "nccl"
        self.device = torch.device("cuda", local_process_index)
        self.debug = False
        self.distributed_type = DistributedType.DEEPSPEED
        self.num_processes = num_processes
        self.process_index = process_index
        self.local_process_index = local_process_index
        self.fork_launched = False


_register(PartialState, "accelerate.state")


# --- transformers.integrations.deepspeed ----------------------------------------------------

class HfDeepSpeedConfig:
    def __init__(self, config):
        self.config = config
        stage = config.get("zero_optimization", {}).get("stage", -1)
        self._stage = stage
        self._offload = False


class HfTrainerDeepSpeedConfig(HfDeepSpeedConfig):
    def __init__(self, config):
        super().__init__(config)
        self._dtype = torch.bfloat16 if config.get("bf16", {}).get("enabled") else torch.float16
        self.mismatches = []


for _c in (HfDeepSpeedConfig, HfTrainerDeepSpeedConfig):
    _register(_c, "transformers.integrations.deepspeed")


@dataclasses.dataclass
class DeepSpeedPlugin:
    """A subset of accelerate's DeepSpeedPlugin fields, as __post_init__ leaves them."""
    hf_ds_config: Any = None
    gradient_accumulation_steps: int = None
    gradient_clipping: float = None
    zero_stage: int = None
    is_train_batch_min: bool = True
    offload_optimizer_device: str = None
    offload_param_device: str = None
    zero3_init_flag: bool = False
    zero3_save_16bit_model: bool = False
    transformer_moe_cls_names: str = None
    deepspeed_config: Dict = None


_register(DeepSpeedPlugin, "accelerate.utils.dataclasses")


@dataclasses.dataclass
class AcceleratorConfig:
    split_batches: bool = False
    dispatch_batches: bool = None
    even_batches: bool = True
    use_seedable_sampler: bool = True
    non_blocking: Optional[bool] = False
    gradient_accumulation_kwargs: Optional[Dict] = None
    use_configured_state: bool = False


_register(AcceleratorConfig, "transformers.trainer_pt_utils")


# --- transformers.training_args.TrainingArguments -----------------------------------------------

@dataclasses.dataclass
class TrainingArguments:
    """The fields of transformers 4.46's TrainingArguments, in declaration order, with its defaults."""
    output_dir: str = "trainer_output"
    overwrite_output_dir: bool = False
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    eval_strategy: Union[IntervalStrategy, str] = "no"
    prediction_loss_only: bool = False
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    per_gpu_train_batch_size: Optional[int] = None
    per_gpu_eval_batch_size: Optional[int] = None
    gradient_accumulation_steps: int = 1
    eval_accumulation_steps: Optional[int] = None
    eval_delay: Optional[float] = 0
    torch_empty_cache_steps: Optional[int] = None
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    num_train_epochs: float = 3.0
    max_steps: int = -1
    lr_scheduler_type: Union[SchedulerType, str] = "linear"
    lr_scheduler_kwargs: Optional[Union[dict, str]] = dataclasses.field(default_factory=dict)
    warmup_ratio: float = 0.0
    warmup_steps: int = 0
    log_level: Optional[str] = "passive"
    log_level_replica: Optional[str] = "warning"
    log_on_each_node: bool = True
    logging_dir: Optional[str] = None
    logging_strategy: Union[IntervalStrategy, str] = "steps"
    logging_first_step: bool = False
    logging_steps: float = 500
    logging_nan_inf_filter: bool = True
    save_strategy: Union[IntervalStrategy, str] = "steps"
    save_steps: float = 500
    save_total_limit: Optional[int] = None
    save_safetensors: Optional[bool] = True
    save_on_each_node: bool = False
    save_only_model: bool = False
    restore_callback_states_from_checkpoint: bool = False
    no_cuda: bool = False
    use_cpu: bool = False
    use_mps_device: bool = False
    seed: int = 42
    data_seed: Optional[int] = None
    jit_mode_eval: bool = False
    use_ipex: bool = False
    bf16: bool = False
    fp16: bool = False
    fp16_opt_level: str = "O1"
    half_precision_backend: str = "auto"
    bf16_full_eval: bool = False
    fp16_full_eval: bool = False
    tf32: Optional[bool] = None
    local_rank: int = -1
    ddp_backend: Optional[str] = None
    tpu_num_cores: Optional[int] = None
    tpu_metrics_debug: bool = False
    debug: Union[str, List[DebugOption]] = ""
    dataloader_drop_last: bool = False
    eval_steps: Optional[float] = None
    dataloader_num_workers: int = 0
    dataloader_prefetch_factor: Optional[int] = None
    past_index: int = -1
    run_name: Optional[str] = None
    disable_tqdm: Optional[bool] = None
    remove_unused_columns: Optional[bool] = True
    label_names: Optional[List[str]] = None
    load_best_model_at_end: Optional[bool] = False
    metric_for_best_model: Optional[str] = None
    greater_is_better: Optional[bool] = None
    ignore_data_skip: bool = False
    fsdp: Optional[Union[List[str], str]] = ""
    fsdp_min_num_params: int = 0
    fsdp_config: Optional[Union[dict, str]] = None
    fsdp_transformer_layer_cls_to_wrap: Optional[str] = None
    accelerator_config: Optional[Union[dict, str]] = None
    deepspeed: Optional[Union[dict, str]] = None
    label_smoothing_factor: float = 0.0
    optim: Union[OptimizerNames, str] = "adamw_torch"
    optim_args: Optional[str] = None
    adafactor: bool = False
    group_by_length: bool = False
    length_column_name: Optional[str] = "length"
    report_to: Union[None, str, List[str]] = None
    ddp_find_unused_parameters: Optional[bool] = None
    ddp_bucket_cap_mb: Optional[int] = None
    ddp_broadcast_buffers: Optional[bool] = None
    dataloader_pin_memory: bool = True
    dataloader_persistent_workers: bool = False
    skip_memory_metrics: bool = True
    use_legacy_prediction_loop: bool = False
    push_to_hub: bool = False
    resume_from_checkpoint: Optional[str] = None
    hub_model_id: Optional[str] = None
    hub_strategy: Union[HubStrategy, str] = "every_save"
    hub_token: Optional[str] = None
    hub_private_repo: Optional[bool] = None
    hub_always_push: bool = False
    gradient_checkpointing: bool = False
    gradient_checkpointing_kwargs: Optional[Union[dict, str]] = None
    include_inputs_for_metrics: bool = False
    include_for_metrics: List[str] = dataclasses.field(default_factory=list)
    eval_do_concat_batches: bool = True
    fp16_backend: str = "auto"
    evaluation_strategy: Union[IntervalStrategy, str] = None
    push_to_hub_model_id: Optional[str] = None
    push_to_hub_organization: Optional[str] = None
    push_to_hub_token: Optional[str] = None
    _n_gpu: int = dataclasses.field(init=False, repr=False, default=-1)
    mp_parameters: str = ""
    auto_find_batch_size: bool = False
    full_determinism: bool = False
    torchdynamo: Optional[str] = None
    ray_scope: Optional[str] = "last"
    ddp_timeout: Optional[int] = 1800
    torch_compile: bool = False
    torch_compile_backend: Optional[str] = None
    torch_compile_mode: Optional[str] = None
    dispatch_batches: Optional[bool] = None
    split_batches: Optional[bool] = None
    include_tokens_per_second: Optional[bool] = False
    include_num_input_tokens_seen: Optional[bool] = False
    neftune_noise_alpha: Optional[float] = None
    optim_target_modules: Union[None, str, List[str]] = None
    batch_eval_metrics: bool = False
    eval_on_start: bool = False
    use_liger_kernel: Optional[bool] = False
    eval_use_gather_object: Optional[bool] = False
    average_tokens_across_devices: Optional[bool] = False

    def post_init_like(self, ds_config=None, world_size=1):
        """What __post_init__ and the device set-up leave in __dict__ (no environment is read)."""
        self.eval_strategy = IntervalStrategy(self.eval_strategy)
        self.logging_strategy = IntervalStrategy(self.logging_strategy)
        self.save_strategy = IntervalStrategy(self.save_strategy)
        self.hub_strategy = HubStrategy(self.hub_strategy)
        self.lr_scheduler_type = SchedulerType(self.lr_scheduler_type)
        self.optim = OptimizerNames(self.optim)
        self.debug = [DebugOption(s) for s in self.debug.split()] if isinstance(self.debug, str) else self.debug
        self.fsdp = []
        if self.fsdp_config is None:
            self.fsdp_config = {"min_num_params": 0, "xla": False, "xla_fsdp_v2": False,
                                "xla_fsdp_grad_ckpt": False}
        if self.report_to is None:
            self.report_to = []
        elif isinstance(self.report_to, str):
            self.report_to = [self.report_to]
        if self.accelerator_config is None:
            self.accelerator_config = AcceleratorConfig()
        if self.logging_dir is None:
            self.logging_dir = self.output_dir + "/runs/Nov29_12-00-00_node0"
        self._n_gpu = 1
        if ds_config is not None:
            self.hf_deepspeed_config = HfTrainerDeepSpeedConfig(ds_config)
            self.deepspeed_plugin = DeepSpeedPlugin(
                hf_ds_config=self.hf_deepspeed_config,
                gradient_accumulation_steps=ds_config.get("gradient_accumulation_steps"),
                gradient_clipping=ds_config.get("gradient_clipping"),
                zero_stage=ds_config.get("zero_optimization", {}).get("stage"),
                offload_optimizer_device="none", offload_param_device="none",
                deepspeed_config=ds_config)
        self.distributed_state = PartialState(world_size)
        self.__dict__["_setup_devices"] = torch.device("cuda", 0)  # functools.cached_property's value
        return self


_register(TrainingArguments, "transformers.training_args")
