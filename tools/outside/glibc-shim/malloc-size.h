/*
 * Stand-in for glibc's internal malloc-size.h (tools/outside/glibc_tests.sh):
 * only the alignment every malloc must give, that of max_align_t.
 */
#ifndef GLIBC_SHIM_MALLOC_SIZE_H
#define GLIBC_SHIM_MALLOC_SIZE_H
#include <stddef.h>
#define MALLOC_ALIGNMENT _Alignof(max_align_t)
#define MALLOC_ALIGN_MASK (MALLOC_ALIGNMENT - 1)
#endif
