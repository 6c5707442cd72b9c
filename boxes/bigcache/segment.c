/*
 * segment.c - page runs: the medium tier's backing store (runs of up to
 * HAK_BC_RUN_MAX bytes), and large blocks of up to SEG_LARGE_MAX bytes.
 *
 * A medium segment is 4 MiB from sysmem, aligned to its size (so a run
 * finds its segment by masking), registered in the region map as
 * HAK_RMAP_SEGMENT (so the large-mapping coalescer, which reads its
 * HAK_RMAP_LARGE neighbours' headers, never looks at one) with every page's
 * class HAK_RMAP_RUNS, cut into 1024 pages of 4 KiB: page 0 is this header,
 * and a run is whole pages found first-fit in the free-page bitmap, with no
 * header of its own. Each run's first page has a tag byte (the medium
 * class) near the segment's start, written before the run is handed out and
 * cleared when it comes back, so a free reads the class with one load and
 * no lock (hak_bc_run_tag()).
 *
 * A large segment is the same with 1024 pages of 128 KiB (128 MiB), its
 * runs tagged LARGE_TAG, registered as HAK_RMAP_LARGE_RUNS. A large run is taken
 * first-fit among free pages that hold memory, else among any; freed
 * neighbours are one free range at once.
 *
 * Medium segments belong to one of SEG_SHARDS shards; a thread allocates
 * from the shard its caller names. Large ones share one shard: large
 * blocks are few, and one list packs them tighter (measured in
 * docs/TUNING.md). A run goes back to its own segment's shard.
 * Freed pages stay committed for reuse, up to HAKMEM_BIGCACHE_MB in the
 * medium segments and the large cache's bound (the learner's) in the large
 * ones (beyond it, a free gives back its segment's free pages); once a segment
 * has had no free for the delay, its free pages go back to the OS
 * (MADV_DONTNEED) and an empty segment is unmapped. A segment in use gives
 * back the free pages that stayed free a delay (age_locked()).
 *
 * Locks: each shard's lock protects its list and its segments' headers
 * (except the tags, which are atomic bytes). No two are held at once except
 * by fork's handlers and the self-check (in index order). No system call
 * is made under one: new segments are mapped and registered before they
 * are linked; pages to purge are taken out of the free map under the lock
 * (as a run, so nobody allocates them), purged after it, and put back under
 * it again; empty segments leave the list and the region map under the
 * lock and are unmapped after.
 */
#include <pthread.h>
#include <string.h>

#include "../base/hak_bitmap.h"
#include "../base/hak_lock.h"
#include "../base/hak_tick.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "bigcache.h"
#include "segment.h"

#define SEG_PAGE_SHIFT	12
#define SEG_PAGE	((size_t)1 << SEG_PAGE_SHIFT)
#define SEG_SIZE	HAK_BC_SEG_SIZE		/* three 1 MiB runs fit */
#define SEG_PAGES	((unsigned)(SEG_SIZE >> SEG_PAGE_SHIFT))
#define SEG_WORDS	(SEG_PAGES / 64)
#define SEG_SHARDS	8			/* medium's; then the large one */
#define NSHARDS		(SEG_SHARDS + 1)
#define LARGE_SHIFT	17			/* large segments: 128 KiB pages, 128 MiB */
#define LARGE_TAG	255			/* a large run's tag (medium's are classes) */
#define PURGE_MAX	16	/* page ranges purged per pass */
#define GONE_MAX	4	/* empty segments unmapped per pass */

struct shard {
	pthread_mutex_t lock;
	struct segment *segs;		/* address order */
	uint64_t scanned_ms;		/* last expiry scan */
} __attribute__((aligned(64)));

