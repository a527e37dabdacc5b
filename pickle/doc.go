// Package pickle is a safe reader for Python pickles as found in PyTorch and
// DeepSpeed checkpoints.
//
// Reading is done in two stages, and nothing is ever executed:
//
//  1. [Inspect] walks the opcode stream without building anything, as
//     CPython 3.11's C unpickler reads it: the same texts accepted and
//     rejected, FRAMEs as both of Python's readers take them, EXT codes,
//     protocols 0 and 1 without PROTO. It checks every length against the
//     bytes actually present, bounds the stack and the number of open
//     MARKs, finds where the pickle ends, and records every global the
//     pickle imports together with what is done with it (called,
//     instantiated, stored, fetched from with getattr, changed in place,
//     its result called, the arguments of callables that call them).
//     [Policy.Judge] turns each such reference into a verdict: an
//     allowlist by default ([SafeGlobals]), with a deny list
//     ([DangerousGlobals]) no Allow entry overrides.
//  2. [Load] refuses a pickle the [Policy] refuses (by default any global
//     not known as data), then runs the pickle virtual machine of
//     github.com/nlpodyssey/gopickle over the inspected bytes, with every
//     global replaced by an inert [Global], and converts the result into
//     this package's value model: [*Dict], [*List], [Tuple], [*Set],
//     [Bytes], [*Global], [*Object], int64, *big.Int, float64, string, bool
//     and nil (None).
//
// A call of a global (REDUCE, OBJ, INST, NEWOBJ, NEWOBJ_EX) becomes an
// [*Object] that keeps the class, the arguments and the BUILD state; a
// caller-supplied [Options.Resolve] hook may turn known data constructors
// (torch tensors, torch.Size, ...) into richer values. Persistent ids are
// handed, converted, to [Options.PersistentLoad].
//
// Conventions: offsets in errors are byte offsets from the start of the
// pickle; limits are options with documented defaults ([DefaultLimits]);
// all errors wrap one of the sentinels [ErrFormat], [ErrTruncated],
// [ErrLimit] or [ErrUnsafe].
package pickle
