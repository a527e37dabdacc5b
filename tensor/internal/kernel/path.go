package kernel

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// Path is one implementation of the kernels.
type Path int32

// The implementations. Every entry point (F32, BF16, F16, F64, AdamF32,
// RoundedBF16, RoundedF16) runs the most capable path the CPU supports,
// unless Use or the CKPTINSPECT_KERNELS environment variable says otherwise;
// the *Generic functions always run Generic.
const (
	Generic Path = iota // pure Go: the reference, and the only path with the purego or noasm tags or off amd64
	AVX2                // amd64 assembly with AVX2, FMA, F16C and POPCNT
	AVX512              // amd64 assembly with AVX-512 F, DQ, BW and VL
	numPaths
)

// String returns the path's name: "generic", "avx2" or "avx512".
func (p Path) String() string {
	switch p {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return "path(" + strconv.Itoa(int(p)) + ")"
}

// active is the path the entry points run.
var active atomic.Int32

// detected lists the paths this CPU and build support, before the cap of
// CKPTINSPECT_KERNELS.
var detected = append([]Path(nil), supported...)

func init() {
	// CKPTINSPECT_KERNELS=generic|avx2|avx512 caps the paths, for
	// benchmarks, for ruling the assembly out when chasing a problem, and
	// for testing the package as on a CPU without the paths above the cap
	// (AVX-512, or both): they are then neither active nor in Paths. A
	// value naming no path this CPU supports is ignored.
	if env := strings.ToLower(os.Getenv("CKPTINSPECT_KERNELS")); env != "" {
		for i, q := range supported {
			if q.String() == env {
				supported = supported[:i+1]
			}
		}
	}
	active.Store(int32(supported[len(supported)-1]))
}

// Paths returns the paths this CPU and build can run, Generic first and the
// most capable last, without those above the cap of CKPTINSPECT_KERNELS.
func Paths() []Path { return append([]Path(nil), supported...) }

// Active returns the path the entry points run.
func Active() Path { return Path(active.Load()) }

// Use makes the entry points run path p and returns a function that
// restores the previous path. It is a hook for tests and benchmarks: it
// panics if p is not in Paths, and must not be called while kernels run.
func Use(p Path) (restore func()) {
	ok := false
	for _, q := range supported {
		ok = ok || q == p
	}
	if !ok {
		panic("kernel: Use of unsupported path " + p.String())
	}
	old := active.Swap(int32(p))
	return func() { active.Store(old) }
}
