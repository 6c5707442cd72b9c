/*
 * check_wrong.c - bad input (DESIGN.md promises 3 and 6): free and realloc
 * of pointers HAKMEM never handed out, misaligned and interior pointers,
 * double frees. Each runs in a child; the test asserts that the child died
 * of SIGABRT after printing the exact report with the right address, or -
 * with HAKMEM_FOREIGN_FREE=forward - that a foreign free succeeded.
 *
 * Children that need HAKMEM options run this program again with the
 * option in the environment ("PROGRAM --child CASE"): HAKMEM reads its
 * options once, at the first allocation of a process.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "itest.h"

#define MiB (1024 * 1024ul)

/* ---------------------------------------------- another allocator: glibc */

static void *(*libc_malloc)(size_t);
static void (*libc_free)(void *);
static size_t (*libc_usable)(void *);

/*
 * glibc's own malloc: looked up in libc.so.6 itself, since RTLD_NEXT from
 * the program may find libhakmem.so (preloaded, so searched before libc).
 */
static void get_libc(void)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (!h) {
		fprintf(stderr, "no libc.so.6: %s\n", dlerror());
		_exit(90);
	}
	libc_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	libc_free = (void (*)(void *))dlsym(h, "free");
	libc_usable = (size_t (*)(void *))dlsym(h, "malloc_usable_size");
	if (!libc_malloc || !libc_free || !libc_usable || (void *)libc_malloc == (void *)malloc) {
		fprintf(stderr, "cannot find glibc's malloc\n");
		_exit(91);
	}
}

/* A block from glibc's malloc. */
static char *glibc_block(size_t n)
{
	char *g;

	get_libc();
	g = libc_malloc(n);
	if (!g || libc_usable(g) < n) {
		fprintf(stderr, "glibc's malloc(%zu) failed\n", n);
		_exit(92);
	}
	memset(g, 0x42, n);
	return g;
}

/* ------------------------------------------------------------- children */

/* Tell the parent which address the bad call uses. */
static void *announce(void *p)
{
	printf("addr %p\n", p);
	fflush(stdout);
	return itest_launder(p);
}

static void survived(void)
{
	printf("survived\n");
	fflush(stdout);
}

static char static_buf[256] __attribute__((aligned(64)));

static void c_free_stack(void)
{
	char buf[256] __attribute__((aligned(64)));

	memset(buf, 0, sizeof(buf));
	free(announce(buf + 64));
}

static void c_free_static(void)
{
	free(announce(static_buf + 64));
}

static void c_free_glibc(void)
{
	free(announce(glibc_block(100)));
}

static void c_free_glibc_large(void)
{
	free(announce(glibc_block(300000)));	/* glibc mmaps this one */
}

/* Inside a 2 MiB-aligned mapping that is not HAKMEM's. */
static void c_free_foreign_mmap(void)
{
	char *m = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)m + 2 * MiB - 1) & ~(2 * MiB - 1));

	free(announce(a + 64));
}

/* Addresses nobody maps: HAKMEM must not touch them (no SIGSEGV). */
static void c_free_unmapped_low(void)
{
	free(announce((void *)0x10000));
}

static void c_free_unmapped_gone(void)
{
	char *m = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)m + 2 * MiB - 1) & ~(2 * MiB - 1));

	munmap(m, 4 * MiB);
	free(announce(a + 2 * 4096));
}

static void c_free_kernel(void)
{
	free(announce((void *)0xffff880000001000ul));
}

static void c_free_noncanonical(void)
{
	free(announce((void *)0x0100000000000040ul));
}

static void c_free_top(void)
{
	free(announce((void *)(UINTPTR_MAX - 15)));
}

static void misaligned(size_t n, size_t off)
{
	char *p = malloc(n);

	memset(p, 1, n);
	free(announce(p + off));
}

static void c_free_misaligned_tiny(void) { misaligned(64, 1); }
static void c_free_misaligned8_tiny(void) { misaligned(64, 8); }
static void c_free_misaligned_pool(void) { misaligned(4000, 1); }
static void c_free_misaligned_large(void) { misaligned(100000, 1); }
static void c_free_misaligned8_large(void) { misaligned(100000, 8); }

