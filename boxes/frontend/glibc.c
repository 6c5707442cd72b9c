/*
 * glibc.c - the glibc extras programs call (malloc_stats, mallinfo2,
 * malloc_trim, mallopt; malloc_info is in stats.c) and the self-check.
 */
#include <pthread.h>
#include <string.h>

#include "../bigcache/bigcache.h"
#include "../sysmem/sysmem.h"
#include "frontend_internal.h"
#include "hakmem.h"

HAK_EXPORT int hak_self_check(void)
{
	return hak_atomic_load_acquire(&hak_state) == HAK_UP ? hak_registry_self_check() : 0;
}

/* Not a cancellation point (as glibc's): a pending cancel waits for the whole report. */
HAK_EXPORT void hak_malloc_stats(void)
{
	int state;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	hak_stats_print(stderr);
	pthread_setcancelstate(state, NULL);
}

/* A stats sink that adds up the boxes' "bytes_live" counters. */
struct live_sum {
	struct hak_stats_sink sink;
	unsigned depth;		/* inside a size class */
	uint64_t live;
};

#define LS(s) ((struct live_sum *)(s))

static void ls_box_begin(struct hak_stats_sink *s, const char *name) { (void)s; (void)name; }
static void ls_box_end(struct hak_stats_sink *s) { (void)s; }
static void ls_class_begin(struct hak_stats_sink *s, unsigned c, unsigned b) { (void)c; (void)b; LS(s)->depth++; }
static void ls_class_end(struct hak_stats_sink *s) { LS(s)->depth--; }

static void ls_value(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	if (!LS(s)->depth && strcmp(name, "bytes_live") == 0)
		LS(s)->live += v;
}

/*
 * glibc's meanings, where blocks of its own mapping are HAKMEM's large
 * blocks (above 1 MiB): hblks, hblkhd = the large blocks in use and their
 * bytes; arena = the other bytes mapped now; uordblks = of those, the bytes
 * of the blocks out of the tiers (in use, or cached in thread bins: the
 * boxes' bytes_live, less the large blocks'); fordblks = the rest; keepcost
 * = freed large blocks kept for reuse, which malloc_trim() gives back.
 */
HAK_EXPORT struct mallinfo2 hak_mallinfo2(void)
{
	struct live_sum sum = {
		{ ls_box_begin, ls_box_end, ls_value, ls_class_begin, ls_class_end }, 0, 0,
	};
	struct mallinfo2 mi = { 0 };
	size_t mapped;

	hak_registry_stats(&sum.sink);
	mapped = hak_sys_bytes_mapped();
	mi.hblks = hak_bc_in_use(&mi.hblkhd);
	mi.hblkhd = HAK_MIN(mi.hblkhd, mapped);
	mi.arena = mapped - mi.hblkhd;
	mi.uordblks = HAK_MIN(sum.live > mi.hblkhd ? sum.live - mi.hblkhd : 0, mi.arena);
	mi.fordblks = mi.arena - mi.uordblks;
	mi.keepcost = HAK_MIN(hak_bc_cached_bytes(), mi.fordblks);
	return mi;
}

/* Flush this thread's caches and return all memory kept idle (hak_registry_reclaim). */
HAK_EXPORT int hak_malloc_trim(size_t pad)
{
	size_t before = hak_sys_bytes_mapped();

	(void)pad;
	if (hak_atomic_load_acquire(&hak_state) != HAK_UP)
		return 0;
	/* segments' free pages are decommitted, not unmapped: count them too */
	return hak_registry_reclaim() > 0 || hak_sys_bytes_mapped() < before;
}

/* glibc's parameters (M_MXFAST .. M_ARENA_MAX) are accepted and ignored. */
HAK_EXPORT int hak_mallopt(int param, int value)
{
	(void)value;
	return param >= -8 && param <= 1;
}
