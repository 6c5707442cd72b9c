/* check_bigcache.c - large blocks: alignment, reuse, bounds, trim, resize. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../boxes/bigcache/bigcache.h"
#include "../../boxes/regionmap/regionmap.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define MiB ((size_t)1 << 20)

static void *base_of(void *p)
{
	return hak_rmap_base(hak_rmap_lookup(p));
}

START_TEST(freed_block_is_reused_then_trimmed)
{
	void *p = hak_malloc(MiB), *q;

	ck_assert_uint_eq((uintptr_t)p % 64, 0);
	ck_assert_uint_ge(hak_malloc_usable_size(p), MiB);
	memset(p, 1, MiB);
	hak_free(p);
	ck_assert_uint_ge(hak_bc_cached_bytes(), MiB);
	q = hak_malloc(MiB - 4096);	/* within the reuse window */
	ck_assert_ptr_eq(q, p);
	hak_free(q);
	ck_assert_uint_ge(hak_bc_trim(), MiB);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);	/* really returned */
}
END_TEST

START_TEST(entries_bound_is_honoured)
{
	void *p[6];

	setenv("HAKMEM_BIGCACHE_ENTRIES", "2", 1);
	for (int i = 0; i < 6; i++)
		p[i] = hak_malloc(100000 + (size_t)i * 70000);
	for (int i = 0; i < 6; i++)
		hak_free(p[i]);
	ck_assert_uint_le(hak_bc_cached_bytes(), 2 * (100000 + 5 * 70000 + 8192));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(zero_bytes_option_disables_the_cache)
{
	void *p;

	setenv("HAKMEM_BIGCACHE_MB", "0", 1);
	p = hak_malloc(4 * MiB);
	hak_free(p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);
}
END_TEST

START_TEST(large_alignments)
{
	for (size_t a = 4096; a <= 64 * MiB; a <<= 1) {
		void *p = hak_memalign(a, 100000);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % a, 0);
		memset(p, 2, 100000);
		hak_free(p);
	}
}
END_TEST

START_TEST(resize_keeps_contents_without_copying)
{
	void *p = hak_malloc(2 * MiB), *q;

	unit_fill(p, 2 * MiB, 5);
	q = hak_bc_resize(base_of(p), p, 200 * MiB);
	ck_assert_ptr_nonnull(q);
	ck_assert(unit_verify(q, 2 * MiB, 5));
	ck_assert_uint_ge(hak_malloc_usable_size(q), 200 * MiB);
	memset((char *)q + 2 * MiB, 3, 198 * MiB);
	p = hak_bc_resize(base_of(q), q, MiB);
	ck_assert_ptr_eq(p, q);
	ck_assert(unit_verify(p, MiB, 5));
	ck_assert_uint_lt(hak_malloc_usable_size(p), 2 * MiB);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(usable_tells_invalid_from_double)
{
	char *p = hak_malloc(MiB);
	const char *why = NULL;

	ck_assert_uint_eq(hak_bc_usable(base_of(p), p + 16, &why), 0);
	ck_assert_str_eq(why, "invalid");
	hak_free(p);
	ck_assert_uint_eq(hak_bc_usable(base_of(p), p, &why), 0);
	ck_assert_str_eq(why, "double");
}
END_TEST

START_TEST(out_of_memory_is_enomem)
{
	void *p;

	hak_free(hak_malloc(1));
	hak_sys_fail_after = 0;
	errno = 0;
	ck_assert_ptr_null(hak_malloc(3 * MiB));
	ck_assert_int_eq(errno, ENOMEM);
	hak_sys_fail_after = -1;
	p = hak_malloc(3 * MiB);
	ck_assert_ptr_nonnull(p);
	hak_free(p);
}
END_TEST

Suite *bigcache_suite(void)
{
	Suite *s = suite_create("bigcache");
	TCase *tc = tcase_create("large");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, freed_block_is_reused_then_trimmed);
	tcase_add_test(tc, entries_bound_is_honoured);
	tcase_add_test(tc, zero_bytes_option_disables_the_cache);
	tcase_add_test(tc, large_alignments);
	tcase_add_test(tc, resize_keeps_contents_without_copying);
	tcase_add_test(tc, usable_tells_invalid_from_double);
	tcase_add_test(tc, out_of_memory_is_enomem);
	suite_add_tcase(s, tc);
	return s;
}
