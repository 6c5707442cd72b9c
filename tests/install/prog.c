/*
 * prog.c - built by tests/install/run.sh against an installed HAKMEM with
 * pkg-config (dynamic and static). Checks that malloc is HAKMEM's and the
 * header matches the library, then prints hak_stats_json()'s document on
 * stdout and, given a file name, malloc_info()'s XML into it.
 */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char doc[1 << 20];

int main(int argc, char **argv)
{
	void *p = malloc(24);
	char small[16];
	size_t need;
	FILE *xml;

	if (hak_version() != HAKMEM_VERSION) {
		fprintf(stderr, "prog: library %d, header %d\n", hak_version(), HAKMEM_VERSION);
		return 1;
	}
	hak_free(p);	/* aborts if malloc was not HAKMEM's */
	p = malloc(100000);
	free(p);
	need = hak_stats_json(small, sizeof(small));
	if (need < sizeof(small) || strlen(small) != sizeof(small) - 1 ||
	    hak_stats_json(NULL, 0) != need) {
		fprintf(stderr, "prog: hak_stats_json broke snprintf's contract\n");
		return 1;
	}
	if (hak_stats_json(doc, sizeof(doc)) >= sizeof(doc))
		return 1;
	fputs(doc, stdout);
	if (argc > 1) {
		xml = fopen(argv[1], "w");
		if (!xml || malloc_info(0, xml) != 0 || fclose(xml) != 0)
			return 1;
	}
	return 0;
}
