/*
 * check_learner.c - the learner: its policy as a pure function driven tick
 * by tick (bounds under adversarial patterns, shrinks, regrets, pressure),
 * then the box in a running allocator (memory back after a shrink).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../boxes/tiny/tiny.h"
#include "../../boxes/learner/policy_internal.h"
#include "unit.h"

#define MIB	((uint64_t)1 << 20)

static const struct learn_limits lim = {
	.delay_max = { 1000, 1000, 1000, 1000 },
	.cache_max = { 0, 32 * MIB, 16 * MIB, 256 * MIB },
	.front = { [LEARN_MEDIUM] = 16 * MIB },
	.cap_base = 128,
};

/* A policy driven tick by tick; every decision checked against its bounds. */
struct drive {
	struct learn_state st;
	struct learn_input in;
};

static void check_bounds(const struct learn_state *st)
{
	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		ck_assert_uint_le(st->tier[i].delay, lim.delay_max[i]);
		ck_assert_uint_le(st->tier[i].short_delay, lim.delay_max[i]);
		ck_assert_uint_le(st->tier[i].cache, lim.cache_max[i]);
	}
	ck_assert_uint_ge(st->tiny_cap, LEARN_CAP_MIN);
	ck_assert_uint_le(st->tiny_cap, lim.cap_base);
	for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
		ck_assert_uint_ge(st->tiny[c].cap, LEARN_CAP_MIN);
		ck_assert_uint_le(st->tiny[c].cap, st->tiny_cap);
		ck_assert_uint_ge(st->tiny[c].batch, 1);
		ck_assert_uint_le(st->tiny[c].batch, st->tiny[c].cap / 2 + 1);
		ck_assert_uint_ge(st->tiny[c].hold_ms, LEARN_IDLE_MS);
		ck_assert_uint_le(st->tiny[c].hold_ms, LEARN_IDLE_MAX_MS);
	}
}

/* One tick @ms after the last, tier @t at @live bytes; returns its mode. */
static enum learn_mode step(struct drive *d, uint64_t ms, unsigned t, uint64_t live)
{
	d->in.now_ms += ms;
	d->in.demand[t].out += live > d->in.demand[t].live ? live - d->in.demand[t].live : 0;
	d->in.demand[t].live = live;
	learn_step(&lim, &d->st, &d->in);
	check_bounds(&d->st);
	return d->st.tier[t].mode;
}

static void drive_init(struct drive *d)
{
	memset(d, 0, sizeof(*d));
	d->in.now_ms = 100000;
	learn_step(&lim, &d->st, &d->in);
}

/* One tick @ms after the last, tiny class @c with @misses and @overflows more. */
static const struct learn_class *tiny_step(struct drive *d, uint64_t ms, unsigned c,
					   uint64_t misses, uint64_t overflows)
{
	d->in.now_ms += ms;
	d->in.tiny_misses[c] += misses;
	d->in.tiny_overflows[c] += overflows;
	learn_step(&lim, &d->st, &d->in);
	check_bounds(&d->st);
	return &d->st.tiny[c];
}

/* A heap that falls to a tenth goes back at once; steady use keeps the delay. */
START_TEST(a_shrink_returns_at_once)
{
	struct drive d;

	drive_init(&d);
	step(&d, LEARN_PEAK_MS, LEARN_SMALL, 0);	/* a second, and its turnover known */
	for (uint64_t live = 0; live <= 256 * MIB; live += 32 * MIB)
		ck_assert_int_eq(step(&d, 50, LEARN_SMALL, live), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_SMALL].delay, 1000);
	ck_assert_int_eq(step(&d, 5, LEARN_SMALL, 200 * MIB), LEARN_STEADY);	/* not yet 3/4 */
	ck_assert_int_eq(step(&d, 5, LEARN_SMALL, 150 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tier[LEARN_SMALL].delay, 0);
	ck_assert(d.st.tier[LEARN_SMALL].fell);
	ck_assert_int_eq(step(&d, 5, LEARN_SMALL, 26 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tier[LEARN_SMALL].shrinks, 1);
	/* a second later the fall is the new level: steady again */
	ck_assert_int_eq(step(&d, 1000, LEARN_SMALL, 26 * MIB), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_SMALL].delay, 1000);
	ck_assert_uint_eq(d.st.tier[LEARN_SMALL].regrets, 0);
}
END_TEST

/*
 * In the learner's first second no turnover is known: a heap of random
 * sizes just filled that swings to 2/3 of its peak is not a shrink (its
 * cache stays), a fall to a tenth is.
 */
