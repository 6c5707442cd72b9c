/*
 * check_bench.c - every benchmark, in both builds, must catch a block whose
 * pattern was damaged (BENCH_CORRUPT=1: exit 1 with "corruption" on stderr)
 * and must pass cleanly with its RESULT line otherwise. Small parameters;
 * the binaries are found in $BENCH_DIR (default out/release/bench). Also:
 * the harness's launcher (tools/bench/allocators.sh, sourced from the
 * repository's root) runs each HAKMEM allocator with its environment.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 8

struct bench_case {
	const char *name;
	const char *args[MAX_ARGS];
};

static const struct bench_case cases[] = {
	{ "bench_random_mixed", { "20000", "64", "1" } },
	{ "bench_pool_tls", { "2000", "32", "1" } },
	{ "bench_mid_large_mt", { "2", "2000", "32", "1" } },
	{ "bench_large", { "2", "40", "4", "0", "1", "64k", "2m" } },
	{ "larson", { "2", "100", "200", "3", "1" } },
	{ "bench_xthread", { "2", "5000", "16", "1024" } },
	{ "bench_realloc", { "1", "4", "1m", "1" } },
	{ "icount", { "tiny", "2000" } },
	{ "icount", { "pool", "500" } },
	{ "icount", { "large", "50" } },
	/* duration mode: THREADS SECS SEED ... */
	{ "bench_sweep", { "2", "0.05", "1", "16", "1k" } },
	{ "bench_sweep", { "3", "0.05", "1", "512k", "4m" } },
	{ "bench_cache_scratch", { "2", "0.05", "1", "8", "100" } },
	{ "bench_cache_thrash", { "2", "0.05", "1", "24", "100" } },
	{ "bench_glibc_thread", { "2", "0.05", "1", "64" } },
	{ "bench_xmalloc", { "3", "0.05", "1", "16", "256", "8" } },
	{ "bench_mstress", { "3", "0.05", "1", "256" } },
	{ "bench_rptest", { "2", "0.05", "1", "16", "4k", "2" } },
	{ "bench_malloc_large", { "2", "0.05", "1", "1" } },
	{ "bench_mleak", { "2", "0.05", "1", "16", "1k", "10" } },
	{ "bench_batch", { "2", "0.05", "1" } },
	{ "bench_batch", { "3", "0.05", "1", "16", "256", "1" } },
	{ "bench_churn", { "2", "0.05", "1" } },
	{ "bench_churn", { "3", "0.05", "1", "40000", "600000" } },
	/* HEAP SEED HOLD IDLE */
	{ "bench_phases", { "1m", "1", "0.01", "0.01" } },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))
static const char *const variants[] = { "hakmem", "system" };

struct outcome {
	int status;		/* exit code, or -1 if killed by a signal */
	char out[16384];	/* stdout and stderr together */
};

static void child(char *const argv[], bool corrupt, int fd)
{
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (corrupt)
		setenv("BENCH_CORRUPT", "1", 1);
	else
		unsetenv("BENCH_CORRUPT");
	execv(argv[0], argv);
	fprintf(stderr, "exec %s failed\n", argv[0]);
	_exit(127);
}

