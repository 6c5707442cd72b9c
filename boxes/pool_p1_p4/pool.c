/*
 * pool.c - the pool tier: thread bins (P1), their batch policy (P2) and the
 * per-thread arenas the blocks come from (P3).
 *
 * An arena is owned by one thread at a time. Its chunks, spans, partial
 * lists and the spans' "free" bitmaps are the owner's alone: no lock. Any
 * other thread frees a block by setting its bit in the span's "remote"
 * bitmap; the thread that turns that bitmap non-zero pushes the span onto
 * the arena's notify stack, and the owner collects the stack in one
 * exchange at its next refill. A span is on the stack exactly while its
 * remote bitmap is non-zero, and only the collector clears it, so a span is
 * never released while a remote free is in flight.
 *
 * A thread that exits (or calls malloc_trim) flushes its bins and orphans
 * its arena: under orphan_lock it is marked orphan, collected, what is idle
 * in it is given back but one recently emptied chunk (orphan_take()) and
 * it goes on the orphan list, from which the next thread needing an arena
 * adopts it whole. While an arena is
 * an orphan, everything is done under orphan_lock: the remote free that
 * queues a span and then sees the orphan mark collects it itself, so remote
 * frees into a dead thread's arena are reclaimed even if no thread ever
 * adopts it (store and load both seq_cst).
 *
 * Free pages of chunks in use are purged (the addresses kept) by the owner
 * once idle for HAKMEM_SS_DELAY_MS, and while the learner lowers the budget
 * (a heap that shrank) so are the pages inside free blocks of spans in use
 * (a span's "purged" bits, a subset of its free ones): arena_purge().
 *
 * Huge pages: a new chunk claims what is left of the process's share
 * (HAKMEM_POOL_THP_MB, whole granules from its start) but starts on 4 KiB
 * pages, so a small heap never pays a whole granule. Once the arena's spans
 * cover HUGE_HEAP, each granule of a share with nearly all its pages in
 * spans is asked for huge pages and collapsed onto one (MADV_COLLAPSE), by
 * the owner at the end of a refill, one granule at a time: granule_huge().
 * Spans there are "huge": first on their partial lists, never purged
 * unless the budget is lowered; then a granule where pages go back leaves
 * huge pages for good (granule_small()), or khugepaged would fill it again.
 *
 * Lock: orphan_lock, the orphan list and everything inside an orphan arena.
 * No system call under it: empty chunks leave their arena under it and are
 * unmapped after (decay_take(), chunks_free()); a thread that allocates
 * from an orphan (its exit hook ran) takes it off the list first, as an
 * adopter does, and puts it back after.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "../base/hak_bitmap.h"
#include "../base/hak_lock.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "pool.h"

#define PAGE		((size_t)1 << HAK_POOL_PAGE_SHIFT)
#define CHUNK_MAGIC	0x48414b50u	/* "HAKP" */
#define CANARY		0xdb
#define MIB		((size_t)1 << 20)
#define BIN_STEP	((size_t)64 << 10)	/* a bin's first cap and growth step */
#define BIN_MAX		(2 * MIB)		/* a bin's most */
#define CLAIM_STEP	((size_t)256 << 10)	/* room a thread claims at a time */
#define IDLE_BYTES	MIB			/* idle spans kept per class */
#define FIRST_REFILL	4u			/* blocks a thread's first refill of a class takes */
#define POOL_DECAY_MAX	4			/* most chunks unmapped per decay */
#define PURGE_MAX	16			/* most page runs purged per decay */
#define GRANULE		HAK_RMAP_GRANULE	/* the size of a transparent huge page */
#define GRANULE_PAGES	((unsigned)(GRANULE / PAGE))
/*
 * Huge pages (docs/POOL.md): only once an arena's spans cover HUGE_HEAP
 * (what the TLB covers with 4 KiB pages: 1536-2048 entries, 6-8 MiB), for
 * granules of its share with DENSE_PAGES carved (all but 4: spans of up to
 * 4 pages may leave 3 at a granule's end).
 */
#define HUGE_HEAP_PAGES	((unsigned)(8 * MIB / PAGE))
#define DENSE_PAGES	(GRANULE_PAGES - 4)

struct span {
	char *start;
	uint64_t free;			/* bit i: block i is free (the owner's) */
	_Atomic uint64_t remote;	/* blocks other threads freed, not collected */
	uint64_t all;			/* the bits of every block */
	uint64_t handed;		/* HAKMEM_CHECK=full: blocks ever handed out */
	uint64_t purged;		/* free blocks whose whole pages went back */
	uint64_t idle_ms;		/* when its last block came back */
	struct span *next, *prev;	/* the arena's partial list of the class */
	struct span *rnext;		/* the arena's notify stack */
	uint32_t bsize;
	uint32_t inv;			/* 2^32 / bsize, rounded up */
	uint8_t cls, npages, partial;
	uint8_t huge;			/* on transparent huge pages */
};

struct arena;

struct chunk {
	uint32_t magic;
	uint32_t npages;		/* page 0 is this header */
	uint32_t nspans;
	size_t size;			/* bytes in use; the rest of the last granule is guarded */
	size_t share;			/* bytes of the huge-page share it holds, from the start */
	uint16_t want;			/* granules of the share not yet asked for huge pages */
	uint16_t huge;			/* granules asked for transparent huge pages */
	struct arena *arena;
	struct chunk *next;
	uint64_t emptied_ms;		/* since when nothing in it was used */
	uint64_t freed_ms;		/* since when its dirty pages are free */
	uint64_t aged_ms;		/* its last aging pass (arena_purge()) */
	uint64_t free_pages[HAK_POOL_MAX_PAGES / 64];
	uint64_t dirty[HAK_POOL_MAX_PAGES / 64];	/* free pages that may hold memory */
	uint64_t aged[HAK_POOL_MAX_PAGES / 64];	/* dirty at the last aging pass, not carved since */
	uint16_t span_of_page[HAK_POOL_MAX_PAGES];
	struct span spans[HAK_POOL_MAX_PAGES];	/* by first page */
};

BUILD_BUG_ON(sizeof(struct chunk) > PAGE);
BUILD_BUG_ON(HAK_POOL_MAX_PAGES * PAGE / GRANULE > 16);	/* a granule a bit of want, huge */
BUILD_BUG_ON(HAK_POOL_PAGE_SHIFT != HAK_RMAP_PAGE_SHIFT);	/* one class byte per page */

struct arena {
	struct span *partial[HAK_POOL_NCLASSES];
	uint16_t nidle[HAK_POOL_NCLASSES];	/* spans on the list with no block out */
	struct chunk *chunks;
	_Atomic(struct span *) notify;	/* spans with remote frees */
	_Atomic bool orphan;
	unsigned level;			/* growth steps taken */
	uint64_t decay_ms;		/* the owner's last arena_decay() */
	unsigned nempty;		/* chunks without spans */
	bool dense;			/* a granule of a share found dense: take() asks */
	unsigned carved;		/* pages in spans */
	struct arena *next_orphan;	/* orphan_lock */
	void *slots[];			/* the owner's bins, each after a NULL */
};

struct class_state {
	uint8_t npages;
	hak_counter_t refills, blocks_out, flushes, blocks_in, remote_frees;
	hak_counter_t spans_new, spans_freed;
};

