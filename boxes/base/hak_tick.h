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
 * @held: bytes in threads' bins, left out of @live (0 where counted in it):
 *        refills and flushes move them, so the tick credit counts them
 */
struct hak_demand {
	uint64_t out, live, held;
};

/*
 * Frees and allocations come in bursts shorter than a tick: so a tick is
 * also due once the tiers took back, net, the bytes the learner allowed
 * since its last one (its credit), or handed out as much, net. Each thread
 * counts what it gave back less what it took (hak_tick_freed(),
 * hak_tick_taken(), from slow paths) and settles each HAK_TICK_STEP either
 * way; the next hak_tick() after the credit ran out or doubled runs the
 * learner. Churn moves the credit back and forth; a burst uses it up or
 * doubles it, so the learner sees the top of a build that ends between two
 * ticks, and the fall after it.
 */
#define HAK_TICK_STEP	(256 << 10)

extern HAK_TLS long hak_tick_net;

void hak_tick_settle(void);

static inline void hak_tick_freed(size_t bytes)
{
	hak_tick_net += (long)bytes;
	if (unlikely(hak_tick_net >= HAK_TICK_STEP))
		hak_tick_settle();
}

static inline void hak_tick_taken(size_t bytes)
{
	hak_tick_net -= (long)bytes;
	if (unlikely(hak_tick_net <= -HAK_TICK_STEP))
		hak_tick_settle();
}

/* hak_tick_credit() - the learner allows @bytes, net, either way until its next tick. */
void hak_tick_credit(int64_t bytes);

/*
 * hak_tick_register() - run @fn every @period_ms, on whichever slow path
 * comes first once it is due. At init, before any slow path runs.
 */
void hak_tick_register(void (*fn)(uint64_t now_ms), uint64_t period_ms);

#endif /* HAK_TICK_H */
