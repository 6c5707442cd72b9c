/*
 * override.c - the libc and C++ names, forwarding to hak_*. Only in
 * libhakmem.a and libhakmem.so (not in the unit-test library, and not when
 * HAKMEM_FORCE_LIBC_ALLOC_BUILD lets a sanitizer own malloc). Each wrapper
 * compiles to a single tail jump (mallinfo converts mallinfo2's fields);
 * malloc and free themselves are aliases in frontend.c, with no jump at all.
 *
 * C++: operator new throws std::bad_alloc through libstdc++'s own thrower,
 * found as a weak symbol so C programs need no libstdc++; this file is built
 * with -fexceptions so the exception can pass through it. The nothrow forms
 * of new are libstdc++'s own: they call the throwing form (ours) and turn
 * its exception, or the new_handler's, into nullptr - which C cannot
 * catch; a nothrow new that skipped the new_handler would break the
 * standard's contract (the handler runs, then nullptr). Sized deletes
 * ignore the size: free() finds the block's class itself, so a wrong size
 * cannot corrupt the heap.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "../base/hak_base.h"
#include "hakmem.h"

#if !HAKMEM_FORCE_LIBC_ALLOC_BUILD

/* malloc and free are aliases of hak_malloc and hak_free in frontend.c. */
HAK_EXPORT void *calloc(size_t n, size_t s) { return hak_calloc(n, s); }
HAK_EXPORT void *realloc(void *p, size_t n) { return hak_realloc(p, n); }
HAK_EXPORT void *reallocarray(void *p, size_t n, size_t s) { return hak_reallocarray(p, n, s); }
HAK_EXPORT int posix_memalign(void **out, size_t a, size_t n) { return hak_posix_memalign(out, a, n); }
HAK_EXPORT void *aligned_alloc(size_t a, size_t n) { return hak_aligned_alloc(a, n); }
HAK_EXPORT void *memalign(size_t a, size_t n) { return hak_memalign(a, n); }
HAK_EXPORT void *valloc(size_t n) { return hak_valloc(n); }
HAK_EXPORT void *pvalloc(size_t n) { return hak_pvalloc(n); }
HAK_EXPORT size_t malloc_usable_size(void *p) { return hak_malloc_usable_size(p); }
HAK_EXPORT void cfree(void *p) { hak_free(p); }

HAK_EXPORT void malloc_stats(void) { hak_malloc_stats(); }
HAK_EXPORT struct mallinfo2 mallinfo2(void) { return hak_mallinfo2(); }
HAK_EXPORT int malloc_trim(size_t pad) { return hak_malloc_trim(pad); }
HAK_EXPORT int mallopt(int param, int value) { return hak_mallopt(param, value); }
HAK_EXPORT int malloc_info(int options, FILE *out) { return hak_malloc_info(options, out); }

/* glibc's older mallinfo, int fields (deprecated, still called): mallinfo2's, clamped. */
static int clamp_int(size_t v)
{
	return v < INT_MAX ? (int)v : INT_MAX;
}

HAK_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = hak_mallinfo2();
	struct mallinfo m = { 0 };

	m.arena = clamp_int(m2.arena);
	m.hblks = clamp_int(m2.hblks);
	m.hblkhd = clamp_int(m2.hblkhd);
	m.uordblks = clamp_int(m2.uordblks);
	m.fordblks = clamp_int(m2.fordblks);
	m.keepcost = clamp_int(m2.keepcost);
	return m;
}

/* glibc's internal names: no glibc path may hand out a pointer HAKMEM cannot free. */
HAK_EXPORT void *__libc_malloc(size_t n) { return hak_malloc(n); }
HAK_EXPORT void __libc_free(void *p) { hak_free(p); }
HAK_EXPORT void *__libc_calloc(size_t n, size_t s) { return hak_calloc(n, s); }
HAK_EXPORT void *__libc_realloc(void *p, size_t n) { return hak_realloc(p, n); }
HAK_EXPORT void *__libc_memalign(size_t a, size_t n) { return hak_memalign(a, n); }
HAK_EXPORT void *__libc_valloc(size_t n) { return hak_valloc(n); }
HAK_EXPORT void *__libc_pvalloc(size_t n) { return hak_pvalloc(n); }
HAK_EXPORT int __posix_memalign(void **out, size_t a, size_t n) { return hak_posix_memalign(out, a, n); }

/* ------------------------------------------------------------- C++ */

typedef void (*new_handler_fn)(void);
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* operator new failed: run the new_handler until it gives up, then throw. */
static HAK_SLOW_PATH void *new_slow(size_t n, size_t align)
{
	void *p = NULL;

	while (!p) {
		new_handler_fn h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;

		if (!h) {
			if (_ZSt17__throw_bad_allocv)
				_ZSt17__throw_bad_allocv();
			hak_fatal("operator new(%zu): out of memory", n);
		}
		h();
		p = align ? hak_memalign(align, n) : hak_malloc(n);
	}
	return p;
}

static inline void *new_impl(size_t n)
{
	void *p = hak_malloc(n);

	return likely(p) ? p : new_slow(n, 0);
}

static inline void *new_aligned(size_t n, size_t a)
{
	void *p = hak_memalign(a, n);

	return likely(p) ? p : new_slow(n, a);
}

#define NOTHROW_T const void *	/* const std::nothrow_t & */

HAK_EXPORT void *_Znwm(size_t n) { return new_impl(n); }
HAK_EXPORT void *_Znam(size_t n) { return new_impl(n); }
HAK_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a) { return new_aligned(n, a); }
HAK_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a) { return new_aligned(n, a); }

HAK_EXPORT void _ZdlPv(void *p) { hak_free(p); }
HAK_EXPORT void _ZdaPv(void *p) { hak_free(p); }
HAK_EXPORT void _ZdlPvm(void *p, size_t n) { (void)n; hak_free(p); }
HAK_EXPORT void _ZdaPvm(void *p, size_t n) { (void)n; hak_free(p); }
HAK_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, NOTHROW_T t) { (void)t; hak_free(p); }
HAK_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, NOTHROW_T t) { (void)t; hak_free(p); }
HAK_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) { (void)a; hak_free(p); }
HAK_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) { (void)a; hak_free(p); }
HAK_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n; (void)a; hak_free(p); }
HAK_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n; (void)a; hak_free(p); }
HAK_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, NOTHROW_T t) { (void)a; (void)t; hak_free(p); }
HAK_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, NOTHROW_T t) { (void)a; (void)t; hak_free(p); }

#endif /* !HAKMEM_FORCE_LIBC_ALLOC_BUILD */