HAK_TLS struct hak_pool_tls hak_pool_tls;
static HAK_TLS struct arena *my_arena;

static struct class_state classes[HAK_POOL_NCLASSES];
/*
 * Bin caps, in blocks: where each starts (also the step it grows by) and
 * its most. A thread's caps may add up to its first caps plus the room it
 * claimed from the process's budget (HAKMEM_POOL_CACHE_KB).
 */
static unsigned init_caps[HAK_POOL_NCLASSES], max_caps[HAK_POOL_NCLASSES];
static unsigned slot_off[HAK_POOL_NCLASSES];
static size_t init_bytes, budget;	/* budget: HAKMEM_POOL_CACHE_KB */
static _Atomic size_t learned_budget;	/* the learner's (it bounds it) */
static _Atomic size_t claimed;		/* room claimed by all threads */
static HAK_TLS size_t bin_bytes;	/* this thread's caps in bytes */
static HAK_TLS size_t my_claim;		/* room this thread claimed */
static HAK_TLS unsigned steal_next;	/* the class bin_grow() takes room from next */
static HAK_TLS uint64_t refilled;	/* bit i: this thread refilled class i */
static HAK_TLS uint64_t active;		/* bit i: class i refilled or grew lately */
static HAK_TLS uint64_t grown;		/* bit i: bin i's cap is above its first cap */
static HAK_TLS uint64_t bin_decay_ms;	/* the last bins_decay() */

BUILD_BUG_ON(HAK_POOL_NCLASSES > 64);
static size_t arena_bytes, chunk_init, chunk_max;
static size_t thp_bytes;	/* HAKMEM_POOL_THP_MB */
static _Atomic size_t huge_claimed;	/* of it, by all arenas' chunks */
static unsigned growth_levels;
static _Atomic uint64_t empty_delay_ms;	/* the learner may change it */
static bool check_full;
static unsigned idle_limit[HAK_POOL_NCLASSES];
static pthread_mutex_t orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static HAK_TLS bool orphan_lock_held;		/* by this thread */
static struct arena *orphans;			/* orphan_lock */
static hak_counter_t chunks_mapped, chunks_unmapped, chunk_bytes, arenas_new, purged_pages;
static hak_counter_t purged_block_bytes;
static hak_counter_t adoptions, reclaims;

static void orphan_lock_take(void)
{
	hak_lock(&orphan_lock);
	orphan_lock_held = true;
}

static void orphan_lock_drop(void)
{
	orphan_lock_held = false;
	hak_unlock(&orphan_lock);
}

/* hak_fatal() wants no lock held; bad input may be found under orphan_lock. */
#define pool_fatal(...)							\
	do {								\
		if (orphan_lock_held)					\
			orphan_lock_drop();				\
		hak_fatal(__VA_ARGS__);					\
	} while (0)

static struct class_state *class_of(unsigned cls)
{
	return &classes[cls - HAK_POOL_FIRST_CLASS];
}

/* Block size of pool class index @i (class HAK_POOL_FIRST_CLASS + @i). */
static size_t class_bytes(unsigned i)
{
	return hak_class_bytes[HAK_POOL_FIRST_CLASS + i];
}

static struct hak_pool_bin *bin_of(unsigned cls)
{
	return &hak_pool_tls.bins[cls - HAK_POOL_FIRST_CLASS];
}

/* ------------------------------------------------------------------ chunks */

static bool page_free(const struct chunk *ch, unsigned i)
{
	return hak_bit(ch->free_pages, i);
}

/* First page of @n free pages in a row, or -1. */
static int find_run(const struct chunk *ch, unsigned n)
{
	return hak_bits_find_run(ch->free_pages, 1, ch->npages, n);
}

static size_t chunk_mapping(size_t size)
{
	return HAK_ALIGN_UP(size, HAK_RMAP_GRANULE);
}

/*
 * Chunks are in the order they were made: spans go to the oldest chunk with
 * room, the first to have claimed huge pages (the arena's 1 MiB first chunk
 * aside), so the newest chunks tend to empty first.
 */
static void chunk_append(struct arena *a, struct chunk *ch)
{
	struct chunk **pp = &a->chunks;

	while (*pp)
		pp = &(*pp)->next;
	ch->next = NULL;
	*pp = ch;
}

/* Up to @size bytes (whole granules) of what is left of the huge-page share. */
static size_t huge_claim(size_t size)
{
	size_t cur = hak_atomic_load_relaxed(&huge_claimed), take;

	do {
		take = HAK_MIN(size, thp_bytes - HAK_MIN(cur, thp_bytes)) & ~(HAK_RMAP_GRANULE - 1);
		if (!take)
			return 0;
	} while (!atomic_compare_exchange_weak(&huge_claimed, &cur, cur + take));
	return take;
}

/* A new chunk of the arena's next size (at least @pages + the header). */
static struct chunk *chunk_new(struct arena *a, unsigned pages)
{
	size_t size = HAK_MIN(chunk_init << a->level, chunk_max), map;
	struct chunk *ch;
	void *p;

	size = HAK_MAX(size, (pages + 1) * PAGE);
	map = chunk_mapping(size);
	hak_assert(map <= HAK_POOL_MAX_PAGES * PAGE);
	if (hak_sys_map(map, HAK_RMAP_GRANULE, &p))
		return NULL;
	/* The region map names whole granules: keep the tail ours, but empty. */
	if (map > size && hak_sys_guard((char *)p + size, map - size)) {
		hak_sys_unmap(p, map);
		return NULL;
	}
	ch = p;
	ch->share = huge_claim(size);	/* asked for granule by granule: densify() */
	ch->want = (uint16_t)((1u << (ch->share / GRANULE)) - 1);
	ch->magic = CHUNK_MAGIC;
	ch->npages = (uint32_t)(size / PAGE);
	ch->size = size;
	ch->arena = a;
	hak_bits_assign(ch->free_pages, 1, ch->npages - 1, true);	/* page 0: this header */
	if (hak_rmap_register(ch, map, HAK_RMAP_POOL)) {
		hak_atomic_sub_relaxed(&huge_claimed, ch->share);
		hak_sys_unguard((char *)p + size, map - size);
		hak_sys_unmap(p, size);
		return NULL;
	}
	chunk_append(a, ch);
	if (a->level < growth_levels)
		a->level++;
	hak_count(chunks_mapped, 1);
	hak_count(chunk_bytes, size);
	return ch;
}

static void chunk_free(struct chunk *ch)
{
	size_t size = ch->size, map = chunk_mapping(size);

	hak_atomic_sub_relaxed(&huge_claimed, ch->share);
	hak_rmap_unregister(ch, map);
	if (map > size)
		hak_sys_unguard((char *)ch + size, map - size);
	hak_sys_unmap(ch, size);
	hak_count(chunks_unmapped, 1);
	hak_atomic_sub_relaxed(&chunk_bytes, size);
}

static struct chunk *chunk_of(const void *p)
{
	return hak_rmap_base(hak_rmap_lookup(p), p);
}

/*
 * Is granule @g of @ch one of its share's not yet asked for huge pages, with
 * DENSE_PAGES of its pages carved into spans (the header's counts)?
 */
