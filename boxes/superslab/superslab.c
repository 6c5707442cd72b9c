/*
 * superslab.c - superslabs, spans and the per-class central lists, in shards.
 *
 * Shards: 2..8 (a power of two, from the CPU count: shards_init()), each
 * with its own lock, its own partial list per class and its own
 * superslabs. A thread takes a shard round robin at its first refill or
 * flush and refills from it, so threads of different shards share no lock
 * on a refill or flush. A superslab belongs to one shard for life
 * (ss->shard): its lists are that shard's, and its spans, while nobody owns
 * them, are under that shard's lock, whichever thread frees into them.
 * Against memory blow-up, a refill whose shard has no partial span takes
 * one from another shard (by trylock, see below) before it cuts a new
 * span, and HAKMEM_SS_KEEP is split between the shards.
 *
 * Locks, in the order they nest (each one per shard):
 *   lock      protects the shard's partial list of every class, its
 *             superslabs' nonempty_mask[] and the free list, used and
 *             carved of its spans nobody owns
 *   ss_lock   protects the shard's superslab lists, their free_pages,
 *             span_of_page and the pages' classes (hak_rmap_set_class)
 * One lock for all classes of a shard, not one per class: fork holds every
 * lock at once (ThreadSanitizer's deadlock detector allows a thread 64),
 * and a shard's threads rarely run at the same time (twice as many shards
 * as CPUs). Locks of two shards are held together only by a refill that
 * holds its own shard's lock and takes another shard's with trylock
 * (steal_locked()): it never waits for it, so no two refills wait for each
 * other. Everything else takes one shard's locks: a span of another shard
 * that ran out is disowned once the refill dropped its own lock. Fork and
 * the self-check take the shards in index order.
 * No system call under any (hak_lock() counts them in debug builds, and
 * sysmem asserts): a refill that finds no room drops the shard's lock, maps
 * and registers a superslab for its shard (ss_grow()) and takes it again;
 * empty superslabs leave their list under ss_lock and are unmapped after it.
 * A shard's superslabs sit on one of three lists: avail (some page free),
 * full (none) and empty (no span at all; the newest keep_empty stay, the
 * others go back to the OS once idle for HAKMEM_SS_DELAY_MS, a few at each
 * span change: ss_decay_sometimes(); the box's decay op is ss_decay(), a few
 * a call over all shards). Free pages of superslabs in use go back (purged,
 * the addresses kept) once no span of theirs was released for as long; so
 * do whole free system pages inside partial spans nobody owns, once no
 * block came back to the span for as long: their blocks leave the free
 * list while the pages are purged with no lock held, and come back when
 * the span's next owner used up the rest (park_pages(), unpark()).
 * A span is "partial" while nobody owns it and it has blocks to give: its bit
 * is then set in its superslab's nonempty_mask[class], and a superslab with
 * any such bit is on the class's partial list of its shard, so a refill
 * finds a span with free blocks in O(1): the list head, then ctz of its mask.
 *
 * Superslabs serve the tiny classes (the pool tier has its own arenas).
 * Ownership: each thread owns one "active" span per class and takes blocks
 * from it with no lock (its free list, used and carved are the owner's
 * alone), and keeps the last one that ran dry ("retired") so that other
 * threads' frees of its blocks stay lock-free too. Blocks flushed by another
 * thread go onto the span's lock-free remote list, a run of one span's
 * blocks in one push; the owner takes the list whole in one exchange when it
 * runs dry ("taken": still counted in used), and counts it back when it
 * disowns the span. The free list holds runs as well: a flush gives each
 * span its blocks as one run. A run's first block holds its length and last
 * block (run_mark()), so a refill hands out and counts whole runs without
 * walking their blocks, which were freed long ago or by another core: each
 * would be a cache miss in a row.
 * Spans nobody owns are their shard's lock's: free list, partial list,
 * release. Adopting and disowning (exhausted active span, thread exit)
 * happen under that lock; a freshly cut span is nobody's yet, so it is
 * owned without it. Disowning closes the remote list: it exchanges it for
 * REMOTE_CLOSED and counts back what was on it; adopting opens it again
 * (NULL). A pusher's CAS fails on a closed list, and the pusher then gives
 * its blocks back under the shard's lock itself, so no block is left
 * behind.
 *
 * Lifetime: a span (and its superslab) stays mapped while any of its blocks
 * is out, and a pusher's blocks are out until its CAS succeeds. After that
 * the owner may take them, hand them out and get them back, the span may be
 * disowned, released and its superslab unmapped at any time (with
 * HAKMEM_SS_DELAY_MS=0 at once), so push_remote() reads nothing of the span
 * after a successful CAS. Under the shard's lock a list cannot close (that
 * takes the lock), so a push there is safe too.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "../base/hak_bitmap.h"
#include "../base/hak_lock.h"
#include "../sysmem/sysmem.h"
#include "superslab.h"

#define SS_MAGIC	0x48414b53u	/* "HAKS" */
#define SS_PAGE		((size_t)1 << HAK_SS_PAGE_SHIFT)
#define ALL_PAGES	(~(uint32_t)0 << 1)	/* page 0 is the header */
#define LIVE_WORDS	(HAK_SS_SIZE / HAK_MIN_ALIGN / 64)
#define CANARY		0xdb
#define SS_DECAY_MAX	4	/* most superslabs unmapped per decay */
#define REMOTE_CLOSED	((void *)1)	/* the remote list of a span nobody owns */
#define SHARDS_MAX	8
#define PARK_SPANS	8	/* most spans whose free pages are purged per call */
#define PARK_BLOCKS	4096	/* most free blocks walked per call to find them */
#define GIVE_SPANS	256	/* most empty spans given back per call */

BUILD_BUG_ON(HAK_SS_PAGES != 32);

struct span {
	char *start;
	void *free;		/* runs of blocks given back (run_mark()), chained through word 0 */
	void *taken;		/* the owner's: runs of remote frees it took, still counted in used */
	uint32_t used;		/* blocks out in thread caches or with the user */
	uint32_t carved;	/* blocks ever cut from start (bump) */
	uint32_t capacity;
	uint32_t bsize;
	uint8_t cls, npages, partial;
	uint8_t purging;	/* its parked pages are being purged: on no list, not released */
	uint8_t seen;		/* looked at by park_pages() since blocks last came back */
	uint8_t fresh;		/* cut from pages never touched (or purged): carving faults them in */
	uint32_t parked;	/* bit i: system page i purged, its blocks off the free list */
	uint32_t nparked;	/* free blocks off the free list (on parked pages) */
	uint64_t back_ms;	/* when blocks last came back while nobody owned it */
	struct span *next;		/* a chain of spans on their way to span_release() */
	_Atomic(const void *) owner;	/* the thread whose active span it is, or NULL */
	_Atomic(void *) remote;		/* blocks freed by other threads, chained; or
					 * REMOTE_CLOSED while nobody owns the span */
};

struct superslab {
	uint32_t magic;
	uint32_t shard;			/* the shard whose lists and locks it is on, for life */
	uint32_t free_pages;		/* bit i: page i holds no span */
	uint32_t purging;		/* free pages off free_pages while purged */
	uint32_t clean;			/* free pages purged since their span left */
	uint8_t span_of_page[HAK_SS_PAGES];
	struct superslab *next, *prev;	/* avail, full or empty list */
	uint64_t emptied_ms;		/* wholly free since */
	uint64_t freed_ms;		/* free pages idle since (the latest span_give()) */
	struct span spans[HAK_SS_PAGES];	/* by first page */
	/* per tiny class, under its lock: bit i set when spans[i] is partial,
	 * and while any bit is set, the links on the class's partial list */
	uint32_t nonempty_mask[HAK_SS_NSERVED];
	struct superslab *pnext[HAK_SS_NSERVED], *pprev[HAK_SS_NSERVED];
	_Atomic uint64_t live[LIVE_WORDS];	/* HAKMEM_CHECK=full only */
};

BUILD_BUG_ON(sizeof(struct superslab) > SS_PAGE);
BUILD_BUG_ON(HAK_SMALL_NCLASSES >= 255);
BUILD_BUG_ON(HAK_SS_PAGE_SHIFT != HAK_RMAP_PAGE_SHIFT);	/* one class byte per page */

/* A class's counters, one set per shard (summed for stats and the learner). */
#define SS_COUNTERS(X)	X(refills) X(blocks_out) X(flushes) X(blocks_in) X(spans_new)	\
			X(spans_freed) X(remote_frees) X(drains) X(drained)
#define SS_FIELD(f)	hak_counter_t f;

struct class_counts {
	SS_COUNTERS(SS_FIELD)
};

/* A class in a shard, under the shard's lock. */
struct class_state {
	struct superslab *partial;	/* the shard's superslabs with a partial span of the class */
	unsigned npartial;		/* partial spans */
	struct class_counts n;
} __attribute__((aligned(64)));

/*
 * A shard: per class a partial list under its lock, and its own superslabs
 * under its ss_lock. Each thread refills from one (shard_me()), so threads
 * of different shards share no lock on a refill or flush.
 */
struct shard {
	pthread_mutex_t lock;		/* every class's partial list and unowned spans */
	struct class_state classes[HAK_SS_NSERVED];
	pthread_mutex_t ss_lock;
	struct superslab *avail_list, *full_list, *empty_list;
	_Atomic unsigned nempty;	/* ss_lock; read without it by ss_unmap_idle() */
	_Atomic uint64_t scan_ms;	/* ss_decay_sometimes()'s last purge scan */
	unsigned park_cls;		/* lock: the class park() looks at first */
} __attribute__((aligned(64)));

