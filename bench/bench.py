"""End-to-end benchmark of ckptinspect against cat, PyTorch and the hardware: the table of issue 14.

Usage (from the repository root; needs Go, gcc, and Debian's python3-torch):

  /usr/bin/python3 bench/bench.py [--preset one|small|full|custom ...] [--data DIR] [--runs N]
                                  [--jobs stats,verify,deep,diff] [--cold fadvise|drop_caches|none]
                                  [--rss-sample] [--torch-runs N] [--kernels] [--no-generate]
  /usr/bin/python3 bench/bench.py --checkpoint A [--checkpoint-b B] ...

For each checkpoint (default: the preset `one`; several --preset flags are measured in turn):

  1. it uses DATA/<preset>/checkpoint-2000 and, for diff, DATA/<preset>/checkpoint-2003 (the same
     model 3 AdamW steps later), writing them with bench/gen_ckpt.py if they are missing (unless
     --no-generate); --checkpoint and --checkpoint-b name any others. The presets are those of
     gen_ckpt.py: `full` (56 YuLan-Mini layers, hidden 1920, vocab 99000: 1,125 parameters, 4,508
     files, 34 GB), `small` (the same 56 layers at width 60: 4,508 files, 57 MB), `one` (one
     layer, vocab 9000: 108 files, 0.9 GB, the checkpoint of the README's Performance method),
     `custom` (--layers, --vocab at YuLan width);
  2. builds ckptinspect (static, CGO_ENABLED=0, as the README installs it), bench/membw.c and
     bench/scanbench into OUT (default /tmp/ckptbench);
  3. times --runs times each, interleaved, with /usr/bin/time -f "%e %M" (each run: every job
     cold, then every job warm; when both checkpoints fit in half the available memory, the
     warm runs all read the cache as a cold cat leaves it, each right after an untimed run of
     the same job): cat of every file of
     the checkpoint, `ckptinspect stats`, `verify`, `verify --deep`, and cat of both checkpoints
     and `ckptinspect diff A B`, on a warm page cache and cold (--cold fadvise:
     posix_fadvise(POSIX_FADV_DONTNEED) on every file of the checkpoints the job reads, which
     drops only their pages; drop_caches: echo 3 > /proc/sys/vm/drop_caches, root only; none:
     warm only). A checkpoint larger than the free memory cannot be warm: its "warm" runs read
     what the previous run left in the cache;
  4. prints, per job and cache state, the median wall time (and the range over the runs), the
     median CPU time (user + system, steadier than wall time on a busy machine), throughput, the ratio to cat of the same files in the same cache state (for diff: cat of
     both checkpoints; for verify --deep also to stats), the peak RSS (the largest of the
     runs), and each target of issue 14 with PASS or MISS:
       peak RSS <= 128 MB for every job;
       stats >= 0.9x cat warm and cold on the full-size checkpoint, >= 0.8x warm on the
       others (the 0.9 GB one and the 4,508-file small one);
       verify --deep <= 1.15x the time of stats, in the same cache state;
       diff >= 0.8x cat of both checkpoints;
  5. with --rss-sample, runs each ckptinspect job once more while sampling
     /proc/PID/status every 5 ms and prints the peak of VmRSS, RssAnon and RssFile (how much
     of the peak is file-backed pages of mappings) and VmHWM;
  6. prints the scan phase alone (bench/scanbench, -j 1 and -j 2), the PyTorch script
     (bench/torch_stats.py, --torch-runs times, warm; skipped above 8 GB: it loads every
     tensor), the single-core memory bandwidth (bench/membw.c) and, with --kernels, the kernel
     benchmarks (go test -bench).

The machine may be shared: timings are medians with their range, and the load average before
and after is printed so that a reader can judge them. Exit status 0 whatever the targets.
"""

import argparse
import os
import platform
import re
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MB = 1 << 20
RSS_TARGET = 128 * MB


def devnull_ok():
    """Fails unless /dev/null is the null device: the jobs' output (cat's: whole checkpoints)
    goes there, and a regular file in its place would fill the disk."""
    if not stat.S_ISCHR(os.stat(os.devnull).st_mode):
        sys.exit(f"{os.devnull} is not a character device: refusing to write the jobs' output into it")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, cwd=ROOT, **kw)


CPU = {}  # (job, cache) -> CPU seconds (user + sys) of each run