static void double_free(size_t n)
{
	char *p = malloc(n);

	memset(p, 1, n);
	free(p);
	free(announce(p));
}

/* glibc: realloc(p, 0) frees p, so a free after it is a double free. */
static void realloc_zero_then_free(size_t n)
{
	char *p = malloc(n);

	memset(p, 1, n);
	if (realloc(itest_launder(p), 0))
		printf("realloc(p, 0) did not return NULL\n");
	free(announce(p));
}

static void c_realloc_zero_tiny(void) { realloc_zero_then_free(48); }
static void c_realloc_zero_large(void) { realloc_zero_then_free(200000); }

static void c_double_tiny(void) { double_free(48); }
static void c_double_pool(void) { double_free(5000); }
static void c_double_large(void) { double_free(200000); }
static void c_double_zero(void) { double_free(0); }

/* Free both neighbours first, so that a cached mapping may absorb the block. */
static void c_double_large_merged(void)
{
	char *x = malloc(300000), *a = malloc(300000), *y = malloc(300000);

	free(x);
	free(y);
	free(a);
	free(announce(a));
}

static void c_double_aligned(void)
{
	char *p = memalign(4096, 3000);

	free(p);
	free(announce(p));
}

static void c_realloc_glibc(void)
{
	void *p = realloc(announce(glibc_block(100)), 200);

	printf("got %p\n", p);
}

static void c_realloc_stack(void)
{
	char buf[128] __attribute__((aligned(16)));
	void *p;

	memset(buf, 0, sizeof(buf));
	p = realloc(announce(buf + 32), 64);
	printf("got %p\n", p);
}

static void c_realloc_misaligned(void)
{
	char *p = malloc(100), *q;

	q = realloc(announce(p + 1), 300);
	printf("got %p\n", (void *)q);
}

/* HAKMEM_CHECK=full: interior pointers, double frees anywhere. */
static void interior(size_t n, size_t off)
{
	char *p = malloc(n);

	memset(p, 1, n);
	free(announce(p + off));
}

static void c_interior_tiny(void) { interior(64, 16); }
static void c_interior_tiny_end(void) { interior(1024, 1008); }
static void c_interior_pool(void) { interior(4096, 2048); }
static void c_interior_large(void) { interior(100000, 4096); }
static void c_interior_huge(void) { interior(5 * MiB, 3 * MiB); }

/* free(a); free(b); free(a) */
static void double_later(size_t n)
{
	char *a = malloc(n), *b = malloc(n);

	free(a);
	free(b);
	free(announce(a));
}

static void c_double_later_tiny(void) { double_later(32); }
static void c_double_later_pool(void) { double_later(8000); }
static void c_double_later_large(void) { double_later(300000); }

/* free(a), then much traffic in other size classes, then free(a) again. */
static void c_double_far(void)
{
	char *a = malloc(40), *keep[64];

	free(a);
	for (int r = 0; r < 200; r++) {
		for (int i = 0; i < 64; i++)
			keep[i] = malloc(100 + i * 16 + r % 7 * 1000);
		for (int i = 0; i < 64; i++)
			free(keep[i]);
	}
	free(announce(a));
}

static void *free_it(void *p)
{
	free(p);
	return NULL;
}

/* One thread frees, another frees the same block again. */
static void c_double_cross_thread(void)
{
	char *a = malloc(200);
	pthread_t t;

	pthread_create(&t, NULL, free_it, a);
	pthread_join(t, NULL);
	free(announce(a));
}

