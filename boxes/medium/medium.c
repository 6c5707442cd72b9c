/*
 * medium.c - per-thread caches of page runs for 52 KiB - 1 MiB (medium.h).
 *
 * Three levels: a thread's bins; per shard and class, a central list of
 * blocks (an array, so moving a batch touches no block); and bigcache's
 * segments. A miss takes a batch from its shard's central list, or else
 * cuts one from the segments; a flush puts a batch into the central lists
 * of the shards its blocks were cut in (so a producer's blocks come back to
 * it from the thread that freed them), and what does not fit goes back to
 * the segments. So a block keeps its
 * class and its pages while it circulates (no search, no first touch of
 * fresh pages), and goes back to its segment only when the central list
 * overflows, idles for HAKMEM_SS_DELAY_MS or malloc_trim() empties it.
 * An exiting thread's bins go straight back to the segments: on a central
 * list they would serve only later threads of its shard and class, and
 * lists kept busy by those (never idle) would gather what every dead
 * thread left (docs/MEDIUM.md, Giving back).
 *
 * In this file a class is the tier's own index, 0..HAK_MEDIUM_NCLASSES-1
 * (size class HAK_MEDIUM_FIRST_CLASS + that); the API takes size classes.
 *
 * Invariants: a block in a bin or a central list is a live run of bigcache's
 * segments tagged with its class + 1; the bins of a thread hold at most
 * HAKMEM_MEDIUM_CACHE_KB (room + bytes in the bins == the budget once the
 * bins are set up); a bin's cap is 0 until the thread's first slow path sets
 * it, and again after the thread's exit hook or malloc_trim() emptied it.
 *
 * Locks: one per shard's central lists; never held with another lock (runs
 * go to or come from the segments after it is dropped), so never across a
 * system call. Fork takes all 8.
 */
#include <errno.h>
#include <pthread.h>

#include <string.h>

#include "../base/hak_lock.h"
#include "../regionmap/regionmap.h"
#include "../sysmem/sysmem.h"
#include "medium.h"

#define BATCH_MAX	32	/* runs per refill or flush */
#define CAP_MAX		64	/* blocks per bin */
#define NSHARDS		8	/* central lists per class */
#define CENTRAL_MAX	64	/* blocks per central list */
#define CENTRAL_BYTES	((size_t)4 << 20)	/* ... and bytes, but at least 2 blocks */
#define SHARD_BYTES	((size_t)64 << 20)	/* all central lists of a shard */
#define DECAY_MAX	4	/* central lists drained per decay */

/* One shard's free blocks of one class. */
struct central_list {
	unsigned count;
	uint64_t used_ms;		/* last take or put */
	void *slot[CENTRAL_MAX];
};

/* A shard's central lists, shared by the threads of the shard. */
struct central {
	pthread_mutex_t lock;
	size_t bytes;			/* in all its lists: at most SHARD_BYTES */
	struct central_list list[HAK_MEDIUM_NCLASSES];
} __attribute__((aligned(64)));

HAK_TLS struct hak_medium_tls hak_medium_tls;

/* This thread's slow-path state. */
static HAK_TLS struct {
	bool ready;				/* bins set up */
	unsigned shard;				/* segment shard + 1; 0: none yet */
	bool counted;				/* in shard_users[shard - 1] */
	uint64_t now_ms;			/* read once per slow path */
	uint64_t scan_ms;			/* last idle scan */
	size_t budget;				/* the budget T.room counts against */
	size_t shown;				/* bytes in the bins, as last added to in_bins */
	uint64_t used_ms[HAK_MEDIUM_NCLASSES];	/* each bin's last slow path */
	uint8_t batch[HAK_MEDIUM_NCLASSES];	/* next refill's size: 1, 2, 4, ... */
} me;

static struct central centrals[NSHARDS];
static unsigned caps[HAK_MEDIUM_NCLASSES], central_caps[HAK_MEDIUM_NCLASSES];
static size_t budget;		/* bytes per thread: HAKMEM_MEDIUM_CACHE_KB */
static _Atomic size_t learned_budget;	/* the learner's, at most budget */
static _Atomic uint64_t idle_ms;	/* the learner may change it */
static _Atomic size_t in_bins;	/* in all threads' bins, as of their last slow paths */
static bool no_cache;		/* HAKMEM_CHECK=full or a budget of 0 */
static _Atomic unsigned shard_users[NSHARDS];	/* live threads given each shard */
static hak_counter_t refills, central_hits, flushes, blocks_out, blocks_in, direct_allocs,
	direct_frees, shrinks, central_drains, grows;
