/*
 * prog.c - built by tests/install/run.sh against an installed HAKMEM with
 * pkg-config (dynamic and static). Checks that malloc is HAKMEM's and the
 * header matches the library, then prints hak_stats_json()'s document on
 * stdout and, given a file name, malloc_info()'s XML into it. It unsets
 * HAKMEM_STATS_FILE before exit: HAKMEM_STATS=json still writes to that file.
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
	size_t need, len, probe;
	FILE *xml;

	if (hak_version() != HAKMEM_VERSION) {
		fprintf(stderr, "prog: library %d, header %d\n", hak_version(), HAKMEM_VERSION);
		return 1;
	}
	hak_free(p);	/* aborts if malloc was not HAKMEM's */
	p = malloc(100000);
	free(p);
	p = malloc(4000);	/* a pool class in malloc_info()'s XML */
	free(p);
	/*
	 * snprintf's contract, call by call: the document's length whatever
	 * the size, cut and terminated to fit. Two calls may differ by a few
	 * digits (the document reads the process's resident set).
	 */
	need = hak_stats_json(small, sizeof(small));
	len = hak_stats_json(doc, sizeof(doc));
	probe = hak_stats_json(NULL, 0);
	if (need < sizeof(small) || strlen(small) != sizeof(small) - 1 ||
	    len >= sizeof(doc) || strlen(doc) != len || memcmp(doc, small, sizeof(small) - 1) ||
	    probe + 64 < len || probe > len + 64) {
		fprintf(stderr, "prog: hak_stats_json broke snprintf's contract\n");
		return 1;
	}
	fputs(doc, stdout);
	if (argc > 1) {
		xml = fopen(argv[1], "w");
		if (!xml || malloc_info(0, xml) != 0 || fclose(xml) != 0)
			return 1;
	}
	unsetenv("HAKMEM_STATS_FILE");
	return 0;
}
