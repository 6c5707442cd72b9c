/*
 * medium.h - the medium tier: requests above the pool's 52 KiB up to
 * 1 MiB (and smaller ones aligned to up to 4 KiB that no pool class
 * serves). Layer 3.
 *
 * Its size classes are the shared table's classes of whole 4 KiB pages, 8
 * per doubling (waste < 1/8), from HAK_MEDIUM_FIRST_CLASS on
 * (boxes/base/hak_sizeclass.h); a block's usable size is its class's size.
 * Each thread keeps one bin (struct hak_bin) per class, bounded in bytes for
 * the whole thread (HAKMEM_MEDIUM_CACHE_KB): malloc pops and free pushes
 * with no lock and no atomic read-modify-write. A miss takes a batch from
 * the central list of its class in the thread's shard (one of 8), or else
 * cuts one from bigcache's sharded segments; an overflow puts a batch into
 * the central list (what does not fit goes back to the segments): one lock
 * per batch.
 * A block freed by another thread goes into the freeing thread's bin. Free
 * finds the class in the run's tag byte in its segment (hak_bc_run_tag()):
 * one load, no lock. Bins unused for HAKMEM_SS_DELAY_MS
 * are emptied from the thread's own slow paths, and so are idle central
 * lists of its shard; thread exit empties the bins, malloc_trim() the
 * caller's bins and every central list. HAKMEM_CHECK=full caches nothing, so every
 * free reaches the segment's checks. realloc to a bigger class grows a block
 * in place when the pages after it in its segment are free (and the bin of
 * that class has no block to move to).
 */
#ifndef HAK_MEDIUM_H
#define HAK_MEDIUM_H

#include "../base/hak_bin.h"
#include "../base/hak_sizeclass.h"
#include "../base/hak_tick.h"
#include "../bigcache/bigcache.h"

#define HAK_MEDIUM_MAX		HAK_BC_RUN_MAX		/* 1 MiB */
#define HAK_MEDIUM_ALIGN	HAK_BC_RUN_ALIGN	/* every block starts on a page */
#define HAK_MEDIUM_FIRST_CLASS	HAK_SMALL_NCLASSES	/* size classes 77..111 */
#define HAK_MEDIUM_NCLASSES	(HAK_NCLASSES - HAK_MEDIUM_FIRST_CLASS)	/* 56 KiB .. 1 MiB */

/**
 * hak_medium_alloc_slow() - the bin of size class @cls is empty: refill it (sets
 * up the thread's bins on its first call). Returns NULL on ENOMEM.
 */
void *hak_medium_alloc_slow(unsigned cls);

/**
 * hak_medium_free_slow() - the free of @p, a pointer into a segment, that
 * the fast path declined; @i is its run's tag - 1. A pointer that is not a
 * live medium block is reported (fatal).
 */
void hak_medium_free_slow(void *p, unsigned i);

/**
 * hak_medium_usable() - the usable size of @p, a pointer into a segment, or
 * 0 with @why set ("double" or "invalid") when it is not a live block.
 */
size_t hak_medium_usable(const void *p, const char **why);

/**
 * hak_medium_grow() - realloc: make the live block @p, a pointer into a
 * segment, hold @size (<= HAK_MEDIUM_MAX) bytes in place, of the class that
 * holds them, when the pages after it are free and the thread's bin of that
 * class is empty: no copy, and only the pages added are new. False:
 * nothing changed (a smaller or equal class, the pages are taken, or the
 * bin has a block, already faulted in, to move to).
 */
bool hak_medium_grow(void *p, size_t size);

/* ---------------------------------------------------------------- fast path */

/**
 * struct hak_medium_tls - one thread's cache
 * @room: bytes the bins may still take before a free flushes
 * @bins: one per class, from HAK_MEDIUM_FIRST_CLASS
 */
struct hak_medium_tls {
	size_t room;
	struct hak_bin bins[HAK_MEDIUM_NCLASSES];
};

extern HAK_HIDDEN HAK_TLS struct hak_medium_tls hak_medium_tls;

/* hak_medium_class() - the smallest medium class that holds @size (1..HAK_MEDIUM_MAX) bytes. */
HAK_FAST_PATH unsigned hak_medium_class(size_t size)
{
	return hak_class_by_page[(size - 1) >> HAK_CLASS_PAGE_SHIFT];
}

/* hak_medium_pop() - a block of medium class @cls, or NULL on a miss. */
HAK_FAST_PATH void *hak_medium_pop(unsigned cls)
{
	void *p = hak_bin_pop(&hak_medium_tls.bins[cls - HAK_MEDIUM_FIRST_CLASS]);

	if (likely(p))
		hak_medium_tls.room += hak_class_bytes[cls];
	return p;
}

/*
 * hak_medium_free() - free @p, a pointer into a segment (its page's class
 * reads HAK_RMAP_RUNS). The run's tag is the tier's class + 1.
 */
HAK_FAST_PATH void hak_medium_free(void *p)
{
	unsigned i = hak_bc_run_tag(p) - 1;
	struct hak_bin *b;
	size_t size;

	if (likely(i < HAK_MEDIUM_NCLASSES)) {
		b = &hak_medium_tls.bins[i];
		size = hak_class_bytes[HAK_MEDIUM_FIRST_CLASS + i];
		if (likely(b->count < b->cap && hak_medium_tls.room >= size && !hak_bin_has_key(p))) {
			hak_bin_push(b, p);
			hak_medium_tls.room -= size;
			return;
		}
	}
	hak_medium_free_slow(p, i);
}

/*
 * The learner's knobs and reading: each thread's cache bound (at most
 * HAKMEM_MEDIUM_CACHE_KB; a thread meets a lower one at its next slow path
 * by emptying bins) and the idle delay of bins and central lists (at first
 * HAKMEM_SS_DELAY_MS; with 0 the central lists keep nothing); the bytes of
 * blocks that left the tier's central lists and segments (for bins or
 * programs) since start-up, live less what the bins hold (as of each
 * thread's last slow path).
 */
void hak_medium_set_limits(size_t cache_bytes, uint64_t delay_ms);
void hak_medium_demand(struct hak_demand *d);

extern const struct hak_box hak_box_medium;

#endif /* HAK_MEDIUM_H */
