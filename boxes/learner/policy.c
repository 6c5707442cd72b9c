/*
 * policy.c - the learner's decisions (policy_internal.h). No clock, no
 * globals, no system call: the unit tests drive it tick by tick.
 */
#include "policy_internal.h"

/* 0: no pressure; 1: near a limit or some stalls; 2: at a limit or many stalls. */
static unsigned pressure_level(const struct learn_input *in)
{
	if (in->permille >= 950 || in->psi_some >= 2000)
		return 2;
	if (in->permille >= 800 || in->psi_some >= 500)
		return 1;
	return 0;
}

/* Shrinks, regrets and forgetting: the tier's learned short delay. */
static void tier_learn(struct learn_tier_state *t, const struct hak_demand *d, uint64_t now,
		       uint64_t max, uint64_t front)
{
	uint64_t live = d->live, out = d->out;
	uint64_t fall = t->last_live > live ? t->last_live - live : 0;
	uint64_t rise = live > t->last_live ? live - t->last_live : 0;
	bool shrinking;

	if (live >= t->peak || now - t->peak_ms >= LEARN_PEAK_MS) {
		t->peak = live;
		t->peak_ms = now;
		t->peak_out = out;
	}
	if (now - t->win_ms >= LEARN_PEAK_MS) {
		t->turnover = out - t->win_out;
		t->win_out = out;
		t->win_ms = now;
		t->timed = true;
	}
	/*
	 * A fall to 3/4 of the recent peak (to half in the first second, before
	 * any turnover is known: a heap of random sizes just filled swings
	 * that far), by more than a thread's bins in front of the tier hold (bins
	 * filling and emptying move less), with little taken meanwhile, in a
	 * tier that does not turn its heap over more than twice a second: a
	 * program that frees and allocates by turns falls as far at times, and
	 * wants its memory back soon.
	 */
	shrinking = live + HAK_MAX(HAK_MAX(t->peak / (t->timed ? 4 : 2), front),
				   (uint64_t)LEARN_SHRINK_MIN) <= t->peak &&
		    4 * (out - t->peak_out) <= t->peak - live &&
		    HAK_MAX(t->turnover, out - t->win_out) <= 2 * t->peak;
	t->fell = fall > 0;
	t->last_live = live;
	if (shrinking) {
		if (!t->shrinking) {
			t->shrinks++;
			t->freed = t->regrow = 0;
		}
		t->freed += fall;
		if (fall)
			t->fall_ms = now;
	} else if (t->freed) {	/* after a shrink: does the tier want it back? */
		t->regrow = t->regrow + rise > fall ? t->regrow + rise - fall : 0;
		if (t->regrow >= t->freed / 2) {
			t->short_delay = HAK_MIN(HAK_MAX(2 * t->short_delay,
							 (uint64_t)LEARN_DELAY_STEP_MS), max);
			t->regrets++;
			t->calm_ms = now;
			t->freed = 0;
		} else if (now - t->fall_ms >= LEARN_REGRET_MS) {
			t->freed = 0;
		}
	}
	t->shrinking = shrinking;
	if (now - t->calm_ms >= LEARN_FORGET_MS) {
		t->short_delay = t->short_delay / 2 >= LEARN_DELAY_STEP_MS ? t->short_delay / 2 : 0;
		t->calm_ms = now;
	}
}

/*
 * @cache: the tier's option; @live_times: lim->cache_live. A steady tier
 * whose live heap is big for its option (many threads' bins in front of
 * it, each wanting room) may cache that many times its live bytes.
 */
static void tier_decide(struct learn_tier_state *t, unsigned level, uint64_t max, uint64_t cache,
			unsigned live_times)
{
	if (level == 2) {
		t->mode = LEARN_PRESSURE;
		t->delay = 0;
		t->cache = cache / 16;
	} else if (level == 1) {
		t->mode = LEARN_PRESSURE;
		t->delay = HAK_MIN(t->short_delay, max / 4);
		t->cache = cache / 4;
	} else if (t->shrinking) {
		t->mode = LEARN_SHRINK;
		t->delay = t->short_delay;
		/* a part of the option, or of what is left live if less */
		t->cache = 2 * t->short_delay < max ? HAK_MIN(cache, t->last_live) / LEARN_SHRINK_CACHE
						    : cache;
	} else {
		t->mode = LEARN_STEADY;
		t->delay = max;
		t->cache = HAK_MAX(cache, HAK_MIN(live_times * t->last_live, LEARN_CACHE_GROW * cache));
	}
}

/*
 * The tiny bins' ceiling: halved under pressure or while the small tier
 * shrinks (to 16, or the option if lower: full bins would keep their
 * blocks' pages), doubled back after.
 */
static unsigned tiny_cap(const struct learn_limits *lim, unsigned cap, bool lower)
{
	unsigned base = lim->cap_base;

	if (lower)
		return HAK_MAX(cap / 2, HAK_MIN(base, (unsigned)LEARN_CAP_MIN));
	return HAK_MIN(2 * cap, base);
}

