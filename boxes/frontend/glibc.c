/*
 * glibc.c - the glibc extras programs call (malloc_stats, mallinfo2,
 * malloc_trim, mallopt, malloc_info), the stats report and self-check.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "../bigcache/bigcache.h"
#include "../medium/medium.h"
#include "../sysmem/sysmem.h"
#include "frontend_internal.h"
#include "hakmem.h"

HAK_EXPORT void hak_stats_print(FILE *out)
{
	fprintf(out, "hakmem: stats (%s)\n", hak_config_string());
	hak_registry_stats(out);
	fflush(out);
}

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

/* Flush this thread's caches and return every cached large block. */
HAK_EXPORT int hak_malloc_trim(size_t pad)
{
	size_t before = hak_sys_bytes_mapped();

	(void)pad;
	if (hak_atomic_load_acquire(&hak_state) != HAK_UP)
		return 0;
	hak_registry_thread_exit();
	hak_medium_trim();
	/* segments' free pages are decommitted, not unmapped: count them too */
	return hak_bc_trim() > 0 || hak_sys_bytes_mapped() < before;
}

/* glibc's parameters (M_MXFAST .. M_ARENA_MAX) are accepted and ignored. */
HAK_EXPORT int hak_mallopt(int param, int value)
{
	(void)value;
	return param >= -8 && param <= 1;
}

HAK_EXPORT int hak_malloc_info(int options, FILE *out)
{
	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out, "<malloc version=\"hakmem-1\">\n<system type=\"current\" size=\"%zu\"/>\n</malloc>\n",
		hak_sys_bytes_mapped());
	return 0;
}

/*
 * HAKMEM_STATS=1: the report at exit (a destructor needs no registration).
 * Programs often close stderr before exit (coreutils' close_stdout), so the
 * report goes to a copy of fd 2 taken at start-up.
 */
static int stats_fd = -1;

void hak_stats_at_exit_prepare(void)
{
	stats_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
}

__attribute__((destructor)) static void stats_at_exit(void)
{
	FILE *out;

	if (hak_atomic_load_acquire(&hak_state) != HAK_UP || stats_fd < 0)
		return;
	out = fdopen(stats_fd, "w");
	if (out) {
		hak_stats_print(out);
		fclose(out);
	}
	stats_fd = -1;
}
