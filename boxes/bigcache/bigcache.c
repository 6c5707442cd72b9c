/*
 * bigcache.c - large blocks in a mapping each (whole 2 MiB granules of
 * address space; one mapped for the block is read-write up to its last page),
 * with a bounded cache of freed mappings. The page runs of the medium tier
 * are in segment.c.
 *
 * The cache is a hash table with chaining, keyed by the size class of the
 * mapping (4 classes per doubling), plus one list in age order for eviction
 * and expiry. A request takes the best-fitting cached mapping and splits off
 * the rest at a granule boundary. Both are threaded through the freed blocks' own headers, so
 * the cache allocates nothing. A mapping idle for HAKMEM_BIGCACHE_DELAY_MS
 * is returned to the OS at the next cache operation, at the next run
 * refill or flush of the medium tier (at most twice per delay), or by the
 * box's decay op (the registry runs every box's at thread exit).
 *
 * In front of the cache, slots (slot_put()) keep the last freed mappings of
 * up to 8 MiB of each thread group with no lock, counted against the same
 * bounds, and expired by the cache's operations and decay too. A freed
 * mapping that touches a cached one goes to the cache instead, to merge
 * (edges[] tells without the lock), and a request nothing fits moves the
 * slotted mappings into the cache before it gathers.
 *
 * Lock: cache_lock protects the table, the age list, the byte count and
 * the writes to edges[].
 * A live block's header is written only by the thread that owns the block.
 * No system call under it: mappings to release are unlinked and leave the
 * region map under it and are unmapped after; a mapping re-registered under
 * it (split, merge, gathered tail) was registered before, so its region-map
 * leaves exist and nothing is mapped. Never held with another lock.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "../base/hak_lock.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "bigcache.h"
#include "segment.h"

#define LIVE_MAGIC	0x4c49564542494721ull	/* "!GIBEVIL" */
#define FREE_MAGIC	0x4545524642494721ull	/* freed, not (yet) cached */
#define CACHED_MAGIC	0x4843414342494721ull	/* in the cache: set under cache_lock */
#define HDR_SIZE	64
#define NBUCKETS	64
#define BATCH		16	/* most mappings released per cache operation */
#define DECAY_MAX	4	/* ... and per decay */
#define NCLASSES	(HAK_RMAP_ADDR_BITS * 4)	/* size classes of 47-bit mappings */
#define MIN_SPLIT	((size_t)64 << 10)	/* smallest tail worth caching */
#define SLOT_SHARDS	8			/* sets of slots, one per thread group */
#define SLOT_N		4			/* slots per set */
#define SLOT_GRANULES	4			/* a slot holds at most 8 MiB */
#define EDGES		256			/* hints to cached mappings' ends */

struct large_hdr {
	_Atomic uint64_t magic;		/* neighbours read it to coalesce */
	size_t map_size;		/* bytes mapped from the header on */
	char *user;			/* the pointer handed out */
	uint32_t closed;		/* pages at the end of the mapping closed (live only) */
	/* while cached: */
	uint32_t freed_ms;		/* hak_sys_now_ms() mod 2^32 */
	struct large_hdr *next, *prev;	/* bucket chain */
	struct large_hdr *newer, *older;	/* age list */
};

BUILD_BUG_ON(sizeof(struct large_hdr) > HDR_SIZE);

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct large_hdr *buckets[NBUCKETS];
static struct large_hdr *newest, *oldest;
static unsigned ncached, max_entries;
static size_t cached_bytes;
static size_t bound_bytes;			/* HAKMEM_BIGCACHE_MB, or its default */
static _Atomic size_t max_bytes;		/* the learner's, at most bound_bytes */
static _Atomic uint64_t delay_ms;		/* the learner may change it */
static bool thp, segments;	/* segments: the page size is the one they are cut in */
static bool close_tails;	/* HAKMEM_CHECK=full: every live block's tail is closed */
static size_t runs_max;		/* HAKMEM_LARGE_RUNS_MB: larger blocks get a mapping each */
static hak_counter_t allocs, frees, hits, misses, gathers, splits, evictions, expired, resizes, trims;
/* bytes asked for, ever; the live blocks' bytes (runs or mappings) and count, now */
static hak_counter_t bytes_out, map_live_bytes, live_blocks;
static hak_counter_t map_out_bytes;		/* mapping bytes handed out, for the learner */
static hak_counter_t slot_hits, slot_bytes, slot_blocks;	/* taken from slots; in them now */

/*
 * Slots: freed mappings (FREE_MAGIC, whole, registered) kept outside the
 * cache's lock, each a word of the mapping's address | its granules, 0 when
 * empty, taken and filled by atomic exchange. A thread uses the set of its
 * group (round robin), so one that frees and allocates large blocks of the
 * same few sizes takes no lock; the decay op and trim empty any slot.
 */
static struct {
	_Atomic uintptr_t v[SLOT_N];
} __attribute__((aligned(64))) slots[SLOT_SHARDS];
static _Atomic unsigned next_slots;
static HAK_TLS unsigned my_slots;	/* this thread's set + 1; 0: none yet */

/*
 * Where cached mappings start and end, hashed by granule: written under
 * cache_lock as mappings enter and leave the cache, read with no lock by
 * slot_put(), so that a freed mapping that touches a cached one goes to the
 * cache and merges with it instead of waiting beside it in a slot (where a
 * bigger request would find neither whole). A word holds a boundary of a
 * mapping cached now, or 0; a collision only loses a hint.
 */
static _Atomic uintptr_t edges[EDGES];

static size_t user_offset(size_t align)
{
	return HAK_MAX(align, (size_t)HDR_SIZE);
}

/* Size class of a mapping: 4 classes per doubling of its page count. */
static unsigned size_class(size_t bytes)
{
	size_t pages = bytes / hak_sys_page_size();
	unsigned b = 63 - (unsigned)__builtin_clzll(pages | 1);

	return b < 2 ? (unsigned)pages : b * 4 + (unsigned)((pages >> (b - 2)) & 3);
}

/*
 * HAKMEM_LARGE_THP: huge pages for the whole granules of the first @used
 * bytes of mapping @h. Called before the header is written where that
 * faults a page in: a granule with a 4 KiB page in it stays on small pages.
 */
static void advise_huge(void *h, size_t used)
{
	if (thp && used >= HAK_RMAP_GRANULE)
		hak_sys_hugepage(h, used & ~(HAK_RMAP_GRANULE - 1));
}