START_TEST(the_first_second_wants_a_deep_fall)
{
	struct drive d;

	drive_init(&d);
	ck_assert_int_eq(step(&d, 50, LEARN_LARGE, 42 * MIB), LEARN_STEADY);
	ck_assert_int_eq(step(&d, 4, LEARN_LARGE, 28 * MIB), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].cache, 256 * MIB);
	ck_assert_int_eq(step(&d, 4, LEARN_LARGE, 42 * MIB), LEARN_STEADY);
	ck_assert_int_eq(step(&d, 4, LEARN_LARGE, 4 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].delay, 0);
	/* once a quiet second is known, a fall to 2/3 is one */
	ck_assert_int_eq(step(&d, 1000, LEARN_LARGE, 42 * MIB), LEARN_STEADY);
	ck_assert_int_eq(step(&d, 1000, LEARN_LARGE, 42 * MIB), LEARN_STEADY);
	ck_assert_int_eq(step(&d, 4, LEARN_LARGE, 28 * MIB), LEARN_SHRINK);
}
END_TEST

/*
 * In a shrink a tier's cache is a sixteenth of the option, or of what stays
 * live if less: what the bins keep at the end of the frees stays resident.
 */
START_TEST(a_shrink_caches_a_sixteenth_of_what_stays)
{
	struct drive d;

	drive_init(&d);
	for (uint64_t live = 0; live <= 128 * MIB; live += 32 * MIB)
		step(&d, 50, LEARN_POOL, live);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, 32 * MIB);
	ck_assert_int_eq(step(&d, 5, LEARN_POOL, 64 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, 2 * MIB);	/* the option's sixteenth */
	ck_assert_int_eq(step(&d, 5, LEARN_POOL, 4 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, MIB / 4);	/* the live bytes' */
	ck_assert_int_eq(step(&d, 1000, LEARN_POOL, 4 * MIB), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, 32 * MIB);
}
END_TEST

/*
 * A steady pool tier caches up to LEARN_POOL_CACHE_LIVE times its live
 * bytes where that is more than the option, at most LEARN_CACHE_GROW
 * options; a shrink and pressure still go by the option.
 */
START_TEST(a_steady_pool_caches_with_its_live_heap)
{
	struct learn_limits grow = lim;
	struct learn_tier_state *t;
	struct drive d;

	grow.cache_live[LEARN_POOL] = LEARN_POOL_CACHE_LIVE;
	memset(&d, 0, sizeof(d));
	d.in.now_ms = 100000;
	t = &d.st.tier[LEARN_POOL];
	for (uint64_t live = 0; live <= 1024 * MIB; live += 4 * MIB) {
		d.in.now_ms += 50;
		d.in.demand[LEARN_POOL].out += 4 * MIB;
		d.in.demand[LEARN_POOL].live = live;
		learn_step(&grow, &d.st, &d.in);
		ck_assert_int_eq(t->mode, LEARN_STEADY);
		ck_assert_uint_eq(t->cache, HAK_MAX(32 * MIB, HAK_MIN(LEARN_POOL_CACHE_LIVE * live,
								   LEARN_CACHE_GROW * 32 * MIB)));
		ck_assert_uint_eq(d.st.tier[LEARN_MEDIUM].cache, 16 * MIB);	/* no cache_live */
	}
	ck_assert_uint_eq(t->cache, LEARN_CACHE_GROW * 32 * MIB);
	d.in.now_ms += 5;
	d.in.demand[LEARN_POOL].live = 512 * MIB;
	learn_step(&grow, &d.st, &d.in);
	ck_assert_int_eq(t->mode, LEARN_SHRINK);
	ck_assert_uint_eq(t->cache, 2 * MIB);	/* the option's sixteenth */
	d.in.now_ms += 1000;
	d.in.permille = 960;
	learn_step(&grow, &d.st, &d.in);
	ck_assert_int_eq(t->mode, LEARN_PRESSURE);
	ck_assert_uint_eq(t->cache, 2 * MIB);
}
END_TEST

/*
 * The credit that brings a tick forward: an eighth of the live bytes (at
 * least 4 MiB); while a tier shrinks a 64th (at least 512 KiB), so what the
 * last frees of a shrink leave after its last tick is small.
 */
START_TEST(a_shrink_ticks_more_often)
{
	struct drive d;

	drive_init(&d);
	ck_assert_uint_eq(learn_credit(&d.st, 0), LEARN_CREDIT_MIN);
	for (uint64_t live = 0; live <= 256 * MIB; live += 32 * MIB)
		step(&d, 50, LEARN_MEDIUM, live);
	ck_assert_uint_eq(learn_credit(&d.st, 256 * MIB), 32 * MIB);
	ck_assert_int_eq(step(&d, 5, LEARN_MEDIUM, 100 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(learn_credit(&d.st, 100 * MIB), 100 * MIB / 64);
	ck_assert_uint_eq(learn_credit(&d.st, 16 * MIB), LEARN_CREDIT_SHRINK);
	ck_assert_int_eq(step(&d, 1000, LEARN_MEDIUM, 100 * MIB), LEARN_STEADY);
	ck_assert_uint_eq(learn_credit(&d.st, 100 * MIB), 100 * MIB / 8);
}
END_TEST

/*
 * Churn (more bytes out since the last tick than twice what the live
 * moved) doubles the steady credit at each tick, up to 64 times: a heap of
 * a few big blocks turned over would spend an eighth of itself every few
 * blocks. A build brings the credit back at once.
 */
START_TEST(churn_raises_the_credit_and_a_build_resets_it)
{
	struct drive d;

	drive_init(&d);
	step(&d, 50, LEARN_LARGE, 64 * MIB);
	ck_assert_uint_eq(learn_credit(&d.st, 64 * MIB), 8 * MIB);
	for (unsigned k = 1; k <= LEARN_CHURN_MAX + 2; k++) {
		d.in.demand[LEARN_LARGE].out += 40 * MIB;
		ck_assert_int_eq(step(&d, 5, LEARN_LARGE, 64 * MIB + k % 2 * 8 * MIB), LEARN_STEADY);
		ck_assert_uint_eq(learn_credit(&d.st, 64 * MIB), 8 * MIB << HAK_MIN(k, LEARN_CHURN_MAX));
	}
	step(&d, 5, LEARN_LARGE, 128 * MIB);
	ck_assert_uint_eq(learn_credit(&d.st, 64 * MIB), 8 * MIB);
}
END_TEST

/*
 * While the small tier shrinks the tiny bins' ceiling halves each tick, to
 * its floor (full bins would keep their blocks' pages), and doubles back after.
 */
START_TEST(a_small_shrink_lowers_the_tiny_bins)
{
	struct drive d;

	drive_init(&d);
	step(&d, LEARN_PEAK_MS, LEARN_SMALL, 0);	/* a second, and its turnover known */
	for (uint64_t live = 0; live <= 256 * MIB; live += 32 * MIB)
		step(&d, 50, LEARN_SMALL, live);
	ck_assert_uint_eq(d.st.tiny_cap, 128);
	ck_assert_int_eq(step(&d, 5, LEARN_SMALL, 150 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tiny_cap, 64);
	for (int i = 0; i < 5; i++)
		step(&d, 5, LEARN_SMALL, 150 * MIB - (uint64_t)i * 20 * MIB);
	ck_assert_uint_eq(d.st.tiny_cap, LEARN_CAP_MIN);
	ck_assert_int_eq(step(&d, 1000, LEARN_SMALL, 50 * MIB), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tiny_cap, 2 * LEARN_CAP_MIN);
	for (int i = 0; i < 5; i++)
		step(&d, 50, LEARN_SMALL, 50 * MIB);
	ck_assert_uint_eq(d.st.tiny_cap, 128);
	/* another tier's shrink leaves them alone */
	for (int i = 0; i < 4; i++)
		step(&d, 50, LEARN_MEDIUM, (uint64_t)i * 64 * MIB);
	ck_assert_int_eq(step(&d, 5, LEARN_MEDIUM, 64 * MIB), LEARN_SHRINK);
	ck_assert_uint_eq(d.st.tiny_cap, 128);
}
END_TEST

/* Bins filling and emptying, even by a quarter of a small heap, are not a shrink. */
START_TEST(churn_is_not_a_shrink)
{
	struct drive d;

	drive_init(&d);
	step(&d, 50, LEARN_MEDIUM, 40 * MIB);
	for (int i = 0; i < 400; i++)
		ck_assert_int_eq(step(&d, 7, LEARN_MEDIUM, (i & 1 ? 30 : 40) * MIB), LEARN_STEADY);
	for (int i = 0; i < 400; i++)
		ck_assert_int_eq(step(&d, 7, LEARN_SMALL, (i & 1 ? 2 : 5) * MIB), LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_MEDIUM].shrinks + d.st.tier[LEARN_SMALL].shrinks, 0);
	ck_assert_uint_eq(d.st.tier[LEARN_MEDIUM].cache, 16 * MIB);
	/* big blocks freed and made by turns: halving the live bytes, with as much taken */
	for (int i = 0; i < 400; i++) {
		d.in.demand[LEARN_LARGE].out += 64 * MIB;
		ck_assert_int_eq(step(&d, 7, LEARN_LARGE, (i & 1 ? 64 : 128) * MIB), LEARN_STEADY);
	}
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].shrinks, 0);
}
END_TEST

/*
 * Build, free, build again, over and over (slowly enough to count as
 * shrinks): each regrowth soon after a shrink doubles the short delay, up
 * to the option and never past it; quiet for LEARN_FORGET_MS halves it.
 */
START_TEST(regrets_lengthen_the_short_delay_within_bounds)
{
	struct drive d;
	uint64_t last = 0;

	drive_init(&d);
	for (int round = 0; round < 12; round++) {
		step(&d, 500, LEARN_LARGE, 200 * MIB);	/* under twice its peak taken a second */
		step(&d, 1, LEARN_LARGE, 10 * MIB);
		ck_assert_int_eq(d.st.tier[LEARN_LARGE].mode, LEARN_SHRINK);
		ck_assert_uint_eq(d.st.tier[LEARN_LARGE].delay, last);
		step(&d, 50, LEARN_LARGE, 10 * MIB);
		step(&d, 50, LEARN_LARGE, 200 * MIB);	/* back within LEARN_REGRET_MS */
		ck_assert_uint_eq(d.st.tier[LEARN_LARGE].regrets, (uint64_t)round + 1);
		last = HAK_MIN(HAK_MAX(2 * last, (uint64_t)LEARN_DELAY_STEP_MS), lim.delay_max[LEARN_LARGE]);
		ck_assert_uint_eq(d.st.tier[LEARN_LARGE].short_delay, last);
	}
	ck_assert_uint_eq(last, 1000);
	/* a tier that learned to keep its memory keeps its whole cache in a shrink */
	step(&d, 1, LEARN_LARGE, 10 * MIB);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].cache, 256 * MIB);
	for (int i = 0; i < 3; i++)
		step(&d, LEARN_FORGET_MS, LEARN_LARGE, 10 * MIB);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].short_delay, 125);
	/* and a regrowth long after a shrink is no regret */
	step(&d, 50, LEARN_LARGE, 200 * MIB);
	step(&d, 1, LEARN_LARGE, 10 * MIB);
	step(&d, 50, LEARN_LARGE, 10 * MIB);
	step(&d, LEARN_REGRET_MS, LEARN_LARGE, 10 * MIB);
	step(&d, 50, LEARN_LARGE, 200 * MIB);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].regrets, 12);
}
END_TEST