static hak_counter_t bytes_out, bytes_in;	/* blocks out of / back into the tier */

#define T hak_medium_tls

BUILD_BUG_ON(HAK_MEDIUM_MAX != HAK_CLASS_MAX);

/* (The table's address plus the offset is one constant: cls indexes it with no add.) */
static size_t bytes_of(unsigned cls)
{
	return (hak_class_bytes + HAK_MEDIUM_FIRST_CLASS)[cls];
}

/* @bytes of blocks left the bins or the program for the tier: counted, and the learner told. */
static void came_back(size_t bytes)
{
	hak_count(bytes_in, bytes);
	hak_tick_freed(bytes);
}

/*
 * Bring in_bins up to date with this thread's bins at the end of a slow path:
 * the learner's demand leaves them out, so a free shows when the program
 * makes it, not when a flush does (a fall of the bins' bytes is no shrink).
 */
static void show_held(void)
{
	size_t now = me.ready ? me.budget - T.room : 0;

	if (now != me.shown) {
		hak_atomic_add_relaxed(&in_bins, now - me.shown);	/* modulo 2^64: a fall too */
		me.shown = now;
	}
}

/*
 * This thread's shard (segments and central lists), at its first use: the
 * one the fewest live threads have. Threads that live on spread over all
 * of them; a thread started after another ended takes that one's shard,
 * whose segments hold the pages it touched. (Round robin gave a thread per
 * task a new shard each time, and every shard's segments the pages of the
 * threads that passed through it: bench_churn in 60-600 KiB, 4 threads,
 * peaked at 234 MB and faulted in nearly every page it wrote.)
 */
static unsigned shard(void)
{
	unsigned best = 0;

	if (me.shard)
		return me.shard - 1;
	for (unsigned s = 1; s < NSHARDS; s++)
		if (hak_atomic_load_relaxed(&shard_users[s]) < hak_atomic_load_relaxed(&shard_users[best]))
			best = s;
	if (!hak_sys_thread_exiting()) {	/* no exit hook will run again to count it out */
		hak_atomic_add_relaxed(&shard_users[best], 1);
		me.counted = true;
	}
	me.shard = best + 1;
	return best;
}

/* Up to @want blocks of @cls from this thread's central list. */
static unsigned central_take(unsigned cls, void **out, unsigned want)
{
	struct central *c = &centrals[shard()];
	struct central_list *l = &c->list[cls];
	unsigned n;

	hak_lock(&c->lock);
	n = HAK_MIN(want, l->count);
	l->count -= n;
	c->bytes -= n * bytes_of(cls);
	memcpy(out, l->slot + l->count, n * sizeof(void *));
	l->used_ms = me.now_ms;
	hak_unlock(&c->lock);
	return n;
}

/* @n blocks of @cls into shard @s's central list; what does not fit goes to the segments. */
static void central_put(unsigned s, unsigned cls, void **runs, unsigned n)
{
	struct central *c = &centrals[s];
	struct central_list *l = &c->list[cls];
	unsigned k = 0;

	/* no delay (the learner: the heap shrinks): freed blocks are not wanted soon */
	if (hak_atomic_load_relaxed(&idle_ms)) {
		hak_lock(&c->lock);
		k = HAK_MIN(n, central_caps[cls] - l->count);
		k = HAK_MIN(k, (unsigned)((SHARD_BYTES - c->bytes) / bytes_of(cls)));
		c->bytes += k * bytes_of(cls);
		memcpy(l->slot + l->count, runs, k * sizeof(void *));
		l->count += k;
		l->used_ms = me.now_ms;
		hak_unlock(&c->lock);
	}
	if (n > k)
		hak_bc_runs_free(runs + k, n - k);
}

/* The shard whose central list takes @p back: the one it was cut in. */
static unsigned home_of(const void *p)
{
	return hak_bc_run_shard(p) % NSHARDS;
}

/*
 * @n blocks of @cls into the central lists of the shards they were cut in,
 * where the threads that take blocks of those shards find them: blocks one
 * thread makes and another frees (a producer and its consumer) come back
 * to the producer, not through the segments.
 */