/*
 * A tiny class at a tick, @misses and @overflows its counters: its batch
 * follows its misses this tick; its cap falls once it was unused for its
 * hold time and comes back to the @ceiling while it is used again. A class
 * used again soon after its cap began to fall was not abandoned (its bins
 * served it on the fast path until the cap fell): its hold time doubles.
 * The cap never grows past the option: busy classes' bins are not enlarged.
 */
static void tiny_class(const struct learn_limits *lim, struct learn_class *k, unsigned ceiling,
		       uint64_t misses, uint64_t overflows, uint64_t now)
{
	unsigned cap_min = HAK_MIN(lim->cap_base, (unsigned)LEARN_CAP_MIN);
	uint64_t m = misses > k->misses ? misses - k->misses : 0;
	bool used = m || overflows > k->overflows, idle;

	k->misses = HAK_MAX(misses, k->misses);	/* an older tick's reading may come late */
	k->overflows = HAK_MAX(overflows, k->overflows);
	k->tick_misses = m;
	if (used) {
		if (k->idle && now - k->fall_ms < LEARN_REGRET_MS)
			k->hold_ms = HAK_MIN(2 * k->hold_ms, (uint64_t)LEARN_IDLE_MAX_MS);
		k->busy_ms = now;
	}
	idle = now - k->busy_ms >= k->hold_ms;
	if (idle && !k->idle)
		k->fall_ms = now;
	k->idle = idle;
	if (idle)
		k->cap /= 2;
	else if (used)
		k->cap *= 2;
	k->cap = HAK_MAX(HAK_MIN(k->cap, ceiling), cap_min);
	/* misses per LEARN_TICK_MS, however often ticks come (a burst brings them forward) */
	if (now - k->batch_ms >= LEARN_TICK_MS) {
		uint64_t rate = (k->misses - k->batch_misses) * LEARN_TICK_MS / (now - k->batch_ms);

		if (rate >= LEARN_MISS_BUSY)
			k->batch *= 2;
		else if (rate < LEARN_MISS_QUIET)
			k->batch /= 2;
		k->batch_ms = now;
		k->batch_misses = k->misses;
	}
	k->batch = HAK_MIN(HAK_MAX(k->batch, (unsigned)LEARN_BATCH_MIN), k->cap / 2 + 1);
}

/* Whether bytes went out since the last tick mostly to come back (learn_credit()). */
static void churn(struct learn_state *st, const struct learn_input *in)
{
	uint64_t out = 0, live = 0, moved;

	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		out += in->demand[i].out;
		live += in->demand[i].live + in->demand[i].held;
	}
	moved = live > st->live ? live - st->live : st->live - live;
	st->churn = st->started && out - st->out > 2 * moved ? HAK_MIN(st->churn + 1, LEARN_CHURN_MAX) : 0;
	st->out = out;
	st->live = live;
}

bool learn_step(const struct learn_limits *lim, struct learn_state *st,
		const struct learn_input *in)
{
	unsigned level = pressure_level(in);
	uint64_t now = HAK_MAX(in->now_ms, st->now_ms);	/* ticks may overlap */

	churn(st, in);
	if (!st->started) {
		st->started = true;
		for (unsigned i = 0; i < LEARN_NTIERS; i++) {
			st->tier[i].last_live = st->tier[i].peak = in->demand[i].live;
			st->tier[i].peak_out = st->tier[i].win_out = in->demand[i].out;
			st->tier[i].win_ms = now;
			st->tier[i].calm_ms = st->tier[i].peak_ms = now;
		}
		st->tiny_cap = lim->cap_base;
		for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
			st->tiny[c].cap = lim->cap_base;
			st->tiny[c].batch = lim->cap_base / 2 + 1;
			st->tiny[c].busy_ms = st->tiny[c].batch_ms = now;
			st->tiny[c].hold_ms = LEARN_IDLE_MS;
			st->tiny[c].misses = st->tiny[c].batch_misses = in->tiny_misses[c];
			st->tiny[c].overflows = in->tiny_overflows[c];
		}
	}
	st->level = level;
	st->now_ms = now;
	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		struct learn_tier_state *t = &st->tier[i];

		tier_learn(t, &in->demand[i], now, lim->delay_max[i], lim->front[i]);
		tier_decide(t, level, lim->delay_max[i], lim->cache_max[i], lim->cache_live[i]);
	}
	st->tiny_cap = tiny_cap(lim, st->tiny_cap, level || st->tier[LEARN_SMALL].shrinking);
	for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++)
		tiny_class(lim, &st->tiny[c], st->tiny_cap, in->tiny_misses[c],
			   in->tiny_overflows[c], now);
	return level > 0;
}

uint64_t learn_credit(const struct learn_state *st, uint64_t live)
{
	for (unsigned i = 0; i < LEARN_NTIERS; i++)
		if (st->tier[i].shrinking)
			return HAK_MAX(live / 64, (uint64_t)LEARN_CREDIT_SHRINK);
	return HAK_MAX(HAK_MIN(live, UINT64_MAX >> 8) / 8, (uint64_t)LEARN_CREDIT_MIN) << st->churn;
}