/* Ticks may overlap: one older than the last changes nothing by its time. */
START_TEST(an_older_tick_is_not_a_long_wait)
{
	struct drive d;

	drive_init(&d);
	step(&d, 500, LEARN_LARGE, 200 * MIB);
	step(&d, 1, LEARN_LARGE, 10 * MIB);
	step(&d, 50, LEARN_LARGE, 200 * MIB);	/* a regret: 100 ms */
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].short_delay, LEARN_DELAY_STEP_MS);
	d.in.now_ms -= 20;
	learn_step(&lim, &d.st, &d.in);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].short_delay, LEARN_DELAY_STEP_MS);	/* not forgotten */
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].peak, 200 * MIB);
}
END_TEST

/* Bursts in every tier, random sizes, pressure coming and going: the bounds hold. */
START_TEST(bounds_hold_under_random_bursts)
{
	struct drive d;
	unsigned seed = 7;

	drive_init(&d);
	for (int i = 0; i < 5000; i++) {
		unsigned t = (unsigned)rand_r(&seed) % LEARN_NTIERS;

		d.in.permille = i % 3000 < 200 ? (unsigned)rand_r(&seed) % 1200 : 0;
		step(&d, (uint64_t)rand_r(&seed) % 200, t, (uint64_t)rand_r(&seed) % 4096 * MIB);
	}
}
END_TEST

