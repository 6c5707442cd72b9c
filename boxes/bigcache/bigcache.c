/*
 * bigcache.c - large blocks: one mapping each, a bounded cache of freed ones.
 *
 * Lock: cache_lock protects the cache array and its byte count. A live
 * block's header is written only by the thread that owns the block.
 */
#include <errno.h>
#include <pthread.h>

#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "bigcache.h"

#define LIVE_MAGIC	0x4c49564542494721ull	/* "!GIBEVIL" */
#define FREE_MAGIC	0x4545524642494721ull
#define HDR_SIZE	64
#define MAX_ENTRIES	4096

struct large_hdr {
	uint64_t magic;
	size_t map_size;	/* bytes mapped from base */
	char *user;		/* the pointer handed out */
};

BUILD_BUG_ON(sizeof(struct large_hdr) > HDR_SIZE);

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct large_hdr *cache[MAX_ENTRIES];
static unsigned ncached, max_entries;
static size_t cached_bytes, max_bytes;
static hak_counter_t allocs, frees, hits, misses, evictions, resizes, trims;

static size_t page_up(size_t n)
{
	return HAK_ALIGN_UP(n, hak_sys_page_size());
}

static size_t user_offset(size_t align)
{
	return HAK_MAX(align, (size_t)HDR_SIZE);
}

static void release(struct large_hdr *h)
{
	hak_rmap_unregister(h, h->map_size);
	hak_sys_unmap(h, h->map_size);
}

/* A cached mapping of @need..@need*5/4 bytes, or NULL. */
static struct large_hdr *cache_take(size_t need)
{
	struct large_hdr *h = NULL;

