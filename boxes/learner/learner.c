/*
 * learner.c - the learner box.
 */
#include "learner.h"

static bool enabled;

static int learner_init(const struct hak_options *opt)
{
	enabled = opt->v[HAK_OPT_LEARN];
	return 0;
}

static void learner_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%s", enabled ? "on" : "off");
}

const struct hak_box hak_box_learner = {
	.name = "learner",
	.layer = 4,
	.init = learner_init,
	.describe = learner_describe,
};
