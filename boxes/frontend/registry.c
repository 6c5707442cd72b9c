/*
 * registry.c - the box registry: the one ordered table of every box.
 *
 * Init runs bottom-up, thread exit, reclaim, decay and prefork top-down,
 * postfork bottom-up; stats and self-checks walk it in order. This is the only place a box is
 * listed; nothing else wires boxes by hand.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include "../base/hak_base.h"
#include "../base/hak_lock.h"
#include "../bigcache/bigcache.h"
#include "../learner/learner.h"
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
	&hak_box_learner,
	&hak_box_frontend,
};

#define NBOXES (sizeof(hak_boxes) / sizeof(hak_boxes[0]))
#define EXIT_DECAY_MS	16	/* the least time between two thread exits' decays */

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

/*
 * Every box's decay op, top-down (a tier's caches go to the box below
 * before that box's decay runs): what idled past each box's delay at
 * @now_ms goes back to the OS, a bounded amount per box. Returns the bytes.
 */
size_t hak_registry_decay(uint64_t now_ms)
{
	size_t bytes = 0;

	for (size_t i = NBOXES; i-- > 0;)
		if (hak_boxes[i]->decay)
			bytes += hak_boxes[i]->decay(now_ms);
	return bytes;
}

/*
 * A thread exits: its caches go back, then every box decays once, so that
 * what idles in a box this process no longer uses (large mappings after
 * the program moved on to small blocks) goes back at the latest when a
 * thread ends, beyond the boxes' own slow paths. At most once every
 * EXIT_DECAY_MS over all threads: a program that starts a thread per task
 * walked every box at each exit (a fifth of the allocator's time in
 * bench_churn) for memory that idles a delay far longer.
 */
static void thread_exit_hook(void)
{
	static _Atomic uint64_t decay_ms;
	uint64_t now, last = hak_atomic_load_relaxed(&decay_ms);

	hak_registry_thread_exit();
	now = hak_sys_now_ms();
	if (now >= last + EXIT_DECAY_MS && hak_atomic_cas_acq_rel(&decay_ms, &last, now))
		hak_registry_decay(now);
}

/*
 * Out of memory (or malloc_trim): this thread's caches go back first, then
 * what every box keeps idle. Returns the bytes given back.
 */
size_t hak_registry_reclaim(void)
{
	size_t bytes = 0;

	hak_registry_thread_exit();
	for (size_t i = NBOXES; i-- > 0;)
		if (hak_boxes[i]->reclaim)
			bytes += hak_boxes[i]->reclaim();
	return bytes;
}

/*
 * fork(), as glibc's own malloc does it (see docs/ARCHITECTURE.md, Locks):
 * a single-threaded process (one that never started a thread) takes no lock,
 * so that a fork from a signal handler cannot wait for a lock its own thread
 * holds; otherwise stdio's list lock comes first (glibc takes it after the
 * prepare handlers, so taking ours before it would close a cycle with
 * fflush(NULL) and a stdio call that allocates). The list lock is recursive: fork's own take nests;
 * the parent handler drops ours. In the child glibc resets it only if it took
 * it, by its own test made before any prepare handler ran: a handler run
 * before ours may have started a thread since, so ours resets it too.
 */
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);
extern void _IO_list_resetlock(void);

static bool fork_locked;	/* the prefork handler took the locks */
static int locks_before_fork;	/* hak_locks_held before it took them */

static void prefork_all(void)
{
	fork_locked = !__libc_single_threaded;	/* glibc's test, made before this runs */
	if (!fork_locked)
		return;
	locks_before_fork = hak_locks_held;
	_IO_list_lock();
	for (size_t i = NBOXES; i-- > 0;)
		if (hak_boxes[i]->prefork)
			hak_boxes[i]->prefork();
}

static void postfork_parent_all(void)
{
	if (!fork_locked)
		return;
	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->postfork_parent)
			hak_boxes[i]->postfork_parent();
	_IO_list_unlock();
}

static void postfork_child_all(void)
{
	if (!fork_locked)
		return;
	for (size_t i = 0; i < NBOXES; i++)
		if (hak_boxes[i]->postfork_child)
			hak_boxes[i]->postfork_child();
	hak_locks_held = locks_before_fork;	/* the boxes made theirs anew */
	_IO_list_resetlock();	/* harmless after glibc's own reset */
}

void hak_registry_stats(struct hak_stats_sink *s)
{
	for (size_t i = 0; i < NBOXES; i++) {	/* every box, so that data readers see them all */
		s->box_begin(s, hak_boxes[i]->name);
		if (hak_boxes[i]->stats)
			hak_boxes[i]->stats(s);
		s->box_end(s);
	}
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

/*
 * The double-free key written into freed tiny blocks, from random bytes of
 * its own: not AT_RANDOM's, which also seed the stack-protector canary (a
 * use-after-free read of the key would leak them). Should getrandom() fail
 * (a seccomp filter, an old kernel), the clock, the pid and ASLR addresses
 * stand in.
 */
static uint64_t random_key(void)
{
	uint64_t x = 0;
	struct timespec t;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		x = ((uint64_t)t.tv_sec << 32 ^ (uint64_t)t.tv_nsec) * 0x9e3779b97f4a7c15ull;
		x ^= (uint64_t)getpid() << 40 ^ (uintptr_t)&t;
	}
	x ^= (uintptr_t)&hak_opt;

	/* splitmix64 finaliser: a key that no program writes by chance */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return (x ^ (x >> 31)) | 1;
}

/*
 * Claim the initialisation: true if this thread is to run it, false once
 * another has finished it. The claim names the claiming process, so that
 * the child of a fork() made while another thread was initialising (that
 * thread is not in the child, and the atfork handlers are not registered
 * yet) takes the initialisation over instead of waiting forever.
 */
static bool init_claim(void)
{
	int mine = hak_state_initializing(getpid()), s = HAK_DOWN;

	for (;;) {
		if (s == HAK_UP)
			return false;
		if (s == mine) {	/* a thread of this process has it: wait */
			sched_yield();
			s = hak_atomic_load_acquire(&hak_state);
		} else if (hak_atomic_cas_acq_rel(&hak_state, &s, mine)) {
			return true;	/* it was down, or another process's claim */
		}
	}
}

/*
 * The first allocation of the process lands here. Nothing in the box inits
 * allocates, so a recursive call cannot happen before HAK_UP; other threads
 * wait. What may allocate (atfork, printing) runs once HAK_UP is set. The
 * inits can run again over a half-done one (a fork child's takeover).
 */
void hak_init_slow(void)
{
	if (!init_claim())
		return;
	hak_options_parse(&hak_opt);
	hak_free_key = random_key();
	for (size_t i = 0; i < NBOXES; i++) {
		int err = hak_boxes[i]->init ? hak_boxes[i]->init(&hak_opt) : 0;

		if (err)
			hak_fatal("box %s failed to start (error %d)", hak_boxes[i]->name, -err);
	}
	hak_sys_set_thread_exit_hook(thread_exit_hook);
	hak_atomic_store_release(&hak_state, HAK_UP);
	pthread_atfork(prefork_all, postfork_parent_all, postfork_child_all);
	if (hak_opt.v[HAK_OPT_HELP])
		hak_options_print(stderr, &hak_opt);
	if (hak_opt.v[HAK_OPT_VERBOSE])
		verbose_print();
	if (hak_opt.v[HAK_OPT_STATS])
		hak_stats_at_exit_prepare();
}
