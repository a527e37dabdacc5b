// Package shard splits the work of a command (stats, verify, series,
// diff) into parts that separate processes — the tasks of a Slurm job
// array, typically — do on their own, and merges the parts into the
// results one run of the command gives, bit for bit.
//
// # Why a merge is exact
//
// The figures of one parameter do not depend on what else is scanned: a
// scan (ckpt.Scan, ckpt.Diff) cuts each tensor's work into fixed chunks,
// merges their partial sums in chunk order, and samples the shift of the
// variance from the tensor itself. The global figures are sums over the
// parameters in the checkpoint's order (ckpt.Assemble, ckpt.AssembleDiff,
// verify.Report.Finish). So a part holds the complete results of its
// units (every field of tensor.Stats, the AdamW sums, the master
// comparison, the pair sums of a change, the effective statistics, the
// findings of verify), every float64 written in its shortest exact form,
// and the merge puts them back in the checkpoint's order and runs the same
// assembly as one run: the same bits, whatever the number of parts. Two
// things could change the bits, and the parts record both: the kernel path
// (tensor.Kernels: float64 sums of the AVX-512, AVX2 and pure-Go kernels
// differ in their last bits) and the chunk size.
//
// # The split
//
// A unit is a parameter (stats, diff: its bytes are those its scan reads,
// both sides for diff), for verify a parameter of each copy of the
// checkpoint and, with --deep, a zip file of each copy (its bytes those of
// its records), and for series a checkpoint (its bytes those of its
// files). [Balance] assigns units to parts by bytes, largest first, each
// to the lightest part; [Consecutive] cuts a series into runs of
// consecutive checkpoints, the largest as small as possible (a part also
// reads the checkpoint before its first, for the change of its first row).
// A plan depends on the checkpoint's metadata alone, so every task makes
// the same plan; [Plan.SHA256] identifies it.
//
// # The part file
//
// JSON, written by [Task] methods: "format": "ckptinspect-part",
// "version": 1, the command line ("command", "args", "flags", "cwd"), the
// build ("tool": version, kernels, chunk_elems), "shard" {index, count},
// "split" {unit, units, bytes, part_bytes, plan_sha256, owned}, "inputs"
// (every file of the checkpoints and every other file read, with its size
// and modification time in nanoseconds, and files_sha256 over the list),
// the results of the owned units ("params", "copies" and "files",
// "checkpoints", "diffs", "bytes_scanned"), and "timing" (never
// compared). A task states its input files before its scan and again
// after it, and fails when they changed.
//
// # The merge
//
// [Load] reads the parts and checks that they belong together: one command
// line run in one folder, one build, kernels and chunk size, one split,
// every part exactly once (missing and duplicated parts are named), and
// the same input files as each task saw them (the first differing file is
// named, with what each part saw). The Set's methods then check the parts
// against the checkpoint as it is now — its files stated again (a changed
// file makes every part stale), the plan made again from its metadata —
// and return the command's results, which the command renders as it
// renders its own.
package shard
