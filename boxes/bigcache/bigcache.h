/*
 * bigcache.h - the large tier: requests above 52 KiB, and aligned requests
 * that no size class can serve. Layer 2.
 *
 * A block of up to 512 KiB (aligned to at most 4 KiB) is a run of 4 KiB
 * pages in a shared 2 MiB segment, so it costs no system call and its pages
 * serve any size once freed; a segment gives its free pages back once idle
 * for HAKMEM_BIGCACHE_DELAY_MS, and itself once empty.
 * Every bigger block lives in a mapping of whole 2 MiB granules from sysmem,
 * registered in the region map, with a 64 B header at its start; the user
 * pointer sits after it at the requested alignment. With HAKMEM_CHECK=full
 * the pages past the block's last one are inaccessible while it is live. Freed mappings are kept
 * for reuse (HAKMEM_BIGCACHE_MB, _ENTRIES): a request takes the best fit and
 * splits off the rest, a freed mapping merges with free neighbours, and what
 * has been idle for HAKMEM_BIGCACHE_DELAY_MS goes back to the OS at the next
 * cache operation or small-block refill (there is no background thread).
 * malloc_trim() empties it.
 * A request no cached mapping holds gathers cached ones instead: their pages
 * are moved (mremap, no copy, no fault) into one fresh mapping, so the memory
 * the cache kept becomes the block's. HAKMEM_LARGE_THP=1 asks for huge pages
 * on the granules a block fills.
 * realloc resizes with mremap where it can; otherwise the frontend copies.
 */
#ifndef HAK_BIGCACHE_H
#define HAK_BIGCACHE_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

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
 * the region map): 0 when @p is not a live block's pointer, with @why set to
 * "double" (freed already) or "invalid" (anything else).
 */
size_t hak_bc_usable(void *base, const void *p, const char **why);

/**
 * hak_bc_free() - free @p in the large region at @base, checked as
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

/**
 * hak_bc_decay() - give back what idled past HAKMEM_BIGCACHE_DELAY_MS now,
 * not only at the next large request: the other tiers' refills call it.
 * At most one clock read when nothing is due; never waits for a lock.
 */
void hak_bc_decay(void);

/** hak_bc_cached_bytes() - bytes of freed large blocks kept for reuse (mappings and segment pages). */
size_t hak_bc_cached_bytes(void);

/** hak_bc_trim() - return every cached mapping and free segment page to the OS; returns bytes freed. */
size_t hak_bc_trim(void);

extern const struct hak_box hak_box_bigcache;

#endif /* HAK_BIGCACHE_H */