/* Run @argv, its output and exit status into @o (Check's timeout kills a hang). */
static void run_argv(char *const argv[], bool corrupt, struct outcome *o)
{
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child(argv, corrupt, fds[1]);
	close(fds[1]);
	while ((n = read(fds[0], o->out + len, sizeof(o->out) - 1 - len)) > 0)
		len += (size_t)n;
	o->out[len] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	o->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bench_path(char *path, size_t size, const char *name,
		       const char *variant)
{
	const char *dir = getenv("BENCH_DIR");

	snprintf(path, size, "%s/%s_%s", dir ? dir : "out/release/bench", name,
		 variant);
	ck_assert_msg(access(path, X_OK) == 0, "%s is not built", path);
}

static void run_case(const struct bench_case *c, const char *variant,
		     bool corrupt, struct outcome *o)
{
	char path[512];
	char *argv[MAX_ARGS + 2] = { path };

	bench_path(path, sizeof(path), c->name, variant);
	for (int i = 0; i < MAX_ARGS && c->args[i]; i++)
		argv[i + 1] = (char *)c->args[i];
	run_argv(argv, corrupt, o);
}

/* _i: case i / 2 in variant i % 2. */
START_TEST(test_normal_run_passes)
{
	const struct bench_case *c = &cases[_i / 2];
	const char *variant = variants[_i % 2];
	static struct outcome o;

	run_case(c, variant, false, &o);
	ck_assert_msg(o.status == 0, "%s_%s %s exited %d:\n%s", c->name,
		      variant, c->args[0], o.status, o.out);
	ck_assert_msg(strstr(o.out, "RESULT name="),
		      "%s_%s: no RESULT line:\n%s", c->name, variant, o.out);
	ck_assert_msg(!strstr(o.out, "corruption"), "%s_%s: %s", c->name,
		      variant, o.out);
	/* The _hakmem build must not be running glibc's malloc. */
	if (_i % 2 == 0)
		ck_assert_msg(!strstr(o.out, "malloc_lib=libc.so"),
			      "%s_hakmem runs glibc's malloc:\n%s", c->name,
			      o.out);
}
END_TEST

START_TEST(test_corrupt_block_detected)
{
	const struct bench_case *c = &cases[_i / 2];
	const char *variant = variants[_i % 2];
	static struct outcome o;

	run_case(c, variant, true, &o);
	ck_assert_msg(o.status == 1,
		      "%s_%s with BENCH_CORRUPT=1 exited %d:\n%s", c->name,
		      variant, o.status, o.out);
	ck_assert_msg(strstr(o.out, "corruption"),
		      "%s_%s: no corruption message:\n%s", c->name, variant,
		      o.out);
	ck_assert_msg(!strstr(o.out, "RESULT"), "%s_%s reported a result:\n%s",
		      c->name, variant, o.out);
}
END_TEST

/* bench_large keeps the bytes live in all threads within LIVE; reports the peak. */
START_TEST(test_large_live_bound_holds)
{
	static const struct bench_case c = {
		"bench_large", { "2", "400", "8", "4m", "1", "64k", "2m" }
	};
	static struct outcome o;
	unsigned long kb = 0;
	const char *at;

	run_case(&c, variants[_i], false, &o);
	ck_assert_msg(o.status == 0, "bench_large_%s exited %d:\n%s", variants[_i],
		      o.status, o.out);
	at = strstr(o.out, "peak_live_kb=");
	ck_assert_msg(at && sscanf(at, "peak_live_kb=%lu", &kb) == 1,
		      "bench_large_%s: no peak_live_kb:\n%s", variants[_i], o.out);
	/* 16 slots of up to 2 MiB: a refused malloc found more than 2 MiB live */
	ck_assert_msg(kb > 2048 && kb <= 4096,
		      "bench_large_%s: peak live %lu kB, bound 4096", variants[_i], kb);
}
END_TEST

/* Duration mode runs SECS of wall time, not much more, and counts ops. */
START_TEST(test_duration_is_honoured)
{
	static const struct bench_case c = {
		"bench_sweep", { "2", "0.3", "1", "16", "1k" }
	};
	static struct outcome o;
	unsigned long long ops = 0;
	double secs = 0;
	const char *at;

	run_case(&c, variants[_i], false, &o);
	ck_assert_msg(o.status == 0, "bench_sweep_%s exited %d:\n%s",
		      variants[_i], o.status, o.out);
	at = strstr(o.out, "ops=");
	ck_assert_msg(at && sscanf(at, "ops=%llu secs=%lf", &ops, &secs) == 2,
		      "bench_sweep_%s: no ops/secs:\n%s", variants[_i], o.out);
	/* the upper bound leaves room for a loaded machine's scheduling */
	ck_assert_msg(secs >= 0.3 && secs < 1.3,
		      "bench_sweep_%s ran %.3f s for SECS 0.3", variants[_i], secs);
	ck_assert_msg(ops > 0 && ops % 128 == 0,
		      "bench_sweep_%s: %llu ops", variants[_i], ops);
}
END_TEST

/* bench_mleak really leaks, and says how much. */
START_TEST(test_mleak_reports_leak)
{
	static const struct bench_case c = {
		"bench_mleak", { "2", "0.05", "1", "16", "1k", "10" }
	};
	static struct outcome o;
	unsigned long kb = 0;
	const char *at;

	run_case(&c, variants[_i], false, &o);
	ck_assert_msg(o.status == 0, "bench_mleak_%s exited %d:\n%s",
		      variants[_i], o.status, o.out);
	at = strstr(o.out, "leaked_kb=");
	ck_assert_msg(at && sscanf(at, "leaked_kb=%lu", &kb) == 1 && kb > 0,
		      "bench_mleak_%s: no leak reported:\n%s", variants[_i],
		      o.out);
}
END_TEST

/*
 * bench_phases: the samples (time_ms,phase,rss_bytes,live_bytes) in time
 * and phase order, then a PHASE line after each free phase and idle, whose
 * ratio is its RSS over its live bytes; a free phase keeps about 10 %.
 */
static const char *const phases[] = {
	"small_build", "small_free", "mid_build", "mid_free", "large_build",
	"large_free", "idle",
};

static int phase_index(const char *name)
{
	for (int i = 0; i < (int)(sizeof(phases) / sizeof(phases[0])); i++)
		if (!strcmp(name, phases[i]))
			return i;
	return -1;
}

/* Parse the sample lines at *@at, advance past them; the count. */
static unsigned check_samples(const char **at, const char *variant)
{
	unsigned long long rss, live;
	unsigned ms, last_ms = 0, n = 0;
	int last_phase = 0, len;
	char name[32];

	while (sscanf(*at, "%u,%31[a-z_],%llu,%llu\n%n", &ms, name, &rss,
		      &live, &len) == 4) {
		int p = phase_index(name);

		ck_assert_msg(p >= last_phase && ms >= last_ms && rss > 0 &&
			      live <= (9ull << 20),
			      "bench_phases_%s: bad sample %.60s", variant, *at);
		last_phase = p;
		last_ms = ms;
		*at += len;
		n++;
	}
	return n;
}

START_TEST(test_phases_output)
{
	static const struct bench_case c = {
		"bench_phases", { "1m", "7", "0.05", "0.05" }
	};
	static const char *const reported[] = {
		"small_free", "mid_free", "large_free", "idle",
	};
	static struct outcome o;
	unsigned long long rss, live;
	const char *at;
	double ratio, after;
	char name[32];
	int len;

	run_case(&c, variants[_i], false, &o);
	ck_assert_msg(o.status == 0, "bench_phases_%s exited %d:\n%s",
		      variants[_i], o.status, o.out);
	at = strstr(o.out, "time_ms,phase,rss_bytes,live_bytes\n");
	ck_assert_msg(at == o.out, "bench_phases_%s: no header first:\n%s",
		      variants[_i], o.out);
	at += strlen("time_ms,phase,rss_bytes,live_bytes\n");
	/* 6 holds of 50 ms and idle: 35 samples at 10 ms, fewer if loaded */
	ck_assert_msg(check_samples(&at, variants[_i]) >= 10,
		      "bench_phases_%s: too few samples:\n%s", variants[_i],
		      o.out);
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(sscanf(at, "PHASE name=%31s after_secs=%lf "
				     "rss_bytes=%llu live_bytes=%llu "
				     "rss_per_live=%lf\n%n", name, &after, &rss,
				     &live, &ratio, &len) == 5 &&
			      !strcmp(name, reported[i]) && live > 0 &&
			      fabs(ratio - (double)rss / live) < 0.001,
			      "bench_phases_%s: bad PHASE line %d:\n%s",
			      variants[_i], i, at);
		/* 1 MiB of 16 B-1 KiB blocks, every tenth batch kept */
		if (i == 0)
			ck_assert_msg(live > 50000 && live < 200000,
				      "bench_phases_%s: %llu bytes survive "
				      "small_free", variants[_i], live);
		at += len;
	}
	ck_assert_msg(!strncmp(at, "RESULT name=bench_phases", 24),
		      "bench_phases_%s: no RESULT after the PHASE lines:\n%s",
		      variants[_i], at);
}
END_TEST