static bool granule_dense(const struct chunk *ch, unsigned g)
{
	return (ch->want >> g & 1) &&
	       GRANULE_PAGES - hak_bits_count(ch->free_pages, g * GRANULE_PAGES, GRANULE_PAGES) >=
		       DENSE_PAGES;
}

/* ------------------------------------------------------------------- spans */

static struct span *span_new(struct arena *a, unsigned cls)
{
	unsigned n = class_of(cls)->npages, bsize = hak_class_bytes[cls], cap;
	struct chunk *ch;
	struct span *sp;
	int first = -1;

	for (ch = a->chunks; ch; ch = ch->next)
		if ((first = find_run(ch, n)) >= 0)
			break;
	if (!ch) {
		ch = chunk_new(a, n);
		if (!ch)
			return NULL;
		first = 1;
	} else if (!ch->nspans) {
		a->nempty--;
	}
	ch->nspans++;
	cap = (unsigned)HAK_MIN((n * PAGE) / bsize, 64);
	sp = &ch->spans[first];
	*sp = (struct span){
		.start = (char *)ch + (size_t)first * PAGE,
		.all = cap == 64 ? ~(uint64_t)0 : ((uint64_t)1 << cap) - 1,
		.bsize = bsize,
		.inv = (uint32_t)((((uint64_t)1 << 32) + bsize - 1) / bsize),
		.cls = (uint8_t)cls,
		.npages = (uint8_t)n,
		.huge = ch->huge >> (first / GRANULE_PAGES) & 1,
	};
	sp->free = sp->all;
	for (unsigned i = (unsigned)first; i < first + n; i++)
		ch->span_of_page[i] = (uint16_t)first;
	hak_bits_assign(ch->free_pages, (unsigned)first, n, false);
	a->carved += n;
	hak_bits_assign(ch->dirty, (unsigned)first, n, false);
	hak_bits_assign(ch->aged, (unsigned)first, n, false);
	hak_rmap_set_class(sp->start, n, cls);
	hak_count(class_of(cls)->spans_new, 1);
	/* the arena reached HUGE_HEAP (its old granules wait), or a granule got dense */
	if (a->carved >= HUGE_HEAP_PAGES &&
	    (a->carved - n < HUGE_HEAP_PAGES || granule_dense(ch, (unsigned)first / GRANULE_PAGES) ||
	     granule_dense(ch, (first + n - 1) / GRANULE_PAGES)))
		a->dense = true;
	return sp;
}

/* @sp goes back to its chunk; @since: when its blocks were last used. */
static void span_release(struct arena *a, struct span *sp, uint64_t since)
{
	struct chunk *ch = chunk_of(sp->start);
	unsigned first = (unsigned)((sp->start - (char *)ch) / PAGE);

	hak_bits_assign(ch->free_pages, first, sp->npages, true);
	a->carved -= sp->npages;
	hak_bits_assign(ch->dirty, first, sp->npages, true);
	ch->freed_ms = HAK_MAX(ch->freed_ms, since);
	hak_rmap_set_class(sp->start, sp->npages, HAK_RMAP_NO_CLASS);
	if (!--ch->nspans) {
		ch->emptied_ms = since;
		a->nempty++;
	}
	hak_count(class_of(sp->cls)->spans_freed, 1);
}

/* Partial lists hold the spans on huge pages first, then in address order,
 * so the blocks there go out first and the others empty and return. */
static void partial_add(struct arena *a, struct span *sp)
{
	struct span **pp = &a->partial[sp->cls - HAK_POOL_FIRST_CLASS], *prev = NULL;

	while (*pp && ((*pp)->huge > sp->huge ||
		       ((*pp)->huge == sp->huge && (*pp)->start < sp->start))) {
		prev = *pp;
		pp = &prev->next;
	}
	sp->partial = 1;
	sp->prev = prev;
	sp->next = *pp;
	if (*pp)
		(*pp)->prev = sp;
	*pp = sp;
}

static void partial_del(struct arena *a, struct span *sp)
{
	sp->partial = 0;
	if (sp->prev)
		sp->prev->next = sp->next;
	else
		a->partial[sp->cls - HAK_POOL_FIRST_CLASS] = sp->next;
	if (sp->next)
		sp->next->prev = sp->prev;
}

/* The block index of @p in @sp; aborts unless @p starts a block. */
static unsigned block_index(const struct span *sp, const void *p)
{
	uint64_t off = (uint64_t)((const char *)p - sp->start);
	unsigned i = (unsigned)((off * sp->inv) >> 32);

	if (i * (uint64_t)sp->bsize != off || !(sp->all >> i & 1))
		pool_fatal("invalid free(%p): not the start of a %u B block", p, sp->bsize);
	return i;
}

static void double_free(const struct span *sp, uint64_t bits)
{
	pool_fatal("double free(%p)", sp->start + (size_t)__builtin_ctzll(bits) * sp->bsize);
}

/* The owner gets @bits of @sp back; a span free again may be released. */
static void local_free(struct arena *a, struct span *sp, uint64_t bits)
{
	unsigned c = sp->cls - HAK_POOL_FIRST_CLASS;

	if (unlikely(sp->free & bits))
		double_free(sp, sp->free & bits);
	sp->free |= bits;
	if (!sp->partial)
		partial_add(a, sp);
	if (sp->free != sp->all)
		return;
	/*
	 * Keep idle spans for their class: reused by another class, a page
	 * gets its blocks at new offsets, and the program touches new memory.
	 */
	if (a->nidle[c] < idle_limit[c]) {
		a->nidle[c]++;
		sp->idle_ms = hak_sys_now_ms();
	} else {
		partial_del(a, sp);
		span_release(a, sp, hak_sys_now_ms());
	}
}

/* The owner (or orphan_lock's holder) takes the remote frees of @a. */
static void collect(struct arena *a)
{
	struct span *sp = atomic_exchange(&a->notify, NULL), *next;

	for (; sp; sp = next) {
		next = sp->rnext;	/* before the exchange: a pusher may reuse it */
		local_free(a, sp, atomic_exchange(&sp->remote, 0));
	}
}

/*
 * Take what idled for HAKMEM_SS_DELAY_MS at @now (all that is idle with
 * @all) out of @a: idle spans go back to their chunks, then up to @max
 * empty chunks leave the arena onto @gone, to be unmapped by chunks_free()
 * once no lock is held. Returns how many chunks it took.
 */
static unsigned decay_take(struct arena *a, uint64_t now, bool all, unsigned max,
			   struct chunk **gone)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);
	unsigned n = 0;

	for (unsigned c = 0; c < HAK_POOL_NCLASSES; c++) {
		for (struct span *sp = a->partial[c], *next; sp && a->nidle[c]; sp = next) {
			next = sp->next;
			if (sp->free == sp->all && (all || now >= sp->idle_ms + delay)) {
				partial_del(a, sp);
				span_release(a, sp, sp->idle_ms);
				a->nidle[c]--;
			}
		}
	}
	for (struct chunk **pp = &a->chunks, *ch; n < max && a->nempty && (ch = *pp);) {
		if (ch->nspans || (!all && now < ch->emptied_ms + delay)) {
			pp = &ch->next;
			continue;
		}
		*pp = ch->next;
		a->nempty--;
		ch->next = *gone;
		*gone = ch;
		n++;
	}
	return n;
}

