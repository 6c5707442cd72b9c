/*
 * mimalloc.h (HAKMEM's shim, not mimalloc's header) - lets mimalloc's own
 * tests run against whatever malloc the process has (glibc, or HAKMEM
 * under LD_PRELOAD). Only names whose meaning is the standard call's are
 * mapped; the rest of mimalloc's API (heaps, stats, options, aligned_at,
 * re-zeroing realloc) aborts if reached: tools/outside/
 * mimalloc_gperftools_tests.sh removes the checks that would reach it.
 */
#ifndef HAKMEM_MIMALLOC_SHIM_H
#define HAKMEM_MIMALLOC_SHIM_H

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define mi_malloc malloc
#define mi_calloc calloc
#define mi_realloc realloc
#define mi_reallocarray reallocarray
#define mi_free free
#define mi_usable_size malloc_usable_size
#define mi_posix_memalign posix_memalign
#define mi_memalign memalign
#define mi_strdup strdup
#define mi_realpath realpath

static inline void *mi_zalloc(size_t n)
{
	return calloc(1, n);
}
#define mi_zalloc_small mi_zalloc

static inline void *mi_malloc_aligned(size_t n, size_t align)
{
	return memalign(align, n);
}

/* no counterpart needed: options, statistics, version */
#define mi_option_disable(o) ((void)0)
#define mi_stats_reset() ((void)0)
#define mi_stats_print(out) ((void)(out))
#define mi_version() 0

/* mimalloc-only: reaching one is a bug of the script that edits the test */
static inline void *shim_mi_only(const char *name)
{
	fprintf(stderr, "mimalloc shim: %s is mimalloc-only\n", name);
	abort();
}
typedef struct mi_heap_s mi_heap_t;
#define mi_heap_new() ((mi_heap_t *)shim_mi_only("mi_heap_new"))
#define mi_heap_delete(h) ((void)(h), shim_mi_only("mi_heap_delete"))
#define mi_heap_destroy(h) ((void)(h), shim_mi_only("mi_heap_destroy"))
#define mi_heap_set_default(h) ((void)(h), shim_mi_only("mi_heap_set_default"))
#define mi_heap_malloc(h, n) ((void)(h), (void)(n), shim_mi_only("mi_heap_malloc"))
#define mi_heap_malloc_tp(h, t) ((t *)shim_mi_only("mi_heap_malloc_tp"))
#define mi_heap_malloc_aligned(h, n, a) shim_mi_only("mi_heap_malloc_aligned")
#define mi_heap_contains_block(h, p) (shim_mi_only("mi_heap_contains_block") != NULL)
#define mi_malloc_aligned_at(n, a, o) shim_mi_only("mi_malloc_aligned_at")
#define mi_zalloc_aligned(n, a) shim_mi_only("mi_zalloc_aligned")
#define mi_calloc_aligned(n, s, a) shim_mi_only("mi_calloc_aligned")
#define mi_rezalloc(p, n) shim_mi_only("mi_rezalloc")
#define mi_recalloc(p, n, s) shim_mi_only("mi_recalloc")
#define mi_rezalloc_aligned(p, n, a) shim_mi_only("mi_rezalloc_aligned")
#define mi_recalloc_aligned(p, n, s, a) shim_mi_only("mi_recalloc_aligned")

/* NetBSD's reallocarr(), which glibc lacks: *pp resized to n*s; 0 or errno */
static inline int reallocarr(void *pp, size_t n, size_t s)
{
	void *q = reallocarray(*(void **)pp, n, s);

	if (!q)
		return errno;
	*(void **)pp = q;
	return 0;
}

#ifdef __cplusplus
#include <memory>
/* a std::allocator is one over operator new, i.e. over the same malloc */
template <class T> using mi_stl_allocator = std::allocator<T>;
template <class T> using mi_heap_stl_allocator = std::allocator<T>;
template <class T> using mi_heap_destroy_stl_allocator = std::allocator<T>;
#endif

#endif /* HAKMEM_MIMALLOC_SHIM_H */
