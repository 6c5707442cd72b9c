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

/* hak_stats_print() - every box's counters, one "name value" per line. */
void hak_stats_print(FILE *out);

/* hak_self_check() - run every box's invariant check; returns the error count. */
int hak_self_check(void);

/* hak_config_string() - the build flags this library was built with. */
const char *hak_config_string(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
