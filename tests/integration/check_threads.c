/*
 * check_threads.c - DESIGN.md promises 4 and 5: any thread frees any block
 * (with content checks; 16 threads over every size band up to 4 MiB),
 * exiting threads give their caches back, fork() from a multi-threaded
 * program, 1000 short-lived threads, and malloc before main, in TLS
 * destructors and after exit() has begun.
 *
 * Worker threads never call ck_assert (Check is not thread-safe): they
 * record the first error, which the test thread then asserts on.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/single_threaded.h>
#include <time.h>

#include "itest.h"

#define MiB (1024 * 1024ul)

/* Less work when the allocator itself is the unoptimised debug build. */
#define SCALE(n) (HAK_DEBUG ? (n) / 4 : (n))

static atomic_int errors;
static char first_error[512];
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2)))
static void record_error(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errors, 1) == 0) {
		pthread_mutex_lock(&error_lock);
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
		pthread_mutex_unlock(&error_lock);
	}
}

static void reset_errors(void)
{
	atomic_store(&errors, 0);
	first_error[0] = '\0';
}

static void assert_no_errors(void)
{
	int n = atomic_load(&errors);

	ck_assert_msg(n == 0, "%d errors; first: %s", n, first_error);
}

static unsigned rnd(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

#define LARGE_MAX (160 * 1024)

/* 75% tiny, 22% pool, 3% large (to 160 KiB); at least 8 bytes. */
static size_t random_size(unsigned *x)
{
	unsigned r = rnd(x) % 100;

	if (r < 75)
		return 8 + rnd(x) % (ITEST_TINY_MAX - 7);
	if (r < 97)
		return ITEST_TINY_MAX + 1 + rnd(x) % (ITEST_POOL_MAX - ITEST_TINY_MAX);
	return ITEST_POOL_MAX + 1 + rnd(x) % (LARGE_MAX - ITEST_POOL_MAX);
}

/*
 * @n bytes by calloc (@how 0: checked zeroed), memalign (1: to 64 B .. 4 KiB)
 * or malloc (any other); NULL with an error recorded, and a misaligned
 * block recorded.
 */
static char *alloc_by(size_t n, unsigned how, unsigned *x)
{
	char *p;

	if (how == 0) {
		p = calloc(1, n);
		if (p && itest_find_not(p, n, 0) != SIZE_MAX)
			record_error("calloc(1, %zu) = %p not zeroed at %zu", n, (void *)p,
			     itest_find_not(p, n, 0));
	} else if (how == 1) {
		p = memalign((size_t)64 << rnd(x) % 7, n);
	} else {
		p = malloc(n);
	}
	if (!p)
		record_error("allocation of %zu failed", n);
	else if ((uintptr_t)p % 16)
		record_error("%p (%zu B) misaligned", (void *)p, n);
	return p;
}

/*
 * A block that carries its size in its first word, the rest filled with a
 * pattern derived from its address and size.
 */
static void *block_new(unsigned *x)
{
	size_t n = random_size(x);
	char *p = alloc_by(n, rnd(x) % 10, x);

	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	itest_fill(p + 8, n - 8, (uintptr_t)p + n);
	return p;
}

static size_t block_size(const char *p)
{
	size_t n;

	memcpy(&n, p, sizeof(n));
	return n;
}

/* Check @p's contents; false (and an error recorded) if they changed. */
static bool block_ok(char *p)
{
	size_t n = block_size(p), at;

	if (n < 8 || n > LARGE_MAX) {
		record_error("block %p: size word overwritten (%zu)", (void *)p, n);
		return false;
	}
	at = itest_verify(p + 8, n - 8, (uintptr_t)p + n);
	if (at != SIZE_MAX) {
		record_error("block %p (%zu B) changed at offset %zu", (void *)p, n, at + 8);
		return false;
	}
	return true;
}

static void block_free(char *p)
{
	if (p && block_ok(p))
		free(p);
}

/* realloc a block from another thread, check the kept part, refill. */
static char *block_realloc(char *p, unsigned *x)
{
	size_t old = block_size(p), n = random_size(x), keep = old < n ? old : n;
	uintptr_t seed = (uintptr_t)p + old;
	char *q;

	if (!block_ok(p))
		return NULL;
	q = realloc(p, n);
	if (!q) {
		record_error("realloc(%zu -> %zu) failed", old, n);
		return NULL;
	}
	if (itest_verify(q + 8, keep - 8, seed) != SIZE_MAX)
		record_error("realloc(%zu -> %zu) = %p lost contents", old, n, (void *)q);
	memcpy(q, &n, sizeof(n));
	itest_fill(q + 8, n - 8, (uintptr_t)q + n);
	return q;
}

/* ------------------------------------------- shared slots, random traffic */

#define SLOTS 2048
static _Atomic(char *) slots[SLOTS];
static atomic_bool stop;

struct worker {
	pthread_t t;
	unsigned seed;
	long iters;
};

static void *slot_worker(void *arg)
{
	struct worker *w = arg;
	unsigned x = w->seed;
	char *mine[16] = { 0 };

	for (long i = 0; i < w->iters && !atomic_load(&errors); i++) {
		unsigned k = rnd(&x) % 16;
		char *p = block_new(&x), *old;

		if (!p)
			break;
		/* a few blocks stay with this thread for a while */
		if (rnd(&x) % 4 == 0) {
			block_free(mine[k]);
			mine[k] = p;
			continue;
		}
		old = atomic_exchange(&slots[rnd(&x) % SLOTS], p);
		if (!old)
			continue;
		if (rnd(&x) % 8 == 0) {
			old = block_realloc(old, &x);
			if (old)
				old = atomic_exchange(&slots[rnd(&x) % SLOTS], old);
		}
		block_free(old);
	}
	for (int k = 0; k < 16; k++)
		block_free(mine[k]);
	return NULL;
}

static void drain_slots(void)
{
	for (int i = 0; i < SLOTS; i++)
		block_free(atomic_exchange(&slots[i], NULL));
}

START_TEST(cross_thread_slots)
{
	enum { NT = 4 };
	struct worker w[NT];

	reset_errors();
	for (int i = 0; i < NT; i++) {
		w[i].seed = 1000 + i * 77;
		w[i].iters = SCALE(30000);
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, slot_worker, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(w[i].t, NULL);
	drain_slots();
	assert_no_errors();
}
END_TEST

/* --------------------------------------- producers and consumers: all remote */

#define QCAP 1024
static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	char *q[QCAP];
	unsigned head, tail;
	int producers_left;
} queue = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, 0 };