struct segment {
	uint64_t magic;			/* SEG_MAGIC, where a large mapping has its own */
	struct segment *next, *prev;
	struct shard *shard;		/* set before it is linked, never changed */
	unsigned shift;			/* page size: SEG_PAGE_SHIFT, or LARGE_SHIFT */
	unsigned nfree;			/* free pages */
	bool unpurged;			/* free pages may hold memory */
	uint64_t freed_ms;		/* last free */
	uint64_t aged_ms;		/* last aging pass (expire_locked) */
	/* the live run's tag, 0 elsewhere: at HAK_BC_SEG_TAGS for hak_bc_run_tag() */
	_Atomic uint8_t tag[SEG_PAGES] __attribute__((aligned(64)));
	uint64_t free[SEG_WORDS];	/* bit: page free (never page 0) */
	uint64_t dirty[SEG_WORDS];	/* bit: page handed out since mapped or purged */
	uint64_t aged[SEG_WORDS];	/* bit: free and dirty since the last aging pass */
	uint16_t run[SEG_PAGES];	/* pages of the run starting here; kept after
					 * its free, so that a second free is told apart */
};

BUILD_BUG_ON(sizeof(struct segment) > SEG_PAGE);
BUILD_BUG_ON(offsetof(struct segment, tag) != HAK_BC_SEG_TAGS || SEG_PAGE != HAK_BC_RUN_ALIGN);
BUILD_BUG_ON(HAK_BC_RUN_MAX / SEG_PAGE >= SEG_PAGES);
BUILD_BUG_ON(SEG_LARGE_MAX >> LARGE_SHIFT > SEG_PAGES / 4 || SEG_LARGE_ALIGN != (size_t)1 << LARGE_SHIFT);
BUILD_BUG_ON(SEG_SIZE % HAK_RMAP_GRANULE);

/* What a pass collected under a shard's lock, for after it is dropped. */
struct chores {
	struct segment *gone;		/* unlinked and unregistered: unmap */
	unsigned ngone, npurge;
	struct { struct segment *s; unsigned first, n; } purge[PURGE_MAX];
};

/* medium's shards, then the large one; all zero bytes: glibc's initializer */
static struct shard shards[NSHARDS];
static bool enabled;		/* the page size is the one segments are cut in */
static bool large_thp;		/* HAKMEM_LARGE_THP */
/* of medium segments, then of large ones (the learner sets them): */
static _Atomic uint64_t delay_ms[2];
static _Atomic size_t max_kept[2];	/* bound on kept, in 4 KiB pages */
static _Atomic size_t kept[2];	/* 4 KiB pages free and still committed (dirty) */
static hak_counter_t allocs, frees, mapped, unmapped, purged_pages, large_allocs, large_frees;

/* @sh's kind: 0 medium, 1 large (the last shard) */
static unsigned shard_kind(const struct shard *sh)
{
	return sh == &shards[SEG_SHARDS];
}

static unsigned shift_of(const struct shard *sh)
{
	return shard_kind(sh) ? LARGE_SHIFT : SEG_PAGE_SHIFT;
}

static size_t size_of(const struct segment *s)
{
	return (size_t)SEG_PAGES << s->shift;
}

/* @s's kind: 0 medium, 1 large */
static unsigned kind(const struct segment *s)
{
	return s->shift == LARGE_SHIFT;
}

static _Atomic size_t *kept_of(const struct segment *s)
{
	return &kept[kind(s)];
}

/* @n of @s's pages, in 4 KiB pages (what kept counts) */
static size_t small_pages(const struct segment *s, size_t n)
{
	return n << (s->shift - SEG_PAGE_SHIFT);
}

static unsigned pages_of(size_t size, unsigned shift)
{
	return (unsigned)((size + ((size_t)1 << shift) - 1) >> shift);
}

/* The medium segment of run @p. */
static struct segment *seg_of(const void *p)
{
	return (struct segment *)((uintptr_t)p & ~(uintptr_t)(SEG_SIZE - 1));
}

void seg_set_limits(bool large, uint64_t delay, size_t max_bytes)
{
	hak_atomic_store_relaxed(&delay_ms[large], delay);
	hak_atomic_store_relaxed(&max_kept[large], max_bytes >> SEG_PAGE_SHIFT);
}

