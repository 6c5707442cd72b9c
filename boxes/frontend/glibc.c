/*
 * glibc.c - the glibc extras programs call (malloc_stats, mallinfo2,
 * malloc_trim, mallopt; malloc_info is in stats.c) and the self-check.
 */
#include "../bigcache/bigcache.h"
#include "../sysmem/sysmem.h"
#include "frontend_internal.h"
#include "hakmem.h"

HAK_EXPORT int hak_self_check(void)
{
	return hak_atomic_load_acquire(&hak_state) == HAK_UP ? hak_registry_self_check() : 0;
}

HAK_EXPORT void hak_malloc_stats(void)
{
	hak_stats_print(stderr);
}

/*
 * What HAKMEM can say cheaply: arena = bytes mapped now, hblkhd = large
 * blocks kept for reuse (free), the rest in use. Blocks cached in thread
 * bins count as in use.
 */
HAK_EXPORT struct mallinfo2 hak_mallinfo2(void)
{
	struct mallinfo2 mi = { 0 };
	size_t cached = hak_bc_cached_bytes();

	mi.arena = hak_sys_bytes_mapped();
	mi.hblkhd = cached;
	mi.fordblks = cached;
	mi.uordblks = mi.arena - cached;
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
