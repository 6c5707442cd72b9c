/*
 * tiny.c - the tiny tier's thread caches: set-up, slow paths, thread exit.
 */
#include <errno.h>

#include "../sysmem/sysmem.h"
#include "tiny.h"

HAK_TLS struct hak_tiny_tls hak_tiny_tls;
static HAK_TLS bool thread_ready;
static HAK_TLS unsigned slow_calls;
static HAK_TLS uint32_t caps_seen;	/* the caps_gen this thread's bins follow */
static unsigned bin_cap;			/* HAKMEM_TINY_CACHE, 0 under full checks */

/* The learner's settings, within bin_cap's bounds; caps_gen grows when a cap changes. */
static _Atomic uint32_t class_cap[HAK_TINY_NCLASSES], class_batch[HAK_TINY_NCLASSES];
static _Atomic uint32_t caps_gen;

/* Slow-path counts, every thread's; apart from the settings, which are read-mostly. */
static struct {
	hak_counter_t misses[HAK_TINY_NCLASSES], overflows[HAK_TINY_NCLASSES];
} demand __attribute__((aligned(64)));

/* Every TICK_EVERY slow calls a thread looks at the clock for the learner. */
#define TICK_EVERY	16

/*
 * Slow start: a thread's first refill of a class takes FIRST_REFILL blocks,
 * each later one as many as it took so far (its total doubles: 4, 4, 8,
 * 16 ...), up to batch(). A thread that uses a class only a little then
 * does not carve a whole batch of it: eight threads, each a ring of 256
 * live blocks of 16 B - 1 KiB (about 16 of a class), peaked at 8.9 MB
 * resident with full batches of 65 and 6.7 MB with a first refill of 16.
 * Doubling the total rather than each refill keeps it from overshooting a
 * class's need by more than full batches do: bench_random_mixed (about 128
 * of a class) peaked at 4.1 MB doubling each refill, 3.7 MB with full
 * batches, 3.6 MB so. A thread that makes a block or two of many classes
 * and exits (a thread per task) walks what is left in its bins at its
 * exit: with a first refill of 16 that was a quarter of the allocator's
 * time in bench_churn, hence 4. gperftools' thread cache grows its lists
 * slowly too.
 */
#define FIRST_REFILL	4u
static HAK_TLS uint8_t refills[HAK_TINY_NCLASSES];	/* this thread's, up to 16 */

BUILD_BUG_ON(HAK_TINY_NCLASSES > HAK_SMALL_NCLASSES);
BUILD_BUG_ON(sizeof(hak_class_by_size) != HAK_TINY_MAX + 1);	/* hak_tiny_class() */

/* The refill batch of @b (class @cls): the learner's, at most half the bin's cap plus one. */
static unsigned batch(const struct hak_bin *b, unsigned cls)
{
	return HAK_MIN(hak_atomic_load_relaxed(&class_batch[cls]), b->cap / 2 + 1);
}

/* PREWARM_TLS: fill an empty bin with a batch before the thread's first miss on it. */
static void prewarm(struct hak_bin *b, unsigned cls)
{
	void *p;

	if (b->cap && !b->count && (p = hak_ss_bin_refill(b, cls, batch(b, cls))))
		hak_bin_push(b, p);
}

/*
 * Caps stay 0 under HAKMEM_CHECK=full, so that every call reaches the
 * checks, and once the thread's exit hook ran, so that nothing is cached.
 */
static void thread_setup(void)
{
	if (hak_sys_thread_exiting())
		return;
	caps_seen = hak_atomic_load_acquire(&caps_gen);
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++)
		hak_tiny_tls.bins[c].cap = hak_atomic_load_relaxed(&class_cap[c]);
	thread_ready = true;
	hak_sys_thread_watch();
	if (PREWARM_TLS)
		for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++)
			prewarm(&hak_tiny_tls.bins[c], c);
}

/*
 * The caps changed (generation @gen): every caching bin takes its class's
 * cap, and one that holds more gives back its oldest blocks (the newest
 * stay: warm, and a second free of one of them is still caught). Rare: at
 * most once a learner tick per thread.
 */