static struct shard shards[SHARDS_MAX];
static unsigned nshards = 1;		/* a power of two, set at init */
static unsigned ss_keep;		/* HAKMEM_SS_KEEP, for all shards together */
static _Atomic unsigned next_shard;
static HAK_TLS unsigned my_shard;	/* this thread's shard + 1; 0: none yet */
static _Atomic unsigned shards_used;	/* bit s: shard_used(s) */
static uint8_t class_pages[HAK_SS_NSERVED];	/* pages per span */
static _Atomic uint64_t empty_delay_ms;	/* the learner may change it */
static bool check_full;
static bool p0_batch = true, p0_drain = true, p0_log;	/* HAKMEM_TINY_P0_* */
static hak_counter_t ss_mapped, ss_unmapped, ss_live, ss_purged_pages, ss_parked_pages;
static size_t sys_page;		/* the unit of parked pages */

#ifdef HAKMEM_TEST
void (*hak_ss_pushed_hook)(void);
#define PUSHED()	do { if (hak_ss_pushed_hook) hak_ss_pushed_hook(); } while (0)
#else
#define PUSHED()	((void)0)
#endif

/* ------------------------------------------------------------ size classes */

/*
 * A span holds at least 8 blocks of its class.
 * Shards: twice the CPUs online, rounded up to a power of two, within
 * [2, SHARDS_MAX] (4 on 2 CPUs). Threads take them round robin, so threads
 * running at once (more threads than CPUs is common) mostly have a shard
 * each; a shard's lock is taken about once per span (64 to thousands of
 * blocks), so more than 8 would gain little and cost each shard's own
 * superslabs and idle spans. HAKMEM_SS_KEEP is split between the shards:
 * together they keep that many empty superslabs, not nshards times as many.
 */
static void shards_init(unsigned keep)
{
	unsigned want = 2 * hak_sys_ncpus();

	sys_page = hak_sys_page_size();
	for (unsigned c = 0; c < HAK_SS_NSERVED; c++) {
		size_t pages = (8 * (size_t)hak_class_bytes[c] + SS_PAGE - 1) / SS_PAGE;

		class_pages[c] = (uint8_t)HAK_MAX(pages, 1);
		hak_assert(class_pages[c] * SS_PAGE / sys_page <= 32);	/* parked fits */
	}
	for (nshards = 2; nshards < want && nshards < SHARDS_MAX; nshards *= 2)
		;
	ss_keep = keep;
}

/* @sh's share of HAKMEM_SS_KEEP (computed: a shard's pages stay untouched until a thread uses it). */
static unsigned keep_empty(const struct shard *sh)
{
	unsigned s = (unsigned)(sh - shards);

	return ss_keep / nshards + (s < ss_keep % nshards);
}

/* This thread's shard: round robin at its first refill or flush. */
static struct shard *shard_me(void)
{
	if (unlikely(!my_shard)) {
		my_shard = (atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) &
			    (nshards - 1)) + 1;
		atomic_fetch_or_explicit(&shards_used, 1u << (my_shard - 1), memory_order_relaxed);
	}
	return &shards[my_shard - 1];
}

/*
 * Whether a thread ever took shard @s: the others hold no superslab, and
 * stealing and decay leave them (and their pages) untouched.
 */
static bool shard_used(unsigned s)
{
	return hak_atomic_load_relaxed(&shards_used) >> s & 1;
}

/* -------------------------------------------------------------- superslabs */

static struct superslab *ss_of(const void *p)
{
	return (struct superslab *)((uintptr_t)p & ~(HAK_SS_SIZE - 1));
}

/* The shard of @sp's superslab, whose lock @sp is under while nobody owns it. */
static struct shard *span_shard(const struct span *sp)
{
	return &shards[ss_of(sp->start)->shard];
}

/* @sp's class in its shard. */
static struct class_state *span_class(const struct span *sp)
{
	return &span_shard(sp)->classes[sp->cls];
}

static struct span *span_of(const void *p)
{
	struct superslab *ss = ss_of(p);
	unsigned page = ((uintptr_t)p >> HAK_SS_PAGE_SHIFT) & (HAK_SS_PAGES - 1);

	return &ss->spans[ss->span_of_page[page]];
}

static void list_add(struct superslab **head, struct superslab *ss)
{
	ss->prev = NULL;
	ss->next = *head;
	if (*head)
		(*head)->prev = ss;
	*head = ss;
}

static void list_del(struct superslab **head, struct superslab *ss)
{
	if (ss->prev)
		ss->prev->next = ss->next;
	else
		*head = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
}

/*
 * A fresh superslab of @sh, mapped and registered with no lock held, then
 * put on its avail list (not the empty one, where another thread's decay or
 * reclaim could unmap it before the grower's span_new() finds it). False
 * on ENOMEM.
 */
static bool ss_grow(struct shard *sh)
{
	struct superslab *ss;
	void *p;

	if (hak_sys_map(HAK_SS_SIZE, HAK_SS_SIZE, &p))
		return false;
	ss = p;
	ss->magic = SS_MAGIC;
	ss->shard = (uint32_t)(sh - shards);
	ss->free_pages = ALL_PAGES;
	ss->clean = ALL_PAGES;	/* never touched: nothing to purge */
	if (hak_rmap_register(ss, HAK_SS_SIZE, HAK_RMAP_SUPERSLAB)) {
		hak_sys_unmap(ss, HAK_SS_SIZE);
		return false;
	}
	hak_count(ss_mapped, 1);
	hak_count(ss_live, 1);
	hak_lock(&sh->ss_lock);
	list_add(&sh->avail_list, ss);
	hak_unlock(&sh->ss_lock);
	return true;
}

/* @ss, off every list, back to the OS (no lock held). */
static void ss_unmap(struct superslab *ss)
{
	hak_rmap_unregister(ss, HAK_SS_SIZE);
	hak_sys_unmap(ss, HAK_SS_SIZE);
	hak_count(ss_unmapped, 1);
	hak_atomic_sub_relaxed(&ss_live, 1);
}

/*
 * Unmap up to *@budget empty superslabs of @sh past its newest keep_empty
 * that idled for @delay at @now, taken off the empty list under its ss_lock
 * and unmapped after; *@budget goes down by as many. Returns the bytes
 * given back.
 */
static size_t ss_unmap_idle(struct shard *sh, uint64_t now, uint64_t delay, unsigned *budget)
{
	struct superslab *gone = NULL, *ss, *next;
	unsigned n = 0, i = 0, keep = keep_empty(sh);

	if (hak_atomic_load_relaxed(&sh->nempty) <= keep || !*budget)
		return 0;
	hak_lock(&sh->ss_lock);
	for (ss = sh->empty_list; ss && n < *budget; ss = next, i++) {
		next = ss->next;
		if (i < keep || now < ss->emptied_ms + delay)
			continue;
		list_del(&sh->empty_list, ss);
		sh->nempty--;
		ss->next = gone;
		gone = ss;
		n++;
	}
	hak_unlock(&sh->ss_lock);
	*budget -= n;
	for (ss = gone; ss; ss = next) {
		next = ss->next;
		ss_unmap(ss);
	}
	return n * HAK_SS_SIZE;
}

/* @ss of @sh (its ss_lock held) has no span left: onto the empty list. */
static void ss_empty_locked(struct shard *sh, struct superslab *ss)
{
	list_del(&sh->avail_list, ss);
	ss->emptied_ms = ss->freed_ms;
	list_add(&sh->empty_list, ss);
	sh->nempty++;
}

/*
 * Purge the runs of @pages (bit i: the @unit bytes at @base + i * @unit),
 * one call each, with no lock held; returns the pages purged.
 */
static uint32_t purge_runs(char *base, uint32_t pages, size_t unit)
{
	uint64_t w = pages;
	uint32_t done = 0;

	for (unsigned i = hak_bits_next(&w, 0, 32, true), end; i < 32; i = hak_bits_next(&w, end, 32, true)) {
		end = hak_bits_next(&w, i, 32, false);
		if (!hak_sys_decommit(base + i * unit, (end - i) * unit))
			done |= (uint32_t)((((uint64_t)1 << (end - i)) - 1) << i);
	}
	return done;
}

/*
 * Purge the free pages of up to *@budget (at most SS_DECAY_MAX) superslabs
 * of @sh in use that had no span released for @delay at @now (@now 0: any);
 * *@budget goes down by as many. The pages leave free_pages for "purging"
 * under ss_lock, so no span_new() takes them while they are purged with no
 * lock held; then they come back as clean. Returns the bytes.
 */
static size_t ss_purge(struct shard *sh, uint64_t now, uint64_t delay, unsigned *budget)
{
	struct { struct superslab *ss; uint32_t pages, clean; } job[SS_DECAY_MAX];
	struct superslab *ss;
	unsigned n = 0, max = HAK_MIN(*budget, (unsigned)SS_DECAY_MAX);
	size_t bytes = 0;

	if (!max)
		return 0;
	hak_lock(&sh->ss_lock);
	for (ss = sh->avail_list; ss && n < max; ss = ss->next) {
		uint32_t dirty = ss->free_pages & ~ss->clean;

		if (!dirty || (now && now < ss->freed_ms + delay))
			continue;
		ss->free_pages &= ~dirty;
		ss->purging |= dirty;
		job[n].ss = ss;
		job[n++].pages = dirty;
	}
	hak_unlock(&sh->ss_lock);
	*budget -= n;
	for (unsigned k = 0; k < n; k++) {
		unsigned len;

		job[k].clean = purge_runs((char *)job[k].ss, job[k].pages, SS_PAGE);
		len = (unsigned)__builtin_popcount(job[k].clean);
		bytes += len * SS_PAGE;
		hak_count(ss_purged_pages, len);
	}
	hak_lock(&sh->ss_lock);
	for (unsigned k = 0; k < n; k++) {
		ss = job[k].ss;
		ss->free_pages |= job[k].pages;
		ss->purging &= ~job[k].pages;
		ss->clean |= job[k].clean;
		if (ss->free_pages == ALL_PAGES)
			ss_empty_locked(sh, ss);
	}
	hak_unlock(&sh->ss_lock);
	return bytes;
}

