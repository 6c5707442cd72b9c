/*
 * hak_lock.h - not a box: the mutex calls every box uses for the locks that
 * another thread's malloc or free may wait for.
 *
 * HAK_DEBUG builds count the locks each thread holds, so that sysmem can
 * assert that no system call is made under one (docs/ARCHITECTURE.md,
 * Locks). Release builds compile the count out: these are the bare
 * pthread calls.
 *
 * A static lock needs no pthread_mutex_init(): glibc's
 * PTHREAD_MUTEX_INITIALIZER is all zero bytes (a unit test checks), so a
 * lock in .bss is ready as it is, and its page is first touched by the
 * thread that takes it (a start-up that wrote every shard's lock faulted
 * in pages a single-threaded program never uses). fork's child handlers
 * do re-initialise the locks the parent's handlers held.
 */
#ifndef HAK_LOCK_H
#define HAK_LOCK_H

#include <pthread.h>

#include "hak_base.h"

/* Locks this thread holds (HAK_DEBUG builds only; 0 otherwise). */
extern HAK_TLS int hak_locks_held;

static inline void hak_lock(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	if (HAK_DEBUG)
		hak_locks_held++;
}

/* 0 when taken, as pthread_mutex_trylock(). */
static inline int hak_trylock(pthread_mutex_t *m)
{
	int err = pthread_mutex_trylock(m);

	if (HAK_DEBUG && !err)
		hak_locks_held++;
	return err;
}

static inline void hak_unlock(pthread_mutex_t *m)
{
	if (HAK_DEBUG)
		hak_locks_held--;
	pthread_mutex_unlock(m);
}

/* hak_assert() that the calling thread holds none of these locks. */
#define hak_assert_no_lock()	hak_assert(hak_locks_held == 0)

#endif /* HAK_LOCK_H */