/* Near a limit delays and caches shrink and bins halve; after, they come back. */
START_TEST(pressure_shrinks_everything_then_lets_go)
{
	struct drive d;

	drive_init(&d);
	step(&d, 50, LEARN_POOL, 64 * MIB);
	ck_assert_uint_eq(d.st.tiny_cap, 128);
	d.in.permille = 850;
	ck_assert(learn_step(&lim, &d.st, &d.in));
	ck_assert_uint_eq(d.st.level, 1);
	ck_assert_int_eq(d.st.tier[LEARN_POOL].mode, LEARN_PRESSURE);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].delay, 0);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, 8 * MIB);
	ck_assert_uint_eq(d.st.tiny_cap, 64);
	d.in.permille = 990;
	ck_assert(learn_step(&lim, &d.st, &d.in));
	ck_assert_uint_eq(d.st.level, 2);
	ck_assert_uint_eq(d.st.tier[LEARN_LARGE].cache, 16 * MIB);
	for (int i = 0; i < 10; i++)
		learn_step(&lim, &d.st, &d.in);
	ck_assert_uint_eq(d.st.tiny_cap, LEARN_CAP_MIN);
	d.in.permille = 0;
	d.in.psi_some = 2500;	/* memory.pressure: 25 % of the time stalled */
	ck_assert(learn_step(&lim, &d.st, &d.in));
	ck_assert_uint_eq(d.st.level, 2);
	d.in.psi_some = 0;
	for (int i = 0; i < 10; i++)
		ck_assert(!learn_step(&lim, &d.st, &d.in));
	ck_assert_uint_eq(d.st.level, 0);
	ck_assert_uint_eq(d.st.tiny_cap, 128);
	ck_assert_int_eq(d.st.tier[LEARN_POOL].mode, LEARN_STEADY);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].delay, 1000);
	ck_assert_uint_eq(d.st.tier[LEARN_POOL].cache, 32 * MIB);
}
END_TEST

/*
 * Every tiny class in bursts of misses and overflows of random lengths and
 * rates, gaps longer than LEARN_IDLE_MS now and then, pressure coming and
 * going: caps and batches stay in their bounds, and reach both ends.
 */