static void *producer(void *arg)
{
	struct worker *w = arg;
	unsigned x = w->seed;

	for (long i = 0; i < w->iters; i++) {
		char *p = block_new(&x);

		if (!p)
			break;
		pthread_mutex_lock(&queue.lock);
		while (queue.tail - queue.head == QCAP)
			pthread_cond_wait(&queue.nonfull, &queue.lock);
		queue.q[queue.tail++ % QCAP] = p;
		pthread_cond_signal(&queue.nonempty);
		pthread_mutex_unlock(&queue.lock);
	}
	pthread_mutex_lock(&queue.lock);
	queue.producers_left--;
	pthread_cond_broadcast(&queue.nonempty);
	pthread_mutex_unlock(&queue.lock);
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	char *batch[64];

	(void)w;
	for (;;) {
		int n = 0;

		pthread_mutex_lock(&queue.lock);
		while (queue.tail == queue.head && queue.producers_left)
			pthread_cond_wait(&queue.nonempty, &queue.lock);
		while (queue.tail != queue.head && n < 64)
			batch[n++] = queue.q[queue.head++ % QCAP];
		pthread_cond_broadcast(&queue.nonfull);
		pthread_mutex_unlock(&queue.lock);
		if (!n)
			return NULL;
		for (int i = 0; i < n; i++)
			block_free(batch[i]);
	}
}

START_TEST(producer_consumer)
{
	enum { NP = 2, NC = 2 };
	struct worker p[NP], c[NC];

	reset_errors();
	queue.head = queue.tail = 0;
	queue.producers_left = NP;
	for (int i = 0; i < NP; i++) {
		p[i].seed = 42 + i;
		p[i].iters = SCALE(40000);
		ck_assert_int_eq(pthread_create(&p[i].t, NULL, producer, &p[i]), 0);
	}
	for (int i = 0; i < NC; i++)
		ck_assert_int_eq(pthread_create(&c[i].t, NULL, consumer, &c[i]), 0);
	for (int i = 0; i < NP; i++)
		pthread_join(p[i].t, NULL);
	for (int i = 0; i < NC; i++)
		pthread_join(c[i].t, NULL);
	ck_assert_uint_eq(queue.head, queue.tail);
	assert_no_errors();
}
END_TEST

/* ------------------------------ 16 threads, every size band up to 4 MiB */

/*
 * The upper edges of the bands: tiny to 128 B and to 1 KiB, pool to 8, 32
 * and 52 KiB, medium to 128 KiB, 512 KiB and 1 MiB, large mappings to 4 MiB.
 */
static const size_t band_max[] = {
	128, 1024, 8 << 10, 32 << 10, 52 << 10, 128 << 10, 512 << 10, MiB, 4 * MiB,
};
#define NBANDS		(sizeof(band_max) / sizeof(band_max[0]))
#define BAND_THREADS	16
#define BAND_SLOTS	256
#define HEADER		16		/* size and owner: the smallest block */
#define DENSE_MAX	(64 << 10)	/* patterned whole up to here */
#define STRIPE		64		/* above: this much of every page, and the tail */

static size_t band_of(size_t n)
{
	size_t b = 0;

	while (n > band_max[b])
		b++;
	return b;
}

static size_t band_size(size_t band, unsigned *x)
{
	size_t lo = band ? band_max[band - 1] + 1 : HEADER;

	return lo + rnd(x) % (band_max[band] - lo + 1);
}

