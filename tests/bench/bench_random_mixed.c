/*
 * bench_random_mixed ITERS WS SEED [MIN MAX] - one thread, the mixed pattern
 * over WS slots with uniform sizes in MIN..MAX (default 16..1024 B, the
 * tiny tier). Each step is one malloc or one free.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
	struct bench_mixed m = {
		.min = 16, .max = 1024, .dist = BENCH_UNIFORM,
	};
	uint64_t ops;
	double secs;

	bench_init("bench_random_mixed");
	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: %s ITERS WS SEED [MIN MAX]\n", argv[0]);
		return 2;
	}
	m.iters = bench_arg(argv[1], "ITERS", 1, UINT64_MAX);
	m.ws = bench_arg(argv[2], "WS", 1, 1u << 26);
	m.seed = bench_arg(argv[3], "SEED", 0, UINT64_MAX);
	if (argc == 6) {
		m.min = bench_arg(argv[4], "MIN", 1, 1ull << 31);
		m.max = bench_arg(argv[5], "MAX", m.min, 1ull << 31);
	}
	secs = bench_mixed_threads(&m, 1, &ops);
	bench_report(1, ops, secs);
	return 0;
}