/* A correct program under HAKMEM_CHECK=full: no false reports. */
static void c_clean_workload(void)
{
	enum { N = 512 };
	static char *p[N];
	static size_t n[N];
	unsigned x = 12345;

	for (int r = 0; r < 20000; r++) {
		int i = (x = x * 1103515245 + 12345) >> 8 & (N - 1);
		size_t sz = x >> 20 & 1 ? (x >> 4) % 1100 : (x >> 4) % 70000;

		if (p[i] && itest_verify(p[i], n[i], (uintptr_t)p[i]) != SIZE_MAX) {
			printf("block changed\n");
			return;
		}
		if (r % 3 == 0 && p[i]) {
			p[i] = realloc(p[i], sz + 1);
		} else {
			free(p[i]);
			p[i] = (r & 3) == 1 ? memalign(64, sz) : malloc(sz);
		}
		n[i] = sz;
		itest_fill(p[i], sz, (uintptr_t)p[i]);
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	itest_resolve();
	printf("clean self_check=%d\n", hak.self_check());
}

/*
 * HAKMEM_FOREIGN_FREE=forward: glibc blocks go back to glibc (glibc hands
 * the same block out again), realloc of a glibc block stays glibc's.
 */
static void c_forward(void)
{
	char *g = glibc_block(100), *h, *r;
	void *again;

	free(announce(g));	/* forwarded to glibc's free */
	again = libc_malloc(100);
	h = glibc_block(50);
	memcpy(h, "forward", 8);
	r = realloc(h, 5000);
	if (!r || libc_usable(r) < 5000 || strcmp(r, "forward")) {
		printf("bad realloc %p\n", (void *)r);
		return;
	}
	free(r);
	free(again);
	free(malloc(10));	/* HAKMEM still works */
	printf("forward reused=%d\n", again == g);
}

static const struct child_case {
	const char *name;
	void (*fn)(void);
} cases[] = {
#define C(x) { #x, c_##x }
	C(free_stack), C(free_static), C(free_glibc), C(free_glibc_large),
	C(free_foreign_mmap), C(free_unmapped_low), C(free_unmapped_gone),
	C(free_kernel), C(free_noncanonical), C(free_top),
	C(free_misaligned_tiny), C(free_misaligned8_tiny), C(free_misaligned_pool),
	C(free_misaligned_large), C(free_misaligned8_large),
	C(realloc_zero_tiny), C(realloc_zero_large),
	C(double_tiny), C(double_pool), C(double_large), C(double_zero), C(double_large_merged), C(double_aligned),
	C(realloc_glibc), C(realloc_stack), C(realloc_misaligned),
	C(interior_tiny), C(interior_tiny_end), C(interior_pool), C(interior_large),
	C(interior_huge),
	C(double_later_tiny), C(double_later_pool), C(double_later_large),
	C(double_far), C(double_cross_thread),
	C(clean_workload), C(forward),
#undef C
};

static const struct child_case *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	return NULL;
}

static void run_case(void *arg)
{
	((const struct child_case *)arg)->fn();
	survived();
}

/* ------------------------------------------------------------ the tests */

static const char *const env_full[] = { "HAKMEM_CHECK=full", NULL };
static const char *const env_fast[] = { "HAKMEM_CHECK=fast", NULL };
static const char *const env_forward[] = { "HAKMEM_FOREIGN_FREE=forward", NULL };

/* Run case @name (re-executed with @env, or forked if @env is NULL). */
static void run_child(struct itest_child *c, const char *name, const char *const *env)
{
	const struct child_case *cc = find_case(name);

	ck_assert_msg(cc != NULL, "no child case %s", name);
	itest_spawn(c, run_case, (void *)cc, env ? name : NULL, env);
}

/*
 * Case @name must abort after reporting "hakmem: @what(ADDR)", ADDR being
 * the address it announced.
 */
static void expect_report(const char *name, const char *const *env, const char *what)
{
	static struct itest_child c;
	char want[128], addr[64];
	const char *a;

	run_child(&c, name, env);
	a = strstr(c.out, "addr ");
	ck_assert_msg(a && sscanf(a, "addr %63s", addr) == 1,
		      "%s: child announced no address (%s); stdout: %s; stderr: %s",
		      name, itest_status_str(&c), c.out, c.err);
	snprintf(want, sizeof(want), "hakmem: %s(%s)", what, addr);
	ck_assert_msg(strstr(c.err, want) != NULL,
		      "%s: expected \"%s\" on stderr (%s); stderr: %s; stdout: %s",
		      name, want, itest_status_str(&c), c.err, c.out);
	ck_assert_msg(itest_aborted(&c), "%s: child ended with %s, not SIGABRT; stderr: %s",
		      name, itest_status_str(&c), c.err);
	ck_assert_msg(strstr(c.out, "survived") == NULL, "%s: the bad call returned", name);
	/* promise 6: debug builds add a libunwind backtrace */
	if (HAK_BACKTRACE)
		ck_assert_msg(strstr(c.err, "hakmem: backtrace:") && strstr(c.err, "#0 "),
			      "%s: no backtrace in a debug build; stderr: %s", name, c.err);
}

