/*
 * segment.c - large blocks up to SEG_BLOCK_MAX, page-granular.
 *
 * A segment is one 2 MiB granule from sysmem, registered in the region map
 * as HAK_RMAP_SEGMENT (so the large-mapping coalescer, which reads its
 * HAK_RMAP_LARGE neighbours' headers, never looks at one), cut into 512
 * pages of 4 KiB: page 0 is this header, and
 * a block is a run of whole pages found first-fit in the free-page bitmap
 * (segments in address order), with no header of its own. So a 100 KiB block
 * takes 25 pages, not a mapping, and its pages serve any other size once it
 * is freed. Freed pages stay committed for reuse, up to HAKMEM_BIGCACHE_MB
 * in all (beyond it, a free gives back its segment's free pages at once);
 * once a segment has had no free for the delay, its free pages go back to
 * the OS (MADV_DONTNEED) at the next free, new segment or seg_decay(), and
 * an empty segment is unmapped.
 *
 * Lock: seg_lock protects the list and every segment's header. Never held
 * with bigcache's cache_lock, except by fork's handlers (cache_lock first).
 */
#include <pthread.h>

#include "../base/hak_bitmap.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "segment.h"

#define SEG_PAGE_SHIFT	12
#define SEG_PAGE	((size_t)1 << SEG_PAGE_SHIFT)
#define SEG_PAGES	((unsigned)(HAK_RMAP_GRANULE >> SEG_PAGE_SHIFT))
#define SEG_WORDS	(SEG_PAGES / 64)

struct segment {
	uint64_t magic;			/* SEG_MAGIC */
	struct segment *next, *prev;	/* address order */
	unsigned nfree;			/* free pages */
	bool unpurged;			/* pages were freed since the last purge */
	uint64_t freed_ms;		/* last free */
	uint64_t free[SEG_WORDS];	/* bit: page free (never page 0) */
	uint64_t dirty[SEG_WORDS];	/* bit: page handed out since mapped or purged */
	uint16_t run[SEG_PAGES];	/* pages of the block starting here; kept after
					 * its free, so that a second free is told apart */
};

BUILD_BUG_ON(sizeof(struct segment) > SEG_PAGE);
BUILD_BUG_ON(SEG_BLOCK_MAX / SEG_PAGE >= SEG_PAGES);
BUILD_BUG_ON(SEG_ALIGN_MAX > SEG_PAGE);

static pthread_mutex_t seg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct segment *segs;
static uint64_t delay_ms, scanned_ms;
static size_t kept, max_kept;	/* free pages still committed (dirty), and the bound */
static hak_counter_t allocs, frees, resizes, mapped, unmapped, purged_pages;

static unsigned pages_of(size_t size)
{
	return (unsigned)((size + SEG_PAGE - 1) >> SEG_PAGE_SHIFT);
}

bool seg_init(uint64_t delay, size_t max_bytes)
{
	delay_ms = delay;
	max_kept = max_bytes >> SEG_PAGE_SHIFT;
	return hak_sys_page_size() == SEG_PAGE;
}

size_t seg_kept_bytes(void)
{
	size_t n;

	pthread_mutex_lock(&seg_lock);
	n = kept;
	pthread_mutex_unlock(&seg_lock);
	return n << SEG_PAGE_SHIFT;
}

