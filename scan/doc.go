// Package scan finds what loading a checkpoint file would run, without
// Python and without building anything.
//
// A [Scanner] reads a file in every container some loader would read it
// as (package sniff: a torch.save zip archive, the legacy torch.save
// format, pickles back to back, the tar format of PyTorch < 0.4, a
// safetensors file whose first bytes also start a pickle, a zip archive
// appended to other bytes), walks each pickle as CPython 3.11's unpickler
// reads it (pickle.Inspect), follows the torch.save payloads of
// torch.storage._load_from_bytes calls, and judges every global imported
// with a pickle.Policy: an allowlist by default, as
// torch.load(weights_only=True) works. The result is a [File] per file,
// and [Summarize] turns files into the exit code of `ckptinspect scan`
// (0 clean, 1 dangerous or unknown globals, 2 unreadable).
//
// One [Budget] bounds a whole run, whatever the nesting: bytes inflated
// from compressed records, zip directory entries, pickles walked. A file
// whose scan hits a limit is reported dangerous: what was not scanned
// could run code.
//
// [Targets] lists the files below folders by content, never by name.
// Scanners are safe for concurrent use; the types of report.go are the
// stable JSON document of `ckptinspect scan --format json`.
package scan