	pthread_mutex_lock(&cache_lock);
	for (unsigned i = ncached; i-- > 0;) {
		size_t sz = cache[i]->map_size;

		if (sz >= need && sz - need <= need / 4) {
			h = cache[i];
			cache[i] = cache[--ncached];
			cached_bytes -= sz;
			break;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return h;
}

/* Keep @h for reuse, evicting the oldest entries if over a bound. */
static void cache_put(struct large_hdr *h)
{
	struct large_hdr *evict[8];
	unsigned nevict = 0;

	h->magic = FREE_MAGIC;
	pthread_mutex_lock(&cache_lock);
	while (ncached && nevict < 8 &&
	       (ncached >= max_entries || cached_bytes + h->map_size > max_bytes)) {
		evict[nevict++] = cache[0];
		cached_bytes -= cache[0]->map_size;
		cache[0] = cache[--ncached];
	}
	if (ncached < max_entries && cached_bytes + h->map_size <= max_bytes) {
		cache[ncached++] = h;
		cached_bytes += h->map_size;
		h = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	hak_count(evictions, nevict);
	while (nevict)
		release(evict[--nevict]);
	if (h)
		release(h);
}

void *hak_bc_alloc(size_t size, size_t align, bool *zeroed)
{
	size_t off = user_offset(align), need, map_align;
	struct large_hdr *h = NULL;
	void *base;

	if (size > SIZE_MAX / 2 - off)
		return NULL;
	need = page_up(off + size);
	map_align = HAK_MAX(align, HAK_RMAP_GRANULE);
	hak_count(allocs, 1);
	if (map_align == HAK_RMAP_GRANULE)
		h = cache_take(need);
	*zeroed = h == NULL;
	if (h) {
		hak_count(hits, 1);
	} else {
		hak_count(misses, 1);
		if (hak_sys_map(need, map_align, &base))
			return NULL;
		if (hak_rmap_register(base, need, HAK_RMAP_LARGE)) {
			hak_sys_unmap(base, need);
			return NULL;
		}
		h = base;
		h->map_size = need;
	}
	h->magic = LIVE_MAGIC;
	h->user = (char *)h + off;
	return h->user;
}

size_t hak_bc_usable(void *base, const void *p, const char **why)
{
	struct large_hdr *h = base;

	if (h->user != p || (h->magic != LIVE_MAGIC && h->magic != FREE_MAGIC)) {
		*why = "invalid";
		return 0;
	}
	if (h->magic == FREE_MAGIC) {
		*why = "double";
		return 0;
	}
	return h->map_size - (size_t)(h->user - (char *)h);
}

void hak_bc_free(void *base, void *p)
{
	(void)p;
	hak_count(frees, 1);
	cache_put(base);
}

void *hak_bc_resize(void *base, void *p, size_t size)
{
	struct large_hdr *h = base;
	size_t off = (size_t)((char *)p - (char *)h), need, old = h->map_size;
	void *nb;

	if (size > SIZE_MAX / 2 - off)
		return NULL;
	need = page_up(off + size);
	if (need <= old && need > old / 2)
		return p;	/* fits; a small shrink is not worth a system call */
	/* Unregister first: once the kernel moves or trims the pages, another
	 * region may be mapped at the old addresses. */
	hak_rmap_unregister(h, old);
	if (hak_sys_remap(h, old, need, HAK_MAX(off, HAK_RMAP_GRANULE), &nb)) {
		hak_rmap_register(h, old, HAK_RMAP_LARGE);
		return need < old ? p : NULL;
	}
	h = nb;
	h->map_size = need;
	h->user = (char *)h + off;
	hak_rmap_register(h, need, HAK_RMAP_LARGE);
	hak_count(resizes, 1);
	return h->user;
}

size_t hak_bc_cached_bytes(void)
{
	size_t n;

	pthread_mutex_lock(&cache_lock);
	n = cached_bytes;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

size_t hak_bc_trim(void)
{
	struct large_hdr *all[MAX_ENTRIES];
	unsigned n;
	size_t bytes;

	pthread_mutex_lock(&cache_lock);
	n = ncached;
	bytes = cached_bytes;
	for (unsigned i = 0; i < n; i++)
		all[i] = cache[i];
	ncached = 0;
	cached_bytes = 0;
	pthread_mutex_unlock(&cache_lock);
	while (n)
		release(all[--n]);
	hak_count(trims, 1);
	return bytes;
}

static int bc_init(const struct hak_options *opt)
{
	size_t mb = (size_t)opt->v[HAK_OPT_BIGCACHE_MB];

	/* Never keep more than 1/16 of the machine's memory. */
	max_bytes = HAK_MIN(mb << 20, hak_sys_phys_mem() / 16);
	max_entries = (unsigned)HAK_MIN(opt->v[HAK_OPT_BIGCACHE_ENTRIES], MAX_ENTRIES);
	return 0;
}

static void bc_prefork(void)
{
	pthread_mutex_lock(&cache_lock);
}

static void bc_postfork_parent(void)
{
	pthread_mutex_unlock(&cache_lock);
}

static void bc_postfork_child(void)
{
	pthread_mutex_init(&cache_lock, NULL);
}

static void bc_stats(FILE *out)
{
	fprintf(out, "bigcache.allocs %llu\nbigcache.frees %llu\nbigcache.hits %llu\n"
		"bigcache.misses %llu\nbigcache.evictions %llu\nbigcache.resizes %llu\n"
		"bigcache.trims %llu\nbigcache.cached_blocks %u\nbigcache.cached_bytes %zu\n",
		(unsigned long long)allocs, (unsigned long long)frees,
		(unsigned long long)hits, (unsigned long long)misses,
		(unsigned long long)evictions, (unsigned long long)resizes,
		(unsigned long long)trims, ncached, cached_bytes);
}

static int bc_self_check(void)
{
	size_t bytes = 0;
	int errors = 0;

	pthread_mutex_lock(&cache_lock);
	for (unsigned i = 0; i < ncached; i++) {
		if (cache[i]->magic != FREE_MAGIC) {
			hak_report("self-check: cached large block %p not marked free",
				   (void *)cache[i]);
			errors++;
		}
		bytes += cache[i]->map_size;
	}
	if (bytes != cached_bytes) {
		hak_report("self-check: bigcache holds %zu B but counts %zu B", bytes, cached_bytes);
		errors++;
	}
	pthread_mutex_unlock(&cache_lock);
	return errors;
}

static void bc_describe(char *buf, size_t len)
{
	snprintf(buf, len, "large blocks > %u KiB, cache of %u blocks / %zu MiB",
		 52u, max_entries, max_bytes >> 20);
}

const struct hak_box hak_box_bigcache = {
	.name = "bigcache",
	.layer = 2,
	.init = bc_init,
	.prefork = bc_prefork,
	.postfork_parent = bc_postfork_parent,
	.postfork_child = bc_postfork_child,
	.stats = bc_stats,
	.self_check = bc_self_check,
	.describe = bc_describe,
};
