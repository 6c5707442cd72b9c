/*
 * stats.c - every box's counters as text, JSON or malloc_info's XML.
 *
 * The registry walks the boxes; each box's stats op reports its counters to
 * a struct hak_stats_sink, and the writers below turn those calls into one
 * format each: one source of counters, every format. The writers format on
 * the stack and never allocate (hak_stats_json() writes into the caller's
 * buffer); only the FILE ones depend on stdio. Schema: docs/STATS.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../base/hak_sizeclass.h"
#include "../sysmem/sysmem.h"
#include "frontend_internal.h"
#include "hakmem.h"

/* Output to a FILE, or to a buffer with snprintf's contract. */
struct out {
	FILE *f;
	char *buf;
	size_t len, pos;	/* @pos counts every byte, also those past @len */
};

static void out_write(struct out *o, const char *s, size_t n)
{
	if (o->f)
		fwrite(s, 1, n, o->f);
	else if (o->pos + 1 < o->len)	/* keep a byte for the final NUL */
		memcpy(o->buf + o->pos, s, HAK_MIN(n, o->len - 1 - o->pos));
	o->pos += n;
}

static __attribute__((format(printf, 2, 3))) void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_write(o, tmp, HAK_MIN((size_t)n, sizeof(tmp) - 1));
}

/* A writer: the sink the boxes see, plus where and how deep it is. */
struct writer {
	struct hak_stats_sink sink;
	struct out *o;
	const char *box;
	unsigned depth, nboxes;
	bool first;		/* no member yet at this depth */
};

#define W(s) ((struct writer *)(s))

/* ------------------------------------------------------- text: "box.name v" */

static void text_box_begin(struct hak_stats_sink *s, const char *name)
{
	W(s)->box = name;
}

static void text_value(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	if (W(s)->depth)
		out_printf(W(s)->o, " %s %llu", name, (unsigned long long)v);
	else
		out_printf(W(s)->o, "%s.%s %llu\n", W(s)->box, name, (unsigned long long)v);
}

static void text_class_begin(struct hak_stats_sink *s, unsigned cls, unsigned bytes)
{
	out_printf(W(s)->o, "%s.class%u(%uB)", W(s)->box, cls, bytes);
	W(s)->depth = 1;
}

static void text_class_end(struct hak_stats_sink *s)
{
	out_write(W(s)->o, "\n", 1);
	W(s)->depth = 0;
}

static void nothing(struct hak_stats_sink *s)
{
	(void)s;
}

/* ------------------------------------------- JSON: one member per line */

static void json_string(struct out *o, const char *str)
{
	out_write(o, "\"", 1);
	for (; *str; str++) {
		if (*str == '"' || *str == '\\')
			out_printf(o, "\\%c", *str);
		else if ((unsigned char)*str < 0x20)
			out_printf(o, "\\u%04x", (unsigned char)*str);
		else
			out_write(o, str, 1);
	}
	out_write(o, "\"", 1);
}

/* Start a member: the comma after the previous one, a new line, indentation. */
static void json_key(struct writer *w, const char *key)
{
	out_write(w->o, w->first ? "\n" : ",\n", w->first ? 1 : 2);
	for (unsigned i = 0; i <= w->depth; i++)
		out_write(w->o, "  ", 2);
	json_string(w->o, key);
	out_write(w->o, ": ", 2);
	w->first = false;
}

static void json_open(struct writer *w, const char *key)
{
	json_key(w, key);
	out_write(w->o, "{", 1);
	w->depth++;
	w->first = true;
}

static void json_close(struct writer *w)
{
	w->depth--;
	out_write(w->o, "\n", 1);
	for (unsigned i = 0; i <= w->depth; i++)
		out_write(w->o, "  ", 2);
	out_write(w->o, "}", 1);
	w->first = false;
}

static void json_box_begin(struct hak_stats_sink *s, const char *name)
{
	json_open(W(s), name);
}

static void json_box_end(struct hak_stats_sink *s)
{
	json_close(W(s));
}

static void json_value(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	json_key(W(s), name);
	out_printf(W(s)->o, "%llu", (unsigned long long)v);
}

static void json_class_begin(struct hak_stats_sink *s, unsigned cls, unsigned bytes)
{
	char key[32];

	snprintf(key, sizeof(key), "class%u", cls);
	json_open(W(s), key);
	json_value(s, "bytes", bytes);
}

/* -------------------------------------- XML: glibc's malloc_info() layout */

static void xml_box_begin(struct hak_stats_sink *s, const char *name)
{
	out_printf(W(s)->o, "<heap nr=\"%u\" name=\"%s\">\n", W(s)->nboxes++, name);
}

static void xml_box_end(struct hak_stats_sink *s)
{
	out_printf(W(s)->o, "</heap>\n");
}

static void xml_value(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	if (W(s)->depth)
		out_printf(W(s)->o, " %s=\"%llu\"", name, (unsigned long long)v);
	else
		out_printf(W(s)->o, "<total type=\"%s\" size=\"%llu\"/>\n", name,
			   (unsigned long long)v);
}

/* A class holds the sizes above the previous class's, reported or not, in this box or another. */
static void xml_class_begin(struct hak_stats_sink *s, unsigned cls, unsigned bytes)
{
	hak_assert(cls < HAK_NCLASSES);
	out_printf(W(s)->o, "<size class=\"%u\" from=\"%u\" to=\"%u\"", cls,
		   cls ? hak_class_bytes[cls - 1] + 1 : 1, bytes);
	W(s)->depth = 1;
}

static void xml_class_end(struct hak_stats_sink *s)
{
	out_printf(W(s)->o, "/>\n");
	W(s)->depth = 0;
}

