/*
 * tiny.c - the tiny tier's thread caches: set-up, slow paths, thread exit.
 */
#include "../sysmem/sysmem.h"
#include "tiny.h"

HAK_TLS struct hak_tiny_tls hak_tiny_tls;
static HAK_TLS bool thread_ready;
static HAK_TLS unsigned slow_calls;
static unsigned bin_cap;			/* HAKMEM_TINY_CACHE, 0 under full checks */
static _Atomic uint32_t cap_now;	/* the learner's, within bin_cap's bounds */

/* Every TICK_EVERY slow calls a thread looks at the clock for the learner. */
#define TICK_EVERY	16

BUILD_BUG_ON(HAK_TINY_NCLASSES > HAK_SMALL_NCLASSES);
BUILD_BUG_ON(sizeof(hak_class_by_size) != HAK_TINY_MAX + 1);	/* hak_tiny_class() */

/* PREWARM_TLS: fill an empty bin halfway before the thread's first miss on it. */
static void prewarm(struct hak_bin *b, unsigned cls)
{
	void *p;

	if (b->cap && !b->count && (p = hak_ss_bin_refill(b, cls, b->cap / 2 + 1)))
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
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++)
		hak_tiny_tls.bins[c].cap = hak_atomic_load_relaxed(&cap_now);
	thread_ready = true;
	hak_sys_thread_watch();
	if (PREWARM_TLS)
		for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++)
			prewarm(&hak_tiny_tls.bins[c], c);
}

/* The bin of @cls, set up, at the cap the learner gives the bins now. */
static struct hak_bin *slow_bin(unsigned cls)
{
	struct hak_bin *b = &hak_tiny_tls.bins[cls];

	if (unlikely(!thread_ready))
		thread_setup();
	else if (b->cap)
		b->cap = hak_atomic_load_relaxed(&cap_now);
	if (++slow_calls % TICK_EVERY == 0)
		hak_tick(hak_sys_now_ms());
	return b;
}

void *hak_tiny_alloc_slow(unsigned cls)
{
	struct hak_bin *b = slow_bin(cls);

	return hak_ss_bin_refill(b, cls, b->cap / 2 + 1);
}

void hak_tiny_free_slow(void *p, unsigned cls)
{
	hak_ss_bin_free_slow(slow_bin(cls), p, cls);
}

void hak_tiny_set_cap(unsigned cap)
{
	if (bin_cap)
		hak_atomic_store_relaxed(&cap_now, HAK_MAX(cap, 2u));
}

unsigned hak_tiny_cap_default(void)
{
	return bin_cap;
}

static int tiny_init(const struct hak_options *opt)
{
	bin_cap = hak_ss_check_full() ? 0 : (unsigned)opt->v[HAK_OPT_TINY_CACHE];
	cap_now = bin_cap;
	return 0;
}

/*
 * Hand every cached block back (also malloc_trim). A later call sets the
 * bins up again, unless the thread is exiting: then they stay uncached.
 */
static void tiny_thread_exit(void)
{
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++)
		hak_ss_bin_drain(&hak_tiny_tls.bins[c], c);
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
