/*
 * check_faults.c - fault injection everywhere (issue 16, deliver 3): a run
 * of every entry point at every tier, with a second thread, in a fresh
 * process, where the Nth system call HAKMEM makes fails (only that one, or
 * that one and all after it), for every N the run makes. Each call must
 * return NULL with errno ENOMEM (posix_memalign: ENOMEM) or succeed with a
 * usable, aligned block; a failed realloc keeps its block; once the faults
 * stop, every tier allocates again, the self-check passes, and after
 * malloc_trim exactly as many bytes stay mapped as in a run without faults.
 * Also: a failed mapping first makes HAKMEM give back what it keeps idle.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define MAXB 64

struct blk {
	char *p;
	size_t n;
	unsigned seed;
};

static struct blk blks[MAXB];
static size_t base_mapped;
static long base_calls, base_arenas;
static int nblks;
static unsigned next_seed = 1;

/* The child reports the first problem and exits non-zero. */
__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "faults: fail %ld%s: ", hak_sys_fail_after,
		hak_sys_fail_once ? " (once)" : "");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

/* The pattern at the start, the end and every 32 KiB of a block: enough to see it moved or lost. */
#define MARK_STEP(i, n) ((i) < 256 || (n) - (i) <= 256 ? 1 : 32771)

static void mark(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += MARK_STEP(i, n))
		p[i] = (char)(seed * 131 + i * 7);
}

/* The marks of an @n byte block below @upto are in place. */
static bool marked_upto(const char *p, size_t n, unsigned seed, size_t upto)
{
	for (size_t i = 0; i < upto; i += MARK_STEP(i, n))
		if (p[i] != (char)(seed * 131 + i * 7))
			return false;
	return true;
}

static bool marked(const char *p, size_t n, unsigned seed)
{
	return marked_upto(p, n, seed, n);
}

static void check_all(void)
{
	for (int i = 0; i < nblks; i++)
		if (!marked(blks[i].p, blks[i].n, blks[i].seed))
			die("block %p (%zu B) changed", (void *)blks[i].p, blks[i].n);
}

/* A call's result @p for @n bytes aligned to @align: a checked, filled block, or ENOMEM. */
static void got(const char *what, void *p, size_t n, size_t align, int err)
{
	struct blk *b;

	if (!p) {
		if (err != ENOMEM)
			die("%s(%zu) returned NULL with errno %d", what, n, err);
		return;
	}
	if ((uintptr_t)p % align)
		die("%s(%zu) = %p: not aligned to %zu", what, n, p, align);
	if (hak_malloc_usable_size(p) < n)
		die("%s(%zu): usable size %zu", what, n, hak_malloc_usable_size(p));
	if (nblks == MAXB)
		die("too many blocks");
	b = &blks[nblks++];
	*b = (struct blk){ p, n, next_seed++ };
	mark(p, n, b->seed);
}

static void drop(int i)
{
	hak_free(blks[i].p);
	blks[i] = blks[--nblks];
}

#define CALL(what, n, align, expr) do { errno = 0; void *r_ = (expr); got(what, r_, n, align, errno); } while (0)

/* realloc block @i to @n bytes: moved and intact, or NULL with it kept. */
static void resize(int i, size_t n)
{
	struct blk *b = &blks[i];
	size_t keep = n < b->n ? n : b->n;
	char *q;

	errno = 0;
	q = hak_realloc(b->p, n);
	if (!q) {
		if (errno != ENOMEM)
			die("realloc(%zu) returned NULL with errno %d", n, errno);
		if (!marked(b->p, b->n, b->seed))
			die("a failed realloc(%zu) changed its block", n);
		return;
	}
	if (!marked_upto(q, b->n, b->seed, keep))
		die("realloc(%p, %zu) lost the contents", (void *)b->p, n);
	if (hak_malloc_usable_size(q) < n || (uintptr_t)q % 16)
		die("realloc(%zu) = %p: usable %zu", n, (void *)q, hak_malloc_usable_size(q));
	b->p = q;
	b->n = n;
	mark(q, n, b->seed);
}

static const size_t tier_sizes[] = { 64, 1000, 16 * KiB, 50 * KiB, 100 * KiB, 600 * KiB,
				     3 * MiB, 9 * MiB };
#define NTIERS (sizeof(tier_sizes) / sizeof(tier_sizes[0]))

