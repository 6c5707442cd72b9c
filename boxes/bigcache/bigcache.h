/*
 * bigcache.h - the large tier: requests above 1 MiB, and aligned requests
 * that no size class can serve; and the page runs the medium tier is cut
 * from. Layer 2.
 *
 * Page runs (up to HAK_BC_RUN_MAX) are whole 4 KiB pages in 4 MiB segments,
 * sharded so that threads do not share a lock; the medium tier (medium.h)
 * takes and returns them in batches and reads a run's tag without a lock;
 * a run grows in place over free pages after it.
 * A segment gives its free pages back once idle for
 * HAKMEM_BIGCACHE_DELAY_MS, and itself once empty.
 * A large block of up to HAKMEM_LARGE_RUNS_MB (32 MiB) aligned to at most
 * 128 KiB is a run of 128 KiB pages in one of the 128 MiB segments all
 * threads share (one lock): a freed run's pages stay for the next request
 * that fits, free neighbours are one range at once, and a request takes
 * pages that hold memory first; so a steady mix of sizes makes no system
 * call. The segments keep free pages up to the cache's byte bound (counted
 * apart from cached mappings) and give them back after the same delay.
 * With HAKMEM_CHECK=full every large block gets a mapping.
 * Every other block lives in a mapping of whole 2 MiB granules from sysmem,
 * registered in the region map, with a 64 B header at its start; the user
 * pointer sits after it at the requested alignment. With HAKMEM_CHECK=full
 * the pages past the block's last one are inaccessible while it is live. Freed mappings are kept
 * for reuse (HAKMEM_BIGCACHE_MB, _ENTRIES): a request takes the best fit and
 * splits off the rest, a freed mapping merges with free neighbours, and what
 * has been idle for HAKMEM_BIGCACHE_DELAY_MS goes back to the OS at the next
 * cache operation, medium run refill or flush, or decay (the box's decay op,
 * which the registry runs at thread exit; there is no background thread).
 * Mappings of up to 8 MiB (so: with runs off) a thread frees wait first in four slots of its
 * thread group's (8 groups), taken and filled by atomic exchange: a thread
 * that frees and allocates large blocks of the same sizes takes no lock
 * (a slot serves, whole, a request of half its size or more).
 * They count against the same bounds, go back once idle as cached ones do,
 * and move into the cache (to merge or be gathered) when a request finds
 * no fit: the thread's own first, then every thread's. A freed mapping that
 * touches a cached one goes to the cache at once, to merge with it.
 * malloc_trim() empties both.
 * A request no cached mapping holds gathers cached ones instead: their pages
 * are moved (mremap, no copy, no fault) into one fresh mapping, so the memory
 * the cache kept becomes the block's. HAKMEM_LARGE_THP=1 asks for huge pages
 * on the granules a block fills, and on large segments past their first.
 * realloc grows a run in place over the free pages after it (else the
 * frontend copies), and a mapped block in place over the cached mapping
 * right after it, else moves its pages (mremap) into a fresh mapping whose rest is made of
 * cached pages, as a gathered block's is; otherwise the frontend copies. A
 * block cut to half or less gives its tail to the cache, where a block
 * that grows again finds it.
 */
#ifndef HAK_BIGCACHE_H
#define HAK_BIGCACHE_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"
#include "../base/hak_tick.h"

/**
 * hak_bc_alloc() - a large block of at least @size bytes aligned to @align
 * (a power of two >= 16); @zeroed tells whether it is known to read as zero.
 * @zero: the caller will clear it (calloc): a miss maps fresh zero pages
 * rather than gathering cached ones, which would all need clearing.
 * Returns NULL on ENOMEM or when @size + @align overflows.
 */
void *hak_bc_alloc(size_t size, size_t align, bool zero, bool *zeroed);

/**
 * hak_bc_usable() - usable bytes of @p in the large region at @base (from
 * the region map; a mapping or a segment): 0 when @p is not a live block's
 * pointer, with @why set to "double" (freed already) or "invalid" (anything
 * else).
 */
size_t hak_bc_usable(void *base, const void *p, const char **why);

/**
 * hak_bc_free() - free @p in the large mapping at @base, checked as
 * hak_bc_usable() does, in one step: NULL once freed, else why not
 * ("double" or "invalid"; nothing changed).
 */
const char *hak_bc_free(void *base, void *p);