/*
 * Mappings leave the region map under cache_lock (retire_locked) and are
 * unmapped after it is dropped (release): a coalescer holding the lock only
 * ever finds regions that are still mapped.
 */
static void retire_locked(struct large_hdr *h)
{
	hak_rmap_unregister(h, h->map_size);
}

/* Bytes from the header on that are read-write. */
static size_t open_bytes(const struct large_hdr *h)
{
	return h->map_size - (size_t)h->closed * hak_sys_page_size();
}

static void release(struct large_hdr *h)
{
	size_t page = hak_sys_page_size(), off = (size_t)(h->user - (char *)h);
	size_t size = h->map_size;

	if (off >= 2 * page) {	/* header page, guarded gap, block */
		hak_sys_unmap(h->user, size - off);
		hak_sys_unguard((char *)h + page, off - page);
		hak_sys_unmap(h, page);
	} else {
		hak_sys_unmap(h, size);
	}
}

static _Atomic uintptr_t *edge(const void *at)
{
	return &edges[((uintptr_t)at >> HAK_RMAP_SHIFT) % EDGES];
}

/* Note (@on) or forget where cached @h starts and ends. */
static void edges_locked(const struct large_hdr *h, bool on)
{
	uintptr_t at[2] = {(uintptr_t)h, (uintptr_t)h + h->map_size};

	for (int i = 0; i < 2; i++) {
		_Atomic uintptr_t *e = edge((void *)at[i]);

		if (on)
			hak_atomic_store_relaxed(e, at[i]);
		else if (hak_atomic_load_relaxed(e) == at[i])
			hak_atomic_store_relaxed(e, 0);
	}
}

/* Whether a cached mapping ends where freed @h starts or starts where it ends (a hint). */
static bool cached_beside(const struct large_hdr *h)
{
	uintptr_t start = (uintptr_t)h, end = start + h->map_size;

	return hak_atomic_load_relaxed(edge(h)) == start ||
	       hak_atomic_load_relaxed(edge((void *)end)) == end;
}

static void unlink_locked(struct large_hdr *h)
{
	h->magic = FREE_MAGIC;
	struct large_hdr **bucket = &buckets[size_class(h->map_size) % NBUCKETS];

	if (h->prev)
		h->prev->next = h->next;
	else
		*bucket = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (h->newer)
		h->newer->older = h->older;
	else
		newest = h->older;
	if (h->older)
		h->older->newer = h->newer;
	else
		oldest = h->newer;
	ncached--;
	cached_bytes -= h->map_size;
	edges_locked(h, false);
}

static void link_locked(struct large_hdr *h)
{
	h->magic = CACHED_MAGIC;
	struct large_hdr **bucket = &buckets[size_class(h->map_size) % NBUCKETS];

	h->prev = NULL;
	h->next = *bucket;
	if (*bucket)
		(*bucket)->prev = h;
	*bucket = h;
	h->older = newest;
	h->newer = NULL;
	if (newest)
		newest->newer = h;
	newest = h;
	if (!oldest)
		oldest = h;
	ncached++;
	cached_bytes += h->map_size;
	edges_locked(h, true);
}

/*
 * Unlink what must go, at most @max: mappings idle past the delay, then the
 * oldest while @incoming more bytes would break a bound. Returns them
 * chained by ->next.
 */
static struct large_hdr *expire_locked(size_t incoming, uint64_t now, unsigned max)
{
	struct large_hdr *out = NULL;
	int64_t delay = (int64_t)hak_atomic_load_relaxed(&delay_ms);
	size_t bound = hak_atomic_load_relaxed(&max_bytes);

	for (unsigned n = 0; oldest && n < max; n++) {
		struct large_hdr *h = oldest;
		/* signed: @now was read before the lock, an entry may be newer */
		bool stale = (int32_t)((uint32_t)now - h->freed_ms) >= delay;

		if (!stale && ncached + hak_atomic_load_relaxed(&slot_blocks) + (incoming ? 1 : 0) <= max_entries &&
		    cached_bytes + hak_atomic_load_relaxed(&slot_bytes) + incoming <= bound)
			break;
		unlink_locked(h);
		retire_locked(h);
		h->next = out;
		out = h;
		hak_count(*(stale ? &expired : &evictions), 1);
	}
	return out;
}

/* Release the mappings chained on @h; returns their bytes. */
static size_t release_all(struct large_hdr *h)
{
	size_t bytes = 0;

	while (h) {
		struct large_hdr *next = h->next;

		bytes += h->map_size;
		release(h);
		h = next;
	}
	return bytes;
}

/*
 * Make the @size bytes at @t, the end of a mapping the caller owns, a freed
 * mapping of its own, registered (the range was: its leaves exist).
 */
static void tail_locked(struct large_hdr *t, size_t size, uint32_t freed_ms)
{
	t->magic = FREE_MAGIC;
	t->map_size = size;
	t->closed = 0;
	t->user = (char *)t + HDR_SIZE;
	t->freed_ms = freed_ms;
	hak_rmap_register(t, size, HAK_RMAP_LARGE);
}

/*
 * Split off the part of cached @h beyond what @need bytes use, from the next
 * granule boundary on, as a cached mapping of its own (a region may start at
 * any granule), so one big freed block serves many smaller requests.
 */
static void split_locked(struct large_hdr *h, size_t need)
{
	size_t keep = HAK_ALIGN_UP(need, HAK_RMAP_GRANULE);
	struct large_hdr *t = (struct large_hdr *)((char *)h + keep);

	if (h->map_size < keep + MIN_SPLIT)
		return;
	tail_locked(t, h->map_size - keep, h->freed_ms);
	h->map_size = keep;
	link_locked(t);
	hak_count(splits, 1);
}

static unsigned slots_expire(uint64_t now, uint64_t idle, unsigned max, struct large_hdr **gone);

/*
 * Mappings idle for the delay in any slot at @now, at most @max, onto @gone
 * (counted as expired): the cache's operations and decay expire them too.
 * Returns how many.
 */
static unsigned slots_idle(uint64_t now, unsigned max, struct large_hdr **gone)
{
	unsigned n = slots_expire(now, hak_atomic_load_relaxed(&delay_ms), max, gone);

	hak_count(expired, n);
	return n;
}

/* The smallest cached mapping of at least @need bytes (the newest of equals), or NULL. */
static struct large_hdr *cache_take(size_t need)
{
	struct large_hdr *h = NULL, *gone, *idle = NULL;
	uint64_t now = hak_sys_now_ms();

