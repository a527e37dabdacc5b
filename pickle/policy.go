package pickle

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Verdict is the judgement of one global reference.
type Verdict uint8

// Verdicts, from best to worst.
const (
	Safe      Verdict = iota // known data: tensors, containers, numpy values, DeepSpeed and Hugging Face data classes
	Unknown                  // not known: harmless only if its own code is
	Dangerous                // runs code or touches the system when Python unpickles it
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

// Policy judges global references. The zero Policy is the default: an
// allowlist, as torch.load(weights_only=True) works: only the globals of
// [SafeGlobals] (and those of Allow) are accepted; [Load] refuses a pickle
// that references any other.
type Policy struct {
	// Allow names more globals to judge safe: "module.Name", or
	// "module.*" for every undotted name of one module. It turns unknown
	// globals safe, never dangerous ones, and a "module.*" entry never
	// covers a dotted name ("module.a.b" walks attributes).
	Allow []string
	// Lenient accepts unknown globals (they are loaded as inert objects):
	// only dangerous ones are refused.
	Lenient bool
}

// Refuses reports whether the policy refuses a pickle holding a global
// judged v.
func (p Policy) Refuses(v Verdict) bool {
	return v == Dangerous || v == Unknown && !p.Lenient
}

// Check returns an error wrapping [ErrUnsafe] that names the first global
// of prog the policy refuses (dangerous ones first), and how to accept an
// unknown one; nil when it refuses none.
func (p Policy) Check(prog *Program) error {
	var unknown *GlobalRef
	var unknownWhy string
	for i := range prog.Globals {
		g := &prog.Globals[i]
		v, why := p.Judge(*g)
		if v == Dangerous {
			return errorf(ErrUnsafe, int(g.Offset), g.Op, "refusing %s: %s", displayName(*g), why)
		}
		if v == Unknown && !p.Lenient && unknown == nil {
			unknown, unknownWhy = g, why
		}
	}
	if len(prog.Computed) > 0 {
		c := prog.Computed[0]
		return errorf(ErrUnsafe, int(c.Offset), c.Op, "refusing a call of a value computed by the pickle")
	}
	if unknown != nil {
		return errorf(ErrUnsafe, int(unknown.Offset), unknown.Op, "refusing %s: %s", displayName(*unknown), unknownWhy)
	}
	return nil
}

// displayName is "module.Name", "?" for what a computed STACK_GLOBAL
// names.
func displayName(g GlobalRef) string {
	if g.Dynamic {
		return "a computed global"
	}
	return g.Module + "." + g.Name
}

// CheckAllow validates an allow pattern: "module.Name" or "module.*".
func CheckAllow(pattern string) error {
	i := strings.LastIndexByte(pattern, '.')
	if i <= 0 || i == len(pattern)-1 || strings.ContainsAny(pattern, " \t\n") || strings.Contains(pattern, "..") {
		return fmt.Errorf("allow pattern %q: want module.Name or module.*", pattern)
	}
	if strings.Contains(pattern[:i], "*") || strings.Contains(pattern[i+1:], "*") && pattern[i+1:] != "*" {
		return fmt.Errorf("allow pattern %q: only a whole trailing .* is a wildcard", pattern)
	}
	return nil
}

// SafeGlobals returns the globals understood as data (FORMATS.md §3): what
// real checkpoints of PyTorch, DeepSpeed and the Hugging Face Trainer hold.
// An entry "module.*" covers every undotted name of the module.
func SafeGlobals() []string { return append([]string(nil), safeGlobals...) }

var safeGlobals = []string{
	"torch._utils._rebuild_tensor",
	"torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor_v3",
	"torch._utils._rebuild_parameter",
	"torch._utils._rebuild_parameter_with_state",
	"torch._utils._rebuild_device_tensor_from_numpy",
	"torch._utils._rebuild_meta_tensor_no_storage",
	"torch._utils._rebuild_sparse_tensor",
	"torch._utils._rebuild_nested_tensor",
	"torch._utils._rebuild_qtensor",
	"torch._utils._rebuild_wrapper_subclass",
	"torch._tensor._rebuild_from_type_v2", // tensor subclasses: calls its (named, judged) function argument
	"torch.serialization._get_layout",     // sparse tensors: the layout object by name
	"torch.Tensor", "torch.nn.parameter.Parameter", "torch.nn.parameter.UninitializedParameter",
	"torch.storage.TypedStorage", "torch.storage.UntypedStorage",
	"torch.Size", "torch.device", "torch.memory_format", "torch.layout",
	"torch.contiguous_format", "torch.channels_last", "torch.preserve_format", "torch.strided",
	"torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc", "torch.sparse_bsr", "torch.sparse_bsc",
	"torch.per_tensor_affine", "torch.per_channel_affine", "torch.per_tensor_symmetric",
	"torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
	"torch.storage._load_from_bytes", // storages pickled by value: see LoadFromBytes
	// dtype objects and typed storage classes
	"torch.float64", "torch.double", "torch.float32", "torch.float", "torch.float16", "torch.half",
	"torch.bfloat16", "torch.int64", "torch.long", "torch.int32", "torch.int", "torch.int16",
	"torch.short", "torch.int8", "torch.uint8", "torch.bool", "torch.complex64", "torch.cfloat",
	"torch.complex128", "torch.cdouble", "torch.complex32", "torch.chalf", "torch.float8_e4m3fn",
	"torch.float8_e5m2", "torch.float8_e4m3fnuz", "torch.float8_e5m2fnuz",
	"torch.uint16", "torch.uint32", "torch.uint64", "torch.qint8", "torch.quint8", "torch.qint32",
	"torch.quint4x2", "torch.quint2x4",
	"torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
	"torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
	"torch.ByteStorage", "torch.BoolStorage", "torch.ComplexFloatStorage", "torch.ComplexDoubleStorage",
	"torch.Float8_e4m3fnStorage", "torch.Float8_e5m2Storage", "torch.UInt16Storage",
	"torch.UInt32Storage", "torch.UInt64Storage", "torch.UntypedStorage",
	"torch.QInt8Storage", "torch.QUInt8Storage", "torch.QInt32Storage", "torch.QUInt4x2Storage",
	"torch.QUInt2x4Storage",
	// Python containers and values
	"collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
	"builtins.set", "builtins.frozenset", "builtins.slice", "builtins.object",
	"builtins.bytearray", "builtins.bytes", "builtins.complex", "builtins.range", "builtins.int", "builtins.float",
	"builtins.list", "builtins.dict", "builtins.tuple", "builtins.str", "builtins.bool",
	"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__", "_codecs.encode",
	"argparse.Namespace", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
	"datetime.timezone", "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
	"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
	"random.Random",
	// numpy values (Hugging Face rng_state*.pth): numpy 1 and numpy 2 names
	"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
	"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
	"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
	"numpy.dtype", "numpy.ndarray", "numpy.dtypes.*",
	"numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
	"numpy.random._pickle.__generator_ctor", "numpy.random.__RandomState_ctor",
	"numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
	"numpy.random._philox.Philox", "numpy.random._sfc64.SFC64", "numpy.random.mtrand.RandomState",
	"numpy.random._generator.Generator", "numpy.random.bit_generator.SeedSequence",
	// DeepSpeed data classes
	"deepspeed.runtime.fp16.loss_scaler.LossScaler",
	"deepspeed.runtime.fp16.loss_scaler.DynamicLossScaler",
	"deepspeed.runtime.zero.config.ZeroStageEnum",
	"deepspeed.runtime.config.DeepSpeedConfig",
	"deepspeed.utils.tensor_fragment.fragment_address",
	"deepspeed.checkpoint.universal_checkpoint.SubparamShape",
	"deepspeed.runtime.zero.stage_1_and_2.*",
	// Hugging Face Trainer: training_args.bin (TrainingArguments with its
	// enums, AcceleratorConfig, the accelerate state and DeepSpeed plugin)
	"transformers.training_args.TrainingArguments",
	"transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
	"transformers.training_args.OptimizerNames",
	"transformers.training_args.ParallelMode",
	"transformers.trainer_utils.IntervalStrategy",
	"transformers.trainer_utils.EvaluationStrategy",
	"transformers.trainer_utils.SaveStrategy",
	"transformers.trainer_utils.SchedulerType",
	"transformers.trainer_utils.HubStrategy",
	"transformers.trainer_utils.FSDPOption",
	"transformers.debug_utils.DebugOption",
	"transformers.trainer_pt_utils.AcceleratorConfig",
	"transformers.integrations.deepspeed.HfTrainerDeepSpeedConfig",
	"transformers.integrations.deepspeed.HfDeepSpeedConfig",
	"transformers.deepspeed.HfTrainerDeepSpeedConfig",
	"transformers.generation.configuration_utils.GenerationConfig",
	"accelerate.state.PartialState",
	"accelerate.state.AcceleratorState",
	"accelerate.utils.dataclasses.DistributedType",
	"accelerate.utils.dataclasses.DeepSpeedPlugin",
	"accelerate.utils.dataclasses.ComputeEnvironment",
	"accelerate.utils.dataclasses.PrecisionType",
	"accelerate.utils.deepspeed.HfDeepSpeedConfig",
}

// EnumClasses returns the data classes that are Python enums: the only
// classes builtins.getattr may be applied to (Python 3.11+ pickles an enum
// member as getattr(EnumClass, "member")).
func EnumClasses() []string { return append([]string(nil), enumClasses...) }

var enumClasses = []string{
	"deepspeed.runtime.zero.config.ZeroStageEnum",
	"transformers.training_args.OptimizerNames",
	"transformers.training_args.ParallelMode",
	"transformers.trainer_utils.IntervalStrategy",
	"transformers.trainer_utils.EvaluationStrategy",
	"transformers.trainer_utils.SaveStrategy",
	"transformers.trainer_utils.SchedulerType",
	"transformers.trainer_utils.HubStrategy",
	"transformers.trainer_utils.FSDPOption",
	"transformers.debug_utils.DebugOption",
	"accelerate.utils.dataclasses.DistributedType",
	"accelerate.utils.dataclasses.ComputeEnvironment",
	"accelerate.utils.dataclasses.PrecisionType",
}

// DangerousGlobals returns the table of globals that run code, import
// modules, spawn processes, or touch files, the network or the interpreter
// when Python unpickles them; [Policy.Judge] gives the group's reason with
// its verdict. A pattern "module.*" covers every name of the module and of
// its submodules. It gathers the deny lists of picklescan, modelscan and
// fickling, and adds nested loaders (anything that unpickles bytes) and
// file writers.
func DangerousGlobals() []DangerGroup {
	out := make([]DangerGroup, len(dangerousGlobals))
	for i, g := range dangerousGlobals {
		out[i] = DangerGroup{Why: g.Why, Patterns: append([]string(nil), g.Patterns...)}
	}
	return out
}

var dangerousGlobals = []DangerGroup{
	{"runs shell commands or other programs", []string{
		"os.*", "posix.*", "nt.*", "subprocess.*", "_posixsubprocess.*", "_winapi.*", "pty.*",
		"commands.*", "popen2.*", "platform.popen", "pydoc.pipepager", "uuid._get_command_stdout",
		"torch._inductor.*", "torch.utils.cpp_extension.*", "torch.utils.collect_env.*",
	}},
	{"evaluates or compiles Python code", []string{
		"builtins.eval", "builtins.exec", "builtins.compile", "builtins.execfile", "runpy.*",
		"code.*", "codeop.*", "timeit.*", "doctest.*", "trace.*", "profile.*", "cProfile.*",
		"types.FunctionType", "types.CodeType", "types.LambdaType", "types.ModuleType",
		"numpy.testing.*", "torch.jit.*", "torch.fx.*", "torch._dynamo.*", "torch.package.*",
		"torch.utils.bottleneck.*", "torch.utils._config_module.*", "torch._export.*", "torch.export.*",
		"torch.compiler.*", "torch._functorch.*", "torch.onnx.*", "builtins.breakpoint",
	}},
	{"imports modules", []string{
		"builtins.__import__", "importlib.*", "imp.*", "pkgutil.*", "zipimport.*", "pydoc.*",
		"antigravity.*", "this.*", "__main__.*",
	}},
	{"reaches arbitrary attributes or calls arbitrary callables", []string{
		"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.apply",
		"builtins.globals", "builtins.locals", "builtins.vars", "builtins.memoryview", "builtins.type",
		"builtins.super", "builtins.classmethod", "builtins.staticmethod", "builtins.property",
		"builtins.dir", "builtins.id", "builtins.hasattr",
		"operator.*", "_operator.*", "functools.*", "_functools.*", "types.MethodType",
		"builtins.map", "builtins.filter", "builtins.iter", "builtins.next", "builtins.zip",
		"builtins.sorted", "builtins.min", "builtins.max", "builtins.sum", "itertools.*",
		"copy.*", "inspect.*", "ast.*", "dis.*", "gc.*", "weakref.*", "contextlib.*",
		"collections.abc.*", "abc.*",
	}},
	{"opens, reads or writes files", []string{
		"builtins.open", "builtins.file", "io.*", "_io.*", "codecs.open", "codecs.EncodedFile",
		"shutil.*", "tempfile.*", "fileinput.*", "glob.*", "tarfile.*", "zipfile.*", "gzip.*", "bz2.*",
		"lzma.*", "zlib.*", "dbm.*", "sqlite3.*", "linecache.*", "logging.*", "mmap.*", "fcntl.*",
		"filecmp.*", "pathlib.Path.write_text", "pathlib.Path.write_bytes", "pathlib.Path.unlink",
		"numpy.fromfile", "numpy.memmap", "numpy.loadtxt", "numpy.genfromtxt", "numpy.save",
		"numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.lib.*", "numpy.ctypeslib.*",
		"numpy.core.memmap.*", "numpy._core.memmap.*", "torch.save", "torch.from_file",
		"torch.serialization.load", "torch.serialization._load", "torch.serialization._legacy_load", "torch.serialization.save", "torch.serialization._save", "torch.serialization._legacy_save", "torch.serialization._open_file", "torch.serialization._open_zipfile_reader", "torch.serialization._open_zipfile_writer", "torch.utils.tensorboard.*", "torch.utils.data.datapipes.*",
		"torch.utils.checkpoint.*", "distutils.*",
	}},
	{"opens network connections or a browser", []string{
		"socket.*", "_socket.*", "ssl.*", "_ssl.*", "select.*", "selectors.*", "socketserver.*",
		"urllib.*", "urllib2.*", "urllib3.*", "http.*", "httplib.*", "ftplib.*", "smtplib.*", "telnetlib.*",
		"poplib.*", "imaplib.*", "nntplib.*", "xmlrpc.*", "requests.*", "aiohttp.*", "httpx.*",
		"webbrowser.*", "asyncio.*", "torch.distributed.*", "torch.utils.model_zoo.*",
		"huggingface_hub.*",
	}},
	{"deserialises more data that can run code (pickle, marshal, YAML, torch.load)", []string{
		"pickle.*", "_pickle.*", "cPickle.*", "pickletools.*", "marshal.*", "dill.*", "cloudpickle.*",
		"joblib.*", "shelve.*", "yaml.*", "torch.load", "torch.hub.*", "numpy.load",
		"pandas.read_pickle", "pandas.io.pickle.*", "pandas.io.*", "keras.*", "tensorflow.*",
		"torch.multiprocessing.*", "torch._weights_only_unpickler.*", "copyreg.add_extension",
		"copyreg._inverted_registry.*", "copyreg._extension_registry.*", "copyreg._extension_cache.*",
	}},
	{"controls the interpreter or the process", []string{
		"sys.*", "signal.*", "ctypes.*", "_ctypes.*", "cffi.*", "multiprocessing.*", "_multiprocessing.*",
		"_thread.*", "thread.*", "threading.*", "concurrent.*", "atexit.*", "faulthandler.*", "resource.*",
		"builtins.exit", "builtins.quit", "builtins.input", "builtins.help", "builtins.print",
		"_sitebuiltins.*", "pdb.*", "bdb.*", "winreg.*", "_winreg.*", "sched.*", "tracemalloc.*",
		"torch._C.*", "torch.ops.*", "torch.library.*", "torch.utils.dlpack.*",
		"builtins.BaseException", "builtins.SystemExit", "builtins.KeyboardInterrupt",
	}},
	{"installs packages or builds code", []string{
		"pip.*", "ensurepip.*", "venv.*", "setuptools.*", "site.*", "sysconfig.*",
		"numpy.f2py.*", "numpy.distutils.*", "idlelib.*", "lib2to3.*", "tkinter.*", "IPython.*",
		"turtle.*", "msilib.*",
	}},
}

// LoadFromBytes is the global that unpickles a storage pickled by value:
// torch.storage._load_from_bytes(b) is torch.load(io.BytesIO(b)).
const LoadFromBytes = "torch.storage._load_from_bytes"

// DangerGroup is a row of [DangerousGlobals]: global patterns and why they
// are dangerous.
type DangerGroup struct {
	Why      string
	Patterns []string
}

// dangerous returns why module.name is in the danger table, or "".
func dangerous(module, name string) string {
	key := [2]string{module, name}
	if why, ok := dangerCache.Load(key); ok {
		return why.(string)
	}
	why := ""
	for _, g := range dangerousGlobals {
		if matchDanger(g.Patterns, module, name) {
			why = g.Why
			break
		}
	}
	// The deny list is fixed: remember the answers for the names real
	// checkpoints repeat in every file (a hostile file's many names stop
	// being remembered past the cap).
	if dangerCached.Load() < maxDangerCache {
		dangerCached.Add(1)
		dangerCache.Store(key, why)
	}
	return why
}

var (
	dangerCache  sync.Map // [2]string{module, name} → dangerous's answer
	dangerCached atomic.Int64
)

const maxDangerCache = 4096

// matchDanger matches danger patterns: "m.*" covers module m, its
// submodules and any name in them.
func matchDanger(list []string, module, name string) bool {
	full := module + "." + name
	for _, p := range list {
		if strings.HasSuffix(p, ".*") {
			m := p[:len(p)-2]
			if module == m || strings.HasPrefix(module, m+".") || strings.HasPrefix(full, m+".") {
				return true
			}
		} else if p == full {
			return true
		}
	}
	return false
}

// matchSafe matches safe or allow patterns: "m.*" covers the undotted
// names of module m only.
func matchSafe(list []string, module, name string) bool {
	full := module + "." + name
	dotted := hasDot(name)
	for _, p := range list {
		if strings.HasSuffix(p, ".*") {
			if !dotted && module == p[:len(p)-2] {
				return true
			}
		} else if p == full {
			return true
		}
	}
	return false
}

// dangerousPath judges a global by every module and name its dotted path
// can be read as: ("torch", "os.system") reaches os.system, ("builtins",
// "print.__self__.eval") the builtins module through a dunder attribute.
func dangerousPath(module, name string) string {
	if !hasDot(name) {
		return dangerous(module, name)
	}
	for _, part := range strings.Split(name, ".") {
		if strings.HasPrefix(part, "__") || part == "<locals>" || part == "" {
			return "walks attributes through " + strconv.Quote(part) + ": reaches what the class or module holds, modules and builtins included"
		}
	}
	parts := strings.Split(module+"."+name, ".")
	for j := 1; j < len(parts); j++ {
		for i := 0; i < j; i++ {
			if why := dangerous(strings.Join(parts[i:j], "."), parts[j]); why != "" {
				return why + " (reached through the dotted name " + strings.Join(parts[i:j+1], ".") + ")"
			}
		}
	}
	return ""
}

// IsSafe reports whether module.name is a known data global or allowed.
func (p Policy) IsSafe(module, name string) bool {
	return matchSafe(safeGlobals, module, name) || matchSafe(p.Allow, module, name)
}

// Judge returns the verdict for one global and, for anything but Safe, a
// short reason. A global is judged by the names Python may import it as
// (the name as written, and for protocols 0-2 the Python 3 name
// Lib/_compat_pickle.py maps it to), keeping the worse verdict; a dotted
// name by everything its path reaches; and some globals by how the pickle
// uses them (see [GlobalRef]).
func (p Policy) Judge(g GlobalRef) (Verdict, string) {
	if g.Ext != 0 {
		return Dangerous, fmt.Sprintf("EXT opcode: imports whatever global the loading process registered as extension code %d with copyreg.add_extension (not named in the file)", g.Ext)
	}
	if g.Dynamic {
		return Dangerous, "STACK_GLOBAL with a computed module or name"
	}
	raw := [2]string{g.RawModule, g.RawName}
	primary := [2]string{g.Module, g.Name}
	if raw[0] == "" && raw[1] == "" {
		raw = primary
		if g.Proto < 3 {
			primary[0], primary[1] = python3Name(raw[0], raw[1])
		}
	}
	cands := [][2]string{primary}
	m3, n3 := python3Name(raw[0], raw[1])
	for _, c := range [][2]string{{m3, n3}, raw, {normModule(raw[0]), raw[1]}} {
		dup := false
		for _, d := range cands {
			dup = dup || d == c
		}
		if !dup {
			cands = append(cands, c)
		}
	}
	v, why := p.judge(g, cands[0][0], cands[0][1])
	for _, c := range cands[1:] {
		// Another reading of the name can only make a global dangerous.
		if v2, why2 := p.judge(g, c[0], c[1]); v2 == Dangerous && v != Dangerous {
			v, why = v2, why2+" (as "+c[0]+"."+c[1]+")"
		}
	}
	return v, why
}

func (p Policy) judge(g GlobalRef, module, name string) (Verdict, string) {
	full := module + "." + name
	switch full {
	case "builtins.getattr":
		switch {
		case g.Escaped || g.CalledIndirectly:
			return Dangerous, "getattr handed to something that may call it with any arguments"
		case g.BadArgs != "":
			return Dangerous, g.BadArgs
		case g.ResultCalled:
			return Dangerous, "what getattr returns is called"
		case g.ResultMutated:
			return Dangerous, "what getattr returns is changed in place"
		case len(g.Attrs) == 0:
			return Dangerous, "getattr not applied to a known data class with a literal name"
		}
		for _, a := range g.Attrs {
			i := strings.LastIndexByte(a.Of, '.')
			if i <= 0 || strings.HasPrefix(a.Name, "_") || hasDot(a.Of[i+1:]) || !matchSafe(enumClasses, a.Of[:i], a.Of[i+1:]) {
				return Dangerous, "getattr(" + a.Of + ", " + strconv.Quote(a.Name) + ") on a class not known as an enum"
			}
		}
		return Safe, ""
	case LoadFromBytes:
		switch {
		case g.Escaped || g.CalledIndirectly:
			return Dangerous, "torch.load handed to something that may call it with any data"
		case g.BadArgs != "":
			return Dangerous, g.BadArgs
		case g.ResultCalled || g.Mutated:
			return Dangerous, "torch.load used in a way real files never use it"
		case len(g.Payloads) == 0:
			return Dangerous, "torch.load of data that is not a bytes literal of the pickle"
		}
		return Safe, ""
	}
	if why := dangerousPath(module, name); why != "" {
		return Dangerous, why
	}
	switch {
	case g.Mutated:
		return Dangerous, "the pickle changes " + full + " itself (BUILD, SETITEM or APPEND on the class, function or module, not on an instance)"
	case g.ResultCalled:
		return Dangerous, "what " + full + " returns is called in turn"
	case g.BadArgs != "":
		return Dangerous, g.BadArgs
	}
	if _, ok := callsArguments[full]; ok && g.CalledIndirectly {
		return Dangerous, full + " called by another callable, with arguments the pickle does not show"
	}
	if matchSafe(safeGlobals, module, name) {
		return Safe, ""
	}
	if matchSafe(p.Allow, module, name) {
		return Safe, "allowed by --allow"
	}
	if hasDot(name) {
		return Unknown, "a dotted name that walks attributes of " + module + ": not a known data class (to trust it: --allow " + full + ")"
	}
	return Unknown, "not a known data class or function (to trust it: --allow " + full + ")"
}

// python2Modules and python2Names are how Python 3 reads the module and
// global names that pickles of protocols 0-2 may use (Python 2 names; the
// data of CPython's Lib/_compat_pickle.py). Names of the Python 2
// "exceptions" module are read from builtins. [Policy.Judge] judges both the
// name as written and the name Python 3 reads, and keeps the worse verdict.
var python2Modules = map[string]string{
	"__builtin__": "builtins", "copy_reg": "copyreg", "exceptions": "builtins",
	"BaseHTTPServer": "http.server", "CGIHTTPServer": "http.server", "ConfigParser": "configparser",
	"Cookie": "http.cookies", "Dialog": "tkinter.dialog", "DocXMLRPCServer": "xmlrpc.server",
	"FileDialog": "tkinter.filedialog", "HTMLParser": "html.parser", "Queue": "queue",
	"ScrolledText": "tkinter.scrolledtext", "SimpleDialog": "tkinter.simpledialog",
	"SimpleHTTPServer": "http.server", "SimpleXMLRPCServer": "xmlrpc.server",
	"SocketServer": "socketserver", "StringIO": "io", "Tix": "tkinter.tix",
	"Tkconstants": "tkinter.constants", "Tkdnd": "tkinter.dnd", "Tkinter": "tkinter",
	"UserDict": "collections", "UserList": "collections", "UserString": "collections",
	"_abcoll": "collections.abc", "_elementtree": "xml.etree.ElementTree", "_winreg": "winreg",
	"anydbm": "dbm", "cPickle": "pickle", "cStringIO": "io", "commands": "subprocess",
	"cookielib": "http.cookiejar", "dbhash": "dbm.bsd", "dbm": "dbm.ndbm", "dumbdbm": "dbm.dumb",
	"dummy_thread": "_dummy_thread", "gdbm": "dbm.gnu", "htmlentitydefs": "html.entities",
	"httplib": "http.client", "markupbase": "_markupbase", "repr": "reprlib",
	"robotparser": "urllib.robotparser", "test.test_support": "test.support", "thread": "_thread",
	"tkColorChooser": "tkinter.colorchooser", "tkCommonDialog": "tkinter.commondialog",
	"tkFileDialog": "tkinter.filedialog", "tkFont": "tkinter.font",
	"tkMessageBox": "tkinter.messagebox", "tkSimpleDialog": "tkinter.simpledialog",
	"ttk": "tkinter.ttk", "urllib2": "urllib.request", "urlparse": "urllib.parse", "whichdb": "dbm",
	"xmlrpclib": "xmlrpc.client",
}

var python2Names = map[[2]string][2]string{
	{"UserDict", "IterableUserDict"}:           {"collections", "UserDict"},
	{"UserDict", "UserDict"}:                   {"collections", "UserDict"},
	{"UserList", "UserList"}:                   {"collections", "UserList"},
	{"UserString", "UserString"}:               {"collections", "UserString"},
	{"__builtin__", "basestring"}:              {"builtins", "str"},
	{"__builtin__", "intern"}:                  {"sys", "intern"},
	{"__builtin__", "long"}:                    {"builtins", "int"},
	{"__builtin__", "reduce"}:                  {"functools", "reduce"},
	{"__builtin__", "unichr"}:                  {"builtins", "chr"},
	{"__builtin__", "unicode"}:                 {"builtins", "str"},
	{"__builtin__", "xrange"}:                  {"builtins", "range"},
	{"_multiprocessing", "Connection"}:         {"multiprocessing.connection", "Connection"},
	{"_socket", "fromfd"}:                      {"socket", "fromfd"},
	{"itertools", "ifilter"}:                   {"builtins", "filter"},
	{"itertools", "ifilterfalse"}:              {"itertools", "filterfalse"},
	{"itertools", "imap"}:                      {"builtins", "map"},
	{"itertools", "izip"}:                      {"builtins", "zip"},
	{"itertools", "izip_longest"}:              {"itertools", "zip_longest"},
	{"multiprocessing", "AuthenticationError"}: {"multiprocessing.context", "AuthenticationError"},
	{"multiprocessing", "BufferTooShort"}:      {"multiprocessing.context", "BufferTooShort"},
	{"multiprocessing", "ProcessError"}:        {"multiprocessing.context", "ProcessError"},
	{"multiprocessing", "TimeoutError"}:        {"multiprocessing.context", "TimeoutError"},
	{"multiprocessing.forking", "Popen"}:       {"multiprocessing.popen_fork", "Popen"},
	{"multiprocessing.process", "Process"}:     {"multiprocessing.context", "Process"},
	{"socket", "_socketobject"}:                {"socket", "SocketType"},
	{"urllib", "ContentTooShortError"}:         {"urllib.error", "ContentTooShortError"},
	{"urllib", "getproxies"}:                   {"urllib.request", "getproxies"},
	{"urllib", "pathname2url"}:                 {"urllib.request", "pathname2url"},
	{"urllib", "quote"}:                        {"urllib.parse", "quote"},
	{"urllib", "quote_plus"}:                   {"urllib.parse", "quote_plus"},
	{"urllib", "unquote"}:                      {"urllib.parse", "unquote"},
	{"urllib", "unquote_plus"}:                 {"urllib.parse", "unquote_plus"},
	{"urllib", "url2pathname"}:                 {"urllib.request", "url2pathname"},
	{"urllib", "urlcleanup"}:                   {"urllib.request", "urlcleanup"},
	{"urllib", "urlencode"}:                    {"urllib.parse", "urlencode"},
	{"urllib", "urlopen"}:                      {"urllib.request", "urlopen"},
	{"urllib", "urlretrieve"}:                  {"urllib.request", "urlretrieve"},
	{"urllib2", "HTTPError"}:                   {"urllib.error", "HTTPError"},
	{"urllib2", "URLError"}:                    {"urllib.error", "URLError"},
	{"whichdb", "whichdb"}:                     {"dbm", "whichdb"},
}
