/*
 * bench_rptest THREADS SECS SEED [MIN MAX XFER] - modelled on rpmalloc's
 * rptest benchmark, written from its description: threads allocate and
 * free blocks of random sizes, and a share of the blocks is freed by
 * another thread, handed over in batches.
 *
 * Each thread owns a working set of 1024 slots, filled before the clock
 * starts, with sizes log-uniform in MIN..MAX (default 16..16383 B). Each
 * step picks a random slot and mallocs a new block into it; the old block
 * is verified and freed, except one in XFER (default 4), which goes into
 * an outbox of 64 blocks. A full outbox is appended to the next thread's
 * inbox (thread i sends to i + 1, the last to thread 0); every 64 steps a
 * thread takes its inbox whole and verifies and frees what it received.
 * So a quarter of the frees, by default, are remote frees, arriving in
 * bursts. An inbox holds at most 4096 blocks: a sender that finds no room
 * frees its outbox itself, so a thread that is not scheduled cannot make
 * the others pile up memory. Each malloc and free is one op, counted by
 * the thread that does it. With THREADS = 1 the thread sends to itself.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define WS		1024
#define OUTBOX		64
#define INBOX_CAP	4096
#define STEPS_PER_CHECK	64

struct inbox {
	pthread_mutex_t lock;
	size_t n;
	struct bench_block *items;	/* INBOX_CAP of them */
	char pad[64];			/* a line of its own */
};

static struct {
	size_t min, max;
	uint64_t xfer;
	unsigned threads;
	uint64_t seed;
	struct inbox *in;
} rp;

static struct bench_block *new_items(void)
{
	struct bench_block *items = calloc(INBOX_CAP, sizeof(*items));

	if (!items)
		bench_die("out of memory for an inbox");
	return items;
}

/* Append @n blocks to inbox @to or, when it is full, free them; the ops. */
static uint64_t send(struct bench_block *out, size_t n, struct inbox *to)
{
	bool sent = false;

	pthread_mutex_lock(&to->lock);
	if (to->n + n <= INBOX_CAP) {
		memcpy(to->items + to->n, out, n * sizeof(*out));
		to->n += n;
		sent = true;
	}
	pthread_mutex_unlock(&to->lock);
	if (sent)
		return 0;
	for (size_t i = 0; i < n; i++)
		bench_release(&out[i], false);
	return n;
}

/* Swap inbox @in's array for the empty *@spare and free what it held. */
static uint64_t drain(struct inbox *in, struct bench_block **spare)
{
	struct bench_block *got;
	size_t n;

	pthread_mutex_lock(&in->lock);
	got = in->items;
	n = in->n;
	in->items = *spare;
	in->n = 0;
	pthread_mutex_unlock(&in->lock);
	for (size_t i = 0; i < n; i++)
		bench_release(&got[i], false);
	*spare = got;
	return n;
}

static void worker(void *ctx, unsigned id)
{
	struct bench_block *slots = calloc(WS, sizeof(*slots));
	struct bench_block *spare = new_items(), out[OUTBOX];
	struct inbox *next = &rp.in[(id + 1) % rp.threads];
	struct bench_rng r;
	uint64_t ops = 0;
	size_t nout = 0;

	(void)ctx;
	if (!slots)
		bench_die("out of memory for %d slots", WS);
	bench_rng_seed(&r, rp.seed * 1000003 + id);
	for (size_t i = 0; i < WS; i++)
		bench_alloc(&slots[i], bench_rand_log(&r, rp.min, rp.max), &r,
			    false);
	bench_timed_begin();
	while (!bench_stopped()) {
		for (int k = 0; k < STEPS_PER_CHECK; k++) {
			struct bench_block *b =
				&slots[bench_rand_range(&r, 0, WS - 1)];

			if (bench_rand_range(&r, 1, rp.xfer) == 1) {
				out[nout++] = *b;
				if (nout == OUTBOX) {
					ops += send(out, nout, next);
					nout = 0;
				}
			} else {
				bench_release(b, false);
				ops++;
			}
			bench_alloc(b, bench_rand_log(&r, rp.min, rp.max), &r,
				    false);
			ops++;
		}
		ops += drain(&rp.in[id], &spare);
	}
	bench_timed_end(ops);
	/* Nobody sends after the end barrier: what is left is ours to free. */
	for (size_t i = 0; i < WS; i++)
		bench_release(&slots[i], false);
	for (size_t i = 0; i < nout; i++)
		bench_release(&out[i], false);
	drain(&rp.in[id], &spare);
	free(slots);
	free(spare);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t ops;
	double secs;

	bench_init("bench_rptest");
	bench_timed_args(argc, argv,
			 BENCH_NARGS(0) | BENCH_NARGS(2) | BENCH_NARGS(3),
			 "[MIN MAX [XFER]]", &o);
	rp.min = 16;
	rp.max = (16 << 10) - 1;
	rp.xfer = 4;
	if (argc > 5) {
		rp.min = bench_arg(argv[4], "MIN", 1, 1ull << 31);
		rp.max = bench_arg(argv[5], "MAX", rp.min, 1ull << 31);
	}
	if (argc > 6)
		rp.xfer = bench_arg(argv[6], "XFER", 1, 1u << 20);
	rp.threads = o.threads;
	rp.seed = o.seed;
	rp.in = calloc(o.threads, sizeof(*rp.in));
	if (!rp.in)
		bench_die("out of memory");
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_mutex_init(&rp.in[i].lock, NULL);
		rp.in[i].items = new_items();
	}
	secs = bench_run_timed(&o, worker, NULL, NULL, &ops);
	for (unsigned i = 0; i < o.threads; i++)
		free(rp.in[i].items);
	free(rp.in);
	bench_report(o.threads, ops, secs);
	return 0;
}