static void central_put_home(unsigned cls, void **runs, unsigned n)
{
	uint8_t home[BATCH_MAX];
	void *same[BATCH_MAX];
	unsigned mixed = 0;

	for (unsigned i = 0; i < n; i++) {
		home[i] = (uint8_t)home_of(runs[i]);
		mixed |= home[i] ^ home[0];
	}
	if (!mixed) {	/* the usual case: one shard */
		central_put(home[0], cls, runs, n);
		return;
	}
	for (unsigned s = 0; s < NSHARDS; s++) {
		unsigned k = 0;

		for (unsigned i = 0; i < n; i++)
			if (home[i] == s)
				same[k++] = runs[i];
		if (k)
			central_put(s, cls, same, k);
	}
}

/* central_put() of the one block @p a free passes on: it must not be there already. */
static void central_put_one(unsigned cls, void *p)
{
	unsigned s = home_of(p);
	struct central *c = &centrals[s];
	struct central_list *l = &c->list[cls];
	bool twice = false;

	hak_lock(&c->lock);
	for (unsigned k = 0; k < l->count && !twice; k++)
		twice = l->slot[k] == p;
	hak_unlock(&c->lock);
	if (twice)
		hak_fatal("double free(%p)", p);
	central_put(s, cls, &p, 1);
}

/* Lists last used before this are idle at @now (0: none, so early after boot). */
static uint64_t idle_since(uint64_t now)
{
	uint64_t idle = hak_atomic_load_relaxed(&idle_ms);

	return now >= idle ? now - idle + 1 : 0;
}

/*
 * Give all of shard @s's central list of @cls back to the segments if idle
 * since @before (all: UINT64_MAX). Returns the bytes.
 */
static size_t central_drain(unsigned s, unsigned cls, uint64_t before)
{
	struct central *c = &centrals[s];
	struct central_list *l = &c->list[cls];
	void *runs[CENTRAL_MAX];
	unsigned n = 0;

	hak_lock(&c->lock);
	if (l->count && l->used_ms < before) {
		n = l->count;
		l->count = 0;
		c->bytes -= n * bytes_of(cls);
		memcpy(runs, l->slot, n * sizeof(void *));
	}
	hak_unlock(&c->lock);
	if (n) {
		hak_bc_runs_free(runs, n);
		hak_count(central_drains, 1);
	}
	return n * bytes_of(cls);
}

/* Set up this thread's bins once; false when it must not cache. */
static bool setup(void)
{
	if (me.ready)
		return true;
	if (no_cache || hak_sys_thread_exiting())
		return false;
	me.ready = true;
	T.room = me.budget = hak_atomic_load_relaxed(&learned_budget);
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		T.bins[i].cap = caps[i];
		me.batch[i] = 1;
	}
	hak_sys_thread_watch();
	return true;
}

/*
 * Give back @cls's newest blocks, a batch at a time, until @keep are left:
 * to the shard's central list, or with @home straight to their segments.
 */
static void bin_flush(unsigned cls, unsigned keep, bool home)
{
	struct hak_bin *b = &T.bins[cls];
	void *runs[BATCH_MAX];

	while (b->count > keep) {
		unsigned n = 0;

		while (b->count > keep && n < BATCH_MAX)
			runs[n++] = hak_bin_pop(b);
		T.room += n * bytes_of(cls);
		if (home)
			hak_bc_runs_free(runs, n);
		else
			central_put_home(cls, runs, n);
		hak_count(flushes, 1);
		hak_count(blocks_in, n);
		came_back(n * bytes_of(cls));
	}
}

/*
 * The learner changed the budget: move this thread's room by as much,
 * emptying bins, largest class first, to fit a lower one.
 */
static void follow_budget(void)
{
	size_t want = hak_atomic_load_relaxed(&learned_budget);

	if (want == me.budget)
		return;
	for (unsigned i = HAK_MEDIUM_NCLASSES; want < me.budget && i-- > 0 && T.room < me.budget - want;)
		bin_flush(i, 0, true);	/* to the segments: the learner wants it back */
	T.room = T.room + want >= me.budget ? T.room + want - me.budget : 0;
	me.budget = want;
}

/*
 * A slow path of @cls: note the bin used, and once per HAKMEM_SS_DELAY_MS
 * empty the bins that saw no slow path for that long (the fast paths leave
 * no trace, so a bin busy on them alone is emptied too, and refills), and
 * give back the thread's shard's central lists that nobody used that long.
 */
