/*
 * bench_mstress THREADS SECS SEED [LONG] - modelled on mstress of
 * mimalloc-bench (mimalloc's test-stress), written from its description:
 * many threads, mostly short-lived objects, some long-lived ones, and
 * objects that travel to other threads to be freed there.
 *
 * Sizes are log-uniform in 8..1023 B (each power of two as likely as the
 * next), and one object in 100 is 100 times larger (up to 100 KiB). Each
 * thread keeps a ring of 64 short-lived objects and LONG long-lived ones
 * (default 4096), all allocated before the clock starts. Each step:
 * - 7 in 8: replace the object in the next slot of the short ring;
 * - about 1 in 9: replace a random long-lived object;
 * - 1 in 64: swap a random long-lived object with a random slot of a
 *   transfer array of 1000 slots shared by all threads, free the object
 *   found there (usually another thread's) and allocate a fresh one.
 * Replacing is verify, free, malloc; each malloc and free is one op.
 */
#include <pthread.h>
#include <stdlib.h>

#include "bench_common.h"

#define SHORT		64
#define XFER		1000
#define STEPS_PER_CHECK	64

static struct {
	size_t nlong;
	uint64_t seed;
	struct xfer_slot {
		pthread_mutex_t lock;
		struct bench_block b;
	} xfer[XFER];
} ms;

static size_t stress_size(struct bench_rng *r)
{
	size_t size = bench_rand_log(r, 8, 1023);

	return bench_rand_range(r, 0, 99) == 0 ? size * 100 : size;
}

static void renew(struct bench_block *b, struct bench_rng *r)
{
	bench_release(b, false);
	bench_alloc(b, stress_size(r), r, false);
}

/* Park @b in a random transfer slot and free what was parked there. */
static unsigned transfer(struct bench_block *b, struct bench_rng *r)
{
	struct xfer_slot *x = &ms.xfer[bench_rand_range(r, 0, XFER - 1)];
	struct bench_block old;

	pthread_mutex_lock(&x->lock);
	old = x->b;
	x->b = *b;
	pthread_mutex_unlock(&x->lock);
	bench_alloc(b, stress_size(r), r, false);
	if (!old.p)
		return 1;
	bench_release(&old, false);
	return 2;
}

static void worker(void *ctx, unsigned id)
{
	struct bench_block shorts[SHORT];
	struct bench_block *longs = calloc(ms.nlong, sizeof(*longs));
	struct bench_rng r;
	uint64_t ops = 0;
	size_t next = 0;

	(void)ctx;
	if (!longs)
		bench_die("out of memory for %zu slots", ms.nlong);
	bench_rng_seed(&r, ms.seed * 1000003 + id);
	for (size_t i = 0; i < SHORT; i++)
		bench_alloc(&shorts[i], stress_size(&r), &r, false);
	for (size_t i = 0; i < ms.nlong; i++)
		bench_alloc(&longs[i], stress_size(&r), &r, false);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < STEPS_PER_CHECK; k++) {
			unsigned x = (unsigned)bench_rand_range(&r, 0, 63);
			struct bench_block *l =
				&longs[bench_rand_range(&r, 0, ms.nlong - 1)];

			if (x < 56) {
				renew(&shorts[next], &r);
				next = (next + 1) % SHORT;
			} else if (x < 63) {
				renew(l, &r);
			} else {
				ops += transfer(l, &r);
				continue;
			}
			ops += 2;
		}
	}
	bench_timed_end(ops);
	for (size_t i = 0; i < SHORT; i++)
		bench_release(&shorts[i], false);
	for (size_t i = 0; i < ms.nlong; i++)
		bench_release(&longs[i], false);
	free(longs);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_mstress");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(1),
			 "[LONG]", &o);
	ms.nlong = argc > 4 ? bench_arg(argv[4], "LONG", 1, 1u << 24) : 4096;
	ms.seed = o.seed;
	for (size_t i = 0; i < XFER; i++)
		pthread_mutex_init(&ms.xfer[i].lock, NULL);
	secs = bench_run_timed(&o, worker, NULL, NULL, &ops);
	for (size_t i = 0; i < XFER; i++)
		if (ms.xfer[i].b.p)
			bench_release(&ms.xfer[i].b, false);
	bench_report(o.threads, ops, secs);
	return 0;
}
