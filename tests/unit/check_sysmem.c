/* check_sysmem.c - P4: aligned and partly opened maps, decommit, fault injection. */
#include <errno.h>
#include <string.h>

#include "../../boxes/base/hak_lock.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define MiB ((size_t)1 << 20)

START_TEST(map_is_aligned_and_zeroed)
{
	size_t aligns[] = { 4096, 64 << 10, 2 * MiB, 4 * MiB, 64 * MiB };

	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		void *p;
		size_t size = 3 * 4096;

		ck_assert_int_eq(hak_sys_map(size, aligns[i], &p), 0);
		ck_assert_uint_eq((uintptr_t)p % aligns[i], 0);
		for (size_t k = 0; k < size; k++)
			ck_assert_int_eq(((unsigned char *)p)[k], 0);
		memset(p, 0xaa, size);
		ck_assert_int_eq(hak_sys_unmap(p, size), 0);
	}
}
END_TEST

START_TEST(decommit_reads_zero)
{
	void *p;

	ck_assert_int_eq(hak_sys_map(8192, 4096, &p), 0);
	memset(p, 0x55, 8192);
	ck_assert_int_eq(hak_sys_decommit(p, 8192), 0);
	ck_assert_int_eq(((unsigned char *)p)[100], 0);
	ck_assert_int_eq(hak_sys_unmap(p, 8192), 0);
}
END_TEST

START_TEST(fault_injection_fails_then_recovers)
{
	size_t before = hak_sys_bytes_mapped();
	void *p;

	hak_sys_fail_after = 1;
	ck_assert_int_eq(hak_sys_map(4096, 4096, &p), 0);
	ck_assert_int_eq(hak_sys_map(4096, 4096, &p), -ENOMEM);
	ck_assert_int_eq(hak_sys_reserve(4096, &p), -ENOMEM);
	hak_sys_fail_after = -1;
	ck_assert_int_eq(hak_sys_map(4096, 4096, &p), 0);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), before + 2 * 4096);
}
END_TEST

/* Only the head of a partly opened map is read-write and charged; reopening the rest charges it. */
START_TEST(map_part_opens_only_the_head)
{
	size_t open = 8192;
	char *p;

	ck_assert_int_eq(hak_sys_map_part(2 * MiB, &open, 2 * MiB, (void **)&p), 0);
	ck_assert_uint_eq(open, 8192);
	ck_assert_uint_eq((uintptr_t)p % (2 * MiB), 0);
	memset(p, 1, 8192);
	ck_assert_str_eq(unit_prot_at(p + 8191), "rw-p");
	ck_assert(unit_charged_at(p));
	ck_assert_str_eq(unit_prot_at(p + 8192), "---p");
	ck_assert(!unit_charged_at(p + 8192));
	ck_assert_int_eq(hak_sys_reopen(p + 8192, 2 * MiB - 8192), 0);
	ck_assert_int_eq(p[2 * MiB - 1], 0);
	memset(p + 8192, 2, 2 * MiB - 8192);
	ck_assert(unit_charged_at(p + 8192));
	ck_assert_int_eq(p[0], 1);
	ck_assert_int_eq(hak_sys_unmap(p, 2 * MiB), 0);
}
END_TEST

/* A split that fails (as at vm.max_map_count) opens the whole map; a failed map is ENOMEM. */
START_TEST(map_part_that_cannot_split_opens_all)
{
	size_t before = hak_sys_bytes_mapped(), open = 8192;
	char *p;

	hak_sys_fail_split = true;
	ck_assert_int_eq(hak_sys_map_part(2 * MiB, &open, 2 * MiB, (void **)&p), 0);
	ck_assert_uint_eq(open, 2 * MiB);
	ck_assert_str_eq(unit_prot_at(p + 2 * MiB - 1), "rw-p");
	memset(p, 3, 2 * MiB);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), before + 2 * MiB);
	ck_assert_int_eq(hak_sys_unmap(p, 2 * MiB), 0);
	open = 8192;
	hak_sys_fail_after = 0;
	ck_assert_int_eq(hak_sys_map_part(2 * MiB, &open, 2 * MiB, (void **)&p), -ENOMEM);
	hak_sys_fail_after = -1;
	ck_assert_uint_eq(hak_sys_bytes_mapped(), before);
}
END_TEST

START_TEST(page_and_memory_sizes)
{
	ck_assert_uint_eq(hak_sys_page_size(), 4096);
	ck_assert_uint_gt(hak_sys_phys_mem(), 64 * MiB);
}
END_TEST

/*
 * No system call under a lock another thread's malloc or free may wait for
 * (docs/ARCHITECTURE.md, Locks): debug builds count the locks each thread
 * holds and every hak_sys_* call asserts there are none. The whole debug
 * test suite runs under that assertion; this shows it fires.
 */
START_TEST(system_call_under_a_lock_aborts)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	void *p;

	hak_lock(&m);
	ck_assert_int_eq(hak_locks_held, 1);
	hak_sys_map(hak_sys_page_size(), hak_sys_page_size(), &p);
	ck_abort_msg("hak_sys_map() ran under a lock");
}
END_TEST

/* Release builds compile the count out: the calls are the bare pthread ones. */
START_TEST(release_builds_count_no_locks)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	void *p;

	hak_lock(&m);
	ck_assert_int_eq(hak_trylock(&m), EBUSY);
	ck_assert_int_eq(hak_locks_held, 0);
	ck_assert_int_eq(hak_sys_map(hak_sys_page_size(), hak_sys_page_size(), &p), 0);
	hak_unlock(&m);
	ck_assert_int_eq(hak_sys_unmap(p, hak_sys_page_size()), 0);
}
END_TEST

/* Debug builds: trylock counts only when it takes the lock; unlock uncounts. */
START_TEST(debug_builds_count_held_locks)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, n = PTHREAD_MUTEX_INITIALIZER;

	hak_lock(&m);
	ck_assert_int_eq(hak_trylock(&m), EBUSY);
	ck_assert_int_eq(hak_locks_held, 1);
	ck_assert_int_eq(hak_trylock(&n), 0);
	ck_assert_int_eq(hak_locks_held, 2);
	hak_unlock(&n);
	hak_unlock(&m);
	ck_assert_int_eq(hak_locks_held, 0);
}
END_TEST

Suite *sysmem_suite(void)
{
	Suite *s = suite_create("sysmem");
	TCase *tc = tcase_create("map");

	tcase_add_test(tc, map_is_aligned_and_zeroed);
	tcase_add_test(tc, decommit_reads_zero);
	tcase_add_test(tc, fault_injection_fails_then_recovers);
	tcase_add_test(tc, map_part_opens_only_the_head);
	tcase_add_test(tc, map_part_that_cannot_split_opens_all);
	tcase_add_test(tc, page_and_memory_sizes);
	if (HAK_DEBUG) {
		tcase_add_test_raise_signal(tc, system_call_under_a_lock_aborts, SIGABRT);
		tcase_add_test(tc, debug_builds_count_held_locks);
	} else {
		tcase_add_test(tc, release_builds_count_no_locks);
	}
	suite_add_tcase(s, tc);
	return s;
}
