/*
 * bench_common.h - what every HAKMEM benchmark shares: a fast PRNG, the
 * block pattern that proves a block came back intact, the deliberate
 * corruption switch (BENCH_CORRUPT=1) and the RESULT line.
 *
 * The benchmarks use only the standard malloc API, so the same object code
 * measures HAKMEM (linked in) and any peer (LD_PRELOAD).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xorshift64*: a few instructions per number; good enough for sizes, slots. */
struct bench_rng {
	uint64_t s;
};

void bench_rng_seed(struct bench_rng *r, uint64_t seed);

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

/* Uniform in [lo, hi]; hi - lo must be below 2^32. */
static inline size_t bench_rand_range(struct bench_rng *r, size_t lo, size_t hi)
{
	uint64_t x = bench_rng_next(r) >> 32;

	return lo + (size_t)((x * (uint64_t)(hi - lo + 1)) >> 32);
}

/*
 * Log-uniform: each power of two from @lo's up to @hi's starts an equally
 * likely class, uniform inside. With @hi a power of two, @hi alone is the
 * last class: pass 2^k - 1 to end with [2^(k-1), 2^k).
 */
size_t bench_rand_log(struct bench_rng *r, size_t lo, size_t hi);

/* A live block and the random tag its pattern was derived from. */
struct bench_block {
	void *p;
	size_t size;
	uint64_t tag;
};

void bench_fill(const struct bench_block *b);
bool bench_check(const struct bench_block *b);
void bench_fill_pages(const struct bench_block *b);
bool bench_check_pages(const struct bench_block *b);

void bench_scribble(const struct bench_block *b, unsigned reps);

void bench_alloc(struct bench_block *b, size_t size, struct bench_rng *r,
		 bool pages);
void bench_release(struct bench_block *b, bool pages);

void bench_init(const char *name);
void bench_corrupt_maybe(const struct bench_block *b);
void bench_die_corrupt(const struct bench_block *b) __attribute__((noreturn));
void bench_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

double bench_now(void);
uint64_t bench_arg(const char *s, const char *what, uint64_t min, uint64_t max);
void bench_report(unsigned threads, uint64_t ops, double secs);
void bench_report_extra(const char *key, uint64_t value);

/*
 * The mixed pattern: a working set of @ws slots; each step picks a random
 * slot and frees its block if it holds one, else allocates a random size
 * into it. With @live_max, a malloc that would take the bytes live in all
 * threads past it frees the thread's next block instead (or does nothing
 * when the thread holds none). Each malloc or free is one op.
 */
enum bench_dist { BENCH_UNIFORM, BENCH_LOG };

struct bench_mixed {
	uint64_t iters;		/* steps per thread */
	size_t ws;		/* slots per thread */
	size_t live_max;	/* most bytes live over all threads; 0: none */
	uint64_t seed;
	size_t min, max;	/* request sizes, inclusive */
	enum bench_dist dist;
	bool touch_pages;	/* write a byte in every page, as users do */
};

/* Runs the pattern; returns the seconds the loops took, *@ops the ops done. */
double bench_mixed_threads(const struct bench_mixed *m, unsigned threads,
			   uint64_t *ops);

/*
 * Duration mode, for the programs whose arguments start THREADS SECS SEED:
 * every allocator runs the same wall time and the program counts the ops.
 * bench_run_timed() starts THREADS threads running @worker(@ctx, id). A
 * worker sets up, calls bench_timed_begin(), does ops until bench_stopped()
 * (a relaxed load: test it every 64-256 ops), calls bench_timed_end(ops)
 * and then tears down (verifies and frees what it still holds). The main
 * thread sleeps SECS between the two barriers and returns the real time
 * between them; teardown is outside it.
 */
struct bench_opts {
	unsigned threads;
	double secs;
	uint64_t seed;
};

/*
 * THREADS SECS SEED from argv[1..3]; bit n of @counts allows n arguments
 * after them (@more names them for the usage line), else exit 2.
 */
#define BENCH_NARGS(n)	(1u << (n))
void bench_timed_args(int argc, char **argv, unsigned counts,
		      const char *more, struct bench_opts *o);

extern atomic_bool bench_stop;

static inline bool bench_stopped(void)
{
	return atomic_load_explicit(&bench_stop, memory_order_relaxed);
}

void bench_timed_begin(void);
void bench_timed_end(uint64_t ops);

/*
 * @on_stop (may be NULL) runs on the main thread right after the stop flag
 * is set, to wake workers asleep on the program's own condition variables.
 * Returns the seconds of the measured part; *@ops the ops of all threads.
 */
double bench_run_timed(const struct bench_opts *o,
		       void (*worker)(void *ctx, unsigned id), void *ctx,
		       void (*on_stop)(void *ctx), uint64_t *ops);

#endif /* BENCH_COMMON_H */
