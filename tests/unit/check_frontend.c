/* check_frontend.c - registry, options, verbose/help output, self-check, bad input. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../../boxes/base/hak_bin.h"
#include "../../boxes/base/hak_lock.h"
#include "../../boxes/base/hak_tick.h"
#include "../../boxes/bigcache/bigcache.h"
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

/*
 * hak_registry_decay() walks every box's decay op (the boxes that keep
 * memory idle have one): what idled past each box's delay goes back.
 */
START_TEST(registry_decay_walks_every_box)
{
	const char *want[] = { "superslab", "bigcache", "pool", "medium" };
	size_t n = hak_registry_count(), found = 0, bytes;
	void *big;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "500", 1);
	setenv("HAKMEM_LARGE_RUNS_MB", "0", 1);	/* a mapping: as in debug builds */
	big = hak_malloc(4 << 20);
	hak_free(big);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 << 20);	/* granules */
	ck_assert_uint_eq(hak_registry_decay(hak_sys_now_ms()), 0);	/* not idle yet */
	usleep(600 * 1000);
	bytes = hak_registry_decay(hak_sys_now_ms());
	ck_assert_uint_eq(bytes, 6 << 20);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 4; k++)
			if (!strcmp(hak_registry_get(i)->name, want[k]) && hak_registry_get(i)->decay)
				found++;
	ck_assert_uint_eq(found, 4);
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

/*
 * hak_stats_json() keeps snprintf's contract, and its numbers are the text
 * report's: both come from the same stats calls.
 */
START_TEST(stats_json_is_the_text_report_as_json)
{
	static char doc[1 << 16];
	char small[10], key[64], *at;
	size_t need;

	hak_free(hak_malloc(100000));
	/* calls may differ by a few digits: the document reads the resident set */
	need = hak_stats_json(doc, sizeof(doc));
	ck_assert_uint_eq(strlen(doc), need);
	ck_assert_uint_le(hak_stats_json(NULL, 0), need + 64);
	ck_assert_uint_ge(hak_stats_json(small, sizeof(small)) + 64, need);
	ck_assert_str_eq(small, "{\n  \"vers");
	ck_assert_int_eq(doc[need - 2], '}');
	at = strstr(doc, "\n  \"bigcache\": {");
	ck_assert_ptr_nonnull(at);
	snprintf(key, sizeof(key), "\"allocs\": %ld,", unit_stat("bigcache.allocs", " "));
	ck_assert_ptr_nonnull(strstr(at, key));
	snprintf(key, sizeof(key), "\"bytes_mapped\": %ld,", unit_stat("sysmem.bytes_mapped", " "));
	ck_assert_ptr_nonnull(strstr(doc, key));
}
END_TEST

/*
 * bigcache.bytes_live follows large blocks through malloc, realloc and free
 * (blocks above 1 MiB: smaller ones are medium's, and its caches keep them).
 */
START_TEST(stats_count_live_large_bytes)
{
	long before = unit_stat("bigcache.bytes_live", " ");
	void *p = hak_malloc(3 << 20), *q = hak_malloc(3 << 19);
	long grew = unit_stat("bigcache.bytes_live", " ") - before;

	ck_assert_int_ge(grew, (3 << 20) + (3 << 19));
	ck_assert_int_le(grew, (4 << 20) + (2 << 20));	/* whole granules */
	p = hak_realloc(p, 9 << 20);
	ck_assert_int_ge(unit_stat("bigcache.bytes_live", " ") - before, (9 << 20) + (3 << 19));
	hak_free(p);
	hak_free(q);
	ck_assert_int_eq(unit_stat("bigcache.bytes_live", " "), before);
}
END_TEST

/* A learner tick whose system calls failed, as a read of a missing cgroup file does. */
static unsigned failed_ticks;

static void failing_tick(uint64_t now)
{
	(void)now;
	failed_ticks++;
	errno = ENOENT;
}

/*
 * free() leaves errno alone (glibc since 2.33, POSIX.1-2024), also when its
 * slow path runs the learner's tick and a system call there fails: for
 * blocks of each tier, with the tick due at every pass. (Not every tier's
 * free ticks in every profile: with full checks the pool caches nothing.)
 */
