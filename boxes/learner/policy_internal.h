/*
 * policy_internal.h - the learner's decisions, a pure function of what it
 * saw and of its own state (boxes/learner only, and its unit tests).
 *
 * Every tick learn_step() reads, per tier, the bytes handed out and still
 * live (struct hak_demand) and the memory pressure, and sets within the limits:
 *  - each tier's return delay: the option's value while the tier's live
 *    bytes hold or grow; a learned short delay while they are down to 3/4
 *    of their peak of the last LEARN_PEAK_MS or less (to half in the
 *    learner's first second, before any turnover is known), with a
 *    quarter of the fall or less taken since, in a tier that takes no more than
 *    twice that peak a second (a "shrink": memory freed then is not
 *    wanted back soon; a tier that turns its heap over faster frees and
 *    takes by turns). The short delay starts at
 *    0; when a tier grows back by half of what it gave up within
 *    LEARN_REGRET_MS of a shrink's last fall (a "regret"), it doubles (at least
 *    LEARN_DELAY_STEP_MS, at most the option); after LEARN_FORGET_MS
 *    without a regret it halves;
 *  - the pool, medium and large caches' bytes: the option's during steady
 *    use, a sixteenth of it or of the live bytes during a shrink (once the
 *    tier has learned not to return early, the whole);
 *  - each tiny class's bin capacity and refill batch: the capacity stays
 *    at the option while the class misses or overflows, halves each tick
 *    (down to LEARN_CAP_MIN) once it did neither for LEARN_IDLE_MS (doubled,
 *    up to LEARN_IDLE_MAX_MS, each time the class is used again within
 *    LEARN_REGRET_MS of a fall: a class its bins serve on the fast path
 *    also has no misses), and under pressure or while the small tier
 *    shrinks every class's is halved each tick; the batch doubles
 *    (up to cap/2+1) at LEARN_MISS_BUSY misses or more per LEARN_TICK_MS
 *    and halves (down to LEARN_BATCH_MIN) at fewer than LEARN_MISS_QUIET,
 *    looked at once LEARN_TICK_MS passed (ticks a burst brings forward
 *    come sooner);
 *  - under pressure (near a limit, or stalls in memory.pressure) delays
 *    shrink, caches and bins shrink, and the learner asks for returns now.
 */
#ifndef HAK_POLICY_INTERNAL_H
#define HAK_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/hak_tick.h"

#define LEARN_TICK_MS		50
#define LEARN_SHRINK_MIN	(4u << 20)	/* a fall of less is noise */
#define LEARN_PEAK_MS		1000
#define LEARN_CREDIT_MIN	(4u << 20)	/* net frees or allocations between ticks, at least */
#define LEARN_CREDIT_SHRINK	(512u << 10)	/* ... while a tier shrinks */
#define LEARN_CHURN_MAX		6	/* churn doubles the credit up to 64 times */
#define LEARN_POOL_CACHE_LIVE	4	/* the pool's steady cache: up to 4 times its live bytes */
#define LEARN_CACHE_GROW	8	/* a steady cache grown with the live bytes: at most this many options */
#define LEARN_SHRINK_CACHE	16	/* a shrinking tier's cache: this part of the option or of the live bytes */
#define LEARN_REGRET_MS		5000
#define LEARN_FORGET_MS		30000
#define LEARN_DELAY_STEP_MS	100
#define LEARN_CAP_MIN		16	/* a tiny bin's floor (or the option, if lower) */
#define LEARN_BATCH_MIN		8	/* a tiny refill batch's (or cap/2+1, if lower) */
#define LEARN_MISS_BUSY		8	/* misses per LEARN_TICK_MS of a class whose batch doubles */
#define LEARN_MISS_QUIET	2	/* fewer: its batch halves */
#define LEARN_IDLE_MS		2000	/* no miss nor overflow for this long: the cap falls */
#define LEARN_IDLE_MAX_MS	32000	/* ... at most, once used again soon after a fall */
#define LEARN_TINY_CLASSES	32

enum learn_tier { LEARN_SMALL, LEARN_POOL, LEARN_MEDIUM, LEARN_LARGE, LEARN_NTIERS };
enum learn_mode { LEARN_STEADY, LEARN_SHRINK, LEARN_PRESSURE };

