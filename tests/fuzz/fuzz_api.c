/*
 * fuzz_api.c - libFuzzer target (issue 16, deliver 2): the input is a
 * sequence of calls of every entry point (the hak_* twins of malloc, free,
 * calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc, malloc_usable_size, malloc_trim), with sizes and
 * alignments across all tiers, run by this thread, by 2-3 worker threads
 * at once (which free the main thread's blocks and leave theirs behind) and
 * in a fork child, all checked against a shadow model: each live block's
 * contents (a fill pattern), usable size >= the request, alignment, no
 * overlap with another live block, calloc's zeroes, realloc's copy, and
 * errno (ENOMEM or EINVAL, and only for requests that cannot be served).
 * Any difference aborts, so libFuzzer reports it with the input.
 *
 * Built by tests/fuzz/run.sh (./build.sh fuzz) with HAKMEM's sources.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define NSLOTS 48
#define LIVE_MAX (160 * MiB)	/* bytes live at once: more is skipped */
#define FORK_WAIT_MS 10000

struct slot {
	unsigned char *p;
	size_t n;		/* bytes asked for */
	uint32_t seed;
};

static struct slot slots[NSLOTS];
static _Atomic size_t live_bytes;
static _Atomic uint32_t seeds;

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_api: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ------------------------------------------------------------ the input */

struct reader {
	const uint8_t *d;
	size_t len, pos;
};

static unsigned get8(struct reader *r)
{
	return r->pos < r->len ? r->d[r->pos++] : 0;
}

static unsigned get16(struct reader *r)
{
	return get8(r) | get8(r) << 8;
}

/* Class boundaries of every tier, each also asked for +-1. */
static const size_t edges[] = {
	16, 128, 1024, 52 * KiB, 512 * KiB, 2 * MiB - 64, 2 * MiB, 4 * MiB, 32 * MiB,
};
/* No address space holds these. */
static const size_t huge[] = {
	SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2 + 1, (size_t)1 << 47, (size_t)1 << 50,
	SIZE_MAX - 2 * MiB,
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static size_t pick_size(struct reader *r)
{
	unsigned t = get8(r);
	size_t x = get16(r) | (size_t)get8(r) << 16;

	switch (t & 7) {
	case 0: return x % 17;					/* 0..16 */
	case 1: return 1 + x % 1024;				/* tiny */
	case 2: return 1025 + x % (52 * KiB - 1024);		/* pool */
	case 3: return 52 * KiB + 1 + x % (460 * KiB);		/* segments */
	case 4: return 512 * KiB + 1 + x % (4 * MiB);		/* large */
	case 5: return 8 * MiB + x % (16 * MiB);		/* large, 8 MiB+ */
	case 6: return edges[x % NELEM(edges)] + (t >> 3) % 3 - 1;
	default: return huge[x % NELEM(huge)];
	}
}

/* Powers of two 1 B .. 32 MiB, some not powers of two, one absurd. */
static size_t pick_align(struct reader *r)
{
	unsigned a = get8(r);

	if (a == 0xff)
		return (size_t)1 << 63;
	if (a & 0x80)
		return ((size_t)1 << (a % 24)) * 3;
	return (size_t)1 << (a % 26);
}

/* A request this small must succeed (there is memory to spare). */
static bool servable(size_t n)
{
	return n <= LIVE_MAX;
}

static bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

/* ------------------------------------------------------------ the model */

/* The pattern of a block: all of a small one; the ends and every page of a big one. */
static size_t step_at(size_t i, size_t n)
{
	return n <= 64 * KiB || i < 4096 || n - i <= 4096 ? 1 : 4093;
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i += step_at(i, n))
		p[i] = (unsigned char)(seed + i * 31 + (i >> 8));
}

/* The pattern of an @n byte block is in place below @upto. */
static void verify(const unsigned char *p, size_t n, uint32_t seed, size_t upto, const char *when)
{
	for (size_t i = 0; i < upto; i += step_at(i, n))
		if (p[i] != (unsigned char)(seed + i * 31 + (i >> 8)))
			fail("%s: block %p (%zu B) byte %zu changed", when, (void *)p, n, i);
}

static void check_new(const char *api, void *p, size_t n, size_t align, int lo, int hi)
{
	size_t usable = hak_malloc_usable_size(p);

	if ((uintptr_t)p % (align < 16 ? 16 : align))
		fail("%s(%zu, align %zu) = %p: misaligned", api, n, align, p);
	if (usable < n)
		fail("%s(%zu) = %p: usable size %zu", api, n, p, usable);
	/* another live block of this thread's part of the model must not overlap */
	for (int i = lo; i < hi; i++)
		if (slots[i].p && (unsigned char *)p < slots[i].p + (slots[i].n ? slots[i].n : 1) &&
		    slots[i].p < (unsigned char *)p + (n ? n : 1))
			fail("%s(%zu) = %p overlaps live block %p (%zu B)", api, n, p,
			     (void *)slots[i].p, slots[i].n);
}

