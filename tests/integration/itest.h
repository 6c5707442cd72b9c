/*
 * itest.h - shared helpers of the integration tests.
 *
 * Every test binary is built twice: NAME_static (linked with libhakmem.a,
 * -DITEST_STATIC) and NAME_preload (a plain glibc program run under
 * LD_PRELOAD=libhakmem.so). The hak_* functions are reached through the
 * pointers below: directly in the static build, through dlsym() in the
 * preload build, where the program is not linked against HAKMEM at all.
 *
 * itest_require_hakmem() fails the test unless HAKMEM really serves malloc.
 * itest_spawn() runs a function (or this program again, with an
 * environment) in a child whose stdout and stderr it captures.
 */
#ifndef ITEST_H
#define ITEST_H

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../hang_guard.h"
#include "hakmem.h"
#include "hakmem_config.h"

#define ITEST_TINY_MAX	1024
#define ITEST_POOL_MAX	53248

struct itest_hak {
	const char *(*config_string)(void);
	int (*self_check)(void);
	size_t (*usable_size)(void *);
	void (*stats_print)(FILE *);
};

static struct itest_hak hak;

/* Fill hak; false if HAKMEM's functions are not in this process. */
static inline bool itest_resolve(void)
{
#ifdef ITEST_STATIC
	hak.config_string = hak_config_string;
	hak.self_check = hak_self_check;
	hak.usable_size = hak_malloc_usable_size;
	hak.stats_print = hak_stats_print;
#else
	hak.config_string = (const char *(*)(void))dlsym(RTLD_DEFAULT, "hak_config_string");
	hak.self_check = (int (*)(void))dlsym(RTLD_DEFAULT, "hak_self_check");
	hak.usable_size = (size_t (*)(void *))dlsym(RTLD_DEFAULT, "hak_malloc_usable_size");
	hak.stats_print = (void (*)(FILE *))dlsym(RTLD_DEFAULT, "hak_stats_print");
#endif
	return hak.config_string && hak.self_check && hak.usable_size && hak.stats_print;
}

/*
 * HAKMEM serves malloc: its functions are present, and malloc(1) is a
 * HAKMEM block of its 16-byte minimum class (glibc's minimum is 24) both
 * through malloc_usable_size and through hak_malloc_usable_size (which
 * aborts on a pointer HAKMEM does not own).
 */
static inline void itest_require_hakmem(void)
{
	void *p;

	ck_assert_msg(itest_resolve(), "HAKMEM is not loaded (hak_* symbols missing)");
	ck_assert_msg(strstr(hak.config_string(), "PROFILE=") != NULL,
		      "odd config string: %s", hak.config_string());
	p = malloc(1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(malloc_usable_size(p), 16);
	ck_assert_uint_eq(hak.usable_size(p), 16);
	free(p);
}

/* Every box's invariant check passes. */
static inline void itest_self_check(void)
{
	ck_assert_int_eq(hak.self_check(), 0);
}

/* Setup of every TCase (checked fixture: runs in the test's process). */
static inline void itest_setup(void)
{
	itest_require_hakmem();
}

static inline void itest_teardown(void)
{
	itest_self_check();
}

/* Hide a pointer's origin from the compiler (-Wfree-nonheap-object etc.). */
static inline void *itest_launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* A pattern that depends on the block (@seed) and the offset, 8 bytes at a time. */
static inline uint64_t itest_word(uintptr_t seed, size_t w)
{
	uint64_t x = (seed + w) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29) ^ w;
}

