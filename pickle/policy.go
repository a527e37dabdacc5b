package pickle

import (
	"strconv"
	"strings"
)

// Verdict is the judgement of one global reference.
type Verdict uint8

// Verdicts, from best to worst.
const (
	Safe      Verdict = iota // known data: tensors, containers, numpy values, DeepSpeed data classes
	Unknown                  // not known; loaded as an inert object
	Dangerous                // runs code or touches the system when unpickled by Python
)

func (v Verdict) String() string {
	switch v {
	case Safe:
		return "safe"
	case Unknown:
		return "unknown"
	case Dangerous:
		return "dangerous"
	}
	return "invalid"
}

// Policy judges global references. The zero Policy is the default one
// described by [SafeGlobals] and [DangerousGlobals].
type Policy struct {
	// Extra names more globals ("module.Name", or "module.*" for a whole
	// module) to treat as safe, on top of [SafeGlobals].
	Extra []string
}

// SafeGlobals lists the globals understood as data (FORMATS.md §3). An
// entry "module.*" covers every name of the module.
var SafeGlobals = []string{
	"torch._utils._rebuild_tensor",
	"torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor_v3",
	"torch._utils._rebuild_parameter",
	"torch._utils._rebuild_parameter_with_state",
	"torch.Size",
	"torch.device",
	"torch.storage._load_from_bytes", // legacy storages pickled by value; kept inert
	// dtype objects and typed storage classes
	"torch.float64", "torch.double", "torch.float32", "torch.float", "torch.float16", "torch.half",
	"torch.bfloat16", "torch.int64", "torch.long", "torch.int32", "torch.int", "torch.int16",
	"torch.short", "torch.int8", "torch.uint8", "torch.bool", "torch.complex64", "torch.cfloat",
	"torch.complex128", "torch.cdouble", "torch.float8_e4m3fn", "torch.float8_e5m2",
	"torch.uint16", "torch.uint32", "torch.uint64",
	"torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
	"torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
	"torch.ByteStorage", "torch.BoolStorage", "torch.ComplexFloatStorage", "torch.ComplexDoubleStorage",
	"torch.Float8_e4m3fnStorage", "torch.Float8_e5m2Storage", "torch.UInt16Storage",
	"torch.UInt32Storage", "torch.UInt64Storage", "torch.UntypedStorage",
	// Python containers and values
	"collections.OrderedDict", "collections.defaultdict",
	"builtins.set", "builtins.frozenset", "builtins.slice", "builtins.object",
	"builtins.bytearray", "builtins.complex", "builtins.range", "builtins.int", "builtins.float",
	"builtins.list", "builtins.dict", "builtins.tuple", "builtins.str", "builtins.bool",
	"copyreg._reconstructor", "_codecs.encode", "argparse.Namespace", "datetime.datetime",
	"datetime.date", "datetime.timedelta", "pathlib.PosixPath", "pathlib.WindowsPath",
	// numpy values (Hugging Face rng_state*.pth)
	"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
	"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
	"numpy.dtype", "numpy.ndarray", "numpy.random._pickle.__randomstate_ctor",
	"numpy.random._pickle.__bit_generator_ctor", "numpy.random._pickle.__generator_ctor",
	// DeepSpeed data classes
	"deepspeed.runtime.fp16.loss_scaler.LossScaler",
	"deepspeed.runtime.fp16.loss_scaler.DynamicLossScaler",
	"deepspeed.runtime.zero.config.ZeroStageEnum",
	"deepspeed.runtime.config.DeepSpeedConfig",
	"deepspeed.utils.tensor_fragment.fragment_address",
	"deepspeed.checkpoint.universal_checkpoint.SubparamShape",
	"deepspeed.runtime.zero.stage_1_and_2.*",
	// Hugging Face training arguments (training_args.bin)
	"transformers.training_args.TrainingArguments",
	"transformers.training_args.OptimizerNames",
	"transformers.trainer_utils.IntervalStrategy",
	"transformers.trainer_utils.SaveStrategy",
	"transformers.trainer_utils.SchedulerType",
	"transformers.trainer_utils.HubStrategy",
	"transformers.debug_utils.DebugOption",
	"accelerate.state.PartialState",
	"accelerate.utils.dataclasses.DistributedType",
}

