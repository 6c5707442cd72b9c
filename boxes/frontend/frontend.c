/*
 * frontend.c - the public hak_* API: dispatch by size on allocation and by
 * region map on free; bad input is reported here.
 *
 * Fast paths: malloc pops a tiny or pool bin, free pushes one; everything
 * else (first call, misses, large blocks, checks) is a noinline slow path.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../base/hak_base.h"
#include "../base/hak_sizeclass.h"
#include "../bigcache/bigcache.h"
#include "../medium/medium.h"
#include "../pool_p1_p4/pool.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "../tiny/tiny.h"
#include "frontend_internal.h"
#include "hakmem.h"

/* HAK_STATS_FAST: per-thread counts, merged at thread exit. */
#define HAK_FAST_STAT_FIELDS(X) X(tiny_allocs) X(pool_allocs) X(medium_allocs) X(frees)

struct fast_stats {
#define X(f) uint64_t f;
	HAK_FAST_STAT_FIELDS(X)
#undef X
};

static HAK_TLS struct fast_stats tls_stats;
static struct {
#define X(f) hak_counter_t f;
	HAK_FAST_STAT_FIELDS(X)
#undef X
} fast_total;
static hak_counter_t large_allocs, foreign_forwarded;

#define STAT_FAST(f) do { if (HAK_STATS_FAST) tls_stats.f++; } while (0)

static void *alloc_slow(size_t size, size_t align, bool *zeroed);
static void *alloc_retry(size_t size, size_t align, bool *zeroed);

/* ------------------------------------------------------------- malloc */

HAK_FAST_PATH void *alloc_fast(size_t size)
{
	void *p;
	unsigned cls;

	if (likely(size <= HAK_TINY_MAX)) {
		p = hak_tiny_pop(size);
		if (likely(p)) {
			STAT_FAST(tiny_allocs);
			return p;
		}
	} else if (size <= HAK_POOL_MAX) {
		cls = hak_size_class(size);
		p = hak_pool_pop(cls);
		if (likely(p)) {
			STAT_FAST(pool_allocs);
			return p;
		}
	} else if (size <= HAK_MEDIUM_MAX) {
		p = hak_medium_pop(hak_medium_class(size));
		if (likely(p)) {
			STAT_FAST(medium_allocs);
			return p;
		}
	}
	return alloc_slow(size, HAK_MIN_ALIGN, NULL);
}

HAK_EXPORT HAK_ENTRY void *hak_malloc(size_t size)
{
	return alloc_fast(size);
}

/* The smallest class >= @size whose block size is a multiple of @align. */
static unsigned aligned_class(size_t size, size_t align)
{
	unsigned cls = hak_size_class(HAK_ALIGN_UP(size, align));

	while (cls < HAK_SMALL_NCLASSES && hak_class_bytes[cls] % align)
		cls++;
	return cls;
}

/*
 * Every allocation that missed the fast path. Span starts are 64 KiB
 * aligned, so a class whose block size is a multiple of @align serves it;
 * medium blocks start on a page. One that succeeds keeps errno, as glibc's
 * does: refills, the learner's tick and huge-page advice make system calls
 * that may fail on the way.
 */
static HAK_SLOW_PATH void *alloc_slow(size_t size, size_t align, bool *zeroed)
{
	unsigned cls = HAK_SMALL_NCLASSES;
	int saved = errno;
	bool z;
	void *p;

	if (unlikely(hak_atomic_load_acquire(&hak_state) != HAK_UP))
		hak_init_slow();
	if (zeroed)
		*zeroed = false;
	if (size <= HAK_POOL_MAX)
		cls = align <= HAK_MIN_ALIGN ? hak_size_class(size)
					     : aligned_class(size, align);
	if (cls < HAK_TINY_NCLASSES) {
		p = hak_bin_pop(&hak_tiny_tls.bins[cls]);
		p = p ? p : hak_tiny_alloc_slow(cls);
		STAT_FAST(tiny_allocs);
	} else if (cls < HAK_SMALL_NCLASSES) {
		p = hak_pool_pop(cls);
		p = p ? p : hak_pool_alloc_slow(cls);
		STAT_FAST(pool_allocs);
	} else if (size <= HAK_MEDIUM_MAX && align <= HAK_MEDIUM_ALIGN) {
		cls = hak_medium_class(HAK_MAX(size, (size_t)1));
		p = hak_medium_pop(cls);
		p = p ? p : hak_medium_alloc_slow(cls);
		STAT_FAST(medium_allocs);
	} else {
		p = hak_bc_alloc(size, HAK_MAX(align, (size_t)HAK_MIN_ALIGN), zeroed != NULL, &z);
		hak_count(large_allocs, 1);
		if (zeroed)
			*zeroed = z;
	}
	if (unlikely(!p) && !(p = alloc_retry(size, align, zeroed)))
		return NULL;
	errno = saved;
	return p;
}

/*
 * Out of memory: every box gives back what it keeps idle (this thread's
 * caches, orphaned ones, empty superslabs and chunks, the large cache), then
 * one more try. A size no address space holds fails at once.
 */
