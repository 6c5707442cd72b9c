/* check_tiny.c - the tiny tier's thread bins (<= 1 KiB). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../boxes/sysmem/sysmem.h"
#include "../../boxes/tiny/tiny.h"
#include "unit.h"

START_TEST(free_then_malloc_reuses_the_block)
{
	void *p = hak_malloc(24), *q;

	hak_free(p);
	q = hak_malloc(20);	/* same class */
	ck_assert_ptr_eq(q, p);
	hak_free(q);
}
END_TEST

START_TEST(bins_stay_within_their_cap)
{
	enum { N = 2000 };
	static void *p[N];
	unsigned cls;

	setenv("HAKMEM_CHECK", "fast", 1);	/* debug builds default to full */
	for (int i = 0; i < N; i++) {
		p[i] = hak_malloc(100);
		unit_fill(p[i], 100, i);
	}
	cls = hak_tiny_class(100);
	for (int i = 0; i < N; i++) {
		ck_assert(unit_verify(p[i], 100, i));
		hak_free(p[i]);
		ck_assert_uint_le(hak_tiny_tls.bins[cls].count, hak_tiny_tls.bins[cls].cap);
	}
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].cap, 128);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(cache_option_sets_the_cap)
{
	unsigned cls;
	void *p[10];

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_TINY_CACHE", "4", 1);
	for (int i = 0; i < 10; i++)
		p[i] = hak_malloc(64);
	cls = hak_tiny_class(64);
	for (int i = 0; i < 10; i++)
		hak_free(p[i]);
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].cap, 4);
	ck_assert_uint_le(hak_tiny_tls.bins[cls].count, 4);
}
END_TEST

START_TEST(full_check_keeps_bins_empty)
{
	unsigned cls;
	void *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(48);
	cls = hak_tiny_class(48);
	hak_free(p);
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].count, 0);
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].cap, 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *churn(void *arg)
{
	void *p[256];

	(void)arg;
	for (int i = 0; i < 256; i++)
		p[i] = hak_malloc(1024);
	for (int i = 0; i < 256; i++)
		hak_free(p[i]);
	return NULL;
}

/*
 * Each exiting thread hands its cached blocks back, so memory stays flat
 * once every superslab shard (threads take them round robin, 8 at most)
 * has a superslab of its own.
 */
START_TEST(thread_exit_returns_cached_blocks)
{
	size_t before;
	pthread_t t;

	churn(NULL);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, churn, NULL), 0);
		pthread_join(t, NULL);
	}
	before = hak_sys_bytes_mapped();
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, churn, NULL), 0);
		pthread_join(t, NULL);
	}
	ck_assert_uint_lt(hak_sys_bytes_mapped(), before + 4 * (1 << 20));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *free_all(void *arg)
{
	void **p = arg;

	for (int i = 0; i < 1000; i++) {
		ck_assert(unit_verify(p[i], 1 + i % 1024, i));
		hak_free(p[i]);
	}
	return NULL;
}

