/*
 * bench_cache_thrash THREADS SECS SEED [SIZE REPS] - active false sharing,
 * modelled on Hoard's cache-thrash benchmark (Berger et al., 2000), written
 * from its description.
 *
 * Each thread, on its own, mallocs an object of SIZE bytes (default 8),
 * writes every byte of it REPS times (default 1000), verifies and frees it,
 * and starts again. No object ever changes hands; but an allocator that
 * carves the small objects of different threads out of the same cache line
 * makes the threads' writes fight over that line, and the run slows down
 * by far more than the allocator's own cost. ops = mallocs + frees.
 */
#include <stdlib.h>

#include "bench_common.h"

#define OBJS_PER_CHECK	32

struct thrash {
	size_t size;
	unsigned reps;
	uint64_t seed;
};

static void worker(void *ctx, unsigned id)
{
	const struct thrash *t = ctx;
	struct bench_block b;
	struct bench_rng r;
	uint64_t ops = 0;

	bench_rng_seed(&r, t->seed * 1000003 + id);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < OBJS_PER_CHECK; k++) {
			bench_alloc(&b, t->size, &r, false);
			bench_scribble(&b, t->reps);
			bench_release(&b, false);
		}
		ops += 2 * OBJS_PER_CHECK;
	}
	bench_timed_end(ops);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct thrash t = { .size = 8, .reps = 1000 };
	uint64_t ops;
	double secs;

	bench_init("bench_cache_thrash");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(1) | BENCH_NARGS(2),
			 "[SIZE [REPS]]", &o);
	if (argc > 4)
		t.size = bench_arg(argv[4], "SIZE", 1, 1u << 20);
	if (argc > 5)
		t.reps = (unsigned)bench_arg(argv[5], "REPS", 1, 1u << 20);
	t.seed = o.seed;
	secs = bench_run_timed(&o, worker, &t, NULL, &ops);
	bench_report(o.threads, ops, secs);
	return 0;
}
