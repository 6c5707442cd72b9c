/*
 * bench_mleak THREADS SECS SEED [MIN MAX LEAK] - a slowly growing leak,
 * modelled on the mleak benchmark of mimalloc-bench, written from its
 * description: ordinary alloc/free churn in which a few blocks are never
 * freed (until the end, here, where they are verified).
 *
 * Each thread runs the random ring of bench_sweep (256 slots, sizes
 * uniform in MIN..MAX, default 16 B..1 KiB): each step takes the block in
 * the ring's next slot and mallocs a new one into it. The old block is
 * verified and freed, except one in LEAK (default 1000), which is kept on
 * the thread's leak list instead. Each malloc and free is one op. Leaked
 * blocks are scattered among live ones, so an allocator cannot hand back
 * the pages they sit on: RSS grows with the leak plus whatever
 * fragmentation it causes. The RESULT line adds leaked_kb, the bytes
 * leaked over all threads. At most 512 MiB is leaked in all; past that
 * every old block is freed.
 */
#include <stdlib.h>

#include "bench_common.h"

#define RING		256
#define LEAK_MAX	(512ull << 20)
#define STEPS_PER_CHECK	64

static struct {
	size_t min, max;
	uint64_t leak;
	uint64_t seed;
	_Atomic uint64_t leaked;	/* bytes, all threads */
} ml;

struct leak_list {
	struct bench_block *b;
	size_t n, cap;
};

/* Keep @b on @l, unless the total leak would pass LEAK_MAX. */
static bool leak(struct leak_list *l, const struct bench_block *b)
{
	if (atomic_fetch_add_explicit(&ml.leaked, b->size,
				      memory_order_relaxed) + b->size > LEAK_MAX) {
		atomic_fetch_sub_explicit(&ml.leaked, b->size,
					  memory_order_relaxed);
		return false;
	}
	if (l->n == l->cap) {	/* the program's own bookkeeping */
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->b = realloc(l->b, l->cap * sizeof(*l->b));
		if (!l->b)
			bench_die("out of memory for the leak list");
	}
	l->b[l->n++] = *b;
	return true;
}

static void worker(void *ctx, unsigned id)
{
	struct bench_block ring[RING] = { 0 };
	struct leak_list l = { 0 };
	struct bench_rng r;
	uint64_t ops = 0;
	size_t i = 0;

	(void)ctx;
	bench_rng_seed(&r, ml.seed * 1000003 + id);
	for (size_t k = 0; k < RING; k++)
		bench_alloc(&ring[k], bench_rand_range(&r, ml.min, ml.max), &r,
			    false);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < STEPS_PER_CHECK; k++) {
			if (bench_rand_range(&r, 1, ml.leak) != 1 ||
			    !leak(&l, &ring[i])) {
				bench_release(&ring[i], false);
				ops++;
			}
			bench_alloc(&ring[i],
				    bench_rand_range(&r, ml.min, ml.max), &r,
				    false);
			ops++;
			i = (i + 1) % RING;
		}
	}
	bench_timed_end(ops);
	for (size_t k = 0; k < RING; k++)
		bench_release(&ring[k], false);
	for (size_t k = 0; k < l.n; k++)
		bench_release(&l.b[k], false);
	free(l.b);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_mleak");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(2) | BENCH_NARGS(3),
			 "[MIN MAX [LEAK]]", &o);
	ml.min = 16;
	ml.max = 1024;
	ml.leak = 1000;
	if (argc > 5) {
		ml.min = bench_arg(argv[4], "MIN", 1, 1ull << 31);
		ml.max = bench_arg(argv[5], "MAX", ml.min, 1ull << 31);
	}
	if (argc > 6)
		ml.leak = bench_arg(argv[6], "LEAK", 1, 1u << 30);
	ml.seed = o.seed;
	secs = bench_run_timed(&o, worker, NULL, NULL, &ops);
	bench_report_extra("leaked_kb", ml.leaked >> 10);
	bench_report(o.threads, ops, secs);
	return 0;
}
