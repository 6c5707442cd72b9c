/*
 * tiny.h - the tiny tier: requests of 1 B - 1 KiB. Layer 3.
 *
 * Each thread keeps one bin (struct hak_bin) per tiny class; malloc pops and
 * free pushes with no atomic and no lock. Misses and overflows go to the
 * superslab in batches. The frontend calls the inline fast path below and,
 * when it declines, the slow path.
 *
 * A block freed by another thread lands in the freeing thread's bin; when
 * that bin flushes, the block goes onto its span's lock-free remote list
 * and the span's owner drains it in one batch (see superslab.c).
 */
#ifndef HAK_TINY_H
#define HAK_TINY_H

#include "../base/hak_bin.h"
#include "../base/hak_sizeclass.h"
#include "../superslab/superslab.h"

#define HAK_TINY_MAX		1024
#define HAK_TINY_NCLASSES	HAK_SS_NSERVED	/* size classes 0..31 */

/**
 * hak_tiny_alloc_slow() - the bin of class @cls is empty: refill it. Sets up
 * the thread's bins on its first call. Returns NULL on ENOMEM.
 */
void *hak_tiny_alloc_slow(unsigned cls);

/** hak_tiny_free_slow() - the free of @p (class @cls) the fast path declined. */
void hak_tiny_free_slow(void *p, unsigned cls);

/*
 * The learner's knobs, per class: each thread's bin cap (at most
 * HAKMEM_TINY_CACHE, at least 2) and refill batch (1 to cap/2+1; at first
 * cap/2+1). A thread takes the caps up at its next slow call of any class:
 * a bin that holds more than its new cap gives its oldest blocks back then.
 * No effect when the bins do not cache (HAKMEM_CHECK=full).
 * hak_tiny_cap_default() is HAKMEM_TINY_CACHE (0 when the bins do not cache).
 */
void hak_tiny_set_classes(const unsigned cap[HAK_TINY_NCLASSES],
			  const unsigned batch[HAK_TINY_NCLASSES]);
unsigned hak_tiny_cap_default(void);

/*
 * The learner's reading: each class's misses (mallocs its bins could not
 * serve) and overflows (frees into a full bin) since start-up, over every
 * thread. Counted on the slow paths only.
 */
void hak_tiny_demand(uint64_t misses[HAK_TINY_NCLASSES], uint64_t overflows[HAK_TINY_NCLASSES]);

/* ---------------------------------------------------------------- fast path */

struct hak_tiny_tls {
	struct hak_bin bins[HAK_TINY_NCLASSES];
};

extern HAK_HIDDEN HAK_TLS struct hak_tiny_tls hak_tiny_tls;

/* hak_tiny_class() - class of a request of @size <= HAK_TINY_MAX bytes. */
HAK_FAST_PATH unsigned hak_tiny_class(size_t size)
{
	return hak_class_by_size[size];
}

/* hak_tiny_pop() - a block for @size <= HAK_TINY_MAX bytes, or NULL on a miss. */
HAK_FAST_PATH void *hak_tiny_pop(size_t size)
{
	return hak_bin_pop(&hak_tiny_tls.bins[hak_tiny_class(size)]);
}

/* hak_tiny_free() - free @p of tiny class @cls (found by hak_rmap_class()). */
HAK_FAST_PATH void hak_tiny_free(void *p, unsigned cls)
{
	struct hak_bin *b = &hak_tiny_tls.bins[cls];

	if (likely(b->count < b->cap && !hak_bin_has_key(p))) {
		hak_bin_push(b, p);
		return;
	}
	hak_tiny_free_slow(p, cls);
}

extern const struct hak_box hak_box_tiny;

#endif /* HAK_TINY_H */
