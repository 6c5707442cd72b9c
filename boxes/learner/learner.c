/*
 * learner.c - the learner box: reads the tiers' demand on a tick their slow
 * paths drive (hak_tick.h), asks policy.c what to do, and sets the tiers'
 * knobs through their public headers. Memory pressure is read about once a
 * second (pressure.c). docs/LEARNER.md has the rules and the numbers.
 *
 * Invariants: one tick runs at a time in practice (the clock's CAS), but a
 * slow tick may overlap the next, and stats read the state any time: @lock
 * guards the policy's state and the last pressure reading, and orders the
 * knobs' stores. No system call under it: the pressure files are read
 * before, memory is given back after. It is never held with another box's
 * lock (setting a knob is an atomic store).
 */
#include <pthread.h>

#include "../base/hak_lock.h"
#include "../bigcache/bigcache.h"
#include "../medium/medium.h"
#include "../pool_p1_p4/pool.h"
#include "../superslab/superslab.h"
#include "../sysmem/sysmem.h"
#include "../tiny/tiny.h"
#include "learner.h"
#include "policy_internal.h"
#include "pressure_internal.h"

#define PRESSURE_MS	1000	/* between readings of the pressure files */

static bool enabled;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct learn_limits limits;
static struct learn_state state;
static struct hak_pressure_src pressure_src;
static struct hak_pressure pressure;
static hak_counter_t ticks, returned_bytes, pressure_ticks, pressure_bytes;
static _Atomic uint64_t pressure_ms;	/* the last reading */

static const char *const tier_name[LEARN_NTIERS] = { "small", "pool", "medium", "large" };

BUILD_BUG_ON(LEARN_TINY_CLASSES != HAK_TINY_NCLASSES);

static void apply(const struct learn_state *s)
{
	const struct learn_tier_state *t = s->tier;
	unsigned cap[HAK_TINY_NCLASSES], batch[HAK_TINY_NCLASSES];

	for (unsigned c = 0; c < HAK_TINY_NCLASSES; c++) {
		cap[c] = s->tiny[c].cap;
		batch[c] = s->tiny[c].batch;
	}

	hak_ss_set_delay(t[LEARN_SMALL].delay);
	hak_pool_set_limits(t[LEARN_POOL].cache, t[LEARN_POOL].delay);
	hak_medium_set_limits(t[LEARN_MEDIUM].cache, t[LEARN_MEDIUM].delay);
	hak_bc_set_limits(t[LEARN_LARGE].cache, t[LEARN_LARGE].delay, t[LEARN_MEDIUM].delay);
	hak_tiny_set_classes(cap, batch);
}

/* The boxes whose decay gives back each tier's idle memory, top-down. */
static const struct hak_box *const tier_boxes[LEARN_NTIERS][2] = {
	[LEARN_SMALL] = { &hak_box_superslab },
	[LEARN_POOL] = { &hak_box_pool },
	[LEARN_MEDIUM] = { &hak_box_medium, &hak_box_bigcache },
	[LEARN_LARGE] = { &hak_box_bigcache },
};

/*
 * A tier that shrinks and fell again since the last tick, or any tier
 * under pressure: what idled past its (now short) delay goes back at this
 * tick, not only at the tier's next slow path, which may never come. Each
 * decay call is bounded; a tier gets up to DECAY_CALLS of them a tick.
 */
#define DECAY_CALLS	16
static size_t give_back(const struct learn_state *s, uint64_t now)
{
	size_t bytes = 0;

	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		const struct learn_tier_state *t = &s->tier[i];

		if (t->mode == LEARN_STEADY || (t->mode == LEARN_SHRINK && !t->fell))
			continue;
		for (unsigned b = 0; b < 2 && tier_boxes[i][b]; b++)
			for (unsigned n = 0; n < DECAY_CALLS; n++) {
				size_t got = tier_boxes[i][b]->decay(now);

				if (!got)
					break;
				bytes += got;
			}
	}
	return bytes;
}

/* Whether this tick reads the pressure files (the first, then once per PRESSURE_MS). */
static bool pressure_due(uint64_t now)
{
	uint64_t last = hak_atomic_load_relaxed(&pressure_ms);

	return (!last || now >= last + PRESSURE_MS) &&
	       hak_atomic_cas_acq_rel(&pressure_ms, &last, now);
}

static void tick(uint64_t now)
{
	struct learn_input in = { .now_ms = now };
	struct hak_pressure fresh;
	struct learn_state decided;
	bool read = pressure_due(now), pressed;
	size_t bytes;

	hak_count(ticks, 1);
	hak_ss_demand(&in.demand[LEARN_SMALL]);
	hak_pool_demand(&in.demand[LEARN_POOL]);
	hak_medium_demand(&in.demand[LEARN_MEDIUM]);
	hak_bc_demand(&in.demand[LEARN_LARGE]);
	hak_tiny_demand(in.tiny_misses, in.tiny_overflows);
	if (read)
		hak_pressure_read(&pressure_src, &fresh);
	hak_lock(&lock);
	if (read)
		pressure = fresh;
	in.permille = pressure.permille;
	in.psi_some = pressure.psi_some;
	pressed = learn_step(&limits, &state, &in);
	decided = state;
	apply(&decided);	/* atomic stores: in tick order */
	/* decided.live counts what bins hold too: their refills and flushes move the credit */
	hak_tick_credit((int64_t)learn_credit(&decided, decided.live));
	hak_unlock(&lock);
	bytes = give_back(&decided, now);
	hak_count(returned_bytes, bytes);
	if (pressed) {
		hak_count(pressure_ticks, 1);
		hak_count(pressure_bytes, bytes);
	}
}

