/*
 * bench_phases HEAP SEED [HOLD IDLE [OUT [TIERS]]] - resident memory over time
 * while the heap changes shape: does the allocator give memory back when
 * the program stops needing it? (issue 17's phase benchmark)
 *
 * One thread runs the phases; a sampler thread reads the resident set
 * (/proc/self/statm) every 10 ms with the live bytes (the requested sizes
 * of the blocks allocated and not yet freed) and the phase:
 *   small_build  malloc blocks of 16 B..1 KiB (uniform) until HEAP bytes;
 *   small_free   free 90 % of them: the blocks were made in 100 batches of
 *                HEAP / 100 bytes, every batch but each tenth goes whole;
 *   mid_build, mid_free      the same with 8 KiB..512 KiB (log-uniform);
 *   large_build, large_free  the same with 1 MiB..8 MiB (log-uniform);
 *   idle         nothing for IDLE seconds (default 5).
 * TIERS (default small,mid,large) names the build/free pairs to run, the
 * others are skipped with their PHASE lines: "mid" alone asks how one
 * tier gives back, with nothing of another beside it.
 * The blocks kept by a free phase stay live to the end. After each phase
 * the program holds still for HOLD seconds (default 1); a sample belongs
 * to the phase last begun. At the end of the hold after each free phase,
 * and at the end of idle, it reads RSS and live bytes once more: the
 * PHASE lines, with their ratio.
 *
 * Every block carries the pattern of bench_common (and a byte in each
 * page, so its pages are resident as a program's would be); a free
 * verifies it, the survivors are verified at the end, and BENCH_CORRUPT=1
 * must make the run fail. The block list lives in pages of its own
 * (mmap, outside malloc) and its resident pages are left out of rss_bytes.
 *
 * Output: the samples as CSV (time_ms,phase,rss_bytes,live_bytes) to OUT
 * (default: stdout), then on stdout one PHASE line per free phase and
 * idle, then the RESULT line (ops: mallocs and frees; secs: the whole run).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define PERIOD_MS	10
#define BATCHES		100	/* per build; each tenth survives the free */
#define MAX_SAMPLES	(1u << 20)	/* 2.9 hours at PERIOD_MS */

enum phase { SMALL_BUILD, SMALL_FREE, MID_BUILD, MID_FREE, LARGE_BUILD,
	     LARGE_FREE, IDLE, NPHASES };

/* The phases that get a PHASE line: after each free, and idle. */
static const enum phase reported[] = { SMALL_FREE, MID_FREE, LARGE_FREE, IDLE };

static const char *const phase_name[NPHASES] = {
	"small_build", "small_free", "mid_build", "mid_free", "large_build",
	"large_free", "idle",
};

/* The sizes of each build phase; log: log-uniform, else uniform. */
static const struct { size_t min, max; bool log; } tier[3] = {
	{ 16, 1024, false },
	{ 8 << 10, (512 << 10) - 1, true },
	{ 1 << 20, (8 << 20) - 1, true },
};

struct sample {
	uint32_t ms;
	uint32_t phase;
	uint64_t rss, live;
};

static struct {
	int statm;			/* /proc/self/statm, read with pread */
	long page;
	double t0;
	_Atomic unsigned phase;
	_Atomic size_t live;		/* bytes requested, not yet freed */
	_Atomic size_t book;		/* resident bytes of the block list */
	atomic_bool stop;
	struct sample *samples;		/* mmap: sampling never calls malloc */
	unsigned nsamples;
} s;

/* Resident bytes of the process, less the block list's own pages. */
static uint64_t rss_now(void)
{
	char buf[128];
	ssize_t n = pread(s.statm, buf, sizeof(buf) - 1, 0);
	unsigned long long size, resident;

	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		bench_die("cannot read /proc/self/statm");
	return resident * (uint64_t)s.page -
	       atomic_load_explicit(&s.book, memory_order_relaxed);
}

