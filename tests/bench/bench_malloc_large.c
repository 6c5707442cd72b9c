/*
 * bench_malloc_large THREADS SECS SEED [LIVE MIN MAX] - modelled on
 * malloc-large of mimalloc-bench, written from its description: big
 * blocks, a few live at a time, really used.
 *
 * Each thread keeps a ring of LIVE blocks (default 2), filled before the
 * clock starts, of sizes uniform in MIN..MAX (default 5..25 MiB). Each
 * step verifies and frees the block in the ring's next slot and mallocs a
 * new one, writing a byte in every page of it; each malloc and free is one
 * op. The cost is mostly the kernel's: an allocator that unmaps every
 * freed block pays the page faults of the next one, one that keeps freed
 * memory pays in RSS. Live at most THREADS * LIVE * MAX bytes (800 MiB
 * with 16 threads and the defaults, 240 MiB expected).
 */
#include <stdlib.h>

#include "bench_common.h"

struct large {
	size_t live, min, max;
	uint64_t seed;
};

static void worker(void *ctx, unsigned id)
{
	const struct large *l = ctx;
	struct bench_block *ring = calloc(l->live, sizeof(*ring));
	struct bench_rng r;
	uint64_t ops = 0;
	size_t i = 0;

	if (!ring)
		bench_die("out of memory for %zu slots", l->live);
	bench_rng_seed(&r, l->seed * 1000003 + id);
	for (size_t k = 0; k < l->live; k++)
		bench_alloc(&ring[k], bench_rand_range(&r, l->min, l->max), &r,
			    true);
	bench_timed_begin();
	while (!bench_stopped()) {	/* a step takes milliseconds */
		bench_release(&ring[i], true);
		bench_alloc(&ring[i], bench_rand_range(&r, l->min, l->max), &r,
			    true);
		ops += 2;
		i = (i + 1) % l->live;
	}
	bench_timed_end(ops);
	for (size_t k = 0; k < l->live; k++)
		bench_release(&ring[k], true);
	free(ring);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct large l = { .live = 2, .min = 5 << 20, .max = 25 << 20 };
	uint64_t ops;
	double secs;

	bench_init("bench_malloc_large");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(1) | BENCH_NARGS(3),
			 "[LIVE [MIN MAX]]", &o);
	if (argc > 4)
		l.live = bench_arg(argv[4], "LIVE", 1, 1024);
	if (argc > 5) {
		l.min = bench_arg(argv[5], "MIN", 1, 1ull << 31);
		l.max = bench_arg(argv[6], "MAX", l.min, 1ull << 31);
	}
	l.seed = o.seed;
	secs = bench_run_timed(&o, worker, &l, NULL, &ops);
	bench_report(o.threads, ops, secs);
	return 0;
}