def timed(cmd, ok=(0,), key=None):
    """Runs cmd under /usr/bin/time -f "%e %M %U %S"; returns (wall seconds, peak RSS in bytes)
    and, with key, appends the CPU seconds (user + system) to CPU[key]. The wall time is
    measured around the call with a monotonic clock (%e has 10 ms steps, coarse for runs of a
    tenth of a second); it includes /usr/bin/time's own fork and exec, the same ~1 ms for
    every job."""
    devnull_ok()
    with tempfile.NamedTemporaryFile("r") as f:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", f.name] + cmd, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if p.returncode not in ok:
            sys.exit(f"{' '.join(cmd[:3])} ...: exit status {p.returncode}\n{p.stderr.decode()[-2000:]}")
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
        _, rss, user, system = lines[-1].split()[-4:]
        if key is not None:
            CPU.setdefault(key, []).append(float(user) + float(system))
        return wall, int(rss) * 1024


def sampled(cmd, ok=(0,)):
    """Runs cmd (not under time) while sampling /proc/PID/status every 5 ms; returns the peaks
    of VmRSS, RssAnon, RssFile and RssShmem (bytes) and the final VmHWM."""
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0, "VmHWM": 0}
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample():
        path = f"/proc/{p.pid}/status"
        while not done.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        if k in peak:
                            peak[k] = max(peak[k], int(v.split()[0]) * 1024)
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.005)

    th = threading.Thread(target=sample)
    th.start()
    rc = p.wait()  # the zombie keeps /proc/PID/status readable until reaped; sample once more
    done.set()
    th.join()
    if rc not in ok:
        sys.exit(f"{' '.join(cmd[:3])} ...: exit status {rc}")
    return peak


def files_of(ck):
    out = []
    for d, _, fs in os.walk(ck):
        out += [os.path.join(d, f) for f in fs]
    return sorted(out)


def evict(files, how):
    if how == "fadvise":
        for path in files:
            fd = os.open(path, os.O_RDONLY)
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


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def fmt_s(x):
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def fmt_b(x):
    return f"{x / 1e9:.2f} GB" if x >= 1e9 else f"{x / 1e6:.0f} MB"


def ensure(a, preset, after):
    """The checkpoint DATA/<preset>/checkpoint-<2000+after>, generated if missing."""
    sub = preset if preset != "custom" else f"custom-l{a.layers}-v{a.vocab}"
    out = os.path.join(a.data, sub)
    ck = os.path.join(out, f"checkpoint-{2000 + after}")
    if os.path.isdir(ck):
        return ck
    if a.no_generate:
        sys.exit(f"{ck} is missing (--no-generate)")
    cmd = ["/usr/bin/python3", "bench/gen_ckpt.py", "--out", out]
    if preset == "custom":
        cmd += ["--preset", "one", "--layers", str(a.layers), "--vocab", str(a.vocab)]
    else:
        cmd += ["--preset", preset]
    if after:
        cmd += ["--after", str(after)]
    print(f"generating {ck} ...", flush=True)
    sh(cmd, stdout=subprocess.DEVNULL)
    return ck