/* NULL from @api: errno must be one of the two errors, and the request must be one that can fail. */
static void check_null(const char *api, size_t n, size_t align, int err, bool align_ok)
{
	if (err != ENOMEM && err != EINVAL)
		fail("%s(%zu, align %zu): NULL with errno %d", api, n, align, err);
	if ((err == EINVAL) != !align_ok)
		fail("%s(%zu, align %zu): errno %d for a%s alignment", api, n, align, err,
		     align_ok ? " valid" : "n invalid");
	if (servable(n) && align <= 32 * MiB && align_ok)
		fail("%s(%zu, align %zu): NULL (errno %d) for a request that fits", api, n, align, err);
}

static void put(struct slot *s, unsigned char *p, size_t n)
{
	s->p = p;
	s->n = n;
	s->seed = atomic_fetch_add(&seeds, 0x9e3779b9u);
	fill(p, n, s->seed);
	atomic_fetch_add(&live_bytes, n);
}

static void drop(struct slot *s, const char *when)
{
	if (!s->p)
		return;
	verify(s->p, s->n, s->seed, s->n, when);
	hak_free(s->p);
	atomic_fetch_sub(&live_bytes, s->n);
	s->p = NULL;
}

/* Room for @n more live bytes; requests no address space holds are always tried (they fail). */
static bool room(size_t n)
{
	return n >> 47 || atomic_load(&live_bytes) + n <= LIVE_MAX;
}

enum op {
	OP_MALLOC, OP_FREE, OP_CALLOC, OP_REALLOC, OP_REALLOCARRAY, OP_POSIX_MEMALIGN,
	OP_ALIGNED_ALLOC, OP_MEMALIGN, OP_VALLOC, OP_PVALLOC, OP_USABLE, OP_TRIM,
	OP_THREADS, OP_FORK, OP_COUNT
};

/* One call on the slots [@lo, @hi); false at the end of the input. */
static bool step(struct reader *r, int lo, int hi, unsigned op)
{
	struct slot *s = &slots[lo + (int)(get8(r) % (unsigned)(hi - lo))];
	size_t n, m, a;
	void *p;
	int err;

	switch (op) {
	case OP_MALLOC:
	case OP_VALLOC:
	case OP_PVALLOC:
		n = pick_size(r);
		if (s->p || !room(n))
			break;
		errno = 0;
		p = op == OP_MALLOC ? hak_malloc(n) : op == OP_VALLOC ? hak_valloc(n) : hak_pvalloc(n);
		a = op == OP_MALLOC ? 16 : 4096;
		if (!p) {
			check_null("malloc/valloc/pvalloc", n, a, errno, true);
			break;
		}
		check_new("malloc/valloc/pvalloc", p, op == OP_PVALLOC && !n ? 1 : n, a, lo, hi);
		put(s, p, n);
		break;
	case OP_FREE:
		drop(s, "free");
		break;
	case OP_CALLOC:
		n = get8(r) & 1 ? pick_size(r) : 1 + get8(r);
		m = get8(r) & 1 ? pick_size(r) : 1 + get8(r) % 64;
		if (s->p || (!__builtin_mul_overflow(n, m, &a) && !room(a)))
			break;
		errno = 0;
		p = hak_calloc(n, m);
		if (__builtin_mul_overflow(n, m, &a)) {
			if (p || errno != ENOMEM)
				fail("calloc(%zu, %zu) overflows: %p, errno %d", n, m, p, errno);
			break;
		}
		if (!p) {
			check_null("calloc", a, 16, errno, true);
			break;
		}
		check_new("calloc", p, a, 16, lo, hi);
		for (size_t i = 0; i < a; i += step_at(i, a))
			if (((unsigned char *)p)[i])
				fail("calloc(%zu, %zu) = %p: byte %zu not zero", n, m, p, i);
		put(s, p, a);
		break;
	case OP_REALLOC:
	case OP_REALLOCARRAY:
		n = pick_size(r);
		m = op == OP_REALLOC ? 1 : 1 + get8(r) % 4;
		if (__builtin_mul_overflow(n, m, &a)) {
			errno = 0;
			if (hak_reallocarray(s->p, n, m) || errno != ENOMEM)
				fail("reallocarray(%zu, %zu) overflows: not ENOMEM", n, m);
			break;
		}
		if (!room(a))
			break;
		if (s->p)
			verify(s->p, s->n, s->seed, s->n, "before realloc");
		errno = 0;
		p = op == OP_REALLOC ? hak_realloc(s->p, a) : hak_reallocarray(s->p, n, m);
		if (s->p && a == 0) {	/* glibc: frees and returns NULL */
			if (p)
				fail("realloc(%p, 0) = %p, not NULL", (void *)s->p, p);
			atomic_fetch_sub(&live_bytes, s->n);
			s->p = NULL;
			break;
		}
		if (!p) {
			check_null("realloc", a, 16, errno, true);
			if (s->p)
				verify(s->p, s->n, s->seed, s->n, "after a failed realloc");
			break;
		}
		if (s->p) {
			verify(p, s->n, s->seed, s->n < a ? s->n : a, "realloc's copy");
			atomic_fetch_sub(&live_bytes, s->n);
			s->p = NULL;
		}
		check_new("realloc", p, a, 16, lo, hi);
		put(s, p, a);
		break;
	case OP_POSIX_MEMALIGN:
		n = pick_size(r);
		a = pick_align(r);
		if (s->p || !room(n))
			break;
		p = (void *)0x1;
		err = hak_posix_memalign(&p, a, n);
		if (err) {
			bool ok = pow2(a) && a % sizeof(void *) == 0;

			if (p != (void *)0x1)
				fail("posix_memalign(%zu, %zu) failed (%d) but set its pointer", a, n, err);
			check_null("posix_memalign", n, a, err, ok);
			break;
		}
		check_new("posix_memalign", p, n, a, lo, hi);
		put(s, p, n);
		break;
	case OP_ALIGNED_ALLOC:
	case OP_MEMALIGN:
		n = pick_size(r);
		a = pick_align(r);
		if (s->p || !room(n) || !room(a))
			break;
		errno = 0;
		p = op == OP_ALIGNED_ALLOC ? hak_aligned_alloc(a, n) : hak_memalign(a, n);
		if (!p) {
			check_null(op == OP_MEMALIGN ? "memalign" : "aligned_alloc", n, a, errno,
				   op == OP_MEMALIGN || pow2(a));
			break;
		}
		/* memalign rounds an alignment up to a power of two */
		while (!pow2(a))
			a &= a - 1;
		check_new(op == OP_MEMALIGN ? "memalign" : "aligned_alloc", p, n, a, lo, hi);
		put(s, p, n);
		break;
	case OP_USABLE:
		if (s->p && hak_malloc_usable_size(s->p) < s->n)
			fail("malloc_usable_size(%p) = %zu < %zu", (void *)s->p,
			     hak_malloc_usable_size(s->p), s->n);
		if (hak_malloc_usable_size(NULL))
			fail("malloc_usable_size(NULL) is not 0");
		break;
	case OP_TRIM:
		hak_malloc_trim(0);
		break;
	}
	return r->pos < r->len;
}