static size_t park_pages(struct shard *sh, uint64_t now, uint64_t delay);
static unsigned give_empty_spans(struct shard *sh);
static void retired_sweep(uint64_t now, bool actives);

/*
 * The decay op, for what idled past HAKMEM_SS_DELAY_MS (the learner's
 * delay): free pages of superslabs in use are purged; empty spans go back
 * to their superslabs and free pages inside partial spans are purged
 * (park_pages()); empty superslabs are unmapped. Shard by shard,
 * SS_DECAY_MAX superslabs of each kind a call in all. A span given back
 * keeps its pages until the next call, so a refill may still cut them
 * warm. First the calling thread's spans retired past the delay are
 * disowned (and at a delay of 0 its active spans with free pages), so
 * that their free blocks count.
 */
static size_t ss_decay(uint64_t now)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);
	unsigned unmaps = SS_DECAY_MAX, purges = SS_DECAY_MAX;
	size_t bytes = 0;

	retired_sweep(now, true);
	for (unsigned s = 0; s < nshards; s++)
		if (shard_used(s))
			bytes += ss_purge(&shards[s], now, delay, &purges);
	for (unsigned s = 0; s < nshards; s++)
		if (shard_used(s))
			bytes += park_pages(&shards[s], now, delay);
	for (unsigned s = 0; s < nshards; s++)
		if (shard_used(s))
			bytes += ss_unmap_idle(&shards[s], now, delay, &unmaps);
	return bytes;
}

/*
 * The same for @sh at a span change, once no lock is held: the purge's scan
 * walks the avail list, so it runs once per half delay and clock step at most.
 */
static void ss_decay_sometimes(struct shard *sh, uint64_t now)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);
	unsigned unmaps = SS_DECAY_MAX, purges = SS_DECAY_MAX;

	if (now >= hak_atomic_load_relaxed(&sh->scan_ms) + HAK_MAX(delay / 2, (uint64_t)1)) {
		hak_atomic_store_relaxed(&sh->scan_ms, now);
		ss_purge(sh, now, delay, &purges);
		park_pages(sh, now, delay);
	}
	ss_unmap_idle(sh, now, delay, &unmaps);
}

/* The bits of pages 0 .. @n - 1 (@n <= 32). */
static uint32_t pages_mask(unsigned n)
{
	return n == 32 ? ~0u : (1u << n) - 1;
}

static int find_run(uint32_t free_pages, unsigned n)
{
	uint32_t want = pages_mask(n);

	for (unsigned i = 1; i + n <= HAK_SS_PAGES; i++)
		if (((free_pages >> i) & want) == want)
			return (int)i;
	return -1;
}

/* A new span of class @cls cut from a superslab of @sh, or NULL when none has room. */
static struct span *span_new(struct shard *sh, unsigned cls)
{
	unsigned n = class_pages[cls];
	struct superslab *ss;
	struct span *sp;
	int first = -1;

	hak_lock(&sh->ss_lock);
	for (ss = sh->avail_list; ss; ss = ss->next) {
		first = find_run(ss->free_pages, n);
		if (first >= 0)
			break;
	}
	if (!ss && (ss = sh->empty_list)) {	/* the most recently emptied: its pages are warm */
		list_del(&sh->empty_list, ss);
		sh->nempty--;
		list_add(&sh->avail_list, ss);
		first = 1;
	}
	if (!ss) {
		hak_unlock(&sh->ss_lock);
		return NULL;
	}
	sp = &ss->spans[first];
	*sp = (struct span){
		.start = (char *)ss + ((size_t)first << HAK_SS_PAGE_SHIFT),
		.bsize = hak_class_bytes[cls],
		.capacity = (uint32_t)(((size_t)n << HAK_SS_PAGE_SHIFT) / hak_class_bytes[cls]),
		.cls = (uint8_t)cls,
		.npages = (uint8_t)n,
		.fresh = (ss->clean & pages_mask(n) << first) == pages_mask(n) << first,
		.remote = REMOTE_CLOSED,
	};
	for (unsigned i = (unsigned)first; i < first + n; i++) {
		ss->span_of_page[i] = (uint8_t)first;
		ss->free_pages &= ~(1u << i);
	}
	hak_rmap_set_class(sp->start, n, cls);
	ss->clean &= ss->free_pages;
	if (!(ss->free_pages | ss->purging)) {	/* full: no longer worth scanning */
		list_del(&sh->avail_list, ss);
		list_add(&sh->full_list, ss);
	}
	hak_unlock(&sh->ss_lock);
	hak_count(sh->classes[cls].n.spans_new, 1);
	return sp;
}

/*
 * Unowned @sp, off every list, back to its superslab (no lock held); its
 * pages count as free since its last block came back. Returns the shard.
 */
static struct shard *span_give(struct span *sp)
{
	struct superslab *ss = ss_of(sp->start);
	struct shard *sh = &shards[ss->shard];
	unsigned first = (unsigned)((sp->start - (char *)ss) >> HAK_SS_PAGE_SHIFT);

	hak_count(sh->classes[sp->cls].n.spans_freed, 1);
	hak_lock(&sh->ss_lock);
	if (!(ss->free_pages | ss->purging)) {
		list_del(&sh->full_list, ss);
		list_add(&sh->avail_list, ss);
	}
	for (unsigned i = first; i < first + sp->npages; i++)
		ss->free_pages |= 1u << i;
	ss->freed_ms = HAK_MAX(ss->freed_ms, sp->back_ms);
	hak_rmap_set_class(sp->start, sp->npages, HAK_RMAP_NO_CLASS);
	if (ss->free_pages == ALL_PAGES)
		ss_empty_locked(sh, ss);
	hak_unlock(&sh->ss_lock);
	return sh;
}

/* span_give(), then the shard's decay if due. */
static void span_release(struct span *sp)
{
	ss_decay_sometimes(span_give(sp), hak_sys_now_ms());
}

/* ---------------------------------------------------- partial span lists */

static void partial_add(struct class_state *c, struct span *sp)
{
	struct superslab *ss = ss_of(sp->start);
	unsigned cls = sp->cls;

	sp->partial = 1;
	if (!ss->nonempty_mask[cls]) {
		ss->pprev[cls] = NULL;
		ss->pnext[cls] = c->partial;
		if (c->partial)
			c->partial->pprev[cls] = ss;
		c->partial = ss;
	}
	ss->nonempty_mask[cls] |= 1u << (sp - ss->spans);
	c->npartial++;
}

static void partial_del(struct class_state *c, struct span *sp)
{
	struct superslab *ss = ss_of(sp->start);
	unsigned cls = sp->cls;

	sp->partial = 0;
	ss->nonempty_mask[cls] &= ~(1u << (sp - ss->spans));
	if (!ss->nonempty_mask[cls]) {
		if (ss->pprev[cls])
			ss->pprev[cls]->pnext[cls] = ss->pnext[cls];
		else
			c->partial = ss->pnext[cls];
		if (ss->pnext[cls])
			ss->pnext[cls]->pprev[cls] = ss->pprev[cls];
	}
	c->npartial--;
}

/* A partial span of class @cls (@c locked), or NULL: O(1). */
static struct span *partial_first(struct class_state *c, unsigned cls)
{
	struct superslab *ss = c->partial;

	return ss ? &ss->spans[__builtin_ctz(ss->nonempty_mask[cls])] : NULL;
}

/* ------------------------------------------------------- full checking */

static size_t live_bit(const void *p)
{
	return ((uintptr_t)p & (HAK_SS_SIZE - 1)) / HAK_MIN_ALIGN;
}

static void mark_live(void *p)
{
	size_t b = live_bit(p);

	hak_atomic_or_acq_rel(&ss_of(p)->live[b / 64], (uint64_t)1 << (b % 64));
}

/*
 * The first freed block found written after its free, noted under a
 * shard's lock (HAKMEM_CHECK=full's canary in span_take(), a run mark in
 * give_back()) and reported once no lock is held (report_corrupt()).
 */
static HAK_TLS struct {
	const void *blk;
	uint32_t bsize;
	size_t off;
} corrupt;

static void check_canary(const struct span *sp, const void *blk)
{
	const unsigned char *c = blk;

	for (size_t i = 2 * sizeof(void *); i < sp->bsize && !corrupt.blk; i++)
		if (c[i] != CANARY) {
			corrupt.blk = blk;
			corrupt.bsize = sp->bsize;
			corrupt.off = i;
		}
}

static HAK_SLOW_PATH void report_corrupt(void)
{
	const void *blk = corrupt.blk;

	corrupt.blk = NULL;	/* an abort handler may allocate */
	hak_fatal("heap corruption: free block %p (%u B) written at offset %zu after free",
		  blk, corrupt.bsize, corrupt.off);
}

static int check_free(void *p)
{
	struct span *sp = span_of(p);
	size_t off, b;
	uint64_t bit, old;

	if (hak_rmap_class(p) == HAK_RMAP_NO_CLASS)
		return -EINVAL;
	off = (size_t)((char *)p - sp->start);
	if (!sp->bsize || off % sp->bsize != 0 || off / sp->bsize >= sp->capacity)	/* !bsize: overwritten */
		return -EINVAL;
	b = live_bit(p);
	bit = (uint64_t)1 << (b % 64);
	old = hak_atomic_and_acq_rel(&ss_of(p)->live[b / 64], ~bit);
	if (!(old & bit))
		return -EALREADY;
	memset((char *)p + 2 * sizeof(void *), CANARY, sp->bsize - 2 * sizeof(void *));
	return 0;
}

/* ---------------------------------------------------------- refill/flush */

