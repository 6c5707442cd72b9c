/*
 * pressure_internal.h - the learner's view of the memory limits the process
 * runs under (boxes/learner only, and its unit tests).
 *
 * hak_pressure_init() runs once, at the learner's init: it finds the
 * process's cgroup v2 directory (the "0::<path>" line of
 * <proc>/self/cgroup, under <cgroup_mount>) and remembers the explicit
 * target. hak_pressure_read() runs on the learner's slow tick (about once a
 * second, with no lock held): it reads the files anew each time (open, read,
 * close: a program may close or reuse any descriptor), never allocates and
 * never fails: a file that is missing or does not parse counts as "no limit".
 */
#ifndef HAK_PRESSURE_INTERNAL_H
#define HAK_PRESSURE_INTERNAL_H

#include <stdint.h>

#define HAK_PRESSURE_PATH_MAX	512

/**
 * struct hak_pressure_src - where to read, found once
 * @proc:       the proc mount ("/proc"; tests point it at a directory)
 * @cgroup_dir: the process's cgroup v2 directory, "" when there is none
 * @target:     HAKMEM_RSS_TARGET_MB in bytes, 0 for none
 */
struct hak_pressure_src {
	char proc[HAK_PRESSURE_PATH_MAX];
	char cgroup_dir[HAK_PRESSURE_PATH_MAX];
	uint64_t target;
};

/**
 * struct hak_pressure - one reading; every byte count 0 when unknown
 * @limit:     the lower of the cgroup's memory.high and memory.max ("max"
 *             is none), or @target when its ratio is the larger
 * @usage:     what @limit is held against: the cgroup's memory.current for
 *             a cgroup limit, the process's resident set for @target (the
 *             larger ratio wins when both apply)
 * @as_limit:  the RLIMIT_AS soft limit, 0 when unlimited
 * @as_used:   the process's address space (<proc>/self/statm's size)
 * @psi_some:  memory.pressure's "some avg10" in hundredths of a percent
 *             (10.25 -> 1025), 0 when the file is missing
 * @permille:  how near the process is to a limit: the highest of
 *             usage / limit and as_used / as_limit, in thousandths (may
 *             exceed 1000), 0 when there is no limit
 */
struct hak_pressure {
	uint64_t limit, usage, as_limit, as_used;
	uint32_t psi_some;
	uint32_t permille;
};

void hak_pressure_init(struct hak_pressure_src *src, const char *proc,
		       const char *cgroup_mount, uint64_t target);
void hak_pressure_read(const struct hak_pressure_src *src, struct hak_pressure *p);

#endif /* HAK_PRESSURE_INTERNAL_H */
