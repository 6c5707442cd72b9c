/*
 * superslab.h - 2 MiB regions cut into spans of 64 KiB pages, each span
 * serving one size class. Layer 2: the backend of tiny and pool.
 *
 * Superslabs serve the first HAK_SS_NSERVED size classes (the tiny ones,
 * boxes/base/hak_sizeclass.h); the pool tier has its own arenas. A superslab's first page holds its metadata;
 * blocks carry no header. The tiny thread caches move blocks in batches with
 * hak_ss_refill() / hak_ss_flush() and the hak_ss_bin_*() helpers. Each
 * thread owns one active span per class and refills from it with no lock;
 * blocks of another thread's span go onto that span's lock-free remote list,
 * which its owner drains in batches; spans nobody owns are under the lock
 * of their superslab's shard. Threads take the shards (2..8,
 * by CPU count) round robin; a thread's refills take its own shard's locks,
 * so threads of different shards share none.
 *
 * With HAKMEM_CHECK=full the box also keeps one "live" bit per 16 B, fills
 * freed blocks with a canary and checks it when they are handed out again.
 */
#ifndef HAK_SUPERSLAB_H
#define HAK_SUPERSLAB_H

#include "../base/hak_base.h"
#include "../base/hak_bin.h"
#include "../base/hak_box.h"
#include "../base/hak_sizeclass.h"
#include "../base/hak_tick.h"
#include "../regionmap/regionmap.h"

#define HAK_SS_SIZE		HAK_RMAP_GRANULE
#define HAK_SS_PAGE_SHIFT	16
#define HAK_SS_PAGES		(HAK_SS_SIZE >> HAK_SS_PAGE_SHIFT)
#define HAK_SS_NSERVED		32		/* classes superslabs serve: 16 B .. 1 KiB */

/**
 * hak_ss_refill() - take @want blocks of class @cls for a thread cache
 * @most: at least @want; whole runs of blocks other threads freed may make
 *        it up to this many, which costs less than cutting a run
 * @head: receives the blocks, chained through their first word
 *
 * Returns how many blocks were taken: fewer than @want when the thread's
 * span was being cut and the cut reached the end of a page (a refill faults
 * in one new page at most) or when memory ran out (0 then means ENOMEM).
 * Takes the lock of the thread's shard.
 */
unsigned hak_ss_refill(unsigned cls, unsigned want, unsigned most, void **head);

/**
 * hak_ss_flush() - give the first @n blocks of class @cls, chained through
 * their first word from @head, back to their spans: the caller's own span
 * directly, another thread's span through its remote list, an unowned span
 * under the lock of its superslab's shard. Empty unowned spans return to
 * their superslab. Returns the block the chain goes on to after them.
 */
void *hak_ss_flush(unsigned cls, void *head, unsigned n);

/*
 * The tiny thread caches keep a struct hak_bin per class and call these
 * from their slow paths, so the refill/flush policy exists once.
 */

/**
 * hak_ss_bin_refill() - @b is empty: take @batch (>= 1) blocks of class
 * @cls, one when HAKMEM_TINY_P0_ENABLE=0; return one for the caller and put
 * the rest on @b. NULL when memory ran out.
 */
void *hak_ss_bin_refill(struct hak_bin *b, unsigned cls, unsigned batch);

/**
 * hak_ss_bin_free_slow() - the free of @p (class @cls) that the fast path
 * declined: a suspected double free is confirmed (reported, abort), with
 * HAKMEM_CHECK=full @p is validated and retired, and a full @b is flushed
 * down to half its cap.
 */
void hak_ss_bin_free_slow(struct hak_bin *b, void *p, unsigned cls);

/**
 * hak_ss_bin_drain() - give every block on @b (class @cls) back and stop
 * caching on it: the cap stays 0 until the bin's owner sets it again.
 */
void hak_ss_bin_drain(struct hak_bin *b, unsigned cls);

/** hak_ss_check_full() - true when HAKMEM_CHECK=full: thread caches must stay at cap 0. */
bool hak_ss_check_full(void);

/*
 * The learner's knob and reading: the idle delay of empty superslabs and
 * of free pages in superslabs in use (at first HAKMEM_SS_DELAY_MS); the
 * bytes of blocks that left the spans (for bins or programs) since
 * start-up, and of those the bytes not back.
 */
void hak_ss_set_delay(uint64_t ms);
void hak_ss_demand(struct hak_demand *d);

#ifdef HAKMEM_TEST
/*
 * Test builds: called (when set) right after a flush pushed blocks onto
 * the remote list of another thread's span, with no lock held: where the
 * pusher may be preempted while the owner exits and the span goes away.
 */
extern void (*hak_ss_pushed_hook)(void);

/*
 * Test builds: how many shards there are, the calling thread's (taken at
 * its first refill or flush if it has none yet), and the shard of the
 * superslab holding block @p.
 */
unsigned hak_ss_nshards(void);
unsigned hak_ss_thread_shard(void);
unsigned hak_ss_shard_of(const void *p);
#endif

extern const struct hak_box hak_box_superslab;

#endif /* HAK_SUPERSLAB_H */