/*
 * Parked pages: a partial span nobody owns may hold whole system pages of
 * free blocks (a heap that shrank around a few live blocks). park_pages()
 * takes their blocks off the free list and purges them; span_take() gets
 * them back (unpark()) once the free list, the remote frees and the
 * uncarved blocks are used up. A carved block that overlaps a parked page
 * is free and off the free list, and comes back with the last parked page
 * it overlaps.
 */
static bool block_parked(const struct span *sp, size_t b)
{
	size_t first = b * sp->bsize / sys_page, last = ((b + 1) * sp->bsize - 1) / sys_page;

	return sp->parked & (uint32_t)(((uint64_t)2 << last) - ((uint64_t)1 << first));
}

/*
 * A run: @n blocks of @sp chained from @first to @last; its first block's
 * second word (a free block's key, which blocks off a bin need no more)
 * holds @n and @last's offset in @sp.
 */
static void run_mark(const struct span *sp, void **first, void **last, unsigned n)
{
	first[1] = (void *)((uint64_t)n << 32 | (uint64_t)((char *)last - sp->start));
}

/* The run that starts at @first: its length @n and @last block; false if not a run's mark. */
static bool run_read(const struct span *sp, void **first, unsigned *n, void ***last)
{
	uint64_t h = (uint64_t)first[1];
	uint32_t off = (uint32_t)h;

	*n = (uint32_t)(h >> 32);
	*last = (void **)(sp->start + off);
	return *n && *n <= sp->carved && off % sp->bsize == 0 && off / sp->bsize < sp->carved;
}

/*
 * Move whole runs of @list (@sp's free or taken list) onto @head until
 * @want blocks, up to @most; a run that would pass @most is cut at @want,
 * its rest marked as a run. Returns how many. A run mark that is not one
 * drops the rest of @list, noted for report_corrupt() (callers may hold a
 * lock; the report ends the process).
 */
static unsigned take_runs(struct span *sp, void **list, unsigned want, unsigned most, void **head)
{
	unsigned got = 0;

	while (got < want && *list) {
		void **first = *list, **last;
		unsigned n;

		if (unlikely(!run_read(sp, first, &n, &last))) {
			corrupt.blk = first;
			corrupt.bsize = sp->bsize;
			corrupt.off = sizeof(void *);
			*list = NULL;
			break;
		}
		first[1] = (void *)(uintptr_t)hak_free_key;	/* as its run's other blocks */
		if (got + n > most) {	/* walk the part that fits */
			void **end = last;
			unsigned keep = want - got;

			last = first;
			for (unsigned i = 1; i < keep; i++)
				last = last[0];
			run_mark(sp, last[0], end, n - keep);
			n = keep;
		}
		*list = last[0];
		last[0] = *head;
		*head = first;
		got += n;
	}
	return got;
}

/* Put the run of @n blocks @first to @last on @sp's free list. */
static void free_push(struct span *sp, void **first, void **last, unsigned n)
{
	run_mark(sp, first, last, n);
	last[0] = sp->free;
	sp->free = first;
}

/* The lowest parked page of @sp back: its blocks onto the free list, one run. */
static void unpark(struct span *sp)
{
	unsigned page = (unsigned)__builtin_ctz(sp->parked), n = 0;
	size_t lo = page * sys_page;
	void **first = NULL, **last = NULL;

	sp->parked &= ~(1u << page);
	for (size_t b = lo / sp->bsize; b * sp->bsize < lo + sys_page && b < sp->carved; b++) {
		void **blk = (void **)(sp->start + b * sp->bsize);

		if (block_parked(sp, b))
			continue;
		blk[0] = first;
		if (!first)
			last = blk;
		first = blk;
		n++;
	}
	sp->nparked -= n;
	if (n)
		free_push(sp, first, last, n);
}

/* Whether fresh @sp has blocks never cut yet: a refill that got fewer than it wanted stopped at a page's end. */
static bool span_carving(const struct span *sp)
{
	return sp && sp->fresh && sp->carved < sp->capacity;
}

/*
 * Take @want blocks from @sp onto @head, or up to @most if whole runs of
 * remote frees make it more; fewer when @sp runs out or carving reached
 * the end of a page (span_carving()). Returns how many.
 */
static unsigned span_take(struct span *sp, unsigned want, unsigned most, void **head)
{
	unsigned got = take_runs(sp, &sp->free, want, check_full ? want : most, head), taken = 0;

	if (unlikely(check_full)) {	/* each block checked and marked live */
		void **b = *head;

		for (unsigned i = 0; i < got; i++, b = b[0]) {
			check_canary(sp, b);
			mark_live(b);
		}
	}
	/* blocks on "taken" are counted in used already */
	if (got < want)
		taken = take_runs(sp, &sp->taken, want - got, most - got, head);
	if (taken)
		hak_count(span_class(sp)->n.drained, taken);
	/*
	 * Carved blocks go onto @head in address order, so a bin hands them
	 * out upwards: blocks made together stay together across refills
	 * and leave whole pages when they are freed together. In a span on
	 * fresh pages carving stops at the end of the page the first block
	 * starts on (chaining a block writes to it): a refill faults in one
	 * new page at most, so a class a program uses a little costs it few
	 * pages (a fault costs over 10 us on some virtual machines;
	 * docs/TUNING.md). Pages a span had before are cut in whole batches.
	 */
	if (got + taken < want && sp->carved < sp->capacity) {
		char *first = sp->start + (size_t)sp->carved * sp->bsize;
		size_t room = sys_page - ((uintptr_t)first & (sys_page - 1));
		unsigned n = HAK_MIN(want - got - taken, sp->capacity - sp->carved);

		if (sp->fresh)
			n = HAK_MIN(n, (unsigned)((room + sp->bsize - 1) / sp->bsize));

		for (unsigned i = 0; i < n; i++) {
			void **b = (void **)(first + (size_t)i * sp->bsize);

			if (check_full)
				mark_live(b);
			b[0] = i + 1 < n ? (void *)((char *)b + sp->bsize) : *head;
		}
		*head = first;
		sp->carved += n;
		got += n;
	}
	while (got + taken < want && sp->parked && !span_carving(sp)) {
		unpark(sp);
		got += take_runs(sp, &sp->free, want - got - taken, want - got - taken, head);
	}
	sp->used += got;
	return got + taken;
}

/* HAKMEM_TINY_P0_LOG: check the active span's counters after each refill. */
static void p0_verify(const struct span *sp, unsigned got)
{
	unsigned nfree = 0;

	for (void **b = sp->free; b && nfree <= sp->carved; b = b[0])
		nfree++;
	hak_report("p0: class %u refill %u: span %p used %u + free %u %s carved %u",
		   sp->cls, got, (void *)sp->start, sp->used, nfree + sp->nparked,
		   sp->used + nfree + sp->nparked == sp->carved ? "==" : "!=", sp->carved);
}

/* This thread's identity as an owner, and its active span per class. */
static HAK_TLS char owner_token;
static HAK_TLS struct span *active[HAK_SS_NSERVED];

/*
 * The span each class's active span replaced when it ran dry, still owned
 * ("retired"), and since when: blocks other threads free to it keep going
 * onto its remote list, lock-free, and the owner swaps it back in once any
 * came back (a producer's blocks freed by consumers). One per class, so a
 * thread holds at most two spans of a class that no other thread can reuse
 * or release. Disowned: the one a new retiree replaces; one retired longer
 * than the empty delay, seen by the owner's locked refills, its every 16th
 * flush and its decay op (the learner's tick); one whose blocks all came
 * back; all at thread exit. No retiring while the delay is 0 (the learner's
 * shrink: memory first).
 */
static HAK_TLS struct span *retired[HAK_SS_NSERVED];
static HAK_TLS uint64_t retired_ms[HAK_SS_NSERVED], retired_swept_ms;
static HAK_TLS unsigned flushes_unswept;	/* hak_ss_flush() sweeps every RETIRED_SWEEP_EVERY */

#define RETIRED_SWEEP_EVERY	16
#define SWEEP_FREE_PAGES	4

#define ME ((const void *)&owner_token)

/*
 * Put the runs on @chain, blocks of @sp counted as out, on its free list;
 * returns how many. Runs under a shard's lock: a run mark that is not one
 * is noted, reported once no lock is held (report_corrupt()), and nothing
 * is given back.
 */
static unsigned give_back(struct span *sp, void **chain)
{
	void **last = NULL;
	unsigned n = 0, k;

	for (void **first = chain; first; first = last[0]) {
		if (unlikely(!run_read(sp, first, &k, &last))) {
			corrupt.blk = first;
			corrupt.bsize = sp->bsize;
			corrupt.off = sizeof(void *);
			return 0;
		}
		n += k;
	}
	if (!n)
		return 0;
	last[0] = sp->free;
	sp->free = chain;
	sp->used -= n;
	return n;
}

/*
 * Append the remote list of @sp, and what its owner took of it, to its free
 * list, counted, leaving @sp's list empty (NULL) or closed (REMOTE_CLOSED);
 * returns how many blocks came from the remote list.
 */
static unsigned drain_remote(struct span *sp, void *leave)
{
	void *list = atomic_exchange(&sp->remote, leave);
	unsigned n = give_back(sp, list == REMOTE_CLOSED ? NULL : list);
	unsigned left = give_back(sp, sp->taken);	/* took them whole: drained now */

	sp->taken = NULL;
	if (n)
		hak_count(span_class(sp)->n.drains, 1);
	if (n + left)
		hak_count(span_class(sp)->n.drained, n + left);
	return n;
}

/*
 * The owner takes the remote list of @sp whole, without walking it: its
 * blocks stay counted in used and go out from "taken" (span_take), so each
 * is read once, when it is handed out. False when there was none.
 */
