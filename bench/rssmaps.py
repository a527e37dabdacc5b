"""Where the resident memory of a command comes from: its mappings, sampled while it runs.

Usage (from anywhere):

  /usr/bin/python3 bench/rssmaps.py [--interval MS] [--top N] -- COMMAND [ARGS...]

Runs COMMAND and reads /proc/PID/smaps every --interval milliseconds (default 20). At the sample
with the largest total resident set it records every mapping's Rss (file-backed mappings by path,
anonymous ones together), and it prints:

  - the peak VmHWM, and at the largest sample RssAnon, RssFile and their sum;
  - the file-backed resident bytes of that sample grouped by file kind (the file's name with
    parameter folders and rank numbers dropped: zero/*/fp32.pt, mp_rank_00_model_states.pt, ...),
    with the number of files mapped and the resident bytes per mapped file;
  - the --top largest mappings of that sample, with how many of their pages are resident;
  - the largest resident set each file kind reached at any sample.

Sampling smaps costs time (the kernel walks every mapping's page tables), so the command runs
slower than alone, and a peak shorter than the interval can be missed: VmHWM is exact.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import time


def kind(path):
    """A file's kind: its path with the parts that vary from parameter to parameter dropped."""
    base = os.path.basename(path)
    parent = os.path.basename(os.path.dirname(path))
    if parent and re.search(r"\.(weight|bias)$|_alpha$", parent):
        return "zero/<param>/" + base
    return re.sub(r"\d+", "N", base)


def read_smaps(pid):
    """[(path or '[anon]', size, rss)] of the process, or None when it is gone."""
    out = []
    try:
        with open(f"/proc/{pid}/smaps") as f:
            cur = None
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split()
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    path = parts[5] if len(parts) > 5 else "[anon]"
                    cur = [path, hi - lo, 0]
                    out.append(cur)
                elif line.startswith("Rss:") and cur is not None:
                    cur[2] = int(line.split()[1]) * 1024
    except (OSError, ProcessLookupError):
        return None
    return out


def status(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    d[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return d


def mb(x):
    return f"{x / 2**20:,.1f} MB"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--interval", type=float, default=20, help="milliseconds between samples")
    p.add_argument("--top", type=int, default=8)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not cmd:
        p.error("no command")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    best, best_st, hwm = None, {}, 0
    peak_kind = collections.Counter()
    t0 = time.time()
    while proc.poll() is None:
        maps = read_smaps(proc.pid)
        st = status(proc.pid)
        hwm = max(hwm, st.get("VmHWM", 0))
        if maps:
            total = sum(r for _, _, r in maps)
            byk = collections.Counter()
            for path, _, r in maps:
                if path.startswith("/"):
                    byk[kind(path)] += r
            for k, v in byk.items():
                peak_kind[k] = max(peak_kind[k], v)
            if best is None or total > sum(r for _, _, r in best):
                best, best_st = maps, st
        time.sleep(a.interval / 1000)
    wall = time.time() - t0
    if best is None:
        sys.exit("no sample (the command ended too soon)")
    anon = sum(r for path, _, r in best if not path.startswith("/"))
    filed = sum(r for path, _, r in best if path.startswith("/"))
    print(f"{' '.join(cmd)}\nexit {proc.returncode}, {wall:.2f} s (sampled every {a.interval:g} ms)")
    print(f"VmHWM {mb(hwm)}; largest sample: RssAnon {mb(best_st.get('RssAnon', 0))}, RssFile "
          f"{mb(best_st.get('RssFile', 0))}; smaps: anonymous and other {mb(anon)}, file-backed {mb(filed)}\n")
    groups = collections.defaultdict(lambda: [0, 0, 0])  # rss, files mapped, mapped bytes
    for path, size, r in best:
        if path.startswith("/"):
            g = groups[kind(path)]
            g[0] += r
            g[1] += 1
            g[2] += size
    print("file kind (at the largest sample)          resident     files   mapped      resident/file")
    for k, (r, n, size) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        print(f"{k[:42]:42} {mb(r):>12} {n:8,} {mb(size):>12} {r / max(n, 1) / 1024:10.1f} KB")
    print(f"\nlargest mappings (at the largest sample):")
    for path, size, r in sorted(best, key=lambda x: -x[2])[:a.top]:
        print(f"  {mb(r):>12} of {mb(size):>12} ({100 * r / max(size, 1):5.1f}%)  {path}")
    print("\nlargest resident set of each file kind over all samples:")
    for k, v in peak_kind.most_common(a.top):
        print(f"  {mb(v):>12}  {k}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
