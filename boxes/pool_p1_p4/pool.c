/*
 * pool.c - the pool tier's thread caches (P1) and their batch policy (P2).
 */
#include "../sysmem/sysmem.h"
#include "pool.h"

HAK_TLS struct hak_pool_tls hak_pool_tls;
static HAK_TLS bool thread_ready;
static unsigned caps[HAK_POOL_NCLASSES];

static struct hak_bin *bin_of(unsigned cls)
{
	return &hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS];
}

/* Caps stay 0 once the thread's exit hook ran: nothing may be cached then. */
static void thread_setup(void)
{
	if (hak_sys_thread_exiting())
		return;
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++)
		hak_pool_tls.bins[i].cap = caps[i];
	thread_ready = true;
	hak_sys_thread_watch();
}

void *hak_pool_alloc_slow(unsigned cls)
{
	if (unlikely(!thread_ready))
		thread_setup();
	return hak_ss_bin_refill(bin_of(cls), cls);
}

void hak_pool_free_slow(void *p, unsigned cls)
{
	if (unlikely(!thread_ready))
		thread_setup();
	hak_ss_bin_free_slow(bin_of(cls), p, cls);
}

/* Cap each class by bytes, so a thread holds about the same memory per class. */
static int pool_init(const struct hak_options *opt)
{
	size_t budget = (size_t)opt->v[HAK_OPT_POOL_CACHE_KB] << 10;

	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		size_t bytes = hak_ss_class_bytes[HAK_POOL_FIRST_CLASS + i];

		caps[i] = hak_ss_check_full() ? 0 : (unsigned)HAK_MAX(budget / bytes, 2);
	}
	return 0;
}

/* As tiny_thread_exit(). */
static void pool_thread_exit(void)
{
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++)
		hak_ss_bin_drain(&hak_pool_tls.bins[i], HAK_POOL_FIRST_CLASS + i);
	thread_ready = false;
}

static void pool_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%u classes %u..%u B, %u..%u blocks per class per thread",
		 HAK_POOL_NCLASSES, hak_ss_class_bytes[HAK_POOL_FIRST_CLASS],
		 HAK_POOL_MAX, caps[HAK_POOL_NCLASSES - 1], caps[0]);
}

const struct hak_box hak_box_pool = {
	.name = "pool_p1_p4",
	.layer = 3,
	.init = pool_init,
	.thread_exit = pool_thread_exit,
	.describe = pool_describe,
};