static bool take_remote(struct span *sp)
{
	hak_assert(!sp->taken);
	sp->taken = atomic_exchange(&sp->remote, NULL);
	if (!sp->taken)
		return false;
	hak_count(span_class(sp)->n.drains, 1);
	return true;
}

/*
 * Unowned @sp got blocks back at @now (@c locked): partial again, or
 * released; not while its parked pages are purged (park_pages() settles
 * it after). An empty span stays partial, for the next batch of a program
 * that frees its blocks in batches and takes them again: park_pages()
 * gives it back to its superslab once it idled for the delay; at once
 * while the delay is 0 (the learner's shrink: memory first). The class
 * keeps one partial span in any case, against churn at a span boundary.
 */
HAK_FAST_PATH struct span *settle_locked(struct class_state *c, struct span *sp, uint64_t now)
{
	sp->back_ms = now;
	sp->seen = 0;
	if (sp->purging)
		return NULL;
	if (!sp->partial && sp->used < sp->capacity)
		partial_add(c, sp);
	if (sp->used == 0 && c->npartial > 1 && !hak_atomic_load_relaxed(&empty_delay_ms)) {
		partial_del(c, sp);
		return sp;
	}
	return NULL;
}

/* Stop owning @sp (@c locked); returns it if it should go back to its superslab. */
static struct span *disown_locked(struct class_state *c, struct span *sp)
{
	atomic_store(&sp->owner, NULL);
	drain_remote(sp, REMOTE_CLOSED);
	return settle_locked(c, sp, hak_sys_now_ms());
}

/* Stop owning @sp, with no lock held: under its shard's lock, then released if idle. */
static void disown(struct span *sp)
{
	struct shard *sh = span_shard(sp);
	struct span *gone;

	hak_lock(&sh->lock);
	gone = disown_locked(&sh->classes[sp->cls], sp);
	hak_unlock(&sh->lock);
	if (unlikely(corrupt.blk))
		report_corrupt();
	if (gone)
		span_release(gone);
}

/* Take up to @want blocks from the unowned spans of @sh (its lock held; a thread that is exiting). */
static unsigned take_central_locked(struct shard *sh, unsigned cls, unsigned want, void **head)
{
	struct class_state *c = &sh->classes[cls];
	unsigned got = 0;

	while (got < want) {
		struct span *sp = partial_first(c, cls);

		if (!sp) {
			sp = span_new(sh, cls);
			if (!sp)
				break;
			partial_add(c, sp);
		}
		got += span_take(sp, want - got, want - got, head);	/* unowned: no remote blocks */
		if (sp->used == sp->capacity)
			partial_del(c, sp);
	}
	return got;
}

/*
 * This thread owns @sp now: under the lock of @sp's shard, or with no lock
 * when @sp was just cut (nobody else can see it).
 */
static void own(struct span *sp)
{
	atomic_store(&sp->owner, ME);
	atomic_store(&sp->remote, NULL);	/* open: was closed, nobody pushed */
}

/*
 * A partial span of class @cls from a shard other than @sh, adopted under
 * that shard's lock, taken with trylock (the caller holds @sh's: two
 * refills never wait for each other); NULL when none was free to take.
 * Before a new span is cut: threads of other shards may have left spans
 * with free blocks.
 */
static struct span *steal_locked(struct shard *sh, unsigned cls)
{
	for (unsigned i = 1; i < nshards; i++) {
		struct shard *o = &shards[((unsigned)(sh - shards) + i) & (nshards - 1)];
		struct span *sp;

		if (!shard_used((unsigned)(o - shards)) || hak_trylock(&o->lock))
			continue;
		sp = partial_first(&o->classes[cls], cls);
		if (sp) {
			partial_del(&o->classes[cls], sp);
			own(sp);
		}
		hak_unlock(&o->lock);
		if (sp)
			return sp;
	}
	return NULL;
}

/*
 * A new active span for this thread (@sh's lock held): a partial one
 * of @sh, else of another shard, else cut from a superslab of @sh; NULL
 * when none has room. (Spans are not cut from other shards' superslabs:
 * their lives would then take those shards' locks. A shard's superslab
 * costs address space; only the pages of its spans are touched, and each
 * thread has its own active spans anyway.)
 */
static struct span *adopt_locked(struct shard *sh, unsigned cls)
{
	struct class_state *c = &sh->classes[cls];
	struct span *sp = partial_first(c, cls);

	if (sp)
		partial_del(c, sp);
	else if ((sp = steal_locked(sh, cls)))
		return sp;
	else
		sp = span_new(sh, cls);
	if (sp)
		own(sp);
	return sp;
}

/*
 * Blocks from class @cls's spans (@sh's lock held) until @want (up to
 * @most, whole runs of an adopted span's free list): adopted ones, or for
 * a thread that is exiting, unowned ones (exactly @want). Spans that
 * ran out go onto @gone to release, or, another shard's, onto @dry to
 * disown once the lock is dropped. Fewer than @want: no superslab of @sh
 * has room (ss_grow() it, unlocked).
 */
static unsigned refill_locked(struct shard *sh, unsigned cls, unsigned want, unsigned most,
			      void **head, struct span **gone, struct span **dry)
{
	struct class_state *c = &sh->classes[cls];
	struct span *sp, *g;
	unsigned got = 0;

	if (hak_sys_thread_exiting())
		return take_central_locked(sh, cls, want, head);
	while (got < want && (sp = adopt_locked(sh, cls))) {
		active[cls] = sp;
		got += span_take(sp, want - got, most - got, head);	/* adopted: no remote blocks */
		if (got < want && span_carving(sp))	/* the rest at the next refill */
			break;
		if (got < want) {	/* a small span: take another */
			active[cls] = NULL;
			if (span_class(sp) != c) {
				sp->next = *dry;
				*dry = sp;
			} else if ((g = disown_locked(c, sp))) {
				g->next = *gone;
				*gone = g;
			}
		}
	}
	return got;
}

/*
 * Disown the spans retired longer than the empty delay; looks once per
 * delay, from locked refills and every RETIRED_SWEEP_EVERY flushes (a heap
 * that shrinks frees and refills nothing: the learner's delay is short then).
 * At a delay of 0 (the learner's shrink: memory first), with @actives
 * (from frees and decay, not refills), the active spans with
 * SWEEP_FREE_PAGES free pages' worth of blocks go too, so that their free
 * pages are parked as other partial spans' are; a later refill adopts
 * them again.
 */
static void retired_sweep(uint64_t now, bool actives)
{
	uint64_t delay = hak_atomic_load_relaxed(&empty_delay_ms);

	if (now - retired_swept_ms < delay)
		return;
	retired_swept_ms = now;
	for (unsigned cls = 0; cls < HAK_SS_NSERVED; cls++) {
		struct span *sp = retired[cls];

		if (sp && now - retired_ms[cls] >= delay) {
			retired[cls] = NULL;
			disown(sp);
		}
		sp = active[cls];
		if (actives && !delay && sp &&
		    (size_t)(sp->carved - sp->used) * sp->bsize >= SWEEP_FREE_PAGES * sys_page) {
			active[cls] = NULL;
			disown(sp);
		}
	}
}

unsigned hak_ss_refill(unsigned cls, unsigned want, unsigned most, void **head)
{
	struct shard *sh = shard_me();
	struct class_state *c = &sh->classes[cls];
	struct span *sp = active[cls], *r, *gone = NULL, *dry = NULL;
	unsigned got = 0;
	bool grown = true, gave = false;

	hak_assert(cls < HAK_SS_NSERVED && want > 0 && most >= want);
	*head = NULL;
	if (sp) {	/* the owner's blocks: no lock */
		got = span_take(sp, want, most, head);
		if (got < want && p0_drain &&
		    (check_full ? drain_remote(sp, NULL) != 0 : take_remote(sp)))
			got += span_take(sp, want - got, most - got, head);
		if (got < want && (r = retired[cls]) &&
		    (r->free || hak_atomic_load_relaxed(&r->remote))) {	/* swap them */
			retired[cls] = sp;
			retired_ms[cls] = hak_sys_now_ms();
			active[cls] = sp = r;
			take_remote(sp);
			got += span_take(sp, want - got, most - got, head);
		}
		if (p0_log)
			p0_verify(sp, got);
	}
	if (got < want && !span_carving(sp)) {
		active[cls] = NULL;
		if (sp && sp->used && p0_drain && !check_full && !hak_sys_thread_exiting() &&
		    hak_atomic_load_relaxed(&empty_delay_ms)) {	/* 0: memory first */
			r = retired[cls];	/* retire @sp, disown the one it replaces */
			retired[cls] = sp;
			retired_ms[cls] = hak_sys_now_ms();
			sp = r;
		}
		if (sp && span_class(sp) != c) {	/* another shard's: its lock, not with ours */
			disown(sp);
			sp = NULL;
		}
		hak_lock(&sh->lock);
		if (sp && (gone = disown_locked(c, sp)))
			gone->next = NULL;
		/*
		 * Other classes' empty spans go back to their superslabs first,
		 * once; then a superslab is mapped; both with no lock held, then
		 * the refill goes on.
		 */
		while ((got += refill_locked(sh, cls, want - got, most - got, head, &gone, &dry)) < want &&
		       grown && !span_carving(active[cls])) {
			hak_unlock(&sh->lock);
			if (gave || !(gave = give_empty_spans(sh) != 0))
				grown = ss_grow(sh);
			hak_lock(&sh->lock);
		}
		hak_unlock(&sh->lock);
		while (dry) {
			struct span *d = dry;

			dry = d->next;
			disown(d);
		}
		while (gone) {
			struct span *g = gone;

			gone = g->next;
			span_release(g);
		}
		ss_decay_sometimes(sh, hak_sys_now_ms());
		retired_sweep(hak_sys_now_ms(), false);
	}
	if (unlikely(corrupt.blk))
		report_corrupt();
	hak_count(c->n.refills, 1);
	hak_count(c->n.blocks_out, got);
	hak_tick_taken((size_t)got * hak_class_bytes[cls]);
	return got;
}

