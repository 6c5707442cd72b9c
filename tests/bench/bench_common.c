/*
 * bench_common.c - PRNG, block pattern, corruption switch, timing, RESULT
 * line and the mixed alloc/free pattern shared by the benchmarks.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define SMALL_BLOCK	24	/* below this, every byte carries the pattern */
#define PAGE		4096

static const char *bench_name = "bench";
static bool corrupt_armed;
static atomic_bool corrupt_done;
static _Atomic size_t live_bytes, live_peak;	/* with a live_max */
static struct { const char *key; uint64_t value; } extras[4];
static unsigned nextras;

/* splitmix64: spreads any seed, even 0, over the whole state. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	r->s = mix64(seed) | 1;
}

/* Log-uniform in [lo, hi]: each power of two is as likely as the next. */
size_t bench_rand_log(struct bench_rng *r, size_t lo, size_t hi)
{
	unsigned lo_bit = 63 - __builtin_clzll(lo);
	unsigned hi_bit = 63 - __builtin_clzll(hi);
	unsigned bit = (unsigned)bench_rand_range(r, lo_bit, hi_bit);
	size_t a = (size_t)1 << bit, b = a * 2 - 1;

	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	return bench_rand_range(r, a, b);
}

/* ------------------------------------------------------------ pattern */

static uint8_t small_byte(uint64_t tag, size_t i)
{
	return (uint8_t)(tag >> (i % 8 * 8)) ^ (uint8_t)i;
}

static size_t mid_of(size_t size)
{
	return (size / 2) & ~(size_t)7;
}

/*
 * Head word = tag, a word in the middle = tag ^ size, tail word = ~tag: the
 * first and last bytes and a seed-derived word, wherever the block ends.
 */
void bench_fill(const struct bench_block *b)
{
	unsigned char *c = b->p;
	uint64_t head = b->tag, mid = b->tag ^ b->size, tail = ~b->tag;

	if (b->size < SMALL_BLOCK) {
		for (size_t i = 0; i < b->size; i++)
			c[i] = small_byte(b->tag, i);
		return;
	}
	memcpy(c, &head, 8);
	memcpy(c + mid_of(b->size), &mid, 8);
	memcpy(c + b->size - 8, &tail, 8);
}

bool bench_check(const struct bench_block *b)
{
	const unsigned char *c = b->p;
	uint64_t head, mid, tail;

	if (b->size < SMALL_BLOCK) {
		for (size_t i = 0; i < b->size; i++)
			if (c[i] != small_byte(b->tag, i))
				return false;
		return true;
	}
	memcpy(&head, c, 8);
	memcpy(&mid, c + mid_of(b->size), 8);
	memcpy(&tail, c + b->size - 8, 8);
	return head == b->tag && mid == (b->tag ^ b->size) && tail == ~b->tag;
}

/* The page bytes stay clear of the three words bench_fill() writes. */
static bool page_byte_free(const struct bench_block *b, size_t off)
{
	size_t mid = mid_of(b->size);

	if (off >= mid && off < mid + 8)
		return false;
	return off + 8 < b->size;
}

/* One byte in the middle of every page, so the block is really used. */
void bench_fill_pages(const struct bench_block *b)
{
	unsigned char *c = b->p;
	uint8_t v = (uint8_t)(b->tag >> 8);

	for (size_t off = PAGE / 2; off < b->size; off += PAGE)
		if (page_byte_free(b, off))
			c[off] = v ^ (uint8_t)(off / PAGE);
}

bool bench_check_pages(const struct bench_block *b)
{
	const unsigned char *c = b->p;
	uint8_t v = (uint8_t)(b->tag >> 8);

	for (size_t off = PAGE / 2; off < b->size; off += PAGE) {
		uint8_t want = v ^ (uint8_t)(off / PAGE);

		if (page_byte_free(b, off) && c[off] != want)
			return false;
	}
	return true;
}

/*
 * Write every byte of @b @reps times through a volatile pointer, as a
 * program working in the block would, and leave the pattern as it was: a
 * byte another thread changed meanwhile still shows in bench_check().
 */
void bench_scribble(const struct bench_block *b, unsigned reps)
{
	volatile unsigned char *c = b->p;

	for (unsigned r = 0; r < reps; r++)
		for (size_t i = 0; i < b->size; i++)
			c[i]++;
	for (size_t i = 0; i < b->size; i++)
		c[i] -= (unsigned char)reps;
}