START_TEST(tiny_classes_in_bounds_under_alternating_bursts)
{
	struct drive d;
	unsigned seed = 11, on[LEARN_TINY_CLASSES] = { 0 };
	bool cap_min = false, cap_max = false, batch_min = false, batch_max = false;

	drive_init(&d);
	for (int i = 0; i < 5000; i++) {
		uint64_t ms = i % 500 == 499 ? 3 * LEARN_IDLE_MS : (uint64_t)rand_r(&seed) % 200;

		d.in.permille = i % 1500 < 100 ? (unsigned)rand_r(&seed) % 1200 : 0;
		for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
			if (!on[c] && (unsigned)rand_r(&seed) % 40 == 0)
				on[c] = 1 + (unsigned)rand_r(&seed) % 30;	/* a burst of so many ticks */
			if (!on[c])
				continue;
			on[c]--;
			d.in.tiny_misses[c] += (unsigned)rand_r(&seed) % 300;
			d.in.tiny_overflows[c] += (unsigned)rand_r(&seed) % 3;
		}
		tiny_step(&d, ms, 0, 0, 0);
		for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
			cap_min |= d.st.tiny[c].cap == LEARN_CAP_MIN;
			cap_max |= d.st.tiny[c].cap == lim.cap_base;
			batch_min |= d.st.tiny[c].batch == LEARN_BATCH_MIN;
			batch_max |= d.st.tiny[c].batch == lim.cap_base / 2 + 1;
		}
	}
	ck_assert(cap_min && cap_max && batch_min && batch_max);
}
END_TEST

/*
 * One class quiet, then hammered, then abandoned: its batch falls to its
 * floor, doubles up to cap/2+1 while it misses, falls back at once when it
 * stops; its cap holds for LEARN_IDLE_MS, then halves to its floor and stays
 * there; a miss later brings it back.
 */
START_TEST(a_class_hammered_then_abandoned)
{
	struct drive d;
	const struct learn_class *k = &d.st.tiny[5];
	unsigned batch = lim.cap_base / 2 + 1;

	drive_init(&d);
	ck_assert_uint_eq(k->batch, batch);	/* no time passed: nothing to judge */
	for (int i = 0; i < 3; i++)
		tiny_step(&d, 50, 5, 1, 0);
	ck_assert_uint_eq(k->batch, LEARN_BATCH_MIN);
	ck_assert_uint_eq(k->cap, lim.cap_base);
	for (unsigned want = 2 * LEARN_BATCH_MIN; want < 2 * batch; want *= 2) {
		tiny_step(&d, 50, 5, 500, 40);
		ck_assert_uint_eq(k->batch, HAK_MIN(want, batch));
		ck_assert_uint_eq(k->cap, lim.cap_base);
	}
	for (uint64_t ms = 50; ms < LEARN_IDLE_MS; ms += 50) {
		tiny_step(&d, 50, 5, 0, 0);
		ck_assert_uint_eq(k->cap, lim.cap_base);
		ck_assert(!k->idle);
	}
	ck_assert_uint_eq(k->batch, LEARN_BATCH_MIN);
	for (unsigned want = lim.cap_base / 2; want >= LEARN_CAP_MIN; want /= 2) {
		tiny_step(&d, 50, 5, 0, 0);
		ck_assert(k->idle);
		ck_assert_uint_eq(k->cap, want);
	}
	for (int i = 0; i < 1000; i++)
		tiny_step(&d, 50 + 100 * (i % 3), 5, 0, 0);
	ck_assert_uint_eq(k->cap, LEARN_CAP_MIN);
	ck_assert_uint_eq(k->batch, LEARN_BATCH_MIN);
	tiny_step(&d, 50, 5, 1, 0);
	ck_assert(!k->idle);
	ck_assert_uint_eq(k->cap, 2 * LEARN_CAP_MIN);
}
END_TEST

/*
 * Ticks a burst of frees brings forward may come every millisecond: a
 * class that misses 8 times per 50 ms is busy however the ticks split
 * its misses, and one that misses once per 50 ms quiet.
 */
START_TEST(the_batch_follows_misses_per_time_not_per_tick)
{
	struct drive d;
	const struct learn_class *busy = &d.st.tiny[3], *quiet = &d.st.tiny[4];
	unsigned batch = lim.cap_base / 2 + 1;

	drive_init(&d);
	for (int i = 0; i < 3; i++)	/* both at their floor */
		tiny_step(&d, 50, 3, 0, 0);
	ck_assert_uint_eq(busy->batch, LEARN_BATCH_MIN);
	for (int i = 0; i < 1000; i++) {
		d.in.tiny_misses[4] += i % 50 == 0;
		tiny_step(&d, 1, 3, i % 6 == 0, 0);	/* 8-9 misses per 50 ms */
		ck_assert_uint_eq(quiet->batch, LEARN_BATCH_MIN);
	}
	ck_assert_uint_eq(busy->batch, batch);
}
END_TEST

/*
 * A class its bins serve on the fast path has no miss either: its cap
 * falls, and it misses again at once. Each such fall doubles the time the
 * class must be unused before the next, up to LEARN_IDLE_MAX_MS.
 */