/**
 * struct learn_limits - the hard bounds, from the options
 * @delay_max:  each tier's return delay option: the longest delay
 * @cache_max:  the pool, medium and large caches' bytes options (0: none)
 * @cache_live: a steady tier's cache may be this many times its live bytes
 *              where that is more than its option, up to LEARN_CACHE_GROW
 *              times the option (0: the option is the most)
 * @front:      the bytes a thread's bins in front of the tier may hold (a
 *              fall of no more is not a shrink)
 * @cap_base:   HAKMEM_TINY_CACHE (0: bins do not cache; caps stay 0)
 */
struct learn_limits {
	uint64_t delay_max[LEARN_NTIERS];
	uint64_t cache_max[LEARN_NTIERS];
	unsigned cache_live[LEARN_NTIERS];
	uint64_t front[LEARN_NTIERS];
	unsigned cap_base;
};

/**
 * struct learn_input - one tick's reading
 * @demand:   each tier's bytes out and live
 * @permille: nearness to a limit (struct hak_pressure)
 * @psi_some: memory.pressure's some avg10, in hundredths of a percent
 * @tiny_misses, @tiny_overflows: each tiny class's, since start-up
 */
struct learn_input {
	uint64_t now_ms;
	struct hak_demand demand[LEARN_NTIERS];
	uint32_t permille, psi_some;
	uint64_t tiny_misses[LEARN_TINY_CLASSES], tiny_overflows[LEARN_TINY_CLASSES];
};

/* A tier's state and its decisions (@mode, @delay, @cache). */
struct learn_tier_state {
	uint64_t last_live;
	uint64_t peak, peak_ms;	/* the live bytes' peak, and when */
	uint64_t peak_out;	/* the bytes out then */
	uint64_t win_out, win_ms;	/* bytes out at the start of this second */
	uint64_t turnover;	/* bytes taken in the last whole second */
	bool timed;		/* a whole second's turnover is known */
	bool fell;		/* at this tick */
	bool shrinking;
	uint64_t freed;		/* bytes the live fell in the last shrink; 0 once
				 * no regret can come */
	uint64_t fall_ms;	/* its last fall */
	uint64_t regrow;	/* bytes the live rose since */
	uint64_t calm_ms;	/* the last regret, or forgetting */
	uint64_t short_delay;
	uint64_t shrinks, regrets;
	enum learn_mode mode;
	uint64_t delay, cache;
};

/*
 * A tiny class: its slow calls at the last tick, its last tick with one,
 * and its decisions (@idle: its cap falls for want of use).
 */
struct learn_class {
	uint64_t misses, overflows;
	uint64_t tick_misses;	/* at the last tick */
	uint64_t busy_ms;
	uint64_t hold_ms;	/* how long unused before the cap falls */
	uint64_t fall_ms;	/* when it began to fall last */
	uint64_t batch_ms, batch_misses;	/* the batch's last change, and the misses then */
	bool idle;
	unsigned cap, batch;
};

/*
 * What the learner knows; all zero at first. @level: 0 none, 1 near, 2 at
 * a limit. @tiny_cap: the ceiling of every tiny class's cap (the option,
 * halved under pressure).
 */
struct learn_state {
	bool started;
	unsigned level;
	uint64_t now_ms;	/* the latest tick's */
	uint64_t out, live;	/* all tiers' bytes out, and live and held, then */
	unsigned churn;		/* ticks in a row that found churn, up to LEARN_CHURN_MAX */
	unsigned tiny_cap;
	struct learn_tier_state tier[LEARN_NTIERS];
	struct learn_class tiny[LEARN_TINY_CLASSES];
};

/*
 * learn_credit() - the bytes freed or taken, net, that bring the next tick
 * forward (hak_tick_credit()), @live the tiers' live and bins' bytes: an eighth
 * of them (at least LEARN_CREDIT_MIN), a 64th (at least LEARN_CREDIT_SHRINK)
 * while a tier shrinks, for what is freed after the last tick of a shrink
 * waits for the next slow path, which may never come. Churn doubles the
 * steady credit at each tick that finds it (more bytes went out since the
 * last tick than twice what the live moved): a heap of a few big blocks
 * turned over spends an eighth of itself, net, every few blocks, with no
 * build or fall to see.
 */
uint64_t learn_credit(const struct learn_state *st, uint64_t live);

/*
 * learn_step() - one tick: update @st from @in and set its decisions.
 * Returns true when memory should go back now (pressure).
 */
bool learn_step(const struct learn_limits *lim, struct learn_state *st,
		const struct learn_input *in);

#endif /* HAK_POLICY_INTERNAL_H */
