"""End-to-end benchmark of `ckptinspect stats` against cat, PyTorch and the hardware.

Usage (from the repository root; needs Go, gcc, and Debian's python3-torch):

  /usr/bin/python3 bench/bench.py [--out DIR] [--layers L] [--vocab V] [--runs N]
                                  [--torch-runs N] [--cold fadvise|drop_caches|none]
                                  [--checkpoint PATH] [--kernels]

It
  1. writes a YuLan-width universal checkpoint with the fixture generator
     (hidden 1920, intermediate 4800, 30 heads, 6 KV heads, step 2000; its
     size is set by --layers and --vocab: 1 layer and vocab 9000 make 1 GB)
     into OUT/checkpoint-2000, unless it exists (or --checkpoint names one);
  2. builds ckptinspect and bench/membw.c into OUT;
  3. times, interleaved, --runs times each: cat of every file of the
     checkpoint and `ckptinspect stats` (default workers, -j 1, -j 2) on a
     warm page cache; the same two with the checkpoint's pages evicted first
     (--cold fadvise: posix_fadvise(POSIX_FADV_DONTNEED) on each of its
     files, which drops only those pages; drop_caches: echo 3 >
     /proc/sys/vm/drop_caches, root only, drops every clean page of the
     machine); and bench/torch_stats.py (--torch-runs times, warm);
  4. prints, per job, the median wall time, throughput (bytes of the
     checkpoint's files per second), ratios and peak RSS, all measured with
     /usr/bin/time -f "%e %M", the load average before and after, and the
     machine; with --kernels also the kernel benchmarks (go test -bench) and
     the single-core memory bandwidth (membw).

The machine may be shared: timings are medians, and the load average is
printed so that a reader can judge them.
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -f "%e %M"; returns (wall seconds, peak
    RSS in KB). The wall time is measured around the call with a monotonic
    clock, to the millisecond (%e has 10 ms steps, coarse for runs of a
    tenth of a second); it includes /usr/bin/time's own fork and exec, the
    same ~1 ms for every job."""
    with tempfile.NamedTemporaryFile("r") as f:
        t0 = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", f.name] + cmd, check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - t0
        _, rss = f.read().split()[-2:]
        return wall, int(rss)


def files_of(ck):
    out = []
    for d, _, fs in os.walk(ck):
        out += [os.path.join(d, f) for f in sorted(fs)]
    return sorted(out)


