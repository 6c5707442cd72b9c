/*
 * larson THREADS BLOCKS ROUNDS GENS SEED [MIN MAX] - the Larson server
 * benchmark (Larson and Krishnan, 1998), written from its description.
 *
 * The main thread fills a shared array with THREADS * BLOCKS blocks of
 * random sizes in MIN..MAX (default 8..1000 B); thread i owns slice i. A
 * worker replaces ROUNDS random blocks of its slice (verify and free the
 * old block, malloc a new one), then starts its successor on the same slice
 * and exits; each slice lives through GENS such generations. A block is
 * thus often freed by a thread that did not allocate it, and every thread
 * exit leaves blocks behind in other threads' hands, as in a server that
 * hands requests from thread to thread.
 *
 * ops = THREADS * GENS * ROUNDS * 2 (each replacement is a free and a malloc);
 * the time runs from the first worker's start to the last one's end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"

struct slice {
	struct bench_block *blocks;
	size_t nblocks;
	struct bench_rng rng;
	unsigned gens_left;
};

static struct {
	uint64_t rounds;
	size_t min, max;
	pthread_attr_t detached;
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	unsigned done;		/* slices whose last generation has ended */
} lar = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done_cv = PTHREAD_COND_INITIALIZER,
};

static void *worker(void *arg);

/* Hand @s to a fresh thread, or report the slice finished. */
static void next_generation(struct slice *s)
{
	pthread_t t;

	if (--s->gens_left > 0) {
		if (pthread_create(&t, &lar.detached, worker, s))
			bench_die("pthread_create failed");
		return;
	}
	pthread_mutex_lock(&lar.lock);
	lar.done++;
	pthread_cond_signal(&lar.done_cv);
	pthread_mutex_unlock(&lar.lock);
}

static void *worker(void *arg)
{
	struct slice *s = arg;

	for (uint64_t i = 0; i < lar.rounds; i++) {
		size_t slot = bench_rand_range(&s->rng, 0, s->nblocks - 1);
		struct bench_block *b = &s->blocks[slot];

		bench_release(b, false);
		bench_alloc(b, bench_rand_range(&s->rng, lar.min, lar.max),
			    &s->rng, false);
	}
	next_generation(s);
	return NULL;
}

/* The initial blocks, all allocated by the main thread. */
static struct slice *make_slices(unsigned threads, size_t nblocks,
				 unsigned gens, uint64_t seed)
{
	struct slice *sl = calloc(threads, sizeof(*sl));

	if (!sl)
		bench_die("out of memory");
	for (unsigned i = 0; i < threads; i++) {
		struct slice *s = &sl[i];

		s->blocks = calloc(nblocks, sizeof(*s->blocks));
		if (!s->blocks)
			bench_die("out of memory");
		s->nblocks = nblocks;
		s->gens_left = gens;
		bench_rng_seed(&s->rng, seed * 1000003 + i);
		for (size_t j = 0; j < nblocks; j++)
			bench_alloc(&s->blocks[j],
				    bench_rand_range(&s->rng, lar.min, lar.max),
				    &s->rng, false);
	}
	return sl;
}

static double run(struct slice *sl, unsigned threads)
{
	double t0 = bench_now();
	pthread_t t;

	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&t, &lar.detached, worker, &sl[i]))
			bench_die("pthread_create failed");
	pthread_mutex_lock(&lar.lock);
	while (lar.done < threads)
		pthread_cond_wait(&lar.done_cv, &lar.lock);
	pthread_mutex_unlock(&lar.lock);
	return bench_now() - t0;
}

static void free_slices(struct slice *sl, unsigned threads)
{
	for (unsigned i = 0; i < threads; i++) {
		for (size_t j = 0; j < sl[i].nblocks; j++)
			bench_release(&sl[i].blocks[j], false);
		free(sl[i].blocks);
	}
	free(sl);
}

int main(int argc, char **argv)
{
	unsigned threads, gens;
	size_t nblocks;
	uint64_t seed;
	struct slice *sl;
	double secs;

	bench_init("larson");
	if (argc != 6 && argc != 8) {
		fprintf(stderr,
			"usage: %s THREADS BLOCKS ROUNDS GENS SEED [MIN MAX]\n",
			argv[0]);
		return 2;
	}
	threads = (unsigned)bench_arg(argv[1], "THREADS", 1, 1024);
	nblocks = bench_arg(argv[2], "BLOCKS", 1, 1u << 24);
	lar.rounds = bench_arg(argv[3], "ROUNDS", 1, UINT64_MAX);
	gens = (unsigned)bench_arg(argv[4], "GENS", 1, 1u << 20);
	seed = bench_arg(argv[5], "SEED", 0, UINT64_MAX);
	lar.min = 8;
	lar.max = 1000;
	if (argc == 8) {
		lar.min = bench_arg(argv[6], "MIN", 1, 1ull << 31);
		lar.max = bench_arg(argv[7], "MAX", lar.min, 1ull << 31);
	}
	pthread_attr_init(&lar.detached);
	pthread_attr_setdetachstate(&lar.detached, PTHREAD_CREATE_DETACHED);
	sl = make_slices(threads, nblocks, gens, seed);
	secs = run(sl, threads);
	free_slices(sl, threads);
	bench_report(threads, (uint64_t)threads * gens * lar.rounds * 2, secs);
	return 0;
}
