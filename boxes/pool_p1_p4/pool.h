/*
 * pool.h - the pool tier: requests of 1 KiB - 52 KiB. Layer 3.
 *
 * P1: each thread keeps one bin per pool class; malloc pops and free pushes
 * with no atomic and no lock. P2: misses refill and overflows flush in
 * batches bounded by HAKMEM_POOL_CACHE_KB per class. P4: sysmem.
 *
 * Foundation state: the blocks come from superslab spans of up to 8 pages;
 * the P3 per-thread arena (1 -> 8 MiB chunks) comes with the pool tier issue.
 */
#ifndef HAK_POOL_H
#define HAK_POOL_H

#include "../base/hak_bin.h"
#include "../superslab/superslab.h"

#define HAK_POOL_FIRST_CLASS	32	/* superslab classes 32..76 */
#define HAK_POOL_NCLASSES	(HAK_SS_NCLASSES - HAK_POOL_FIRST_CLASS)
#define HAK_POOL_MAX		HAK_SS_MAX_SIZE

/** hak_pool_alloc_slow() - refill the empty bin of @cls; NULL on ENOMEM. */
void *hak_pool_alloc_slow(unsigned cls);

/** hak_pool_free_slow() - the free of @p (class @cls) the fast path declined. */
void hak_pool_free_slow(void *p, unsigned cls);

/* ---------------------------------------------------------------- fast path */

struct hak_pool_tls {
	struct hak_bin bins[HAK_POOL_NCLASSES];
};

extern HAK_HIDDEN HAK_TLS struct hak_pool_tls hak_pool_tls;

/* hak_pool_pop() - a block of pool class @cls, or NULL on a miss. */
HAK_FAST_PATH void *hak_pool_pop(unsigned cls)
{
	return hak_bin_pop(&hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS]);
}

/* hak_pool_free() - free @p of pool class @cls (found by hak_ss_class_of()). */
HAK_FAST_PATH void hak_pool_free(void *p, unsigned cls)
{
	struct hak_bin *b = &hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS];

	if (likely(b->count < b->cap && !hak_bin_has_key(p))) {
		hak_bin_push(b, p);
		return;
	}
	hak_pool_free_slow(p, cls);
}

extern const struct hak_box hak_box_pool;

#endif /* HAK_POOL_H */