static void link_locked(struct segment *s)
{
	struct segment **pp = &segs, *prev = NULL;

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

static void unlink_locked(struct segment *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		segs = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static struct segment *seg_new_locked(void)
{
	struct segment *s;
	void *p;

	if (hak_sys_map(HAK_RMAP_GRANULE, HAK_RMAP_GRANULE, &p))
		return NULL;
	s = p;	/* the header is complete before registration publishes it */
	s->magic = SEG_MAGIC;
	s->nfree = SEG_PAGES - 1;
	hak_bits_assign(s->free, 1, SEG_PAGES - 1, true);
	hak_bits_assign(s->dirty, 0, 1, true);
	if (hak_rmap_register(p, HAK_RMAP_GRANULE, HAK_RMAP_SEGMENT)) {
		hak_sys_unmap(p, HAK_RMAP_GRANULE);
		return NULL;
	}
	link_locked(s);
	hak_count(mapped, 1);
	return s;
}

/* Give back @s's free pages that hold memory; returns how many. */
static unsigned purge_locked(struct segment *s)
{
	unsigned n = 0, i = 1, end, d, e;

	while ((i = hak_bits_next(s->free, i, SEG_PAGES, true)) < SEG_PAGES) {
		end = hak_bits_next(s->free, i, SEG_PAGES, false);
		for (d = i; (d = hak_bits_next(s->dirty, d, end, true)) < end; d = e) {
			e = hak_bits_next(s->dirty, d, end, false);
			/* a failure (mlock'd pages) keeps them dirty: calloc clears them */
			if (hak_sys_decommit((char *)s + ((size_t)d << SEG_PAGE_SHIFT),
					     (size_t)(e - d) << SEG_PAGE_SHIFT))
				continue;
			hak_bits_assign(s->dirty, d, e - d, false);
			n += e - d;
		}
		i = end;
	}
	s->unpurged = false;
	kept -= n;
	hak_count(purged_pages, n);
	return n;
}

/*
 * Segments idle for the delay (or all, with @now 0 from trim): empty ones
 * leave the list and the region map and come back chained for unmapping
 * after the lock is dropped; the others give back their free pages.
 */
static struct segment *expire_locked(uint64_t now, size_t *bytes)
{
	struct segment *gone = NULL, *s, *next;

	for (s = segs; s; s = next) {
		bool empty = s->nfree == SEG_PAGES - 1;

		next = s->next;
		/* an empty segment goes even if purged already (by the bound) */
		if ((!s->unpurged && !empty) || (now && now - s->freed_ms < delay_ms))
			continue;
		if (empty) {
			kept -= hak_bits_count(s->dirty, 1, SEG_PAGES - 1);
			unlink_locked(s);
			hak_rmap_unregister(s, HAK_RMAP_GRANULE);
			s->next = gone;
			gone = s;
			*bytes += HAK_RMAP_GRANULE;
		} else {
			*bytes += (size_t)purge_locked(s) << SEG_PAGE_SHIFT;
		}
	}
	return gone;
}

static void unmap_all(struct segment *s)
{
	while (s) {
		struct segment *next = s->next;

		hak_sys_unmap(s, HAK_RMAP_GRANULE);
		hak_count(unmapped, 1);
		s = next;
	}
}

/* Purge at most once per clock step: the scan visits every segment. */
static struct segment *maybe_expire_locked(void)
{
	uint64_t now = hak_sys_now_ms();
	size_t bytes = 0;

	if (now == scanned_ms)
		return NULL;
	scanned_ms = now;
	return expire_locked(now, &bytes);
}

void *seg_alloc(size_t size, bool *zeroed)
{
	unsigned n = pages_of(size);
	struct segment *s, *gone = NULL;
	int first = -1;

	hak_assert(size > 0 && size <= SEG_BLOCK_MAX);
	pthread_mutex_lock(&seg_lock);
	for (s = segs; s; s = s->next)
		if (s->nfree >= n && (first = hak_bits_find_run(s->free, 1, SEG_PAGES, n)) >= 0)
			break;
	if (!s) {
		gone = maybe_expire_locked();
		s = seg_new_locked();
		first = 1;
	}
	if (s) {
		unsigned dirty = hak_bits_count(s->dirty, (unsigned)first, n);

		hak_bits_assign(s->free, (unsigned)first, n, false);
		s->nfree -= n;
		kept -= dirty;
		*zeroed = !dirty;
		hak_bits_assign(s->dirty, (unsigned)first, n, true);
		s->run[first] = (uint16_t)n;
		for (unsigned i = (unsigned)first + 1; i < (unsigned)first + n; i++)
			s->run[i] = 0;
	}
	pthread_mutex_unlock(&seg_lock);
	unmap_all(gone);
	if (!s)
		return NULL;
	hak_count(allocs, 1);
	return (char *)s + ((size_t)first << SEG_PAGE_SHIFT);
}

/* Page index of live block @p in @s, or 0 with @why set. */
static unsigned block_locked(const struct segment *s, const void *p, const char **why)
{
	size_t off = (size_t)((const char *)p - (const char *)s);
	unsigned i = (unsigned)(off >> SEG_PAGE_SHIFT);

	if (off % SEG_PAGE || i == 0 || !s->run[i]) {
		*why = "invalid";
		return 0;
	}
	if (hak_bit(s->free, i)) {
		*why = "double";
		return 0;
	}
	return i;
}

size_t seg_usable(void *seg, const void *p, const char **why)
{
	struct segment *s = seg;
	size_t n = 0;
	unsigned i;

	pthread_mutex_lock(&seg_lock);
	i = block_locked(s, p, why);
	if (i)
		n = (size_t)s->run[i] << SEG_PAGE_SHIFT;
	pthread_mutex_unlock(&seg_lock);
	return n;
}

const char *seg_free(void *seg, void *p)
{
	struct segment *s = seg, *gone;
	const char *why = NULL;
	unsigned i;

	pthread_mutex_lock(&seg_lock);
	i = block_locked(s, p, &why);
	if (!i) {
		pthread_mutex_unlock(&seg_lock);
		return why;
	}
	hak_bits_assign(s->free, i, s->run[i], true);
	s->nfree += s->run[i];
	kept += s->run[i];
	s->unpurged = true;
	s->freed_ms = hak_sys_now_ms();
	if (kept > max_kept)
		purge_locked(s);
	gone = maybe_expire_locked();
	pthread_mutex_unlock(&seg_lock);
	unmap_all(gone);
	hak_count(frees, 1);
	return NULL;
}

void seg_decay(void)
{
	struct segment *gone;

	if (pthread_mutex_trylock(&seg_lock))
		return;
	gone = maybe_expire_locked();
	pthread_mutex_unlock(&seg_lock);
	unmap_all(gone);
}

void *seg_resize(void *seg, void *p, size_t size)
{
	struct segment *s = seg;
	const char *why = NULL;
	unsigned i, n, old;
	void *q = NULL;

	if (size > SEG_BLOCK_MAX)
		return NULL;	/* the caller moves it to a mapping of its own */
	n = pages_of(size);
	pthread_mutex_lock(&seg_lock);
	i = block_locked(s, p, &why);
	if (!i) {	/* freed by another thread since it was validated */
		pthread_mutex_unlock(&seg_lock);
		hak_fatal("%s realloc(%p)", why, p);
	}
	old = s->run[i];
	if (n <= old) {		/* the tail's pages go back to the segment */
		hak_bits_assign(s->free, i + n, old - n, true);
		s->nfree += old - n;
		kept += old - n;
		s->unpurged = true;
		s->freed_ms = hak_sys_now_ms();
		s->run[i] = (uint16_t)n;
		q = p;
	} else if (i + n <= SEG_PAGES &&	/* the pages that follow are all free */
		   hak_bits_next(s->free, i + old, i + n, false) == i + n) {
		kept -= hak_bits_count(s->dirty, i + old, n - old);
		hak_bits_assign(s->free, i + old, n - old, false);
		hak_bits_assign(s->dirty, i + old, n - old, true);
		for (unsigned j = i + old; j < i + n; j++)
			s->run[j] = 0;
		s->nfree -= n - old;
		s->run[i] = (uint16_t)n;
		q = p;
	}
	pthread_mutex_unlock(&seg_lock);
	if (q)
		hak_count(resizes, 1);
	return q;
}

size_t seg_trim(void)
{
	struct segment *gone;
	size_t bytes = 0;

	pthread_mutex_lock(&seg_lock);
	gone = expire_locked(0, &bytes);
	pthread_mutex_unlock(&seg_lock);
	unmap_all(gone);
	return bytes;
}

void seg_prefork(void)
{
	pthread_mutex_lock(&seg_lock);
}

void seg_postfork_parent(void)
{
	pthread_mutex_unlock(&seg_lock);
}

void seg_postfork_child(void)
{
	pthread_mutex_init(&seg_lock, NULL);
}

/* Report the segments' counters; returns the bytes of their live blocks. */
uint64_t seg_stats(struct hak_stats_sink *st)
{
	unsigned n = 0, nfree = 0;

	pthread_mutex_lock(&seg_lock);
	for (struct segment *s = segs; s; s = s->next) {
		n++;
		nfree += s->nfree;
	}
	pthread_mutex_unlock(&seg_lock);
#define P(f) hak_stat(st, "seg_" #f, f);
	P(allocs) P(frees) P(resizes) P(mapped) P(unmapped) P(purged_pages)
#undef P
	hak_stat(st, "seg_live", n);
	hak_stat(st, "seg_free_pages", nfree);
	hak_stat(st, "seg_kept_pages", seg_kept_bytes() >> SEG_PAGE_SHIFT);
	return ((uint64_t)n * (SEG_PAGES - 1) - nfree) << SEG_PAGE_SHIFT;
}

/* Each segment: mapped and registered, the free count exact, every used page in one block. */
static int segment_check(const struct segment *s)
{
	unsigned nfree = 0;

	if (s->magic != SEG_MAGIC || hak_rmap_lookup(s) != HAK_RMAP_SEGMENT || hak_bit(s->free, 0) ||
	    (s->next && s->next <= s))
		return 1;
	for (unsigned i = 1; i < SEG_PAGES;) {
		unsigned n = s->run[i];

		if (hak_bit(s->free, i)) {
			nfree++;
			i++;
			continue;
		}
		if (!n || i + n > SEG_PAGES || hak_bits_any(s->free, i, n))
			return 1;
		for (unsigned j = i + 1; j < i + n; j++)
			if (s->run[j])
				return 1;
		i += n;
	}
	return nfree != s->nfree;
}

/* ... and the kept count is the free pages still dirty, over all segments. */
int seg_self_check(void)
{
	size_t dirty_free = 0;
	int errors = 0;

	pthread_mutex_lock(&seg_lock);
	for (struct segment *s = segs; s; s = s->next) {
		if (segment_check(s)) {
			hak_report("self-check: large segment %p: bad header, page map or free count",
				   (void *)s);
			errors++;
		}
		for (unsigned k = 0; k < SEG_WORDS; k++)
			dirty_free += (size_t)__builtin_popcountll(s->free[k] & s->dirty[k]);
	}
	if (dirty_free != kept) {
		hak_report("self-check: large segments keep %zu free pages, count %zu", dirty_free, kept);
		errors++;
	}
	pthread_mutex_unlock(&seg_lock);
	return errors;
}
