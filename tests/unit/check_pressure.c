/*
 * check_pressure.c - the learner's memory-pressure reader on a fake proc and
 * cgroup tree in a temporary directory: which cgroup it finds, the limits it
 * reads, and how anything that does not parse counts as no limit.
 */
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../../boxes/learner/pressure_internal.h"
#include "unit.h"

static char root[64];	/* the fake tree: root/proc/self/..., root/cg/... */
static struct hak_pressure_src src;
static struct hak_pressure p;

/* @rel (under root) made to hold @text, with its directories; NULL @text removes it. */
static void put(const char *rel, const char *text)
{
	char path[2048];
	FILE *f;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", root, rel), (int)sizeof(path));
	if (!text) {
		unlink(path);
		return;
	}
	for (char *sl = strchr(path + strlen(root) + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		mkdir(path, 0700);
		*sl = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* "root/@rel" in a static buffer. */
static const char *at(const char *rel)
{
	static char path[2048];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return path;
}

/* hak_pressure_init() on the fake tree with @target, then one reading into p. */
static void read_fake(uint64_t target)
{
	char proc[128];

	snprintf(proc, sizeof(proc), "%s/proc", root);
	hak_pressure_init(&src, proc, at("cg"), target);
	hak_pressure_read(&src, &p);
}

static uint64_t page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static int remove_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	return ftw->level ? remove(path) : 0;
}

/* Once per run, in the Check parent: a failed test exits before any teardown of its own. */
static void make_root(void)
{
	strcpy(root, "/tmp/hak_pressure.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void remove_root(void)
{
	nftw(root, remove_below, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(root);
}

/* Every test starts from an empty tree with a small statm and an empty cgroup mount. */
static void setup(void)
{
	nftw(root, remove_below, 16, FTW_DEPTH | FTW_PHYS);
	put("proc/self/statm", "10 5 1 1 0 2 0\n");	/* 10 pages mapped, 5 resident */
	put("cg/.keep", "");
}

START_TEST(no_cgroup_v2_line)
{
	read_fake(0);	/* no <proc>/self/cgroup at all */
	ck_assert_str_eq(src.cgroup_dir, "");
	put("proc/self/cgroup", "");
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, "");
	put("proc/self/cgroup", "0::/a");	/* cut off: no newline */
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, "");
	put("proc/self/cgroup", "0::/a\n");
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, at("cg/a"));
	ck_assert_uint_eq(p.limit, 0);
	ck_assert_uint_eq(p.permille, 0);
}
END_TEST

/* cgroup v1 lines are not the v2 directory; on a hybrid host the "0::" line comes last. */
START_TEST(cgroup_v1_lines)
{
	put("proc/self/cgroup", "4:memory:/a\n1:name=systemd:/b\n");
	put("cg/a/memory.max", "1000\n");
	put("cg/a/memory.current", "500\n");
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, "");
	ck_assert_uint_eq(p.limit, 0);
	put("proc/self/cgroup", "4:memory:/b\n10::/b\n0::/a\n");
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, at("cg/a"));
	ck_assert_uint_eq(p.limit, 1000);
	ck_assert_uint_eq(p.usage, 500);
	ck_assert_uint_eq(p.permille, 500);
}
END_TEST

/* "0::/" is the mount itself, which has no memory.max: no limit. */
START_TEST(root_cgroup_is_the_mount)
{
	put("proc/self/cgroup", "0::/\n");
	put("cg/memory.current", "500\n");
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, at("cg"));
	ck_assert_uint_eq(p.limit, 0);
	ck_assert_uint_eq(p.usage, 0);
	ck_assert_uint_eq(p.permille, 0);
	put("cg/memory.max", "2000\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 2000);
	ck_assert_uint_eq(p.permille, 250);
}
END_TEST

