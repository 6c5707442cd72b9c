/*
 * learner.h - the learner: cache sizes and return delays that follow the
 * program's demand and the memory pressure it runs under. Layer 4.
 *
 * It reads the tiers' counters and sets their knobs through their public
 * headers, on a tick the tiers' slow paths trigger; nothing on a fast path.
 * HAKMEM_LEARN=0 leaves every knob at its option's value.
 */
#ifndef HAK_LEARNER_H
#define HAK_LEARNER_H

#include "../base/hak_box.h"

extern const struct hak_box hak_box_learner;

#endif /* HAK_LEARNER_H */