def evict(files, how):
    if how == "fadvise":
        for p in files:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    elif how == "drop_caches":
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def mem_gib():
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    return kb / 2**20


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/tmp/ckptbench")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--vocab", type=int, default=9000)
    p.add_argument("--checkpoint", help="use this checkpoint instead of generating one")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--torch-runs", type=int, default=1)
    p.add_argument("--cold", choices=("fadvise", "drop_caches", "none"), default="fadvise")
    p.add_argument("--kernels", action="store_true", help="also run the kernel benchmarks and membw")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)

    ck = a.checkpoint or os.path.join(a.out, "checkpoint-2000")
    if not os.path.isdir(ck):
        print(f"generating {ck} ...", flush=True)
        sh(["/usr/bin/python3", "testdata/gen/gen_universal.py", "--out", a.out, "--layers", str(a.layers),
            "--hidden", "1920", "--intermediate", "4800", "--vocab", str(a.vocab), "--tp-pad-vocab", "0",
            "--heads", "30", "--kv-heads", "6", "--step", "2000"], stdout=subprocess.DEVNULL)
    binary = os.path.join(a.out, "ckptinspect")
    sh(["go", "build", "-o", binary, "./cmd/ckptinspect"])
    membw = os.path.join(a.out, "membw")
    sh(["gcc", "-O3", "-march=native", "-ffast-math", "-o", membw, "bench/membw.c"])

    files = files_of(ck)
    nbytes = sum(os.path.getsize(f) for f in files)
    cat = ["cat"] + files
    stats = [binary, "stats", ck]
    jobs = {
        "cat (warm)": cat,
        "stats (warm)": stats,
        "stats -j 1 (warm)": stats + ["-j", "1"],
        "stats -j 2 (warm)": stats + ["-j", "2"],
    }
    if a.cold != "none":
        jobs["stats (cold)"] = stats
        jobs["cat (cold)"] = cat
    results = {k: [] for k in jobs}
    load0 = os.getloadavg()
    print(f"{len(files)} files, {nbytes / 1e9:.3f} GB; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)
    timed(cat)  # warm the page cache
    for r in range(a.runs):
        for name, cmd in jobs.items():
            if "(cold)" in name:
                evict(files, a.cold)
            results[name].append(timed(cmd))
        print(f"run {r + 1}/{a.runs}: " + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in results.items()), flush=True)
    results["PyTorch script (warm)"] = []
    for r in range(a.torch_runs):
        results["PyTorch script (warm)"].append(timed(["/usr/bin/python3", "bench/torch_stats.py", ck]))
        print(f"torch run {r + 1}/{a.torch_runs}: {results['PyTorch script (warm)'][-1][0]:.1f}s", flush=True)
    load1 = os.getloadavg()

    med = {k: statistics.median(w for w, _ in v) for k, v in results.items()}
    rss = {k: max(m for _, m in v) for k, v in results.items()}
    print()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, {mem_gib():.0f} GiB, Linux {platform.release()}; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after.")
    print(f"Checkpoint: {ck} ({len(files)} files, {nbytes / 1e9:.2f} GB); medians of {a.runs} runs "
          f"({a.torch_runs} for PyTorch); cold = pages evicted with {a.cold}.")
    print()
    print("| job | wall time | throughput | vs cat (same cache) | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for k in results:
        ref = "cat (cold)" if "(cold)" in k else "cat (warm)"
        ratio = med[ref] / med[k] if ref in med and med[k] > 0 else float("nan")
        wall = f"{med[k]:.3f} s" if med[k] < 10 else f"{med[k]:.1f} s"
        print(f"| {k} | {wall} | {nbytes / med[k] / 1e9:.2f} GB/s | {ratio:.2f}× | {rss[k] / 1024:.0f} MB |")
    print()
    s = med["stats (warm)"]
    print(f"stats vs PyTorch: {med['PyTorch script (warm)'] / s:.0f}× faster; "
          f"-j 2 vs -j 1: {med['stats -j 1 (warm)'] / med['stats -j 2 (warm)']:.2f}×")

    # The scan alone (what the workers do, without process start, opening
    # and closing the files, and the report), timed in one process.
    scanbench = os.path.join(a.out, "scanbench")
    sh(["go", "build", "-o", scanbench, "./bench/scanbench"])
    scan = {}
    for j in (1, 2):
        out = subprocess.run([scanbench, "-n", str(max(a.runs, 5)), "-j", str(j), ck], check=True,
                             capture_output=True, text=True).stdout
        scan[j] = statistics.median(float(x) for x in re.findall(r"scan ([0-9.]+)\)", out))
    print(f"scan phase only (bench/scanbench, median of {max(a.runs, 5)}): -j 1 {scan[1]:.3f} s, -j 2 {scan[2]:.3f} s "
          f"({scan[1] / scan[2]:.2f}×); {nbytes / scan[2] / 1e9:.1f} GB/s with 2 workers")

    if a.kernels:
        print()
        out = subprocess.run([membw, "1024", "10"], check=True, capture_output=True, text=True).stdout
        print(out.strip())
        bench = subprocess.run(["go", "test", "-run", "^$", "-bench", "Moments/(F32|BF16|F16|F64)/[a-z0-9]+/(256KiB|64MiB)$|AdamF32|Rounded",
                                "-count", "3", "./tensor/internal/kernel"], check=True, cwd=ROOT, capture_output=True, text=True).stdout
        rows = {}
        for line in bench.splitlines():
            m = re.match(r"Benchmark(\S+?)-\d+\s+\d+\s+[\d.]+ ns/op\s+([\d.]+) MB/s\s+([\d.]+) cpu-MB/s", line)
            if m:
                rows.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
        print()
        print("| kernel / path / data | GB/s (median wall) | GB/s (median per CPU second) |")
        print("| --- | ---: | ---: |")
        for k, v in rows.items():
            print(f"| {k} | {statistics.median(x for x, _ in v) / 1e3:.1f} | {statistics.median(y for _, y in v) / 1e3:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