START_TEST(a_hot_class_falls_less_often)
{
	struct drive d;
	const struct learn_class *k = &d.st.tiny[9];
	uint64_t hold = LEARN_IDLE_MS;

	drive_init(&d);
	for (int round = 0; round < 8; round++) {
		uint64_t quiet = 0;

		while (!tiny_step(&d, 50, 9, 0, 0)->idle)
			quiet += 50;
		ck_assert_uint_eq(quiet + 50, hold);
		ck_assert_uint_eq(k->cap, lim.cap_base / 2);
		tiny_step(&d, 50, 9, 20, 20);	/* the working set no longer fits */
		hold = HAK_MIN(2 * hold, (uint64_t)LEARN_IDLE_MAX_MS);
		ck_assert_uint_eq(k->hold_ms, hold);
		ck_assert_uint_eq(k->cap, lim.cap_base);
	}
	ck_assert_uint_eq(hold, LEARN_IDLE_MAX_MS);
}
END_TEST

/*
 * Each class touched by its own thread at its own rate: untouched, a miss
 * a tick, many, only frees into a full bin. Each class's settings follow its
 * own use; pressure lowers them all, and after it the used ones come back.
 */
START_TEST(classes_each_on_their_own)
{
	static const unsigned misses[4] = { 0, 1, 30, 0 }, overflows[4] = { 0, 0, 5, 10 };
	struct drive d;

	drive_init(&d);
	for (int i = 0; i < 100; i++) {
		for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
			d.in.tiny_misses[c] += misses[c % 4];
			d.in.tiny_overflows[c] += overflows[c % 4];
		}
		d.in.permille = i >= 60 && i < 70 ? 990 : 0;
		tiny_step(&d, 50, 0, 0, 0);
		if (i == 69)
			for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++)
				ck_assert_uint_eq(d.st.tiny[c].cap, LEARN_CAP_MIN);
	}
	for (unsigned c = 0; c < LEARN_TINY_CLASSES; c++) {
		const struct learn_class *k = &d.st.tiny[c];

		ck_assert_uint_eq(k->cap, c % 4 ? lim.cap_base : LEARN_CAP_MIN);
		ck_assert_uint_eq(k->batch, c % 4 == 2 ? lim.cap_base / 2 + 1 : LEARN_BATCH_MIN);
		ck_assert(k->idle == !(c % 4));
	}
}
END_TEST

/* ------------------------------------------------ the box, in a running allocator */

static long rss_mib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert(f && fscanf(f, "%ld %ld", &size, &resident) == 2);
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE) >> 20;
}

/*
 * 96 MiB of 16 B..1 KiB blocks, then nine batches in ten freed: with the
 * learner most of it is back before the last free returns; without it,
 * little (HAKMEM_SS_DELAY_MS is a second and nothing runs after).
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * @n blocks of @min..@min + @span - 1 bytes, @mib MiB or more in all, then
 * nine in ten freed (by batches of a hundredth). Percent of the heap's RSS
 * kept; *@secs: how long the frees took.
 */
static long freed_heap_kept(const char *learn, int n, size_t min, size_t span, long mib, double *secs)
{
	static void *p[200000];
	unsigned seed = 1;
	long before, built;
	double t0;

	ck_assert_int_le(n, 200000);
	setenv("HAKMEM_LEARN", learn, 1);
	setenv("HAKMEM_CHECK", "fast", 1);
	before = rss_mib();
	for (int i = 0; i < n; i++) {
		size_t size = min + (size_t)rand_r(&seed) % span;

		p[i] = hak_malloc(size);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], i, size);
	}
	built = rss_mib();
	ck_assert_int_gt(built - before, mib);
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if ((i * 100 / n) % 10)
			hak_free(p[i]);
	*secs = now_s() - t0;
	ck_assert_int_eq(hak_self_check(), 0);
	return (rss_mib() - before) * 100 / (built - before);
}

/*
 * freed_heap_kept() with the learner on: the tier's @shrinks stat counts a
 * shrink and less than @most percent of the heap stays. Frees spread over
 * more than half a second (a loaded machine, a sanitizer) are a slow
 * decline to the learner, not a shrink: its peak is that of the last
 * LEARN_PEAK_MS. Then there is nothing to check.
 */
static void freed_heap_goes_back(int n, size_t min, size_t span, long mib, const char *shrinks, long most)
{
	double secs;
	long kept = freed_heap_kept("1", n, min, span, mib, &secs);

	if (secs > LEARN_PEAK_MS / 2000.0)
		return;
	ck_assert_int_ge(unit_stat("learner.", shrinks), 1);
#ifdef __SANITIZE_THREAD__
	(void)kept;	/* TSan's shadow of the heap stays resident */
	(void)most;
#else
	ck_assert_msg(kept < most, "kept %ld %% of the heap", kept);
#endif
}

START_TEST(a_freed_heap_goes_back)
{
	freed_heap_goes_back(200000, 16, 1009, 80, "small_shrinks ", 60);
}
END_TEST

START_TEST(without_the_learner_it_stays)
{
	double secs;
	long kept = freed_heap_kept("0", 200000, 16, 1009, 80, &secs);

	ck_assert_msg(kept > 80, "kept %ld %% of the heap", kept);
	ck_assert_int_eq(unit_stat("learner.", "enabled "), 0);
}
END_TEST