static inline void itest_fill(void *p, size_t n, uintptr_t seed)
{
	unsigned char *c = (unsigned char *)p;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = itest_word(seed, i / 8);

		memcpy(c + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* Offset of the first byte of @p that differs from the pattern, or SIZE_MAX. */
static inline size_t itest_verify(const void *p, size_t n, uintptr_t seed)
{
	const unsigned char *c = (const unsigned char *)p;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = itest_word(seed, i / 8);
		size_t k = n - i < 8 ? n - i : 8;

		if (memcmp(c + i, &v, k))
			for (size_t j = 0; j < k; j++)
				if (c[i + j] != ((unsigned char *)&v)[j])
					return i + j;
	}
	return SIZE_MAX;
}

/* Offset of the first byte of @p that is not @b, or SIZE_MAX. */
static inline size_t itest_find_not(const void *p, size_t n, unsigned char b)
{
	const unsigned char *c = (const unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != b)
			return i;
	return SIZE_MAX;
}

/*
 * ck_assert_msg() for loops: Check records every assertion it passes (a
 * write to its pipe), which is far too slow millions of times over.
 */
#define itest_check(cond, ...) \
	do { if (__builtin_expect(!(cond), 0)) ck_abort_msg(__VA_ARGS__); } while (0)

/* Keep the compiler from reasoning about a size or pointer (huge-size warnings). */
static inline size_t itest_opaque(size_t n)
{
	__asm__ volatile("" : "+r"(n));
	return n;
}

/* ------------------------------------------------------------ children */

struct itest_child {
	int status;		/* as from waitpid */
	char out[16384];	/* the child's stdout */
	char err[16384];	/* the child's stderr */
};

static char itest_self_path[4096];

/* Call first in main(): the path that itest_spawn(.., mode) re-executes. */
static inline void itest_save_self(void)
{
	ssize_t n = readlink("/proc/self/exe", itest_self_path, sizeof(itest_self_path) - 1);

	itest_self_path[n > 0 ? n : 0] = '\0';
}

static void itest_drain(int out_fd, int err_fd, struct itest_child *c)
{
	struct pollfd pfd[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	char *buf[2] = { c->out, c->err };
	size_t len[2] = { 0, 0 };
	int open = 2;

	while (open > 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			char scratch[4096];
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (len[i] < sizeof(c->out) - 1)
				n = read(pfd[i].fd, buf[i] + len[i], sizeof(c->out) - 1 - len[i]);
			else
				n = read(pfd[i].fd, scratch, sizeof(scratch));
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open--;
			} else if (len[i] < sizeof(c->out) - 1) {
				len[i] += (size_t)n;
			}
		}
	}
	c->out[len[0]] = '\0';
	c->err[len[1]] = '\0';
}

/*
 * Run @fn(@arg) in a forked child, or - when @mode is not NULL - execute
 * this program again as "PROGRAM --child MODE" with the "NAME=VALUE"
 * strings of @env added to its environment (HAKMEM reads its options once,
 * at the first allocation of a process, so they must be set before exec).
 * The child has 30 s (hang_guard.h). Its stdout, stderr and exit status
 * land in @c.
 */
static inline void itest_spawn(struct itest_child *c, void (*fn)(void *), void *arg,
			       const char *mode, const char *const *env)
{
	struct hang_guard g = hang_guard_start(30);
	int out[2], err[2];
	pid_t pid;

	fflush(NULL);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		if (mode) {
			for (; env && *env; env++)
				putenv((char *)*env);
			execl(itest_self_path, itest_self_path, "--child", mode, (char *)NULL);
			_exit(127);
		}
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	close(out[1]);
	close(err[1]);
	itest_drain(out[0], err[0], c);
	ck_assert_int_eq(waitpid(pid, &c->status, 0), pid);
	hang_guard_stop(&g);
}

static inline bool itest_aborted(const struct itest_child *c)
{
	return WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT;
}

static inline bool itest_exited0(const struct itest_child *c)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

/* The child's status, for messages. */
static inline const char *itest_status_str(const struct itest_child *c)
{
	static char s[64];

	if (WIFEXITED(c->status))
		snprintf(s, sizeof(s), "exit %d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		snprintf(s, sizeof(s), "signal %d (%s)", WTERMSIG(c->status),
			 strsignal(WTERMSIG(c->status)));
	else
		snprintf(s, sizeof(s), "status 0x%x", c->status);
	return s;
}

/* Add a TCase with the HAKMEM checks as a checked fixture. */
static inline TCase *itest_tcase(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, itest_setup, itest_teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

/* Run @s; the exit status of main(). */
static inline int itest_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* ITEST_H */