/* The block's pattern: word w is itest_word(seed, w), at any offset. */
static uintptr_t band_seed(const void *p, size_t n, uint64_t owner)
{
	return (uintptr_t)p * 31 + n + (owner << 40);
}

/*
 * Fill (@fill) or check bytes [@from, @to) of @p against the pattern;
 * returns the first offset that differs, or SIZE_MAX.
 */
static size_t band_span(char *p, size_t from, size_t to, uintptr_t seed, bool fill)
{
	for (size_t o = from; o < to;) {
		uint64_t v = itest_word(seed, o / 8);
		size_t k = 8 - o % 8 < to - o ? 8 - o % 8 : to - o;

		if (fill)
			memcpy(p + o, (char *)&v + o % 8, k);
		else if (memcmp(p + o, (char *)&v + o % 8, k))
			return o;
		o += k;
	}
	return SIZE_MAX;
}

/*
 * The patterned bytes of a block of @n, as far as @limit: all of it after
 * the header up to DENSE_MAX; above, STRIPE bytes of every 4 KiB page and
 * the last STRIPE, so that every page the block owns is written and checked
 * at 1/64 of the cost. Returns the first offset that differs, or SIZE_MAX.
 */
static size_t band_pattern(char *p, size_t n, size_t limit, uintptr_t seed, bool fill)
{
	size_t bad = SIZE_MAX;

	if (n <= DENSE_MAX)
		return band_span(p, HEADER, limit, seed, fill);
	for (size_t off = 0; off < limit && bad == SIZE_MAX; off += 4096)
		bad = band_span(p, off ? off : HEADER, off + STRIPE < limit ? off + STRIPE : limit,
				seed, fill);
	if (bad == SIZE_MAX && n - STRIPE < limit)
		bad = band_span(p, n - STRIPE, limit, seed, fill);
	return bad;
}

static void band_sign(char *p, size_t n, uint64_t owner)
{
	uint64_t h[2] = { n, owner };

	memcpy(p, h, HEADER);
	band_pattern(p, n, n, band_seed(p, n, owner), true);
}

struct band_worker {
	pthread_t t;
	unsigned id;			/* 1..BAND_THREADS */
	unsigned x;
	long iters, frees, remote_frees, reallocs;
	char *mine[8];			/* blocks this thread frees itself */
};

/*
 * @p (first placed at @p0, which is @p unless realloc moved it) is intact
 * as far as @limit: header, usable size, pattern. Returns its size, or 0
 * (with an error recorded).
 */
static size_t band_check(char *p, const char *p0, size_t limit, const struct band_worker *w)
{
	uint64_t h[2];
	size_t at;

	memcpy(h, p, HEADER);
	if (h[0] < HEADER || h[0] > band_max[NBANDS - 1] || h[1] < 1 || h[1] > BAND_THREADS) {
		record_error("thread %u: block %p: header overwritten (%#llx %#llx)", w->id,
			     (void *)p, (unsigned long long)h[0], (unsigned long long)h[1]);
		return 0;
	}
	limit = limit < h[0] ? limit : h[0];
	if (malloc_usable_size(p) < limit) {
		record_error("thread %u: block %p of %zu B: usable size %zu", w->id, (void *)p,
			     limit, malloc_usable_size(p));
		return 0;
	}
	at = band_pattern(p, h[0], limit, band_seed(p0, h[0], h[1]), false);
	if (at != SIZE_MAX) {
		record_error("thread %u: block %p (%llu B, of thread %llu) changed at offset %zu",
			     w->id, (void *)p, (unsigned long long)h[0], (unsigned long long)h[1], at);
		return 0;
	}
	return h[0];
}

static char *band_new(struct band_worker *w)
{
	size_t n = band_size(rnd(&w->x) % NBANDS, &w->x);
	unsigned how = rnd(&w->x) % 16;
	char *p = alloc_by(n, how == 0 && n > DENSE_MAX ? 2 : how, &w->x);

	if (p)
		band_sign(p, n, w->id);
	return p;
}

static void band_free(char *p, struct band_worker *w)
{
	uint64_t owner;

	if (!p || !band_check(p, p, SIZE_MAX, w))
		return;
	memcpy(&owner, p + 8, 8);
	w->frees++;
	w->remote_frees += owner != w->id;
	free(p);
}

/* realloc @p into another band: what it keeps is intact, and it is this thread's now. */
static char *band_realloc(char *p, struct band_worker *w)
{
	size_t old = band_check(p, p, SIZE_MAX, w), n;
	char *q;

	if (!old)
		return NULL;
	n = band_size((band_of(old) + 1 + rnd(&w->x) % (NBANDS - 1)) % NBANDS, &w->x);
	q = realloc(p, n);
	if (!q) {
		record_error("thread %u: realloc(%zu -> %zu) failed", w->id, old, n);
		return NULL;
	}
	w->reallocs++;
	if (!band_check(q, p, n, w))	/* @p's header and pattern, moved to @q */
		return NULL;
	band_sign(q, n, w->id);
	return q;
}