START_TEST(memory_max_none_or_bytes)
{
	put("proc/self/cgroup", "0::/a/b\n");
	put("cg/a/b/memory.max", "max\n");
	put("cg/a/b/memory.current", "500\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 0);
	ck_assert_uint_eq(p.usage, 0);
	ck_assert_uint_eq(p.permille, 0);
	put("cg/a/b/memory.max", "1000\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 1000);
	ck_assert_uint_eq(p.usage, 500);
	ck_assert_uint_eq(p.permille, 500);
	put("cg/a/b/memory.current", "3000\n");	/* over it (memory.high allows that) */
	read_fake(0);
	ck_assert_uint_eq(p.permille, 3000);
}
END_TEST

START_TEST(memory_high_below_max_wins)
{
	put("proc/self/cgroup", "0::/a\n");
	put("cg/a/memory.high", "600\n");
	put("cg/a/memory.max", "1000\n");
	put("cg/a/memory.current", "450\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 600);
	ck_assert_uint_eq(p.permille, 750);
	put("cg/a/memory.high", "2000\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 1000);
	put("cg/a/memory.high", "max\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 1000);
	put("cg/a/memory.max", "max\n");
	put("cg/a/memory.high", "900\n");
	read_fake(0);
	ck_assert_uint_eq(p.limit, 900);
	ck_assert_uint_eq(p.permille, 500);
}
END_TEST

/* The target holds the resident set (5 pages); the larger of the two ratios wins. */
START_TEST(target_tighter_than_cgroup)
{
	uint64_t pg = page();

	read_fake(20 * pg);	/* target only */
	ck_assert_uint_eq(p.limit, 20 * pg);
	ck_assert_uint_eq(p.usage, 5 * pg);
	ck_assert_uint_eq(p.permille, 250);
	put("proc/self/cgroup", "0::/a\n");
	put("cg/a/memory.max", "1000000\n");
	put("cg/a/memory.current", "100000\n");
	read_fake(10 * pg);
	ck_assert_uint_eq(p.limit, 10 * pg);
	ck_assert_uint_eq(p.usage, 5 * pg);
	ck_assert_uint_eq(p.permille, 500);
	read_fake(1000 * pg);	/* 5 / 1000 pages: the cgroup's 100 / 1000 is tighter */
	ck_assert_uint_eq(p.limit, 1000000);
	ck_assert_uint_eq(p.usage, 100000);
	ck_assert_uint_eq(p.permille, 100);
}
END_TEST

START_TEST(psi_some_avg10)
{
	put("proc/self/cgroup", "0::/a\n");
	read_fake(0);	/* no memory.pressure */
	ck_assert_uint_eq(p.psi_some, 0);
	put("cg/a/memory.pressure", "some avg10=12.50 avg60=3.00 avg300=1.00 total=123456\n"
				    "full avg10=2.00 avg60=1.00 avg300=0.50 total=2345\n");
	read_fake(0);
	ck_assert_uint_eq(p.psi_some, 1250);
	ck_assert_uint_eq(p.limit, 0);	/* pressure is no limit */
	ck_assert_uint_eq(p.permille, 0);
	put("cg/a/memory.pressure", "some avg10=0.07 avg60=0.00 avg300=0.00 total=1\n");
	read_fake(0);
	ck_assert_uint_eq(p.psi_some, 7);
	put("cg/a/memory.pressure", "some avg10=100.00 avg60=0.00 avg300=0.00 total=1\n");
	read_fake(0);
	ck_assert_uint_eq(p.psi_some, 10000);
	put("cg/a/memory.pressure", "full avg10=12.50 avg60=0.00 avg300=0.00 total=1\n");
	read_fake(0);
	ck_assert_uint_eq(p.psi_some, 0);
}
END_TEST

/* Whatever does not parse is unknown: no limit, nothing used, no pressure. */
START_TEST(garbage_is_no_limit)
{
	static const char *const bad[] = {
		"", "\n", "abc\n", "12abc\n", "-5\n", " 5\n", "5", "0x10\n",
		"99999999999999999999999\n",
	};

	put("proc/self/cgroup", "0::/a\n");
	put("cg/a/memory.current", "500\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("cg/a/memory.max", bad[i]);
		put("cg/a/memory.high", bad[i]);
		read_fake(0);
		ck_assert_msg(p.limit == 0 && p.usage == 0 && p.permille == 0,
			      "memory.max \"%s\": limit %lu", bad[i], (unsigned long)p.limit);
	}
	put("cg/a/memory.pressure", "some avg10=x avg60=0.00\n");
	put("proc/self/statm", "x 5 1\n");
	read_fake(100 * page());
	ck_assert_uint_eq(p.psi_some, 0);
	ck_assert_uint_eq(p.as_used, 0);
	ck_assert_uint_eq(p.usage, 0);
	ck_assert_uint_eq(p.permille, 0);
	put("proc/self/statm", "10\n");
	read_fake(0);
	ck_assert_uint_eq(p.as_used, 0);
	put("proc/self/statm", "10 5 1 1 0 2 0\n");
	read_fake(0);
	ck_assert_uint_eq(p.as_used, 10 * page());
}
END_TEST

/* A cgroup directory that would not fit HAK_PRESSURE_PATH_MAX is none at all. */
START_TEST(overlong_path_is_no_cgroup)
{
	char line[2 * HAK_PRESSURE_PATH_MAX], *dir = line + 3;
	size_t fits = HAK_PRESSURE_PATH_MAX - 1 - strlen(at("cg"));

	strcpy(line, "0::/");
	memset(dir + 1, 'a', fits - 1);
	strcpy(dir + fits, "\n");
	put("proc/self/cgroup", line);
	read_fake(0);
	ck_assert_uint_eq(strlen(src.cgroup_dir), HAK_PRESSURE_PATH_MAX - 1);
	memset(dir + 1, 'a', fits);
	strcpy(dir + fits + 1, "\n");
	put("proc/self/cgroup", line);
	read_fake(0);
	ck_assert_str_eq(src.cgroup_dir, "");
	ck_assert_uint_eq(p.limit, 0);
}
END_TEST

/* RLIMIT_AS against statm's 10 pages, set in a child (the test process keeps its own). */
START_TEST(rlimit_as_in_child)
{
	struct hang_guard g = hang_guard_start(20);
	struct rlimit rl;
	int fds[2], status;
	pid_t pid;

	put("proc/self/cgroup", "0::/a\n");
	put("cg/a/memory.max", "1000\n");
	put("cg/a/memory.current", "100\n");
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (getrlimit(RLIMIT_AS, &rl))
			_exit(2);
		rl.rlim_cur = 40 * page();
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		read_fake(0);
		_exit(write(fds[1], &p, sizeof(p)) == sizeof(p) ? 0 : 3);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &p, sizeof(p)), sizeof(p));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	hang_guard_stop(&g);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(p.as_limit, 40 * page());
	ck_assert_uint_eq(p.as_used, 10 * page());
	ck_assert_uint_eq(p.limit, 1000);
	ck_assert_uint_eq(p.permille, 250);	/* 10 / 40 pages beats the cgroup's 100 / 1000 */
}
END_TEST

/* The real /proc and cgroup mount: whatever this machine has, a sane reading. */
START_TEST(real_system_is_sane)
{
	hak_pressure_init(&src, "/proc", "/sys/fs/cgroup", 0);
	hak_pressure_read(&src, &p);
	ck_assert_str_eq(src.proc, "/proc");
	ck_assert(!src.cgroup_dir[0] || !strncmp(src.cgroup_dir, "/sys/fs/cgroup", 14));
	ck_assert_uint_gt(p.as_used, 0);
	ck_assert_uint_eq(p.as_used % page(), 0);
	ck_assert_uint_le(p.psi_some, 10000);
	ck_assert(p.limit || !p.usage);
	hak_pressure_init(&src, "/proc", "/sys/fs/cgroup", 1);	/* a 1-byte target: far over it */
	hak_pressure_read(&src, &p);
	ck_assert_uint_eq(p.limit, 1);
	ck_assert_uint_gt(p.usage, 0);
	ck_assert_uint_gt(p.permille, 1000);
}
END_TEST

Suite *pressure_suite(void)
{
	Suite *s = suite_create("pressure");
	TCase *tc = tcase_create("read");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, no_cgroup_v2_line);
	tcase_add_test(tc, cgroup_v1_lines);
	tcase_add_test(tc, root_cgroup_is_the_mount);
	tcase_add_test(tc, memory_max_none_or_bytes);
	tcase_add_test(tc, memory_high_below_max_wins);
	tcase_add_test(tc, target_tighter_than_cgroup);
	tcase_add_test(tc, psi_some_avg10);
	tcase_add_test(tc, garbage_is_no_limit);
	tcase_add_test(tc, overlong_path_is_no_cgroup);
	tcase_add_test(tc, rlimit_as_in_child);
	tcase_add_test(tc, real_system_is_sane);
	suite_add_tcase(s, tc);
	return s;
}