bool seg_init(bool thp)
{
	large_thp = thp;
	enabled = hak_sys_page_size() == SEG_PAGE;
	return enabled;
}

size_t seg_kept_bytes(void)
{
	return (hak_atomic_load_relaxed(&kept[0]) + hak_atomic_load_relaxed(&kept[1])) << SEG_PAGE_SHIFT;
}

static void link_locked(struct shard *sh, struct segment *s)
{
	struct segment **pp = &sh->segs, *prev = NULL;

	while (*pp && *pp < s) {
		prev = *pp;
		pp = &prev->next;
	}
	s->prev = prev;
	s->next = *pp;
	if (*pp)
		(*pp)->prev = s;
	*pp = s;
}

static void unlink_locked(struct shard *sh, struct segment *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		sh->segs = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

/*
 * A fresh segment of @sh, mapped and registered; no lock held. A medium
 * one's pages read HAK_RMAP_RUNS (free() goes to the medium tier); a large
 * one is a HAK_RMAP_LARGE_RUNS region (free() goes to hak_bc_free(), which
 * finds SEG_MAGIC where a mapping's header has its own). Neither is
 * HAK_RMAP_LARGE, whose headers the mapping coalescer reads under its lock,
 * counting on them to be unmapped only after they leave the map under it.
 */
static struct segment *seg_new(struct shard *sh)
{
	unsigned shift = shift_of(sh);
	size_t size = (size_t)SEG_PAGES << shift;
	bool medium = !shard_kind(sh);
	struct segment *s;
	void *p;

	if (hak_sys_map(size, size, &p))
		return NULL;
	s = p;	/* the header is complete before registration publishes it */
	s->magic = SEG_MAGIC;
	s->shard = sh;
	s->shift = shift;
	s->nfree = SEG_PAGES - 1;
	hak_bits_assign(s->free, 1, SEG_PAGES - 1, true);
	hak_bits_assign(s->dirty, 0, 1, true);
	if (hak_rmap_register(p, size, medium ? HAK_RMAP_SEGMENT : HAK_RMAP_LARGE_RUNS)) {
		hak_sys_unmap(p, size);
		return NULL;
	}
	if (medium)
		hak_rmap_set_class(p, size >> HAK_RMAP_PAGE_SHIFT, HAK_RMAP_RUNS);
	else if (large_thp)	/* advice: a failure leaves small pages */
		hak_sys_hugepage((char *)p + HAK_RMAP_GRANULE, size - HAK_RMAP_GRANULE);
	hak_count(mapped, 1);
	return s;
}

/* Pages [@first, @first + @n) of @s become one run (not free). */
static void mark_run_locked(struct segment *s, unsigned first, unsigned n)
{
	hak_bits_assign(s->free, first, n, false);
	s->nfree -= n;
	s->run[first] = (uint16_t)n;
	for (unsigned i = first + 1; i < first + n; i++)
		s->run[i] = 0;
}

/*
 * Pages [@first, @first + @n) are handed out as one run: no longer kept
 * free, dirty from now on. Returns how many were dirty before (0: the run
 * reads zero).
 */
static unsigned claim_locked(struct segment *s, unsigned first, unsigned n)
{
	unsigned d = hak_bits_count(s->dirty, first, n);

	hak_atomic_sub_relaxed(kept_of(s), small_pages(s, d));
	hak_bits_assign(s->dirty, first, n, true);
	hak_bits_assign(s->aged, first, n, false);
	mark_run_locked(s, first, n);
	return d;
}

/*
 * Take @s's free pages that hold memory (and, with @aged_only, have since
 * the last aging pass) out of the free map, as runs, into @ch (as many as
 * fit); they are purged once the lock is dropped.
 */
static void collect_purge_locked(struct segment *s, bool aged_only, struct chores *ch)
{
	uint64_t w[SEG_WORDS];
	unsigned d = 1, e;

	for (unsigned i = 0; i < SEG_WORDS; i++)
		w[i] = s->free[i] & s->dirty[i] & (aged_only ? s->aged[i] : ~(uint64_t)0);
	for (; (d = hak_bits_next(w, d, SEG_PAGES, true)) < SEG_PAGES; d = e) {
		e = hak_bits_next(w, d, SEG_PAGES, false);
		if (ch->npurge == PURGE_MAX)
			return;	/* s stays unpurged: the next pass goes on */
		mark_run_locked(s, d, e - d);
		hak_bits_assign(s->dirty, d, e - d, false);
		hak_atomic_sub_relaxed(kept_of(s), small_pages(s, e - d));
		ch->purge[ch->npurge].s = s;
		ch->purge[ch->npurge].first = d;
		ch->purge[ch->npurge++].n = e - d;
	}
	if (!aged_only)
		s->unpurged = false;
}

/*
 * A segment still in use ages its free pages every delay: those free and
 * holding memory at the last pass, and not handed out since, have idled
 * for the delay at least and are collected; the rest are marked for the
 * next pass. So a busy segment does not keep what it freed long ago.
 */
static void age_locked(struct segment *s, uint64_t now, struct chores *ch)
{
	collect_purge_locked(s, true, ch);
	for (unsigned i = 0; i < SEG_WORDS; i++)
		s->aged[i] = s->free[i] & s->dirty[i];
	s->aged_ms = now;
}

/*
 * Segments idle for the delay (or all, with @now 0 from trim): empty ones
 * (up to GONE_MAX) leave the list and the region map into @ch; the others'
 * free pages are collected for purging (up to PURGE_MAX ranges). Segments
 * in use age their free pages (age_locked()).
 */
static void expire_locked(struct shard *sh, uint64_t now, struct chores *ch)
{
	uint64_t delay = hak_atomic_load_relaxed(&delay_ms[shard_kind(sh)]);
	struct segment *s, *next;

	for (s = sh->segs; s; s = next) {
		bool empty = s->nfree == SEG_PAGES - 1;

		next = s->next;
		/* an empty segment goes even if purged already (by the bound) */
		if (!s->unpurged && !empty)
			continue;
		if (now && now < s->freed_ms + delay) {
			if (now >= s->aged_ms + delay && ch->npurge < PURGE_MAX)
				age_locked(s, now, ch);
			continue;
		}
		if (empty && ch->ngone < GONE_MAX) {
			ch->ngone++;
			hak_atomic_sub_relaxed(kept_of(s), small_pages(s, hak_bits_count(s->dirty, 1, SEG_PAGES - 1)));
			unlink_locked(sh, s);
			hak_rmap_unregister(s, size_of(s));
			s->next = ch->gone;
			ch->gone = s;
		} else if (!empty && ch->npurge < PURGE_MAX) {
			collect_purge_locked(s, false, ch);
		}
	}
}

/* Scan at most once per clock step: the scan visits every segment. */
static void maybe_expire_locked(struct shard *sh, struct chores *ch)
{
	uint64_t now = hak_sys_now_ms();

	if (now == sh->scanned_ms)
		return;
	sh->scanned_ms = now;
	expire_locked(sh, now, ch);
}

/*
 * The system calls of @ch, after @sh's lock was dropped: purge, then put
 * the pages back as free (dirty again if the purge failed, e.g. mlock'd
 * pages: calloc clears them), then unmap. Returns the bytes given back.
 */
static size_t finish(struct shard *sh, struct chores *ch)
{
	size_t bytes = 0;
	int err[PURGE_MAX];

	for (unsigned k = 0; k < ch->npurge; k++) {
		struct segment *s = ch->purge[k].s;

		err[k] = hak_sys_decommit((char *)s + ((size_t)ch->purge[k].first << s->shift),
					  (size_t)ch->purge[k].n << s->shift);
	}
	if (ch->npurge) {
		hak_lock(&sh->lock);
		for (unsigned k = 0; k < ch->npurge; k++) {
			struct segment *s = ch->purge[k].s;
			unsigned first = ch->purge[k].first, n = ch->purge[k].n;

			hak_bits_assign(s->free, first, n, true);
			s->nfree += n;
			if (err[k]) {
				hak_bits_assign(s->dirty, first, n, true);
				hak_atomic_add_relaxed(kept_of(s), small_pages(s, n));
				s->unpurged = true;
			} else {
				bytes += (size_t)n << s->shift;
				hak_count(purged_pages, small_pages(s, n));
			}
		}
		hak_unlock(&sh->lock);
	}
	for (struct segment *s = ch->gone, *next; s; s = next) {
		next = s->next;
		bytes += size_of(s);
		hak_sys_unmap(s, size_of(s));
		hak_count(unmapped, 1);
	}
	return bytes;
}

/* The first @np free pages in a row of @s that hold memory; -1: none. */
static int find_warm_locked(const struct segment *s, unsigned np)
{
	uint64_t w[SEG_WORDS];

	for (unsigned i = 0; i < SEG_WORDS; i++)
		w[i] = s->free[i] & s->dirty[i];
	return hak_bits_find_run(w, 1, SEG_PAGES, np);
}

/*
 * Pages [@first, @first + @np) of @s as a run tagged @tag; @dirty (if not
 * NULL) adds up the pages that held memory. Returns its address.
 */
static void *hand_out_locked(struct segment *s, unsigned first, unsigned np, unsigned tag, unsigned *dirty)
{
	unsigned d = claim_locked(s, first, np);

	if (dirty)
		*dirty += d;
	atomic_store_explicit(&s->tag[first], (uint8_t)tag, memory_order_relaxed);
	return (char *)s + ((size_t)first << s->shift);
}

/*
 * Up to @n runs of @np pages tagged @tag from @sh's segments into @out;
 * @dirty (if not NULL) adds up the pages that held memory.
 */
static unsigned take_locked(struct shard *sh, unsigned np, unsigned tag, void **out, unsigned n,
			    unsigned *dirty)
{
	unsigned got = 0;
	int first;

	/* a large run goes where free pages hold memory already if it can:
	 * no page faults, and no RSS beside the pages kept idle */
	if (tag == LARGE_TAG)
		for (struct segment *s = sh->segs; s; s = s->next)
			if (s->nfree >= np && (first = find_warm_locked(s, np)) >= 0) {
				out[0] = hand_out_locked(s, (unsigned)first, np, tag, dirty);
				return 1;
			}
	for (struct segment *s = sh->segs; s && got < n; s = s->next)
		while (got < n && s->nfree >= np &&
		       (first = hak_bits_find_run(s->free, 1, SEG_PAGES, np)) >= 0)
			out[got++] = hand_out_locked(s, (unsigned)first, np, tag, dirty);
	return got;
}

/*
 * Up to @n runs of @size bytes tagged @tag from shard @sh into @out: a pass
 * over its segments, then (none found) a fresh segment; expired pages and
 * segments of @sh go back meanwhile, with no lock held.
 */
static unsigned take(struct shard *sh, size_t size, unsigned tag, void **out, unsigned n, unsigned *dirty,
		     uint64_t now)
{
	struct chores ch = { 0 };
	unsigned np = pages_of(size, shift_of(sh)), got;
	struct segment *s;

	hak_lock(&sh->lock);
	got = take_locked(sh, np, tag, out, n, dirty);
	if (!got)
		maybe_expire_locked(sh, &ch);
	hak_unlock(&sh->lock);
	finish(sh, &ch);
	bc_decay_sometimes(now);
	if (!got && (s = seg_new(sh))) {
		hak_lock(&sh->lock);
		link_locked(sh, s);
		got = take_locked(sh, np, tag, out, n, dirty);
		hak_unlock(&sh->lock);
	}
	return got;
}

unsigned hak_bc_run_shard(const void *p)
{
	return (unsigned)(seg_of(p)->shard - shards);
}

unsigned hak_bc_runs_alloc(size_t size, unsigned tag, unsigned shard, void **out, unsigned n)
{
	unsigned got;

	hak_assert(size > 0 && size <= HAK_BC_RUN_MAX && tag > 0 && tag < LARGE_TAG && n > 0);
	if (unlikely(!enabled))	/* no segments: a mapping, untagged */
		return (out[0] = hak_bc_alloc(size, SEG_PAGE, false, &(bool){ false })) != NULL;
	got = take(&shards[shard % SEG_SHARDS], size, tag, out, n, NULL, hak_sys_now_ms());
	hak_count(allocs, got);
	return got;
}

void *seg_large_alloc(size_t size, bool *clean)
{
	uint64_t now = hak_sys_now_ms();
	unsigned dirty = 0;
	void *p = NULL;

	hak_assert(size > 0 && size <= SEG_LARGE_MAX);
	if (!enabled)
		return NULL;
	if (take(&shards[SEG_SHARDS], size, LARGE_TAG, &p, 1, &dirty, now)) {
		*clean = !dirty;
		hak_count(large_allocs, 1);
	}
	hak_tick(now);	/* large blocks' slow paths drive the learner, as mappings' do */
	return p;
}

/* Page index of live run @p in @s, or 0 with @why set. */
static unsigned block_locked(const struct segment *s, const void *p, const char **why)
{
	size_t off = (size_t)((const char *)p - (const char *)s);
	unsigned i = (unsigned)(off >> s->shift);

	if (off & (((size_t)1 << s->shift) - 1) || i == 0 || i >= SEG_PAGES || !s->run[i]) {
		*why = "invalid";
		return 0;
	}
	if (hak_bit(s->free, i)) {
		*why = "double";
		return 0;
	}
	return i;
}

/* Like block_locked(), but 0 for a run in a purge too (tagged 0: not a block). */
static unsigned live_locked(const struct segment *s, const void *p, const char **why)
{
	unsigned i = block_locked(s, p, why);

	if (i && !atomic_load_explicit(&s->tag[i], memory_order_relaxed)) {
		*why = "invalid";
		return 0;
	}
	return i;
}

/* Free run @p of @s, its bytes into @bytes; NULL, or why not. */
static const char *free_locked(struct segment *s, void *p, uint64_t now, struct chores *ch,
			       size_t *bytes)
{
	const char *why = NULL;
	unsigned i = live_locked(s, p, &why), n;

	if (!i)
		return why;
	n = s->run[i];
	*bytes = (size_t)n << s->shift;
	atomic_store_explicit(&s->tag[i], 0, memory_order_relaxed);
	hak_bits_assign(s->free, i, n, true);
	s->nfree += n;
	s->unpurged = true;
	s->freed_ms = now;
	if (hak_atomic_add_relaxed(kept_of(s), small_pages(s, n)) + small_pages(s, n) >
	    hak_atomic_load_relaxed(&max_kept[kind(s)]) &&
	    ch->npurge < PURGE_MAX)
		collect_purge_locked(s, false, ch);
	return NULL;
}

/*
 * Each shard's runs under one hold of its lock; several shards in turn.
 * A run that is not live (a double free the caller could not see) is fatal.
 */
void hak_bc_runs_free(void *const *runs, unsigned n)
{
	uint64_t now = hak_sys_now_ms(), left = 0;
	const char *why = NULL;
	void *bad = NULL;

	for (unsigned base = 0; base < n && !bad; base += 64) {
		unsigned m = HAK_MIN(n - base, 64u);

		left = m == 64 ? ~(uint64_t)0 : ((uint64_t)1 << m) - 1;
		while (left && !bad) {
			struct shard *sh = seg_of(runs[base + (unsigned)__builtin_ctzll(left)])->shard;
			struct chores ch = { 0 };

			hak_lock(&sh->lock);
			for (unsigned k = 0; k < m && !bad; k++) {
				struct segment *s = seg_of(runs[base + k]);

				if (!(left >> k & 1) || s->shard != sh)
					continue;
				left &= ~((uint64_t)1 << k);
				why = free_locked(s, runs[base + k], now, &ch, &(size_t){ 0 });
				if (why)
					bad = runs[base + k];
				else
					hak_count(frees, 1);
			}
			maybe_expire_locked(sh, &ch);
			hak_unlock(&sh->lock);
			finish(sh, &ch);
		}
	}
	if (bad)
		hak_fatal("%s free(%p)", why, bad);
	bc_decay_sometimes(now);
}

/*
 * Free the large run @p of segment @seg; NULL, or why not. Expired pages
 * and segments of its shard go back after.
 */
const char *seg_large_free(void *seg, void *p, size_t *bytes)
{
	struct segment *s = seg;
	struct shard *sh = s->shard;
	struct chores ch = { 0 };
	uint64_t now = hak_sys_now_ms();
	const char *why;

	if (!kind(s))	/* a medium segment's runs go to hak_bc_runs_free() */
		return "invalid";
	hak_lock(&sh->lock);
	why = free_locked(s, p, now, &ch, bytes);
	maybe_expire_locked(sh, &ch);
	hak_unlock(&sh->lock);
	finish(sh, &ch);
	bc_decay_sometimes(now);
	if (!why)
		hak_count(large_frees, 1);
	hak_tick(now);
	return why;
}

/*
 * Run @p of @s grows to @size bytes tagged @tag over the free pages after
 * it; returns the pages it gained (0: it could not).
 */
static unsigned grow(struct segment *s, void *p, size_t size, unsigned tag)
{
	const char *why;
	unsigned i, n, np = pages_of(size, s->shift), gained = 0;

	hak_lock(&s->shard->lock);
	i = live_locked(s, p, &why);
	n = i ? s->run[i] : 0;
	/* the pages after it, free */
	if (n && n < np && i + np <= SEG_PAGES && hak_bits_next(s->free, i + n, i + np, false) == i + np) {
		claim_locked(s, i + n, np - n);
		s->run[i + n] = 0;	/* inside @p's run now: no block starts there */
		s->run[i] = (uint16_t)np;
		atomic_store_explicit(&s->tag[i], (uint8_t)tag, memory_order_relaxed);
		gained = np - n;
	}
	hak_unlock(&s->shard->lock);
	return gained;
}

bool hak_bc_run_grow(void *p, size_t size, unsigned tag)
{
	hak_assert(size <= HAK_BC_RUN_MAX && tag > 0 && tag < LARGE_TAG);
	return enabled && grow(seg_of(p), p, size, tag);
}

size_t seg_large_grow(void *seg, void *p, size_t size)
{
	struct segment *s = seg;

	if (!kind(s) || size > SEG_LARGE_MAX)
		return 0;
	return (size_t)grow(s, p, size, LARGE_TAG) << LARGE_SHIFT;
}

size_t seg_usable(void *seg, const void *p, const char **why)
{
	struct segment *s = seg;
	size_t n = 0;
	unsigned i;

	hak_lock(&s->shard->lock);
	i = block_locked(s, p, why);
	if (i)
		n = (size_t)s->run[i] << s->shift;
	hak_unlock(&s->shard->lock);
	return n;
}

size_t seg_decay(uint64_t now)
{
	size_t bytes = 0;

	for (unsigned i = 0; i < NSHARDS; i++) {
		struct chores ch = { 0 };

		if (hak_trylock(&shards[i].lock))
			continue;
		expire_locked(&shards[i], now, &ch);
		hak_unlock(&shards[i].lock);
		bytes += finish(&shards[i], &ch);
	}
	return bytes;
}

size_t seg_trim(void)
{
	size_t bytes = 0, pass;

	for (unsigned i = 0; i < NSHARDS; i++) {
		struct chores ch;

		do {	/* bounded passes; stop when a pass frees nothing */
			memset(&ch, 0, sizeof(ch));
			hak_lock(&shards[i].lock);
			expire_locked(&shards[i], 0, &ch);
			hak_unlock(&shards[i].lock);
			bytes += pass = finish(&shards[i], &ch);
		} while ((ch.npurge == PURGE_MAX || ch.ngone == GONE_MAX) && pass);
	}
	return bytes;
}

void seg_prefork(void)
{
	for (unsigned i = 0; i < NSHARDS; i++)
		hak_lock(&shards[i].lock);
}

void seg_postfork_parent(void)
{
	for (unsigned i = NSHARDS; i-- > 0;)
		hak_unlock(&shards[i].lock);
}

void seg_postfork_child(void)
{
	for (unsigned i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
}

/*
 * Report the segments' counters (pages in 4 KiB); returns the bytes of
 * the medium runs handed out (large runs count as large blocks).
 */
uint64_t seg_stats(struct hak_stats_sink *st)
{
	unsigned n = 0, nlarge = 0;
	size_t nfree = 0, medium_used = 0;

	for (unsigned i = 0; i < NSHARDS; i++) {
		hak_lock(&shards[i].lock);
		for (struct segment *s = shards[i].segs; s; s = s->next) {
			if (kind(s)) {
				nlarge++;
			} else {
				n++;
				medium_used += SEG_PAGES - 1 - s->nfree;
			}
			nfree += small_pages(s, s->nfree);
		}
		hak_unlock(&shards[i].lock);
	}
#define P(f) hak_stat(st, "seg_" #f, f);
	P(allocs) P(frees) P(large_allocs) P(large_frees) P(mapped) P(unmapped) P(purged_pages)
#undef P
	hak_stat(st, "seg_live", n);
	hak_stat(st, "seg_large_live", nlarge);
	hak_stat(st, "seg_free_pages", nfree);
	hak_stat(st, "seg_kept_pages", seg_kept_bytes() >> SEG_PAGE_SHIFT);
	return (uint64_t)medium_used << SEG_PAGE_SHIFT;
}

/*
 * Each segment: mapped, registered, in its shard; the free count exact;
 * every used page in one run; tags only on runs' first pages.
 */
static int segment_check(const struct segment *s, const struct shard *sh)
{
	unsigned nfree = 0;

	if (s->magic != SEG_MAGIC || s->shard != sh || s->shift != shift_of(sh) ||
	    hak_rmap_kind(hak_rmap_lookup(s)) != (kind(s) ? HAK_RMAP_LARGE_RUNS : HAK_RMAP_SEGMENT) ||
	    hak_bit(s->free, 0) || (s->next && s->next <= s))
		return 1;
	for (unsigned i = 1; i < SEG_PAGES;) {
		unsigned n = s->run[i];

		if (hak_bit(s->free, i)) {
			if (atomic_load_explicit(&s->tag[i], memory_order_relaxed))
				return 1;
			nfree++;
			i++;
			continue;
		}
		if (!n || i + n > SEG_PAGES || hak_bits_any(s->free, i, n))
			return 1;
		for (unsigned j = i + 1; j < i + n; j++)
			if (s->run[j] || atomic_load_explicit(&s->tag[j], memory_order_relaxed))
				return 1;
		i += n;
	}
	return nfree != s->nfree;
}

/* ... and the kept count is the free pages still dirty, over all segments. */
int seg_self_check(void)
{
	size_t dirty_free = 0, k;
	int errors = 0;

	seg_prefork();
	for (unsigned i = 0; i < NSHARDS; i++)
		for (struct segment *s = shards[i].segs; s; s = s->next) {
			if (segment_check(s, &shards[i])) {
				hak_report("self-check: segment %p: bad header, page map, tags or free count",
					   (void *)s);
				errors++;
			}
			for (unsigned w = 0; w < SEG_WORDS; w++)
				dirty_free += small_pages(s, (size_t)__builtin_popcountll(s->free[w] & s->dirty[w]));
		}
	k = seg_kept_bytes() >> SEG_PAGE_SHIFT;
	seg_postfork_parent();
	if (dirty_free != k) {
		hak_report("self-check: segments keep %zu free pages, count %zu", dirty_free, k);
		errors++;
	}
	return errors;
}