/* malloc @size into @b and write its pattern; out of memory is fatal. */
void bench_alloc(struct bench_block *b, size_t size, struct bench_rng *r,
		 bool pages)
{
	b->p = malloc(size);
	if (!b->p)
		bench_die("malloc(%zu) failed: %s", size, strerror(errno));
	b->size = size;
	b->tag = bench_rng_next(r);
	if (pages)
		bench_fill_pages(b);
	bench_fill(b);
	bench_corrupt_maybe(b);
}

/* Verify @b's pattern, then free it; a mismatch ends the program. */
void bench_release(struct bench_block *b, bool pages)
{
	if (!bench_check(b) || (pages && !bench_check_pages(b)))
		bench_die_corrupt(b);
	free(b->p);
	b->p = NULL;
}

/* ------------------------------------------------ corruption and errors */

/* Call once from main, before any thread starts. */
void bench_init(const char *name)
{
	const char *env = getenv("BENCH_CORRUPT");

	bench_name = name;
	corrupt_armed = env && *env && strcmp(env, "0") != 0;
}

/* BENCH_CORRUPT=1: damage the last byte of the first block ever allocated. */
void bench_corrupt_maybe(const struct bench_block *b)
{
	if (!corrupt_armed || b->size == 0)
		return;
	if (atomic_exchange_explicit(&corrupt_done, true, memory_order_relaxed))
		return;
	((unsigned char *)b->p)[b->size - 1] ^= 0xa5;
}

void bench_die_corrupt(const struct bench_block *b)
{
	bench_die("corruption: block %p of %zu bytes lost its pattern",
		  b->p, b->size);
}

/* Report on stderr and leave at once: other threads may still be running. */
void bench_die(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", bench_name, msg);
	_exit(1);
}

/* ------------------------------------------------------ timing, output */

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The shift of a binary k/m/g suffix, 0 for none. */
static unsigned suffix_shift(char c)
{
	static const char sfx[] = "kmg";
	const char *hit = c ? strchr(sfx, tolower((unsigned char)c)) : NULL;

	return hit ? 10 * (unsigned)(hit - sfx + 1) : 0;
}

/* A number in [min, max], k/m/g suffixes allowed; else exit 2. */
uint64_t bench_arg(const char *s, const char *what, uint64_t min, uint64_t max)
{
	unsigned long long v;
	unsigned shift;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	shift = suffix_shift(*end);
	if (shift && v <= ULLONG_MAX >> shift) {
		v <<= shift;
		end++;
	}
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "%s: bad %s '%s' (want %llu..%llu)\n",
			bench_name, what, s, (unsigned long long)min,
			(unsigned long long)max);
		exit(2);
	}
	return v;
}

/* The file that defines the malloc this process really calls. */
static const char *malloc_lib(void)
{
	void *(*fn)(size_t) = malloc;
	Dl_info info;
	const char *slash;

	if (!dladdr((void *)fn, &info) || !info.dli_fname || !*info.dli_fname)
		return "main-program";
	slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

void bench_report(unsigned threads, uint64_t ops, double secs)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("RESULT name=%s threads=%u ops=%llu secs=%.6f ops_per_sec=%.0f "
	       "peak_rss_kb=%ld", bench_name, threads, (unsigned long long)ops,
	       secs, secs > 0 ? (double)ops / secs : 0.0, ru.ru_maxrss);
	if (live_peak)	/* what the peak RSS can be held against */
		printf(" peak_live_kb=%zu", live_peak >> 10);
	for (unsigned i = 0; i < nextras; i++)
		printf(" %s=%llu", extras[i].key,
		       (unsigned long long)extras[i].value);
	printf(" malloc_lib=%s\n", malloc_lib());
	fflush(stdout);
}

/* One more key=value for the RESULT line, before malloc_lib. */
void bench_report_extra(const char *key, uint64_t value)
{
	if (nextras == sizeof(extras) / sizeof(extras[0]))
		bench_die("too many RESULT fields");
	extras[nextras].key = key;
	extras[nextras++].value = value;
}

/* ------------------------------------------------------- duration mode */

atomic_bool bench_stop;
static pthread_barrier_t timed_start, timed_end;
static _Atomic uint64_t timed_ops;

