/*
 * bench_pool_tls ITERS WS SEED - one thread, the mixed pattern over WS slots
 * with uniform sizes of 8..52 KiB (the pool tier and its thread caches).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
	struct bench_mixed m = {
		.min = 8 << 10, .max = 52 << 10, .dist = BENCH_UNIFORM,
	};
	uint64_t ops;
	double secs;

	bench_init("bench_pool_tls");
	if (argc != 4) {
		fprintf(stderr, "usage: %s ITERS WS SEED\n", argv[0]);
		return 2;
	}
	m.iters = bench_arg(argv[1], "ITERS", 1, UINT64_MAX);
	m.ws = bench_arg(argv[2], "WS", 1, 1u << 24);
	m.seed = bench_arg(argv[3], "SEED", 0, UINT64_MAX);
	secs = bench_mixed_threads(&m, 1, &ops);
	bench_report(1, ops, secs);
	return 0;
}