	slots_idle(now, BATCH, &idle);
	hak_lock(&cache_lock);
	for (unsigned c = size_class(need); c < NCLASSES && !h; c++)
		for (struct large_hdr *e = buckets[c % NBUCKETS]; e; e = e->next)
			if (size_class(e->map_size) == c && e->map_size >= need &&
			    (!h || e->map_size < h->map_size))
				h = e;
	if (h) {
		unlink_locked(h);
		split_locked(h, need);
	}
	gone = expire_locked(0, now, BATCH);
	hak_unlock(&cache_lock);
	release_all(gone);
	release_all(idle);
	hak_tick(now);
	return h;
}

/* Cache @t, the part of a gathered mapping that was not needed. */
static void recache_tail(struct large_hdr *t, size_t size, uint32_t freed_ms)
{
	hak_lock(&cache_lock);
	tail_locked(t, size, freed_ms);
	link_locked(t);
	hak_unlock(&cache_lock);
}

/*
 * Move @size bytes from @src to @dst. Older kernels refuse to move a
 * range of several VMAs, which a gathered or merged mapping is (its pieces
 * came from different mappings): then move it granule by granule, the size
 * any such piece is made of. Nonzero when a move failed (@dst may have a hole).
 */
static int move_into(char *src, size_t size, char *dst)
{
	if (!hak_sys_move(src, size, dst))
		return 0;
	for (size_t off = 0; off < size; off += HAK_RMAP_GRANULE)
		if (hak_sys_move(src + off, HAK_RMAP_GRANULE, dst + off))
			return -1;
	return 0;
}

/* Unlink cached mappings, newest first, until they add up to @len bytes; chained by ->next. */
static struct large_hdr *gather_take(size_t len)
{
	struct large_hdr *list = NULL, **tail = &list, *c;
	size_t got = 0;

	hak_lock(&cache_lock);
	while (newest && got < len) {
		c = newest;
		unlink_locked(c);
		retire_locked(c);
		c->next = NULL;
		*tail = c;
		tail = &c->next;
		got += c->map_size;
	}
	hak_unlock(&cache_lock);
	return list;
}

/*
 * Move the pages of the mappings on @list (from gather_take()) over
 * [@dst, @dst + @len), part of a fresh mapping; the part of the last one
 * not needed is cached again. Nonzero when a move failed: [@dst, @dst +
 * @len) may have a hole, and what was on @list is gone.
 */
static int gather_move(struct large_hdr *list, char *dst, size_t len)
{
	char *end = dst + len;

	for (struct large_hdr *c = list, *next; c; c = next) {
		size_t size = c->map_size, take = HAK_MIN(size, (size_t)(end - dst));
		uint32_t freed_ms = c->freed_ms;

		next = c->next;
		if (move_into((char *)c, take, dst)) {
			hak_sys_unmap(c, size);	/* plain mappings: no header needed */
			release_all(next);
			return -1;
		}
		dst += take;
		if (take < size)
			recache_tail((struct large_hdr *)((char *)c + take), size - take, freed_ms);
	}
	return 0;
}

/* Unregister and unmap fresh @base (@size bytes), holed by a gather or left unused. */
static void drop_fresh(void *base, size_t size)
{
	/* leaving the map under the lock, as retire_locked() does */
	hak_lock(&cache_lock);
	hak_rmap_unregister(base, size);
	hak_unlock(&cache_lock);
	hak_sys_unmap(base, size);
}

/*
 * No cached mapping holds @need bytes: take cached ones, newest first, until
 * they add up to @need (the last one split at a granule) and move their
 * pages into one fresh mapping. Those pages are faulted in already, so the
 * block costs a few mremap() calls instead of a page fault per page, and
 * memory the cache held becomes the block's instead of adding to it.
 * NULL when the cache is empty or memory ran out.
 */
static struct large_hdr *cache_gather(size_t need)
{
	struct large_hdr *list = gather_take(need), *c;
	void *base;

	if (!list)
		return NULL;
	if (hak_sys_map(need, HAK_RMAP_GRANULE, &base)) {
		release_all(list);
		return NULL;
	}
	if (hak_rmap_register(base, need, HAK_RMAP_LARGE)) {
		hak_sys_unmap(base, need);
		release_all(list);
		return NULL;
	}
	if (gather_move(list, base, need)) {
		drop_fresh(base, need);
		return NULL;
	}
	hak_count(gathers, 1);
	c = base;
	c->map_size = need;
	c->closed = 0;
	return c;
}

/* The cached mapping that starts at @addr, or NULL. */
static struct large_hdr *cached_at(void *addr)
{
	uint32_t e = hak_rmap_lookup(addr);
	struct large_hdr *n = hak_rmap_base(e, addr);

	if (hak_rmap_kind(e) != HAK_RMAP_LARGE || (void *)n != addr)
		return NULL;
	return n->magic == CACHED_MAGIC ? n : NULL;
}

/*
 * Merge @h with cached neighbours that touch it on either side (mappings are
 * whole granules, so a neighbour starts exactly where @h ends). Returns the
 * merged mapping, registered as one region.
 */
static struct large_hdr *coalesce_locked(struct large_hdr *h)
{
	struct large_hdr *n = cached_at((char *)h + h->map_size);
	uint32_t e = hak_rmap_lookup((char *)h - 1);
	struct large_hdr *prev = hak_rmap_kind(e) == HAK_RMAP_LARGE ? hak_rmap_base(e, (char *)h - 1) : NULL;

	if (n) {
		unlink_locked(n);
		h->map_size += n->map_size;
	}
	if (prev && prev->magic == CACHED_MAGIC && (char *)prev + prev->map_size == (char *)h) {
		unlink_locked(prev);
		prev->map_size += h->map_size;
		prev->freed_ms = h->freed_ms;
		h = prev;
	}
	hak_rmap_register(h, h->map_size, HAK_RMAP_LARGE);	/* leaves exist */
	return h;
}

/*
 * Make exactly the first @open bytes of @h's mapping accessible. A fresh
 * mapping is read-write only up to the block's last page (map_new()): the
 * rest of its granules is reserved, with no memory or commit charge, and an
 * overrun there faults. It is opened before the mapping is cached or grown
 * and stays open from then on (a block taken from the cache or grown by
 * realloc uses its whole granules): closing it at every allocation would
 * cost two mprotect calls per malloc+free, 20 us against 0.1 us for a cache
 * hit here (docs/TUNING.md). With HAKMEM_CHECK=full every live block's tail
 * is closed (mprotect: contents kept).
 */