static void touch(unsigned cls)
{
	uint64_t now = me.now_ms = hak_sys_now_ms(), idle = hak_atomic_load_relaxed(&idle_ms);

	me.used_ms[cls] = now;
	follow_budget();
	hak_tick(now);
	if (now - me.scan_ms < HAK_MAX(idle, (uint64_t)1))	/* once per clock step at most */
		return;
	me.scan_ms = now;
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++)
		if (T.bins[i].count && now - me.used_ms[i] >= idle) {
			bin_flush(i, 0, false);
			hak_count(shrinks, 1);
		}
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++)
		central_drain(shard(), i, idle_since(now));
}

void *hak_medium_alloc_slow(unsigned size_class)
{
	unsigned cls = size_class - HAK_MEDIUM_FIRST_CLASS;
	size_t size = bytes_of(cls);
	unsigned want = 1, got;
	void *runs[BATCH_MAX];

	/* slow start: a short-lived thread takes few blocks; and at most half
	 * the room left, so that the frees of other classes still fit */
	if (setup()) {
		touch(cls);
		want = HAK_MIN(HAK_MIN(T.bins[cls].cap / 2 + 1, (unsigned)me.batch[cls]),
			       (unsigned)(T.room / size / 2) + 1);
		me.batch[cls] = (uint8_t)HAK_MIN(2u * me.batch[cls], (unsigned)BATCH_MAX);
	}
	got = me.ready ? central_take(cls, runs, want) : 0;
	if (got)
		hak_count(central_hits, 1);
	else
		got = hak_bc_runs_alloc(size, cls + 1, shard(), runs, want);
	if (!got)
		return NULL;
	for (unsigned i = 1; i < got; i++)
		hak_bin_push(&T.bins[cls], runs[i]);
	T.room -= (got - 1) * size;
	hak_count(*(want > 1 ? &refills : &direct_allocs), 1);
	hak_count(blocks_out, got);
	hak_count(bytes_out, got * size);
	hak_tick_taken(got * size);
	show_held();
	return runs[0];
}

/*
 * Make room for @size bytes: halve the bin that holds the most bytes, so a
 * full cache turns over towards the classes in use while each class keeps
 * blocks in its bin. False when that was not enough.
 */
static bool make_room(size_t size)
{
	size_t most = 0;
	unsigned fat = 0;

	if (T.room >= size)
		return true;
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		size_t held = T.bins[i].count * bytes_of(i);

		if (held > most) {
			most = held;
			fat = i;
		}
	}
	if (most)
		bin_flush(fat, T.bins[fat].count / 2, false);	/* keeps half, rounded down */
	return T.room >= size;
}

/* @p in a segment has no class: report why (a run being purged reads as invalid). */
static HAK_SLOW_PATH const char *why_not(const void *p)
{
	uint32_t e = hak_rmap_lookup(p);
	const char *why = "invalid";

	/* a segment on its way out is unregistered first: not its header then */
	if (hak_rmap_kind(e) == HAK_RMAP_SEGMENT && !hak_bc_usable(hak_rmap_base(e, p), p, &why))
		return why;
	return "invalid";
}

/* free() keeps errno: the tick, flushes and runs freed may make system calls that fail. */
HAK_SLOW_PATH void hak_medium_free_slow(void *p, unsigned cls)
{
	struct hak_bin *b;
	size_t size;
	int saved = errno;

	if (cls >= HAK_MEDIUM_NCLASSES)
		hak_fatal("%s free(%p)", why_not(p), p);
	b = &T.bins[cls];
	size = bytes_of(cls);
	if (hak_bin_has_key(p) && hak_bin_contains(b, p))
		hak_fatal("double free(%p)", p);
	if (!setup() || size > budget) {
		hak_bc_runs_free(&p, 1);
		hak_count(direct_frees, 1);
		came_back(size);
	} else {
		touch(cls);
		if (b->count >= b->cap)
			bin_flush(cls, b->cap / 2, false);
		if (make_room(size)) {
			hak_bin_push(b, p);
			T.room -= size;
		} else {	/* the block goes on to the central list */
			central_put_one(cls, p);
			came_back(size);
		}
	}
	show_held();
	errno = saved;
}

size_t hak_medium_usable(const void *p, const char **why)
{
	unsigned cls = hak_bc_run_tag(p) - 1;

	if (cls < HAK_MEDIUM_NCLASSES)
		return bytes_of(cls);
	*why = why_not(p);
	return 0;
}

