/*
 * bench_cache_scratch THREADS SECS SEED [SIZE REPS] - passive false
 * sharing, modelled on Hoard's cache-scratch benchmark (Berger et al.,
 * 2000), written from its description.
 *
 * Before the clock starts the main thread mallocs THREADS objects of SIZE
 * bytes (default 8), one after another, so they likely share cache lines,
 * and hands object i to thread i. Each thread verifies and frees the object
 * it was given, then, like cache-thrash, mallocs an object of the same
 * size, writes every byte of it REPS times (default 1000), verifies and
 * frees it, over and over. An allocator that gives a thread back the block
 * it just freed for another thread keeps the threads writing into one
 * cache line for the whole run; one that returns a remote free to its
 * owner does not. ops = mallocs + frees (the first free included).
 */
#include <stdlib.h>

#include "bench_common.h"

#define OBJS_PER_CHECK	32

struct scratch {
	size_t size;
	unsigned reps;
	uint64_t seed;
	struct bench_block *given;	/* one per thread, from main */
};

static void worker(void *ctx, unsigned id)
{
	const struct scratch *s = ctx;
	struct bench_block b;
	struct bench_rng r;
	uint64_t ops = 1;

	bench_rng_seed(&r, s->seed * 1000003 + id + 1);
	bench_timed_begin();
	bench_release(&s->given[id], false);
	while (!bench_stopped()) {
		for (int k = 0; k < OBJS_PER_CHECK; k++) {
			bench_alloc(&b, s->size, &r, false);
			bench_scribble(&b, s->reps);
			bench_release(&b, false);
		}
		ops += 2 * OBJS_PER_CHECK;
	}
	bench_timed_end(ops);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct scratch s = { .size = 8, .reps = 1000 };
	struct bench_rng r;
	uint64_t ops;
	double secs;

	bench_init("bench_cache_scratch");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(1) | BENCH_NARGS(2),
			 "[SIZE [REPS]]", &o);
	if (argc > 4)
		s.size = bench_arg(argv[4], "SIZE", 1, 1u << 20);
	if (argc > 5)
		s.reps = (unsigned)bench_arg(argv[5], "REPS", 1, 1u << 20);
	s.seed = o.seed;
	s.given = calloc(o.threads, sizeof(*s.given));
	if (!s.given)
		bench_die("out of memory");
	bench_rng_seed(&r, o.seed * 1000003);
	for (unsigned i = 0; i < o.threads; i++)
		bench_alloc(&s.given[i], s.size, &r, false);
	secs = bench_run_timed(&o, worker, &s, NULL, &ops);
	free(s.given);
	bench_report(o.threads, ops, secs);
	return 0;
}