/*
 * Push the run of @n blocks @first to @last onto the remote list of @sp;
 * false when the list is closed (nobody owns @sp). Once it returns true
 * @sp may be gone.
 */
static bool remote_push(struct span *sp, void **first, void **last, unsigned n)
{
	void *old = atomic_load(&sp->remote);

	run_mark(sp, first, last, n);

	do {
		if (old == REMOTE_CLOSED)
			return false;
		last[0] = old;
	} while (!atomic_compare_exchange_weak(&sp->remote, &old, first));
	return true;
}

/*
 * Give back @n blocks of @sp, @first to @last: onto its remote list while
 * another thread owns it, else (disowned meanwhile) under the lock of its
 * shard. Counted in @mine (the flusher's class state).
 */
static void push_remote(struct class_state *mine, struct span *sp, void **first, void **last,
			unsigned n)
{
	struct shard *sh;
	struct span *gone = NULL;

	hak_count(mine->n.remote_frees, n);
	if (remote_push(sp, first, last, n)) {
		PUSHED();
		return;
	}
	sh = span_shard(sp);	/* unowned, and our blocks keep it mapped */
	hak_lock(&sh->lock);
	if (!remote_push(sp, first, last, n)) {	/* still closed: the lock's span */
		last[0] = NULL;
		give_back(sp, first);
		gone = settle_locked(&sh->classes[sp->cls], sp, hak_sys_now_ms());
	}
	hak_unlock(&sh->lock);
	if (unlikely(corrupt.blk))
		report_corrupt();
	if (gone)
		span_release(gone);
}

/*
 * Runs of spans nobody owns, chained on @central, back to their spans:
 * under the lock of each one's shard, one shard at a time. Spans to
 * release go onto @to_release.
 */
static void flush_unowned(void **central, struct span **to_release)
{
	uint64_t now = central ? hak_sys_now_ms() : 0;

	while (central) {
		struct class_state *c = span_class(span_of(central));
		struct shard *sh = span_shard(span_of(central));
		void **other = NULL;

		hak_lock(&sh->lock);
		for (void **first = central, **last, **next; first; first = next) {
			struct span *sp = span_of(first), *gone;
			unsigned n;

			run_read(sp, first, &n, &last);	/* hak_ss_flush() marked it */
			next = last[0];
			if (span_class(sp) != c) {	/* another shard's: next round */
				last[0] = other;
				other = first;
				continue;
			}
			if (remote_push(sp, first, last, n)) {	/* adopted meanwhile */
				hak_count(c->n.remote_frees, n);
				continue;
			}
			hak_assert(sp->used >= n);
			free_push(sp, first, last, n);
			sp->used -= n;
			gone = settle_locked(c, sp, now);
			if (gone) {
				gone->next = *to_release;
				*to_release = gone;
			}
		}
		hak_unlock(&sh->lock);
		central = other;
	}
}

/* A run of one span's blocks being gathered by hak_ss_flush(). */
struct open_run {
	struct span *sp;
	void **first, **last;
	unsigned n;
};

#define OPEN_RUNS	4	/* spans gathered at once */

/*
 * A gathered run of class @cls back to its span: my span's onto its free
 * list (a retired one with all its blocks back onto @idle), another
 * thread's onto its remote list, an unowned span's onto @central.
 */
static void run_close(struct class_state *c, unsigned cls, struct open_run *r, void ***central,
		      struct span **idle)
{
	struct span *sp = r->sp;
	const void *owner = atomic_load(&sp->owner);

	if (owner == ME) {	/* my active or retired span: no lock */
		free_push(sp, r->first, r->last, r->n);
		sp->used -= r->n;
		if (!sp->used && sp == retired[cls]) {	/* all back: let it go */
			retired[cls] = NULL;
			*idle = sp;
		}
	} else if (owner) {
		push_remote(c, sp, r->first, r->last, r->n);
	} else {
		run_mark(sp, r->first, r->last, r->n);
		r->last[0] = *central;
		*central = r->first;
	}
	*r = (struct open_run){ 0 };
}

void *hak_ss_flush(unsigned cls, void *head, unsigned n)
{
	struct class_state *c = &shard_me()->classes[cls];
	struct span *to_release = NULL;
	struct open_run runs[OPEN_RUNS] = { 0 }, *r = runs;
	struct span *idle = NULL;
	void **central = NULL, **b = head, **next;
	unsigned victim = 0;

	hak_assert(cls < HAK_SS_NSERVED);
	for (unsigned i = 0; i < n; i++, b = next) {
		struct span *sp = span_of(b);

		next = b[0];
		hak_assert(sp->cls == cls);
		if (r->sp != sp) {	/* not the span of the block before: its run, or a new one */
			for (r = runs; r < runs + OPEN_RUNS && r->sp && r->sp != sp; r++)
				;
			if (r == runs + OPEN_RUNS) {
				r = &runs[victim++ % OPEN_RUNS];
				run_close(c, cls, r, &central, &idle);
			}
			if (!r->sp)
				*r = (struct open_run){ .sp = sp, .last = b };
		}
		b[0] = r->first;
		r->first = b;
		r->n++;
	}
	for (r = runs; r < runs + OPEN_RUNS && r->sp; r++)
		run_close(c, cls, r, &central, &idle);
	if (idle)
		disown(idle);
	if (++flushes_unswept == RETIRED_SWEEP_EVERY) {
		flushes_unswept = 0;
		retired_sweep(hak_sys_now_ms(), true);
	}
	flush_unowned(central, &to_release);
	while (to_release) {
		struct span *sp = to_release;

		to_release = sp->next;
		span_release(sp);
	}
	hak_count(c->n.flushes, 1);
	hak_count(c->n.blocks_in, n);
	hak_tick_freed((size_t)n * hak_class_bytes[cls]);
	return b;
}

/* ------------------------------------------------------ thread-cache bins */

bool hak_ss_check_full(void)
{
	return check_full;
}

void *hak_ss_bin_refill(struct hak_bin *b, unsigned cls, unsigned batch)
{
	unsigned want = p0_batch ? batch : 1, got;
	void **head;

	hak_assert(b->head == NULL && b->count == 0 && batch >= 1);
	/* whole runs of remote frees may fill the bin up to its cap */
	got = hak_ss_refill(cls, want, p0_batch ? HAK_MAX(want, b->cap + 1) : 1, (void **)&head);
	if (!got)
		return NULL;
	b->head = head[0];
	b->count = got - 1;
	head[1] = NULL;	/* the caller's block carries no free key */
	return head;
}

/* Give back the newest blocks of @b, all but @keep: one walk, the flush's. */
static void bin_trim(struct hak_bin *b, unsigned cls, unsigned keep)
{
	unsigned n = b->count - keep;

	if (!n)
		return;
	b->head = hak_ss_flush(cls, b->head, n);
	b->count = keep;
}

void hak_ss_bin_free_slow(struct hak_bin *b, void *p, unsigned cls)
{
	if (hak_bin_has_key(p) && hak_bin_contains(b, p))
		hak_fatal("double free(%p)", p);
	if (check_full) {
		int err = check_free(p);

		if (err == -EALREADY)
			hak_fatal("double free(%p)", p);
		if (err)
			hak_fatal("invalid free(%p): not the start of a %u B block in use",
				  p, hak_class_bytes[cls]);
		((void **)p)[1] = (void *)(uintptr_t)hak_free_key;
	}
	if (b->cap == 0) {	/* no caching: full checks, or the thread is exiting */
		hak_ss_flush(cls, p, 1);
		return;
	}
	/* Make room first, so that @p keeps the key on the bin: a second free
	 * right after this one is still caught. */
	if (b->count >= b->cap)
		bin_trim(b, cls, p0_batch ? b->cap / 2 : b->cap - 1);
	hak_bin_push(b, p);
}

void hak_ss_bin_drain(struct hak_bin *b, unsigned cls)
{
	bin_trim(b, cls, 0);
	b->cap = 0;
}

#ifdef HAKMEM_TEST
unsigned hak_ss_nshards(void)
{
	return nshards;
}

unsigned hak_ss_thread_shard(void)
{
	return (unsigned)(shard_me() - shards);
}

unsigned hak_ss_shard_of(const void *p)
{
	return ss_of(p)->shard;
}
#endif

/* ------------------------------------------------------------ box ops */

static int ss_init(const struct hak_options *opt)
{
	shards_init((unsigned)opt->v[HAK_OPT_SS_KEEP]);
	hak_ss_set_delay((uint64_t)opt->v[HAK_OPT_SS_DELAY_MS]);
	check_full = opt->v[HAK_OPT_CHECK] == HAK_CHECK_FULL;
	p0_batch = opt->v[HAK_OPT_TINY_P0_ENABLE];
	p0_drain = !opt->v[HAK_OPT_TINY_P0_NO_DRAIN];
	p0_log = opt->v[HAK_OPT_TINY_P0_LOG];
	return 0;
}

/* Hand this thread's active spans back (tiny and pool drained their bins first). */
static void ss_thread_exit(void)
{
	for (unsigned cls = 0; cls < HAK_SS_NSERVED; cls++) {
		struct span *sp = active[cls], *r = retired[cls];

		active[cls] = retired[cls] = NULL;
		if (sp)
			disown(sp);
		if (r)
			disown(r);
	}
}

/*
 * @sp unowned and partial (its shard's lock held): take the blocks of its
 * whole free system pages off the free list and mark the pages parked;
 * returns them (0: none, @sp unchanged).
 */
