/*
 * sysmem.h - P4 system memory: the only box that calls mmap, munmap, madvise,
 * mremap and mprotect. Layer 0: includes nothing but base.
 *
 * Mechanism only, like mimalloc's prim.h: every command returns 0 or -errno,
 * result pointers are never NULL on success, sizes are multiples of the page
 * size and alignments powers of two no smaller than a page. All calls are
 * thread-safe and take no lock. Also owns the thread-exit hook.
 */
#ifndef HAK_SYSMEM_H
#define HAK_SYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/hak_box.h"

/**
 * hak_sys_map() - map fresh zeroed read-write memory
 * @size:  bytes, a multiple of the page size
 * @align: alignment of the result, a power of two >= the page size
 * @out:   the mapping's address
 *
 * Returns 0, or -ENOMEM when the system refuses (or a test injects a fault).
 */
int hak_sys_map(size_t size, size_t align, void **out);

/**
 * hak_sys_map_part() - hak_sys_map() of @size bytes of which only the first
 * *@open (a multiple of the page size) are read-write: the rest is reserved
 * inaccessible, with no memory and no commit charge, until hak_sys_reopen().
 * When the mapping cannot be split in two (vm.max_map_count reached), all of
 * it is opened and *@open becomes @size. Counted as @size bytes mapped.
 */
int hak_sys_map_part(size_t size, size_t *open, size_t align, void **out);

/**
 * hak_sys_reserve() - reserve address space that is committed page by page
 * on first touch and never counted against overcommit (MAP_NORESERVE).
 */
int hak_sys_reserve(size_t size, void **out);

/**
 * hak_sys_unmap() - return a mapping (or a page-aligned part) to the OS.
 * The kernel refuses only a split past vm.max_map_count: then the pages go
 * back (MADV_DONTNEED), the addresses stay mapped but unused for good
 * (sysmem.bytes_stranded) and -ENOMEM is returned.
 */
int hak_sys_unmap(void *p, size_t size);

/**
 * hak_sys_decommit() - give the pages back but keep the addresses; they read
 * as zero when touched again (MADV_DONTNEED).
 */
int hak_sys_decommit(void *p, size_t size);

/**
 * hak_sys_hugepage() - ask for transparent huge pages on [@p, @p + @size)
 * (MADV_HUGEPAGE): one fault per 2 MiB, but each one commits all of it.
 */
int hak_sys_hugepage(void *p, size_t size);

/**
 * hak_sys_nohugepage() - undo hak_sys_hugepage() on whole 2 MiB granules
 * (MADV_NOHUGEPAGE): the huge pages there are split where pages go back,
 * and khugepaged no longer collapses them (which commits every byte again).
 */
int hak_sys_nohugepage(void *p, size_t size);

/**
 * hak_sys_collapse() - put the resident pages of [@p, @p + @size) (whole
 * 2 MiB granules) on transparent huge pages now (MADV_COLLAPSE, Linux 6.1):
 * copies them, and commits every byte of each granule. Returns 0, or
 * -EINVAL (older kernel, THP off), -EAGAIN or -ENOMEM (no huge page at
 * hand now) and the like: the pages stay as they were.
 */
int hak_sys_collapse(void *p, size_t size);

/**
 * hak_sys_guard() - give back the pages of [@p, @p + @size) but keep the
 * addresses reserved (inaccessible), so no other mapping can land there.
 * Counted as returned. Undo only with hak_sys_unguard().
 */
int hak_sys_guard(void *p, size_t size);

/** hak_sys_unguard() - release a range made by hak_sys_guard(). */
int hak_sys_unguard(void *p, size_t size);

/**
 * hak_sys_close() - make [@p, @p + @size) of a mapping inaccessible but keep
 * its pages and contents (mprotect PROT_NONE); hak_sys_reopen() undoes it.
 */
int hak_sys_close(void *p, size_t size);
int hak_sys_reopen(void *p, size_t size);

/**
 * hak_sys_move() - move the pages of [@src, @src + @size) (part or all of a
 * mapping made here) over [@dst, @dst + @size) (inside another): no copy, no
 * page fault; what @dst held is unmapped, and @src is left unmapped.
 * Returns 0 or -errno.
 */
int hak_sys_move(void *src, size_t size, void *dst);

/** hak_sys_page_size() - the page size; valid before init. */
size_t hak_sys_page_size(void);

/** hak_sys_now_ms() - a cheap monotonic clock (coarse, ~4 ms steps) for idle delays. */
uint64_t hak_sys_now_ms(void);

/** hak_sys_phys_mem() - bytes of physical memory on this machine. */
size_t hak_sys_phys_mem(void);

/** hak_sys_ncpus() - CPUs online (at least 1). */
unsigned hak_sys_ncpus(void);

/**
 * hak_sys_thread_watch() - make sure the thread-exit hook runs when the
 * calling thread exits (a pthread key destructor). Call from a slow path the
 * first time a thread caches memory; calling again is cheap.
 */
void hak_sys_thread_watch(void);

/**
 * hak_sys_thread_exiting() - true once the calling thread's exit hook ran:
 * frees glibc makes later (__libc_thread_freeres) must not be cached, since
 * no hook will run again to give them back.
 */
bool hak_sys_thread_exiting(void);

/** hak_sys_set_thread_exit_hook() - the frontend's @hook, set once at init. */
void hak_sys_set_thread_exit_hook(void (*hook)(void));

/** hak_sys_bytes_mapped() - bytes mapped now (mapped minus returned). */
size_t hak_sys_bytes_mapped(void);

#ifdef HAKMEM_TEST
/*
 * Test builds: every system call above (map, map_part's split, reserve,
 * unmap, guard, unguard, decommit, hugepage, collapse, close, reopen,
 * move) fails once this many more calls succeeded (-1: never); then every
 * call fails, or with hak_sys_fail_once only that one. hak_sys_calls counts
 * them.
 */
extern _Atomic long hak_sys_fail_after;
extern _Atomic bool hak_sys_fail_once;
extern _Atomic long hak_sys_calls;
/* Test builds: the next hak_sys_map_part() cannot split its mapping. */
extern _Atomic bool hak_sys_fail_split;
#endif

extern const struct hak_box hak_box_sysmem;

#endif /* HAK_SYSMEM_H */