/* Empty this thread's bins (thread exit, malloc_trim); the next slow path sets them up again. */
static void medium_thread_exit(void)
{
	if (me.counted && hak_sys_thread_exiting()) {
		hak_atomic_sub_relaxed(&shard_users[me.shard - 1], 1);
		me.counted = false;
	}
	if (!me.ready)
		return;
	me.now_ms = hak_sys_now_ms();
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		bin_flush(i, 0, true);
		T.bins[i].cap = 0;
	}
	T.room = 0;
	me.ready = false;
	show_held();
}

/* Every block of the central lists back to its segment. */
static void medium_trim(void)
{
	for (unsigned s = 0; s < NSHARDS; s++)
		for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++)
			central_drain(s, i, UINT64_MAX);
}

/*
 * The decay op: up to DECAY_MAX central lists (of any shard) that nobody
 * used for HAKMEM_SS_DELAY_MS at @now go back to their segments, which
 * return their pages by bigcache's decay (it runs after this one). A
 * thread's own bins decay at its slow paths (touch()). Returns the bytes.
 */
static size_t medium_decay(uint64_t now)
{
	size_t bytes = 0, b;
	unsigned n = 0;

	for (unsigned s = 0; s < NSHARDS && n < DECAY_MAX; s++)
		for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES && n < DECAY_MAX; i++)
			if ((b = central_drain(s, i, idle_since(now)))) {
				bytes += b;
				n++;
			}
	return bytes;
}

static void medium_prefork(void)
{
	for (unsigned s = 0; s < NSHARDS; s++)
		hak_lock(&centrals[s].lock);
}

static void medium_postfork_parent(void)
{
	for (unsigned s = NSHARDS; s-- > 0;)
		hak_unlock(&centrals[s].lock);
}

static void medium_postfork_child(void)
{
	for (unsigned s = 0; s < NSHARDS; s++) {
		pthread_mutex_init(&centrals[s].lock, NULL);
		atomic_store(&shard_users[s], me.counted && s == me.shard - 1);
	}
	atomic_store(&in_bins, me.shown);	/* the other threads are gone */
}

/*
 * A bin holds up to a quarter of the budget (at least one block, at most
 * CAP_MAX); the budget bounds all of them together. A central list holds
 * CENTRAL_BYTES (2..CENTRAL_MAX blocks), all of a shard's SHARD_BYTES.
 */
static int medium_init(const struct hak_options *opt)
{
	budget = (size_t)opt->v[HAK_OPT_MEDIUM_CACHE_KB] << 10;
	hak_medium_set_limits(budget, (uint64_t)opt->v[HAK_OPT_SS_DELAY_MS]);
	no_cache = budget == 0 || opt->v[HAK_OPT_CHECK] == HAK_CHECK_FULL;
	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		caps[i] = no_cache ? 0 : (unsigned)HAK_MIN(HAK_MAX(budget / 4 / bytes_of(i), (size_t)1),
							  (size_t)CAP_MAX);
		central_caps[i] = (unsigned)HAK_MIN(HAK_MAX(CENTRAL_BYTES / bytes_of(i), (size_t)2),
						    (size_t)CENTRAL_MAX);
	}
	return 0;
}

void hak_medium_set_limits(size_t cache_bytes, uint64_t delay_ms)
{
	hak_atomic_store_relaxed(&learned_budget, HAK_MIN(cache_bytes, budget));
	hak_atomic_store_relaxed(&idle_ms, delay_ms);
}

void hak_medium_demand(struct hak_demand *d)
{
	uint64_t in = atomic_load_explicit(&bytes_in, memory_order_acquire);

	d->held = hak_atomic_load_relaxed(&in_bins);
	d->out = hak_atomic_load_relaxed(&bytes_out);
	d->live = d->out > in + d->held ? d->out - in - d->held : 0;
}

/* Blocks in this thread's bins, in bytes. */
static size_t thread_held(void)
{
	size_t held = 0;

	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++)
		held += (size_t)T.bins[i].count * bytes_of(i);
	return held;
}

static void medium_stats(struct hak_stats_sink *st)
{
	uint64_t in_central = 0;

	for (unsigned s = 0; s < NSHARDS; s++) {
		hak_lock(&centrals[s].lock);
		for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++)
			in_central += centrals[s].list[i].count;
		hak_unlock(&centrals[s].lock);
	}
#define P(f) hak_stat(st, #f, f);
	P(refills) P(central_hits) P(flushes) P(blocks_out) P(blocks_in) P(direct_allocs)
	P(direct_frees) P(shrinks) P(central_drains) P(grows) P(in_central)
