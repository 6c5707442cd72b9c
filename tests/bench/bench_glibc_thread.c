/*
 * bench_glibc_thread THREADS SECS SEED [WS MIN MAX] - modelled on glibc's
 * benchtests/bench-malloc-thread, written from its description.
 *
 * Each thread owns a working set of WS slots (default 1024), all filled
 * before the clock starts. Each step picks a random slot, verifies and
 * frees its block and mallocs a new one into it; each malloc and free is
 * one op. Sizes are skewed to small ones: log-uniform in MIN..MAX (default
 * 4..32767 B), so each power of two is as likely as the next: 38 % of the
 * requests are below 128 B, while the rare large ones hold most of the
 * bytes (3.7 KiB a slot on average, 3.7 MiB a thread by default).
 * Runs SECS seconds, as the glibc benchmark runs for a fixed time.
 */
#include <stdlib.h>

#include "bench_common.h"

#define STEPS_PER_CHECK	64

struct gt {
	size_t ws, min, max;
	uint64_t seed;
};

static void worker(void *ctx, unsigned id)
{
	const struct gt *g = ctx;
	struct bench_block *slots = calloc(g->ws, sizeof(*slots));
	struct bench_rng r;
	uint64_t ops = 0;

	if (!slots)
		bench_die("out of memory for %zu slots", g->ws);
	bench_rng_seed(&r, g->seed * 1000003 + id);
	for (size_t i = 0; i < g->ws; i++)
		bench_alloc(&slots[i], bench_rand_log(&r, g->min, g->max), &r,
			    false);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < STEPS_PER_CHECK; k++) {
			struct bench_block *b =
				&slots[bench_rand_range(&r, 0, g->ws - 1)];

			bench_release(b, false);
			bench_alloc(b, bench_rand_log(&r, g->min, g->max), &r,
				    false);
		}
		ops += 2 * STEPS_PER_CHECK;
	}
	bench_timed_end(ops);
	for (size_t i = 0; i < g->ws; i++)
		bench_release(&slots[i], false);
	free(slots);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct gt g = { .ws = 1024, .min = 4, .max = (32 << 10) - 1 };
	uint64_t ops;
	double secs;

	bench_init("bench_glibc_thread");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(1) | BENCH_NARGS(3),
			 "[WS [MIN MAX]]", &o);
	if (argc > 4)
		g.ws = bench_arg(argv[4], "WS", 1, 1u << 24);
	if (argc > 5) {
		g.min = bench_arg(argv[5], "MIN", 1, 1ull << 31);
		g.max = bench_arg(argv[6], "MAX", g.min, 1ull << 31);
	}
	g.seed = o.seed;
	secs = bench_run_timed(&o, worker, &g, NULL, &ops);
	bench_report(o.threads, ops, secs);
	return 0;
}
