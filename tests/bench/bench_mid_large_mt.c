/*
 * bench_mid_large_mt THREADS ITERS WS SEED - every thread runs the mixed
 * pattern on its own WS slots with uniform sizes of 8..32 KiB; blocks never
 * change threads, so this measures per-thread caching under concurrency.
 * ops = THREADS * ITERS.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
	struct bench_mixed m = {
		.min = 8 << 10, .max = 32 << 10, .dist = BENCH_UNIFORM,
	};
	unsigned threads;
	uint64_t ops;
	double secs;

	bench_init("bench_mid_large_mt");
	if (argc != 5) {
		fprintf(stderr, "usage: %s THREADS ITERS WS SEED\n", argv[0]);
		return 2;
	}
	threads = (unsigned)bench_arg(argv[1], "THREADS", 1, 1024);
	m.iters = bench_arg(argv[2], "ITERS", 1, UINT64_MAX);
	m.ws = bench_arg(argv[3], "WS", 1, 1u << 24);
	m.seed = bench_arg(argv[4], "SEED", 0, UINT64_MAX);
	secs = bench_mixed_threads(&m, threads, &ops);
	bench_report(threads, ops, secs);
	return 0;
}