/* TIERS "mid": the mid pair alone, so its PHASE line and idle's only. */
START_TEST(test_phases_one_tier)
{
	static const struct bench_case c = {
		"bench_phases", { "1m", "7", "0.05", "0.05", "-", "mid" }
	};
	static struct outcome o;
	const char *at;

	run_case(&c, variants[_i], false, &o);
	ck_assert_msg(o.status == 0, "bench_phases_%s exited %d:\n%s",
		      variants[_i], o.status, o.out);
	ck_assert_msg(!strstr(o.out, ",small_build,") && !strstr(o.out, ",large_build,"),
		      "bench_phases_%s: a sample of a tier not asked for:\n%s",
		      variants[_i], o.out);
	at = strstr(o.out, "PHASE name=");
	ck_assert_msg(at && !strncmp(at, "PHASE name=mid_free ", 20),
		      "bench_phases_%s: first PHASE line is not mid_free:\n%s",
		      variants[_i], o.out);
	at = strstr(at + 1, "PHASE name=");
	ck_assert_msg(at && !strncmp(at, "PHASE name=idle ", 16) &&
		      !strstr(at + 1, "PHASE name="),
		      "bench_phases_%s: not mid_free then idle alone:\n%s",
		      variants[_i], o.out);
}
END_TEST