#undef P
	hak_stat(st, "thread_held_bytes", thread_held());
}

bool hak_medium_grow(void *p, size_t size)
{
	unsigned i = hak_bc_run_tag(p) - 1, cls = hak_medium_class(size) - HAK_MEDIUM_FIRST_CLASS;

	/* a block in the bin is warm: moving there faults nothing in */
	if (i >= HAK_MEDIUM_NCLASSES || cls <= i || T.bins[cls].count ||
	    !hak_bc_run_grow(p, bytes_of(cls), cls + 1))
		return false;
	hak_count(grows, 1);
	hak_count(bytes_out, bytes_of(cls) - bytes_of(i));
	hak_tick_taken(bytes_of(cls) - bytes_of(i));
	return true;
}

/* malloc_trim or a failed mapping: the central lists go back to the segments,
 * which bigcache's reclaim (it runs next) returns to the OS. */
static size_t medium_reclaim(void)
{
	medium_trim();
	return 0;
}

/* @p is a live run of class @cls. */
static bool is_block_of(const void *p, unsigned cls)
{
	return hak_rmap_class(p) == HAK_RMAP_RUNS && hak_bc_run_tag(p) == cls + 1;
}

/* Shard @s's central lists: within their caps, each block a live run of its class, the bytes counted. */
static int central_check(unsigned s)
{
	struct central *c = &centrals[s];
	size_t bytes = 0;
	int errors = 0;

	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		struct central_list *l = &c->list[i];

		for (unsigned k = 0; k < l->count && k <= central_caps[i]; k++)
			if (l->count > central_caps[i] || !is_block_of(l->slot[k], i)) {
				hak_report("self-check: medium central list %u/%u: over its cap or %p not of its class",
					   s, i, l->slot[k]);
				errors++;
				break;
			}
		bytes += (size_t)l->count * bytes_of(i);
	}
	if (bytes != c->bytes || bytes > SHARD_BYTES) {
		hak_report("self-check: medium shard %u holds %zu B in its central lists, counts %zu B",
			   s, bytes, c->bytes);
		errors++;
	}
	return errors;
}

static int centrals_check(void)
{
	int errors = 0;

	for (unsigned s = 0; s < NSHARDS; s++) {
		hak_lock(&centrals[s].lock);
		errors += central_check(s);
		hak_unlock(&centrals[s].lock);
	}
	return errors;
}

/*
 * This thread's bins: counts true, each block a live run of its class, the
 * bytes within the budget; and the central lists.
 */
static int medium_self_check(void)
{
	size_t held = 0;
	int errors = centrals_check();

	for (unsigned i = 0; i < HAK_MEDIUM_NCLASSES; i++) {
		const struct hak_bin *b = &T.bins[i];
		unsigned n = 0;

		for (void **p = b->head; p && n <= b->count; p = p[0], n++)
			if (!is_block_of(p, i)) {
				hak_report("self-check: medium bin %u holds %p, not a live block of its class",
					   i, (void *)p);
				errors++;
				break;
			}
		if (n != b->count || b->count > b->cap) {
			hak_report("self-check: medium bin %u counts %u blocks, holds %u (cap %u)",
				   i, b->count, n, b->cap);
			errors++;
		}
		held += (size_t)n * bytes_of(i);
	}
	if (me.ready && held + T.room != me.budget) {
		hak_report("self-check: medium bins hold %zu B with %zu B of room, budget %zu B",
			   held, T.room, me.budget);
		errors++;
	}
	return errors;
}

static void medium_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%u classes %zu..%zu KiB; %zu KiB per thread%s; bins idle %llu ms empty",
		 HAK_MEDIUM_NCLASSES, bytes_of(0) >> 10,
		 bytes_of(HAK_MEDIUM_NCLASSES - 1) >> 10, budget >> 10,
		 no_cache ? " (not caching)" : "", (unsigned long long)hak_atomic_load_relaxed(&idle_ms));
}

const struct hak_box hak_box_medium = {
	.name = "medium",
	.layer = 3,
	.init = medium_init,
	.thread_exit = medium_thread_exit,
	.prefork = medium_prefork,
	.postfork_parent = medium_postfork_parent,
	.postfork_child = medium_postfork_child,
	.reclaim = medium_reclaim,
	.decay = medium_decay,
	.stats = medium_stats,
	.self_check = medium_self_check,
	.describe = medium_describe,
};
