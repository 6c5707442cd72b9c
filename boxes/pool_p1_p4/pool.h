/*
 * pool.h - the pool tier: requests of 1 KiB - 52 KiB. Layer 3.
 *
 * P1: each thread keeps one bin per pool class, an array of free blocks;
 * malloc pops and free pushes with no atomic, no lock and no touch of the
 * block itself. P2: a miss refills half a bin; an overflow grows the bin,
 * within a budget shared by all threads (HAKMEM_POOL_CACHE_KB), or else
 * flushes half. P3: the blocks come from
 * the thread's own arena: chunks of HAKMEM_POOL_TLS_ARENA_MB_INIT MiB, each
 * new one twice the last for HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS steps up to
 * _MB_MAX, cut into spans of one class that track their free blocks in a
 * bitmap. Blocks freed by another thread are set in their span's remote
 * bitmap with one atomic OR; the owner collects them. An exiting thread's
 * arena is orphaned and adopted whole by the next thread that needs one.
 * The process's oldest chunks hold a share of HAKMEM_POOL_THP_MB for
 * transparent huge pages, asked for a 2 MiB granule at a time once the
 * arena's spans cover 8 MiB and the granule is nearly all spans.
 * P4: sysmem maps the chunks. See docs/POOL.md.
 */
#ifndef HAK_POOL_H
#define HAK_POOL_H

#include "../base/hak_box.h"
#include "../base/hak_sizeclass.h"
#include "../base/hak_tick.h"

#define HAK_POOL_FIRST_CLASS	32	/* the size classes 32..76 */
#define HAK_POOL_NCLASSES	(HAK_SMALL_NCLASSES - HAK_POOL_FIRST_CLASS)
#define HAK_POOL_MAX		HAK_SMALL_MAX
#define HAK_POOL_PAGE_SHIFT	16	/* spans are made of 64 KiB pages */
#define HAK_POOL_MAX_PAGES	512	/* per chunk: at most 32 MiB */

/** hak_pool_alloc_slow() - refill the empty bin of @cls; NULL on ENOMEM. */
void *hak_pool_alloc_slow(unsigned cls);

/** hak_pool_free_slow() - the free of @p (class @cls) the fast path declined. */
void hak_pool_free_slow(void *p, unsigned cls);

/*
 * The learner's knobs and reading: the room all threads' bins may claim
 * beyond their first caps (at first HAKMEM_POOL_CACHE_KB) and the delay
 * after which idle spans, empty chunks and unused bin growth go back (at
 * first HAKMEM_SS_DELAY_MS); the bytes of blocks that left the arenas since
 * start-up, and of those the bytes not back less the room bins claimed.
 */
void hak_pool_set_limits(size_t cache_bytes, uint64_t delay_ms);
void hak_pool_demand(struct hak_demand *d);

/* ---------------------------------------------------------------- fast path */

/**
 * struct hak_pool_bin - one class's free blocks in one thread
 * @slot:  the blocks, newest last; slot[-1] is always readable
 * @count: blocks in @slot
 * @cap:   most blocks @slot may hold; 0 sends every free to the slow path
 */
struct hak_pool_bin {
	void **slot;
	uint32_t count;
	uint32_t cap;
};

struct hak_pool_tls {
	struct hak_pool_bin bins[HAK_POOL_NCLASSES];
};

extern HAK_HIDDEN HAK_TLS struct hak_pool_tls hak_pool_tls;

/* hak_pool_pop() - a block of pool class @cls, or NULL on a miss. */
HAK_FAST_PATH void *hak_pool_pop(unsigned cls)
{
	struct hak_pool_bin *b = &hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS];

	if (likely(b->count))
		return b->slot[--b->count];
	return NULL;
}

/*
 * hak_pool_free() - free @p of pool class @cls (from hak_rmap_class()).
 * The same block freed twice in a row is sent to the slow path to report.
 */
HAK_FAST_PATH void hak_pool_free(void *p, unsigned cls)
{
	struct hak_pool_bin *b = &hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS];

	if (likely(b->count < b->cap && b->slot[(int)b->count - 1] != p)) {
		b->slot[b->count++] = p;
		return;
	}
	hak_pool_free_slow(p, cls);
}

extern const struct hak_box hak_box_pool;

#endif /* HAK_POOL_H */