/*
 * What an orphan keeps: no idle span, and of its empty chunks only one
 * that emptied within the delay, whole (arena_purge() passes over empty
 * chunks), for the thread that adopts it: a program that starts a thread
 * per task would otherwise map, fault in and unmap a chunk per thread. The
 * orphans' decay (pool_decay()) unmaps it once it has idled.
 */
static void orphan_take(struct arena *a, uint64_t now, struct chunk **gone)
{
	decay_take(a, 0, true, 0, gone);
	decay_take(a, now, false, UINT_MAX, gone);
	if (a->nempty > 1)
		decay_take(a, 0, true, a->nempty - 1, gone);
}

/* Unmap the chunks decay_take() chained on @gone; returns their bytes. */
static size_t chunks_free(struct chunk *gone)
{
	size_t bytes = 0;

	for (struct chunk *ch = gone, *next; ch; ch = next) {
		next = ch->next;
		bytes += ch->size;
		chunk_free(ch);
	}
	return bytes;
}

/*
 * Granule @g of @ch leaves huge pages before pages inside it go back:
 * khugepaged would collapse it again, every byte resident. Its spans are
 * small ones again (last on their partial lists). False when the kernel
 * refused: nothing there goes back now.
 */
static bool granule_small(struct arena *a, struct chunk *ch, unsigned g)
{
	if (hak_sys_nohugepage((char *)ch + (size_t)g * GRANULE, GRANULE))
		return false;
	ch->huge &= (uint16_t)~(1u << g);
	for (unsigned i = HAK_MAX(g * GRANULE_PAGES, 1u); i < (g + 1) * GRANULE_PAGES; i++) {
		struct span *sp = &ch->spans[i];

		if (page_free(ch, i) || ch->span_of_page[i] != i)
			continue;
		sp->huge = 0;
		if (sp->partial) {
			partial_del(a, sp);
			partial_add(a, sp);
		}
	}
	return true;
}

/* Pages [@first, @end) of @ch may go back: false unless their granules are on small pages. */
static bool pages_small(struct arena *a, struct chunk *ch, unsigned first, unsigned end)
{
	for (unsigned g = first / GRANULE_PAGES; g <= (end - 1) / GRANULE_PAGES; g++)
		if ((ch->huge >> g & 1) && !granule_small(a, ch, g))
			return false;
	return true;
}

/*
 * The whole 4 KiB pages inside @sp's free blocks not given back yet, a run
 * of free neighbours at a time, go back to the OS (a block taken again
 * faults zeroed pages in); at most *@max runs. Returns the bytes.
 */
static size_t span_purge(struct arena *a, struct span *sp, unsigned *max)
{
	struct chunk *ch = chunk_of(sp->start);
	uintptr_t page = hak_sys_page_size();
	uint64_t todo = sp->free & ~sp->purged;
	size_t bytes = 0;

	while (todo && *max) {
		unsigned i = (unsigned)__builtin_ctzll(todo), j = i + 1;
		uintptr_t lo, hi;
		uint64_t run;

		while (i && (sp->free >> (i - 1) & 1))
			i--;
		while (j < 64 && (sp->free >> j & 1))
			j++;
		run = (j == 64 ? ~(uint64_t)0 : ((uint64_t)1 << j) - 1) & ~(((uint64_t)1 << i) - 1);
		todo &= ~run;
		sp->purged |= run;	/* a failed purge (locked pages) is not tried again */
		lo = HAK_ALIGN_UP((uintptr_t)sp->start + (size_t)i * sp->bsize, page);
		hi = ((uintptr_t)sp->start + (size_t)j * sp->bsize) & ~(page - 1);
		if (hi <= lo)
			continue;
		(*max)--;
		if (!pages_small(a, ch, (unsigned)((lo - (uintptr_t)ch) / PAGE),
				 (unsigned)((hi - 1 - (uintptr_t)ch) / PAGE) + 1)) {
			sp->purged &= ~run;	/* the next decay tries again */
			continue;
		}
		if (!hak_sys_decommit((void *)lo, hi - lo))
			bytes += hi - lo;
	}
	hak_count(purged_block_bytes, bytes);
	return bytes;
}

/*
 * The pages of released spans in @a's chunks in use, free for the delay at
 * @now (all of them with @all), go back to the OS; the addresses stay. A
 * chunk that released a span within the delay ages its pages instead, once
 * a delay: those free at its last pass and not carved since go back. At
 * most @max runs of pages; none on huge pages (a purge would split the huge
 * pages of the spans beside them) unless @all or the learner lowered the
 * budget (a heap that shrank, or memory pressure: memory matters more).
 * Then, in those cases only, the pages inside free blocks of spans still
 * in use: a heap that shrank by whole batches of blocks of many classes
 * leaves a few live blocks in most spans (bench_phases: 98 spans held 7.8
 * MB of free blocks for 3.9 MB live). Not with HAKMEM_CHECK=full: the
 * free blocks hold its canary. Chunks without spans are left to
 * decay_take(). For an arena nobody else touches, with no lock held.
 * Returns the bytes.
 */
static size_t arena_purge(struct arena *a, uint64_t now, bool all, unsigned max)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);
	bool split = all || hak_atomic_load_relaxed(&learned_budget) < budget;
	size_t bytes = 0;

	for (struct chunk *ch = a->chunks; ch && max; ch = ch->next) {
		unsigned huge = split ? 0 : ch->huge, i = 1, end;
		bool aging = !all && now < ch->freed_ms + delay;
		uint64_t todo[HAK_POOL_MAX_PAGES / 64];

		if (!ch->nspans || (aging && now < ch->aged_ms + delay))
			continue;
		for (unsigned w = 0; w < HAK_POOL_MAX_PAGES / 64; w++)
			todo[w] = ch->dirty[w] & (aging ? ch->aged[w] : ~(uint64_t)0);
		for (; max && (i = hak_bits_next(todo, i, ch->npages, true)) < ch->npages; i = end) {
			unsigned g = i / GRANULE_PAGES, later = huge >> g;

			if (later & 1) {	/* left alone */
				end = (g + 1) * GRANULE_PAGES;
				continue;
			}
			end = later ? (g + (unsigned)__builtin_ctz(later)) * GRANULE_PAGES : ch->npages;
			end = hak_bits_next(todo, i, end, false);
			max--;
			if ((split && !pages_small(a, ch, i, end)) ||
			    hak_sys_decommit((char *)ch + (size_t)i * PAGE, (size_t)(end - i) * PAGE))
				continue;	/* e.g. locked pages: they stay dirty */
			hak_bits_assign(ch->dirty, i, end - i, false);
			hak_count(purged_pages, end - i);
			bytes += (size_t)(end - i) * PAGE;
		}
		if (aging) {
			memcpy(ch->aged, ch->dirty, sizeof(ch->aged));
			ch->aged_ms = now;
		}
	}
	for (unsigned c = 0; split && !check_full && c < HAK_POOL_NCLASSES && max; c++)
		for (struct span *sp = a->partial[c]; sp && max; sp = sp->next)
			bytes += span_purge(a, sp, &max);
	return bytes;
}