static HAK_SLOW_PATH void *alloc_retry(size_t size, size_t align, bool *zeroed)
{
	static HAK_TLS bool retrying;
	void *p = NULL;

	if (!retrying && !(size >> HAK_RMAP_ADDR_BITS)) {
		retrying = true;
		hak_registry_reclaim();
		p = alloc_slow(size, align, zeroed);
		retrying = false;
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

/* --------------------------------------------------------------- free */

static void *next_symbol(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		hak_fatal("HAKMEM_FOREIGN_FREE=forward: no next %s() to forward to", name);
	return f;
}

/*
 * @p is not HAKMEM's: report and abort, unless HAKMEM_FOREIGN_FREE=forward,
 * in which case return so that the caller hands @p to the next allocator.
 */
static void foreign(void *p, const char *api)
{
	if (unlikely(hak_atomic_load_acquire(&hak_state) != HAK_UP))
		hak_init_slow();	/* a free before any malloc: options not read yet */
	if (hak_opt.v[HAK_OPT_FOREIGN_FREE] != HAK_FOREIGN_FORWARD)
		hak_fatal("invalid %s(%p): not allocated by hakmem", api, p);
	hak_count(foreign_forwarded, 1);
}

/* Does region-map entry @e name a large block's region (bigcache's, not medium's)? */
static bool is_large(uint32_t e)
{
	return hak_rmap_kind(e) == HAK_RMAP_LARGE || hak_rmap_kind(e) == HAK_RMAP_LARGE_RUNS;
}

/*
 * Usable size of @p, reporting (and aborting) on a pointer that is HAKMEM's
 * region but not a live block; 0 for a pointer HAKMEM does not own at all.
 */
static size_t usable_or_die(void *p, uint32_t e, const char *api)
{
	unsigned cls = hak_rmap_class(p);
	const char *why = NULL;
	size_t n;

	if (cls < HAK_SMALL_NCLASSES && (uintptr_t)p % HAK_MIN_ALIGN == 0)
		return hak_class_bytes[cls];
	switch (hak_rmap_kind(e)) {
	case HAK_RMAP_SUPERSLAB:
	case HAK_RMAP_POOL:
		hak_fatal("invalid %s(%p): not a block hakmem handed out", api, p);
	case HAK_RMAP_SEGMENT:
		n = hak_medium_usable(p, &why);
		if (!n)
			hak_fatal("%s %s(%p)", why, api, p);
		return n;
	case HAK_RMAP_LARGE:
	case HAK_RMAP_LARGE_RUNS:
		n = hak_bc_usable(hak_rmap_base(e, p), p, &why);
		if (!n)
			hak_fatal("%s %s(%p)", why, api, p);
		return n;
	default:
		return 0;
	}
}

/*
 * Whatever the fast path of free() does not serve: large blocks, NULL,
 * foreign and bad pointers. Keeps errno: unmapping and the caches' decay
 * may make system calls that fail.
 */
static HAK_SLOW_PATH void free_other(void *p)
{
	static void (*next_free)(void *);
	int saved = errno;
	uint32_t e;
	const char *why;

	if (!p)
		return;
	e = hak_rmap_lookup(p);
	if (is_large(e)) {	/* checked and freed in one step */
		why = hak_bc_free(hak_rmap_base(e, p), p);
		if (why)
			hak_fatal("%s free(%p)", why, p);
	} else {
		/* HAKMEM's page but not a block: fatal inside; a class that
		 * appeared after hak_free() read none means a span was carved
		 * under a pointer that was never handed out */
		if (usable_or_die(p, e, "free"))
			hak_fatal("invalid free(%p): not a block hakmem handed out", p);
		foreign(p, "free");
		if (!next_free)
			next_free = (void (*)(void *))next_symbol("free");
		next_free(p);
	}
	errno = saved;
}

/*
 * One lookup in the page-class map finds both the tier and the class of a
 * tiny or pool block, and a medium block's tier (its class is its run's
 * tag); anything else (large, foreign, NULL, misaligned) goes to
 * free_other(). A block whose bin declines it goes to that tier's slow
 * path; each of those keeps errno too.
 */
HAK_EXPORT HAK_ENTRY void hak_free(void *p)
{
	unsigned cls;

	/* misaligned or beyond the user space: one test for both */
	if (unlikely((uintptr_t)p & ((HAK_MIN_ALIGN - 1) | UINTPTR_MAX << HAK_RMAP_ADDR_BITS))) {
		free_other(p);
		return;
	}
	cls = hak_rmap_class_user(p);
	if (likely(cls < HAK_TINY_NCLASSES)) {
		STAT_FAST(frees);
		hak_tiny_free(p, cls);
	} else if (likely(cls < HAK_SMALL_NCLASSES)) {
		STAT_FAST(frees);
		hak_pool_free(p, cls);
	} else if (likely(cls == HAK_RMAP_RUNS)) {
		STAT_FAST(frees);
		hak_medium_free(p);
	} else {
		free_other(p);
	}
}

/*
 * The two hottest libc names are aliases, not wrappers: a call to malloc or
 * free lands in the fast path with no extra jump. The other libc names are
 * in override.c; like them, these exist only in libhakmem.a/.so.
 */
#if !HAKMEM_FORCE_LIBC_ALLOC_BUILD && !defined(HAKMEM_TEST)
HAK_EXPORT void *malloc(size_t size) __attribute__((alias("hak_malloc")));
HAK_EXPORT void free(void *p) __attribute__((alias("hak_free")));
#endif

/* ------------------------------------------------------- the rest of the API */

HAK_EXPORT void *hak_calloc(size_t n, size_t size)
{
	size_t total;
	bool zeroed;
	void *p;

	if (unlikely(__builtin_mul_overflow(n, size, &total))) {
		errno = ENOMEM;
		return NULL;
	}
	if (total <= HAK_POOL_MAX) {
		p = alloc_fast(total);
		return p ? memset(p, 0, total) : NULL;
	}
	p = alloc_slow(total, HAK_MIN_ALIGN, &zeroed);
	if (p && !zeroed)
		memset(p, 0, total);
	return p;
}

HAK_EXPORT size_t hak_malloc_usable_size(void *p)
{
	static size_t (*next_usable)(void *);
	size_t n;

	if (!p)
		return 0;
	n = usable_or_die(p, hak_rmap_lookup(p), "malloc_usable_size");
	if (likely(n))
		return n;
	foreign(p, "malloc_usable_size");
	if (!next_usable)
		next_usable = (size_t (*)(void *))next_symbol("malloc_usable_size");
	return next_usable(p);
}

HAK_EXPORT void *hak_realloc(void *p, size_t size)
{
	static void *(*next_realloc)(void *, size_t);
	uint32_t e;
	size_t old;
	void *q;

	if (!p)
		return hak_malloc(size);
	if (size == 0) {	/* glibc: realloc(p, 0) frees p */
		hak_free(p);
		return NULL;
	}
	e = hak_rmap_lookup(p);
	old = usable_or_die(p, e, "realloc");
	if (!old) {
		foreign(p, "realloc");
		if (!next_realloc)
			next_realloc = (void *(*)(void *, size_t))next_symbol("realloc");
		return next_realloc(p, size);
	}
	if (size <= old && size > old / 2)
		return p;
	if (is_large(e) && size > HAK_POOL_MAX) {
		q = hak_bc_resize(hak_rmap_base(e, p), p, size);
		if (q)
			return q;
	}
	if (hak_rmap_kind(e) == HAK_RMAP_SEGMENT && size <= HAK_MEDIUM_MAX && hak_medium_grow(p, size))
		return p;
	q = hak_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, HAK_MIN(old, size));
	hak_free(p);
	return q;
}

HAK_EXPORT void *hak_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return hak_realloc(p, total);
}

