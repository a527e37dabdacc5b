// Package malformed holds the tests of the README's malformed-input table:
// each row builds a broken input from the real PyTorch fixtures of
// testdata/ and runs ckptinspect's commands on it in a child process, which
// must exit with a non-zero code and one line on stderr naming the file,
// within a bounded peak RSS, never panicking or hanging. The package has no
// code of its own.
package malformed
