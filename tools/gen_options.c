/*
 * gen_options.c - the HAKMEM_* option docs, generated from the one table
 * (boxes/base/hak_options.h), so that HAKMEM_HELP=1, the README table and
 * hakmem(7) cannot disagree. Built and run by `make docs` (tools/gen_docs.sh);
 * tools/check_docs.sh compares the three.
 *
 *   gen_options md    the README's table
 *   gen_options man   the OPTIONS section of hakmem(7)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../boxes/base/hak_options.h"

struct opt {
	const char *name, *keywords, *help;
	long def, min, max;
};

static const struct opt table[] = {
#define X(id, def, min, max, kw, help) { "HAKMEM_" #id, kw, help, def, min, max },
	HAK_OPTIONS(X)
#undef X
};

static bool is_path(const struct opt *o)
{
	return o->keywords && strcmp(o->keywords, HAK_OPT_PATH) == 0;
}

/* Print @s with each character in @special preceded by @esc. */
static void escaped(const char *s, const char *special, const char *esc)
{
	for (; *s; s++) {
		if (strchr(special, *s))
			fputs(esc, stdout);
		putchar(*s);
	}
}

static void md(const struct opt *o)
{
	if (is_path(o)) {
		printf("| `%s` | unset | `%s` | ", o->name, o->keywords);
	} else {
		printf("| `%s` | %ld | %ld..%ld", o->name, o->def, o->min, o->max);
		if (o->keywords) {
			fputs(": ", stdout);
			escaped(o->keywords, "|", "\\");
		}
		fputs(" | ", stdout);
	}
	escaped(o->help, "|", "\\");
	puts(" |");
}

static void man(const struct opt *o)
{
	printf(".TP\n.B %s\n", o->name);
	if (is_path(o))
		printf("default unset, value %s\n.br\n", o->keywords);
	else if (o->keywords)
		printf("default %ld, range %ld..%ld: %s\n.br\n", o->def, o->min, o->max, o->keywords);
	else
		printf("default %ld, range %ld..%ld\n.br\n", o->def, o->min, o->max);
	escaped(o->help, "-\\", "\\");
	putchar('\n');
}

int main(int argc, char **argv)
{
	bool is_md = argc == 2 && strcmp(argv[1], "md") == 0;

	if (argc != 2 || (!is_md && strcmp(argv[1], "man") != 0)) {
		fprintf(stderr, "usage: gen_options md|man\n");
		return 2;
	}
	if (is_md)
		puts("| variable | default | range | meaning |\n|---|---|---|---|");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		(is_md ? md : man)(&table[i]);
	return 0;
}
