/*
 * unit.h - HAKMEM's unit tests: one Check suite per box, linked against
 * libhakmem_test.a (hak_* only; Check keeps glibc's malloc). Each test runs
 * in a forked child, so HAKMEM starts fresh in every test and a test may set
 * HAKMEM_* variables before its first hak_ call.
 */
#ifndef HAK_UNIT_H
#define HAK_UNIT_H

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hakmem.h"
#include "../hang_guard.h"

Suite *sizeclass_suite(void);
Suite *sysmem_suite(void);
Suite *regionmap_suite(void);
Suite *superslab_suite(void);
Suite *bigcache_suite(void);
Suite *tiny_suite(void);
Suite *pool_suite(void);
Suite *medium_suite(void);
Suite *frontend_suite(void);
Suite *faults_suite(void);
Suite *pressure_suite(void);
Suite *learner_suite(void);
Suite *tick_suite(void);

/* Fill / verify @n bytes at @p with a pattern derived from @seed. */
static inline void unit_fill(void *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = (unsigned char)(seed * 131 + i * 7);
}

static inline int unit_verify(const void *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)(seed * 131 + i * 7))
			return 0;
	return 1;
}

/*
 * unit_stat() - from hak_stats_print(), the number after @name in the
 * first line at or after the text @line, or -1 if either is missing.
 */
static inline long unit_stat(const char *line, const char *name)
{
	char *buf = NULL, *at;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	long v = -1;

	hak_stats_print(f);
	fclose(f);
	at = strstr(buf, line);
	if (at && (at = strstr(at, name)))
		v = strtol(at + strlen(name), NULL, 10);
	free(buf);
	return v;
}

/* unit_count_in() - how many of the @n pointers in @a are among the @m in @b. */
static inline int unit_count_in(void *const *a, int n, void *const *b, int m)
{
	int found = 0;

	for (int i = 0; i < n; i++)
		for (int k = 0; k < m; k++)
			if (a[i] == b[k]) {
				found++;
				break;
			}
	return found;
}

/* unit_prot_at() - permissions of the page at @addr in /proc/self/maps ("rw-p", "---p"), or "". */
static inline const char *unit_prot_at(const void *addr)
{
	static char perms[8];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;

	perms[0] = 0;
	while (f && fscanf(f, "%lx-%lx %7s%*[^\n]", &lo, &hi, perms) == 3)
		if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			break;
		else
			perms[0] = 0;
	if (f)
		fclose(f);
	return perms;
}

/*
 * unit_smaps_line() - the line starting with @key in the /proc/self/smaps
 * entry of the mapping holding @addr, or "".
 */
static inline const char *unit_smaps_line(const void *addr, const char *key)
{
	static char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi;
	bool in = false, found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else
			found = in && !strncmp(line, key, strlen(key));
	}
	if (f)
		fclose(f);
	if (!found)
		line[0] = 0;
	return line;
}

/*
 * unit_charged_at() - whether the mapping holding @addr counts against
 * overcommit ("ac" in its VmFlags).
 */
static inline bool unit_charged_at(const void *addr)
{
	return strstr(unit_smaps_line(addr, "VmFlags:"), " ac") != NULL;
}

/* unit_huge_kb_at() - kB of the mapping holding @addr on huge pages. */
static inline unsigned long unit_huge_kb_at(const void *addr)
{
	unsigned long kb = 0;

	sscanf(unit_smaps_line(addr, "AnonHugePages:"), "AnonHugePages: %lu", &kb);
	return kb;
}

/*
 * unit_run_fatal() - run @fn in a child (under a hang guard), which must
 * die of SIGABRT; returns what it printed on stderr.
 */
static inline const char *unit_run_fatal(void (*fn)(void))
{
	struct hang_guard g = hang_guard_start(20);
	static char err[16384];
	char scratch[4096];
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = len < sizeof(err) - 1 ? read(fds[0], err + len, sizeof(err) - 1 - len)
					  : read(fds[0], scratch, sizeof(scratch))) > 0)
		len += len < sizeof(err) - 1 ? (size_t)n : 0;
	err[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	hang_guard_stop(&g);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "child status %#x, not SIGABRT; stderr: %s", status, err);
	return err;
}

/* unit_expect_fatal() - unit_run_fatal(), and stderr holds @msg (HAKMEM's report). */
static inline void unit_expect_fatal(void (*fn)(void), const char *msg)
{
	const char *err = unit_run_fatal(fn);

	ck_assert_msg(strstr(err, msg) != NULL, "expected \"%s\" on stderr: %s", msg, err);
}

/*
 * FATAL_TEST(name, msg) { body } - a test whose body must end in HAKMEM's
 * report @msg and abort() (unit_expect_fatal()).
 */
#define FATAL_TEST(name, msg)						\
	static void name##_body(void);					\
	START_TEST(name)						\
	{								\
		unit_expect_fatal(name##_body, msg);			\
	}								\
	END_TEST							\
	static void name##_body(void)

#endif /* HAK_UNIT_H */
