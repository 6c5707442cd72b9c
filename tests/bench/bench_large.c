/*
 * bench_large THREADS ITERS WS LIVE SEED [MIN MAX] - the large tier: every
 * thread runs the mixed pattern on its own WS slots with log-uniform sizes in
 * MIN..MAX (default 64 KiB..32 MiB), and at most LIVE bytes are live over all
 * threads (0: only the slots bound them). The byte bound makes the peak of
 * live bytes, which the peak RSS is measured against, about LIVE whichever
 * way the threads interleave.
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
	uint64_t ops;
	double secs;

	bench_init("bench_large");
	if (argc != 6 && argc != 8) {
		fprintf(stderr, "usage: %s THREADS ITERS WS LIVE SEED [MIN MAX]\n",
			argv[0]);
		return 2;
	}
	threads = (unsigned)bench_arg(argv[1], "THREADS", 1, 1024);
	m.iters = bench_arg(argv[2], "ITERS", 1, UINT64_MAX);
	m.ws = bench_arg(argv[3], "WS", 1, 1u << 20);
	m.live_max = bench_arg(argv[4], "LIVE", 0, SIZE_MAX);
	m.seed = bench_arg(argv[5], "SEED", 0, UINT64_MAX);
	if (argc == 8) {
		m.min = bench_arg(argv[6], "MIN", 1, 1ull << 31);
		m.max = bench_arg(argv[7], "MAX", m.min, 1ull << 31);
	}
	if (m.live_max && m.live_max < m.max) {
		fprintf(stderr, "%s: LIVE must be 0 or at least MAX (%zu)\n",
			argv[0], m.max);
		return 2;
	}
	secs = bench_mixed_threads(&m, threads, &ops);
	bench_report(threads, ops, secs);
	return 0;
}
