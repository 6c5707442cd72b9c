/*
 * options.c - HAKMEM_* environment variables, read once from the one table
 * in hak_options.h. Runs inside the first malloc: getenv and strtol only,
 * warnings through hak_report (no allocation).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../base/hak_base.h"
#include "frontend_internal.h"

struct option_desc {
	enum hak_option_id id;
	const char *name;
	long def, min, max;
	const char *keywords;
	const char *help;
};

static const struct option_desc table[] = {
#define X(id, def, min, max, kw, help) \
	{ HAK_OPT_##id, "HAKMEM_" #id, def, min, max, kw, help },
	HAK_OPTIONS(X)
#undef X
};

BUILD_BUG_ON(sizeof(table) / sizeof(table[0]) != HAK_OPT_COUNT);

/* Index of @s in "a|b|c", or -1. */
static long keyword_index(const char *kw, const char *s)
{
	size_t n = strlen(s);

	for (long i = 0; kw && *kw; i++) {
		const char *end = strchr(kw, '|');
		size_t len = end ? (size_t)(end - kw) : strlen(kw);

		if (len == n && strncmp(kw, s, n) == 0)
			return i;
		kw = end ? end + 1 : kw + len;
	}
	return -1;
}

static bool is_path(const struct option_desc *d)
{
	return d->keywords && strcmp(d->keywords, HAK_OPT_PATH) == 0;
}

static long parse_one(const struct option_desc *d, const char *s)
{
	long v = keyword_index(d->keywords, s);
	char *end;

	if (is_path(d))
		return 1;
	if (v >= 0)
		return v;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < d->min || v > d->max) {
		hak_report("%s=%s is not valid (%s%s%ld..%ld); using %ld", d->name, s,
			   d->keywords ? d->keywords : "", d->keywords ? " or " : "",
			   d->min, d->max, d->def);
		return d->def;
	}
	return v;
}

void hak_options_parse(struct hak_options *opt)
{
	for (size_t i = 0; i < HAK_OPT_COUNT; i++) {
		const struct option_desc *d = &table[i];
		const char *s = getenv(d->name);

		hak_assert(d->id == (enum hak_option_id)i);
		opt->v[i] = s && *s ? parse_one(d, s) : d->def;
	}
}

const char *hak_option_path(enum hak_option_id id)
{
	const char *s = getenv(table[id].name);

	hak_assert(is_path(&table[id]));
	return s && *s ? s : NULL;
}

/* One option per entry: the lines tools/check_docs.sh compares with the docs. */
void hak_options_print(FILE *out, const struct hak_options *opt)
{
	fprintf(out, "hakmem: run-time options (environment):\n");
	for (size_t i = 0; i < HAK_OPT_COUNT; i++) {
		const struct option_desc *d = &table[i];

		if (is_path(d)) {
			fprintf(out, "  %-36s default unset  range %s  now %s\n      %s\n", d->name,
				d->keywords, opt->v[i] ? getenv(d->name) : "unset", d->help);
			continue;
		}
		fprintf(out, "  %-36s default %-6ld range %ld..%ld%s%s  now %ld\n      %s\n",
			d->name, d->def, d->min, d->max, d->keywords ? " = " : "",
			d->keywords ? d->keywords : "", opt->v[i], d->help);
	}
}