static int set_open(struct large_hdr *h, size_t open)
{
	size_t cur = open_bytes(h);
	int err = 0;

	if (open < cur) {
		err = hak_sys_close((char *)h + open, cur - open);
		/* mprotect may have closed part of it: open it again, or else
		 * count it all closed, so usable sizes stay read-write */
		if (err && hak_sys_reopen((char *)h + open, cur - open))
			err = 0;
	} else if (open > cur) {
		err = hak_sys_reopen((char *)h + cur, open - cur);
	}
	if (!err)
		h->closed = (uint32_t)((h->map_size - open) / hak_sys_page_size());
	return err;
}

/* Keep freed @h for reuse, merged with its free neighbours, unless it breaks a bound. */
static void cache_put(struct large_hdr *h)
{
	struct large_hdr *gone, *idle = NULL;
	uint64_t now = hak_sys_now_ms();
	size_t bound = hak_atomic_load_relaxed(&max_bytes);
	bool fits = max_entries > 0 && h->map_size <= bound &&
		    (size_t)(h->user - (char *)h) < 2 * hak_sys_page_size() &&
		    !set_open(h, h->map_size);	/* cached mappings are whole */

	h->freed_ms = (uint32_t)now;
	slots_idle(now, BATCH, &idle);
	hak_lock(&cache_lock);
	if (fits)
		h = coalesce_locked(h);
	gone = expire_locked(fits ? h->map_size : 0, now, BATCH);
	if (fits && ncached + hak_atomic_load_relaxed(&slot_blocks) < max_entries &&
	    cached_bytes + hak_atomic_load_relaxed(&slot_bytes) + h->map_size <= bound) {
		link_locked(h);
		h = NULL;
	} else {
		retire_locked(h);
	}
	hak_unlock(&cache_lock);
	release_all(gone);
	release_all(idle);
	if (h)
		release(h);
	hak_tick(now);
}

/*
 * A slot's word: the mapping's address (2 MiB aligned), its granules in
 * bits 0-2 and when it was freed, in 32 ms steps modulo 2^18 (140 minutes),
 * in bits 3-20: so nobody reads a header to choose a slot.
 */
#define SLOT_GMASK	7u
#define STAMP_SHIFT	5			/* 32 ms steps */
#define STAMP_MASK	((1u << 18) - 1)

BUILD_BUG_ON(SLOT_GRANULES > SLOT_GMASK || (STAMP_MASK << 3 | SLOT_GMASK) >= HAK_RMAP_GRANULE);
BUILD_BUG_ON((uint64_t)(STAMP_MASK / 2) << STAMP_SHIFT < 3600000);	/* > the longest delay */

static struct large_hdr *slot_hdr(uintptr_t v)
{
	return (struct large_hdr *)(v & ~(uintptr_t)(HAK_RMAP_GRANULE - 1));
}

static size_t slot_size(uintptr_t v)
{
	return (v & SLOT_GMASK) * HAK_RMAP_GRANULE;
}

/*
 * How long ago @v was slotted at @now: 0 if after @now (read before another
 * thread slotted it); past 70 minutes it reads younger, which only delays
 * its expiry.
 */
static uint64_t slot_age(uintptr_t v, uint64_t now)
{
	unsigned d = ((unsigned)(now >> STAMP_SHIFT) - (unsigned)(v >> 3)) & STAMP_MASK;

	return d > STAMP_MASK / 2 ? 0 : (uint64_t)d << STAMP_SHIFT;
}

static _Atomic uintptr_t *my_set(void)
{
	if (!my_slots)
		my_slots = atomic_fetch_add_explicit(&next_slots, 1, memory_order_relaxed) % SLOT_SHARDS + 1;
	return slots[my_slots - 1].v;
}

/* @v is counted in the slots before it is slotted, and out once it left (or was not slotted). */
static void slot_in(uintptr_t v)
{
	hak_count(slot_bytes, slot_size(v));
	hak_count(slot_blocks, 1);
}

static void slot_out(uintptr_t v)
{
	hak_atomic_sub_relaxed(&slot_bytes, slot_size(v));
	hak_atomic_sub_relaxed(&slot_blocks, 1);
}

/* Empty @slot if it holds @v; its mapping is then the caller's. */
static bool slot_claim(_Atomic uintptr_t *slot, uintptr_t v)
{
	/* acquire: the header written before the slot was filled */
	if (!atomic_compare_exchange_strong_explicit(slot, &v, 0, memory_order_acquire, memory_order_relaxed))
		return false;
	slot_out(v);
	return true;
}

/* Fill @slot with @v if it is empty (@v counted in already). */
static bool slot_fill(_Atomic uintptr_t *slot, uintptr_t v)
{
	uintptr_t empty = 0;

	/* release: the header before the slot */
	return atomic_compare_exchange_strong_explicit(slot, &empty, v, memory_order_release,
						       memory_order_relaxed);
}

/* Claim the mappings of @set idle for @idle ms at @now onto @took, at most @max; returns how many. */
static unsigned set_claim_idle(_Atomic uintptr_t *set, uint64_t now, uint64_t idle, unsigned max,
			       struct large_hdr **took)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SLOT_N && n < max; i++) {
		uintptr_t v = hak_atomic_load_relaxed(&set[i]);

		if (v && slot_age(v, now) >= idle && slot_claim(&set[i], v)) {
			slot_hdr(v)->next = *took;
			*took = slot_hdr(v);
			n++;
		}
	}
	return n;
}

/* Unregister the mappings on @took, claimed from slots, under one hold of the lock; onto @gone. */
static void retire_claimed(struct large_hdr *took, struct large_hdr **gone)
{
	if (!took)
		return;
	hak_lock(&cache_lock);
	while (took) {
		struct large_hdr *h = took;

		took = h->next;
		retire_locked(h);
		h->next = *gone;
		*gone = h;
	}
	hak_unlock(&cache_lock);
}

/*
 * The smallest slotted mapping of this thread's set that @need bytes fill
 * half of or more (of equals the newest, of those the last), or NULL. Taken
 * whole, with no lock: a thread that frees blocks of two granules and asks
 * for one and two in turn keeps reusing them, where a cut would leave
 * halves that requests of two must gather (system calls, whose TLB flush
 * costs every page the program touches a refill: docs/TUNING.md).
 */
