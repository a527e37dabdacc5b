// membw measures the single-core memory-read bandwidth: the best of several
// passes of a vectorised loop summing the squares of a float32 array much
// larger than the caches (default 1 GiB), and the CPU time per pass.
//
//	gcc -O3 -march=native -ffast-math -o membw membw.c && ./membw [MiB] [passes]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c) {
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

__attribute__((noinline)) static float sumsq(const float *x, size_t n) {
	float s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i] * x[i];
	return s;
}

int main(int argc, char **argv) {
	size_t mib = argc > 1 ? atol(argv[1]) : 1024;
	int passes = argc > 2 ? atoi(argv[2]) : 10;
	size_t n = mib << 18;
	float *x = aligned_alloc(64, n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(i % 1000) * 1e-3f;
	double best = 0, bestcpu = 0, sink = 0;
	for (int p = 0; p < passes; p++) {
		double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
		sink += sumsq(x, n);
		double t1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_THREAD_CPUTIME_ID);
		double gbs = n * 4.0 / (t1 - t0) / 1e9, cgbs = n * 4.0 / (c1 - c0) / 1e9;
		if (gbs > best) best = gbs;
		if (cgbs > bestcpu) bestcpu = cgbs;
	}
	printf("membw: %zu MiB float32 sum of squares, best of %d passes: %.1f GB/s wall, %.1f GB/s per CPU second (sink %g)\n",
	       mib, passes, best, bestcpu, sink);
	return 0;
}