static void sleep_until(double t)
{
	struct timespec ts = {
		.tv_sec = (time_t)t,
		.tv_nsec = (long)((t - floor(t)) * 1e9),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static void take_sample(void)
{
	struct sample *x;

	if (s.nsamples == MAX_SAMPLES)
		bench_die("ran past %u samples", MAX_SAMPLES);
	x = &s.samples[s.nsamples];
	x->ms = (uint32_t)((bench_now() - s.t0) * 1000 + 0.5);
	x->phase = atomic_load(&s.phase);
	x->live = atomic_load(&s.live);
	x->rss = rss_now();
	s.nsamples++;
}

static void *sampler(void *arg)
{
	double next = s.t0;

	(void)arg;
	while (!atomic_load(&s.stop)) {
		next += PERIOD_MS / 1000.0;
		if (next < bench_now())	/* fell behind: keep the period */
			next = bench_now() + PERIOD_MS / 1000.0;
		sleep_until(next);
		take_sample();
	}
	return NULL;
}

/* The live blocks, survivors of earlier phases first. */
struct heap {
	struct bench_block *b;
	size_t n, cap;
	size_t heap;		/* bytes each build phase requests */
	struct bench_rng rng;
	uint64_t ops;
};

/* Count the block list's pages up to entry @n as resident. */
static void book_grow(struct heap *h)
{
	size_t top = (h->n * sizeof(*h->b) + s.page - 1) & ~(size_t)(s.page - 1);

	if (top > atomic_load_explicit(&s.book, memory_order_relaxed))
		atomic_store(&s.book, top);
}

static void build(struct heap *h, unsigned t)
{
	size_t bytes = 0;

	while (bytes < h->heap) {
		size_t size = tier[t].log ?
			bench_rand_log(&h->rng, tier[t].min, tier[t].max) :
			bench_rand_range(&h->rng, tier[t].min, tier[t].max);

		if (h->n == h->cap)
			bench_die("block list full");
		bench_alloc(&h->b[h->n++], size, &h->rng, true);
		atomic_fetch_add(&s.live, size);
		book_grow(h);
		bytes += size;
		h->ops++;
	}
}

/*
 * Free the blocks from @first on but each tenth batch; move the survivors
 * down and give the list's emptied pages back.
 */
static void free_most(struct heap *h, size_t first)
{
	size_t keep = first, batch = 0, acc = 0, top, old;

	for (size_t i = first; i < h->n; i++) {
		size_t size = h->b[i].size;

		if (batch % 10 == 0) {
			h->b[keep++] = h->b[i];
		} else {
			bench_release(&h->b[i], true);
			atomic_fetch_sub(&s.live, size);
			h->ops++;
		}
		acc += size;
		if (acc >= h->heap / BATCHES) {
			batch++;
			acc = 0;
		}
	}
	h->n = keep;
	top = (keep * sizeof(*h->b) + s.page - 1) & ~(size_t)(s.page - 1);
	old = atomic_load(&s.book);
	if (old > top) {
		madvise((char *)h->b + top, old - top, MADV_DONTNEED);
		atomic_store(&s.book, top);
	}
}

static void begin(enum phase p)
{
	atomic_store(&s.phase, p);
}

/* A number of seconds in [0, 3600]; else exit 2. */
static double secs_arg(const char *arg, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > 3600) {
		fprintf(stderr, "bench_phases: bad %s '%s' (want seconds in "
			"[0, 3600])\n", what, arg);
		exit(2);
	}
	return v;
}

static const char *const tier_name[3] = { "small", "mid", "large" };

/* TIERS: a comma list of tier names, as a bit mask; else exit 2. */
static unsigned tiers_arg(const char *arg)
{
	unsigned mask = 0;

	for (const char *at = arg; *at;) {
		size_t len = strcspn(at, ",");
		unsigned t = 0;

		while (t < 3 && (strlen(tier_name[t]) != len || strncmp(at, tier_name[t], len)))
			t++;
		if (t == 3 || mask >> t & 1) {
			fprintf(stderr, "bench_phases: bad TIERS '%s' (want a list of small, mid, large)\n",
				arg);
			exit(2);
		}
		mask |= 1u << t;
		at += len + (at[len] == ',');
	}
	if (!mask) {
		fprintf(stderr, "bench_phases: bad TIERS '' (want a list of small, mid, large)\n");
		exit(2);
	}
	return mask;
}

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		bench_die("mmap %zu bytes: %s", bytes, strerror(errno));
	/* 4 KiB pages, so that the block list's resident bytes are known */
	madvise(p, bytes, MADV_NOHUGEPAGE);
	return p;
}