static struct large_hdr *slot_take(size_t need)
{
	uint64_t now = hak_sys_now_ms(), least = UINT64_MAX;
	size_t fit = 2 * need;	/* the biggest still taken whole, then the best */
	_Atomic uintptr_t *set;
	unsigned pick = 0;
	uintptr_t best = 0;

	if (need > SLOT_GRANULES * HAK_RMAP_GRANULE)
		return NULL;
	set = my_set();
	for (unsigned i = 0; i < SLOT_N; i++) {
		uintptr_t v = hak_atomic_load_relaxed(&set[i]);
		size_t size = slot_size(v);

		if (!v || size < need || size > fit || (size == fit && slot_age(v, now) > least))
			continue;
		pick = i;
		best = v;
		fit = size;
		least = slot_age(v, now);
	}
	if (!best || !slot_claim(&set[pick], best))
		return NULL;
	hak_count(slot_hits, 1);
	return slot_hdr(best);
}

/* The occupied slot of @set to empty first at @now: the oldest (of equals, the first); SLOT_N if none. */
static unsigned slot_oldest(_Atomic uintptr_t *set, uint64_t now)
{
	unsigned pick = SLOT_N;
	uint64_t most = 0;

	for (unsigned i = 0; i < SLOT_N; i++) {
		uintptr_t v = hak_atomic_load_relaxed(&set[i]);

		if (v && (pick == SLOT_N || slot_age(v, now) > most)) {
			pick = i;
			most = slot_age(v, now);
		}
	}
	return pick;
}

/*
 * Keep freed @h (FREE_MAGIC) in a slot of this thread's set: a plain mapping
 * of at most SLOT_GRANULES that the cache's bounds would keep and that no
 * cached mapping touches (that one it merges with), opened whole as the
 * cache keeps them. Mappings of the set idle for the delay go back
 * to the OS. When the set is full, or the slots of all sets fill the
 * cache's bounds, @h takes the slot of the set's oldest, which goes on to
 * the cache (over the bounds, only one at least as big as @h). False when
 * @h is not for a slot.
 */
static bool slot_put(struct large_hdr *h)
{
	uint64_t now = hak_sys_now_ms(), delay = hak_atomic_load_relaxed(&delay_ms);
	uintptr_t v = (uintptr_t)h | (uintptr_t)((now >> STAMP_SHIFT) & STAMP_MASK) << 3 |
		      h->map_size / HAK_RMAP_GRANULE, old;
	bool room = hak_atomic_load_relaxed(&slot_blocks) < max_entries &&
		    hak_atomic_load_relaxed(&slot_bytes) + h->map_size <= hak_atomic_load_relaxed(&max_bytes);
	struct large_hdr *took = NULL, *gone = NULL;
	_Atomic uintptr_t *set;
	unsigned i, n;

	if (close_tails || h->map_size > SLOT_GRANULES * HAK_RMAP_GRANULE || max_entries == 0 ||
	    h->map_size > hak_atomic_load_relaxed(&max_bytes) || cached_beside(h) ||
	    (size_t)(h->user - (char *)h) >= 2 * hak_sys_page_size() || set_open(h, h->map_size))
		return false;
	set = my_set();
	if ((n = set_claim_idle(set, now, delay, SLOT_N, &took))) {
		retire_claimed(took, &gone);
		release_all(gone);
		hak_count(expired, n);
	}
	slot_in(v);	/* before a mapping it displaces is cached */
	for (i = 0; room && i < SLOT_N; i++)
		if (slot_fill(&set[i], v))
			return true;
	i = slot_oldest(set, now);
	/* over the bounds, @h may only replace one at least as big */
	if (i == SLOT_N || (!room && slot_size(hak_atomic_load_relaxed(&set[i])) < h->map_size)) {
		slot_out(v);
		return false;	/* @h goes to the cache */
	}
	old = atomic_exchange_explicit(&set[i], v, memory_order_acq_rel);
	if (old) {
		slot_out(old);
		cache_put(slot_hdr(old));
	}
	return true;
}

/* The slotted mappings of @set go to the cache, oldest first. False when it was empty. */
static bool set_flush(_Atomic uintptr_t *set)
{
	uint64_t now = hak_sys_now_ms();
	bool any = false;
	unsigned i;

	for (unsigned n = 0; n < SLOT_N && (i = slot_oldest(set, now)) < SLOT_N; n++) {
		uintptr_t v = hak_atomic_load_relaxed(&set[i]);

		if (v && slot_claim(&set[i], v)) {
			cache_put(slot_hdr(v));
			any = true;
		}
	}
	return any;
}

/*
 * For a request no slot or cached mapping fits: this thread's slotted
 * mappings go to the cache, where they merge with their free neighbours,
 * and if none fits still, every other set's too (another thread may hold
 * the neighbours), before the request gathers or maps afresh. The cached
 * mapping that fits then, or NULL.
 */
static struct large_hdr *flush_take(size_t need)
{
	_Atomic uintptr_t *mine = my_set();
	struct large_hdr *h;
	bool any = false;

	if (set_flush(mine) && (h = cache_take(need)))
		return h;
	for (unsigned s = 0; s < SLOT_SHARDS; s++)
		if (slots[s].v != mine && set_flush(slots[s].v))
			any = true;
	return any ? cache_take(need) : NULL;
}

/*
 * Take out of the slots of every set, at most @max, the mappings idle for
 * @idle ms at @now (all: 0), unregistered, onto @gone for release_all().
 * Returns how many.
 */
static unsigned slots_expire(uint64_t now, uint64_t idle, unsigned max, struct large_hdr **gone)
{
	struct large_hdr *took = NULL;
	unsigned n = 0;

	for (unsigned s = 0; s < SLOT_SHARDS && n < max; s++)
		n += set_claim_idle(slots[s].v, now, idle, max - n, &took);
	retire_claimed(took, gone);
	return n;
}

/*
 * A fresh mapping of @need bytes, read-write to @open (see set_open()).
 * Over-aligned blocks keep only the header page and the block itself: the
 * pages in between are given back (their addresses stay reserved, so the
 * region still owns its granules), so a 1 GiB alignment does not pin 1 GiB.
 */