/*
 * The owner's decay at its refills and flushes: at most twice per delay;
 * at each with no delay (the learner: the heap shrinks), for a fast burst
 * of frees would leave all but its first millisecond's pages behind.
 */
static void arena_decay(struct arena *a, uint64_t now)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);
	struct chunk *gone = NULL;

	if (delay && now < a->decay_ms + HAK_MAX(delay / 2, (uint64_t)1))
		return;
	a->decay_ms = now;
	decay_take(a, now, false, POOL_DECAY_MAX, &gone);
	chunks_free(gone);
	arena_purge(a, now, false, PURGE_MAX);
}

/*
 * @p is block @bit of @sp, in another thread's arena @a. Once the OR is done
 * @sp may be collected and released by someone else at any time: nothing of
 * it is read after that unless this free is the one that queues it (then
 * its bit keeps @sp from being released until the push is done). After the
 * push only @a is read: arenas are never unmapped (orphaned and adopted,
 * never freed), though the chunk of @sp may be by then.
 */
static void remote_free(struct arena *a, struct span *sp, uint64_t bit, void *p)
{
	struct class_state *c = class_of(sp->cls);
	uint64_t old = atomic_fetch_or(&sp->remote, bit);
	struct chunk *gone = NULL;
	struct span *head;

	if (unlikely(old & bit))
		pool_fatal("double free(%p)", p);
	hak_count(c->remote_frees, 1);
	if (old)
		return;		/* queued already */
	head = atomic_load(&a->notify);
	do
		sp->rnext = head;
	while (!atomic_compare_exchange_weak(&a->notify, &head, sp));
	if (!atomic_load(&a->orphan))
		return;
	orphan_lock_take();
	if (atomic_load(&a->orphan)) {
		collect(a);
		orphan_take(a, hak_sys_now_ms(), &gone);
		hak_count(reclaims, 1);
	}
	orphan_lock_drop();
	chunks_free(gone);	/* off the arena already: no lock needed */
}

/* Return one block to its span, from any thread (@me: its arena, or NULL). */
static void give(struct arena *me, void *p)
{
	struct chunk *ch = chunk_of(p);
	unsigned page = (unsigned)(((char *)p - (char *)ch) >> HAK_POOL_PAGE_SHIFT);
	struct span *sp = &ch->spans[ch->span_of_page[page]];
	uint64_t bit = (uint64_t)1 << block_index(sp, p);

	if (check_full)
		memset(p, CANARY, sp->bsize);
	if (ch->arena == me)
		local_free(me, sp, bit);
	else
		remote_free(ch->arena, sp, bit, p);
}

static void check_canary(const struct span *sp, const void *blk)
{
	const unsigned char *c = blk;

	for (size_t i = 0; i < sp->bsize; i++)
		if (c[i] != CANARY)
			pool_fatal("heap corruption: free block %p (%u B) written at offset %zu after free",
				  blk, sp->bsize, i);
}

/*
 * Granule @g of @ch goes on huge pages: MADV_HUGEPAGE, then MADV_COLLAPSE
 * to move what is resident onto one now, as the pages were faulted small.
 * Its spans become huge ones, first on their partial lists. Asked once:
 * when the kernel cannot collapse (before 6.1, or no huge page at hand)
 * khugepaged may do it later; without THP at all the chunk gives back the
 * rest of its share.
 */
static void granule_huge(struct arena *a, struct chunk *ch, unsigned g)
{
	char *p = (char *)ch + (size_t)g * GRANULE;

	ch->want &= (uint16_t)~(1u << g);
	if (hak_sys_hugepage(p, GRANULE)) {
		size_t back = (size_t)(__builtin_popcount(ch->want) + 1) * GRANULE;

		ch->want = 0;
		ch->share -= back;
		hak_atomic_sub_relaxed(&huge_claimed, back);
		return;
	}
	hak_sys_collapse(p, GRANULE);
	ch->huge |= (uint16_t)(1u << g);
	for (unsigned i = HAK_MAX(g * GRANULE_PAGES, 1u); i < (g + 1) * GRANULE_PAGES; i++) {
		struct span *sp = &ch->spans[i];

		if (page_free(ch, i) || ch->span_of_page[i] != i)
			continue;
		sp->huge = 1;
		if (sp->partial) {	/* to its place among the huge ones */
			partial_del(a, sp);
			partial_add(a, sp);
		}
	}
}

/*
 * span_new() found a granule of a chunk's huge-page share dense: the first
 * such granule of @a's goes on huge pages. One a call, for a collapse copies
 * up to 2 MiB: the next slow path does the next. No lock held.
 */
static void densify(struct arena *a)
{
	bool done = false;

	a->dense = false;
	for (struct chunk *ch = a->chunks; ch; ch = ch->next) {
		for (unsigned w = ch->want; w; w &= w - 1) {
			unsigned g = (unsigned)__builtin_ctz(w);

			if (!granule_dense(ch, g))
				continue;
			if (done) {
				a->dense = true;
				return;
			}
			granule_huge(a, ch, g);
			done = true;
		}
	}
}

/* Up to @want blocks of @cls into @out, from the first partial span on; returns how many. */
static unsigned take(struct arena *a, unsigned cls, unsigned want, void **out)
{
	struct span **head = &a->partial[cls - HAK_POOL_FIRST_CLASS];
	unsigned got = 0;

	/* Remote frees first: the first free blocks go out, wherever they came from. */
	if (atomic_load_explicit(&a->notify, memory_order_relaxed))
		collect(a);
	while (got < want) {
		struct span *sp = *head;

		if (!sp) {
			sp = span_new(a, cls);
			if (!sp)
				break;
			partial_add(a, sp);	/* not idle: blocks go out now */
		} else if (sp->free == sp->all) {
			a->nidle[cls - HAK_POOL_FIRST_CLASS]--;
		}
		while (got < want && sp->free) {
			unsigned i = (unsigned)__builtin_ctzll(sp->free);
			void *blk = sp->start + (size_t)i * sp->bsize;

			sp->free &= sp->free - 1;
			if (check_full) {
				if (sp->handed >> i & 1)
					check_canary(sp, blk);
				sp->handed |= (uint64_t)1 << i;
			}
			out[want - 1 - got++] = blk;
		}
		sp->purged &= sp->free;
		if (!sp->free)
			partial_del(a, sp);
	}
	if (got < want)		/* out of memory: close the gap */
		memmove(out, out + want - got, got * sizeof(*out));
	if (unlikely(a->dense))
		densify(a);
	return got;
}

/* ------------------------------------------------------------------ arenas */

static struct arena *arena_new(void)
{
	void *p;

	if (hak_sys_map(arena_bytes, hak_sys_page_size(), &p))
		return NULL;
	hak_count(arenas_new, 1);
	return p;
}

/* The first orphan, taken off the list (its taker's alone now), or NULL. */
static struct arena *orphan_pop(void)
{
	struct arena *a;

	orphan_lock_take();
	a = orphans;
	if (a) {
		orphans = a->next_orphan;
		atomic_store(&a->orphan, false);
	}
	orphan_lock_drop();
	return a;
}

/* An orphan to adopt, else a new arena; NULL on ENOMEM. */
static struct arena *arena_get(void)
{
	struct arena *a = orphan_pop();

