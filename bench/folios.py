"""How the page cache holds a checkpoint's files: the sizes of the folios their cached pages sit in.

Usage (root: /proc/kpageflags and the page frame numbers of /proc/self/pagemap need it):

  /usr/bin/python3 bench/folios.py DIR_OR_FILE...

Linux caches a file in large folios (up to 2 MiB) when the kernel's own read-ahead reads it in
order, and in 4 KiB pages when pages are brought in otherwise (MADV_WILLNEED, the read-around of
a fault on a mapping, small reads scattered ahead of a sequential read). Reading 4 KiB pages out
of the cache costs every later reader markedly more than reading large folios (README ›
Performance › Real-size checkpoints). The script maps each file read-only, asks mincore which
pages are cached, touches only those (no I/O), and reads their folio sizes from /proc/kpageflags
(the compound head and tail flags). It never writes to the files.
"""

import collections
import ctypes
import os
import struct
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL = 15, 16

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
PROT_READ, MAP_SHARED = 1, 1


def flags(kpf, pfn):
    return struct.unpack("<Q", os.pread(kpf, 8, pfn * 8))[0]


def walk(path, kpf, pagemap, hist):
    """Adds the folios of path's cached pages to hist; returns (cached, uncached) pages."""
    size = os.path.getsize(path)
    if size == 0:
        return 0, 0
    fd = os.open(path, os.O_RDONLY)
    try:
        base = libc.mmap(None, size, PROT_READ, MAP_SHARED, fd, 0)
    finally:
        os.close(fd)
    if base in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap " + path)
    try:
        n = (size + PAGE - 1) // PAGE
        vec = (ctypes.c_ubyte * n)()
        if libc.mincore(base, size, vec) != 0:
            raise OSError(ctypes.get_errno(), "mincore " + path)
        cached = [i for i in range(n) if vec[i] & 1]
        for i in cached:
            ctypes.c_ubyte.from_address(base + i * PAGE).value  # maps the cached page; no I/O
        entries = os.pread(pagemap, 8 * n, (base // PAGE) * 8)
        for i in cached:
            e = struct.unpack_from("<Q", entries, 8 * i)[0]
            if not (e >> 63) & 1:
                continue
            pfn = e & ((1 << 55) - 1)
            f = flags(kpf, pfn)
            if (f >> KPF_COMPOUND_HEAD) & 1:
                k = 1
                while (flags(kpf, pfn + k) >> KPF_COMPOUND_TAIL) & 1:
                    k += 1
                hist[k] += 1
            elif not (f >> KPF_COMPOUND_TAIL) & 1:
                hist[1] += 1
        return len(cached), n - len(cached)
    finally:
        libc.munmap(base, size)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kpf = os.open("/proc/kpageflags", os.O_RDONLY)
    pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
    hist = collections.Counter()
    cached = uncached = 0
    for root in sys.argv[1:]:
        paths = [root] if os.path.isfile(root) else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
        for p in sorted(paths):
            if os.path.isfile(p) and not os.path.islink(p):
                c, u = walk(p, kpf, pagemap, hist)
                cached, uncached = cached + c, uncached + u
    total = sum(k * v for k, v in hist.items())
    print(f"{cached} pages cached, {uncached} not")
    print("| folio | folios | share of cached pages |")
    print("| ---: | ---: | ---: |")
    for k in sorted(hist):
        print(f"| {k * PAGE // 1024} KiB | {hist[k]} | {100.0 * k * hist[k] / max(total, 1):.1f}% |")


if __name__ == "__main__":
    main()