static void *map_new(size_t need, size_t open, size_t align, size_t off)
{
	size_t page = hak_sys_page_size(), used = open;
	struct large_hdr *h;
	void *base;

	if (hak_sys_map_part(need, &open, HAK_MAX(align, HAK_RMAP_GRANULE), &base))
		return NULL;
	advise_huge(base, used);
	if (hak_rmap_register(base, need, HAK_RMAP_LARGE)) {
		hak_sys_unmap(base, need);
		return NULL;
	}
	/* keep the gap's addresses, not its memory */
	if (off >= 2 * page && hak_sys_guard((char *)base + page, off - page)) {
		hak_rmap_unregister(base, need);
		hak_sys_unmap(base, need);
		return NULL;
	}
	h = base;
	h->map_size = need;
	h->closed = (uint32_t)((need - open) / page);
	return h;
}

/* @bytes of large blocks handed out: the learner's demand and tick. */
static void taken(size_t bytes)
{
	hak_count(map_live_bytes, bytes);
	hak_count(map_out_bytes, bytes);
	hak_tick_taken(bytes);
}

/* A block of @size (1 .. SIZE_MAX / 4 - off) bytes in a mapping of its own; see hak_bc_alloc(). */
static void *map_alloc(size_t size, size_t align, size_t off, bool zero, bool *zeroed)
{
	bool plain = off < 2 * hak_sys_page_size();	/* not over-aligned */
	size_t need = HAK_ALIGN_UP(off + size, HAK_RMAP_GRANULE);	/* whole granules, so that freed neighbours can merge */
	struct large_hdr *h = NULL;

	if (plain && ((h = slot_take(need)) || (h = cache_take(need)) || (h = flush_take(need)))) {
		hak_count(hits, 1);	/* split to @need: the rest stays cached */
		advise_huge(h, off + size);	/* may be advised in part only */
	} else if (plain && !zero && (h = cache_gather(need))) {
		advise_huge(h, off + size);	/* moved pages stay small */
	} else {
		hak_count(misses, 1);
		h = map_new(need, HAK_ALIGN_UP(off + size, hak_sys_page_size()), align, off);
		if (!h)
			return NULL;
		*zeroed = true;
	}
	h->magic = LIVE_MAGIC;
	h->user = (char *)h + off;
	if (close_tails)	/* a failure leaves them open */
		set_open(h, HAK_ALIGN_UP(off + size, hak_sys_page_size()));
	taken(h->map_size);
	hak_count(live_blocks, 1);
	return h->user;
}

void *hak_bc_alloc(size_t size, size_t align, bool zero, bool *zeroed)
{
	size_t off = user_offset(align);
	void *p;

	*zeroed = false;
	if (off > SIZE_MAX / 4 || size > SIZE_MAX / 4 - off)
		return NULL;
	/* memalign(align, 0): at least one byte, so that the pointer lies
	 * inside the mapping and its usable size is not 0 (which reads as
	 * "not a block") */
	size = HAK_MAX(size, (size_t)1);
	hak_count(allocs, 1);
	hak_count(bytes_out, size);
	if (size <= runs_max && align <= SEG_LARGE_ALIGN && (p = seg_large_alloc(size, zeroed))) {
		taken(HAK_ALIGN_UP(size, SEG_LARGE_ALIGN));
		hak_count(live_blocks, 1);
		return p;
	}
	return map_alloc(size, align, off, zero, zeroed);
}

size_t hak_bc_usable(void *base, const void *p, const char **why)
{
	struct large_hdr *h = base;
	uint64_t magic = h->magic;

	if (magic == SEG_MAGIC)
		return seg_usable(base, p, why);
	/* Anywhere inside a freed mapping (merged ones too): freed already. */
	if ((magic == FREE_MAGIC || magic == CACHED_MAGIC) &&
	    (const char *)p > (const char *)h && (const char *)p < (const char *)h + h->map_size) {
		*why = "double";
		return 0;
	}
	if (magic != LIVE_MAGIC || h->user != p) {
		*why = "invalid";
		return 0;
	}
	return open_bytes(h) - (size_t)(h->user - (char *)h);
}

static bool is_segment(void *base)
{
	return ((struct large_hdr *)base)->magic == SEG_MAGIC;
}

const char *hak_bc_free(void *base, void *p)
{
	struct large_hdr *h = base;
	uint64_t live = LIVE_MAGIC;
	const char *why = NULL;
	size_t bytes;

	if (is_segment(base)) {	/* a large run (medium ones go through hak_bc_runs_free()) */
		why = seg_large_free(base, p, &bytes);
		if (why)
			return why;
	} else if (!hak_bc_usable(base, p, &why)) {
		return why;
	} else if (!hak_atomic_cas_acq_rel(&h->magic, &live, FREE_MAGIC)) {
		/* a second free racing with this one, unless the block was
		 * released or handed out again in between (best effort) */
		return "double";
	} else {
		bytes = h->map_size;
		if (!slot_put(h))
			cache_put(h);
	}
	hak_atomic_sub_relaxed(&map_live_bytes, bytes);
	hak_atomic_sub_relaxed(&live_blocks, 1);
	hak_tick_freed(bytes);
	hak_count(frees, 1);
	return NULL;
}

size_t hak_bc_in_use(size_t *bytes)
{
	*bytes = hak_atomic_load_relaxed(&map_live_bytes);
	return hak_atomic_load_relaxed(&live_blocks);
}

/*
 * Move live @h (@old bytes) into a fresh mapping of @need > @old bytes, its
 * part past @old made of cached pages where the cache has them (faulted in
 * already, as a block that grows is about to fill). The mapping is
 * registered before the pages move: registering after a move could fail
 * (no memory for a region-map leaf) and leave a live block nobody can free.
 * On any failure the block stays where it was, registered, and NULL is
 * returned (the caller copies).
 */
static struct large_hdr *move_grown(struct large_hdr *h, size_t old, size_t need)
{
	char *dst;

	if (hak_sys_map(need, HAK_RMAP_GRANULE, (void **)&dst))
		return NULL;
	if (hak_rmap_register(dst, need, HAK_RMAP_LARGE)) {
		hak_sys_unmap(dst, need);
		return NULL;
	}
	if (gather_move(gather_take(need - old), dst + old, need - old)) {
		drop_fresh(dst, need);
		return NULL;
	}
	/* unregister first, under the lock (see retire_locked) */
	hak_lock(&cache_lock);
	retire_locked(h);
	hak_unlock(&cache_lock);
	if (hak_sys_move(h, old, dst)) {
		drop_fresh(dst, need);
		hak_rmap_register(h, old, HAK_RMAP_LARGE);	/* leaves exist */
		return NULL;
	}
	return (struct large_hdr *)dst;
}