static void *other_thread(void *arg)
{
	void **out = arg;

	/* its blocks outlive it: the main thread frees them */
	for (size_t t = 0; t < NTIERS; t++)
		out[t] = hak_malloc(tier_sizes[t]);
	hak_free(hak_malloc(200));
	return NULL;
}

/* Every entry point at every tier. */
static void run_api(void)
{
	void *theirs[NTIERS], *p;
	pthread_t t;
	int err;

	for (size_t i = 0; i < NTIERS; i++) {
		CALL("malloc", tier_sizes[i], 16, hak_malloc(tier_sizes[i]));
		CALL("calloc", tier_sizes[i], 16, hak_calloc(1, tier_sizes[i]));
	}
	CALL("reallocarray", 3000, 16, hak_reallocarray(NULL, 3, 1000));
	for (size_t a = 16; a <= 4 * MiB; a *= 8) {
		p = NULL;
		err = hak_posix_memalign(&p, a, a + 100);
		if (err && err != ENOMEM)
			die("posix_memalign(%zu) returned %d", a, err);
		got("posix_memalign", err ? NULL : p, a + 100, a, err ? ENOMEM : 0);
		CALL("aligned_alloc", a, a, hak_aligned_alloc(a, a));
		CALL("memalign", 3 * a, a, hak_memalign(a, 3 * a));
	}
	CALL("valloc", 5000, 4096, hak_valloc(5000));
	CALL("pvalloc", 100, 4096, hak_pvalloc(100));
	/* grow and shrink across the tiers, in place or moved */
	CALL("malloc", 24, 16, hak_malloc(24));
	for (size_t n = 24; nblks && n < 40 * MiB; n *= 5)
		resize(nblks - 1, n);
	for (int i = nblks - 1; i >= 0 && i >= nblks - 8; i--)
		resize(i, blks[i].n / 3 + 1);
	check_all();
	if (pthread_create(&t, NULL, other_thread, theirs))
		die("pthread_create");
	pthread_join(t, NULL);
	for (size_t i = 0; i < NTIERS; i++)
		hak_free(theirs[i]);
	for (int i = nblks - 1; i >= 0; i -= 2)
		drop(i);
	check_all();
}

/* After the faults: every tier allocates, nothing is corrupt, all goes back. */
static size_t recover(void)
{
	check_all();
	for (size_t i = 0; i < NTIERS; i++) {
		void *p = hak_malloc(tier_sizes[i]);

		if (!p)
			die("malloc(%zu) fails after the faults stopped", tier_sizes[i]);
		memset(p, 1, tier_sizes[i]);
		hak_free(p);
	}
	while (nblks)
		drop(nblks - 1);
	if (hak_self_check())
		die("self-check failed");
	hak_malloc_trim(0);
	return hak_sys_bytes_mapped();
}

/*
 * In a fresh child: fail call @n + 1 (-1: none), once or from then on; the
 * calls made and the bytes left mapped go to @fd. Returns the wait status.
 */