static _Atomic(char *) band_slots[BAND_SLOTS];

/*
 * Each round allocates a block of a random band; most go into a shared
 * slot, whose previous block (most likely another thread's) is checked and
 * freed, sometimes after a realloc into another band; a few stay with this
 * thread for a while.
 */
static void *band_worker(void *arg)
{
	struct band_worker *w = arg;

	for (long i = 0; i < w->iters && !atomic_load(&errors); i++) {
		char *p = band_new(w), *old;
		unsigned k = rnd(&w->x) % 8;

		if (!p)
			break;
		if (rnd(&w->x) % 8 == 0) {
			band_free(w->mine[k], w);
			w->mine[k] = p;
			continue;
		}
		old = atomic_exchange(&band_slots[rnd(&w->x) % BAND_SLOTS], p);
		if (old && rnd(&w->x) % 8 == 0) {
			old = band_realloc(old, w);
			if (old)
				old = atomic_exchange(&band_slots[rnd(&w->x) % BAND_SLOTS], old);
		}
		band_free(old, w);
	}
	for (int k = 0; k < 8; k++)
		band_free(w->mine[k], w);
	return NULL;
}

START_TEST(every_band_cross_freed_by_16_threads)
{
	static struct band_worker w[BAND_THREADS];
	struct band_worker me = { .id = 1 };
	struct hang_guard g = hang_guard_start(50);
	long frees = 0, remote = 0, reallocs = 0;

	reset_errors();
	for (unsigned i = 0; i < BAND_THREADS; i++) {
		w[i] = (struct band_worker){ .id = i + 1, .x = 2024 + i * 7919, .iters = SCALE(1200) };
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, band_worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < BAND_THREADS; i++) {
		pthread_join(w[i].t, NULL);
		frees += w[i].frees;
		remote += w[i].remote_frees;
		reallocs += w[i].reallocs;
	}
	hang_guard_stop(&g);
	for (int i = 0; i < BAND_SLOTS; i++)
		band_free(atomic_exchange(&band_slots[i], NULL), &me);
	assert_no_errors();
	ck_assert_msg(remote * 3 > frees * 2, "%ld of %ld frees by another thread", remote, frees);
	ck_assert_msg(reallocs > SCALE(1200), "%ld reallocs", reallocs);
}
END_TEST

/* -------------------------------------------------------------- fork */

static void *churn_until_stop(void *arg)
{
	struct worker *w = arg;
	unsigned x = w->seed;
	char *live[32] = { 0 };

	while (!atomic_load(&stop)) {
		unsigned k = rnd(&x) % 32;

		block_free(live[k]);
		live[k] = block_new(&x);
	}
	for (int k = 0; k < 32; k++)
		block_free(live[k]);
	return NULL;
}

static void *child_thread(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < 500; i++)
		block_free(block_new(&x));
	return NULL;
}

/* In the child: HAKMEM works, also from a new thread, and frees parent blocks. */
static void forked_child(char **parent_blocks, int n)
{
	unsigned x = (unsigned)getpid();
	char *keep[64];
	pthread_t t;

	for (int i = 0; i < n; i++)
		block_free(parent_blocks[i]);
	for (int i = 0; i < 64; i++)
		keep[i] = block_new(&x);
	if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)x) == 0)
		pthread_join(t, NULL);
	else
		record_error("pthread_create in the child failed");
	for (int i = 0; i < 64; i++)
		block_free(keep[i]);
	if (hak.self_check())
		record_error("self check failed in the child");
	exit(atomic_load(&errors) ? 3 : 0);
}