static void write_samples(const char *path)
{
	FILE *f = path ? fopen(path, "w") : stdout;

	if (!f)
		bench_die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "time_ms,phase,rss_bytes,live_bytes\n");
	for (unsigned i = 0; i < s.nsamples; i++)
		fprintf(f, "%u,%s,%llu,%llu\n", s.samples[i].ms,
			phase_name[s.samples[i].phase],
			(unsigned long long)s.samples[i].rss,
			(unsigned long long)s.samples[i].live);
	if (fflush(f) || (path && fclose(f)))
		bench_die("cannot write %s: %s", path ? path : "stdout",
			  strerror(errno));
}

/* Wait @secs, then read RSS and live bytes for @p's PHASE line. */
static void settle(enum phase p, double secs, struct sample *at)
{
	sleep_until(bench_now() + secs);
	at->phase = p;
	at->live = atomic_load(&s.live);
	at->rss = rss_now();
}

int main(int argc, char **argv)
{
	struct sample after[NPHASES] = { 0 };
	struct heap h = { 0 };
	double hold = 1, idle = 5;
	unsigned tiers = 7;	/* bit t: run tier t's phases */
	pthread_t tid;
	uint64_t seed;

	bench_init("bench_phases");
	if (argc != 3 && argc != 5 && argc != 6 && argc != 7) {
		fprintf(stderr, "usage: %s HEAP SEED [HOLD IDLE [OUT [TIERS]]]\n",
			argv[0]);
		return 2;
	}
	h.heap = bench_arg(argv[1], "HEAP", 1 << 20, 4ull << 30);
	seed = bench_arg(argv[2], "SEED", 0, UINT64_MAX);
	if (argc >= 5) {
		hold = secs_arg(argv[3], "HOLD");
		idle = secs_arg(argv[4], "IDLE");
	}
	if (argc == 7)
		tiers = tiers_arg(argv[6]);
	s.page = sysconf(_SC_PAGESIZE);
	s.statm = open("/proc/self/statm", O_RDONLY);
	if (s.statm < 0)
		bench_die("cannot open /proc/self/statm: %s", strerror(errno));
	bench_rng_seed(&h.rng, seed);
	/* the most blocks live: a small build at 16 B each, + survivors */
	h.cap = h.heap / 16 + h.heap / 8192 + 64;
	h.b = map(h.cap * sizeof(*h.b));
	s.samples = map(MAX_SAMPLES * sizeof(*s.samples));

	s.t0 = bench_now();
	begin(2 * (unsigned)__builtin_ctz(tiers));
	take_sample();		/* before the first malloc of the phases */
	if (pthread_create(&tid, NULL, sampler, NULL))
		bench_die("pthread_create failed");
	for (unsigned t = 0; t < 3; t++) {
		size_t first = h.n;

		if (!(tiers >> t & 1))
			continue;
		begin(2 * t);
		build(&h, t);
		sleep_until(bench_now() + hold);
		begin(2 * t + 1);
		free_most(&h, first);
		settle(2 * t + 1, hold, &after[2 * t + 1]);
	}
	begin(IDLE);
	settle(IDLE, idle, &after[IDLE]);
	atomic_store(&s.stop, true);
	pthread_join(tid, NULL);

	write_samples(argc >= 6 && strcmp(argv[5], "-") ? argv[5] : NULL);
	for (unsigned i = 0; i < 4; i++) {
		enum phase p = reported[i];

		if (p != IDLE && !(tiers >> (p / 2) & 1))
			continue;
		printf("PHASE name=%s after_secs=%.2f rss_bytes=%llu "
		       "live_bytes=%llu rss_per_live=%.3f\n", phase_name[p],
		       p == IDLE ? idle : hold,
		       (unsigned long long)after[p].rss,
		       (unsigned long long)after[p].live,
		       after[p].live ? (double)after[p].rss / after[p].live : 0);
	}
	for (size_t i = 0; i < h.n; i++)
		bench_release(&h.b[i], true);
	h.ops += h.n;
	bench_report(1, h.ops, bench_now() - s.t0);
	return 0;
}