static uint32_t park(struct span *sp)
{
	uint64_t freed[SS_PAGE / HAK_MIN_ALIGN / 64] = { 0 };	/* bit i: block i on the free list */
	size_t end = (size_t)sp->carved * sp->bsize;
	uint32_t pages = 0, n = 0;
	void **kept = NULL, **tail = NULL;

	hak_assert(sp->capacity <= sizeof(freed) * 8);
	for (void **b = sp->free; b; b = b[0]) {
		size_t off = (size_t)((char *)b - sp->start), i = off / sp->bsize;

		if (off >= end || off % sp->bsize || ++n > sp->carved)
			return 0;	/* written after free: refills and checks report it */
		hak_bits_assign(freed, (unsigned)i, 1, true);
	}
	/*
	 * Pages wholly carved, so that a block carved later overlaps no parked
	 * page; once every block is carved, the span's tail up to its end too.
	 */
	if (sp->carved == sp->capacity)
		end = (size_t)sp->npages << HAK_SS_PAGE_SHIFT;
	for (unsigned pg = 0; (pg + 1) * sys_page <= end; pg++) {
		size_t i = pg * sys_page / sp->bsize;
		size_t last = HAK_MIN(((pg + 1) * sys_page - 1) / sp->bsize, (size_t)sp->carved - 1);

		if (sp->parked >> pg & 1)
			continue;
		while (i <= last && (hak_bit(freed, (unsigned)i) || block_parked(sp, i)))
			i++;
		if (i > last)
			pages |= 1u << pg;
	}
	if (!pages)
		return 0;
	sp->parked |= pages;
	n = 0;
	for (void **b = sp->free, **next; b; b = next) {
		next = b[0];
		if (block_parked(sp, (size_t)((char *)b - sp->start) / sp->bsize)) {
			sp->nparked++;
			continue;
		}
		if (tail)
			tail[0] = b;
		else
			kept = b;
		tail = b;
		n++;
	}
	sp->free = NULL;
	if (tail) {
		tail[0] = NULL;
		free_push(sp, kept, tail, n);	/* the rest, one run */
	}
	return pages;
}

/*
 * The partial spans of @sh nobody owns that got no block back for @delay
 * at @now (@now 0: any), each looked at once per change: empty ones back
 * to their superslabs (GIVE_SPANS a call at most; a class keeps one), and
 * the whole free system pages inside the others purged (PARK_BLOCKS free
 * blocks walked and PARK_SPANS spans purged a call at most). A span being
 * purged is on no list, so nobody takes blocks from it or releases it;
 * blocks may come back to it. Returns the bytes purged.
 */
static size_t park_pages(struct shard *sh, uint64_t now, uint64_t delay)
{
	struct { struct span *sp; uint32_t pages; } job[PARK_SPANS];
	unsigned n = 0, walk = 0, given = 0;
	struct span *gone = NULL, *empty = NULL;
	size_t bytes = 0;

	hak_lock(&sh->lock);
	for (unsigned k = 0; k < HAK_SS_NSERVED && n < PARK_SPANS && walk < PARK_BLOCKS; k++) {
		unsigned cls = (sh->park_cls + k) % HAK_SS_NSERVED;
		struct class_state *c = &sh->classes[cls];

		for (struct superslab *ss = c->partial, *next; ss && n < PARK_SPANS && walk < PARK_BLOCKS;
		     ss = next) {
			next = ss->pnext[cls];
			for (uint32_t m = ss->nonempty_mask[cls]; m && n < PARK_SPANS; m &= m - 1) {
				struct span *sp = &ss->spans[__builtin_ctz(m)];
				size_t nfree = sp->carved - sp->used - sp->nparked;

				if (sp->seen || (now && now < sp->back_ms + delay))
					continue;	/* seen since, or blocks came back lately */
				if (!sp->used && c->npartial > 1 && given < GIVE_SPANS) {
					partial_del(c, sp);
					sp->next = empty;
					empty = sp;
					given++;
					continue;
				}
				if (check_full)
					continue;	/* free blocks keep their canaries */
				if (nfree * sp->bsize < sys_page) {
					sp->seen = 1;
					continue;	/* no whole free page */
				}
				if (walk + nfree > PARK_BLOCKS && walk)
					break;
				walk += (unsigned)nfree;
				sp->seen = 1;
				job[n].pages = park(sp);
				if (!job[n].pages)
					continue;
				partial_del(c, sp);
				sp->purging = 1;
				job[n++].sp = sp;
			}
		}
	}
	sh->park_cls = (sh->park_cls + 1) % HAK_SS_NSERVED;
	hak_unlock(&sh->lock);
	while (empty) {
		struct span *sp = empty;

		empty = sp->next;
		span_give(sp);	/* the caller's decay goes on */
	}
	for (unsigned k = 0; k < n; k++) {
		unsigned len = (unsigned)__builtin_popcount(purge_runs(job[k].sp->start, job[k].pages,
								      sys_page));

		bytes += len * sys_page;
		hak_count(ss_parked_pages, len);
	}
	hak_lock(&sh->lock);
	for (unsigned k = 0; k < n; k++) {
		struct span *sp = job[k].sp, *g;
		uint64_t back = sp->back_ms;	/* settling is not a block coming back */
		uint8_t seen = sp->seen;

		sp->purging = 0;
		g = settle_locked(&sh->classes[sp->cls], sp, back);
		sp->seen = seen;
		if (g) {
			g->next = gone;
			gone = g;
		}
	}
	hak_unlock(&sh->lock);
	while (gone) {
		struct span *g = gone;

		gone = g->next;
		span_release(g);
	}
	return bytes;
}

/* The unowned spans of @sh's class @cls with no block out, taken off its partial list. */
static struct span *idle_spans(struct shard *sh, unsigned cls)
{
	struct class_state *c = &sh->classes[cls];
	struct span *idle = NULL;

	hak_lock(&sh->lock);
	for (struct superslab *ss = c->partial, *next; ss; ss = next) {
		next = ss->pnext[cls];
		for (uint32_t m = ss->nonempty_mask[cls]; m; m &= m - 1) {
			struct span *sp = &ss->spans[__builtin_ctz(m)];

			if (sp->used)
				continue;
			partial_del(c, sp);
			sp->next = idle;
			idle = sp;
		}
	}
	hak_unlock(&sh->lock);
	return idle;
}

/*
 * Every class's empty spans of @sh back to their superslabs (no lock
 * held): before a refill maps a superslab (a program that moved from one
 * class to another takes the pages the first one left), and to reclaim.
 * Returns how many.
 */
static unsigned give_empty_spans(struct shard *sh)
{
	unsigned n = 0;

	for (unsigned cls = 0; cls < HAK_SS_NSERVED; cls++)
		for (struct span *sp = idle_spans(sh, cls), *next; sp; sp = next, n++) {
			next = sp->next;
			span_give(sp);
		}
	return n;
}

/*
 * Out of memory or malloc_trim, shard by shard: idle spans go back to
 * their superslabs, and every empty superslab to the OS, unmapped after
 * the shard's ss_lock is dropped, and the free pages inside partial spans.
 */
static size_t ss_reclaim(void)
{
	struct superslab *gone, *ss;
	size_t bytes = 0;

	for (unsigned s = 0; s < nshards; s++) {
		struct shard *sh = &shards[s];

		give_empty_spans(sh);
		hak_lock(&sh->ss_lock);
		gone = sh->empty_list;
		sh->empty_list = NULL;
		sh->nempty = 0;
		hak_unlock(&sh->ss_lock);
		for (; (ss = gone); bytes += HAK_SS_SIZE) {
			gone = ss->next;
			ss_unmap(ss);
		}
		for (size_t got; (got = ss_purge(sh, 0, 0, &(unsigned){ SS_DECAY_MAX }));)
			bytes += got;	/* stops at pages that cannot be purged */
		for (size_t got; (got = park_pages(sh, 0, 0));)
			bytes += got;
	}
	return bytes;
}

/* Every lock, shard by shard in index order: its lock, then its ss_lock. */
static void ss_prefork(void)
{
	for (unsigned s = 0; s < nshards; s++) {
		hak_lock(&shards[s].lock);
		hak_lock(&shards[s].ss_lock);
	}
}

static void ss_postfork_parent(void)
{
	for (unsigned s = nshards; s-- > 0;) {
		hak_unlock(&shards[s].ss_lock);
		hak_unlock(&shards[s].lock);
	}
}

/*
 * In the child, spans that other threads owned stay theirs: those threads
 * may have been halfway through a lock-free update when fork() copied
 * memory, so the child never touches them again (their blocks are lost to
 * the child, as the dead threads' bins are).
 */
/*
 * A purge runs with no lock held: a fork may have copied pages reserved by
 * a thread the child does not have. They are free: give them back (not
 * clean, as the purge may not have run).
 */
static void ss_postfork_child(void)
{
	for (unsigned s = 0; s < nshards; s++) {
		struct shard *sh = &shards[s];

		pthread_mutex_init(&sh->lock, NULL);
		pthread_mutex_init(&sh->ss_lock, NULL);
		/* spans whose pages a thread was parking, or that it was about to
		 * release (off the partial list, not yet back in their superslab) */
		for (int l = 0; l < 2; l++)
			for (struct superslab *ss = l ? sh->full_list : sh->avail_list; ss; ss = ss->next)
				for (unsigned i = 1; i < HAK_SS_PAGES; i++) {
					struct span *sp = &ss->spans[i];

					if (((ss->free_pages | ss->purging) >> i & 1) ||
					    ss->span_of_page[i] != i ||
					    (!sp->purging && (atomic_load(&sp->owner) || sp->partial ||
							      sp->used == sp->capacity)))
						continue;
					sp->purging = 0;
					partial_add(&sh->classes[sp->cls], sp);
				}
		for (struct superslab *ss = sh->avail_list, *next; ss; ss = next) {
			next = ss->next;
			ss->free_pages |= ss->purging;
			ss->purging = 0;
			if (ss->free_pages == ALL_PAGES)
				ss_empty_locked(sh, ss);
		}
	}
}