/* The same with 1-2 MiB blocks: runs of the large segments, whose frees tick the learner too. */
START_TEST(a_freed_heap_of_large_blocks_goes_back)
{
	freed_heap_goes_back(100, MIB + 1, MIB, 120, "large_shrinks ", 30);
}
END_TEST

/* @rounds of 100 B blocks made and freed by the thousand (bins refill and flush), 30 ms apart. */
static void busy_class_100(int rounds)
{
	static void *p[1000];

	for (int round = 0; round < rounds; round++) {
		for (int k = 0; k < 50; k++) {
			for (int i = 0; i < 1000; i++)
				p[i] = hak_malloc(100);
			for (int i = 0; i < 1000; i++)
				hak_free(p[i]);
		}
		usleep(30 * 1000);	/* ticks come every 50 ms */
	}
}

/*
 * Over HAKMEM_RSS_TARGET_MB (this process holds more than 1 MiB from its
 * first malloc on): pressure at its level 2, the tiny bins at their floor
 * (a busy class's bin too), and the learner says so.
 */
START_TEST(over_the_rss_target_everything_shrinks)
{
	setenv("HAKMEM_LEARN", "1", 1);
	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_RSS_TARGET_MB", "1", 1);
	busy_class_100(40);
	ck_assert_int_eq(unit_stat("learner.", "pressure_level "), 2);
	ck_assert_int_gt(unit_stat("learner.", "pressure_permille "), 1000);
	ck_assert_int_eq(unit_stat("learner.", "pressure_limit_bytes "), 1 << 20);
	ck_assert_int_gt(unit_stat("learner.", "pressure_returns "), 0);
	ck_assert_int_eq(unit_stat("learner.", "small_mode "), LEARN_PRESSURE);
	ck_assert_int_eq(unit_stat("learner.", "small_delay_ms "), 0);
	ck_assert_int_eq(unit_stat("learner.", "tiny_cap "), LEARN_CAP_MIN);
	ck_assert_uint_le(hak_tiny_tls.bins[hak_tiny_class(100)].cap, LEARN_CAP_MIN);
}
END_TEST

/* The same without a target: no pressure, the bins at HAKMEM_TINY_CACHE. */
START_TEST(without_a_target_no_pressure)
{
	setenv("HAKMEM_LEARN", "1", 1);
	setenv("HAKMEM_CHECK", "fast", 1);
	busy_class_100(40);
	ck_assert_int_eq(unit_stat("learner.", "pressure_level "), 0);
	ck_assert_int_eq(unit_stat("learner.", "pressure_returns "), 0);
	ck_assert_int_eq(unit_stat("learner.", "tiny_cap "), 128);
	ck_assert_uint_eq(hak_tiny_tls.bins[hak_tiny_class(100)].cap, 128);
}
END_TEST

/*
 * A thread fills its bin of 48 B blocks, then uses only 100 B blocks: once
 * the 48 B class was idle for LEARN_IDLE_MS the learner lowers its cap, and
 * a slow call of the thread's (on 100 B blocks) gives the bin's excess back.
 */
