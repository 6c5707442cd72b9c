/* mimalloc-types.h (HAKMEM's shim): the constants mimalloc's tests use,
 * with mimalloc 2.0.9's values on 64-bit Linux; no debug fill checks. */
#ifndef HAKMEM_MIMALLOC_TYPES_SHIM_H
#define HAKMEM_MIMALLOC_TYPES_SHIM_H
#define MI_DEBUG 0
#define MI_SMALL_SIZE_MAX (128 * sizeof(void *))
#define MI_MAX_ALIGN_SIZE 16
#define MI_ALIGNMENT_MAX ((size_t)16 << 20)
#endif