void bench_timed_args(int argc, char **argv, unsigned counts,
		      const char *more, struct bench_opts *o)
{
	char *end;

	if (argc < 4 || argc - 4 >= 32 || !(counts & BENCH_NARGS(argc - 4))) {
		fprintf(stderr, "usage: %s THREADS SECS SEED%s%s\n", argv[0],
			*more ? " " : "", more);
		exit(2);
	}
	o->threads = (unsigned)bench_arg(argv[1], "THREADS", 1, 1024);
	errno = 0;
	o->secs = strtod(argv[2], &end);
	if (errno || end == argv[2] || *end || !isfinite(o->secs) ||
	    o->secs <= 0 || o->secs > 3600) {
		fprintf(stderr, "%s: bad SECS '%s' (want seconds in (0, 3600])\n",
			bench_name, argv[2]);
		exit(2);
	}
	o->seed = bench_arg(argv[3], "SEED", 0, UINT64_MAX);
}

/* After the worker's setup: wait for the others and the clock. */
void bench_timed_begin(void)
{
	pthread_barrier_wait(&timed_start);
}

/* After the worker saw bench_stopped(): count its ops, stop the clock. */
void bench_timed_end(uint64_t ops)
{
	atomic_fetch_add(&timed_ops, ops);
	pthread_barrier_wait(&timed_end);
}

struct timed_thread {
	void (*worker)(void *ctx, unsigned id);
	void *ctx;
	unsigned id;
};

static void *timed_thread(void *arg)
{
	struct timed_thread *t = arg;

	t->worker(t->ctx, t->id);
	return NULL;
}

/* Sleep until @t0 + @secs on the monotonic clock, whatever interrupts. */
static void sleep_until(double t0, double secs)
{
	double end = t0 + secs;
	struct timespec ts = {
		.tv_sec = (time_t)end,
		.tv_nsec = (long)((end - (double)(time_t)end) * 1e9),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

double bench_run_timed(const struct bench_opts *o,
		       void (*worker)(void *ctx, unsigned id), void *ctx,
		       void (*on_stop)(void *ctx), uint64_t *ops)
{
	unsigned n = o->threads;
	struct timed_thread *t = calloc(n, sizeof(*t));
	pthread_t *tid = calloc(n, sizeof(*tid));
	double t0, secs;

	if (!t || !tid)
		bench_die("out of memory for %u threads", n);
	pthread_barrier_init(&timed_start, NULL, n + 1);
	pthread_barrier_init(&timed_end, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct timed_thread){ worker, ctx, i };
		if (pthread_create(&tid[i], NULL, timed_thread, &t[i]))
			bench_die("pthread_create failed");
	}
	pthread_barrier_wait(&timed_start);
	t0 = bench_now();
	sleep_until(t0, o->secs);
	atomic_store_explicit(&bench_stop, true, memory_order_relaxed);
	if (on_stop)
		on_stop(ctx);
	pthread_barrier_wait(&timed_end);
	secs = bench_now() - t0;
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&timed_start);
	pthread_barrier_destroy(&timed_end);
	free(t);
	free(tid);
	*ops = timed_ops;
	return secs;
}

/* ------------------------------------------------------- mixed pattern */

struct mixed_thread {
	const struct bench_mixed *m;
	unsigned id;
	pthread_barrier_t *start, *stop;
	uint64_t ops;
};

static size_t mixed_size(const struct bench_mixed *m, struct bench_rng *r)
{
	if (m->dist == BENCH_LOG)
		return bench_rand_log(r, m->min, m->max);
	return bench_rand_range(r, m->min, m->max);
}

/* Count @size more bytes live, unless that passes @max. */
static bool live_reserve(size_t max, size_t size)
{
	size_t cur = atomic_load_explicit(&live_bytes, memory_order_relaxed);
	size_t peak;

	do {
		if (size > max - cur)
			return false;
	} while (!atomic_compare_exchange_weak(&live_bytes, &cur, cur + size));
	peak = atomic_load_explicit(&live_peak, memory_order_relaxed);
	while (cur + size > peak &&
	       !atomic_compare_exchange_weak(&live_peak, &peak, cur + size))
		;
	return true;
}

/* Free @b; with a bound, its bytes stop counting once free() returned. */
static inline void mixed_free(const struct bench_mixed *m,
			      struct bench_block *b, bool bounded)
{
	size_t size = b->size;