static int learner_init(const struct hak_options *opt)
{
	uint64_t ss_delay = (uint64_t)opt->v[HAK_OPT_SS_DELAY_MS];

	enabled = opt->v[HAK_OPT_LEARN];
	if (!enabled)
		return 0;
	limits = (struct learn_limits){
		.delay_max = { ss_delay, ss_delay, ss_delay,
			       (uint64_t)opt->v[HAK_OPT_BIGCACHE_DELAY_MS] },
		.cache_max = { 0, (uint64_t)opt->v[HAK_OPT_POOL_CACHE_KB] << 10,
			       (uint64_t)opt->v[HAK_OPT_MEDIUM_CACHE_KB] << 10, hak_bc_cache_bound() },
		/* the pool's budget is shared by all threads: many want more room */
		.cache_live = { [LEARN_POOL] = LEARN_POOL_CACHE_LIVE },
		.front = { [LEARN_MEDIUM] = (uint64_t)opt->v[HAK_OPT_MEDIUM_CACHE_KB] << 10 },
		.cap_base = hak_tiny_cap_default(),
	};
	state.tiny_cap = limits.cap_base;	/* what the stats show before a tick */
	for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
		state.tiny[c].cap = limits.cap_base;
		state.tiny[c].batch = limits.cap_base / 2 + 1;
	}
	hak_pressure_init(&pressure_src, "/proc", "/sys/fs/cgroup",
			  (uint64_t)opt->v[HAK_OPT_RSS_TARGET_MB] << 20);
	hak_tick_register(tick, LEARN_TICK_MS);
	return 0;
}

static void learner_prefork(void)
{
	hak_lock(&lock);
}

static void learner_postfork_parent(void)
{
	hak_unlock(&lock);
}

static void learner_postfork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

/*
 * What it decided and why: each tier's mode, delay and cache; the tiny
 * bins' ceiling, and each tiny class used so far: its cap, batch, misses
 * (since start-up, and at the last tick), whether its cap is falling, and
 * how long it must be unused for that.
 */
static void learner_stats(struct hak_stats_sink *s)
{
	static const char *const field[] = { "mode", "delay_ms", "short_delay_ms", "cache_bytes",
					     "shrinks", "regrets", "live_bytes" };
	struct learn_state st;
	struct hak_pressure pr;
	char name[40];

	hak_lock(&lock);
	st = state;
	pr = pressure;
	hak_unlock(&lock);
	hak_stat(s, "enabled", enabled);
	hak_stat(s, "ticks", hak_atomic_load_relaxed(&ticks));
	hak_stat(s, "returned_bytes", hak_atomic_load_relaxed(&returned_bytes));
	hak_stat(s, "pressure_limit_bytes", pr.limit);
	hak_stat(s, "pressure_usage_bytes", pr.usage);
	hak_stat(s, "pressure_as_limit_bytes", pr.as_limit);
	hak_stat(s, "pressure_as_used_bytes", pr.as_used);
	hak_stat(s, "pressure_psi_some", pr.psi_some);
	hak_stat(s, "pressure_permille", pr.permille);
	hak_stat(s, "pressure_level", st.level);
	hak_stat(s, "pressure_returns", hak_atomic_load_relaxed(&pressure_ticks));
	hak_stat(s, "pressure_returned_bytes", hak_atomic_load_relaxed(&pressure_bytes));
	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		const struct learn_tier_state *t = &st.tier[i];
		uint64_t v[] = { t->mode, t->delay, t->short_delay, t->cache, t->shrinks,
				 t->regrets, t->last_live };

		for (unsigned f = 0; f < sizeof(v) / sizeof(v[0]); f++) {
			snprintf(name, sizeof(name), "%s_%s", tier_name[i], field[f]);
			hak_stat(s, name, v[f]);
		}
	}
	hak_stat(s, "tiny_cap", st.tiny_cap);
	for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
		const struct learn_class *k = &st.tiny[c];

		if (!k->misses && !k->overflows)
			continue;
		s->class_begin(s, c, hak_class_bytes[c]);
		hak_stat(s, "cap", k->cap);
		hak_stat(s, "batch", k->batch);
		hak_stat(s, "misses", k->misses);
		hak_stat(s, "tick_misses", k->tick_misses);
		hak_stat(s, "overflows", k->overflows);
		hak_stat(s, "decaying", k->idle);
		hak_stat(s, "hold_ms", k->hold_ms);
		s->class_end(s);
	}
}

static void learner_describe(char *buf, size_t len)
{
	if (!enabled) {
		snprintf(buf, len, "off (caches and delays stay at their options)");
		return;
	}
	snprintf(buf, len, "on (a tick each %u ms; cgroup %s; RSS target %llu MiB)",
		 LEARN_TICK_MS, pressure_src.cgroup_dir[0] ? pressure_src.cgroup_dir : "none",
		 (unsigned long long)(pressure_src.target >> 20));
}

const struct hak_box hak_box_learner = {
	.name = "learner",
	.layer = 4,
	.init = learner_init,
	.prefork = learner_prefork,
	.postfork_parent = learner_postfork_parent,
	.postfork_child = learner_postfork_child,
	.stats = learner_stats,
	.describe = learner_describe,
};
