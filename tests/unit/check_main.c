/*
 * check_main.c - runs every box's suite; CK_RUN_SUITE=tiny runs one (Check).
 */
#include <stdlib.h>

#include "unit.h"

static Suite *(*const suites[])(void) = {
	sizeclass_suite, sysmem_suite, regionmap_suite, superslab_suite, bigcache_suite,
	pool_suite, medium_suite, tiny_suite, tick_suite, pressure_suite, learner_suite, frontend_suite,
	faults_suite,
};

int main(void)
{
	SRunner *sr;
	int failed;

	/* Each box's tests hold it to its options; the learner's turn it on. */
	setenv("HAKMEM_LEARN", "0", 0);
	sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