/**
 * hak_bc_resize() - resize the validated block @p to hold @size bytes without
 * copying: in place or by moving its pages. Returns the block's new address,
 * or NULL (block kept where it is) when that is not possible.
 */
void *hak_bc_resize(void *base, void *p, size_t size);

/** hak_bc_cached_bytes() - bytes of freed large blocks kept for reuse (mappings and segment pages). */
size_t hak_bc_cached_bytes(void);

/** hak_bc_trim() - return every cached mapping and free segment page to the OS; returns bytes freed. */
size_t hak_bc_trim(void);

/* ------------------------------------------------------------ page runs */

#define HAK_BC_RUN_MAX	((size_t)1 << 20)	/* the largest run */
#define HAK_BC_RUN_ALIGN ((size_t)4096)		/* every run starts on a page */

/**
 * hak_bc_runs_alloc() - up to @n runs of @size bytes (<= HAK_BC_RUN_MAX)
 * into @out, from shard @shard (any number; the caller keeps to one per
 * thread), each tagged @tag (1..255) until it is freed. Takes the shard's
 * lock once. Returns how many (0: ENOMEM). Where the page size is not
 * 4 KiB it returns one block in a mapping of its own, which is freed with
 * hak_bc_free() like any large block.
 */
unsigned hak_bc_runs_alloc(size_t size, unsigned tag, unsigned shard, void **out, unsigned n);

/**
 * hak_bc_runs_free() - give back @n runs from hak_bc_runs_alloc(), whose
 * tags the caller has checked; each shard's lock is taken once. A run that
 * is not live (freed twice) is reported and aborts.
 */
void hak_bc_runs_free(void *const *runs, unsigned n);

/**
 * hak_bc_run_grow() - make the live run @p (from hak_bc_runs_alloc(), its
 * tag checked by the caller) @size bytes (<= HAK_BC_RUN_MAX, more than it
 * has) in place, tagged @tag from now on, if the pages after it are free.
 * Takes its shard's lock. False: nothing changed.
 */
bool hak_bc_run_grow(void *p, size_t size, unsigned tag);

/**
 * hak_bc_run_shard() - the shard the live run @p (from hak_bc_runs_alloc(),
 * its tag checked by the caller) was cut in: the @shard it was asked from,
 * modulo the segments' 8 shards. One load, no lock.
 */
unsigned hak_bc_run_shard(const void *p);

#define HAK_BC_SEG_SIZE	((size_t)4 << 20)	/* segments are aligned to their size */
#define HAK_BC_SEG_TAGS	64			/* where a segment's page tags start */

/**
 * hak_bc_run_tag() - the tag of the live run that starts at @p, a pointer
 * into a segment (its page's class reads HAK_RMAP_RUNS), 0 for any other
 * pointer in it. One load, no lock: the segment's header holds a tag byte
 * per page, and page 0 (the header) never starts a run.
 */
HAK_FAST_PATH unsigned hak_bc_run_tag(const void *p)
{
	uintptr_t a = (uintptr_t)p, seg = a & ~(HAK_BC_SEG_SIZE - 1);

	if (unlikely(a % HAK_BC_RUN_ALIGN))
		return 0;
	return __atomic_load_n((const uint8_t *)seg + HAK_BC_SEG_TAGS + (a - seg) / HAK_BC_RUN_ALIGN,
			       __ATOMIC_RELAXED);
}

/*
 * The learner's knobs and reading: the bytes of freed large blocks kept (at
 * most hak_bc_cache_bound(), HAKMEM_BIGCACHE_MB), how long they wait idle
 * before going back, and how long a segment's free pages do (both at first
 * HAKMEM_BIGCACHE_DELAY_MS); the bytes of large mappings handed out since
 * start-up, and of those still in use.
 */
void hak_bc_set_limits(size_t cache_bytes, uint64_t delay_ms, uint64_t runs_delay_ms);
size_t hak_bc_cache_bound(void);
void hak_bc_demand(struct hak_demand *d);

/*
 * hak_bc_in_use() - the large blocks handed out and not freed: how many,
 * and their bytes (whole runs or mappings) into @bytes (mallinfo2's hblks
 * and hblkhd).
 */
size_t hak_bc_in_use(size_t *bytes);

extern const struct hak_box hak_box_bigcache;

#endif /* HAK_BIGCACHE_H */
