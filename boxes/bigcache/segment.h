/*
 * segment.h - private to the bigcache box: large blocks of up to
 * SEG_BLOCK_MAX bytes, cut page by page out of 2 MiB segments (segment.c).
 * Every call takes seg_lock; none holds it on return.
 */
#ifndef HAK_BC_SEGMENT_H
#define HAK_BC_SEGMENT_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

#define SEG_BLOCK_MAX	((size_t)512 << 10)
#define SEG_ALIGN_MAX	((size_t)4096)		/* blocks start on a page */
/* At a segment's first byte, where a large mapping's header has its magic. */
#define SEG_MAGIC	0x5347455342494721ull	/* "!GIBSEGS" */

/*
 * seg_init() - free pages wait @delay_ms idle before going back, and no
 * more than @max_bytes of them are kept; false: page size unsupported.
 */
bool seg_init(uint64_t delay_ms, size_t max_bytes);

/* seg_kept_bytes() - free pages kept committed for reuse. */
size_t seg_kept_bytes(void);

/* seg_alloc() - a page-aligned block of @size <= SEG_BLOCK_MAX bytes, NULL on ENOMEM. */
void *seg_alloc(size_t size, bool *zeroed);

/* seg_usable() - like hak_bc_usable() for @p in segment @seg. */
size_t seg_usable(void *seg, const void *p, const char **why);

/* seg_free() - free @p in @seg: NULL, or why not (not a live block). */
const char *seg_free(void *seg, void *p);

/* seg_resize() - @p holding @size bytes in place, or NULL. */
void *seg_resize(void *seg, void *p, size_t size);

/* seg_decay() - seg_free()'s work on idle segments, unless seg_lock is busy. */
void seg_decay(void);

/* seg_trim() - return free pages and empty segments now; returns bytes. */
size_t seg_trim(void);

void seg_prefork(void);
void seg_postfork_parent(void);
void seg_postfork_child(void);
uint64_t seg_stats(struct hak_stats_sink *st);
int seg_self_check(void);

#endif /* HAK_BC_SEGMENT_H */
