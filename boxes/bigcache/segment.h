/*
 * segment.h - private to the bigcache box: page runs of up to
 * HAK_BC_RUN_MAX bytes cut out of 4 MiB segments (segment.c), the backing
 * store of the medium tier. Segments belong to one of SEG_SHARDS shards,
 * each with its own lock; none is held on return.
 */
#ifndef HAK_BC_SEGMENT_H
#define HAK_BC_SEGMENT_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

/* At a segment's first byte, where a large mapping's header has its magic. */
#define SEG_MAGIC	0x5347455342494721ull	/* "!GIBSEGS" */

/* seg_init() - false: the page size is not the one segments are cut in. */
bool seg_init(void);

/*
 * seg_set_limits() - free pages wait @delay_ms idle before going back, and
 * no more than @max_bytes of them are kept (bigcache's init and the
 * learner).
 */
void seg_set_limits(uint64_t delay_ms, size_t max_bytes);

/* seg_kept_bytes() - free pages kept committed for reuse. */
size_t seg_kept_bytes(void);

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