START_TEST(fork_while_threads_allocate)
{
	enum { NT = 3, FORKS = 12, NB = 40 };
	struct hang_guard g = hang_guard_start(40);
	struct worker w[NT];
	unsigned x = 99;

	reset_errors();
	atomic_store(&stop, false);
	for (int i = 0; i < NT; i++) {
		w[i].seed = 7 + i * 1313;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, churn_until_stop, &w[i]), 0);
	}
	for (int f = 0; f < FORKS; f++) {
		char *blocks[NB];
		int status;
		pid_t pid;

		for (int i = 0; i < NB; i++)
			blocks[i] = block_new(&x);
		usleep(1000 + f * 500);
		pid = fork();
		ck_assert_int_ne(pid, -1);
		if (pid == 0)
			forked_child(blocks, NB);
		for (int i = 0; i < NB; i++)
			block_free(blocks[i]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "fork %d: child status %#x (%s %d)", f, status,
			      WIFSIGNALED(status) ? "signal" : "exit",
			      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	atomic_store(&stop, true);
	for (int i = 0; i < NT; i++)
		pthread_join(w[i].t, NULL);
	hang_guard_stop(&g);
	assert_no_errors();
}
END_TEST

/*
 * Issue 16, bug 3: getline() holds its FILE's lock while it reallocs the
 * line; fflush(NULL) holds stdio's list lock while it waits for that FILE;
 * fork() takes the list lock after the atfork prepare handlers. A prepare
 * handler that took HAKMEM's locks before the list lock closed the cycle.
 * Each fork waits for a line to be read, so the test runs for a time (and
 * at least 200 forks), not a count: a slow machine is not a hang.
 */
static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *lines;		/* lines of 1 B .. 400 KB: realloc crosses every tier */
static size_t lines_len;

static void make_lines(void)
{
	unsigned x = 5;
	size_t cap = 8 * MiB, n = 0;

	lines = malloc(cap);
	ck_assert_ptr_nonnull(lines);
	while (n < cap - 500000) {
		size_t len = rnd(&x) % 5 ? rnd(&x) % 3000 : rnd(&x) % 400000;

		memset(lines + n, 'a' + (int)(len % 26), len);
		n += len;
		lines[n++] = '\n';
	}
	lines_len = n;
}

static void *getline_loop(void *arg)
{
	FILE *f = fmemopen(lines, lines_len, "r");

	(void)arg;
	if (!f) {
		record_error("fmemopen failed");
		return NULL;
	}
	while (!atomic_load(&stop)) {
		char *line = NULL;	/* a fresh buffer: every line grows it */
		size_t cap = 0;

		if (getline(&line, &cap, f) < 0)
			rewind(f);
		free(line);
		usleep(20);	/* or fflush(NULL) may never get the FILE's lock */
	}
	fclose(f);
	return NULL;
}

static void *fflush_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		fflush(NULL);
	return NULL;
}

START_TEST(fork_against_stdio)
{
	enum { NGETLINE = 2 };
	struct hang_guard g = hang_guard_start(40);
	double end = mono_s() + 8;
	pthread_t t[NGETLINE + 1];
	int status;

	reset_errors();
	make_lines();
	atomic_store(&stop, false);
	for (int i = 0; i < NGETLINE; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, getline_loop, NULL), 0);
	ck_assert_int_eq(pthread_create(&t[NGETLINE], NULL, fflush_loop, NULL), 0);
	for (int f = 0; mono_s() < end || f < 200; f++) {
		pid_t pid = fork();

		if (pid == 0) {	/* the child's stdio and malloc work */
			char *p = malloc(300000);

			fflush(NULL);
			free(p);
			_exit(p ? 0 : 1);
		}
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "fork %d: child status %#x", f, status);
	}
	atomic_store(&stop, true);
	for (int i = 0; i <= NGETLINE; i++)
		pthread_join(t[i], NULL);
	hang_guard_stop(&g);
	free(lines);
	assert_no_errors();
}
END_TEST

/*
 * Issue 16, bug 5: a single-threaded program forks from a signal handler
 * that lands anywhere - inside malloc holding a lock, inside the prepare
 * handler of the main thread's own fork(). glibc takes no malloc lock in
 * fork() while the process has one thread; neither may HAKMEM.
 *
 * Each round arms a one-shot timer to fire at a random point of the round
 * (its mallocs, frees and fork): at most one handler per round, so the
 * rounds progress however slowly forks complete. A periodic timer could
 * fire again before the handler's fork and wait were done on a loaded
 * machine, and then only the handler ran (with glibc's malloc too). The
 * test runs for a time, not a count, for the same reason.
 */
static atomic_int handler_forks;

static void fork_in_handler(int sig)
{
	int e = errno, status;
	pid_t pid;

	(void)sig;
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		atomic_fetch_add(&handler_forks, 1);
	}
	errno = e;
}