/* ------------------------------------------------------- threads and fork */

struct worker {
	pthread_t t;
	struct reader r;	/* its part of the input */
	int lo, hi;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (step(&w->r, w->lo, w->hi, get8(&w->r) % OP_THREADS))
		;
	return NULL;
}

/* 2 or 3 threads at once, each on its own share of the slots (the main thread's blocks among them). */
static void run_threads(struct reader *r)
{
	struct worker w[3];
	unsigned n = 2 + get8(r) % 2;

	for (unsigned i = 0; i < n; i++) {
		size_t len = 8 + get8(r) % 120;

		w[i].r = (struct reader){ r->d + r->pos, len < r->len - r->pos ? len : r->len - r->pos, 0 };
		r->pos += w[i].r.len;
		w[i].lo = (int)(i * NSLOTS / n);
		w[i].hi = (int)((i + 1) * NSLOTS / n);
	}
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i]))
			fail("pthread_create");
	for (unsigned i = 0; i < n; i++)
		pthread_join(w[i].t, NULL);
}

/* A child checks and frees half the blocks, allocates a few, and exits; the parent waits up to 10 s. */
static void run_fork(struct reader *r)
{
	unsigned ops = get8(r) % 16;
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		for (int i = 0; i < NSLOTS; i += 2)
			drop(&slots[i], "in a fork child");
		for (unsigned k = 0; k < ops && step(r, 0, NSLOTS, get8(r) % OP_THREADS); k++)
			;
		for (int i = 0; i < NSLOTS; i++)
			drop(&slots[i], "in a fork child, at exit");
		_exit(hak_self_check() ? 3 : 0);
	}
	for (int ms = 0; waitpid(pid, &status, WNOHANG) == 0; ms++) {
		if (ms == FORK_WAIT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail("fork child hung (killed after %d ms)", FORK_WAIT_MS);
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("fork child failed: status %#x", status);
	r->pos += ops * 4 < r->len - r->pos ? ops * 4 : r->len - r->pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reader r = { data, len, 0 };

	while (r.pos < len) {
		unsigned op = get8(&r) % OP_COUNT;

		if (op == OP_THREADS)
			run_threads(&r);
		else if (op == OP_FORK && get8(&r) < 64)	/* a fork costs 10-100 ms */
			run_fork(&r);
		else
			step(&r, 0, NSLOTS, op);
	}
	for (int i = 0; i < NSLOTS; i++)
		drop(&slots[i], "at the end");
	if (hak_self_check())
		fail("self-check failed");
	return 0;
}