/*
 * Grow live @h (@old bytes) to @need over the cached mapping that starts
 * where it ends, split to what it lacks: no system call, and the pages are
 * faulted in already (a block trimmed before finds its tail there). False
 * when no cached mapping there holds enough.
 */
static bool grow_in_place(struct large_hdr *h, size_t old, size_t need)
{
	struct large_hdr *n;
	bool grown = false;

	hak_lock(&cache_lock);
	n = cached_at((char *)h + old);
	if (n && n->map_size >= need - old) {
		unlink_locked(n);
		split_locked(n, need - old);
		hak_rmap_register(h, need, HAK_RMAP_LARGE);	/* leaves exist */
		grown = true;
	}
	hak_unlock(&cache_lock);
	return grown;
}

/*
 * Cut live @h (@old bytes) to @need: the rest becomes a freed mapping of its
 * own, for the cache (which gives it back when its bounds say so), so a
 * block that grows again finds its pages faulted in still.
 */
static void trim_to_cache(struct large_hdr *h, size_t old, size_t need)
{
	struct large_hdr *t = (struct large_hdr *)((char *)h + need);

	hak_lock(&cache_lock);
	tail_locked(t, old - need, 0);	/* cache_put() stamps it */
	hak_unlock(&cache_lock);
	h->map_size = need;
	cache_put(t);
}

/*
 * Grow the large run @p of segment @base to @size bytes in place, over the
 * free pages after it; NULL: the caller copies (moving its pages would
 * cost more than copying them: docs/TUNING.md).
 */
static void *resize_run(void *base, void *p, size_t size)
{
	size_t grown = size <= runs_max ? seg_large_grow(base, p, size) : 0;

	if (!grown)
		return NULL;
	hak_count(resizes, 1);
	taken(grown);
	return p;
}

void *hak_bc_resize(void *base, void *p, size_t size)
{
	struct large_hdr *h = base;
	size_t off = (size_t)((char *)p - (char *)h), page = hak_sys_page_size();
	size_t need, open, old;
	int err = 0;
	void *nb;

	if (is_segment(base))
		return resize_run(base, p, size);
	if (size > SIZE_MAX / 4 - off)
		return NULL;
	need = HAK_ALIGN_UP(off + size, HAK_RMAP_GRANULE);
	open = HAK_ALIGN_UP(off + size, page);
	old = h->map_size;
	if (need <= old && need > old / 2) {	/* fits; full checks move its closed end */
		if (close_tails)
			err = set_open(h, open);
		else if (open > open_bytes(h))	/* growing past a fresh block's end */
			err = set_open(h, old);
		if (err && open > open_bytes(h))
			return NULL;	/* could not open more: copy */
		return p;
	}
	/* A mapping with a hole cannot be moved (copy); one with a closed end is opened */
	if (off >= 2 * page || set_open(h, old))
		return NULL;
	if (need < old) {
		trim_to_cache(h, old, need);
		nb = h;
	} else if (grow_in_place(h, old, need)) {
		nb = h;
	} else if (!(nb = move_grown(h, old, need))) {
		return NULL;	/* still at @p: copy */
	}
	h = nb;
	h->map_size = need;
	hak_count(map_live_bytes, need - old);	/* modulo 2^64: shrinks too */
	if (need > old)
		hak_count(map_out_bytes, need - old);
	h->user = (char *)h + off;
	if (close_tails)
		set_open(h, open);
	hak_count(resizes, 1);
	return h->user;
}

/*
 * Up to DECAY_MAX mappings idle at @now, from the slots and the cache,
 * unless the cache is busy (its user expires it).
 */
static size_t cache_decay(uint64_t now)
{
	struct large_hdr *gone = NULL;
	unsigned n = slots_idle(now, DECAY_MAX, &gone);
	size_t bytes = release_all(gone);

	if (n < DECAY_MAX && !hak_trylock(&cache_lock)) {
		gone = expire_locked(0, now, DECAY_MAX - n);
		hak_unlock(&cache_lock);
		bytes += release_all(gone);
	}
	return bytes;
}

/*
 * From the segments' slow paths (medium's run refills and flushes), at most
 * twice per HAKMEM_BIGCACHE_DELAY_MS: a program that freed large blocks
 * and now uses medium ones gives the idle mappings back too.
 */
void bc_decay_sometimes(uint64_t now)
{
	static _Atomic uint64_t last_ms;

	if (now < hak_atomic_load_relaxed(&last_ms) + hak_atomic_load_relaxed(&delay_ms) / 2 + 1)
		return;
	hak_atomic_store_relaxed(&last_ms, now);
	cache_decay(now);
}

/*
 * The decay op: slotted and cached mappings idle past
 * HAKMEM_BIGCACHE_DELAY_MS at @now (at most DECAY_MAX), then the segments'
 * idle pages and empty segments (at most 16 ranges and 4 segments a shard)
 * go back to the OS. A busy cache or shard is left to its own operations;
 * the cache's lock is waited for only to retire mappings taken from slots.
 */
static size_t bc_decay(uint64_t now)
{
	size_t bytes = cache_decay(now);

	return bytes + seg_decay(now);
}

void hak_bc_set_limits(size_t cache_bytes, uint64_t delay, uint64_t runs_delay)
{
	hak_atomic_store_relaxed(&max_bytes, HAK_MIN(cache_bytes, bound_bytes));
	hak_atomic_store_relaxed(&delay_ms, delay);
	seg_set_limits(false, runs_delay, bound_bytes);
	seg_set_limits(true, delay, HAK_MIN(cache_bytes, bound_bytes));
}

size_t hak_bc_cache_bound(void)
{
	return bound_bytes;
}

void hak_bc_demand(struct hak_demand *d)
{
	uint64_t live = hak_atomic_load_relaxed(&map_live_bytes);

	d->out = hak_atomic_load_relaxed(&map_out_bytes);
	d->live = live < d->out ? live : d->out;
}

size_t hak_bc_cached_bytes(void)
{
	size_t n;

	hak_lock(&cache_lock);
	n = cached_bytes;
	hak_unlock(&cache_lock);
	return n + hak_atomic_load_relaxed(&slot_bytes) + seg_kept_bytes();
}