/* Bad arguments: exit 2 with a message. */
static const struct bench_case bad_args[] = {
	{ "bench_sweep", { "2", "0.05", "1", "16" } },		/* MIN alone */
	{ "bench_sweep", { "2", "0", "1" } },			/* no time */
	{ "bench_sweep", { "2", "1s", "1" } },
	{ "bench_sweep", { "0", "0.05", "1" } },		/* no thread */
	{ "bench_xmalloc", { "1", "0.05", "1" } },		/* no consumer */
	{ "bench_mstress", { "2", "0.05", "1", "8", "9" } },	/* too many */
	{ "bench_batch", { "2", "0.05", "1", "16", "256", "2" } },	/* PASS 0 or 1 */
	{ "bench_churn", { "2", "0.05", "1", "16" } },		/* MIN alone */
	{ "bench_phases", { "1m" } },				/* no SEED */
	{ "bench_phases", { "1m", "1", "0.01" } },		/* HOLD alone */
	{ "bench_phases", { "1m", "1", "-1", "0" } },
	{ "bench_phases", { "64k", "1" } },			/* too small */
	{ "bench_phases", { "1m", "1", "0", "0", "-", "tiny" } },
	{ "bench_phases", { "1m", "1", "0", "0", "-", "mid,mid" } },
	{ "bench_phases", { "1m", "1", "0", "0", "-", "" } },
};

START_TEST(test_bad_args_rejected)
{
	static struct outcome o;
	const struct bench_case *c = &bad_args[_i];

	run_case(c, "hakmem", false, &o);
	ck_assert_msg(o.status == 2 && strstr(o.out, c->name) &&
		      !strstr(o.out, "RESULT"),
		      "%s %s %s %s: exit %d:\n%s", c->name, c->args[0],
		      c->args[1], c->args[2], o.status, o.out);
}
END_TEST

/*
 * tools/bench/allocators.sh's with_alloc runs hakmem with the learner on
 * (the default) and hakmem_nolearn with HAKMEM_LEARN=0, both preloading
 * libhakmem.so: the learner's start-up line says which.
 */
static const char *const learner_state[][2] = {
	{ "hakmem", "on" },
	{ "hakmem_nolearn", "off" },
};

START_TEST(test_launcher_env)
{
	const char *alloc = learner_state[_i][0], *want = learner_state[_i][1];
	static struct outcome o;
	char path[512], state[8] = "";
	char *argv[] = {
		"/bin/bash", "-c",
		". tools/bench/allocators.sh && "
		"with_alloc \"$0\" HAKMEM_VERBOSE=1 \"$1\" 20000 64 1",
		(char *)alloc, path, NULL
	};
	const char *at;
	int layer;

	bench_path(path, sizeof(path), "bench_random_mixed", "system");
	unsetenv("HAKMEM_LEARN");	/* the table's setting, not the caller's */
	run_argv(argv, false, &o);
	ck_assert_msg(o.status == 0 && strstr(o.out, "malloc_lib=libhakmem.so"),
		      "%s: exit %d:\n%s", alloc, o.status, o.out);
	at = strstr(o.out, "hakmem: box learner");
	ck_assert_msg(at && sscanf(at, "hakmem: box learner layer %d %7s",
				   &layer, state) == 2 && !strcmp(state, want),
		      "%s: the learner is not %s:\n%s", alloc, want, o.out);
}
END_TEST

static Suite *bench_suite(void)
{
	Suite *s = suite_create("bench");
	TCase *tc = tcase_create("pattern");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_normal_run_passes, 0, 2 * NCASES);
	tcase_add_loop_test(tc, test_corrupt_block_detected, 0, 2 * NCASES);
	tcase_add_loop_test(tc, test_large_live_bound_holds, 0, 2);
	tcase_add_loop_test(tc, test_duration_is_honoured, 0, 2);
	tcase_add_loop_test(tc, test_mleak_reports_leak, 0, 2);
	tcase_add_loop_test(tc, test_phases_output, 0, 2);
	tcase_add_loop_test(tc, test_phases_one_tier, 0, 2);
	tcase_add_loop_test(tc, test_bad_args_rejected, 0,
			    (int)(sizeof(bad_args) / sizeof(bad_args[0])));
	tcase_add_loop_test(tc, test_launcher_env, 0,
			    (int)(sizeof(learner_state) / sizeof(learner_state[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bench_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
