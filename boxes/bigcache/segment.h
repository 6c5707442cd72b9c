/*
 * segment.h - private to the bigcache box: page runs cut out of segments
 * (segment.c). Runs of up to HAK_BC_RUN_MAX bytes in 4 MiB segments of
 * 4 KiB pages are the backing store of the medium tier; large blocks of up
 * to SEG_LARGE_MAX bytes are runs in 128 MiB segments of 128 KiB pages, so
 * that freed neighbours merge at once and a steady mix of sizes makes no
 * system call. Segments belong to shards, each with its own lock; none is
 * held on return.
 */
#ifndef HAK_BC_SEGMENT_H
#define HAK_BC_SEGMENT_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

/* At a segment's first byte, where a large mapping's header has its magic. */
#define SEG_MAGIC	0x5347455342494721ull	/* "!GIBSEGS" */

/*
 * seg_init() - @large_thp: large segments ask for transparent huge pages
 * (all but the granule of their header). False: the page size is not the
 * one segments are cut in.
 */
bool seg_init(bool large_thp);

/*
 * seg_set_limits() - free pages of medium (or @large) segments wait
 * @delay_ms idle before going back, and no more than @max_bytes of them
 * are kept (bigcache's init and the learner).
 */
void seg_set_limits(bool large, uint64_t delay_ms, size_t max_bytes);

/* seg_kept_bytes() - free pages kept committed for reuse. */
size_t seg_kept_bytes(void);

#define SEG_LARGE_MAX	((size_t)32 << 20)
#define SEG_LARGE_ALIGN	((size_t)128 << 10)	/* a large segment's page */

/*
 * seg_large_alloc() - a large block of @size (<= SEG_LARGE_MAX) bytes,
 * aligned to SEG_LARGE_ALIGN, from the large segments; @clean tells
 * whether it reads as zero. NULL: no segments (ENOMEM, or the page size is
 * not 4 KiB).
 */
void *seg_large_alloc(size_t size, bool *clean);

/*
 * seg_large_free() - free @p in segment @seg, its bytes into @bytes: NULL,
 * or why not ("double" or "invalid"; nothing changed).
 */
const char *seg_large_free(void *seg, void *p, size_t *bytes);

/*
 * seg_large_grow() - grow the live large block @p of @seg to @size bytes
 * in place over the free pages after it; returns the bytes it gained, 0
 * when it could not.
 */
size_t seg_large_grow(void *seg, void *p, size_t size);

/* seg_usable() - like hak_bc_usable() for @p in segment @seg. */
size_t seg_usable(void *seg, const void *p, const char **why);

/*
 * seg_decay() - in each shard whose lock is free, what idled for the delay
 * at @now goes back: at most 4 empty segments and 16 purged page ranges a
 * shard. Returns the bytes.
 */
size_t seg_decay(uint64_t now);

/* bc_decay_sometimes() - the large cache's expiry, at most twice per delay (bigcache.c). */
void bc_decay_sometimes(uint64_t now);

/* seg_trim() - return free pages and empty segments now; returns bytes. */
size_t seg_trim(void);

void seg_prefork(void);
void seg_postfork_parent(void);
void seg_postfork_child(void);
uint64_t seg_stats(struct hak_stats_sink *st);
int seg_self_check(void);

#endif /* HAK_BC_SEGMENT_H */