	if (a)
		hak_count(adoptions, 1);
	return a ? a : arena_new();
}

/*
 * @a (its caller's alone) goes on the orphan list, having given back what
 * orphan_take() does not keep; what remote frees brought meanwhile is
 * collected under the lock. Chunks are unmapped with no lock held.
 */
static void arena_orphan(struct arena *a)
{
	uint64_t now = hak_sys_now_ms();
	struct chunk *gone = NULL;

	collect(a);
	orphan_take(a, now, &gone);
	chunks_free(gone);
	arena_purge(a, 0, true, UINT_MAX);
	gone = NULL;
	orphan_lock_take();
	atomic_store(&a->orphan, true);
	collect(a);
	orphan_take(a, now, &gone);
	a->next_orphan = orphans;
	orphans = a;
	orphan_lock_drop();
	chunks_free(gone);
}

/*
 * A thread with no arena (its exit hook ran) allocates from an orphan (or
 * a new arena), taken off the list meanwhile so that a chunk is mapped with
 * no lock held.
 */
static void *alloc_orphaned(unsigned cls)
{
	struct arena *a = orphan_pop();
	void *p = NULL;

	if (!a && !(a = arena_new()))
		return NULL;
	if (take(a, cls, 1, &p))
		hak_count(class_of(cls)->blocks_out, 1);
	else
		p = NULL;
	arena_orphan(a);
	return p;
}

/* ------------------------------------------------------- bins (P1 and P2) */

/* Flush @n of @b's oldest blocks to their spans. */
static void bin_flush(struct hak_pool_bin *b, unsigned cls, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		give(my_arena, b->slot[i]);
	b->count -= n;
	memmove(b->slot, b->slot + n, b->count * sizeof(void *));
	hak_count(class_of(cls)->flushes, 1);
	hak_count(class_of(cls)->blocks_in, n);
	hak_tick_freed((size_t)n * hak_class_bytes[cls]);
}

/* Lower bin @i's cap to @cap, flushing its oldest blocks beyond it. */
static void bin_shrink(unsigned i, unsigned cap)
{
	struct hak_pool_bin *b = &hak_pool_tls.bins[i];

	hak_assert(cap <= b->cap);
	if (b->count > cap)
		bin_flush(b, HAK_POOL_FIRST_CLASS + i, b->count - cap);
	bin_bytes -= (size_t)(b->cap - cap) * class_bytes(i);
	b->cap = cap;
	if (cap == init_caps[i])
		grown &= ~((uint64_t)1 << i);
}

/*
 * Claim @bytes more room for this thread's bins from the process's budget
 * (looked at first: once it is spent, threads only read the shared line).
 */
static bool claim(size_t bytes)
{
	size_t limit = hak_atomic_load_relaxed(&learned_budget);

	if (atomic_load_explicit(&claimed, memory_order_relaxed) + bytes > limit)
		return false;
	if (atomic_fetch_add_explicit(&claimed, bytes, memory_order_relaxed) + bytes > limit) {
		atomic_fetch_sub_explicit(&claimed, bytes, memory_order_relaxed);
		return false;
	}
	my_claim += bytes;
	return true;
}

/*
 * A free found @b full: grow its cap by one step. The room comes from the
 * process's budget while it lasts, then from this thread's other classes
 * in turn, a step each (their oldest blocks beyond the new cap go back),
 * so the classes a thread frees most get the room. Only classes the thread
 * also allocates grow, and only for its own blocks (the caller checks):
 * a thread that frees other threads' blocks would keep them from their
 * owners. False when no room was found.
 */
static bool bin_grow(struct hak_pool_bin *b, unsigned cls)
{
	unsigned i = cls - HAK_POOL_FIRST_CLASS, step = init_caps[i];
	size_t need = step * class_bytes(i);
	uint64_t others = grown & ~((uint64_t)1 << i);

	if (!(refilled >> i & 1) || b->cap + step > max_caps[i])
		return false;
	if (bin_bytes + need > init_bytes + my_claim && !claim(HAK_MAX(need, CLAIM_STEP)))
		claim(need);	/* the budget's last bytes */
	/* a step from each other grown bin in turn, from steal_next on */
	while (bin_bytes + need > init_bytes + my_claim) {
		uint64_t after = others & (~(uint64_t)0 << steal_next);
		unsigned j;

		if (!others)
			return false;
		j = (unsigned)__builtin_ctzll(after ? after : others);
		others &= ~((uint64_t)1 << j);
		steal_next = (j + 1) % HAK_POOL_NCLASSES;
		bin_shrink(j, HAK_MAX(hak_pool_tls.bins[j].cap - init_caps[j], init_caps[j]));
	}
	b->cap += step;
	bin_bytes += need;
	active |= (uint64_t)1 << i;
	grown |= (uint64_t)1 << i;
	return true;
}

/* Give @bytes of the room this thread claimed back to the process's budget. */
static void unclaim(size_t bytes)
{
	my_claim -= bytes;
	atomic_fetch_sub_explicit(&claimed, bytes, memory_order_relaxed);
}

/*
 * Once per HAKMEM_SS_DELAY_MS (checked at refills and flushes): a bin whose class
 * neither refilled nor grew since the last time gives back half its growth,
 * oldest blocks first, and the thread returns the room it no longer uses to
 * the budget. So bins follow what the thread uses now.
 */
static void bins_decay(uint64_t now)
{
	if (now < bin_decay_ms + HAK_MAX(hak_atomic_load_relaxed(&empty_delay_ms), (uint64_t)1))
		return;
	bin_decay_ms = now;
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		unsigned cap = hak_pool_tls.bins[i].cap, step = init_caps[i];

		if (!(active >> i & 1) && cap > step)
			bin_shrink(i, step + (cap - step) / (2 * step) * step);
	}
	active = 0;
	unclaim((init_bytes + my_claim - bin_bytes) / CLAIM_STEP * CLAIM_STEP);	/* whole steps */
}

/*
 * The learner lowered the budget below what the threads claimed (a heap
 * that shrinks, or memory pressure): this thread gives back all its bins'
 * growth, oldest blocks first, and the room with it.
 */
static void follow_budget(void)
{
	if (!my_claim || atomic_load_explicit(&claimed, memory_order_relaxed) <=
			 hak_atomic_load_relaxed(&learned_budget))
		return;
	for (uint64_t g = grown; g; g &= g - 1) {
		unsigned i = (unsigned)__builtin_ctzll(g);

		bin_shrink(i, init_caps[i]);
	}
	hak_assert(bin_bytes == init_bytes);
	unclaim(my_claim);
}

/* A refill or flush of this thread's bins: its decay, and the learner's tick. */
static void slow_tick(void)
{
	uint64_t now = hak_sys_now_ms();

	follow_budget();
	bins_decay(now);
	arena_decay(my_arena, now);
	hak_tick(now);
}

/*
 * Half the bin, plus the block returned; a thread's first refill of a class
 * takes FIRST_REFILL at most: a thread that makes a few blocks of many
 * classes and exits (a thread per task) handed all of each half back at
 * its exit, 32 blocks of a 1 KiB class where it used one.
 */
