/*
 * bench_xmalloc THREADS SECS SEED [MIN MAX BATCH] - modelled on
 * xmalloc-test (Lever and Boreham, 2000), written from its description:
 * threads that only allocate feed threads that only free.
 *
 * Even-numbered threads are producers, odd-numbered ones consumers
 * (THREADS >= 2; with an odd count one producer more). A producer mallocs
 * BATCH blocks (default 64) of sizes uniform in MIN..MAX (default
 * 16..256 B) and puts the batch on one queue that all threads share,
 * protected by one lock; a consumer takes the oldest batch, verifies and
 * frees its blocks. Nearly every free is thus a free of a block another
 * thread allocated, and the producers never get their blocks back. The
 * queue holds at most QUEUE batches: a producer finding it full, or a
 * consumer finding it empty, sleeps on a condition variable.
 * ops = mallocs + frees done in the measured part.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define QUEUE		64
#define BATCH_MAX	256

struct batch {
	unsigned n;
	struct bench_block b[BATCH_MAX];
};

static struct {
	size_t min, max;
	unsigned batch;
	uint64_t seed;
	pthread_mutex_t lock;
	pthread_cond_t not_full, not_empty;
	struct batch *queue[QUEUE];	/* full batches, oldest at head */
	unsigned head, count;
	struct batch *spare[QUEUE];	/* empty batches */
	unsigned nspare;
} xm = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
};

static struct batch *new_batch(void)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		bench_die("out of memory for a batch");
	return b;
}

/* Queue full batch @b and take an empty one; NULL if stopped meanwhile. */
static struct batch *hand_over(struct batch *b)
{
	struct batch *empty = NULL;

	pthread_mutex_lock(&xm.lock);
	while (xm.count == QUEUE && !bench_stopped())
		pthread_cond_wait(&xm.not_full, &xm.lock);
	if (!bench_stopped()) {
		xm.queue[(xm.head + xm.count++) % QUEUE] = b;
		empty = xm.spare[--xm.nspare];	/* queue + spare = QUEUE */
		pthread_cond_signal(&xm.not_empty);
	}
	pthread_mutex_unlock(&xm.lock);
	return empty;
}

/* Give back empty batch @b and take the oldest full one; NULL if stopped. */
static struct batch *take_over(struct batch *b)
{
	struct batch *full = NULL;

	pthread_mutex_lock(&xm.lock);
	while (xm.count == 0 && !bench_stopped())
		pthread_cond_wait(&xm.not_empty, &xm.lock);
	if (!bench_stopped()) {
		full = xm.queue[xm.head];
		xm.head = (xm.head + 1) % QUEUE;
		xm.count--;
		xm.spare[xm.nspare++] = b;
		pthread_cond_signal(&xm.not_full);
	}
	pthread_mutex_unlock(&xm.lock);
	return full;
}

static void release_batch(struct batch *b)
{
	for (unsigned k = 0; k < b->n; k++)
		bench_release(&b->b[k], false);
	b->n = 0;
}

static void producer(unsigned id)
{
	struct batch *b = new_batch(), *next;
	struct bench_rng r;
	uint64_t ops = 0;

	bench_rng_seed(&r, xm.seed * 1000003 + id);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (b->n = 0; b->n < xm.batch; b->n++)
			bench_alloc(&b->b[b->n],
				    bench_rand_range(&r, xm.min, xm.max), &r,
				    false);
		ops += xm.batch;
		next = hand_over(b);
		if (!next)
			break;
		b = next;
	}
	bench_timed_end(ops);
	release_batch(b);	/* the one the stop kept from the queue */
	free(b);
}

static void consumer(void)
{
	struct batch *b = new_batch();
	uint64_t ops = 0;

	bench_timed_begin();
	while (!bench_stopped()) {
		struct batch *full = take_over(b);

		if (!full)
			break;
		b = full;
		ops += b->n;
		release_batch(b);
	}
	bench_timed_end(ops);
	free(b);
}

static void worker(void *ctx, unsigned id)
{
	(void)ctx;
	if (id % 2 == 0)
		producer(id);
	else
		consumer();
}

static void wake_all(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&xm.lock);
	pthread_cond_broadcast(&xm.not_full);
	pthread_cond_broadcast(&xm.not_empty);
	pthread_mutex_unlock(&xm.lock);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_xmalloc");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(2) | BENCH_NARGS(3),
			 "[MIN MAX [BATCH]]", &o);
	if (o.threads < 2) {
		fprintf(stderr, "bench_xmalloc: THREADS must be at least 2\n");
		return 2;
	}
	xm.min = 16;
	xm.max = 256;
	xm.batch = 64;
	if (argc > 5) {
		xm.min = bench_arg(argv[4], "MIN", 1, 1ull << 31);
		xm.max = bench_arg(argv[5], "MAX", xm.min, 1ull << 31);
	}
	if (argc > 6)
		xm.batch = (unsigned)bench_arg(argv[6], "BATCH", 1, BATCH_MAX);
	xm.seed = o.seed;
	for (xm.nspare = 0; xm.nspare < QUEUE; xm.nspare++)
		xm.spare[xm.nspare] = new_batch();
	secs = bench_run_timed(&o, worker, NULL, wake_all, &ops);
	while (xm.count > 0) {	/* what the consumers had not reached */
		release_batch(xm.queue[xm.head]);
		xm.spare[xm.nspare++] = xm.queue[xm.head];
		xm.head = (xm.head + 1) % QUEUE;
		xm.count--;
	}
	for (unsigned i = 0; i < xm.nspare; i++)
		free(xm.spare[i]);
	bench_report(o.threads, ops, secs);
	return 0;
}
