/*
 * bench_sweep THREADS SECS SEED [MIN MAX] - the random ring, one size band.
 *
 * Each thread owns a ring of live blocks, filled before the clock starts.
 * Each step verifies and frees the block in the ring's next slot and mallocs
 * a new one of a size uniform in MIN..MAX (default 16..1k) into it; each
 * malloc and each free is one op. The ring has 256 slots, fewer when that
 * would keep more than 64 MiB live per thread on average:
 * ring = min(256, 64 MiB / ((MIN + MAX) / 2)), at least 8. Every block
 * lives exactly one trip round the ring, so the live set stays the same
 * size while its addresses keep changing: what a size band costs in the
 * steady state. Runs SECS seconds (duration mode, bench_common.h).
 */
#include <stdlib.h>

#include "bench_common.h"

#define RING_MAX	256
#define RING_MIN	8
#define LIVE_PER_THREAD	(64ull << 20)
#define STEPS_PER_CHECK	64

struct sweep {
	size_t min, max, ring;
	uint64_t seed;
};

static void worker(void *ctx, unsigned id)
{
	const struct sweep *s = ctx;
	struct bench_block *ring = calloc(s->ring, sizeof(*ring));
	struct bench_rng r;
	uint64_t ops = 0;
	size_t i = 0;

	if (!ring)
		bench_die("out of memory for a ring of %zu", s->ring);
	bench_rng_seed(&r, s->seed * 1000003 + id);
	for (size_t k = 0; k < s->ring; k++)
		bench_alloc(&ring[k], bench_rand_range(&r, s->min, s->max), &r,
			    false);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < STEPS_PER_CHECK; k++) {
			bench_release(&ring[i], false);
			bench_alloc(&ring[i],
				    bench_rand_range(&r, s->min, s->max), &r,
				    false);
			if (++i == s->ring)
				i = 0;
		}
		ops += 2 * STEPS_PER_CHECK;
	}
	bench_timed_end(ops);
	for (size_t k = 0; k < s->ring; k++)
		bench_release(&ring[k], false);
	free(ring);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct sweep s = { .min = 16, .max = 1024 };
	uint64_t ops;
	double secs;

	bench_init("bench_sweep");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(2),
			 "[MIN MAX]", &o);
	if (argc == 6) {
		s.min = bench_arg(argv[4], "MIN", 1, 1ull << 31);
		s.max = bench_arg(argv[5], "MAX", s.min, 1ull << 31);
	}
	s.seed = o.seed;
	s.ring = LIVE_PER_THREAD / ((s.min + s.max) / 2);
	if (s.ring > RING_MAX)
		s.ring = RING_MAX;
	if (s.ring < RING_MIN)
		s.ring = RING_MIN;
	secs = bench_run_timed(&o, worker, &s, NULL, &ops);
	bench_report(o.threads, ops, secs);
	return 0;
}
