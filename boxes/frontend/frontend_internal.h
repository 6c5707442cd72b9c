/*
 * frontend_internal.h - shared by the frontend's files only. Layer 5: the
 * frontend may include every box's contract.
 */
#ifndef HAK_FRONTEND_INTERNAL_H
#define HAK_FRONTEND_INTERNAL_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

/* HAK_INITIALIZING is tagged with the initialising process (registry.c). */
enum hak_state { HAK_DOWN, HAK_INITIALIZING, HAK_UP };

static inline int hak_state_initializing(int pid)
{
	return HAK_INITIALIZING | pid << 2;
}

extern HAK_HIDDEN _Atomic int hak_state;
extern HAK_HIDDEN struct hak_options hak_opt;

/* registry.c */
void hak_init_slow(void);
void hak_registry_stats(struct hak_stats_sink *s);
int hak_registry_self_check(void);
void hak_registry_thread_exit(void);
size_t hak_registry_reclaim(void);
size_t hak_registry_decay(uint64_t now_ms);
size_t hak_registry_count(void);
const struct hak_box *hak_registry_get(size_t i);

/* glibc.c */
void hak_stats_at_exit_prepare(void);

/* options.c */
void hak_options_parse(struct hak_options *opt);
void hak_options_print(FILE *out, const struct hak_options *opt);
const char *hak_option_path(enum hak_option_id id);


#endif /* HAK_FRONTEND_INTERNAL_H */
