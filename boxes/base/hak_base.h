/*
 * hak_base.h - not a box: compiler helpers shared by every box.
 *
 * Branch hints, fast/slow path markers, graded assertions, compile-time
 * checks and atomics whose name carries the memory order (never an argument).
 */
#ifndef HAK_BASE_H
#define HAK_BASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem_config.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#if AGGRESSIVE_INLINE
#define HAK_FAST_PATH	static inline __attribute__((always_inline))
#else
#define HAK_FAST_PATH	static inline
#endif
#define HAK_SLOW_PATH	__attribute__((noinline, cold))
#define HAK_EXPORT	__attribute__((visibility("default")))
/*
 * On malloc and free: each starts a cache line, so that a change elsewhere
 * in the library does not move their fast paths across fetch boundaries
 * (measured: 3 % on bench_sweep 1 16 1k from such a move alone).
 */
#define HAK_ENTRY	__attribute__((aligned(64)))
/* On extern data the fast paths read: lets -fPIC code address it directly. */
#define HAK_HIDDEN	__attribute__((visibility("hidden")))
#define HAK_TLS		__thread __attribute__((tls_model("initial-exec")))

#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), #cond)

#define HAK_MIN(a, b)	((a) < (b) ? (a) : (b))
#define HAK_MAX(a, b)	((a) > (b) ? (a) : (b))
#define HAK_ALIGN_UP(x, a)	(((x) + ((a) - 1)) & ~((uintptr_t)(a) - 1))
#define HAK_IS_POW2(x)	((x) != 0 && ((x) & ((x) - 1)) == 0)

/* Every pointer HAKMEM returns is aligned to this (glibc's guarantee). */
#define HAK_MIN_ALIGN	16

/*
 * hak_assert() is on in HAK_DEBUG builds only; the condition is still
 * type-checked in release builds.
 */
void hak_assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn, cold));
#define hak_assert(e)							\
	do {								\
		if (HAK_DEBUG && unlikely(!(e)))			\
			hak_assert_fail(#e, __FILE__, __LINE__);	\
	} while (0)

/* Atomics: the memory order is part of the name. */
#define hak_atomic_load_relaxed(p)	atomic_load_explicit(p, memory_order_relaxed)
#define hak_atomic_load_acquire(p)	atomic_load_explicit(p, memory_order_acquire)
#define hak_atomic_store_relaxed(p, v)	atomic_store_explicit(p, v, memory_order_relaxed)
#define hak_atomic_store_release(p, v)	atomic_store_explicit(p, v, memory_order_release)
#define hak_atomic_add_relaxed(p, v)	atomic_fetch_add_explicit(p, v, memory_order_relaxed)
#define hak_atomic_sub_relaxed(p, v)	atomic_fetch_sub_explicit(p, v, memory_order_relaxed)
#define hak_atomic_or_acq_rel(p, v)	atomic_fetch_or_explicit(p, v, memory_order_acq_rel)
#define hak_atomic_and_acq_rel(p, v)	atomic_fetch_and_explicit(p, v, memory_order_acq_rel)
#define hak_atomic_cas_acq_rel(p, e, v)					\
	atomic_compare_exchange_strong_explicit(p, e, v,		\
		memory_order_acq_rel, memory_order_acquire)

/* A counter that statistics read and slow paths bump. */
typedef _Atomic uint64_t hak_counter_t;
#define hak_count(c, n)	hak_atomic_add_relaxed(&(c), (n))

/*
 * hak_report() - print "hakmem: <msg>" to stderr without allocating.
 * Safe inside malloc: formats into a stack buffer and write(2)s it.
 */
void hak_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * hak_fatal() - report bad input or corruption, print a backtrace (builds
 * with HAK_BACKTRACE) and abort(). Call with no lock held.
 */
void hak_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn, cold));

#endif /* HAK_BASE_H */
