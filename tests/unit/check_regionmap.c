/* check_regionmap.c - the O(1) ownership table. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "../../boxes/regionmap/regionmap.h"
#include "../../boxes/superslab/superslab.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define GRANULE HAK_RMAP_GRANULE

/* A 2 MiB-aligned address range nobody uses (mapped, so no one else takes it). */
static char *fresh_range(size_t size)
{
	void *p;

	hak_free(hak_malloc(1));
	ck_assert_int_eq(hak_sys_map(size, GRANULE, &p), 0);
	return p;
}

START_TEST(register_lookup_unregister)
{
	char *base = fresh_range(4 * GRANULE);	/* only 3 granules registered */
	uint32_t e;

	ck_assert_uint_eq(hak_rmap_lookup(base), 0);
	ck_assert_int_eq(hak_rmap_register(base, 2 * GRANULE + 1, HAK_RMAP_LARGE), 0);
	for (size_t off = 0; off < 3 * GRANULE; off += GRANULE / 2) {
		e = hak_rmap_lookup(base + off);
		ck_assert_int_eq(hak_rmap_kind(e), HAK_RMAP_LARGE);
		ck_assert_ptr_eq(hak_rmap_base(e, base + off), base);
	}
	ck_assert_ptr_ne(hak_rmap_base(hak_rmap_lookup(base - 1), base - 1), base);
	ck_assert_uint_eq(hak_rmap_lookup(base + 3 * GRANULE), 0);
	hak_rmap_unregister(base, 2 * GRANULE + 1);
	ck_assert_uint_eq(hak_rmap_lookup(base), 0);
	ck_assert_uint_eq(hak_rmap_lookup(base + 2 * GRANULE), 0);
}
END_TEST

START_TEST(page_classes)
{
	char *base = fresh_range(2 * GRANULE), *page = base + GRANULE + (3 << HAK_RMAP_PAGE_SHIFT);

	ck_assert_int_eq(hak_rmap_register(base, 2 * GRANULE, HAK_RMAP_POOL), 0);
	for (size_t off = 0; off < 2 * GRANULE; off += 4096)
		ck_assert_uint_eq(hak_rmap_class(base + off), HAK_RMAP_NO_CLASS);
	hak_rmap_set_class(page, 2, 0);
	hak_rmap_set_class(base, 1, 254);
	ck_assert_uint_eq(hak_rmap_class(page), 0);
	ck_assert_uint_eq(hak_rmap_class(page + (2 << HAK_RMAP_PAGE_SHIFT) - 1), 0);
	ck_assert_uint_eq(hak_rmap_class(page + (2 << HAK_RMAP_PAGE_SHIFT)), HAK_RMAP_NO_CLASS);
	ck_assert_uint_eq(hak_rmap_class(page - 1), HAK_RMAP_NO_CLASS);
	ck_assert_uint_eq(hak_rmap_class(base + 12345), 254);
	hak_rmap_set_class(page, 2, HAK_RMAP_NO_CLASS);
	ck_assert_uint_eq(hak_rmap_class(page), HAK_RMAP_NO_CLASS);
	hak_rmap_unregister(base, 2 * GRANULE);	/* clears the class still set */
	ck_assert_uint_eq(hak_rmap_class(base), HAK_RMAP_NO_CLASS);
}
END_TEST

FATAL_TEST(page_class_outside_a_region_is_fatal, "hakmem: regionmap: page class set outside any region (0x400000000000)")
{
	hak_free(hak_malloc(1));
	hak_rmap_set_class((void *)((uintptr_t)1 << 46), 1, 3);	/* nothing there */
}

START_TEST(foreign_and_wild_pointers)
{
	static const uintptr_t wild[] = { 0, 1, (uintptr_t)1 << 47, ~(uintptr_t)0 };
	int on_stack;

	hak_free(hak_malloc(1));
	ck_assert_uint_eq(hak_rmap_lookup(&on_stack), 0);
	ck_assert_uint_eq(hak_rmap_class(&on_stack), HAK_RMAP_NO_CLASS);
	ck_assert_uint_eq(hak_rmap_class_user(&on_stack), HAK_RMAP_NO_CLASS);
	for (size_t i = 0; i < sizeof(wild) / sizeof(*wild); i++) {
		ck_assert_uint_eq(hak_rmap_lookup((void *)wild[i]), 0);
		ck_assert_uint_eq(hak_rmap_class((void *)wild[i]), HAK_RMAP_NO_CLASS);
	}
}
END_TEST

START_TEST(allocations_are_registered)
{
	void *small = hak_malloc(24), *mid = hak_malloc(20000), *big = hak_malloc(40 << 20);
	void *seg = hak_malloc(100000);

	ck_assert_int_eq(hak_rmap_lookup(small), HAK_RMAP_SUPERSLAB);	/* one granule: kind alone */
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(mid)), HAK_RMAP_POOL);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(big)), HAK_RMAP_LARGE);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup((char *)big + (1 << 20) - 1)),
			 HAK_RMAP_LARGE);
	ck_assert_uint_eq(hak_rmap_class(small), hak_size_class(24));
	ck_assert_uint_eq(hak_rmap_class(mid), hak_size_class(20000));
	ck_assert_uint_eq(hak_rmap_class(big), HAK_RMAP_NO_CLASS);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(seg)), HAK_RMAP_SEGMENT);
	ck_assert_uint_eq(hak_rmap_class(seg), HAK_RMAP_RUNS);
	/* free()'s lookup, without the range test, reads the same */
	ck_assert_uint_eq(hak_rmap_class_user(small), hak_size_class(24));
	ck_assert_uint_eq(hak_rmap_class_user(mid), hak_size_class(20000));
	ck_assert_uint_eq(hak_rmap_class_user(big), HAK_RMAP_NO_CLASS);
	ck_assert_uint_eq(hak_rmap_class_user(seg), HAK_RMAP_RUNS);
	hak_free(seg);
	hak_free(small);
	hak_free(mid);
	hak_free(big);
}
END_TEST

static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/* Nothing is reserved up front: HAKMEM starts under a tight RLIMIT_AS. */
START_TEST(works_under_a_small_address_space_limit)
{
	struct rlimit rl;
	void *p;

	rl.rlim_cur = rl.rlim_max = vm_size() + (128 << 20);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	p = hak_malloc(100);
	ck_assert_ptr_nonnull(p);
	errno = 0;
	ck_assert_ptr_null(hak_malloc((size_t)1 << 30));
	ck_assert_int_eq(errno, ENOMEM);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *regionmap_suite(void)
{
	Suite *s = suite_create("regionmap");
	TCase *tc = tcase_create("lookup");

	tcase_set_timeout(tc, 30);	/* the hang guard of unit_run_fatal() fires first */

	tcase_add_test(tc, register_lookup_unregister);
	tcase_add_test(tc, page_classes);
	tcase_add_test(tc, page_class_outside_a_region_is_fatal);
	tcase_add_test(tc, foreign_and_wild_pointers);
	tcase_add_test(tc, allocations_are_registered);
	tcase_add_test(tc, works_under_a_small_address_space_limit);
	suite_add_tcase(s, tc);
	return s;
}