START_TEST(free_keeps_errno_through_a_failing_tick)
{
	static const size_t sizes[] = { 32, 4096, 200000, 4 << 20 };
	enum { N = 3000 };
	static void *p[N];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned n = sizes[s] > 1000000 ? 8 : sizes[s] > 100000 ? 64 : N;

		for (unsigned i = 0; i < n; i++)
			ck_assert_ptr_nonnull(p[i] = hak_malloc(sizes[s]));
		hak_tick_register(failing_tick, 1u << 30);	/* due at the next slow path */
		for (unsigned i = 0; i < n; i++) {
			errno = 4321;
			hak_free(p[i]);
			ck_assert_msg(errno == 4321, "free of a %zu B block set errno to %d (%u ticks)",
				      sizes[s], errno, failed_ticks);
		}
	}
	ck_assert_msg(failed_ticks > 0, "no tick while freeing");
}
END_TEST

/*
 * A fork() while another thread is initialising HAKMEM: that thread is not
 * in the child, so the child must take the initialisation over rather than
 * wait for it forever. The claim is made here as that thread would make it.
 */
START_TEST(fork_during_another_threads_init)
{
	struct hang_guard g = hang_guard_start(10);
	int status;
	pid_t pid;

	hak_free(hak_malloc(1));
	ck_assert_int_eq(atomic_load(&hak_state), HAK_UP);
	atomic_store(&hak_state, hak_state_initializing(getpid()));
	pid = fork();
	if (pid == 0) {
		void *p = hak_malloc(100), *q = hak_malloc(200000);

		hak_free(p);
		hak_free(q);
		_exit(p && q && hak_self_check() == 0 ? 0 : 1);
	}
	atomic_store(&hak_state, HAK_UP);	/* this process is up: no thread initialises */
	hak_free(hak_malloc(1));
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	hang_guard_stop(&g);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

static void *nothing(void *arg)
{
	return arg;
}

/*
 * fork() in a process that has had a thread takes every lock (prefork);
 * the child makes them anew, so its count of held locks (debug builds) must
 * be back to the forking thread's, or its first system call would abort.
 */
START_TEST(fork_child_holds_no_lock)
{
	struct hang_guard g = hang_guard_start(10);
	pthread_t t;
	int status;
	pid_t pid;

	hak_free(hak_malloc(1));
	ck_assert_int_eq(pthread_create(&t, NULL, nothing, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	pid = fork();
	if (pid == 0) {
		void *p = hak_malloc(8 << 20);	/* a mapping of its own */

		hak_free(p);
		_exit(p && hak_locks_held == 0 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(hak_locks_held, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	hang_guard_stop(&g);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

static void ignore(int sig)
{
	(void)sig;
}

/* A signal that interrupts the watchdog's poll() does not end the watch. */
START_TEST(hang_guard_survives_a_signal)
{
	struct sigaction sa = { .sa_handler = ignore };	/* no SA_RESTART: poll fails, EINTR */
	struct hang_guard g;

	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	g = hang_guard_start(10);
	ck_assert_int_gt(g.watchdog, 0);
	usleep(100000);	/* the watchdog is in poll() */
	ck_assert_int_eq(kill(g.watchdog, SIGUSR2), 0);
	usleep(100000);
	ck_assert_int_eq(waitpid(g.watchdog, NULL, WNOHANG), 0);
	hang_guard_stop(&g);
}
END_TEST

/* splitmix64, as the key was made from AT_RANDOM before */
static uint64_t old_key(uint64_t x)
{
	x ^= (uintptr_t)&hak_opt;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return (x ^ (x >> 31)) | 1;
}

/*
 * The double-free key has random bytes of its own: the AT_RANDOM bytes
 * also seed the stack-protector canary, and a use-after-free read sees the
 * key. Neither AT_RANDOM word nor what the key once was made of them.
 */
START_TEST(free_key_is_not_from_at_random)
{
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);

	hak_free(hak_malloc(1));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_ne(hak_free_key, 0);
	for (int off = 0; off <= 8; off++) {
		uint64_t w;

		memcpy(&w, r + off, sizeof(w));
		ck_assert_uint_ne(hak_free_key, w);
		ck_assert_uint_ne(hak_free_key, old_key(w));
	}
}
END_TEST

/* ---------------------------------------------------- bad input: abort */

FATAL_TEST(free_of_stack_address_aborts, "): not allocated by hakmem")
{
	int x;

	hak_free(hak_malloc(1));
	hak_free(&x);
}

FATAL_TEST(free_of_misaligned_pointer_aborts, "): not a block hakmem handed out")
{
	char *p = hak_malloc(64);

	hak_free(p + 1);
}

FATAL_TEST(immediate_double_free_aborts, "hakmem: double free(0x")
{
	void *p = hak_malloc(64);

	hak_free(p);
	hak_free(p);
}

/* The free that overflows a bin must still leave its key for the next one. */
FATAL_TEST(double_free_on_a_full_bin_aborts, "hakmem: double free(0x")
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

FATAL_TEST(large_double_free_aborts, "hakmem: double free(0x")
{
	void *p = hak_malloc(1 << 20);

	hak_free(p);
	hak_free(p);
}

FATAL_TEST(full_check_catches_interior_pointer, "): not the start of a 64 B block in use")
{
	char *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(64);
	hak_free(p + 16);
}

FATAL_TEST(full_check_catches_older_double_free, "hakmem: double free(0x")
{
	void *a, *b;

	setenv("HAKMEM_CHECK", "full", 1);
	a = hak_malloc(200);
	b = hak_malloc(200);
	hak_free(a);
	hak_free(b);
	hak_free(a);
}

FATAL_TEST(full_check_catches_write_after_free, "hakmem: heap corruption: free block 0x")
{
	char *a;

	setenv("HAKMEM_CHECK", "full", 1);
	a = hak_malloc(300);
	hak_free(a);
	a[100] = 'x';
	for (int i = 0; i < 100000; i++)	/* the block comes back: canary checked */
		hak_malloc(300);
}

static void *free_then_write(void *arg)
{
	char *a = hak_malloc(300), *b = hak_malloc(300);

	(void)arg;
	(void)b;	/* keeps the span in use after this thread leaves it */
	hak_free(a);
	a[100] = 'x';
	return NULL;
}

static void allocating_abort_handler(int sig)
{
	static const char done[] = "abort handler allocated\n";

	(void)sig;
	for (int i = 0; i < 5000; i++)	/* refills that take a superslab shard lock */
		hak_malloc(300);
	(void)!write(STDERR_FILENO, done, sizeof(done) - 1);
}

/*
 * The canary check of a span taken under a superslab shard lock reports
 * after the lock is dropped: an abort handler that allocates (a crash
 * reporter) must not deadlock on it.
 */
static void canary_found_under_class_lock(void)
{
	pthread_t t;

	setenv("HAKMEM_CHECK", "full", 1);
	signal(SIGABRT, allocating_abort_handler);
	hak_free(hak_malloc(1));
	pthread_create(&t, NULL, free_then_write, NULL);
	pthread_join(t, NULL);
	hak_malloc(300);	/* adopts that thread's span under a shard lock */
}

START_TEST(corruption_reported_with_no_lock_held)
{
	const char *err = unit_run_fatal(canary_found_under_class_lock);

	ck_assert_msg(strstr(err, "hakmem: heap corruption: free block 0x"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "written at offset 100 after free"), "stderr: %s", err);
	ck_assert_msg(strstr(err, "abort handler allocated"), "stderr: %s", err);
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

/* --------------------------------------------- self-check after traffic */

#define TRAFFIC_THREADS	8
#define TRAFFIC_SLOTS	64

static _Atomic(void *) traffic_slots[TRAFFIC_SLOTS];

/* Blocks of every band up to 4 MiB through shared slots: most are freed by another thread. */
static void *traffic(void *arg)
{
	static const size_t band_max[] = { 128, 1024, 8 << 10, 32 << 10, 52 << 10,
					    128 << 10, 512 << 10, 1 << 20, 4 << 20 };
	unsigned x = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < 2000; i++) {
		void *p, *old;
		size_t n;

		x = x * 1103515245u + 12345u;
		n = 1 + (x >> 8) % band_max[(x >> 4) % 9];
		p = hak_malloc(n);
		if (p)
			memset(p, (int)x, n < 64 ? n : 64);
		old = atomic_exchange(&traffic_slots[(x >> 12) % TRAFFIC_SLOTS], p);
		hak_free(old);
	}
	return NULL;
}

/*
 * The registry's self-check walks what threads of every tier left behind
 * (unowned spans, orphaned arenas, central lists) and finds no error; then
 * a write after free into a block on a span's free list is an error.
 */
START_TEST(self_check_after_cross_thread_traffic_sees_a_corrupt_span)
{
	pthread_t t[TRAFFIC_THREADS];
	void *blocks[64];
	void **freed = NULL;

	setenv("HAKMEM_CHECK", "fast", 1);	/* caches on: more state to walk */
	for (uintptr_t i = 0; i < TRAFFIC_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, traffic, (void *)(i + 1)), 0);
	for (int i = 0; i < TRAFFIC_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(hak_self_check(), 0);	/* blocks of every tier still live */
	for (int i = 0; i < TRAFFIC_SLOTS; i++)
		hak_free(atomic_exchange(&traffic_slots[i], NULL));
	ck_assert_int_eq(hak_self_check(), 0);

	hak_malloc_trim(0);	/* empty bins: the next blocks come fresh from one span */
	for (int i = 0; i < 64; i++)
		blocks[i] = hak_malloc(200);
	freed = blocks[32];
	hak_free(freed);	/* the others keep its span in use */
	hak_malloc_trim(0);	/* the bin gives it back to the span's free list */
	ck_assert_int_eq(hak_self_check(), 0);
	freed[0] = (char *)freed + 8;
	ck_assert_int_gt(hak_self_check(), 0);
}
END_TEST

Suite *frontend_suite(void)
{
	Suite *s = suite_create("frontend");
	TCase *tc = tcase_create("registry");
	TCase *bad = tcase_create("bad_input");
	TCase *fork_tc = tcase_create("fork");

	tcase_add_test(tc, registry_is_ordered_and_unique);
	tcase_add_test(tc, verbose_lists_every_box);
	tcase_add_test(tc, registry_decay_walks_every_box);
	tcase_add_test(tc, help_prints_the_table);
	tcase_add_test(tc, bad_option_value_warns_and_uses_default);
	tcase_add_test(tc, keyword_and_number_values);
	tcase_add_test(tc, config_string_names_the_profile);
	tcase_add_test(tc, stats_report_every_box);
	tcase_add_test(tc, stats_json_is_the_text_report_as_json);
	tcase_add_test(tc, stats_count_live_large_bytes);
	tcase_add_test(tc, free_keeps_errno_through_a_failing_tick);
	tcase_add_test(tc, realloc_in_place_and_across_tiers);
	tcase_add_test(tc, malloc_in_thread_destructors);
	tcase_add_test(tc, free_key_is_not_from_at_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("self_check");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, self_check_after_cross_thread_traffic_sees_a_corrupt_span);
	suite_add_tcase(s, tc);

	tcase_add_test(fork_tc, fork_during_another_threads_init);
	tcase_add_test(fork_tc, hang_guard_survives_a_signal);
	tcase_add_test(fork_tc, fork_child_holds_no_lock);
	tcase_set_timeout(fork_tc, 30);
	tcase_set_timeout(bad, 30);	/* the hang guard of unit_run_fatal() fires first */
	suite_add_tcase(s, fork_tc);

	tcase_add_test(bad, free_of_stack_address_aborts);
	tcase_add_test(bad, free_of_misaligned_pointer_aborts);
	tcase_add_test(bad, immediate_double_free_aborts);
	tcase_add_test(bad, large_double_free_aborts);
	tcase_add_test(bad, double_free_on_a_full_bin_aborts);
	tcase_add_test(bad, full_check_catches_interior_pointer);
	tcase_add_test(bad, full_check_catches_older_double_free);
	tcase_add_test(bad, full_check_catches_write_after_free);
	tcase_add_test(bad, corruption_reported_with_no_lock_held);
	suite_add_tcase(s, bad);
	return s;
}
