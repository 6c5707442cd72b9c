/*
 * hakmem.h - HAKMEM's public API.
 *
 * Linking libhakmem.a (or preloading libhakmem.so) replaces malloc and every
 * other allocation entry point of the program. The hak_ functions below are
 * the same allocator under names that never clash with libc, for programs
 * that want to call HAKMEM explicitly (and for HAKMEM's own unit tests).
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <malloc.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The version of this header; hak_version() gives the library's. The Makefile
 * reads these lines: the major number is the shared library's soname
 * (libhakmem.so.MAJOR), which changes when the ABI does.
 */
#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0
#define HAKMEM_VERSION \
	(HAKMEM_VERSION_MAJOR * 10000 + HAKMEM_VERSION_MINOR * 100 + HAKMEM_VERSION_PATCH)
#define HAKMEM_VERSION_STR2(a, b, c) #a "." #b "." #c
#define HAKMEM_VERSION_STR1(a, b, c) HAKMEM_VERSION_STR2(a, b, c)
#define HAKMEM_VERSION_STRING \
	HAKMEM_VERSION_STR1(HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR, HAKMEM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

void *hak_malloc(size_t size);
void hak_free(void *ptr);
void *hak_calloc(size_t nmemb, size_t size);
void *hak_realloc(void *ptr, size_t size);
void *hak_reallocarray(void *ptr, size_t nmemb, size_t size);
int hak_posix_memalign(void **out, size_t alignment, size_t size);
void *hak_aligned_alloc(size_t alignment, size_t size);
void *hak_memalign(size_t alignment, size_t size);
void *hak_valloc(size_t size);
void *hak_pvalloc(size_t size);
size_t hak_malloc_usable_size(void *ptr);

/* glibc extras, with glibc's meaning. */
void hak_malloc_stats(void);
struct mallinfo2 hak_mallinfo2(void);
int hak_malloc_trim(size_t pad);
int hak_mallopt(int param, int value);
int hak_malloc_info(int options, FILE *out);

/* hak_stats_print() - every box's counters, one "box.name value" per line. */
void hak_stats_print(FILE *out);

/*
 * hak_stats_json() - every box's counters as one JSON document (docs/STATS.md)
 * in @buf, NUL-terminated and cut at @len - 1 bytes. Returns the length the
 * whole document needs (without the NUL), as snprintf does. Never allocates.
 */
size_t hak_stats_json(char *buf, size_t len);

/* hak_self_check() - run every box's invariant check; returns the error count. */
int hak_self_check(void);

/* hak_config_string() - the build flags this library was built with. */
const char *hak_config_string(void);

/* hak_version() - the library's HAKMEM_VERSION (major * 10000 + minor * 100 + patch). */
int hak_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
