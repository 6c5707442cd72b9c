/*
 * unit.h - HAKMEM's unit tests: one Check suite per box, linked against
 * libhakmem_test.a (hak_* only; Check keeps glibc's malloc). Each test runs
 * in a forked child, so HAKMEM starts fresh in every test and a test may set
 * HAKMEM_* variables before its first hak_ call.
 */
#ifndef HAK_UNIT_H
#define HAK_UNIT_H

#include <check.h>
#include <stdint.h>

#include "hakmem.h"

Suite *sysmem_suite(void);
Suite *regionmap_suite(void);
Suite *superslab_suite(void);
Suite *bigcache_suite(void);
Suite *tiny_suite(void);
Suite *pool_suite(void);
Suite *frontend_suite(void);

/* Fill / verify @n bytes at @p with a pattern derived from @seed. */
static inline void unit_fill(void *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed * 131 + i * 7);
}

static inline int unit_verify(const void *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)(seed * 131 + i * 7))
			return 0;
	return 1;
}

#endif /* HAK_UNIT_H */
