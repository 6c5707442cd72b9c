/*
 * check_medium.c - the medium tier (52 KiB - 1 MiB): size classes, per-thread
 * bins (hits, batch refill and flush, byte bound, thread exit, trim, idle
 * shrink), the central lists behind them, bad input, the segment runs behind them, fork, and a 16-thread
 * cross-freeing stress over 52 KiB - 4 MiB.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../boxes/medium/medium.h"
#include "../../boxes/regionmap/regionmap.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static void *base_of(void *p)
{
	return hak_rmap_base(hak_rmap_lookup(p), p);
}

static long stat1(const char *name)
{
	return unit_stat(name, " ");
}

/* Runs out of the segments now: handed out or in some thread's bin. */
static long runs_out(void)
{
	return stat1("bigcache.seg_allocs") - stat1("bigcache.seg_frees");
}

static void cache_on(const char *kb)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	if (kb)
		setenv("HAKMEM_MEDIUM_CACHE_KB", kb, 1);
}

/* ------------------------------------------------------------ classes */

/*
 * Every size maps to the smallest medium class that holds it (sizes up to
 * 52 KiB, for aligned requests, to the first); classes are whole pages.
 */
START_TEST(classes_hold_every_size_with_little_waste)
{
	const unsigned first = HAK_MEDIUM_FIRST_CLASS, end = first + HAK_MEDIUM_NCLASSES;

	ck_assert_uint_gt(hak_class_bytes[first], 52 * KiB);
	ck_assert_uint_eq(hak_class_bytes[end - 1], MiB);
	for (unsigned c = first; c < end; c++)
		ck_assert_uint_eq(hak_class_bytes[c] % 4096, 0);
	for (size_t size = 1; size <= MiB; size += size < 60 * KiB ? 4093 : 257) {
		unsigned c = hak_medium_class(size);

		ck_assert_uint_ge(c, first);
		ck_assert_uint_lt(c, end);
		ck_assert_uint_ge(hak_class_bytes[c], size);
		if (c > first)
			ck_assert_uint_lt(hak_class_bytes[c - 1], size);
		if (size > 52 * KiB)	/* waste < 1/8 */
			ck_assert_uint_lt((hak_class_bytes[c] - size) * 8, size);
	}
	for (unsigned c = first; c < end; c++) {	/* the edges */
		size_t b = hak_class_bytes[c];

		ck_assert_uint_eq(hak_medium_class(b), c);
		if (c + 1 < end)
			ck_assert_uint_eq(hak_medium_class(b + 1), c + 1);
	}
}
END_TEST

/* The usable size is the class's; blocks are page-aligned runs of a segment. */
START_TEST(usable_size_is_the_class_size)
{
	char *p;

	cache_on(NULL);
	p = hak_malloc(100 * KiB);
	ck_assert_uint_eq((uintptr_t)p % 4096, 0);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(p)), HAK_RMAP_SEGMENT);
	ck_assert_uint_eq(hak_malloc_usable_size(p), 104 * KiB);
	memset(p, 1, 104 * KiB);
	hak_free(p);
	p = hak_malloc(MiB);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(p)), HAK_RMAP_SEGMENT);
	ck_assert_uint_eq(hak_malloc_usable_size(p), MiB);
	hak_free(p);
	p = hak_malloc(MiB + 1);	/* above the band: a large block */
	ck_assert_int_ne(hak_rmap_kind(hak_rmap_lookup(p)), HAK_RMAP_SEGMENT);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Page alignment is served from the band; more alignment by bigcache. */
