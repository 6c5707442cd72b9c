/*
 * bench_large THREADS ITERS WS SEED [MIN MAX] - the large tier: every thread
 * runs the mixed pattern on its own WS slots (so at most THREADS * WS blocks
 * are live) with log-uniform sizes in MIN..MAX (default 64 KiB..32 MiB).
 * Each block gets one byte written per page, as a program that uses its
 * memory would, so an allocator pays for the page faults it causes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
	struct bench_mixed m = {
		.min = 64 << 10, .max = 32 << 20, .dist = BENCH_LOG,
		.touch_pages = true,
	};
	unsigned threads;
	double secs;

	bench_init("bench_large");
	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: %s THREADS ITERS WS SEED [MIN MAX]\n",
			argv[0]);
		return 2;
	}
	threads = (unsigned)bench_arg(argv[1], "THREADS", 1, 1024);
	m.iters = bench_arg(argv[2], "ITERS", 1, UINT64_MAX);
	m.ws = bench_arg(argv[3], "WS", 1, 1u << 20);
	m.seed = bench_arg(argv[4], "SEED", 0, UINT64_MAX);
	if (argc == 7) {
		m.min = bench_arg(argv[5], "MIN", 1, 1ull << 31);
		m.max = bench_arg(argv[6], "MAX", m.min, 1ull << 31);
	}
	secs = bench_mixed_threads(&m, threads);
	bench_report(threads, m.iters * threads, secs);
	return 0;
}
