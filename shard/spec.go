package shard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxParts bounds the number of parts of a split.
const MaxParts = 100000

// Spec names one part of a split into Count parts: part Index, counted
// from 0.
type Spec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// String returns "I/N".
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// ErrSpec is wrapped by the errors of [ParseSpec].
var ErrSpec = errors.New("--shard")

// ParseSpec reads a --shard value: "I/N" (0 ≤ I < N), or "auto" in a Slurm
// array task, read from the environment through getenv: I is
// SLURM_ARRAY_TASK_ID and N is SLURM_ARRAY_TASK_COUNT, and the array must
// be exactly 0..N−1 (SLURM_ARRAY_TASK_MIN 0, SLURM_ARRAY_TASK_MAX N−1,
// SLURM_ARRAY_TASK_STEP 1); when CKPTINSPECT_SHARDS is set, N is its value
// instead and any task id below it is accepted (to run some parts of an
// N-part split again, as an array of their ids).
func ParseSpec(s string, getenv func(string) string) (Spec, error) {
	if s != "auto" {
		i, n, ok := strings.Cut(s, "/")
		idx, err1 := strconv.Atoi(strings.TrimSpace(i))
		count, err2 := strconv.Atoi(strings.TrimSpace(n))
		if !ok || err1 != nil || err2 != nil {
			return Spec{}, fmt.Errorf("%w %q: want I/N (part I of N, counted from 0) or auto (a Slurm array task)", ErrSpec, s)
		}
		return checkSpec(Spec{idx, count}, s)
	}
	id := getenv("SLURM_ARRAY_TASK_ID")
	if id == "" {
		return Spec{}, fmt.Errorf("%w auto: SLURM_ARRAY_TASK_ID is not set (not a Slurm array task): give --shard I/N", ErrSpec)
	}
	idx, err := strconv.Atoi(id)
	if err != nil {
		return Spec{}, fmt.Errorf("%w auto: SLURM_ARRAY_TASK_ID=%q is not a number", ErrSpec, id)
	}
	if n := getenv("CKPTINSPECT_SHARDS"); n != "" {
		count, err := strconv.Atoi(n)
		if err != nil {
			return Spec{}, fmt.Errorf("%w auto: CKPTINSPECT_SHARDS=%q is not a number", ErrSpec, n)
		}
		return checkSpec(Spec{idx, count}, "auto with CKPTINSPECT_SHARDS="+n)
	}
	env := map[string]int{}
	for _, k := range []string{"SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP"} {
		v, err := strconv.Atoi(getenv(k))
		if err != nil {
			return Spec{}, fmt.Errorf("%w auto: %s=%q is not a number (Slurm 17.11 or newer sets it): give --shard I/N", ErrSpec, k, getenv(k))
		}
		env[k] = v
	}
	count, lo, hi, step := env["SLURM_ARRAY_TASK_COUNT"], env["SLURM_ARRAY_TASK_MIN"], env["SLURM_ARRAY_TASK_MAX"], env["SLURM_ARRAY_TASK_STEP"]
	if lo != 0 || hi != count-1 || step != 1 {
		return Spec{}, fmt.Errorf("%w auto: the array's %d task ids run from %d to %d by %d, not 0 to %d: submit it with --array=0-%d, or give --shard I/N, or set CKPTINSPECT_SHARDS=N to run some parts of an N-part split",
			ErrSpec, count, lo, hi, step, count-1, count-1)
	}
	return checkSpec(Spec{idx, count}, "auto")
}

func checkSpec(s Spec, what string) (Spec, error) {
	switch {
	case s.Count < 1 || s.Count > MaxParts:
		return Spec{}, fmt.Errorf("%w %s: %d parts (want 1 to %d)", ErrSpec, what, s.Count, MaxParts)
	case s.Index < 0 || s.Index >= s.Count:
		return Spec{}, fmt.Errorf("%w %s: part %d of %d (parts are counted from 0 to %d)", ErrSpec, what, s.Index, s.Count, s.Count-1)
	}
	return s, nil
}