START_TEST(aligned_requests)
{
	void *p = hak_memalign(4096, 100 * KiB), *q = hak_memalign(8192, 100 * KiB);
	void *r = hak_memalign(4096, 50 * KiB + 8);	/* no pool class is page-aligned */

	ck_assert_uint_eq((uintptr_t)p % 4096, 0);
	ck_assert_int_eq(hak_rmap_kind(hak_rmap_lookup(p)), HAK_RMAP_SEGMENT);
	ck_assert_uint_eq((uintptr_t)q % 8192, 0);
	ck_assert_int_ne(hak_rmap_kind(hak_rmap_lookup(q)), HAK_RMAP_SEGMENT);	/* a large block */
	ck_assert_uint_eq((uintptr_t)r % 4096, 0);
	memset(r, 1, 50 * KiB + 8);
	hak_free(p);
	hak_free(q);
	hak_free(r);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* ------------------------------------------------------------ bins */

/* A free then a malloc of the class: the same block, no segment call. */
START_TEST(a_hit_takes_nothing_from_the_segments)
{
	void *p, *q;
	long allocs, frees;

	cache_on(NULL);
	p = hak_malloc(200 * KiB);
	hak_free(p);
	allocs = stat1("bigcache.seg_allocs");
	frees = stat1("bigcache.seg_frees");
	for (int i = 0; i < 100; i++) {
		q = hak_malloc(200 * KiB);
		ck_assert_ptr_eq(q, p);
		hak_free(q);
	}
	ck_assert_int_eq(stat1("bigcache.seg_allocs"), allocs);
	ck_assert_int_eq(stat1("bigcache.seg_frees"), frees);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A miss takes a batch (one lock), which the next mallocs use up; a
 * thread's batches of a class start at 1 and double up to cap / 2 + 1.
 */
START_TEST(a_miss_refills_a_batch)
{
	void *p[16];

	cache_on("4096");	/* cap of 64 KiB blocks: 4 MiB / 4 / 64 KiB = 16; batch 9 */
	for (int i = 0; i < 16; i++) {
		p[i] = hak_malloc(64 * KiB);
		if (i == 0)
			ck_assert_int_eq(stat1("bigcache.seg_allocs"), 1);
		if (i == 7)		/* misses at 1, 2, 4, 8: batches 1, 2, 4, 8 */
			ck_assert_int_eq(stat1("bigcache.seg_allocs"), 15);
	}
	ck_assert_int_eq(stat1("bigcache.seg_allocs"), 24);	/* then 9 */
	ck_assert_int_eq(stat1("medium.refills"), 4);
	ck_assert_int_eq(unit_count_in(p, 16, p, 16), 16);
	for (int i = 0; i < 16; i++)
		hak_free(p[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A free into a full bin gives half of it to the central list in one batch,
 * and the next miss takes its batch from there, not from the segments.
 */
START_TEST(an_overflow_flushes_a_batch_the_next_miss_takes)
{
	void *p[40];
	long out;
	int n = 0;

	cache_on("4096");	/* cap 16 */
	for (int i = 0; i < 17; i++)
		p[i] = hak_malloc(64 * KiB);
	ck_assert_int_eq(stat1("medium.flushes"), 0);
	for (int i = 0; i < 17; i++)
		hak_free(p[i]);
	ck_assert_int_eq(stat1("medium.flushes"), 1);
	ck_assert_int_eq(stat1("medium.blocks_in"), 8);
	ck_assert_int_eq(stat1("medium.in_central"), 8);
	out = runs_out();			/* none back to the segments */
	while (n < 40 && stat1("medium.central_hits") == 0)	/* the bin's, then a miss */
		p[n++] = hak_malloc(64 * KiB);
	ck_assert_int_eq(stat1("medium.central_hits"), 1);
	ck_assert_int_eq(stat1("medium.in_central"), 0);
	ck_assert_int_eq(runs_out(), out);
	for (int i = 0; i < n; i++)
		hak_free(p[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * With no delay (the learner's, in a shrink) an overflow sends its batch
 * to the segments: a central list would keep it resident once the frees
 * stop, for nothing drains it then.
 */
START_TEST(with_no_delay_the_central_lists_keep_nothing)
{
	void *p[17];

	cache_on("4096");	/* cap 16 */
	setenv("HAKMEM_LEARN", "0", 1);
	for (int i = 0; i < 17; i++)
		p[i] = hak_malloc(64 * KiB);
	hak_medium_set_limits(4 * MiB, 0);
	for (int i = 0; i < 17; i++)
		hak_free(p[i]);
	ck_assert_int_gt(stat1("medium.flushes"), 0);
	ck_assert_int_eq(stat1("medium.in_central"), 0);
	ck_assert_int_eq(stat1("bigcache.seg_frees"), stat1("medium.blocks_in"));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * The learner's demand leaves out the blocks in the bins (as of each
 * thread's last slow path): a free shows when the program makes it.
 */
START_TEST(demand_leaves_out_the_bins)
{
	struct hak_demand d;
	void *p, *q;

	cache_on(NULL);
	setenv("HAKMEM_LEARN", "0", 1);
	p = hak_malloc(300 * KiB);
	hak_medium_demand(&d);
	ck_assert_uint_eq(d.live, hak_malloc_usable_size(p));
	hak_free(p);	/* into the bin */
	q = hak_malloc(70 * KiB);	/* a slow path */
	hak_medium_demand(&d);
	ck_assert_uint_eq(d.live, hak_malloc_usable_size(q));
	ck_assert_uint_eq(d.out, hak_malloc_usable_size(q) + 320 * KiB);
	ck_assert_uint_eq(d.held, 320 * KiB);
	hak_free(q);
	hak_malloc_trim(0);	/* the bins go back: nothing left out */
	hak_medium_demand(&d);
	ck_assert_uint_eq(d.live, 0);
	ck_assert_uint_eq(d.held, 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* The bins of a thread never hold more than HAKMEM_MEDIUM_CACHE_KB. */
START_TEST(bins_are_bounded_in_bytes)
{
	void *p[40];

	cache_on("1024");
	for (int i = 0; i < 40; i++)
		p[i] = hak_malloc(56 * KiB + (size_t)(i % 20) * 40 * KiB);
	for (int i = 0; i < 40; i++) {		/* 17 MiB in all */
		hak_free(p[i]);
		ck_assert_int_le(stat1("medium.thread_held_bytes"), 1024 * (long)KiB);
	}
	ck_assert_int_gt(stat1("medium.thread_held_bytes"), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static long slow_paths(void)
{
	return stat1("medium.refills") + stat1("medium.central_hits") + stat1("medium.direct_allocs") +
	       stat1("medium.flushes");
}

/*
 * A one-thread ring of blocks of random 56-128 KiB classes (12 classes,
 * 23 MiB live, a 16 MiB cache) keeps its bins mid-way: under 1 op in 200
 * takes a slow path. It was 1 in 33 when a full cache gave back half the
 * bin of its biggest class and a refill could take all the room left.
 */
START_TEST(a_random_ring_rarely_takes_a_slow_path)
{
	enum { RING = 256, OPS = 200000 };
	static void *ring[RING];
	unsigned seed = 42;
	long before;

	cache_on("16384");
	for (int i = 0; i < RING; i++)
		ring[i] = hak_malloc(53 * KiB + (size_t)rand_r(&seed) % (75 * KiB));
	for (int i = 0; i < 10000; i++) {	/* warm-up, then measure */
		unsigned k = (unsigned)rand_r(&seed) % RING;

		hak_free(ring[k]);
		ring[k] = hak_malloc(53 * KiB + (size_t)rand_r(&seed) % (75 * KiB));
	}
	before = slow_paths();
	for (int i = 0; i < OPS; i++) {
		unsigned k = (unsigned)rand_r(&seed) % RING;

		hak_free(ring[k]);
		ring[k] = hak_malloc(53 * KiB + (size_t)rand_r(&seed) % (75 * KiB));
	}
	ck_assert_int_lt((slow_paths() - before) * 200, OPS);
	for (int i = 0; i < RING; i++)
		hak_free(ring[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *alloc_free_some(void *arg)
{
	void *p[10];

	(void)arg;
	for (int i = 0; i < 10; i++)
		p[i] = hak_malloc(80 * KiB + (size_t)i * 50 * KiB);
	for (int i = 0; i < 10; i++)
		hak_free(p[i]);
	return NULL;
}

START_TEST(thread_exit_gives_back)
{
	pthread_t t;

	cache_on(NULL);
	hak_free(hak_malloc(1));
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_free_some, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_gt(stat1("bigcache.seg_allocs"), 0);
	/* every run is back in its segment, for any shard and class to reuse */
	ck_assert_int_eq(stat1("medium.in_central"), 0);
	ck_assert_int_eq(runs_out(), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(trim_empties_the_bins)
{
	cache_on(NULL);
	alloc_free_some(NULL);
	ck_assert_int_gt(runs_out(), 0);
	hak_malloc_trim(0);
	ck_assert_int_eq(runs_out(), 0);
	ck_assert_int_eq(stat1("bigcache.seg_kept_pages"), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	alloc_free_some(NULL);		/* caches again afterwards */
	ck_assert_int_gt(runs_out(), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A bin that saw no slow path for HAKMEM_SS_DELAY_MS is emptied at the next one. */
START_TEST(idle_bins_shrink)
{
	void *p;

	cache_on(NULL);
	setenv("HAKMEM_SS_DELAY_MS", "50", 1);
	hak_free(hak_malloc(300 * KiB));
	ck_assert_int_gt(runs_out(), 0);
	usleep(150 * 1000);
	p = hak_malloc(70 * KiB);	/* another class's miss */
	ck_assert_int_eq(stat1("medium.shrinks"), 1);
	ck_assert_int_eq(stat1("medium.in_central"), 1);	/* the 320 KiB bin's */
	ck_assert_int_eq(stat1("bigcache.seg_frees"), 0);
	usleep(150 * 1000);
	hak_free(hak_malloc(90 * KiB));	/* idle central lists go back */
	ck_assert_int_eq(stat1("bigcache.seg_frees"), 1);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Six bins idle past the delay (600 ms): the next slow path puts them on six central lists. */
static void *use_six_classes(void *arg)
{
	size_t kib[] = { 64, 96, 128, 192, 256, 512 };

	for (int i = 0; i < 6; i++)
		hak_free(hak_malloc(kib[i] * KiB));
	usleep(600 * 1000);
	hak_free(hak_malloc(768 * KiB));	/* its bin goes to the segments at exit */
	return arg;
}

/*
 * The decay op: central lists nobody used for HAKMEM_SS_DELAY_MS go back to
 * their segments, at most 4 lists a call; not before the delay.
 */
START_TEST(decay_is_bounded_and_waits_for_the_delay)
{
	pthread_t t;
	long drains;
	int calls = 0;

	cache_on(NULL);
	setenv("HAKMEM_SS_DELAY_MS", "500", 1);
	ck_assert_int_eq(pthread_create(&t, NULL, use_six_classes, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(stat1("medium.in_central"), 6);
	ck_assert_int_eq(stat1("bigcache.seg_frees"), 1);	/* the thread's exit */
	ck_assert_uint_eq(hak_box_medium.decay(hak_sys_now_ms()), 0);
	ck_assert_int_eq(stat1("medium.in_central"), 6);
	usleep(600 * 1000);
	for (;;) {
		drains = stat1("medium.central_drains");
		if (!hak_box_medium.decay(hak_sys_now_ms()))
			break;
		ck_assert_int_le(stat1("medium.central_drains") - drains, 4);
		calls++;
	}
	ck_assert_int_eq(calls, 2);
	ck_assert_int_eq(stat1("medium.in_central"), 0);
	ck_assert_int_eq(stat1("bigcache.seg_frees"), 1 + 6);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A block freed by another thread goes into that thread's bin, and back at its exit. */
static void *free_it(void *p)
{
	hak_free(p);
	return NULL;
}

START_TEST(cross_thread_free_goes_to_the_freeing_thread)
{
	pthread_t t;
	void *p;

	cache_on(NULL);
	p = hak_malloc(500 * KiB);
	memset(p, 1, 500 * KiB);
	ck_assert_int_eq(pthread_create(&t, NULL, free_it, p), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(runs_out(), 0);	/* its bin, at its exit, to the segment */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static pthread_barrier_t freed;

/* Free the 17 blocks at @arg, then stay (its bin kept) until the maker looked. */
static void *free_17_and_wait(void *arg)
{
	void **p = arg;

	for (int i = 0; i < 17; i++)
		hak_free(p[i]);
	pthread_barrier_wait(&freed);
	pthread_barrier_wait(&freed);
	return NULL;
}

/*
 * Blocks one thread makes and another frees go, when the freer's bin
 * overflows, to the central list of the shard they were cut in, where
 * the maker's next miss takes them (a producer and its consumer).
 */
START_TEST(a_flush_goes_to_the_makers_central_list)
{
	void *p[40];
	pthread_t t;
	long out;
	int n = 0;

	cache_on("4096");	/* cap 16 */
	for (int i = 0; i < 17; i++)
		p[i] = hak_malloc(64 * KiB);
	pthread_barrier_init(&freed, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, free_17_and_wait, p), 0);
	pthread_barrier_wait(&freed);
	ck_assert_int_eq(stat1("medium.flushes"), 1);
	ck_assert_int_eq(stat1("medium.in_central"), 8);
	out = runs_out();
	while (n < 40 && stat1("medium.central_hits") == 0)	/* the bin's, then a miss */
		p[n++] = hak_malloc(64 * KiB);
	ck_assert_int_eq(stat1("medium.central_hits"), 1);
	ck_assert_int_eq(stat1("medium.in_central"), 0);
	ck_assert_int_eq(runs_out(), out);
	pthread_barrier_wait(&freed);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	for (int i = 0; i < n; i++)
		hak_free(p[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *medium_once(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(200 * KiB));
	return NULL;
}

/*
 * A thread started after another ended takes that one's shard, whose
 * segment holds the pages it touched: ten threads in turn map one segment.
 */
START_TEST(threads_in_turn_share_a_shard)
{
	pthread_t t;

	cache_on(NULL);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, medium_once, NULL), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
	}
	ck_assert_int_eq(stat1("bigcache.seg_mapped"), 1);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* HAKMEM_CHECK=full (or a budget of 0) caches nothing: every call reaches the segment. */
START_TEST(full_check_caches_nothing)
{
	setenv("HAKMEM_CHECK", "full", 1);
	alloc_free_some(NULL);
	ck_assert_int_eq(runs_out(), 0);
	ck_assert_int_eq(stat1("medium.direct_frees"), 10);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* realloc within the band copies into the new class and keeps the contents. */
START_TEST(realloc_keeps_contents)
{
	char *p, *q;

	cache_on(NULL);
	p = hak_malloc(60 * KiB);
	unit_fill(p, 60 * KiB, 3);
	q = hak_realloc(p, 900 * KiB);
	ck_assert(unit_verify(q, 60 * KiB, 3));
	ck_assert_uint_eq(hak_malloc_usable_size(q), 960 * KiB);
	p = hak_realloc(q, 3 * MiB);
	ck_assert(unit_verify(p, 60 * KiB, 3));
	q = hak_realloc(p, 70 * KiB);
	ck_assert(unit_verify(q, 60 * KiB, 3));
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * realloc grows a block in place over the free pages after it (no copy, the
 * pointer kept), and moves it when they are taken.
 */
START_TEST(realloc_grows_in_place_over_free_pages)
{
	char *a, *b, *c, *d;

	cache_on("0");	/* no bins: runs come from the segment, first fit */
	a = hak_malloc(100 * KiB);
	unit_fill(a, 100 * KiB, 5);
	b = hak_realloc(a, 300 * KiB);
	ck_assert_ptr_eq(b, a);
	ck_assert(unit_verify(b, 100 * KiB, 5));
	ck_assert_uint_eq(hak_malloc_usable_size(b), hak_class_bytes[hak_medium_class(300 * KiB)]);
	memset(b + 100 * KiB, 7, 200 * KiB);
	c = hak_malloc(60 * KiB);	/* right after b's pages */
	ck_assert_ptr_eq(c, b + hak_malloc_usable_size(b));
	ck_assert_int_eq(hak_self_check(), 0);
	d = hak_realloc(b, 500 * KiB);	/* c is in the way */
	ck_assert_ptr_ne(d, b);
	ck_assert(unit_verify(d, 100 * KiB, 5));
	ck_assert_int_eq(d[300 * KiB - 1], 7);
	ck_assert_int_eq(stat1("medium.grows"), 1);
	hak_free(c);
	hak_free(d);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* ... but moves it to a block of the new class in the bin: its pages are faulted in already. */
START_TEST(realloc_moves_to_a_warm_block_in_the_bin)
{
	char *a, *w, *b;

	cache_on(NULL);
	w = hak_malloc(300 * KiB);
	memset(w, 1, 300 * KiB);
	hak_free(w);	/* into the bin */
	a = hak_malloc(100 * KiB);
	unit_fill(a, 100 * KiB, 6);
	b = hak_realloc(a, 300 * KiB);
	ck_assert_ptr_eq(b, w);
	ck_assert(unit_verify(b, 100 * KiB, 6));
	ck_assert_int_eq(stat1("medium.grows"), 0);
	hak_free(b);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* ------------------------------------------------------------ segments */

/* Runs of different classes share a segment, page by page, first fit. */
START_TEST(runs_share_a_segment_page_by_page)
{
	char *a, *b, *c;

	cache_on("0");
	a = hak_malloc(100 * KiB);		/* 104 KiB: 26 pages */
	b = hak_malloc(200 * KiB + 1);		/* 224 KiB */
	ck_assert_ptr_eq(base_of(a), base_of(b));
	ck_assert_ptr_eq(b, a + 104 * KiB);
	memset(a, 1, 100 * KiB);
	memset(b, 2, 200 * KiB + 1);
	hak_free(a);
	c = hak_malloc(60 * KiB);		/* first fit: a's pages */
	ck_assert_ptr_eq(c, a);
	ck_assert_int_eq(b[0], 2);
	ck_assert_int_eq(stat1("bigcache.seg_mapped"), 1);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(b);
	hak_free(c);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(calloc_of_reused_pages_is_zero)
{
	unsigned char *p, *q, any = 0;

	cache_on(NULL);
	p = hak_malloc(300 * KiB);
	memset(p, 0xab, 300 * KiB);
	hak_free(p);
	q = hak_calloc(1, 300 * KiB);
	ck_assert_ptr_eq(q, p);
	for (size_t i = 0; i < 300 * KiB; i++)
		any |= q[i];
	ck_assert_uint_eq(any, 0);
	hak_free(q);
}
END_TEST

START_TEST(usable_tells_invalid_from_double)
{
	char *p, *q;
	const char *why = NULL;

	cache_on("0");
	p = hak_malloc(100 * KiB);
	q = hak_malloc(100 * KiB);
	ck_assert_uint_eq(hak_medium_usable(p + 4096, &why), 0);
	ck_assert_str_eq(why, "invalid");
	ck_assert_uint_eq(hak_medium_usable(p + 16, &why), 0);
	ck_assert_str_eq(why, "invalid");
	ck_assert_uint_eq(hak_medium_usable(base_of(p), &why), 0);	/* the header page */
	ck_assert_str_eq(why, "invalid");
	hak_free(p);
	ck_assert_uint_eq(hak_medium_usable(p, &why), 0);
	ck_assert_str_eq(why, "double");
	hak_free(q);
}
END_TEST

/* malloc_trim gives back free pages at once, and empty segments whole. */
START_TEST(trim_purges_then_unmaps)
{
	char *a, *b;

	cache_on("0");
	a = hak_malloc(100 * KiB);
	b = hak_malloc(100 * KiB);
	memset(b, 1, 100 * KiB);
	hak_free(b);
	ck_assert_int_eq(hak_malloc_trim(0), 1);	/* decommitted counts as released */
	ck_assert_int_eq(stat1("bigcache.seg_purged_pages"), 26);
	ck_assert_int_eq(stat1("bigcache.seg_unmapped"), 0);
	hak_free(a);
	hak_bc_trim();
	ck_assert_int_eq(stat1("bigcache.seg_unmapped"), 1);
	ck_assert_uint_eq(hak_rmap_lookup(a), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Free segment pages count as cached, and HAKMEM_BIGCACHE_MB bounds them too. */
START_TEST(kept_pages_are_bounded)
{
	char *p[3];

	cache_on("0");
	setenv("HAKMEM_BIGCACHE_MB", "1", 1);
	for (int i = 0; i < 3; i++) {
		p[i] = hak_malloc(400 * KiB);	/* 416 KiB: 104 pages */
		memset(p[i], 1, 400 * KiB);
	}
	hak_free(p[0]);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 416 * KiB);
	ck_assert_int_eq(stat1("bigcache.seg_purged_pages"), 0);
	hak_free(p[1]);
	hak_free(p[2]);		/* 1.2 MiB > 1 MiB: the segment's free pages go back */
	ck_assert_int_eq(stat1("bigcache.seg_purged_pages"), 312);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_bc_trim();		/* empty, and purged already: unmapped all the same */
	ck_assert_int_eq(stat1("bigcache.seg_unmapped"), 1);
	ck_assert_uint_eq(hak_rmap_lookup(p[0]), 0);
}
END_TEST

/* A segment with no free for HAKMEM_BIGCACHE_DELAY_MS goes back at a later free. */
START_TEST(idle_empty_segment_is_unmapped)
{
	char *p[4];

	cache_on("0");
	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	for (int i = 0; i < 4; i++)	/* 256 pages each: the fourth opens a second segment */
		p[i] = hak_malloc(MiB);
	ck_assert_ptr_ne(base_of(p[3]), base_of(p[0]));
	for (int i = 0; i < 3; i++)
		hak_free(p[i]);
	usleep(150 * 1000);
	hak_free(p[3]);
	ck_assert_int_eq(stat1("bigcache.seg_unmapped"), 1);
	ck_assert_uint_eq(hak_rmap_lookup(p[0]), 0);
	ck_assert_uint_ne(hak_rmap_lookup(p[3]), 0);	/* freed just now: kept */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* ------------------------------------------------------------ bad input */

START_TEST(interior_pointer_aborts)
{
	char *p;

	cache_on(NULL);
	p = hak_malloc(100 * KiB);
	hak_free(p + 4096);
}
END_TEST

START_TEST(segment_header_aborts)
{
	char *p;

	cache_on(NULL);
	p = hak_malloc(100 * KiB);
	hak_free(base_of(p));
}
END_TEST

START_TEST(immediate_double_free_aborts)
{
	void *p;

	cache_on(NULL);
	p = hak_malloc(100 * KiB);
	hak_free(p);
	hak_free(p);
}
END_TEST

/* A block a full cache passes on to the central list is still checked. */
START_TEST(double_free_past_a_full_cache_aborts)
{
	void *small[4], *p;

	cache_on("1024");		/* 4 blocks of 56 KiB per bin */
	for (int i = 0; i < 4; i++)
		small[i] = hak_malloc(56 * KiB);
	p = hak_malloc(MiB);
	for (int i = 0; i < 4; i++)
		hak_free(small[i]);	/* less than 1 MiB of room */
	hak_free(p);			/* halving the small bin is not enough */
	/* the flushed 56 KiB blocks, and p */
	ck_assert_int_eq(stat1("medium.in_central"), stat1("medium.blocks_in") + 1);
	hak_free(p);
}
END_TEST

/* Full checks: a double free of a block that went back long ago. */
START_TEST(full_check_catches_older_double_free)
{
	void *p, *q;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(100 * KiB);
	q = hak_malloc(200 * KiB);
	hak_free(p);
	hak_free(q);
	hak_free(p);
}
END_TEST

/* ------------------------------------------------------------ fork */

START_TEST(fork_child_allocates)
{
	void *keep;
	pid_t pid;
	int status;

	cache_on(NULL);
	keep = hak_malloc(200 * KiB);
	alloc_free_some(NULL);		/* the bins hold blocks */
	pid = fork();
	if (pid == 0) {
		alarm(10);		/* hang detector */
		alloc_free_some(NULL);
		hak_free(keep);
		_exit(hak_self_check() == 0 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	hak_free(keep);
}
END_TEST

/* ------------------------------------------------------------ stress */

#define STRESS_THREADS	16
#define STRESS_SLOTS	64
#define STRESS_ROUNDS	400

static _Atomic(uint64_t *) stress_slots[STRESS_SLOTS];

/* A block carries its size and a seed; every page's first word and the last byte are checked. */
static void stress_fill(uint64_t *p, size_t size, uint64_t seed)
{
	p[0] = size;
	p[1] = seed;
	for (size_t off = 4096; off + 16 <= size; off += 4096)
		p[off / 8] = seed + off;
	((unsigned char *)p)[size - 1] = (unsigned char)seed;
}

static void stress_check_free(uint64_t *p)
{
	size_t size = p[0];
	uint64_t seed = p[1];

	for (size_t off = 4096; off + 16 <= size; off += 4096)
		ck_assert_uint_eq(p[off / 8], seed + off);
	ck_assert_uint_eq(((unsigned char *)p)[size - 1], (unsigned char)seed);
	hak_free(p);
}

static void *stress_worker(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	for (int r = 0; r < STRESS_ROUNDS; r++) {
		size_t size;
		uint64_t *mine, *old;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* mostly the medium band, some above it */
		size = 52 * KiB + 1 + (x >> 8) % (x % 4 ? MiB - 52 * KiB : 4 * MiB - 52 * KiB);
		mine = hak_malloc(size);
		ck_assert_ptr_nonnull(mine);
		stress_fill(mine, size, x);
		old = atomic_exchange(&stress_slots[x % STRESS_SLOTS], mine);
		if (old)
			stress_check_free(old);
	}
	return NULL;
}

START_TEST(threads_cross_free_contents_verified)
{
	pthread_t t[STRESS_THREADS];

	cache_on(NULL);
	for (uintptr_t i = 0; i < STRESS_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_worker, (void *)(i + 1)), 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < STRESS_SLOTS; i++)
		if (stress_slots[i])
			stress_check_free(stress_slots[i]);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_malloc_trim(0);
	ck_assert_int_eq(runs_out(), 0);	/* every thread gave its bins back */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

Suite *medium_suite(void)
{
	Suite *s = suite_create("medium");
	TCase *tc = tcase_create("bins");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, classes_hold_every_size_with_little_waste);
	tcase_add_test(tc, decay_is_bounded_and_waits_for_the_delay);
	tcase_add_test(tc, usable_size_is_the_class_size);
	tcase_add_test(tc, aligned_requests);
	tcase_add_test(tc, a_hit_takes_nothing_from_the_segments);
	tcase_add_test(tc, a_miss_refills_a_batch);
	tcase_add_test(tc, an_overflow_flushes_a_batch_the_next_miss_takes);
	tcase_add_test(tc, bins_are_bounded_in_bytes);
	tcase_add_test(tc, with_no_delay_the_central_lists_keep_nothing);
	tcase_add_test(tc, demand_leaves_out_the_bins);
	tcase_add_test(tc, a_random_ring_rarely_takes_a_slow_path);
	tcase_add_test(tc, thread_exit_gives_back);
	tcase_add_test(tc, trim_empties_the_bins);
	tcase_add_test(tc, idle_bins_shrink);
	tcase_add_test(tc, cross_thread_free_goes_to_the_freeing_thread);
	tcase_add_test(tc, a_flush_goes_to_the_makers_central_list);
	tcase_add_test(tc, threads_in_turn_share_a_shard);
	tcase_add_test(tc, full_check_caches_nothing);
	tcase_add_test(tc, realloc_keeps_contents);
	tcase_add_test(tc, realloc_grows_in_place_over_free_pages);
	tcase_add_test(tc, realloc_moves_to_a_warm_block_in_the_bin);
	tcase_add_test(tc, fork_child_allocates);
	suite_add_tcase(s, tc);
	tc = tcase_create("segments");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, runs_share_a_segment_page_by_page);
	tcase_add_test(tc, calloc_of_reused_pages_is_zero);
	tcase_add_test(tc, usable_tells_invalid_from_double);
	tcase_add_test(tc, trim_purges_then_unmaps);
	tcase_add_test(tc, kept_pages_are_bounded);
	tcase_add_test(tc, idle_empty_segment_is_unmapped);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad");
	tcase_add_test_raise_signal(tc, interior_pointer_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, segment_header_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, immediate_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, double_free_past_a_full_cache_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, full_check_catches_older_double_free, SIGABRT);
	suite_add_tcase(s, tc);
	tc = tcase_create("stress");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, threads_cross_free_contents_verified);
	suite_add_tcase(s, tc);
	return s;
}
