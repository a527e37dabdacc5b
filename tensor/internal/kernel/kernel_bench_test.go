package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// loop runs f in b.Loop and, where the thread's CPU time can be read, also
// reports the throughput per second of CPU time (cpu-MB/s): on a machine
// shared with other work it is far steadier than the wall-clock MB/s, which
// counts the time the benchmark waited for a core.
func loop(b *testing.B, bytes int64, f func()) {
	b.SetBytes(bytes)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPUTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if t1, _ := threadCPUTime(); ok && t1 > t0 {
		b.ReportMetric(float64(bytes)*float64(n)/(t1-t0).Seconds()/1e6, "cpu-MB/s")
	}
}

// benchSizes are the bytes of data per benchmark: in L2 cache, and well
// beyond the last-level cache (main memory).
var benchSizes = []int{256 << 10, 64 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkMoments measures each float moments kernel on every path, over
// normally distributed values, contiguous and (in cache) every other
// element, in bytes of tensor per second.
func BenchmarkMoments(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range kernels()[:8] {
		if len(k.name) > 7 && k.name[len(k.name)-7:] == "Generic" {
			continue
		}
		for _, size := range benchSizes {
			n := size / k.size
			buf := make([]byte, size)
			fill(r, k, buf, n, k.size, 0, 0)
			for _, p := range Paths() {
				b.Run(fmt.Sprintf("%s/%v/%s", k.name, p, sizeName(size)), func(b *testing.B) {
					defer Use(p)()
					loop(b, int64(size), func() {
						m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
						k.fn(buf, n, k.size, 0.1, &m)
					})
				})
				if size > 1<<20 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%v/%s/stride2", k.name, p, sizeName(size)), func(b *testing.B) {
					defer Use(p)()
					loop(b, int64(size/2), func() {
						m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
						k.fn(buf, n/2, 2*k.size, 0.1, &m)
					})
				})
			}
		}
	}
}

// BenchmarkMomentsNaive is the baseline: Moments.Add per float32 element.
func BenchmarkMomentsNaive(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	k := kernels()[0]
	const n = 1 << 16
	buf := make([]byte, n*k.size)
	fill(r, k, buf, n, k.size, 0, 0)
	loop(b, int64(len(buf)), func() {
		m := Moments{Min: math.Inf(1), Max: math.Inf(-1)}
		for i := 0; i < n; i++ {
			m.Add(k.dec(buf[i*k.size:]), 0.1)
		}
	})
}

// BenchmarkAdamF32 measures the fused AdamW kernel on every path, in bytes
// of both moments per second.
func BenchmarkAdamF32(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, size := range benchSizes {
		n := size / 8
		c := randomAdam(r, n, 0)
		for _, p := range Paths() {
			b.Run(fmt.Sprintf("%v/%s", p, sizeName(size)), func(b *testing.B) {
				defer Use(p)()
				loop(b, int64(size), func() { AdamF32(c.m, c.v, n, c.k1, c.k2, c.eps) })
			})
		}
	}
}

// BenchmarkRounded measures the fused master/module comparisons on every
// path, in bytes of both tensors per second, on roundedCase's values (5%
// of them special: NaN with payloads, denormals, zeros of the other sign)
// and, as "BF16normal", on normally distributed masters only with their
// exact rounding as module values (a trained checkpoint's, where no
// vector leaves the short path); "+crc" also continues the CRC-32s of both
// (verify --deep), folded in the same loop on AVX-512 with VPCLMULQDQ.
func BenchmarkRounded(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		name        string
		f16, normal bool
	}{{"BF16", false, false}, {"F16", true, false}, {"BF16normal", false, true}} {
		fn, name := RoundedBF16, c.name
		if c.f16 {
			fn = RoundedF16
		}
		for _, size := range benchSizes {
			n := size / 6
			master, module := roundedCase(r, n, 0, c.f16)
			if c.normal {
				for i := 0; i < n; i++ {
					u := math.Float32bits(float32(r.NormFloat64()))
					binary.LittleEndian.PutUint32(master[4*i:], u)
					binary.LittleEndian.PutUint16(module[2*i:], RoundBF16(u))
				}
			}
			for _, p := range Paths() {
				for _, withCRC := range []bool{false, true} {
					bname := fmt.Sprintf("%s/%v/%s", name, p, sizeName(size))
					var crcs *[2]uint32
					if withCRC {
						bname, crcs = fmt.Sprintf("%s/%v+crc/%s", name, p, sizeName(size)), new([2]uint32)
					}
					b.Run(bname, func(b *testing.B) {
						defer Use(p)()
						loop(b, int64(6*n), func() { fn(master, module, n, crcs) })
					})
				}
			}
		}
	}
}

// BenchmarkMomentsAdamF32 measures the fused pass over (exp_avg,
// exp_avg_sq) on every path: the statistics of both and the AdamW update,
// in bytes of both moments per second; "+crc" also continues the CRC-32s
// of both (verify --deep), folded in the same loop on AVX-512 with
// VPCLMULQDQ.
func BenchmarkMomentsAdamF32(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, size := range benchSizes {
		n := size / 8
		c := randomAdam(r, n, 0)
		for _, p := range Paths() {
			for _, withCRC := range []bool{false, true} {
				name := fmt.Sprintf("%v/%s", p, sizeName(size))
				var crcs *[2]uint32
				if withCRC {
					name, crcs = fmt.Sprintf("%v+crc/%s", p, sizeName(size)), new([2]uint32)
				}
				b.Run(name, func(b *testing.B) {
					defer Use(p)()
					loop(b, int64(size), func() {
						mm := Moments{Shift: 1e-3, Min: math.Inf(1), Max: math.Inf(-1)}
						mv := Moments{Shift: 1e-6, Min: math.Inf(1), Max: math.Inf(-1)}
						MomentsAdamF32(c.m, c.v, n, &mm, &mv, c.k1, c.k2, c.eps, crcs)
					})
				})
			}
		}
	}
}