/* Every class's counters, summed over the shards. */
static void counts_sum(struct class_counts sum[HAK_SS_NSERVED])
{
	memset(sum, 0, HAK_SS_NSERVED * sizeof(sum[0]));
	for (unsigned s = 0; s < nshards; s++)
		for (unsigned i = 0; i < HAK_SS_NSERVED; i++) {
			const struct class_counts *c = &shards[s].classes[i].n;
#define SUM(f) sum[i].f += c->f;
			SS_COUNTERS(SUM)
#undef SUM
		}
}

static void ss_stats(struct hak_stats_sink *s)
{
	struct class_counts sum[HAK_SS_NSERVED];
	unsigned empty = 0;

	for (unsigned i = 0; i < nshards; i++)
		empty += hak_atomic_load_relaxed(&shards[i].nempty);
	hak_stat(s, "mapped", ss_mapped);
	hak_stat(s, "unmapped", ss_unmapped);
	hak_stat(s, "purged_pages", ss_purged_pages);
	hak_stat(s, "parked_pages", ss_parked_pages);
	hak_stat(s, "live", ss_live);
	hak_stat(s, "empty", empty);
	counts_sum(sum);
	for (unsigned i = 0; i < HAK_SS_NSERVED; i++) {
		const struct class_counts *c = &sum[i];

		if (!c->refills)
			continue;
		s->class_begin(s, i, hak_class_bytes[i]);
#define P(f) hak_stat(s, #f, c->f);
		SS_COUNTERS(P)
#undef P
		s->class_end(s);
	}
	/* blocks that left the spans for a thread: in use, or cached in a bin */
	hak_stat_bytes_live(s, &sum[0].blocks_out, &sum[0].blocks_in, sizeof(sum[0]),
			    hak_class_bytes, HAK_SS_NSERVED);
}

void hak_ss_set_delay(uint64_t ms)
{
	hak_atomic_store_relaxed(&empty_delay_ms, ms);
}

/* From the learner's tick on any slow path: only the two counters it needs, on the stack. */
void hak_ss_demand(struct hak_demand *d)
{
	struct { hak_counter_t out, in; } sum[HAK_SS_NSERVED] = { 0 };

	for (unsigned s = 0; s < nshards; s++)
		for (unsigned i = 0; i < HAK_SS_NSERVED; i++) {
			sum[i].out += shards[s].classes[i].n.blocks_out;
			sum[i].in += shards[s].classes[i].n.blocks_in;
		}
	d->out = hak_class_bytes_sum(&sum[0].out, &sum[0].in, sizeof(sum[0]), hak_class_bytes,
				     HAK_SS_NSERVED, &d->live);
}

/* Blocks on @chain, all carved blocks of @sp on no parked page; -1 when one is not. */
static int chain_check(const struct span *sp, void **chain, const char *what)
{
	unsigned n = 0;

	for (void **b = chain; b; b = b[0]) {
		size_t off = (size_t)((char *)b - sp->start);

		if (off % sp->bsize || off / sp->bsize >= sp->carved || ++n > sp->carved ||
		    block_parked(sp, off / sp->bsize)) {
			hak_report("self-check: span %p class %u: bad %s block %p",
				   (void *)sp->start, sp->cls, what, (void *)b);
			return -1;
		}
	}
	return (int)n;
}

/* Blocks in the runs on @chain, walked to the last each marks; -1 when one is not as marked. */
static int runs_check(const struct span *sp, void **chain)
{
	int total = 0;

	for (void **first = chain, **last, **b; first; first = last[0]) {
		unsigned n;

		if (!run_read(sp, first, &n, &last))
			goto bad;
		for (b = first; --n && b && b != last; b = b[0])
			total++;
		if (n || b != last)
			goto bad;
		total++;
	}
	return total;
bad:
	hak_report("self-check: span %p class %u: free or taken blocks not in runs as marked",
		   (void *)sp->start, sp->cls);
	return -1;
}

/*
 * Check one span against its real blocks: its lists inside it, counts
 * exact (blocks the owner took from its remote list count as out).
 */
static int span_check(const struct span *sp)
{
	int nfree = chain_check(sp, sp->free, "free"), ntaken = chain_check(sp, sp->taken, "taken");
	unsigned parked = 0;
	int errors = 0;

	if (nfree < 0 || ntaken < 0 || runs_check(sp, sp->free) != nfree ||
	    runs_check(sp, sp->taken) != ntaken)
		return 1;
	for (size_t b = 0; sp->parked && b < sp->carved; b++)
		parked += block_parked(sp, b);
	if (sp->used + (unsigned)nfree + sp->nparked != sp->carved || parked != sp->nparked ||
	    (unsigned)ntaken > sp->used || sp->carved > sp->capacity ||
	    (ntaken && !atomic_load(&sp->owner))) {
		hak_report("self-check: span %p class %u: used %u (taken %d) + free %d + parked %u (of %u) != carved %u (cap %u)",
			   (void *)sp->start, sp->cls, sp->used, ntaken, nfree, sp->nparked,
			   parked, sp->carved, sp->capacity);
		errors++;
	}
	if (!atomic_load(&sp->owner) != (atomic_load(&sp->remote) == REMOTE_CLOSED)) {
		hak_report("self-check: span %p class %u: remote list %s while %s",
			   (void *)sp->start, sp->cls,
			   atomic_load(&sp->remote) == REMOTE_CLOSED ? "closed" : "open",
			   atomic_load(&sp->owner) ? "owned" : "unowned");
		errors++;
	}
	if (sp->partial != (!atomic_load(&sp->owner) && sp->used < sp->capacity && !sp->purging)) {
		hak_report("self-check: span %p class %u: partial flag %u with used %u of %u",
			   (void *)sp->start, sp->cls, sp->partial, sp->used, sp->capacity);
		errors++;
	}
	return errors;
}

/* The spans of class @c in @ss of shard @s, and (once, for class 0) its list placement. */
static int superslab_check(struct superslab *ss, unsigned s, unsigned c, bool on_full_list)
{
	uint32_t partial = 0;
	int errors = 0;

	if (ss->magic != SS_MAGIC || ss->shard != s ||
	    (c == 0 && on_full_list != !(ss->free_pages | ss->purging))) {
		if (c == 0)
			hak_report("self-check: superslab %p: bad magic or on the wrong list",
				   (void *)ss);
		return c == 0;
	}
	for (unsigned i = 1; i < HAK_SS_PAGES; i++) {
		const void *o = atomic_load(&ss->spans[i].owner);

		if (((ss->free_pages | ss->purging) & (1u << i)) || ss->span_of_page[i] != i ||
		    ss->spans[i].cls != c)
			continue;
		partial |= (uint32_t)ss->spans[i].partial << i;
		/* another thread's active span changes under us: not checkable */
		if (!o || o == ME)
			errors += span_check(&ss->spans[i]);
	}
	if (partial != ss->nonempty_mask[c]) {
		hak_report("self-check: superslab %p class %u: nonempty_mask %#x, partial spans %#x",
			   (void *)ss, c, ss->nonempty_mask[c], partial);
		errors++;
	}
	return errors;
}

/*
 * Class @c's partial list in shard @s: the shard's superslabs with a
 * nonempty mask, as many bits as npartial.
 */
static int partial_list_check(unsigned s, unsigned c)
{
	const struct class_state *cs = &shards[s].classes[c];
	unsigned n = 0, listed = 0;

	for (struct superslab *ss = cs->partial; ss && listed <= 1u << 20;
	     ss = ss->pnext[c], listed++) {
		if (!ss->nonempty_mask[c] || ss->shard != s) {
			hak_report("self-check: superslab %p of shard %u on shard %u's class %u partial list, mask %#x",
				   (void *)ss, ss->shard, s, c, ss->nonempty_mask[c]);
			return 1;
		}
		n += (unsigned)__builtin_popcount(ss->nonempty_mask[c]);
	}
	if (n != cs->npartial) {
		hak_report("self-check: shard %u class %u: %u partial spans listed, %u counted",
			   s, c, n, cs->npartial);
		return 1;
	}
	return 0;
}

/*
 * Every shard, one class at a time (its lock, then its ss_lock), so at
 * most two locks are held.
 */
static int ss_self_check(void)
{
	int errors = 0;

	for (unsigned s = 0; s < nshards; s++)
		for (unsigned c = 0; c < HAK_SS_NSERVED; c++) {
			struct shard *sh = &shards[s];

			hak_lock(&sh->lock);
			errors += partial_list_check(s, c);
			hak_lock(&sh->ss_lock);
			for (int l = 0; l < 2; l++)
				for (struct superslab *ss = l ? sh->full_list : sh->avail_list; ss;
				     ss = ss->next)
					errors += superslab_check(ss, s, c, l == 1);
			hak_unlock(&sh->ss_lock);
			hak_unlock(&sh->lock);
		}
	return errors;
}

static void ss_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%u classes %u..%u B, %zu KiB pages in %zu MiB superslabs, %u shards, check %s",
		 HAK_SS_NSERVED, hak_class_bytes[0],
		 hak_class_bytes[HAK_SS_NSERVED - 1], SS_PAGE >> 10,
		 HAK_SS_SIZE >> 20, nshards, check_full ? "full" : "fast");
}

const struct hak_box hak_box_superslab = {
	.name = "superslab",
	.layer = 2,
	.init = ss_init,
	.thread_exit = ss_thread_exit,
	.prefork = ss_prefork,
	.postfork_parent = ss_postfork_parent,
	.postfork_child = ss_postfork_child,
	.reclaim = ss_reclaim,
	.decay = ss_decay,
	.stats = ss_stats,
	.self_check = ss_self_check,
	.describe = ss_describe,
};