size_t hak_bc_trim(void)
{
	struct large_hdr *all = NULL;
	size_t bytes;

	slots_expire(0, 0, UINT_MAX, &all);
	hak_lock(&cache_lock);
	while (oldest) {
		struct large_hdr *h = oldest;

		unlink_locked(h);
		retire_locked(h);
		h->next = all;
		all = h;
	}
	hak_unlock(&cache_lock);
	bytes = release_all(all);
	hak_count(trims, 1);
	return bytes + seg_trim();
}

/*
 * Bytes bound: the option, or by default 1/64 of memory within 256 MiB..1 GiB,
 * and at most 1/8 of it. Freed large blocks are faulted-in memory; keeping
 * more of them trades RSS for page faults, and the idle delay (and the
 * learner, near a memory limit) returns them soon anyway. A bound below
 * what a busy heap frees and takes back again costs a fault per page it
 * reuses: bench_large ran at 0.6x tcmalloc with 96 MiB, at par with 256;
 * with 64 MiB (1/64 of a 4 GiB machine) it ran 25x slower, and
 * `bench_sweep 4 0.6 42 512k 4m` 4x.
 */
static int bc_init(const struct hak_options *opt)
{
	long mb = opt->v[HAK_OPT_BIGCACHE_MB];
	size_t mem = hak_sys_phys_mem();
	size_t scaled = HAK_MIN(HAK_MAX(mem / 64, HAK_MIN(mem / 8, (size_t)256 << 20)),
				(size_t)1 << 30);

	bound_bytes = mb < 0 ? scaled : (size_t)mb << 20;
	max_entries = (unsigned)opt->v[HAK_OPT_BIGCACHE_ENTRIES];
	thp = opt->v[HAK_OPT_LARGE_THP];
	close_tails = opt->v[HAK_OPT_CHECK] == HAK_CHECK_FULL;
	segments = seg_init(thp);
	/* full checks want every block's closed tail, which only a mapping has */
	runs_max = segments && !close_tails ? (size_t)opt->v[HAK_OPT_LARGE_RUNS_MB] << 20 : 0;
	hak_bc_set_limits(bound_bytes, (uint64_t)opt->v[HAK_OPT_BIGCACHE_DELAY_MS],
			  (uint64_t)opt->v[HAK_OPT_BIGCACHE_DELAY_MS]);
	return 0;
}

static void bc_prefork(void)
{
	hak_lock(&cache_lock);
	seg_prefork();
}

static void bc_postfork_parent(void)
{
	seg_postfork_parent();
	hak_unlock(&cache_lock);
}

static void bc_postfork_child(void)
{
	seg_postfork_child();
	pthread_mutex_init(&cache_lock, NULL);
}

static void bc_stats(struct hak_stats_sink *s)
{
	uint64_t live;

#define P(f) hak_stat(s, #f, f);
	P(allocs) P(frees) P(hits) P(slot_hits) P(misses) P(gathers) P(splits) P(evictions) P(expired)
	P(resizes) P(trims) P(slot_blocks) P(slot_bytes)
#undef P
	hak_stat(s, "cached_blocks", ncached);
	hak_stat(s, "cached_bytes", cached_bytes);
	live = seg_stats(s) + hak_atomic_load_relaxed(&map_live_bytes);
	hak_stat(s, "bytes_out", bytes_out);
	hak_stat(s, "bytes_live", live);
}

/*
 * Each slotted mapping is marked free, registered where it starts and as
 * big as its slot says: checked while claimed, then slotted again (or, if
 * the slot was refilled meanwhile, cached).
 */
static int slots_check(void)
{
	int errors = 0;

	for (unsigned s = 0; s < SLOT_SHARDS; s++)
		for (unsigned i = 0; i < SLOT_N; i++) {
			uintptr_t v = hak_atomic_load_relaxed(&slots[s].v[i]);
			struct large_hdr *h = slot_hdr(v);
			uint32_t e;

			if (!v || !slot_claim(&slots[s].v[i], v))
				continue;
			e = hak_rmap_lookup(h);
			if (h->magic != FREE_MAGIC || hak_rmap_kind(e) != HAK_RMAP_LARGE ||
			    hak_rmap_base(e, h) != (void *)h || h->map_size != slot_size(v)) {
				hak_report("self-check: large block %p in a slot: bad mark, region or size",
					   (void *)h);
				errors++;
			}
			slot_in(v);	/* before it can be claimed again */
			if (!slot_fill(&slots[s].v[i], v)) {
				slot_out(v);
				cache_put(h);
			}
		}
	return errors;
}

/* The age list and the buckets hold the same blocks, each marked free and
 * chained in its own class's bucket; the counts match. */
static int bc_self_check(void)
{
	size_t bytes = 0, n = 0, in_buckets = 0;
	int errors = 0;

	hak_lock(&cache_lock);
	for (struct large_hdr *h = newest; h; h = h->older) {
		if (h->magic != CACHED_MAGIC || (h->older && h->older->newer != h)) {
			hak_report("self-check: cached large block %p: bad mark or age link",
				   (void *)h);
			errors++;
			break;
		}
		bytes += h->map_size;
		n++;
	}
	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct large_hdr *h = buckets[b]; h; h = h->next, in_buckets++)
			if (size_class(h->map_size) % NBUCKETS != b) {
				hak_report("self-check: cached large block %p in bucket %u", (void *)h, b);
				errors++;
			}
	if (bytes != cached_bytes || n != ncached || in_buckets != ncached) {
		hak_report("self-check: bigcache counts %u blocks / %zu B, holds %zu / %zu B (%zu in buckets)",
			   ncached, cached_bytes, n, bytes, in_buckets);
		errors++;
	}
	hak_unlock(&cache_lock);
	return errors + slots_check() + seg_self_check();
}

static void bc_describe(char *buf, size_t len)
{
	snprintf(buf, len, "blocks > %zu KiB or over-aligned; page runs for medium (segments: %s); cache of %u blocks / %zu MiB, idle %llu ms",
		 HAK_BC_RUN_MAX >> 10, segments ? "on" : "off", max_entries, bound_bytes >> 20,
		 (unsigned long long)hak_atomic_load_relaxed(&delay_ms));
}

const struct hak_box hak_box_bigcache = {
	.name = "bigcache",
	.layer = 2,
	.init = bc_init,
	.prefork = bc_prefork,
	.postfork_parent = bc_postfork_parent,
	.postfork_child = bc_postfork_child,
	.reclaim = hak_bc_trim,
	.decay = bc_decay,
	.stats = bc_stats,
	.self_check = bc_self_check,
	.describe = bc_describe,
};