static void *refill(struct hak_pool_bin *b, unsigned cls)
{
	uint64_t bit = (uint64_t)1 << (cls - HAK_POOL_FIRST_CLASS);
	unsigned want = b->cap / 2 + 1, got;

	hak_assert(b->count == 0);
	if (!(refilled & bit))
		want = HAK_MIN(want, FIRST_REFILL);
	refilled |= bit;
	active |= bit;
	slow_tick();
	got = take(my_arena, cls, want, b->slot);
	hak_count(class_of(cls)->refills, 1);
	hak_count(class_of(cls)->blocks_out, got);
	hak_tick_taken((size_t)got * hak_class_bytes[cls]);
	if (!got)
		return NULL;
	b->count = got - 1;
	return b->slot[got - 1];
}

/* This thread's arena, adopted or made on first use; NULL once it is exiting. */
static struct arena *thread_arena(void)
{
	struct arena *a;

	if (my_arena || hak_sys_thread_exiting())
		return my_arena;
	a = arena_get();
	if (!a)
		return NULL;
	my_arena = a;
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		struct hak_pool_bin *b = &hak_pool_tls.bins[i];

		b->slot = a->slots + slot_off[i] + 1;
		b->count = 0;
		b->cap = init_caps[i];
	}
	bin_bytes = init_bytes;
	hak_sys_thread_watch();
	if (POOL_TLS_PREWARM)
		for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++)
			if (init_caps[i] && refill(&hak_pool_tls.bins[i], HAK_POOL_FIRST_CLASS + i))
				hak_pool_tls.bins[i].count++;	/* keep the extra one too */
	return a;
}

void *hak_pool_alloc_slow(unsigned cls)
{
	struct hak_pool_bin *b = bin_of(cls);
	void *p;

	if (!thread_arena())
		return alloc_orphaned(cls);
	if (b->cap)
		return refill(b, cls);
	if (!take(my_arena, cls, 1, &p))
		return NULL;
	hak_count(class_of(cls)->blocks_out, 1);
	return p;
}

/* free() keeps errno: the flush and the tick may make system calls that fail. */
void hak_pool_free_slow(void *p, unsigned cls)
{
	struct hak_pool_bin *b = bin_of(cls);
	int saved = errno;
	bool flushed;

	if (b->cap && b->count && b->slot[b->count - 1] == p)
		hak_fatal("double free(%p)", p);
	thread_arena();
	if (!b->cap) {	/* no caching: full checks, or no arena */
		give(my_arena, p);
		hak_count(class_of(cls)->blocks_in, 1);
		errno = saved;
		return;
	}
	/* another arena's block is no reason to grow: the flush sends it home */
	flushed = b->count >= b->cap && (chunk_of(p)->arena != my_arena || !bin_grow(b, cls));
	if (flushed)
		bin_flush(b, cls, b->cap / 2);
	b->slot[b->count++] = p;
	if (flushed)
		slow_tick();	/* after the push: bins_decay() may lower the cap */
	errno = saved;
}

void hak_pool_set_limits(size_t cache_bytes, uint64_t delay_ms)
{
	hak_atomic_store_relaxed(&learned_budget, cache_bytes);
	hak_atomic_store_relaxed(&empty_delay_ms, delay_ms);
}

/* Bins that grew hold freed blocks: their claimed room does not count as live. */
void hak_pool_demand(struct hak_demand *d)
{
	size_t room = atomic_load_explicit(&claimed, memory_order_relaxed);

	d->out = hak_class_bytes_sum(&classes[0].blocks_out, &classes[0].blocks_in,
				     sizeof(classes[0]), &hak_class_bytes[HAK_POOL_FIRST_CLASS],
				     HAK_POOL_NCLASSES, &d->live);
	d->live = d->live > room ? d->live - room : 0;
}

/* -------------------------------------------------------------- box ops */

/*
 * Spans hold >= 4 blocks. A bin starts at (and grows in steps of) 64 KiB
 * of blocks, at least 2, up to 2 MiB; idle spans are kept up to 1 MiB per
 * class (measured: docs/POOL.md).
 */
static int pool_init(const struct hak_options *opt)
{
	size_t words = 0;

	check_full = opt->v[HAK_OPT_CHECK] == HAK_CHECK_FULL;
	budget = (size_t)opt->v[HAK_OPT_POOL_CACHE_KB] << 10;
	init_bytes = 0;
	hak_pool_set_limits(budget, (uint64_t)opt->v[HAK_OPT_SS_DELAY_MS]);
	chunk_init = (size_t)opt->v[HAK_OPT_POOL_TLS_ARENA_MB_INIT] * MIB;
	chunk_max = HAK_MAX((size_t)opt->v[HAK_OPT_POOL_TLS_ARENA_MB_MAX] * MIB, chunk_init);
	growth_levels = (unsigned)opt->v[HAK_OPT_POOL_TLS_ARENA_GROWTH_LEVELS];
	thp_bytes = (size_t)opt->v[HAK_OPT_POOL_THP_MB] * MIB;
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		size_t bytes = class_bytes(i);

		classes[i].npages = (uint8_t)((4 * bytes + PAGE - 1) / PAGE);
		idle_limit[i] = (unsigned)HAK_MAX(IDLE_BYTES / (classes[i].npages * PAGE), 1);
		init_caps[i] = check_full || !POOL_TLS_PHASE1 ? 0
			       : (unsigned)HAK_MAX(BIN_STEP / bytes, 2);
		max_caps[i] = init_caps[i] ? (unsigned)HAK_MAX(BIN_MAX / bytes, init_caps[i]) : 0;
		init_bytes += init_caps[i] * bytes;
		slot_off[i] = (unsigned)words;
		words += max_caps[i] + 1;
	}
	arena_bytes = HAK_ALIGN_UP(sizeof(struct arena) + words * sizeof(void *),
				   hak_sys_page_size());
	return 0;
}

/*
 * Flush the bins and orphan the arena; also malloc_trim, after which the
 * thread's next slow path adopts an arena again (unless it is exiting).
 */
static void pool_thread_exit(void)
{
	struct arena *a = my_arena;

	if (!a)
		return;
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		struct hak_pool_bin *b = &hak_pool_tls.bins[i];

		if (b->count)
			bin_flush(b, HAK_POOL_FIRST_CLASS + i, b->count);
		b->cap = 0;
	}
	bin_bytes = 0;
	refilled = active = grown = 0;
	unclaim(my_claim);
	my_arena = NULL;
	arena_orphan(a);
}

/*
 * Out of memory or malloc_trim: every orphan gives back all it keeps idle.
 * They stay on the list (a fork() meanwhile finds them there); their empty
 * chunks leave them under orphan_lock and are unmapped after it.
 */
static size_t pool_reclaim(void)
{
	struct chunk *gone = NULL;

	orphan_lock_take();
	for (struct arena *a = orphans; a; a = a->next_orphan) {
		collect(a);
		decay_take(a, 0, true, UINT_MAX, &gone);
	}
	orphan_lock_drop();
	return chunks_free(gone);
}

/*
 * The decay op: this thread's bins follow the budget (the learner's tick
 * that lowered it may be the last slow path for a while), then its arena,
 * then the orphans (under orphan_lock), give back what idled; at most
 * POOL_DECAY_MAX chunks in all, unmapped with no lock held.
 */