START_TEST(fork_in_signal_handler)
{
	struct hang_guard g = hang_guard_start(40);
	struct sigaction sa = { .sa_handler = fork_in_handler, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	double end = mono_s() + 3;
	unsigned x = 77;
	char *live[64] = { 0 };
	timer_t timer;
	int status;

	ck_assert_msg(__libc_single_threaded, "the test process must have one thread");
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	while (mono_s() < end || atomic_load(&handler_forks) < 100) {
		/* within the round's first 400 us: a round takes 100 us or more */
		struct itimerspec its = { .it_value = { 0, 1000 + rnd(&x) % 400000 } };
		pid_t pid;

		ck_assert_int_eq(timer_settime(timer, 0, &its, NULL), 0);
		for (int k = 0; k < 64; k++) {
			unsigned j = rnd(&x) % 64;

			free(live[j]);
			live[j] = malloc(rnd(&x) % 4 ? rnd(&x) % 2000 : rnd(&x) % 600000);
		}
		pid = fork();
		if (pid == 0)
			_exit(0);
		ck_assert_int_gt(pid, 0);
		while (waitpid(pid, &status, 0) < 0)
			ck_assert_int_eq(errno, EINTR);
	}
	timer_delete(timer);
	signal(SIGUSR1, SIG_IGN);
	for (int k = 0; k < 64; k++)
		free(live[k]);
	hang_guard_stop(&g);
}
END_TEST

/*
 * Issue 18, bug 6: glibc's fork() decides "multiple threads" before the
 * prepare handlers run, HAKMEM's prepare handler when it runs. A prepare
 * handler registered after HAKMEM's (so run before it) that starts a thread
 * makes HAKMEM take stdio's list lock, which glibc then neither takes nor
 * resets: the child must reset it, or its next thread's fflush(NULL) waits
 * forever for a lock its main thread holds.
 */
static bool prepare_starts_thread;

static void *idle(void *arg)
{
	return arg;
}

static void start_a_thread(void)
{
	pthread_t t;

	if (prepare_starts_thread && pthread_create(&t, NULL, idle, NULL) == 0)
		pthread_join(t, NULL);
}

static void *flush_all(void *arg)
{
	fflush(NULL);
	return arg;
}

START_TEST(fork_after_a_prepare_handler_starts_a_thread)
{
	struct hang_guard g = hang_guard_start(20);
	pthread_t t;
	pid_t pid;
	int status;

	free(malloc(1));	/* HAKMEM's atfork handlers are registered */
	ck_assert_msg(__libc_single_threaded, "the test process must have one thread");
	ck_assert_int_eq(pthread_atfork(start_a_thread, NULL, NULL), 0);
	prepare_starts_thread = true;
	pid = fork();
	if (pid == 0)	/* another thread takes the list lock */
		_exit(pthread_create(&t, NULL, flush_all, NULL) || pthread_join(t, NULL));
	prepare_starts_thread = false;
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	fflush(NULL);	/* and the parent's lock was dropped */
	hang_guard_stop(&g);
}
END_TEST

/* --------------------------------------------------- short-lived threads */

#define HANDOFF 256
static char *handoff[HANDOFF];
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;

static void *short_lived(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;
	char *p[64];

	for (int i = 0; i < 64; i++)
		p[i] = block_new(&x);
	for (int i = 0; i < 64; i += 2)
		block_free(p[i]);
	/* leave odd blocks for later threads, free what earlier ones left */
	pthread_mutex_lock(&handoff_lock);
	for (int i = 1; i < 64; i += 2) {
		unsigned k = rnd(&x) % HANDOFF;
		char *old = handoff[k];

		handoff[k] = p[i];
		p[i] = old;
	}
	pthread_mutex_unlock(&handoff_lock);
	for (int i = 1; i < 64; i += 2)
		block_free(p[i]);
	/* a burst of tiny blocks that end in this thread's cache */
	for (int i = 0; i < 64; i++)
		p[i] = malloc(16 + (i % 32) * 16);
	for (int i = 0; i < 64; i++)
		free(p[i]);
	return NULL;
}

/* All HAKMEM has mapped: mallinfo2's arena and its large blocks in use. */
static size_t mapped_now(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.arena + m.hblkhd;
}

START_TEST(thousand_short_threads)
{
	enum { TOTAL = 1000, BATCH = 8 };
	size_t mapped_after_warmup = 0, mapped_end;

	reset_errors();
	for (int done = 0; done < TOTAL; done += BATCH) {
		pthread_t t[BATCH];

		for (int i = 0; i < BATCH; i++)
			ck_assert_int_eq(pthread_create(&t[i], NULL, short_lived,
							(void *)(uintptr_t)(done + i + 1)), 0);
		for (int i = 0; i < BATCH; i++)
			pthread_join(t[i], NULL);
		if (done == 10 * BATCH)
			mapped_after_warmup = mapped_now();
	}
	mapped_end = mapped_now();
	for (int i = 0; i < HANDOFF; i++) {
		block_free(handoff[i]);
		handoff[i] = NULL;
	}
	assert_no_errors();
	/*
	 * Exiting threads give their caches back: after the first 88 threads
	 * the next 912 must reuse that memory, not map their own.
	 */
	ck_assert_msg(mapped_end <= mapped_after_warmup + 64 * MiB,
		      "mapped %zu MiB after 88 threads, %zu MiB after 1000",
		      mapped_after_warmup / MiB, mapped_end / MiB);
}
END_TEST

/* A thread of in_use_back_after_threads: blocks of every tier, all freed but one. */
static void *use_and_leave(void *arg)
{
	static const size_t sizes[] = { 16, 100, 1000, 4000, 30000, 100000, 300000, 3 * MiB };
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	(void)arg;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = malloc(sizes[i]);
		memset(p[i], 1, sizes[i]);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		free(p[i]);
	return malloc(32);	/* freed by the main thread */
}

/*
 * mallinfo2's uordblks is the bytes in use: threads that come, allocate,
 * free and exit leave it where it was (give or take the main thread's
 * caches), however much memory stays mapped for reuse.
 */
START_TEST(in_use_back_after_threads)
{
	size_t before = mallinfo2().uordblks, after;

	for (int i = 0; i < 500; i++) {
		pthread_t t;
		void *ret;

		ck_assert_int_eq(pthread_create(&t, NULL, use_and_leave, NULL), 0);
		pthread_join(t, &ret);
		free(ret);
	}
	after = mallinfo2().uordblks;
	ck_assert_msg(after <= before + 256 * 1024,
		      "in use: %zu B before 500 threads, %zu B after", before, after);
}
END_TEST

/* What run_with_pending_cancel() runs: @fn(@arg) with a cancel pending. */
struct pending_cancel {
	pthread_barrier_t b;
	void (*fn)(void *);
	void *arg;
};

static void *with_pending_cancel(void *arg)
{
	struct pending_cancel *c = arg;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_barrier_wait(&c->b);	/* the main thread cancels us now */
	pthread_barrier_wait(&c->b);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	c->fn(c->arg);
	pthread_testcancel();
	return NULL;
}

/* Run @fn(@arg) in a thread whose cancel is pending; true if it was cancelled. */
static bool run_with_pending_cancel(void (*fn)(void *), void *arg)
{
	struct pending_cancel c = { .fn = fn, .arg = arg };
	pthread_t t;
	void *ret;

	pthread_barrier_init(&c.b, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, with_pending_cancel, &c), 0);
	pthread_barrier_wait(&c.b);
	pthread_cancel(t);
	pthread_barrier_wait(&c.b);
	pthread_join(t, &ret);
	pthread_barrier_destroy(&c.b);
	return ret == PTHREAD_CANCELED;
}

