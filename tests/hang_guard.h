/*
 * hang_guard.h - the hang detector of every test that forks (unit and
 * integration tests alike; it needs only libc, and gdb at run time).
 *
 *	struct hang_guard g = hang_guard_start(20);
 *	... fork, threads, waitpid ...
 *	hang_guard_stop(&g);
 *
 * hang_guard_start() forks a watchdog. If hang_guard_stop() has not been
 * called within @seconds, the watchdog prints the backtrace of every thread
 * of the calling process and of all its descendants (gdb -p PID -batch -ex
 * "thread apply all bt"), then kills them all with SIGKILL: the test fails
 * (Check: "Received signal 9") with the backtraces on stderr instead of
 * hanging. Start the guard before the test starts threads: the watchdog is
 * a fork child and should be forked from a single-threaded process.
 */
#ifndef HANG_GUARD_H
#define HANG_GUARD_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct hang_guard {
	pid_t watchdog;
	int fd;		/* write end: one byte means "finished" */
};

/* Parent of process @pid from /proc/PID/stat, or -1. */
static inline pid_t hang_ppid(pid_t pid)
{
	char path[64], buf[512], *rp;
	ssize_t n;
	int fd, ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	rp = strrchr(buf, ')');	/* the command name may hold anything */
	if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* @root and its descendants into @out (at most @max); returns how many. */
static inline int hang_tree(pid_t root, pid_t *out, int max)
{
	int n = 1, grew = 1;

	out[0] = root;
	while (grew && n < max) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		grew = 0;
		while (d && (e = readdir(d)) && n < max) {
			pid_t pid = (pid_t)atoi(e->d_name), pp;
			int known = 0;

			if (pid <= 0 || pid == getpid())	/* not the watchdog */
				continue;
			for (int i = 0; i < n; i++)
				known |= out[i] == pid;
			pp = known ? -1 : hang_ppid(pid);
			for (int i = 0; i < n && pp > 0; i++)
				if (out[i] == pp) {
					out[n++] = pid;
					grew = 1;
					break;
				}
		}
		if (d)
			closedir(d);
	}
	return n;
}

/* Every thread's backtrace of process @pid, on stderr. */
static inline void hang_backtrace(pid_t pid)
{
	char arg[32];
	pid_t gdb;

	snprintf(arg, sizeof(arg), "%d", (int)pid);
	fprintf(stderr, "hang_guard: backtraces of process %d:\n", (int)pid);
	fflush(stderr);
	gdb = fork();
	if (gdb == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("gdb", "gdb", "-nx", "-batch", "-iex", "set debuginfod enabled off",
		       "-p", arg, "-ex", "thread apply all bt", (char *)NULL);
		fprintf(stderr, "hang_guard: cannot run gdb\n");
		_exit(127);
	}
	if (gdb > 0)
		waitpid(gdb, NULL, 0);
}

static inline void hang_watch(pid_t target, int fd, unsigned seconds)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	pid_t tree[64];
	int n;

	for (unsigned s = 0; s < seconds; s++)
		if (poll(&pfd, 1, 1000) != 0 || getppid() != target)
			_exit(0);	/* finished, or the test is gone */
	n = hang_tree(target, tree, 64);
	fprintf(stderr, "hang_guard: process %d still running after %u s: a hang\n",
		(int)target, seconds);
	for (int i = 0; i < n; i++)
		hang_backtrace(tree[i]);
	for (int i = n; i-- > 0;)
		kill(tree[i], SIGKILL);
	_exit(1);
}

/* Watch this process (and what it forks) for @seconds. */
static inline struct hang_guard hang_guard_start(unsigned seconds)
{
	struct hang_guard g = { -1, -1 };
	pid_t self = getpid();
	int p[2];

	if (pipe(p))
		return g;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL);
	g.watchdog = fork();
	if (g.watchdog == 0) {
		close(p[1]);
		hang_watch(self, p[0], seconds);
	}
	close(p[0]);
	g.fd = p[1];
	/* Yama: let the watchdog's gdb attach to its parent */
	prctl(PR_SET_PTRACER, (unsigned long)g.watchdog, 0, 0, 0);
	return g;
}

static inline void hang_guard_stop(struct hang_guard *g)
{
	if (g->fd < 0)
		return;
	(void)!write(g->fd, "", 1);
	close(g->fd);
	if (g->watchdog > 0)
		waitpid(g->watchdog, NULL, 0);
	g->fd = -1;
}

#endif /* HANG_GUARD_H */
