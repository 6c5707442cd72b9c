/*
 * bench_churn THREADS SECS SEED [MIN MAX] - a thread per task, as a server
 * that starts one per request, or a program whose parallel loops start
 * fresh threads each time, uses the allocator.
 *
 * Each of THREADS drivers repeats: start a thread that mallocs 64 blocks
 * of sizes uniform in MIN..MAX (default 16..2048: tiny and pool classes),
 * then verifies and frees them, and exits; join it. Each malloc and free
 * is one op, counted by the driver from what its thread did. Most of the
 * time goes to starting and ending threads, the same for every allocator;
 * what differs is what a thread's first allocations and its exit cost the
 * allocator (its caches set up, flushed, its memory given back or kept).
 * Runs SECS seconds (duration mode, bench_common.h).
 */
#include <pthread.h>
#include <string.h>

#include "bench_common.h"

#define TASK_BLOCKS	64

static struct {
	size_t min, max;
	uint64_t seed;
} cc;

struct task {
	struct bench_rng r;
	struct bench_block b[TASK_BLOCKS];
};

static void *task_run(void *arg)
{
	struct task *t = arg;

	for (int i = 0; i < TASK_BLOCKS; i++)
		bench_alloc(&t->b[i], bench_rand_range(&t->r, cc.min, cc.max), &t->r, false);
	for (int i = 0; i < TASK_BLOCKS; i++)
		bench_release(&t->b[i], false);
	return NULL;
}

static void worker(void *ctx, unsigned id)
{
	struct task t;
	uint64_t ops = 0;
	pthread_t tid;
	int err;

	(void)ctx;
	bench_rng_seed(&t.r, cc.seed * 1000003 + id);
	bench_timed_begin();
	while (!bench_stopped()) {
		err = pthread_create(&tid, NULL, task_run, &t);
		if (err)
			bench_die("pthread_create: %s", strerror(err));
		pthread_join(tid, NULL);
		ops += 2 * TASK_BLOCKS;
	}
	bench_timed_end(ops);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_churn");
	bench_timed_args(argc, argv, BENCH_NARGS(0) | BENCH_NARGS(2), "[MIN MAX]", &o);
	cc.min = 16;
	cc.max = 2048;
	if (argc == 6) {
		cc.min = bench_arg(argv[4], "MIN", 1, 1ull << 30);
		cc.max = bench_arg(argv[5], "MAX", cc.min, 1ull << 30);
	}
	cc.seed = o.seed;
	secs = bench_run_timed(&o, worker, NULL, NULL, &ops);
	bench_report(o.threads, ops, secs);
	return 0;
}
