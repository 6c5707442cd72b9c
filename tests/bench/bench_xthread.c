/*
 * bench_xthread PAIRS BLOCKS MIN MAX [SEED] - cross-thread frees only.
 *
 * PAIRS producer/consumer pairs. The producer mallocs BLOCKS blocks of
 * uniform sizes in MIN..MAX, writes their pattern and hands them over in
 * batches of BATCH; the consumer verifies and frees them. Every free thus
 * happens on a thread other than the allocating one. ops = PAIRS * BLOCKS
 * * 2 (each block is a malloc and a free); the time runs from the common
 * start to the last thread's end.
 *
 * The queue between them is a ring of QUEUE batches; a side that finds it
 * full (or empty) sleeps on a condition variable rather than spinning, so
 * the result does not depend on whether the two threads got a core each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

#define BATCH	512
#define QUEUE	8

struct batch {
	unsigned n;
	struct bench_block b[BATCH];
};

struct pair {
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* head or tail moved */
	uint64_t head, tail;		/* batches taken, batches given */
	struct batch q[QUEUE];
	uint64_t blocks;
	size_t min, max;
	uint64_t seed;
	pthread_barrier_t *start;
};

/* Wait until @pr's queue has room (producer) or a batch (consumer). */
static void wait_for(struct pair *pr, bool room)
{
	pthread_mutex_lock(&pr->lock);
	while (room ? pr->tail - pr->head == QUEUE : pr->head == pr->tail)
		pthread_cond_wait(&pr->changed, &pr->lock);
	pthread_mutex_unlock(&pr->lock);
}

static void advance(struct pair *pr, uint64_t *counter)
{
	pthread_mutex_lock(&pr->lock);
	(*counter)++;
	pthread_cond_signal(&pr->changed);
	pthread_mutex_unlock(&pr->lock);
}

static void *producer(void *arg)
{
	struct pair *pr = arg;
	struct bench_rng r;
	uint64_t left = pr->blocks;

	bench_rng_seed(&r, pr->seed);
	pthread_barrier_wait(pr->start);
	for (uint64_t i = 0; left > 0; i++) {
		struct batch *bt = &pr->q[i % QUEUE];

		wait_for(pr, true);
		bt->n = left < BATCH ? (unsigned)left : BATCH;
		for (unsigned k = 0; k < bt->n; k++) {
			size_t size = bench_rand_range(&r, pr->min, pr->max);

			bench_alloc(&bt->b[k], size, &r, false);
		}
		left -= bt->n;
		advance(pr, &pr->tail);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct pair *pr = arg;
	uint64_t left = pr->blocks;

	pthread_barrier_wait(pr->start);
	for (uint64_t i = 0; left > 0; i++) {
		struct batch *bt = &pr->q[i % QUEUE];

		wait_for(pr, false);
		for (unsigned k = 0; k < bt->n; k++)
			bench_release(&bt->b[k], false);
		left -= bt->n;
		advance(pr, &pr->head);
	}
	return NULL;
}

static double run(struct pair *pairs, unsigned npairs)
{
	pthread_barrier_t start;
	pthread_t tid[2 * npairs];
	double t0;

	pthread_barrier_init(&start, NULL, 2 * npairs + 1);
	for (unsigned i = 0; i < npairs; i++) {
		pairs[i].start = &start;
		if (pthread_create(&tid[2 * i], NULL, producer, &pairs[i]) ||
		    pthread_create(&tid[2 * i + 1], NULL, consumer, &pairs[i]))
			bench_die("pthread_create failed");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now();
	for (unsigned i = 0; i < 2 * npairs; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	unsigned npairs;
	uint64_t blocks, seed = 1;
	size_t min, max;
	struct pair *pairs;
	double secs;

	bench_init("bench_xthread");
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: %s PAIRS BLOCKS MIN MAX [SEED]\n",
			argv[0]);
		return 2;
	}
	npairs = (unsigned)bench_arg(argv[1], "PAIRS", 1, 512);
	blocks = bench_arg(argv[2], "BLOCKS", 1, UINT64_MAX);
	min = bench_arg(argv[3], "MIN", 1, 1ull << 31);
	max = bench_arg(argv[4], "MAX", min, 1ull << 31);
	if (argc == 6)
		seed = bench_arg(argv[5], "SEED", 0, UINT64_MAX);
	pairs = calloc(npairs, sizeof(*pairs));
	if (!pairs)
		bench_die("out of memory");
	for (unsigned i = 0; i < npairs; i++) {
		pthread_mutex_init(&pairs[i].lock, NULL);
		pthread_cond_init(&pairs[i].changed, NULL);
		pairs[i].blocks = blocks;
		pairs[i].min = min;
		pairs[i].max = max;
		pairs[i].seed = seed * 1000003 + i;
	}
	secs = run(pairs, npairs);
	free(pairs);
	bench_report(2 * npairs, 2 * npairs * blocks, secs);
	return 0;
}
