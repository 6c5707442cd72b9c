/* check_frontend.c - registry, options, verbose/help output, bad input. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../boxes/frontend/frontend_internal.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

/* Run HAKMEM's start-up with stderr captured; returns what it printed. */
static char *init_capturing_stderr(void)
{
	static char buf[16384];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	dup2(fileno(f), 2);
	hak_free(hak_malloc(1));
	dup2(saved, 2);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(registry_is_ordered_and_unique)
{
	size_t n = hak_registry_count();

	ck_assert_uint_ge(n, 7);
	for (size_t i = 0; i < n; i++) {
		const struct hak_box *b = hak_registry_get(i);

		ck_assert_ptr_nonnull(b->name);
		if (i)
			ck_assert_int_ge(b->layer, hak_registry_get(i - 1)->layer);
		for (size_t k = 0; k < i; k++)
			ck_assert_str_ne(b->name, hak_registry_get(k)->name);
	}
	ck_assert_str_eq(hak_registry_get(0)->name, "sysmem");
	ck_assert_ptr_null(hak_registry_get(n));
}
END_TEST

START_TEST(verbose_lists_every_box)
{
	char *out, want[64];

	setenv("HAKMEM_VERBOSE", "1", 1);
	out = init_capturing_stderr();
	for (size_t i = 0; i < hak_registry_count(); i++) {
		snprintf(want, sizeof(want), "hakmem: box %s ", hak_registry_get(i)->name);
		ck_assert_msg(strstr(out, want), "missing \"%s\" in:\n%s", want, out);
	}
}
END_TEST

START_TEST(help_prints_the_table)
{
	char *out;

	setenv("HAKMEM_HELP", "1", 1);
	out = init_capturing_stderr();
	ck_assert_ptr_nonnull(strstr(out, "HAKMEM_CHECK"));
	ck_assert_ptr_nonnull(strstr(out, "fast|full"));
	ck_assert_ptr_nonnull(strstr(out, "HAKMEM_TINY_CACHE"));
	ck_assert_ptr_nonnull(strstr(out, "range 4..4096"));
}
END_TEST

START_TEST(bad_option_value_warns_and_uses_default)
{
	char *out;

	setenv("HAKMEM_TINY_CACHE", "lots", 1);
	setenv("HAKMEM_CHECK", "paranoid", 1);
	setenv("HAKMEM_BIGCACHE_MB", "-5", 1);
	out = init_capturing_stderr();
	ck_assert_ptr_nonnull(strstr(out, "hakmem: HAKMEM_TINY_CACHE=lots is not valid"));
	ck_assert_ptr_nonnull(strstr(out, "hakmem: HAKMEM_CHECK=paranoid is not valid"));
	ck_assert_ptr_nonnull(strstr(out, "hakmem: HAKMEM_BIGCACHE_MB=-5 is not valid"));
	ck_assert_int_eq(hak_opt.v[HAK_OPT_TINY_CACHE], 128);
	ck_assert_int_eq(hak_opt.v[HAK_OPT_CHECK], HAK_DEBUG);
	ck_assert_int_eq(hak_opt.v[HAK_OPT_BIGCACHE_MB], -1);
}
END_TEST

START_TEST(keyword_and_number_values)
{
	setenv("HAKMEM_CHECK", "full", 1);
	setenv("HAKMEM_FOREIGN_FREE", "1", 1);
	setenv("HAKMEM_TINY_CACHE", "0x10", 1);
	hak_free(hak_malloc(1));
	ck_assert_int_eq(hak_opt.v[HAK_OPT_CHECK], HAK_CHECK_FULL);
	ck_assert_int_eq(hak_opt.v[HAK_OPT_FOREIGN_FREE], HAK_FOREIGN_FORWARD);
	ck_assert_int_eq(hak_opt.v[HAK_OPT_TINY_CACHE], 16);
}
END_TEST

START_TEST(config_string_names_the_profile)
{
	ck_assert_ptr_nonnull(strstr(hak_config_string(), "PROFILE=" HAKMEM_PROFILE));
	ck_assert_ptr_nonnull(strstr(hak_config_string(), "HAK_DEBUG="));
}
END_TEST

START_TEST(stats_report_every_box)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hak_free(hak_malloc(100));
	hak_free(hak_malloc(100000));
	hak_free(hak_malloc(2 << 20));
	hak_stats_print(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "sysmem.map_calls "));
	ck_assert_ptr_nonnull(strstr(buf, "regionmap.registrations "));
	ck_assert_ptr_nonnull(strstr(buf, "superslab.class"));
	ck_assert_ptr_nonnull(strstr(buf, "medium.blocks_out "));
	ck_assert_ptr_nonnull(strstr(buf, "bigcache.allocs 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "frontend.large_allocs 1\n"));
	free(buf);
}
END_TEST

/* ---------------------------------------------------- bad input: abort */

START_TEST(free_of_stack_address_aborts)
{
	int x;

	hak_free(hak_malloc(1));
	hak_free(&x);
}
END_TEST

START_TEST(free_of_misaligned_pointer_aborts)
{
	char *p = hak_malloc(64);

	hak_free(p + 1);
}
END_TEST

START_TEST(immediate_double_free_aborts)
{
	void *p = hak_malloc(64);

	hak_free(p);
	hak_free(p);
}
END_TEST

/* The free that overflows a bin must still leave its key for the next one. */
START_TEST(double_free_on_a_full_bin_aborts)
{
	void *p[5];

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_TINY_CACHE", "4", 1);
	for (int i = 0; i < 5; i++)
		p[i] = hak_malloc(48);
	for (int i = 0; i < 4; i++)
		hak_free(p[i]);
	hak_free(p[4]);
	hak_free(p[4]);
}
END_TEST

START_TEST(large_double_free_aborts)
{
	void *p = hak_malloc(1 << 20);

	hak_free(p);
	hak_free(p);
}
END_TEST

START_TEST(full_check_catches_interior_pointer)
{
	char *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(64);
	hak_free(p + 16);
}
END_TEST

START_TEST(full_check_catches_older_double_free)
{
	void *a, *b;

	setenv("HAKMEM_CHECK", "full", 1);
	a = hak_malloc(200);
	b = hak_malloc(200);
	hak_free(a);
	hak_free(b);
	hak_free(a);
}
END_TEST

START_TEST(full_check_catches_write_after_free)
{
	char *a;

	setenv("HAKMEM_CHECK", "full", 1);
	a = hak_malloc(300);
	hak_free(a);
	a[100] = 'x';
	for (int i = 0; i < 100000; i++)	/* the block comes back: canary checked */
		hak_malloc(300);
}
END_TEST

START_TEST(realloc_in_place_and_across_tiers)
{
	size_t sizes[] = { 1, 100, 1024, 1025, 53248, 53249, 1 << 20, 3 << 20, 7 };
	char *p = NULL;
	size_t prev = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = hak_realloc(p, sizes[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert(unit_verify(p, prev < sizes[i] ? prev : sizes[i], 9));
		unit_fill(p, sizes[i], 9);
		prev = sizes[i];
	}
	errno = 0;
	ck_assert_ptr_null(hak_realloc(p, SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert(unit_verify(p, prev, 9));
	ck_assert_ptr_null(hak_realloc(p, 0));	/* frees, as glibc */
}
END_TEST

static pthread_key_t late_key;

/* Runs after HAKMEM's own thread-exit hook may have drained the bins. */
/* Runs after HAKMEM's own thread-exit hook, like glibc's __libc_thread_freeres. */
static void late_destructor(void *arg)
{
	void *p = hak_malloc(100), *q = hak_malloc(1000), *r = hak_malloc(20000);

	ck_assert(unit_verify(arg, 64, 3));
	hak_free(arg);
	unit_fill(p, 100, 4);
	hak_free(p);
	hak_free(q);
	hak_free(r);
}

static void *thread_with_late_destructor(void *arg)
{
	void *p = hak_malloc(64);

	(void)arg;
	unit_fill(p, 64, 3);
	pthread_setspecific(late_key, p);
	hak_free(hak_malloc(300));
	return NULL;
}

/*
 * Allocation from a TLS destructor works and caches nothing: no hook runs
 * again to give a dead thread's bins back, so memory must stay flat.
 */
START_TEST(malloc_in_thread_destructors)
{
	size_t before;
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);	/* bins cache (debug defaults to full) */
	hak_free(hak_malloc(1));
	ck_assert_int_eq(pthread_key_create(&late_key, late_destructor), 0);
	before = hak_sys_bytes_mapped();
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, thread_with_late_destructor, NULL), 0);
		pthread_join(t, NULL);
	}
	ck_assert_uint_lt(hak_sys_bytes_mapped(), before + 8 * (1 << 20));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *frontend_suite(void)
{
	Suite *s = suite_create("frontend");
	TCase *tc = tcase_create("registry");
	TCase *bad = tcase_create("bad_input");

	tcase_add_test(tc, registry_is_ordered_and_unique);
	tcase_add_test(tc, verbose_lists_every_box);
	tcase_add_test(tc, help_prints_the_table);
	tcase_add_test(tc, bad_option_value_warns_and_uses_default);
	tcase_add_test(tc, keyword_and_number_values);
	tcase_add_test(tc, config_string_names_the_profile);
	tcase_add_test(tc, stats_report_every_box);
	tcase_add_test(tc, realloc_in_place_and_across_tiers);
	tcase_add_test(tc, malloc_in_thread_destructors);
	suite_add_tcase(s, tc);

	tcase_add_test_raise_signal(bad, free_of_stack_address_aborts, SIGABRT);
	tcase_add_test_raise_signal(bad, free_of_misaligned_pointer_aborts, SIGABRT);
	tcase_add_test_raise_signal(bad, immediate_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(bad, large_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(bad, double_free_on_a_full_bin_aborts, SIGABRT);
	tcase_add_test_raise_signal(bad, full_check_catches_interior_pointer, SIGABRT);
	tcase_add_test_raise_signal(bad, full_check_catches_older_double_free, SIGABRT);
	tcase_add_test_raise_signal(bad, full_check_catches_write_after_free, SIGABRT);
	suite_add_tcase(s, bad);
	return s;
}