START_TEST(an_abandoned_class_gives_its_bin_back)
{
	enum { N = 1000, M = 300 };
	static void *p[N];
	const struct hak_bin *b = &hak_tiny_tls.bins[hak_tiny_class(48)];
	char line[40];
	double end;

	setenv("HAKMEM_LEARN", "1", 1);
	setenv("HAKMEM_CHECK", "fast", 1);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(p[i] = hak_malloc(48));
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	ck_assert_uint_gt(b->count, LEARN_CAP_MIN);
	end = now_s() + (LEARN_IDLE_MS + 1500) / 1000.0;
	while (now_s() < end) {	/* misses and overflows of 100 B blocks drive the ticks */
		for (int i = 0; i < M; i++)
			ck_assert_ptr_nonnull(p[i] = hak_malloc(100));
		for (int i = 0; i < M; i++)
			hak_free(p[i]);
		usleep(20 * 1000);
	}
	ck_assert_uint_eq(b->cap, LEARN_CAP_MIN);
	ck_assert_uint_le(b->count, LEARN_CAP_MIN);
	snprintf(line, sizeof(line), "learner.class%u(", hak_tiny_class(48));
	ck_assert_int_eq(unit_stat(line, "cap "), LEARN_CAP_MIN);
	ck_assert_int_eq(unit_stat(line, "batch "), LEARN_BATCH_MIN);
	ck_assert_int_eq(unit_stat(line, "decaying "), 1);
	snprintf(line, sizeof(line), "learner.class%u(", hak_tiny_class(100));
	ck_assert_int_eq(unit_stat(line, "cap "), 128);
	ck_assert_int_eq(unit_stat(line, "decaying "), 0);
	ck_assert_uint_eq(hak_tiny_tls.bins[hak_tiny_class(100)].cap, 128);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * Many threads, each hammering its own class (tiny to large) in bursts
 * that build and free a heap, while ticks run on whichever thread comes:
 * contents survive, the knobs stay in their bounds, the boxes check out.
 */
static void *one_class(void *arg)
{
	static const size_t sizes[] = { 24, 200, 1000, 12 << 10, 40 << 10, 200 << 10, 2 << 20 };
	unsigned t = (unsigned)(uintptr_t)arg;
	size_t size = sizes[t % (sizeof(sizes) / sizeof(sizes[0]))];
	unsigned n = (unsigned)HAK_MIN((size_t)4000, (16u << 20) / size);
	void **p = calloc(n, sizeof(void *));

	for (int round = 0; round < 6; round++) {
		for (unsigned i = 0; i < n; i++) {
			p[i] = hak_malloc(size);
			unit_fill(p[i], HAK_MIN(size, (size_t)256), t + i);
		}
		for (unsigned i = 0; i < n; i++) {
			ck_assert(unit_verify(p[i], HAK_MIN(size, (size_t)256), t + i));
			hak_free(p[i]);
		}
		usleep(20 * 1000);
	}
	free(p);
	return NULL;
}

START_TEST(many_threads_each_on_one_class)
{
	pthread_t th[16];

	setenv("HAKMEM_LEARN", "1", 1);
	setenv("HAKMEM_CHECK", "fast", 1);
	for (unsigned t = 0; t < 16; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, one_class, (void *)(uintptr_t)t), 0);
	for (unsigned t = 0; t < 16; t++)
		pthread_join(th[t], NULL);
	ck_assert_int_eq(hak_self_check(), 0);
	ck_assert_int_gt(unit_stat("learner.", "ticks "), 0);
	for (unsigned i = 0; i < LEARN_NTIERS; i++) {
		static const char *const tier[] = { "small", "pool", "medium", "large" };
		char key[40];

		snprintf(key, sizeof(key), "%s_delay_ms ", tier[i]);
		ck_assert_int_le(unit_stat("learner.", key), 1000);
		snprintf(key, sizeof(key), "%s_short_delay_ms ", tier[i]);
		ck_assert_int_le(unit_stat("learner.", key), 1000);
	}
	ck_assert_int_le(unit_stat("learner.", "medium_cache_bytes "), 16 << 20);
	ck_assert_int_le(unit_stat("learner.", "pool_cache_bytes "), 32 << 20);
	/* the last tick may have seen the heap shrink as the threads ended */
	ck_assert_int_ge(unit_stat("learner.", "tiny_cap "), LEARN_CAP_MIN);
	ck_assert_int_le(unit_stat("learner.", "tiny_cap "), 128);
	for (unsigned i = 0; i < 3; i++) {	/* the tiny classes the threads used */
		static const size_t tiny[] = { 24, 200, 1000 };
		char line[40];
		long cap, batch;

		snprintf(line, sizeof(line), "learner.class%u(", hak_tiny_class(tiny[i]));
		cap = unit_stat(line, "cap ");
		batch = unit_stat(line, "batch ");
		ck_assert_int_ge(cap, LEARN_CAP_MIN);
		ck_assert_int_le(cap, 128);
		ck_assert_int_ge(batch, 1);
		ck_assert_int_le(batch, cap / 2 + 1);
	}
}
END_TEST

Suite *learner_suite(void)
{
	Suite *s = suite_create("learner");
	TCase *tc = tcase_create("policy");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_shrink_returns_at_once);
	tcase_add_test(tc, the_first_second_wants_a_deep_fall);
	tcase_add_test(tc, a_shrink_caches_a_sixteenth_of_what_stays);
	tcase_add_test(tc, a_steady_pool_caches_with_its_live_heap);
	tcase_add_test(tc, a_shrink_ticks_more_often);
	tcase_add_test(tc, churn_raises_the_credit_and_a_build_resets_it);
	tcase_add_test(tc, a_small_shrink_lowers_the_tiny_bins);
	tcase_add_test(tc, churn_is_not_a_shrink);
	tcase_add_test(tc, regrets_lengthen_the_short_delay_within_bounds);
	tcase_add_test(tc, an_older_tick_is_not_a_long_wait);
	tcase_add_test(tc, bounds_hold_under_random_bursts);
	tcase_add_test(tc, pressure_shrinks_everything_then_lets_go);
	tcase_add_test(tc, tiny_classes_in_bounds_under_alternating_bursts);
	tcase_add_test(tc, a_class_hammered_then_abandoned);
	tcase_add_test(tc, the_batch_follows_misses_per_time_not_per_tick);
	tcase_add_test(tc, a_hot_class_falls_less_often);
	tcase_add_test(tc, classes_each_on_their_own);
	suite_add_tcase(s, tc);
	tc = tcase_create("box");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_freed_heap_goes_back);
	tcase_add_test(tc, without_the_learner_it_stays);
	tcase_add_test(tc, a_freed_heap_of_large_blocks_goes_back);
	tcase_add_test(tc, over_the_rss_target_everything_shrinks);
	tcase_add_test(tc, without_a_target_no_pressure);
	tcase_add_test(tc, an_abandoned_class_gives_its_bin_back);
	tcase_add_test(tc, many_threads_each_on_one_class);
	suite_add_tcase(s, tc);
	return s;
}