static void refit(uint32_t gen)
{
	caps_seen = gen;
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		struct hak_bin *b = &hak_tiny_tls.bins[c];
		void **last = b->head;

		if (!b->cap)	/* not caching: full checks, or the thread is exiting */
			continue;
		b->cap = hak_atomic_load_relaxed(&class_cap[c]);
		if (b->count <= b->cap)
			continue;
		for (unsigned i = 1; i < b->cap; i++)	/* cap >= 2 */
			last = last[0];
		hak_ss_flush(c, last[0], b->count - b->cap);
		last[0] = NULL;
		b->count = b->cap;
	}
}

/* The bin of @cls, set up, its thread's bins at the caps the learner gives now. */
static struct hak_bin *slow_bin(unsigned cls)
{
	uint32_t gen;

	if (unlikely(!thread_ready))
		thread_setup();
	else if (unlikely((gen = hak_atomic_load_acquire(&caps_gen)) != caps_seen))
		refit(gen);
	if (++slow_calls % TICK_EVERY == 0)
		hak_tick(hak_sys_now_ms());
	return &hak_tiny_tls.bins[cls];
}

void *hak_tiny_alloc_slow(unsigned cls)
{
	struct hak_bin *b = slow_bin(cls);
	unsigned n = HAK_MIN(batch(b, cls), FIRST_REFILL << (refills[cls] ? refills[cls] - 1 : 0));

	hak_count(demand.misses[cls], 1);
	if (refills[cls] < 16)
		refills[cls]++;
	return hak_ss_bin_refill(b, cls, n);
}

/*
 * free() keeps errno: the tick and the flush may make system calls that fail.
 * The free that sets a thread's bins up sends its block home uncached (so
 * does glibc's free in a thread that has no cache yet): often a block
 * another thread made for this one, beside that thread's own, and handed
 * out again here it would keep both threads writing one cache line (Hoard's
 * passive false sharing, bench_cache_scratch).
 */
void hak_tiny_free_slow(void *p, unsigned cls)
{
	int saved = errno;
	bool first = !thread_ready;
	struct hak_bin *b = slow_bin(cls);

	if (b->cap && b->count >= b->cap)
		hak_count(demand.overflows[cls], 1);
	hak_ss_bin_free_slow(first ? &(struct hak_bin){ 0 } : b, p, cls);
	errno = saved;
}

void hak_tiny_set_classes(const unsigned cap[HAK_TINY_NCLASSES],
			  const unsigned batch[HAK_TINY_NCLASSES])
{
	bool changed = false;

	if (!bin_cap)
		return;
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		unsigned k = HAK_MIN(HAK_MAX(cap[c], 2u), bin_cap);

		changed |= k != hak_atomic_load_relaxed(&class_cap[c]);
		hak_atomic_store_relaxed(&class_cap[c], k);
		hak_atomic_store_relaxed(&class_batch[c], HAK_MIN(HAK_MAX(batch[c], 1u), k / 2 + 1));
	}
	if (changed)	/* release: a thread that sees the generation sees the caps */
		atomic_fetch_add_explicit(&caps_gen, 1, memory_order_release);
}

void hak_tiny_demand(uint64_t misses[HAK_TINY_NCLASSES], uint64_t overflows[HAK_TINY_NCLASSES])
{
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		misses[c] = hak_atomic_load_relaxed(&demand.misses[c]);
		overflows[c] = hak_atomic_load_relaxed(&demand.overflows[c]);
	}
}

unsigned hak_tiny_cap_default(void)
{
	return bin_cap;
}

static int tiny_init(const struct hak_options *opt)
{
	bin_cap = hak_ss_check_full() ? 0 : (unsigned)opt->v[HAK_OPT_TINY_CACHE];
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		class_cap[c] = bin_cap;
		class_batch[c] = bin_cap / 2 + 1;
	}
	return 0;
}

/*
 * Hand every cached block back (also malloc_trim). A later call sets the
 * bins up again, unless the thread is exiting: then they stay uncached.
 */
static void tiny_thread_exit(void)
{
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		hak_ss_bin_drain(&hak_tiny_tls.bins[c], c);
		refills[c] = 0;
	}
	thread_ready = false;
}

static void tiny_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%u classes up to %u B, %u blocks per class per thread",
		 HAK_TINY_NCLASSES, HAK_TINY_MAX, bin_cap);
}

const struct hak_box hak_box_tiny = {
	.name = "tiny",
	.layer = 3,
	.init = tiny_init,
	.thread_exit = tiny_thread_exit,
	.describe = tiny_describe,
};
