/*
 * hak_tick.h - not a box: the learner's clock, and the demand tiers report.
 *
 * The clock: the tiers call hak_tick(now) from their slow paths, with no
 * lock held; when the period has passed, one of the callers runs the
 * function the learner registered (the others go on). With no learner the
 * next tick never comes: one load and a compare.
 */
#ifndef HAK_TICK_H
#define HAK_TICK_H

#include "hak_base.h"

extern HAK_HIDDEN _Atomic uint64_t hak_tick_next_ms;

void hak_tick_run(uint64_t now_ms);

/* Call from a slow path with no lock held; @now_ms is hak_sys_now_ms(). */
static inline void hak_tick(uint64_t now_ms)
{
	if (unlikely(now_ms >= hak_atomic_load_relaxed(&hak_tick_next_ms)))
		hak_tick_run(now_ms);
}

/**
 * struct hak_demand - what a tier has handed out, for the learner
 * @out:  bytes handed out since start-up (to threads' bins, or to callers)
 * @live: of those, bytes not back yet
 */
struct hak_demand {
	uint64_t out, live;
};

/*
 * Frees come in bursts shorter than a tick: so a tick is also due once the
 * tiers took back the bytes the learner allowed since its last one (its
 * credit). hak_tick_freed() counts them per thread and settles each
 * HAK_TICK_FREED_STEP; the next hak_tick() then runs the learner.
 */
#define HAK_TICK_FREED_STEP	(256u << 10)

extern HAK_TLS size_t hak_tick_freed_here;

void hak_tick_freed_settle(void);

/* @bytes went back to a tier (a flush, a large free): from a slow path. */
static inline void hak_tick_freed(size_t bytes)
{
	hak_tick_freed_here += bytes;
	if (unlikely(hak_tick_freed_here >= HAK_TICK_FREED_STEP))
		hak_tick_freed_settle();
}

/* hak_tick_credit() - the learner allows @bytes of frees until its next tick. */
void hak_tick_credit(int64_t bytes);

/*
 * hak_tick_register() - run @fn every @period_ms, on whichever slow path
 * comes first once it is due; NULL stops the ticks. At init, before any
 * slow path runs.
 */
void hak_tick_register(void (*fn)(uint64_t now_ms), uint64_t period_ms);

#endif /* HAK_TICK_H */