	bench_release(b, m->touch_pages);
	if (bounded)
		atomic_fetch_sub(&live_bytes, size);
}

/* The first slot after @slot, cyclically, that holds a block, or NULL. */
static struct bench_block *next_live(struct bench_block *slots, size_t ws,
				     size_t slot)
{
	for (size_t k = 1; k < ws; k++)
		if (slots[(slot + k) % ws].p)
			return &slots[(slot + k) % ws];
	return NULL;
}

/* The steps of mixed_loop(), which makes a copy for each value of @bounded. */
static inline __attribute__((always_inline)) uint64_t
mixed_steps(const struct bench_mixed *m, struct bench_block *slots,
	    struct bench_rng *r, bool bounded)
{
	uint64_t ops = 0;

	for (uint64_t i = 0; i < m->iters; i++) {
		size_t slot = bench_rand_range(r, 0, m->ws - 1);
		struct bench_block *b = &slots[slot];

		if (!b->p) {
			size_t size = mixed_size(m, r);

			if (!bounded || live_reserve(m->live_max, size)) {
				bench_alloc(b, size, r, m->touch_pages);
				ops++;
				continue;
			}
			b = next_live(slots, m->ws, slot);	/* over the bound */
			if (!b)
				continue;
		}
		mixed_free(m, b, bounded);
		ops++;
	}
	return ops;
}

/*
 * Two copies: the loop without a bound carries none of its work (an op
 * costs only ~100 instructions there, the allocator's included).
 */
static uint64_t mixed_loop(const struct bench_mixed *m,
			   struct bench_block *slots, struct bench_rng *r)
{
	if (m->live_max)
		return mixed_steps(m, slots, r, true);
	return mixed_steps(m, slots, r, false);
}

static void mixed_free_all(const struct bench_mixed *m,
			   struct bench_block *slots)
{
	for (size_t i = 0; i < m->ws; i++)
		if (slots[i].p)
			mixed_free(m, &slots[i], m->live_max != 0);
	free(slots);
}

/* One thread's run; the barriers bracket the timed loop. */
static void *mixed_thread(void *arg)
{
	struct mixed_thread *t = arg;
	const struct bench_mixed *m = t->m;
	struct bench_block *slots = calloc(m->ws, sizeof(*slots));
	struct bench_rng r;

	if (!slots)
		bench_die("out of memory for %zu slots", m->ws);
	bench_rng_seed(&r, m->seed * 1000003 + t->id);
	pthread_barrier_wait(t->start);
	t->ops = mixed_loop(m, slots, &r);
	pthread_barrier_wait(t->stop);
	mixed_free_all(m, slots);
	return NULL;
}

static double mixed_single(const struct bench_mixed *m, uint64_t *ops)
{
	struct bench_block *slots = calloc(m->ws, sizeof(*slots));
	struct bench_rng r;
	double t0, secs;

	if (!slots)
		bench_die("out of memory for %zu slots", m->ws);
	bench_rng_seed(&r, m->seed * 1000003);
	t0 = bench_now();
	*ops = mixed_loop(m, slots, &r);
	secs = bench_now() - t0;
	mixed_free_all(m, slots);
	return secs;
}

/*
 * Run the mixed pattern on @threads threads (the caller's own thread when
 * 1) and return the wall time of the loops alone: slot arrays are set up
 * before and leftover blocks verified and freed after the timed span.
 */
double bench_mixed_threads(const struct bench_mixed *m, unsigned threads,
			   uint64_t *ops)
{
	pthread_barrier_t start, stop;
	pthread_t tid[threads];
	struct mixed_thread t[threads];
	double t0, secs;

	if (threads == 1)
		return mixed_single(m, ops);
	pthread_barrier_init(&start, NULL, threads + 1);
	pthread_barrier_init(&stop, NULL, threads + 1);
	for (unsigned i = 0; i < threads; i++) {
		t[i] = (struct mixed_thread){ m, i, &start, &stop, 0 };
		if (pthread_create(&tid[i], NULL, mixed_thread, &t[i]))
			bench_die("pthread_create failed");
	}
	pthread_barrier_wait(&start);
	t0 = bench_now();
	pthread_barrier_wait(&stop);
	secs = bench_now() - t0;
	*ops = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		*ops += t[i].ops;
	}
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&stop);
	return secs;
}