// EnumClasses lists the data classes that are Python enums: the only
// classes builtins.getattr may be applied to (Python 3.11+ pickles an enum
// member as getattr(EnumClass, "member")).
var EnumClasses = []string{
	"deepspeed.runtime.zero.config.ZeroStageEnum",
	"transformers.training_args.OptimizerNames",
	"transformers.trainer_utils.IntervalStrategy",
	"transformers.trainer_utils.SaveStrategy",
	"transformers.trainer_utils.SchedulerType",
	"transformers.trainer_utils.HubStrategy",
	"transformers.debug_utils.DebugOption",
	"accelerate.utils.dataclasses.DistributedType",
}

// DangerousGlobals lists the globals that run code, import modules, spawn
// processes or touch files or the network when Python unpickles them. An
// entry "module.*" covers every name of the module (and of its
// submodules). builtins.getattr is dangerous except in the one form Python
// 3.11+ uses for enum members: getattr(<one of EnumClasses>, "<literal name>").
var DangerousGlobals = []string{
	"os.*", "posix.*", "nt.*", "subprocess.*", "pty.*", "socket.*", "shutil.*", "webbrowser.*",
	"runpy.*", "importlib.*", "ctypes.*", "multiprocessing.*", "asyncio.*", "code.*",
	"commands.*", "popen2.*", "platform.popen", "sys.*", "signal.*", "urllib.*", "http.*",
	"ftplib.*", "smtplib.*", "telnetlib.*", "requests.*", "httplib.*", "tempfile.*",
	"pickle.*", "_pickle.*", "cPickle.*", "marshal.*", "dill.*", "cloudpickle.*", "shelve.*",
	"builtins.eval", "builtins.exec", "builtins.compile", "builtins.open", "builtins.getattr",
	"builtins.setattr", "builtins.delattr", "builtins.__import__", "builtins.apply",
	"builtins.execfile", "builtins.input", "builtins.breakpoint", "builtins.globals",
	"builtins.locals", "builtins.vars", "builtins.memoryview", "builtins.file",
	"operator.attrgetter", "operator.methodcaller", "operator.itemgetter",
	"functools.partial", "functools.reduce", "types.FunctionType", "types.CodeType",
	"types.MethodType", "pydoc.locate", "pydoc.pipepager", "timeit.*", "pdb.*", "bdb.*",
	"torch.hub.*", "torch.load", "torch.jit.*", "torch.serialization.load",
	"torch._inductor.*", "torch.utils.cpp_extension.*", "numpy.load", "numpy.testing._private.utils.runstring",
	"_io.*", "io.*", "uuid._get_command_stdout", "venv.*", "distutils.*", "setuptools.*", "pip.*",
	"zipimport.*", "linecache.*", "site.*", "sysconfig.*",
}

func match(list []string, module, name string) bool {
	full := module + "." + name
	for _, p := range list {
		if strings.HasSuffix(p, ".*") {
			m := p[:len(p)-2]
			if module == m || strings.HasPrefix(module, m+".") {
				return true
			}
		} else if p == full {
			return true
		}
	}
	return false
}

// IsSafe reports whether module.name is a known data global.
func (p Policy) IsSafe(module, name string) bool {
	module = normModule(module)
	return match(SafeGlobals, module, name) || match(p.Extra, module, name)
}

// Judge returns the verdict for one reference and, for anything but Safe,
// a short reason.
func (p Policy) Judge(g GlobalRef) (Verdict, string) {
	if g.Dynamic {
		return Dangerous, "STACK_GLOBAL with a computed module or name"
	}
	module := normModule(g.Module)
	if module == "builtins" && g.Name == "getattr" {
		if g.NonLiteral || len(g.Attrs) == 0 {
			return Dangerous, "getattr not applied to a known data class with a literal name"
		}
		for _, a := range g.Attrs {
			i := strings.LastIndexByte(a.Of, '.')
			if i <= 0 || strings.HasPrefix(a.Name, "_") || !match(EnumClasses, a.Of[:i], a.Of[i+1:]) {
				return Dangerous, "getattr(" + a.Of + ", " + strconv.Quote(a.Name) + ") on a class not known as an enum"
			}
		}
		return Safe, ""
	}
	if match(DangerousGlobals, module, g.Name) {
		return Dangerous, "can run code or touch the system"
	}
	if p.IsSafe(module, g.Name) {
		return Safe, ""
	}
	return Unknown, "not a known data class"
}