static int run_child(long n, bool once, int fd)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t mapped;
		long calls, arenas;

		alarm(20);	/* a hang is a failure */
		hak_sys_fail_once = once;
		hak_sys_fail_after = n;
		run_api();
		hak_sys_fail_after = -1;
		calls = hak_sys_calls;
		mapped = recover();
		arenas = unit_stat("pool.arenas", " ");
		if (write(fd, &calls, sizeof(calls)) != sizeof(calls) ||
		    write(fd, &mapped, sizeof(mapped)) != sizeof(mapped) ||
		    write(fd, &arenas, sizeof(arenas)) != sizeof(arenas))
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* In a fresh child: fail call @n (once or from then on), then compare what stays mapped. */
static void fault_at(long n, bool once)
{
	int fds[2], status;
	long calls, arenas;
	size_t mapped = 0;

	ck_assert_int_eq(pipe(fds), 0);
	status = run_child(n, once, fds[1]);
	close(fds[1]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "failing system call %ld%s: the run %s %d (its message is above)",
		      n + 1, once ? " only" : " and all after",
		      WIFSIGNALED(status) ? "died of signal" : "exited with",
		      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	ck_assert_int_eq(read(fds[0], &calls, sizeof(calls)), sizeof(calls));
	ck_assert_int_eq(read(fds[0], &mapped, sizeof(mapped)), sizeof(mapped));
	ck_assert_int_eq(read(fds[0], &arenas, sizeof(arenas)), sizeof(arenas));
	close(fds[0]);
	/* pool arenas stay mapped for good: a run that made fewer keeps less */
	ck_assert_msg(arenas == base_arenas ? mapped == base_mapped : mapped < base_mapped,
		      "failing system call %ld%s: %zu B (%ld arenas) stay mapped after malloc_trim, %zu (%ld) without faults",
		      n + 1, once ? " only" : " and all after", mapped, arenas, base_mapped,
		      base_arenas);
}

/* Sanitizers make each forked run slow: there, every 8th call fails. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRIDE 8
#else
#define STRIDE 1
#endif

static void baseline(void)
{
	int fds[2], status;

	ck_assert_int_eq(pipe(fds), 0);
	status = run_child(-1, false, fds[1]);
	close(fds[1]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the run fails with no fault");
	ck_assert_int_eq(read(fds[0], &base_calls, sizeof(base_calls)), sizeof(base_calls));
	ck_assert_int_eq(read(fds[0], &base_mapped, sizeof(base_mapped)), sizeof(base_mapped));
	ck_assert_int_eq(read(fds[0], &base_arenas, sizeof(base_arenas)), sizeof(base_arenas));
	close(fds[0]);
	ck_assert_int_gt(base_calls, 20);
}

/*
 * Not under valgrind: a sweep forks some 150 runs, too slow there, and
 * valgrind loses track of what is addressable in a mapping that mremap grew.
 */
START_TEST(every_single_call_fails_in_turn)
{
	if (RUNNING_ON_VALGRIND)
		return;
	baseline();
	for (long n = 0; n < base_calls; n += STRIDE)
		fault_at(n, true);
}
END_TEST

START_TEST(every_call_from_the_nth_on_fails)
{
	if (RUNNING_ON_VALGRIND)
		return;
	baseline();
	for (long n = 0; n < base_calls; n += STRIDE)
		fault_at(n, false);
}
END_TEST

/* 64 B blocks over several superslabs, all freed: the empty ones are kept a while. */
static void empty_superslabs(void)
{
	static void *p[100000];

	for (int i = 0; i < 100000; i++)
		ck_assert_ptr_nonnull(p[i] = hak_malloc(64));
	for (int i = 0; i < 100000; i++)
		hak_free(p[i]);
	ck_assert_int_ge(unit_stat("superslab.live", " "), 3);
}

START_TEST(trim_unmaps_every_empty_superslab)
{
	empty_superslabs();
	ck_assert_int_eq(hak_malloc_trim(0), 1);
	ck_assert_int_eq(unit_stat("superslab.live", " "), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A mapping that fails once: what is kept idle goes back first, then the retry succeeds. */
START_TEST(a_failed_map_reclaims_then_retries)
{
	void *p;

	setenv("HAKMEM_LARGE_RUNS_MB", "0", 1);	/* a failed segment would fall back to a mapping */
	empty_superslabs();
	hak_sys_fail_once = true;
	hak_sys_fail_after = 0;
	p = hak_malloc(8 * MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(hak_sys_fail_after, -1);	/* the fault did happen */
	ck_assert_int_eq(unit_stat("superslab.live", " "), 0);
	memset(p, 1, 8 * MiB);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *exhaust(void *arg)
{
	size_t size = (size_t)arg;
	void *head = NULL, **q;

	while ((q = hak_malloc(size))) {	/* until the injected OOM */
		q[0] = head;
		head = q;
	}
	if (errno != ENOMEM)
		return (void *)1;
	while ((q = head)) {
		head = q[0];
		hak_free(q);
	}
	return NULL;
}

/* Threads run out of mappings together (each reclaims at once), free, and all recovers. */
START_TEST(threads_reclaim_at_once)
{
	static const size_t sizes[] = { 64, 16 * KiB, 100 * KiB, 3 * MiB };
	pthread_t t[4];
	void *ret;

	hak_free(hak_malloc(1));
	hak_sys_fail_after = 60;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, exhaust, (void *)sizes[i]), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	hak_sys_fail_after = -1;
	for (int i = 0; i < 4; i++) {
		void *p = hak_malloc(sizes[i]);

		ck_assert_ptr_nonnull(p);
		hak_free(p);
	}
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("reclaim");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, trim_unmaps_every_empty_superslab);
	tcase_add_test(tc, a_failed_map_reclaims_then_retries);
	tcase_add_test(tc, threads_reclaim_at_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("nth_call");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, every_single_call_fails_in_turn);
	tcase_add_test(tc, every_call_from_the_nth_on_fails);
	suite_add_tcase(s, tc);
	return s;
}