START_TEST(blocks_freed_by_another_thread)
{
	static void *p[1000];
	pthread_t t;

	for (int i = 0; i < 1000; i++) {
		p[i] = hak_malloc(1 + i % 1024);
		unit_fill(p[i], 1 + i % 1024, i);
	}
	ck_assert_int_eq(pthread_create(&t, NULL, free_all, p), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* The value of "NAME N" in class @cls's stats line, or -1. */
static long class_stat(unsigned cls, const char *name)
{
	char key[64];

	snprintf(key, sizeof(key), "superslab.class%u(", cls);
	return unit_stat(key, name);
}

enum { RN = 1000 };	/* fewer than one 64 KiB span of 48 B blocks holds */
static void *remote_blocks[RN];

static void *free_remote_blocks(void *arg)
{
	(void)arg;
	for (int i = 0; i < RN; i++)
		hak_free(remote_blocks[i]);
	return NULL;
}

/*
 * Blocks freed by another thread go onto the owner's span as remote frees
 * (when that thread's bin overflows and at its exit); the owner drains them
 * and hands the same blocks out again instead of carving new ones.
 */
START_TEST(remote_frees_are_drained_by_the_owner)
{
	unsigned cls;
	pthread_t t;
	void **again = calloc(RN, sizeof(void *));

	setenv("HAKMEM_CHECK", "fast", 1);
	for (int i = 0; i < RN; i++)
		remote_blocks[i] = hak_malloc(48);
	cls = hak_tiny_class(48);
	ck_assert_int_eq(pthread_create(&t, NULL, free_remote_blocks, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(class_stat(cls, "remote_frees "), RN);	/* all on the owner's span */
	for (int i = 0; i < RN; i++)
		again[i] = hak_malloc(48);
	ck_assert_int_gt(class_stat(cls, "drains "), 0);
	ck_assert_int_gt(unit_count_in(again, RN, remote_blocks, RN), RN / 2);
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < RN; i++)
		hak_free(again[i]);
	free(again);
}
END_TEST

static void *free_given_then_malloc(void *arg)
{
	void **given = arg;

	hak_free(given[0]);	/* this thread's first call */
	given[0] = hak_malloc(8);
	return NULL;
}

/*
 * A thread's first free sends the block home: another thread made it, so
 * handed out again here it would share a cache line with that thread's
 * blocks (Hoard's cache-scratch).
 */
START_TEST(a_threads_first_free_goes_home)
{
	unsigned cls = hak_tiny_class(8);
	void *given[2], *block;
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	given[0] = block = hak_malloc(8);
	given[1] = hak_malloc(8);
	ck_assert_int_eq(pthread_create(&t, NULL, free_given_then_malloc, given), 0);
	pthread_join(t, NULL);
	ck_assert_ptr_ne(given[0], block);
	ck_assert_uint_ne((uintptr_t)given[0] >> HAK_SS_PAGE_SHIFT, (uintptr_t)given[1] >> HAK_SS_PAGE_SHIFT);
	ck_assert_int_eq(class_stat(cls, "remote_frees "), 1);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(given[0]);
	hak_free(given[1]);
}
END_TEST

/* 16 B blocks: the 193 fit the span's first page, where carving would stop a refill short. */
static void *refill_seven_times(void *arg)
{
	unsigned *got = arg, cls = hak_tiny_class(16);
	void *p[4 + 4 + 8 + 16 + 32 + 64 + 65];
	int n = 0;

	for (int r = 0; r < 7; r++) {
		p[n++] = hak_malloc(16);	/* a miss: the bin was empty */
		got[r] = hak_tiny_tls.bins[cls].count + 1;
		while (hak_tiny_tls.bins[cls].count)
			p[n++] = hak_malloc(16);
	}
	while (n)
		hak_free(p[--n]);
	return NULL;
}

/*
 * A thread's refills of a class start small; each then takes as many as it
 * took so far, up to the batch.
 */
START_TEST(refills_start_small)
{
	static const unsigned want[7] = { 4, 4, 8, 16, 32, 64, 65 };
	unsigned got[7];
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_LEARN", "0", 1);	/* the batch stays 65 */
	hak_free(hak_malloc(8));
	ck_assert_int_eq(pthread_create(&t, NULL, refill_seven_times, got), 0);
	pthread_join(t, NULL);
	for (int r = 0; r < 7; r++) {
		if (getenv("HAKMEM_TINY_P0_ENABLE") && !strcmp(getenv("HAKMEM_TINY_P0_ENABLE"), "0"))
			ck_assert_uint_eq(got[r], 1);
		else
			ck_assert_uint_eq(got[r], want[r]);
	}
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(without_p0_bins_refill_one_block)
{
	unsigned cls;
	void *p;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_TINY_P0_ENABLE", "0", 1);
	p = hak_malloc(32);
	cls = hak_tiny_class(32);
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].count, 0);	/* nothing extra */
	hak_free(p);
	ck_assert_uint_eq(hak_tiny_tls.bins[cls].count, 1);
	ck_assert_int_eq(class_stat(cls, "blocks_out "), 1);
}
END_TEST

/*
 * The learner's knobs per class, set directly: a miss takes the class's
 * batch (one block without P0); a lower cap reaches a fuller bin of another
 * class at the thread's next slow call, which gives the oldest blocks back
 * and keeps the newest. Settings out of bounds are clamped; the demand
 * counts misses and frees into a full bin.
 */
START_TEST(class_settings_reach_the_bins)
{
	enum { N = 150 };
	static void *p[N];
	unsigned cap[HAK_TINY_NCLASSES], batch[HAK_TINY_NCLASSES];
	uint64_t misses[HAK_TINY_NCLASSES], overflows[HAK_TINY_NCLASSES];
	unsigned a = hak_tiny_class(48), z = hak_tiny_class(500);
	const struct hak_bin *b = &hak_tiny_tls.bins[a];
	bool p0;	/* tools/run_tests.sh also runs the tests with P0 off */
	void *newest;

	setenv("HAKMEM_CHECK", "fast", 1);
	hak_free(hak_malloc(200));	/* sets the allocator and this thread up */
	p0 = !getenv("HAKMEM_TINY_P0_ENABLE") || strcmp(getenv("HAKMEM_TINY_P0_ENABLE"), "0");
	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		cap[c] = 1000;	/* clamped to HAKMEM_TINY_CACHE */
		batch[c] = c == a ? 3 : 0;	/* 0: clamped to 1; 3: below the first refill's 4 */
	}
	hak_tiny_set_classes(cap, batch);
	p[0] = hak_malloc(48);
	ck_assert_uint_eq(b->count, p0 ? 2 : 0);
	hak_free(p[0]);
	for (int i = 0; i < N; i++)
		p[i] = hak_malloc(48);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	ck_assert_uint_eq(b->cap, 128);
	ck_assert_uint_gt(b->count, 16);
	newest = b->head;
	cap[a] = 16;
	hak_tiny_set_classes(cap, batch);
	ck_assert_uint_gt(b->count, 16);	/* not before a slow call */
	p[0] = hak_malloc(500);	/* another class's first miss */
	ck_assert_uint_eq(hak_tiny_tls.bins[z].count, 0);	/* its batch: 1 */
	ck_assert_uint_eq(b->cap, 16);
	ck_assert_uint_eq(b->count, 16);
	ck_assert_ptr_eq(b->head, newest);
	hak_free(p[0]);
	hak_tiny_demand(misses, overflows);
	ck_assert_uint_ge(misses[a], 2);
	ck_assert_uint_ge(overflows[a], 1);
	ck_assert_uint_eq(misses[z], 1);
	ck_assert_uint_eq(overflows[z], 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *tiny_suite(void)
{
	Suite *s = suite_create("tiny");
	TCase *tc = tcase_create("bins");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, free_then_malloc_reuses_the_block);
	tcase_add_test(tc, bins_stay_within_their_cap);
	tcase_add_test(tc, cache_option_sets_the_cap);
	tcase_add_test(tc, full_check_keeps_bins_empty);
	tcase_add_test(tc, thread_exit_returns_cached_blocks);
	tcase_add_test(tc, blocks_freed_by_another_thread);
	tcase_add_test(tc, remote_frees_are_drained_by_the_owner);
	tcase_add_test(tc, a_threads_first_free_goes_home);
	tcase_add_test(tc, refills_start_small);
	tcase_add_test(tc, without_p0_bins_refill_one_block);
	tcase_add_test(tc, class_settings_reach_the_bins);
	suite_add_tcase(s, tc);
	return s;
}