def measure(a, binary, name, ck, ckb):
    """Measures one checkpoint (and its diff partner); prints its table."""
    files = files_of(ck)
    nbytes = sum(os.path.getsize(f) for f in files)
    jobs = [j.strip() for j in a.jobs.split(",") if j.strip()]
    filesb = files_of(ckb) if ckb and "diff" in jobs else []
    nbytesb = sum(os.path.getsize(f) for f in filesb)
    cmds = {"cat": (["cat"] + files, files, nbytes, (0,))}
    if "stats" in jobs:
        cmds["stats"] = ([binary, "stats", ck], files, nbytes, (0,))
    if "verify" in jobs:
        cmds["verify"] = ([binary, "verify", ck], files, nbytes, (0, 1))
    if "deep" in jobs:
        cmds["verify --deep"] = ([binary, "verify", "--deep", ck], files, nbytes, (0, 1))
    if filesb:
        cmds["cat A B"] = (["cat"] + files + filesb, files + filesb, nbytes + nbytesb, (0,))
        cmds["diff A B"] = ([binary, "diff", ck, ckb], files + filesb, nbytes + nbytesb, (0,))
    caches = ["warm"] + (["cold"] if a.cold != "none" else [])
    res = {(k, c): [] for k in cmds for c in caches}
    CPU.clear()  # this checkpoint's runs only (the keys repeat from preset to preset)
    load0 = os.getloadavg()
    print(f"\n== {name}: {ck} ({len(files)} files, {fmt_b(nbytes)})"
          + (f" and {ckb} ({len(filesb)} files, {fmt_b(nbytesb)})" if filesb else "")
          + f"; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)
    # Each run times every job cold first, then warm. When the files fit in half of the
    # available memory, the warm runs all read the same page cache: the files are evicted and
    # read once by cat (untimed) before them, and each warm run follows an untimed run of the
    # same job. How the cache holds a file depends on who read it in (Linux caches in large
    # folios what its read-ahead reads in order, and copying large folios out is faster: README
    # > Performance > Real-size checkpoints), so without that reset each warm run would read
    # what the cold run before it left. Otherwise (the full-size checkpoint) warm is what the
    # previous runs left in the cache, and the first run of each job is preceded by an
    # untimed one.
    fits = nbytes + nbytesb < meminfo("MemAvailable") / 2
    for r in range(a.runs):
        for c in caches[::-1]:
            if c == "warm" and fits and a.cold != "none":
                evict(files + filesb, a.cold)
                timed(["cat"] + files + filesb)  # the cache as cat leaves it
            for k, (cmd, fs, _, ok) in cmds.items():
                if c == "cold":
                    evict(fs, a.cold)
                elif r == 0 or fits:
                    timed(cmd, ok)  # warm the cache (as far as it holds the files)
                res[(k, c)].append(timed(cmd, ok, key=(k, c)))
        print(f"run {r + 1}/{a.runs}: " + ", ".join(f"{k} {c} {v[-1][0]:.2f}s" for (k, c), v in res.items()), flush=True)
    load1 = os.getloadavg()

    med = {kc: statistics.median(w for w, _ in v) for kc, v in res.items()}
    lo = {kc: min(w for w, _ in v) for kc, v in res.items()}
    hi = {kc: max(w for w, _ in v) for kc, v in res.items()}
    rss = {kc: max(m for _, m in v) for kc, v in res.items()}
    full = nbytes > 16e9
    print(f"\n{name}: {len(files)} files, {fmt_b(nbytes)}; medians of {a.runs} runs (range in brackets); "
          f"cold = pages evicted with {a.cold}; load average {load0[0]:.1f} before, {load1[0]:.1f} after.\n")
    print("| job | cache | wall time [range] | CPU time | throughput | vs cat | target | peak RSS | RSS target |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |")
    misses = []
    for (k, c) in res:
        _, _, nb, _ = cmds[k]
        ref = ("cat A B" if k == "diff A B" else "cat", c)
        ratio = med[ref] / med[(k, c)] if med[(k, c)] > 0 else float("nan")
        target = ""
        if k == "stats":
            need = 0.9 if full else (0.8 if c == "warm" else None)
            if need is not None:
                target = f"≥ {need}× cat: {'PASS' if ratio >= need else 'MISS'}"
        elif k == "verify --deep" and ("stats", c) in med:
            over = med[(k, c)] / med[("stats", c)]
            target = f"{over:.2f}× stats (≤ 1.15×): {'PASS' if over <= 1.15 else 'MISS'}"
        elif k == "diff A B":
            target = f"≥ 0.8× cat: {'PASS' if ratio >= 0.8 else 'MISS'}"
        rss_t = ""
        if not k.startswith("cat"):
            rss_t = f"≤ 128 MB: {'PASS' if rss[(k, c)] <= RSS_TARGET else 'MISS'}"
        if "MISS" in target or "MISS" in rss_t:
            misses.append(f"{k} ({c})")
        cpu = statistics.median(CPU.get((k, c), [0]))
        print(f"| {k} | {c} | {fmt_s(med[(k, c)])} [{lo[(k, c)]:.3g}–{hi[(k, c)]:.3g}] | {fmt_s(cpu)} | {nb / med[(k, c)] / 1e9:.2f} GB/s "
              f"| {ratio:.2f}× | {target} | {rss[(k, c)] / MB:.0f} MB | {rss_t} |")
    print(f"\n{name}: " + (f"targets missed: {', '.join(misses)}" if misses else "every target met"))

    if a.rss_sample:
        print(f"\n{name}: resident memory sampled every 5 ms from /proc/PID/status (one run each, warm):\n")
        print("| job | VmHWM | peak VmRSS | peak RssAnon | peak RssFile |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for k, (cmd, _, _, ok) in cmds.items():
            if k.startswith("cat"):
                continue
            pk = sampled(cmd, ok)
            print(f"| {k} | {pk['VmHWM'] / MB:.0f} MB | {pk['VmRSS'] / MB:.0f} MB | {pk['RssAnon'] / MB:.0f} MB | {pk['RssFile'] / MB:.0f} MB |")

    scanbench = os.path.join(a.out, "scanbench")
    scan = {}
    for j in (() if a.no_scanbench else (1, 2)):
        out = subprocess.run([scanbench, "-n", str(max(a.runs, 3)), "-j", str(j), ck], check=True,
                             capture_output=True, text=True).stdout
        scan[j] = statistics.median(float(x) for x in re.findall(r"scan ([0-9.]+)[,)]", out))
        opened = statistics.median(float(x) for x in re.findall(r"\(open ([0-9.]+),", out))
        print(f"{name}: scan phase only (bench/scanbench -j {j}, median of {max(a.runs, 3)}, warm as the cache allows): "
              f"open {opened:.3f} s, scan {scan[j]:.3f} s ({nbytes / scan[j] / 1e9:.1f} GB/s)")

    if a.torch_runs and nbytes < 8e9:
        ts = [timed(["/usr/bin/python3", "bench/torch_stats.py", ck]) for _ in range(a.torch_runs)]
        w = statistics.median(x for x, _ in ts)
        m = max(x for _, x in ts)
        print(f"{name}: PyTorch script (bench/torch_stats.py, warm, median of {a.torch_runs}): {fmt_s(w)}, "
              f"{nbytes / w / 1e9:.2f} GB/s, peak RSS {m / MB:.0f} MB; stats is {w / med[('stats', 'warm')]:.0f}× faster"
              if ("stats", "warm") in med else "")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--preset", action="append", choices=("one", "small", "full", "custom"),
                   help="checkpoint to measure (repeatable; default one)")
    p.add_argument("--layers", type=int, help="layers of --preset custom (default 1; alone, implies it)")
    p.add_argument("--vocab", type=int, help="vocabulary of --preset custom (default 9000; alone, implies it)")
    p.add_argument("--data", default="/work/bench-data", help="where the preset checkpoints are (or are written)")
    p.add_argument("--checkpoint", help="measure this checkpoint instead of a preset")
    p.add_argument("--checkpoint-b", help="the second checkpoint of diff, with --checkpoint")
    p.add_argument("--out", default="/tmp/ckptbench", help="where the binaries are built")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--jobs", default="stats,verify,deep,diff", help="jobs to time, of stats,verify,deep,diff")
    p.add_argument("--cold", choices=("fadvise", "drop_caches", "none"), default="fadvise")
    p.add_argument("--rss-sample", action="store_true", help="also sample RssAnon/RssFile of each job")
    p.add_argument("--torch-runs", type=int, default=1)
    p.add_argument("--kernels", action="store_true", help="also run the kernel benchmarks")
    p.add_argument("--no-generate", action="store_true", help="fail rather than write a missing checkpoint")
    p.add_argument("--no-scanbench", action="store_true", help="skip the scan-phase figures")
    a = p.parse_args()
    if not a.preset and (a.layers is not None or a.vocab is not None):
        a.preset = ["custom"]
    a.layers = 1 if a.layers is None else a.layers
    a.vocab = 9000 if a.vocab is None else a.vocab
    os.makedirs(a.out, exist_ok=True)

    binary = os.path.join(a.out, "ckptinspect")
    # Built as the README installs it: static, without cgo (see README, "Install").
    static = dict(os.environ, CGO_ENABLED="0")
    sh(["go", "build", "-o", binary, "./cmd/ckptinspect"], env=static)
    sh(["go", "build", "-o", os.path.join(a.out, "scanbench"), "./bench/scanbench"], env=static)
    membw = os.path.join(a.out, "membw")
    sh(["gcc", "-O3", "-march=native", "-ffast-math", "-o", membw, "bench/membw.c"])

    load = os.getloadavg()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, {meminfo('MemTotal') / 2**30:.0f} GiB "
          f"({meminfo('MemAvailable') / 2**30:.0f} GiB available), Linux {platform.release()}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out = subprocess.run([membw, "1024", "10"], check=True, capture_output=True, text=True).stdout
    print(out.strip())

    if a.checkpoint:
        measure(a, binary, os.path.basename(a.checkpoint.rstrip("/")), a.checkpoint, a.checkpoint_b)
    else:
        for preset in a.preset or ["one"]:
            ck = ensure(a, preset, 0)
            ckb = ensure(a, preset, 3) if "diff" in a.jobs else None
            measure(a, binary, preset, ck, ckb)

    if a.kernels:
        bench = subprocess.run(["go", "test", "-run", "^$", "-bench",
                                "Moments/(F32|BF16|F16|F64)/[a-z0-9]+/(256KiB|64MiB)$|AdamF32|Rounded|Pairs",
                                "-count", "3", "./tensor/internal/kernel"], check=True, cwd=ROOT,
                               capture_output=True, text=True).stdout
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