static size_t pool_decay(uint64_t now)
{
	struct chunk *gone = NULL;
	unsigned n = 0;
	size_t bytes = 0;

	if (my_arena) {
		follow_budget();
		n = decay_take(my_arena, now, false, POOL_DECAY_MAX, &gone);
		bytes = chunks_free(gone) + arena_purge(my_arena, now, false, PURGE_MAX);
	}

	gone = NULL;
	orphan_lock_take();
	for (struct arena *a = orphans; a && n < POOL_DECAY_MAX; a = a->next_orphan) {
		collect(a);
		n += decay_take(a, now, false, POOL_DECAY_MAX - n, &gone);
	}
	orphan_lock_drop();
	return bytes + chunks_free(gone);
}

static void pool_prefork(void)
{
	hak_lock(&orphan_lock);
}

static void pool_postfork_parent(void)
{
	hak_unlock(&orphan_lock);
}

/* The bytes of the huge-page share @a's chunks hold. */
static size_t arena_share(const struct arena *a)
{
	size_t n = 0;

	for (const struct chunk *ch = a ? a->chunks : NULL; ch; ch = ch->next)
		n += ch->share;
	return n;
}

/*
 * The arenas of the parent's other threads stay theirs in the child: they
 * may have been halfway through an update, so nobody touches them again.
 * Their threads' claims on the bins' budget and the huge-page share are
 * given back: the share is counted again from the arenas the child has.
 */
static void pool_postfork_child(void)
{
	size_t huge = arena_share(my_arena);

	pthread_mutex_init(&orphan_lock, NULL);
	atomic_store(&claimed, my_claim);	/* the other threads are gone */
	for (struct arena *a = orphans; a; a = a->next_orphan)
		huge += arena_share(a);
	atomic_store(&huge_claimed, huge);	/* so are their arenas' chunks */
}

static void pool_stats(struct hak_stats_sink *s)
{
	hak_stat(s, "arenas", arenas_new);
	hak_stat(s, "adoptions", adoptions);
	hak_stat(s, "reclaims", reclaims);
	hak_stat(s, "chunks_mapped", chunks_mapped);
	hak_stat(s, "chunks_unmapped", chunks_unmapped);
	hak_stat(s, "chunk_bytes", chunk_bytes);
	hak_stat(s, "purged_pages", purged_pages);
	hak_stat(s, "purged_block_bytes", purged_block_bytes);
	hak_stat(s, "bin_claimed_bytes", atomic_load_explicit(&claimed, memory_order_relaxed));
	hak_stat(s, "huge_claimed_bytes", atomic_load_explicit(&huge_claimed, memory_order_relaxed));
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		struct class_state *c = &classes[i];

		if (!c->blocks_out)
			continue;
		s->class_begin(s, HAK_POOL_FIRST_CLASS + i, hak_class_bytes[HAK_POOL_FIRST_CLASS + i]);
#define P(f) hak_stat(s, #f, c->f);
		P(refills) P(blocks_out) P(flushes) P(blocks_in) P(remote_frees) P(spans_new) P(spans_freed)
#undef P
		s->class_end(s);
	}
	/* blocks that left the arena for a thread: in use, or cached in a bin */
	hak_stat_bytes_live(s, &classes[0].blocks_out, &classes[0].blocks_in, sizeof(classes[0]),
			    &hak_class_bytes[HAK_POOL_FIRST_CLASS], HAK_POOL_NCLASSES);
}

static int fail(const void *where, const char *what)
{
	hak_report("self-check: pool chunk or span %p: %s", where, what);
	return 1;
}

/* Every span of @a against its chunk's page tables; partial lists exact. */
static int arena_check(struct arena *a)
{
	unsigned on_lists = 0, partial = 0;
	int errors = 0;

	for (unsigned c = 0; c < HAK_POOL_NCLASSES; c++)
		for (struct span *sp = a->partial[c]; sp && on_lists <= 1u << 20; sp = sp->next, on_lists++)
			if (!sp->partial || sp->cls != HAK_POOL_FIRST_CLASS + c || !sp->free)
				errors += fail(sp->start, "bad span on a partial list");
	for (struct chunk *ch = a->chunks; ch; ch = ch->next) {
		unsigned nspans = 0;

		if (ch->magic != CHUNK_MAGIC || ch->arena != a) {
			errors += fail(ch, "bad magic or arena");
			continue;
		}
		for (unsigned i = 1; i < ch->npages; i++) {
			const struct span *sp = &ch->spans[ch->span_of_page[i]];

			if (page_free(ch, i)) {
				if (hak_rmap_class((char *)ch + (size_t)i * PAGE) != HAK_RMAP_NO_CLASS)
					errors += fail(ch, "free page with a class");
				continue;
			}
			if (hak_rmap_class((char *)ch + (size_t)i * PAGE) != sp->cls)
				errors += fail(sp->start, "page class differs from its span's");
			if (ch->span_of_page[i] != i)
				continue;
			nspans++;
			partial += sp->partial;
			if ((sp->free & ~sp->all) || (sp->free & atomic_load(&sp->remote)) ||
			    (sp->purged & ~sp->free) ||
			    sp->partial != (sp->free != 0) ||
			    sp->huge != (ch->huge >> (i / GRANULE_PAGES) & 1) ||
			    sp->start != (char *)ch + (size_t)i * PAGE)
				errors += fail(sp->start, "bitmaps, partial or huge flag or start wrong");
		}
		if (nspans != ch->nspans)
			errors += fail(ch, "span count wrong");
		if ((ch->want & ch->huge) ||
		    (size_t)__builtin_popcount((unsigned)ch->want | ch->huge) * GRANULE > ch->share)
			errors += fail(ch, "huge-page granules outside its share");
		for (unsigned w = 0; w < HAK_POOL_MAX_PAGES / 64; w++)
			if (ch->dirty[w] & ~ch->free_pages[w])
				errors += fail(ch, "dirty page not free");
	}
	if (partial != on_lists)
		errors += fail(a, "partial lists and flags disagree");
	return errors;
}

/* This thread's arena and the orphans: other threads' arenas change under us. */
static int pool_self_check(void)
{
	int errors = my_arena ? arena_check(my_arena) : 0;

	orphan_lock_take();
	for (struct arena *a = orphans; a; a = a->next_orphan)
		errors += arena_check(a);
	orphan_lock_drop();
	return errors;
}

static void pool_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%u classes %u..%u B, arena chunks %zu..%zu MiB (%u growth levels), bins of %zu KiB in all beyond %zu KiB per thread",
		 HAK_POOL_NCLASSES, hak_class_bytes[HAK_POOL_FIRST_CLASS], HAK_POOL_MAX,
		 chunk_init / MIB, chunk_max / MIB, growth_levels, budget >> 10, init_bytes >> 10);
}

const struct hak_box hak_box_pool = {
	.name = "pool",
	.layer = 3,
	.init = pool_init,
	.thread_exit = pool_thread_exit,
	.prefork = pool_prefork,
	.postfork_parent = pool_postfork_parent,
	.postfork_child = pool_postfork_child,
	.reclaim = pool_reclaim,
	.decay = pool_decay,
	.stats = pool_stats,
	.self_check = pool_self_check,
	.describe = pool_describe,
};