static void print_stats(void *arg)
{
	(void)arg;
	malloc_stats();
}

/*
 * malloc_stats() is not a cancellation point: a thread with a pending
 * cancel prints the whole report, and is cancelled at the next point.
 */
START_TEST(stats_not_cancelled)
{
	static char out[1 << 16];
	int pipefd[2], saved = dup(STDERR_FILENO);
	bool cancelled;
	ssize_t n;

	ck_assert_int_eq(pipe(pipefd), 0);
	dup2(pipefd[1], STDERR_FILENO);	/* the report is a few KiB: the pipe holds it */
	cancelled = run_with_pending_cancel(print_stats, NULL);
	dup2(saved, STDERR_FILENO);
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
	ck_assert_msg(cancelled, "the thread was not cancelled");
	/* the frontend is the registry's last box */
	ck_assert_msg(strstr(out, "\nfrontend.") != NULL,
		      "malloc_stats() cut short by the cancel (%zd bytes):\n%s", n, out);
}
END_TEST

static void write_line(void *f)
{
	fputs("written by a thread being cancelled\n", f);
}

/*
 * A thread cancelled inside stdio's write() unwinds through libc's cleanups,
 * which unlock the FILE. They did not run in the debug build, whose
 * libunwind (for HAKMEM's backtraces) came before libgcc_s in the symbol
 * search and took over libgcc_s's own calls: the next use of the FILE hung.
 */
START_TEST(cancel_unlocks_stdio)
{
	int pipefd[2];
	FILE *f;

	ck_assert_int_eq(pipe(pipefd), 0);
	f = fdopen(pipefd[1], "w");
	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IONBF, 0);	/* every fputs is a write(): a cancellation point */
	ck_assert_msg(run_with_pending_cancel(write_line, f), "the thread was not cancelled");
	ck_assert_msg(ftrylockfile(f) == 0, "the cancelled thread left its FILE locked");
	funlockfile(f);
	fclose(f);
	close(pipefd[0]);
}
END_TEST

