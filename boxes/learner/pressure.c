/*
 * pressure.c - the memory limits the process runs under, read from the
 * cgroup v2 files, <proc>/self/statm and RLIMIT_AS (pressure_internal.h).
 *
 * It runs inside malloc: no allocation (no stdio streams), no lock; files
 * are read with open/read/close into stack buffers. Whatever is missing,
 * too long or does not parse counts as unknown, which is "no limit".
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../sysmem/sysmem.h"
#include "pressure_internal.h"

/* @dir/@name into @out (HAK_PRESSURE_PATH_MAX + 32 bytes); false for "" or too long. */
static bool join(char *out, const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);

	if (!d || d + n + 1 > HAK_PRESSURE_PATH_MAX + 32)
		return false;
	memcpy(out, dir, d);
	memcpy(out + d, name, n + 1);
	return true;
}

/* Up to @len - 1 bytes of @dir/@name into @buf, NUL-terminated; "" when it cannot be read. */
static void read_text(const char *dir, const char *name, char *buf, size_t len)
{
	char path[HAK_PRESSURE_PATH_MAX + 32];
	size_t got = 0;
	ssize_t n = 1;
	int fd = -1;

	if (join(path, dir, name))
		do
			fd = open(path, O_RDONLY | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
	while (fd >= 0 && got < len - 1 && (n > 0 || (n < 0 && errno == EINTR))) {
		n = read(fd, buf + got, len - 1 - got);
		got += n > 0 ? (size_t)n : 0;
	}
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : got] = '\0';
}

/* The decimal number at *@s (moved past it), or 0 when there is none or it overflows. */
static uint64_t number(const char **s)
{
	uint64_t v = 0;
	const char *p = *s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	return v;
}

/* A cgroup file's byte count ("123456\n"); 0 for "max", missing or garbage. */
static uint64_t read_bytes(const char *dir, const char *name)
{
	char buf[64];
	const char *s = buf;
	uint64_t v;

	read_text(dir, name, buf, sizeof(buf));
	v = number(&s);
	return *s == '\n' && s > buf ? v : 0;
}

/* memory.pressure's "some avg10=12.50 ..." in hundredths of a percent (1250), or 0. */
static uint32_t read_psi(const char *dir)
{
	char buf[256];
	const char *s = buf + strlen("some avg10=");
	uint64_t whole, frac = 0;

	read_text(dir, "/memory.pressure", buf, sizeof(buf));
	if (strncmp(buf, "some avg10=", strlen("some avg10=")))
		return 0;
	whole = number(&s);
	if (*s == '.' && s[1] >= '0' && s[1] <= '9')
		frac = (uint64_t)(s[1] - '0') * 10 + (s[2] >= '0' && s[2] <= '9' ? s[2] - '0' : 0);
	return whole <= 100 ? (uint32_t)(whole * 100 + frac) : 0;
}

/* @used / @limit in thousandths, 0 without a limit. */
static uint32_t permille(uint64_t used, uint64_t limit)
{
	unsigned __int128 r = limit ? (unsigned __int128)used * 1000 / limit : 0;

	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

void hak_pressure_init(struct hak_pressure_src *src, const char *proc,
		       const char *cgroup_mount, uint64_t target)
{
	char buf[4096];
	const char *line, *end;
	size_t m = strlen(cgroup_mount), n;

	memset(src, 0, sizeof(*src));
	src->target = target;
	if (strlen(proc) < sizeof(src->proc))
		strcpy(src->proc, proc);
	read_text(src->proc, "/self/cgroup", buf, sizeof(buf));
	for (line = buf; strncmp(line, "0::", 3); line++)
		if (!(line = strchr(line, '\n')))
			return;	/* no cgroup v2 line */
	if (!(end = strchr(line, '\n')))
		return;	/* cut off */
	line += 3;
	n = (size_t)(end - line);
	if (n == 1 && *line == '/')	/* the root: the mount itself */
		n = 0;
	if (m + n >= sizeof(src->cgroup_dir))
		return;
	memcpy(src->cgroup_dir, cgroup_mount, m);
	memcpy(src->cgroup_dir + m, line, n);
}

void hak_pressure_read(const struct hak_pressure_src *src, struct hak_pressure *p)
{
	const char *dir = src->cgroup_dir, *s;
	uint64_t high = read_bytes(dir, "/memory.high"), max = read_bytes(dir, "/memory.max");
	uint64_t page = hak_sys_page_size(), rss = 0;
	struct rlimit rl;
	char buf[128];

	memset(p, 0, sizeof(*p));
	p->limit = high && (!max || high < max) ? high : max;
	p->usage = p->limit ? read_bytes(dir, "/memory.current") : 0;
	p->psi_some = read_psi(dir);

	read_text(src->proc, "/self/statm", buf, sizeof(buf));	/* "size resident ..." in pages */
	s = buf;
	p->as_used = number(&s) * page;
	if (*s == ' ') {
		s++;
		rss = number(&s) * page;
	}
	if (*s != ' ')	/* not a statm line */
		p->as_used = rss = 0;
	if (src->target && (!p->limit || permille(rss, src->target) > permille(p->usage, p->limit))) {
		p->limit = src->target;
		p->usage = rss;
	}
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		p->as_limit = rl.rlim_cur;
	p->permille = permille(p->usage, p->limit);
	if (permille(p->as_used, p->as_limit) > p->permille)
		p->permille = permille(p->as_used, p->as_limit);
}