HAK_EXPORT void *hak_memalign(size_t align, size_t size)
{
	if (align <= HAK_MIN_ALIGN)
		return hak_malloc(size);
	if (!HAK_IS_POW2(align)) {	/* glibc rounds up to a power of two */
		if (align > SIZE_MAX / 2 + 1) {
			errno = EINVAL;
			return NULL;
		}
		align = (size_t)1 << (64 - __builtin_clzll(align));
	}
	return alloc_slow(size, align, NULL);
}

/* glibc: EINVAL leaves errno alone; ENOMEM is also left in errno. */
HAK_EXPORT int hak_posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (!HAK_IS_POW2(align) || align % sizeof(void *))
		return EINVAL;
	p = hak_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

HAK_EXPORT void *hak_aligned_alloc(size_t align, size_t size)
{
	if (!HAK_IS_POW2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return hak_memalign(align, size);
}

HAK_EXPORT void *hak_valloc(size_t size)
{
	return hak_memalign(hak_sys_page_size(), size);
}

HAK_EXPORT void *hak_pvalloc(size_t size)
{
	size_t page = hak_sys_page_size();

	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	return hak_memalign(page, size ? HAK_ALIGN_UP(size, page) : page);
}

/* ------------------------------------------------------- the frontend box */

static void merge_fast_stats(void)
{
#define X(f) hak_count(fast_total.f, tls_stats.f); tls_stats.f = 0;
	HAK_FAST_STAT_FIELDS(X)
#undef X
}

static void frontend_stats(struct hak_stats_sink *s)
{
	merge_fast_stats();
	if (HAK_STATS_FAST) {
#define X(f) hak_stat(s, #f, fast_total.f);
		HAK_FAST_STAT_FIELDS(X)
#undef X
	}
	hak_stat(s, "large_allocs", large_allocs);
	hak_stat(s, "foreign_forwarded", foreign_forwarded);
}

static void frontend_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%s", hak_config_string());
}

const struct hak_box hak_box_frontend = {
	.name = "frontend",
	.layer = 5,
	.thread_exit = merge_fast_stats,
	.stats = frontend_stats,
	.describe = frontend_describe,
};