static const struct hak_stats_sink text_sink = {
	text_box_begin, nothing, text_value, text_class_begin, text_class_end,
};
static const struct hak_stats_sink json_sink = {
	json_box_begin, json_box_end, json_value, json_class_begin, json_box_end,
};
static const struct hak_stats_sink xml_sink = {
	xml_box_begin, xml_box_end, xml_value, xml_class_begin, xml_class_end,
};

/* ------------------------------------------------------------ documents */

/* Bytes of physical memory the process uses now (/proc/self/statm), or 0. */
static uint64_t rss_now(void)
{
	char buf[128], *rss;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	rss = strchr(buf, ' ');	/* "size resident shared ..." in pages */
	return rss ? strtoull(rss, NULL, 10) * hak_sys_page_size() : 0;
}

/*
 * The process as a pseudo-box, first in every document. @at_exit adds the
 * self-check's error count when HAKMEM_CHECK=full (it walks every block).
 */
static void process_stats(struct hak_stats_sink *s, bool at_exit)
{
	struct rusage ru;

	s->box_begin(s, "process");
	hak_stat(s, "pid", (uint64_t)getpid());
	hak_stat(s, "ppid", (uint64_t)getppid());
	hak_stat(s, "rss_bytes", rss_now());
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		hak_stat(s, "peak_rss_bytes", (uint64_t)ru.ru_maxrss << 10);
	hak_stat(s, "mapped_bytes", hak_sys_bytes_mapped());
	if (at_exit && hak_opt.v[HAK_OPT_CHECK] == HAK_CHECK_FULL)
		hak_stat(s, "self_check_errors", (uint64_t)hak_self_check());
	s->box_end(s);
}

static void text_doc(struct out *o, bool at_exit)
{
	struct writer w = { .sink = text_sink, .o = o };

	out_printf(o, "hakmem: stats (%s)\n", hak_config_string());
	process_stats(&w.sink, at_exit);
	hak_registry_stats(&w.sink);
}

static void json_doc(struct out *o, bool at_exit)
{
	struct writer w = { .sink = json_sink, .o = o, .first = true };

	out_write(o, "{", 1);
	json_key(&w, "version");
	json_string(o, HAKMEM_VERSION_STRING);
	json_key(&w, "config");
	json_string(o, hak_config_string());
	process_stats(&w.sink, at_exit);
	hak_registry_stats(&w.sink);
	out_write(o, "\n}\n", 3);
}

HAK_EXPORT void hak_stats_print(FILE *out)
{
	struct out o = { .f = out };

	text_doc(&o, false);
	fflush(out);
}

HAK_EXPORT size_t hak_stats_json(char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };

	json_doc(&o, false);
	if (len)
		buf[HAK_MIN(o.pos, len - 1)] = 0;
	return o.pos;
}

/* The boxes are glibc's heaps, their plain counters <total>s, their classes <size>s. */
HAK_EXPORT int hak_malloc_info(int options, FILE *out)
{
	struct writer w = { .sink = xml_sink };
	struct out o = { .f = out };
	size_t mapped = hak_sys_bytes_mapped();

	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	w.o = &o;
	out_printf(&o, "<malloc version=\"hakmem-%s\">\n", HAKMEM_VERSION_STRING);
	hak_registry_stats(&w.sink);
	out_printf(&o, "<system type=\"current\" size=\"%zu\"/>\n", mapped);
	out_printf(&o, "<aspace type=\"total\" size=\"%zu\"/>\n</malloc>\n", mapped);
	fflush(out);
	return 0;
}

/* ----------------------------------------------------- HAKMEM_STATS at exit */

/*
 * Programs often close stderr before exit (coreutils' close_stdout), so the
 * report goes to a copy of fd 2 taken at start-up, or to HAKMEM_STATS_FILE
 * as it was at start-up (a program may unsetenv or clearenv before exit).
 */
static int stderr_copy = -1;
static char stats_file[4096];

void hak_stats_at_exit_prepare(void)
{
	const char *path = hak_option_path(HAK_OPT_STATS_FILE);

	if (path && strlen(path) < sizeof(stats_file)) {
		strcpy(stats_file, path);
		return;
	}
	if (path)
		hak_report("HAKMEM_STATS_FILE is longer than %zu bytes: the report goes to stderr",
			   sizeof(stats_file) - 1);
	stderr_copy = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
}

/*
 * HAKMEM_STATS_FILE with each %p replaced by the pid, opened now: a forked
 * child writes its own. A symbolic link is not followed (O_NOFOLLOW): the
 * report never truncates the file a link in a shared directory points to.
 */
static int open_stats_file(const char *pattern)
{
	char path[4096];
	size_t n = 0;
	int fd;

	for (const char *c = pattern; *c && n + 24 < sizeof(path); c++) {
		if (c[0] == '%' && c[1] == 'p') {
			n += (size_t)snprintf(path + n, sizeof(path) - n, "%d", (int)getpid());
			c++;
		} else {
			path[n++] = *c;
		}
	}
	path[n] = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		hak_report("HAKMEM_STATS_FILE: cannot open %s: %s", path, strerror(errno));
	return fd;
}

__attribute__((destructor)) static void stats_at_exit(void)
{
	struct out o = { 0 };
	const char *path;
	int fd;

	if (hak_atomic_load_acquire(&hak_state) != HAK_UP || !hak_opt.v[HAK_OPT_STATS])
		return;
	path = stats_file[0] ? stats_file : NULL;
	fd = path ? open_stats_file(path) : stderr_copy;
	if (fd < 0 || !(o.f = fdopen(fd, "w")))
		return;
	if (hak_opt.v[HAK_OPT_STATS] == HAK_STATS_JSON)
		json_doc(&o, true);
	else
		text_doc(&o, true);
	fclose(o.f);
	if (!path)
		stderr_copy = -1;
}
