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
	"torch._utils._rebuild_device_tensor_from_numpy",
	"torch._utils._rebuild_meta_tensor_no_storage",
	"torch._tensor._rebuild_from_type_v2", // tensor subclasses: calls the (separately judged) rebuild function
	"torch.Tensor", "torch.nn.parameter.Parameter",
	"torch.storage.TypedStorage", "torch.storage.UntypedStorage",
	"torch.Size",
	"torch.device",
	"torch.storage._load_from_bytes", // storages pickled by value: see LoadFromBytes
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
	"numpy.random.__RandomState_ctor",
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
	"transformers.trainer_utils.FSDPOption",
	"transformers.training_args.ParallelMode",
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
	"transformers.trainer_utils.FSDPOption",
	"transformers.training_args.ParallelMode",
	"accelerate.utils.dataclasses.DistributedType",
}

// DangerousGlobals is the table of globals that run code, import modules,
// spawn processes, or touch files, the network or the interpreter when
// Python unpickles them; [Policy.Judge] gives the group's reason with its
// verdict. A pattern "module.*" covers every name of the module and of its
// submodules. Python 2 module names (__builtin__, copy_reg) are mapped to
// their Python 3 names before matching.
//
// Two globals are judged by how they are used. builtins.getattr is
// dangerous except in the one form Python 3.11+ uses for enum members:
// getattr(<one of EnumClasses>, "<literal name>"), with a name not
// starting with "_". [LoadFromBytes] (how pickle.dumps writes a storage)
// runs torch.load on its argument: it is dangerous unless every use is a
// call with a bytes literal, which is then a torch.save file of its own
// that a scanner must judge in turn (GlobalRef.Payloads). A STACK_GLOBAL
// whose module or name is computed rather than a string literal is always
// dangerous.
var DangerousGlobals = []DangerGroup{
	{"runs shell commands or other programs", []string{
		"os.*", "posix.*", "nt.*", "subprocess.*", "_posixsubprocess.*", "_winapi.*", "pty.*",
		"commands.*", "popen2.*", "platform.popen", "pydoc.pipepager", "uuid._get_command_stdout",
	}},
	{"evaluates or compiles Python code", []string{
		"builtins.eval", "builtins.exec", "builtins.compile", "builtins.execfile", "runpy.*",
		"code.*", "codeop.*", "timeit.*", "doctest.*", "trace.*", "profile.*", "cProfile.*",
		"types.FunctionType", "types.CodeType", "types.LambdaType", "numpy.testing._private.utils.runstring",
	}},
	{"imports modules", []string{
		"builtins.__import__", "importlib.*", "imp.*", "pkgutil.*", "zipimport.*", "pydoc.locate",
	}},
	{"reaches arbitrary attributes or calls arbitrary callables", []string{
		"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.apply",
		"builtins.globals", "builtins.locals", "builtins.vars", "builtins.memoryview",
		"operator.attrgetter", "operator.methodcaller", "operator.itemgetter",
		"_operator.attrgetter", "_operator.methodcaller", "_operator.itemgetter",
		"functools.partial", "functools.reduce", "_functools.*", "types.MethodType",
		"builtins.map", "builtins.filter", "builtins.iter", "itertools.*",
	}},
	{"opens, reads or changes files", []string{
		"builtins.open", "builtins.file", "io.*", "_io.*", "codecs.open", "shutil.*", "tempfile.*",
		"fileinput.*", "glob.*", "tarfile.*", "zipfile.*", "gzip.open", "bz2.open", "lzma.open",
		"dbm.*", "sqlite3.*", "linecache.*", "logging.config.*", "mmap.*", "fcntl.*",
		"numpy.fromfile", "numpy.memmap", "numpy.loadtxt", "numpy.genfromtxt", "numpy.save",
		"numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.lib.npyio.*",
	}},
	{"opens network connections or a browser", []string{
		"socket.*", "_socket.*", "ssl.*", "select.*", "selectors.*", "socketserver.*",
		"urllib.*", "urllib2.*", "http.*", "httplib.*", "ftplib.*", "smtplib.*", "telnetlib.*",
		"xmlrpc.*", "requests.*", "aiohttp.*", "webbrowser.*", "asyncio.*",
	}},
	{"deserialises more data that can run code (pickle, marshal, YAML, torch.load)", []string{
		"pickle.*", "_pickle.*", "cPickle.*", "marshal.*", "dill.*", "cloudpickle.*", "joblib.*",
		"shelve.*", "yaml.*", "torch.load", "torch.serialization.*", "numpy.load",
	}},
	{"downloads or runs model code (torch.hub, TorchScript, FX, compiled kernels)", []string{
		"torch.hub.*", "torch.jit.*", "torch.fx.*", "torch.package.*", "torch._dynamo.*",
		"torch._inductor.*", "torch.utils.cpp_extension.*", "torch.utils.collect_env.*",
		"torch.utils.bottleneck.*", "torch.utils._config_module.*",
	}},
	{"controls the interpreter or the process", []string{
		"sys.*", "signal.*", "ctypes.*", "_ctypes.*", "cffi.*", "multiprocessing.*", "_thread.*",
		"threading.*", "atexit.*", "faulthandler.*", "resource.*", "gc.*", "builtins.exit",
		"builtins.quit", "builtins.breakpoint", "builtins.input", "builtins.help", "_sitebuiltins.*",
		"pdb.*", "bdb.*", "winreg.*", "_winreg.*",
	}},
	{"installs packages or builds code", []string{
		"pip.*", "ensurepip.*", "venv.*", "distutils.*", "setuptools.*", "site.*", "sysconfig.*",
		"numpy.f2py.*", "numpy.distutils.*", "idlelib.*", "lib2to3.*", "tkinter.*", "IPython.*",
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

// dangerous returns why module.name is in [DangerousGlobals], or "".
func dangerous(module, name string) string {
	for _, g := range DangerousGlobals {
		if match(g.Patterns, module, name) {
			return g.Why
		}
	}
	return ""
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
	v, why := p.judge(g, module, g.Name)
	// A Python 2 name exists in Python 3 only under the name Python 3
	// reads it as, which is what counts, unless the name as written is
	// itself dangerous.
	if m3, n3, ok := python3Name(module, g.Name); ok && v != Dangerous {
		v, why = p.judge(g, m3, n3)
		if v == Dangerous {
			why += " (Python 3 reads " + module + "." + g.Name + " as " + m3 + "." + n3 + ")"
		}
	}
	return v, why
}

// python3Name returns the name Python 3 reads for a Python 2 name, if it
// differs.
func python3Name(module, name string) (string, string, bool) {
	if mn, ok := python2Names[[2]string{module, name}]; ok {
		return mn[0], mn[1], true
	}
	if module == "exceptions" {
		return "builtins", name, true
	}
	if m, ok := python2Modules[module]; ok {
		return m, name, true
	}
	return "", "", false
}

func (p Policy) judge(g GlobalRef, module, name string) (Verdict, string) {
	if module == "builtins" && name == "getattr" {
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
	if module+"."+name == LoadFromBytes {
		if g.NonLiteral || len(g.Payloads) == 0 || g.Use != UseCall {
			return Dangerous, "torch.load of data that is not a bytes literal of the pickle"
		}
		return Safe, ""
	}
	if why := dangerous(module, name); why != "" {
		return Dangerous, why
	}
	if p.IsSafe(module, name) {
		return Safe, ""
	}
	return Unknown, "not a known data class"
}

// python2Modules and python2Names are how Python 3 reads the module and
// global names that pickles of protocols 0-2 may use (Python 2 names; the
// data of CPython's Lib/_compat_pickle.py). Names of the Python 2
// "exceptions" module are read from builtins. [Policy.Judge] judges both the
// name as written and the name Python 3 reads, and keeps the worse verdict.
var python2Modules = map[string]string{
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
	{"builtins", "basestring"}:                 {"builtins", "str"},
	{"builtins", "intern"}:                     {"sys", "intern"},
	{"builtins", "long"}:                       {"builtins", "int"},
	{"builtins", "reduce"}:                     {"functools", "reduce"},
	{"builtins", "unichr"}:                     {"builtins", "chr"},
	{"builtins", "unicode"}:                    {"builtins", "str"},
	{"builtins", "xrange"}:                     {"builtins", "range"},
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
