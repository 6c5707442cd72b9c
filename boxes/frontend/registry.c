/*
 * registry.c - the box registry: the one ordered table of every box.
 *
 * Init runs bottom-up, thread exit and prefork top-down, postfork bottom-up;
 * stats and self-checks walk it in order. This is the only place a box is
 * listed; nothing else wires boxes by hand.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "../base/hak_base.h"
#include "../bigcache/bigcache.h"
#include "../medium/medium.h"
#include "../pool_p1_p4/pool.h"
#include "../regionmap/regionmap.h"
#include "../superslab/superslab.h"
#include "../sysmem/sysmem.h"
#include "../tiny/tiny.h"
#include "frontend_internal.h"

extern const struct hak_box hak_box_frontend;

static const struct hak_box *const hak_boxes[] = {
	&hak_box_sysmem,
	&hak_box_regionmap,
	&hak_box_superslab,
	&hak_box_bigcache,
	&hak_box_pool,
	&hak_box_medium,
	&hak_box_tiny,
	&hak_box_frontend,
};

#define NBOXES (sizeof(hak_boxes) / sizeof(hak_boxes[0]))

_Atomic int hak_state = HAK_DOWN;
struct hak_options hak_opt;
uint64_t hak_free_key;

size_t hak_registry_count(void)
{
	return NBOXES;
}

const struct hak_box *hak_registry_get(size_t i)
{
	return i < NBOXES ? hak_boxes[i] : NULL;
}

void hak_registry_thread_exit(void)
{
	for (size_t i = NBOXES; i-- > 0;)
		if (hak_boxes[i]->thread_exit)
			hak_boxes[i]->thread_exit();
}

static void prefork_all(void)
{
	for (size_t i = NBOXES; i-- > 0;)
		if (hak_boxes[i]->prefork)
			hak_boxes[i]->prefork();
}

static void postfork_parent_all(void)
{
	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->postfork_parent)
			hak_boxes[i]->postfork_parent();
}

static void postfork_child_all(void)
{
	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->postfork_child)
			hak_boxes[i]->postfork_child();
}

void hak_registry_stats(FILE *out)
{
	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->stats)
			hak_boxes[i]->stats(out);
}

int hak_registry_self_check(void)
{
	int errors = 0;

	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->self_check)
			errors += hak_boxes[i]->self_check();
	return errors;
}

static void verbose_print(void)
{
	char line[256];

	for (size_t i = 0; i < NBOXES; i++) {
		line[0] = 0;
		if (hak_boxes[i]->describe)
			hak_boxes[i]->describe(line, sizeof(line));
		fprintf(stderr, "hakmem: box %-10s layer %d  %s\n", hak_boxes[i]->name,
			hak_boxes[i]->layer, line);
	}
}

static uint64_t random_key(void)
{
	const void *r = (const void *)getauxval(AT_RANDOM);	/* 16 random bytes */
	uint64_t x = 0;

	if (r)
		memcpy(&x, r, sizeof(x));	/* not aligned */
	x ^= (uintptr_t)&hak_opt;

	/* splitmix64 finaliser: a key that no program writes by chance */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return (x ^ (x >> 31)) | 1;
}

/*
 * The first allocation of the process lands here. Nothing in the box inits
 * allocates, so a recursive call cannot happen before HAK_UP; other threads
 * wait. What may allocate (atfork, printing) runs once HAK_UP is set.
 */
void hak_init_slow(void)
{
	int expect = HAK_DOWN;

	if (!atomic_compare_exchange_strong(&hak_state, &expect, HAK_INITIALIZING)) {
		while (hak_atomic_load_acquire(&hak_state) != HAK_UP)
			sched_yield();
		return;
	}
	hak_options_parse(&hak_opt);
	hak_free_key = random_key();
	for (size_t i = 0; i < NBOXES; i++) {
		int err = hak_boxes[i]->init ? hak_boxes[i]->init(&hak_opt) : 0;

		if (err)
			hak_fatal("box %s failed to start (error %d)", hak_boxes[i]->name, -err);
	}
	hak_sys_set_thread_exit_hook(hak_registry_thread_exit);
	hak_atomic_store_release(&hak_state, HAK_UP);
	pthread_atfork(prefork_all, postfork_parent_all, postfork_child_all);
	if (hak_opt.v[HAK_OPT_HELP])
		hak_options_print(stderr, &hak_opt);
	if (hak_opt.v[HAK_OPT_VERBOSE])
		verbose_print();
	if (hak_opt.v[HAK_OPT_STATS])
		hak_stats_at_exit_prepare();
}
