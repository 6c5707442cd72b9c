/* check_pool.c - the pool tier's thread bins (1 - 52 KiB). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../boxes/pool_p1_p4/pool.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

static struct hak_bin *bin_for(size_t size)
{
	return &hak_pool_tls.bins[hak_ss_size_class(size) - HAK_POOL_FIRST_CLASS];
}

START_TEST(free_then_malloc_reuses_the_block)
{
	void *p = hak_malloc(20000), *q;

	hak_free(p);
	q = hak_malloc(19000);
	ck_assert_ptr_eq(q, p);
	hak_free(q);
}
END_TEST

START_TEST(caps_are_bounded_by_bytes)
{
	enum { N = 300 };
	static void *p[N];
	size_t size = 32768;
	struct hak_bin *b = bin_for(size);

	setenv("HAKMEM_CHECK", "fast", 1);	/* debug builds default to full */

	for (int i = 0; i < N; i++) {
		p[i] = hak_malloc(size);
		unit_fill(p[i], size, i);
	}
	for (int i = 0; i < N; i++) {
		ck_assert(unit_verify(p[i], size, i));
		hak_free(p[i]);
		ck_assert_uint_le(b->count, b->cap);
	}
	ck_assert_uint_eq(b->cap, (256u << 10) / 32768);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *free_all(void *arg)
{
	void **p = arg;

	for (int i = 0; i < 200; i++) {
		size_t size = 1025 + (size_t)i * 250;

		ck_assert(unit_verify(p[i], size, i));
		hak_free(p[i]);
	}
	return NULL;
}

START_TEST(blocks_freed_by_another_thread)
{
	static void *p[200];
	pthread_t t;

	for (int i = 0; i < 200; i++) {
		size_t size = 1025 + (size_t)i * 250;	/* 1 KiB .. 50 KiB */

		p[i] = hak_malloc(size);
		ck_assert_uint_ge(hak_malloc_usable_size(p[i]), size);
		unit_fill(p[i], size, i);
	}
	ck_assert_int_eq(pthread_create(&t, NULL, free_all, p), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(out_of_memory_is_enomem_and_recoverable)
{
	static void *p[4000];
	int n = 0;

	hak_free(hak_malloc(40000));
	hak_sys_fail_after = 0;
	for (errno = 0; n < 4000; n++) {
		p[n] = hak_malloc(40000);
		if (!p[n])
			break;
	}
	ck_assert_int_lt(n, 4000);
	ck_assert_int_eq(errno, ENOMEM);
	hak_sys_fail_after = -1;
	p[n] = hak_malloc(40000);
	ck_assert_ptr_nonnull(p[n]);
	for (int i = 0; i <= n; i++)
		hak_free(p[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *pool_suite(void)
{
	Suite *s = suite_create("pool_p1_p4");
	TCase *tc = tcase_create("bins");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, free_then_malloc_reuses_the_block);
	tcase_add_test(tc, caps_are_bounded_by_bytes);
	tcase_add_test(tc, blocks_freed_by_another_thread);
	tcase_add_test(tc, out_of_memory_is_enomem_and_recoverable);
	suite_add_tcase(s, tc);
	return s;
}