/* Threads that only free (blocks of others), and threads that never allocate. */
static void *free_only(void *arg)
{
	char **blocks = arg;

	for (int i = 0; i < 100; i++)
		block_free(blocks[i]);
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

START_TEST(free_only_threads)
{
	unsigned x = 5;

	reset_errors();
	for (int r = 0; r < 50; r++) {
		char *blocks[100];
		pthread_t t, u;

		for (int i = 0; i < 100; i++)
			blocks[i] = block_new(&x);
		ck_assert_int_eq(pthread_create(&t, NULL, free_only, blocks), 0);
		ck_assert_int_eq(pthread_create(&u, NULL, nothing, NULL), 0);
		pthread_join(t, NULL);
		pthread_join(u, NULL);
	}
	assert_no_errors();
}
END_TEST

/* ------------------------------------------------ early and late calls */

/* promise 5: malloc before main */
static char *early[8];

__attribute__((constructor(101))) static void before_main(void)
{
	for (int i = 0; i < 8; i++) {
		size_t n = i < 7 ? (size_t)16 << (2 * i) : LARGE_MAX;	/* 16 B .. 160 KiB */

		early[i] = malloc(n);
		if (early[i]) {
			memcpy(early[i], &n, sizeof(n));
			itest_fill(early[i] + 8, n - 8, (uintptr_t)early[i] + n);
		}
	}
}

START_TEST(malloc_before_main)
{
	reset_errors();
	for (int i = 0; i < 8; i++) {
		ck_assert_ptr_nonnull(early[i]);
		ck_assert_uint_ge(malloc_usable_size(early[i]), block_size(early[i]));
		ck_assert_uint_ge(hak.usable_size(early[i]), block_size(early[i]));
		ck_assert(block_ok(early[i]));
	}
	for (int i = 0; i < 8; i++)
		free(early[i]);
	assert_no_errors();
}
END_TEST

/* promise 5: malloc from TLS destructors, after HAKMEM's own thread exit */
static pthread_key_t key;
static atomic_int dtor_runs;

static void key_dtor(void *v)
{
	unsigned x = (unsigned)(uintptr_t)v;
	char *p[32];

	block_free(v);	/* a block from this thread's life */
	for (int i = 0; i < 32; i++)
		p[i] = block_new(&x);
	for (int i = 0; i < 32; i++)
		block_free(p[i]);
	atomic_fetch_add(&dtor_runs, 1);
}

static void *with_key(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;
	char *p[100];

	/* fill this thread's caches so that its exit has work to do */
	for (int i = 0; i < 100; i++)
		p[i] = block_new(&x);
	for (int i = 0; i < 100; i++)
		block_free(p[i]);
	pthread_setspecific(key, block_new(&x));
	return NULL;
}

START_TEST(malloc_in_tls_destructor)
{
	enum { NT = 64 };

	reset_errors();
	atomic_store(&dtor_runs, 0);
	ck_assert_int_eq(pthread_key_create(&key, key_dtor), 0);
	for (int i = 0; i < NT; i += 4) {
		pthread_t t[4];

		for (int k = 0; k < 4; k++)
			ck_assert_int_eq(pthread_create(&t[k], NULL, with_key,
							(void *)(uintptr_t)(i + k + 1)), 0);
		for (int k = 0; k < 4; k++)
			pthread_join(t[k], NULL);
	}
	ck_assert_int_eq(atomic_load(&dtor_runs), NT);
	pthread_key_delete(key);
	assert_no_errors();
}
END_TEST

/* promise 5: malloc after exit() has begun, in atexit handlers and destructors */
static char *late_block;

static void at_exit_handler(void)
{
	unsigned x = 77;
	char *p = block_new(&x);

	p = block_realloc(p, &x);
	block_free(p);
	block_free(late_block);
	if (!atomic_load(&errors))
		(void)!write(STDOUT_FILENO, "atexit ok\n", 10);
}

static void exiting_child(void *arg)
{
	unsigned x = 3;

	(void)arg;
	late_block = block_new(&x);
	atexit(at_exit_handler);
	exit(0);
}

START_TEST(malloc_in_atexit)
{
	static struct itest_child c;

	itest_spawn(&c, exiting_child, NULL, NULL, NULL);
	ck_assert_msg(itest_exited0(&c), "child: %s; stderr: %s", itest_status_str(&c), c.err);
	ck_assert_msg(strstr(c.out, "atexit ok"), "stdout: %s; stderr: %s", c.out, c.err);
}
END_TEST

/* Threads keep allocating while the main thread runs exit(). */
static void *forever(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;
	char *live[16] = { 0 };

	for (;;) {
		unsigned k = rnd(&x) % 16;

		block_free(live[k]);
		live[k] = block_new(&x);
	}
	return NULL;
}

static void exit_under_load(void *arg)
{
	pthread_t t;

	(void)arg;
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, forever, (void *)(uintptr_t)(i + 1));
	usleep(20000);
	printf("exiting\n");
	exit(0);
}

START_TEST(exit_while_threads_allocate)
{
	static struct itest_child c;

	for (int r = 0; r < 10; r++) {
		itest_spawn(&c, exit_under_load, NULL, NULL, NULL);
		ck_assert_msg(itest_exited0(&c), "round %d: child %s; stderr: %s", r,
			      itest_status_str(&c), c.err);
		ck_assert_msg(strstr(c.out, "exiting") != NULL, "stdout: %s", c.out);
	}
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc;

	tc = itest_tcase(s, "stress", 60);
	tcase_add_test(tc, cross_thread_slots);
	tcase_add_test(tc, producer_consumer);
	tcase_add_test(tc, free_only_threads);

	tc = itest_tcase(s, "bands", 60);
	tcase_add_test(tc, every_band_cross_freed_by_16_threads);

	tc = itest_tcase(s, "lifecycle", 60);
	tcase_add_test(tc, fork_while_threads_allocate);
	tcase_add_test(tc, fork_against_stdio);
	tcase_add_test(tc, fork_in_signal_handler);
	tcase_add_test(tc, fork_after_a_prepare_handler_starts_a_thread);
	tcase_add_test(tc, thousand_short_threads);
	tcase_add_test(tc, in_use_back_after_threads);
	tcase_add_test(tc, stats_not_cancelled);
	tcase_add_test(tc, cancel_unlocks_stdio);
	tcase_add_test(tc, malloc_in_tls_destructor);

	tc = itest_tcase(s, "early_late", 60);
	tcase_add_test(tc, malloc_before_main);
	tcase_add_test(tc, malloc_in_atexit);
	tcase_add_test(tc, exit_while_threads_allocate);
	return s;
}

int main(void)
{
	return itest_run(threads_suite());
}