#define REPORT_TEST(name, env, what)			\
	START_TEST(name)				\
	{						\
		expect_report(#name, env, what);	\
	}						\
	END_TEST

/* Release builds catch these cheaply, with default options. */
REPORT_TEST(free_stack, NULL, "invalid free")
REPORT_TEST(free_static, NULL, "invalid free")
REPORT_TEST(free_glibc, NULL, "invalid free")
REPORT_TEST(free_glibc_large, NULL, "invalid free")
REPORT_TEST(free_foreign_mmap, NULL, "invalid free")
REPORT_TEST(free_unmapped_low, NULL, "invalid free")
REPORT_TEST(free_unmapped_gone, NULL, "invalid free")
REPORT_TEST(free_kernel, NULL, "invalid free")
REPORT_TEST(free_noncanonical, NULL, "invalid free")
REPORT_TEST(free_top, NULL, "invalid free")
REPORT_TEST(free_misaligned_tiny, NULL, "invalid free")
REPORT_TEST(free_misaligned8_tiny, NULL, "invalid free")
REPORT_TEST(free_misaligned_pool, NULL, "invalid free")
REPORT_TEST(free_misaligned_large, NULL, "invalid free")
REPORT_TEST(free_misaligned8_large, NULL, "invalid free")
REPORT_TEST(double_tiny, NULL, "double free")
REPORT_TEST(double_pool, NULL, "double free")
REPORT_TEST(double_large, NULL, "double free")
REPORT_TEST(double_zero, NULL, "double free")
REPORT_TEST(double_large_merged, NULL, "double free")
REPORT_TEST(double_aligned, NULL, "double free")
REPORT_TEST(realloc_zero_tiny, NULL, "double free")
REPORT_TEST(realloc_zero_large, NULL, "double free")
REPORT_TEST(realloc_glibc, NULL, "invalid realloc")
REPORT_TEST(realloc_stack, NULL, "invalid realloc")
REPORT_TEST(realloc_misaligned, NULL, "invalid realloc")

/* The same in a fresh process with HAKMEM_CHECK=fast (debug builds default to full). */
START_TEST(fast_mode_basics)
{
	expect_report("free_glibc", env_fast, "invalid free");
	expect_report("free_misaligned_tiny", env_fast, "invalid free");
	expect_report("double_tiny", env_fast, "double free");
	expect_report("double_pool", env_fast, "double free");
	expect_report("double_large", env_fast, "double free");
	expect_report("realloc_glibc", env_fast, "invalid realloc");
}
END_TEST

/* HAKMEM_CHECK=full, set in the environment of a fresh process. */
static const char *const full_cases[][2] = {
	{ "interior_tiny", "invalid free" },
	{ "interior_tiny_end", "invalid free" },
	{ "interior_pool", "invalid free" },
	{ "interior_large", "invalid free" },
	{ "interior_huge", "invalid free" },
	{ "double_later_tiny", "double free" },
	{ "double_later_pool", "double free" },
	{ "double_later_large", "double free" },
	{ "double_far", "double free" },
	{ "double_cross_thread", "double free" },
	{ "free_glibc", "invalid free" },
	{ "free_misaligned_pool", "invalid free" },
	{ "double_tiny", "double free" },
};

#define NFULL (sizeof(full_cases) / sizeof(full_cases[0]))

START_TEST(check_full_env)
{
	expect_report(full_cases[_i][0], env_full, full_cases[_i][1]);
}
END_TEST

/* Debug builds have the full checks without being asked. */
START_TEST(check_full_debug_default)
{
	if (!HAK_DEBUG)
		return;
	expect_report(full_cases[_i][0], NULL, full_cases[_i][1]);
}
END_TEST

static void expect_clean(const char *name, const char *const *env, const char *want)
{
	static struct itest_child c;

	run_child(&c, name, env);
	ck_assert_msg(itest_exited0(&c), "%s: child ended with %s; stderr: %s; stdout: %s",
		      name, itest_status_str(&c), c.err, c.out);
	ck_assert_msg(strstr(c.out, want) != NULL, "%s: expected \"%s\"; stdout: %s; stderr: %s",
		      name, want, c.out, c.err);
	ck_assert_msg(strstr(c.out, "survived") != NULL, "%s: stdout: %s", name, c.out);
	ck_assert_msg(strstr(c.err, "hakmem:") == NULL, "%s: unexpected report: %s", name, c.err);
}

START_TEST(check_full_no_false_reports)
{
	expect_clean("clean_workload", env_full, "clean self_check=0");
}
END_TEST

START_TEST(forward_foreign_free)
{
	expect_clean("forward", env_forward, "forward reused=1");
}
END_TEST

/* forward only concerns pointers outside HAKMEM: its own bad frees still abort. */
START_TEST(forward_still_reports)
{
	expect_report("double_tiny", env_forward, "double free");
	expect_report("double_large", env_forward, "double free");
	expect_report("free_misaligned_tiny", env_forward, "invalid free");
	expect_report("free_misaligned_large", env_forward, "invalid free");
}
END_TEST

/* Without forward, the same foreign free is an error (control for the above). */
START_TEST(no_forward_reports)
{
	expect_report("forward", env_fast, "invalid free");
}
END_TEST

static Suite *wrong_suite(void)
{
	Suite *s = suite_create("wrong");
	TCase *tc;

	tc = itest_tcase(s, "release_checks", 60);
	tcase_add_test(tc, free_stack);
	tcase_add_test(tc, free_static);
	tcase_add_test(tc, free_glibc);
	tcase_add_test(tc, free_glibc_large);
	tcase_add_test(tc, free_foreign_mmap);
	tcase_add_test(tc, free_unmapped_low);
	tcase_add_test(tc, free_unmapped_gone);
	tcase_add_test(tc, free_kernel);
	tcase_add_test(tc, free_noncanonical);
	tcase_add_test(tc, free_top);
	tcase_add_test(tc, free_misaligned_tiny);
	tcase_add_test(tc, free_misaligned8_tiny);
	tcase_add_test(tc, free_misaligned_pool);
	tcase_add_test(tc, free_misaligned_large);
	tcase_add_test(tc, free_misaligned8_large);
	tcase_add_test(tc, double_tiny);
	tcase_add_test(tc, double_pool);
	tcase_add_test(tc, double_large);
	tcase_add_test(tc, double_zero);
	tcase_add_test(tc, double_large_merged);
	tcase_add_test(tc, double_aligned);
	tcase_add_test(tc, realloc_zero_tiny);
	tcase_add_test(tc, realloc_zero_large);
	tcase_add_test(tc, realloc_glibc);
	tcase_add_test(tc, realloc_stack);
	tcase_add_test(tc, realloc_misaligned);
	tcase_add_test(tc, fast_mode_basics);

	tc = itest_tcase(s, "check_full", 60);
	tcase_add_loop_test(tc, check_full_env, 0, NFULL);
	tcase_add_loop_test(tc, check_full_debug_default, 0, NFULL);
	tcase_add_test(tc, check_full_no_false_reports);

	tc = itest_tcase(s, "foreign_forward", 60);
	tcase_add_test(tc, forward_foreign_free);
	tcase_add_test(tc, forward_still_reports);
	tcase_add_test(tc, no_forward_reports);
	return s;
}

int main(int argc, char **argv)
{
	itest_save_self();
	if (argc == 3 && strcmp(argv[1], "--child") == 0) {
		const struct child_case *cc = find_case(argv[2]);

		if (!cc)
			return 2;
		run_case((void *)cc);
		return 0;
	}
	return itest_run(wrong_suite());
}
