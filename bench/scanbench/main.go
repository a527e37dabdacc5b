// Command scanbench times ckpt.Scan, the pass behind `ckptinspect stats`,
// on a checkpoint, without the command's report: for tuning the scan
// engine (workers, chunk size, page handling) and profiling it.
//
//	go run ./bench/scanbench [-j N] [-chunk ELEMS] [-keep-pages] [-n RUNS] [-open-only] [-cpuprofile FILE] CHECKPOINT
//
// -open-only times opening and closing the checkpoint alone (layout.Open,
// Checkpoint.Close), the serial part of every command.
//
// Each run prints its wall time, throughput (bytes of tensor data scanned
// per second) and CPU time; the last line gives the medians and the peak
// resident set of the process. CKPTINSPECT_KERNELS=generic|avx2|avx512
// caps the kernel path.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
)

func main() {
	jobs := flag.Int("j", 0, "workers (0: all cores)")
	chunk := flag.Int64("chunk", 0, "chunk size in elements (0: the default)")
	keep := flag.Bool("keep-pages", false, "do not drop pages behind the scan")
	runs := flag.Int("n", 1, "runs")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	openOnly := flag.Bool("open-only", false, "only open and close the checkpoint")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scanbench [flags] CHECKPOINT")
		os.Exit(3)
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	var walls, cpus []float64
	var bytes int64
	for r := 0; r < *runs; r++ {
		u0 := usage()
		t0 := time.Now()
		c, err := layout.Open(flag.Arg(0), layout.Options{})
		if err != nil {
			fail(err)
		}
		tOpen := time.Since(t0)
		if !*openOnly {
			opt := ckpt.ScanOptions{Workers: *jobs}
			opt.Tuning.ChunkElems = *chunk
			opt.Tuning.KeepPages = *keep
			res, err := ckpt.Scan(context.Background(), c, opt)
			if err != nil {
				fail(err)
			}
			bytes = res.Summary.BytesScanned
		}
		tScan := time.Since(t0) - tOpen
		c.Close()
		wall := time.Since(t0).Seconds()
		tClose := wall - tOpen.Seconds() - tScan.Seconds()
		u1 := usage()
		cpu := (u1.user + u1.sys) - (u0.user + u0.sys)
		walls, cpus = append(walls, wall), append(cpus, cpu)
		fmt.Printf("run %d: %.3f s (open %.3f, scan %.3f, close %.3f), %.2f GB/s, cpu %.3f s (user %.3f, sys %.3f)\n", r+1, wall,
			tOpen.Seconds(), tScan.Seconds(), tClose, float64(bytes)/wall/1e9, cpu, u1.user-u0.user, u1.sys-u0.sys)
	}
	wall, cpu := median(walls), median(cpus)
	fmt.Printf("median of %d: %.3f s, %.2f GB/s (%.2f GB scanned), cpu %.3f s; peak RSS %d MB\n",
		len(walls), wall, float64(bytes)/wall/1e9, float64(bytes)/1e9, cpu, usage().maxRSS>>20)
}

type rusage struct {
	user, sys float64
	maxRSS    int64
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scanbench:", err)
	os.Exit(2)
}
