/*
 * bench_batch THREADS SECS SEED [MIN MAX [PASS]] - modelled on MicroQuill's
 * sh6bench and sh8bench (mimalloc-bench runs both), written from their
 * description: a program that builds thousands of objects at once and
 * tears them all down, as a parser, a tree or an interpreter's heap does.
 *
 * Each thread repeats: malloc a batch of 5000-15000 blocks (how many is
 * random each time), sizes uniform in MIN..MAX (default 1..1000), into an
 * array that is malloc'ed too; then verify and free the batch and its array.
 * With PASS 0 (the default, sh6bench) the thread frees its own batch, first
 * to last one time and last to first the next. With PASS 1 (sh8bench) it
 * hands the batch to the next thread (the last to the first) and frees the
 * batch its neighbour handed over, if one came, in the same alternating
 * orders; a thread whose neighbour has not taken the last one yet frees its
 * own, so a descheduled thread cannot make memory pile up. Each malloc and
 * free is one op, the arrays' too.
 * Runs SECS seconds (duration mode, bench_common.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "bench_common.h"

#define BATCH_MIN	5000
#define BATCH_MAX	15000
#define THREADS_MAX	1024

struct batch {
	struct bench_block *b;
	size_t n;
};

static struct {
	size_t min, max;
	uint64_t seed;
	unsigned threads;
	bool pass;
	struct inbox {
		pthread_mutex_t lock;
		struct batch in;	/* b NULL: empty */
	} box[THREADS_MAX];
} bb;

/* Free @t's blocks (forward or backward) and its array; returns the ops. */
static uint64_t tear_down(struct batch *t, bool backward)
{
	for (size_t i = 0; i < t->n; i++)
		bench_release(&t->b[backward ? t->n - 1 - i : i], false);
	free(t->b);
	t->b = NULL;
	return 2 * t->n + 1;	/* the blocks' mallocs and frees, the array's free */
}

/* Malloc a batch into @t; returns the ops counted here (the array's malloc). */
static uint64_t build(struct batch *t, struct bench_rng *r)
{
	t->n = bench_rand_range(r, BATCH_MIN, BATCH_MAX);
	t->b = malloc(t->n * sizeof(*t->b));
	if (!t->b)
		bench_die("out of memory for a batch of %zu", t->n);
	for (size_t i = 0; i < t->n; i++)
		bench_alloc(&t->b[i], bench_rand_range(r, bb.min, bb.max), r, false);
	return 1;
}

/* Put @t into @box if it is empty; false if it was not. */
static bool put(struct inbox *box, struct batch t)
{
	bool empty;

	pthread_mutex_lock(&box->lock);
	empty = !box->in.b;
	if (empty)
		box->in = t;
	pthread_mutex_unlock(&box->lock);
	return empty;
}

/* What @box holds, taken out (b NULL: nothing). */
static struct batch take(struct inbox *box)
{
	struct batch t;

	pthread_mutex_lock(&box->lock);
	t = box->in;
	box->in = (struct batch){ 0 };
	pthread_mutex_unlock(&box->lock);
	return t;
}

static void worker(void *ctx, unsigned id)
{
	struct inbox *mine = &bb.box[id], *next = &bb.box[(id + 1) % bb.threads];
	struct bench_rng r;
	struct batch t;
	uint64_t ops = 0, round = 0;

	(void)ctx;
	bench_rng_seed(&r, bb.seed * 1000003 + id);
	bench_timed_begin();
	while (!bench_stopped()) {
		ops += build(&t, &r);
		if (bb.pass && put(next, t))	/* handed over: free what came in */
			t = take(mine);
		if (t.b)
			ops += tear_down(&t, round++ & 1);
	}
	bench_timed_end(ops);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_batch");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(2) | BENCH_NARGS(3),
			 "[MIN MAX [PASS]]", &o);
	bb.min = 1;
	bb.max = 1000;
	if (argc >= 6) {
		bb.min = bench_arg(argv[4], "MIN", 1, 1ull << 20);
		bb.max = bench_arg(argv[5], "MAX", bb.min, 1ull << 20);
	}
	bb.pass = argc == 7 && bench_arg(argv[6], "PASS", 0, 1);
	if (o.threads > THREADS_MAX)
		bench_die("at most %u threads", THREADS_MAX);
	bb.threads = o.threads;
	bb.seed = o.seed;
	for (unsigned i = 0; i < o.threads; i++)
		pthread_mutex_init(&bb.box[i].lock, NULL);
	secs = bench_run_timed(&o, worker, NULL, NULL, &ops);
	for (unsigned i = 0; i < o.threads; i++)
		if (bb.box[i].in.b)
			tear_down(&bb.box[i].in, false);
	bench_report(o.threads, ops, secs);
	return 0;
}
