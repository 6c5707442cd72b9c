/* check_pool.c - the pool tier: bins (P1), refill/flush (P2), arenas (P3). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../boxes/pool_p1_p4/pool.h"
#include "../../boxes/regionmap/regionmap.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define MIB (1L << 20)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25	/* Linux 6.1 */
#endif

static struct hak_pool_bin *bin_for(size_t size)
{
	return &hak_pool_tls.bins[hak_size_class(size) - HAK_POOL_FIRST_CLASS];
}

/* A counter alone on its line: "pool.arenas 2". */
static long stat1(const char *key)
{
	return unit_stat(key, " ");
}

static long class_stat(size_t size, const char *name)
{
	char line[64];

	snprintf(line, sizeof(line), "pool.class%u(", hak_size_class(size));
	return unit_stat(line, name);
}

START_TEST(free_then_malloc_reuses_the_block)
{
	void *p = hak_malloc(20000), *q;

	hak_free(p);
	q = hak_malloc(19000);
	ck_assert_ptr_eq(q, p);
	hak_free(q);
}
END_TEST

/* A bin's first cap (and growth step) for class @cls: 64 KiB, >= 2 blocks. */
static unsigned step_of_class(unsigned cls)
{
	unsigned bytes = hak_class_bytes[cls];

	return (64u << 10) / bytes > 2 ? (64u << 10) / bytes : 2;
}

static unsigned step_of(size_t size)
{
	return step_of_class(hak_size_class(size));
}

/* Allocate @n blocks of @size, then free them all: the bin fills and grows. */
static void churn(size_t size, int n)
{
	void *p[128];

	ck_assert_int_le(n, 128);
	for (int i = 0; i < n; i++)
		p[i] = hak_malloc(size);
	for (int i = 0; i < n; i++)
		hak_free(p[i]);
}

/*
 * A bin starts at 64 KiB of blocks; a miss takes half of that plus one in
 * one batch, but a thread's first miss of a class 4 at most.
 */
START_TEST(refill_takes_half_a_bin)
{
	void *p, *q[5];
	struct hak_pool_bin *b;

	setenv("HAKMEM_CHECK", "fast", 1);
	p = hak_malloc(30000);
	b = bin_for(30000);
	ck_assert_uint_eq(b->cap, step_of(30000));
	ck_assert_uint_eq(b->cap / 2 + 1, 2);	/* below the first refill's 4 */
	ck_assert_uint_eq(b->count, b->cap / 2);
	ck_assert_int_eq(class_stat(30000, "blocks_out "), b->cap / 2 + 1);
	hak_free(p);
	b = bin_for(2000);
	for (int i = 0; i < 5; i++)
		q[i] = hak_malloc(2000);
	ck_assert_int_eq(class_stat(2000, "refills "), 2);
	ck_assert_uint_eq(b->count, b->cap / 2);
	ck_assert_int_eq(class_stat(2000, "blocks_out "), 4 + b->cap / 2 + 1);
	for (int i = 0; i < 5; i++)
		hak_free(q[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A full bin grows a step per overflow up to 2 MiB of blocks, without
 * flushing; past that an overflow flushes half. Contents survive it all.
 */
START_TEST(bins_grow_to_2_mib_then_flush_half)
{
	enum { N = 100 };
	static void *p[N];
	size_t size = 32768;
	struct hak_pool_bin *b = bin_for(size);
	unsigned max;

	setenv("HAKMEM_CHECK", "fast", 1);	/* debug builds default to full */
	for (int i = 0; i < N; i++) {
		p[i] = hak_malloc(size);
		unit_fill(p[i], size, i);
	}
	max = (2u << 20) / hak_class_bytes[hak_size_class(size)];	/* known once initialised */
	for (int i = 0; i < N; i++) {
		ck_assert(unit_verify(p[i], size, i));
		hak_free(p[i]);
		ck_assert_uint_le(b->count, b->cap);
		if (b->cap < max)
			ck_assert_int_eq(class_stat(size, "flushes "), 0);
	}
	ck_assert_uint_eq(b->cap, max);
	ck_assert_int_gt(class_stat(size, "flushes "), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Past the process's budget a bin grows only by taking room from the others. */
START_TEST(budget_bounds_the_bins_of_a_thread)
{
	enum { N = 40 };
	static void *p[9][N];
	size_t sizes[9] = { 2000, 4000, 8000, 12000, 16000, 24000, 32000, 40000, 50000 };
	size_t bytes = 0, first = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "256", 1);
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 9; k++)
			for (int i = 0; i < N; i++)
				p[k][i] = hak_malloc(sizes[k]);
		for (int k = 0; k < 9; k++)
			for (int i = 0; i < N; i++)
				hak_free(p[k][i]);
	}
	for (unsigned i = 0; i < HAK_POOL_NCLASSES; i++) {
		struct hak_pool_bin *b = &hak_pool_tls.bins[i];
		unsigned cls = HAK_POOL_FIRST_CLASS + i, step = step_of_class(cls);

		ck_assert_uint_le(b->count, b->cap);
		ck_assert_uint_ge(b->cap, step);
		bytes += (size_t)b->cap * hak_class_bytes[cls];
		first += (size_t)step * hak_class_bytes[cls];
	}
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 256 << 10);
	ck_assert_uint_le(bytes, first + (256 << 10));
	ck_assert_uint_gt(bytes, first);	/* some bins did grow */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static unsigned freer_cap;

static void *free_all(void *arg)
{
	void **p = arg;

	for (int i = 0; i < 64; i++)
		hak_free(p[i]);
	freer_cap = bin_for(16384)->cap;
	return NULL;
}

/* Once the budget is claimed, a growing bin takes room from another class. */
START_TEST(spent_budget_is_taken_from_other_classes)
{
	enum { N = 40 };
	struct hak_pool_bin *ba = bin_for(16384), *bb = bin_for(32768);
	unsigned cap_a;
	long flushes_a;
	size_t total;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "256", 1);
	churn(16384, N);
	cap_a = ba->cap;
	flushes_a = class_stat(16384, "flushes ");
	total = (size_t)ba->cap * 16384 + (size_t)bb->cap * 32768;
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 256 << 10);
	ck_assert_uint_gt(cap_a, step_of(16384));	/* it grew on the budget */
	churn(32768, N);
	ck_assert_uint_gt(bb->cap, step_of(32768));
	ck_assert_uint_lt(ba->cap, cap_a);		/* ... at the cost of this one */
	ck_assert_int_gt(class_stat(16384, "flushes "), flushes_a);
	ck_assert_uint_le(ba->count, ba->cap);
	ck_assert_uint_eq((size_t)ba->cap * 16384 + (size_t)bb->cap * 32768, total);
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 256 << 10);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* @freer, a thread, frees 64 blocks of 16 KiB this thread made: its bin keeps its first cap. */
static void freer_keeps_its_first_cap(void *(*freer)(void *))
{
	enum { N = 64 };
	static void *p[N];
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	for (int i = 0; i < N; i++)
		p[i] = hak_malloc(16384);
	ck_assert_int_eq(pthread_create(&t, NULL, freer, p), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(freer_cap, step_of(16384));
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
}

/* A thread that only frees (blocks of another thread) keeps its first caps. */
START_TEST(freeing_only_thread_does_not_grow)
{
	freer_keeps_its_first_cap(free_all);
}
END_TEST

static void *use_then_free_all(void *arg)
{
	hak_free(hak_malloc(16384));	/* the class is this thread's too */
	return free_all(arg);
}

/*
 * A thread that uses the class but frees another thread's blocks keeps its
 * first cap for them too: they go home, not into room of the budget.
 */
START_TEST(others_blocks_do_not_grow_a_bin)
{
	freer_keeps_its_first_cap(use_then_free_all);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* After malloc_trim the room is back and the bins grow again. */
START_TEST(trim_returns_the_room_and_bins_grow_again)
{
	enum { N = 64 };

	setenv("HAKMEM_CHECK", "fast", 1);
	for (int round = 0; round < 2; round++) {
		churn(16384, N);
		ck_assert_int_gt(stat1("pool.bin_claimed_bytes"), 0);
		ck_assert_uint_gt(bin_for(16384)->cap, step_of(16384));
		hak_malloc_trim(0);
		ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
	}
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A bin whose class goes unused gives its growth back, and the room too. */
START_TEST(unused_bins_shrink_after_the_delay)
{
	enum { N = 64, K = 8 };
	static void *q[K];
	struct hak_pool_bin *b = bin_for(16384);

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_SS_DELAY_MS", "20", 1);
	churn(16384, N);
	ck_assert_uint_gt(b->cap, step_of(16384));
	ck_assert_int_gt(stat1("pool.bin_claimed_bytes"), 0);
	for (int k = 0; k < K; k++) {	/* each first malloc of a class refills */
		usleep(40 * 1000);
		q[k] = hak_malloc(2000 + (size_t)k * 1500);
	}
	ck_assert_uint_eq(b->cap, step_of(16384));
	ck_assert_uint_le(b->count, b->cap);
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
	for (int k = 0; k < K; k++)
		hak_free(q[k]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * The learner lowers the budget below what this thread claimed: its next
 * refill gives back the bins' growth and the room, though the class is in
 * use (bins_decay() would keep it).
 */
START_TEST(bins_follow_a_lowered_budget)
{
	struct hak_pool_bin *b = bin_for(16384);

	setenv("HAKMEM_CHECK", "fast", 1);
	churn(16384, 64);
	ck_assert_uint_gt(b->cap, step_of(16384));
	ck_assert_int_gt(stat1("pool.bin_claimed_bytes"), 0);
	hak_pool_set_limits(0, 1000);
	hak_free(hak_malloc(2000));	/* the first of its class: a refill */
	ck_assert_uint_eq(b->cap, step_of(16384));
	ck_assert_uint_le(b->count, b->cap);
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
	churn(16384, 64);		/* and the bin stays at its first cap */
	ck_assert_uint_eq(b->cap, step_of(16384));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static pthread_barrier_t fork_barrier;

static void *grow_and_wait(void *arg)
{
	(void)arg;
	churn(16384, 64);
	pthread_barrier_wait(&fork_barrier);	/* grown */
	pthread_barrier_wait(&fork_barrier);	/* forked */
	return NULL;
}

/*
 * Fork while a thread that ran @grow holds what it claimed of the budget
 * named by @stat: the child, which has no such thread, sees 0, and the
 * parent keeps its count. Returns the parent's count.
 */
static long fork_with_a_grown_thread(void *(*grow)(void *), const char *stat)
{
	pthread_t t;
	pid_t pid;
	int status;
	long held;

	struct hang_guard g = hang_guard_start(20);

	setenv("HAKMEM_CHECK", "fast", 1);
	hak_free(hak_malloc(1));	/* initialised before the thread */
	pthread_barrier_init(&fork_barrier, NULL, 2);
	ck_assert_int_eq(pthread_create(&t, NULL, grow, NULL), 0);
	pthread_barrier_wait(&fork_barrier);
	held = stat1(stat);
	pid = fork();
	if (pid == 0)
		_exit(stat1(stat) == 0 ? 0 : 1);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(stat1(stat), held);
	pthread_barrier_wait(&fork_barrier);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	hang_guard_stop(&g);
	return held;
}

/* A fork child gets back the room of the parent's other threads. */
START_TEST(fork_child_gets_back_other_threads_room)
{
	ck_assert_int_gt(fork_with_a_grown_thread(grow_and_wait, "pool.bin_claimed_bytes"), 0);
}
END_TEST

static long grow_to(long chunks);

static void *grow_to_3_and_wait(void *arg)
{
	(void)arg;
	grow_to(3);
	pthread_barrier_wait(&fork_barrier);	/* grown */
	pthread_barrier_wait(&fork_barrier);	/* forked */
	return NULL;
}

/* A fork child gets back the huge-page share of the threads it does not have. */
START_TEST(fork_child_gets_back_other_threads_huge_pages)
{
	ck_assert_int_eq(fork_with_a_grown_thread(grow_to_3_and_wait, "pool.huge_claimed_bytes"),
			 (2 + 4) * MIB);
}
END_TEST

static long claimed_in_thread;

static void *grow_bins(void *arg)
{
	(void)arg;
	churn(16384, 64);
	claimed_in_thread = stat1("pool.bin_claimed_bytes");
	return NULL;
}

START_TEST(exiting_thread_returns_its_room)
{
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	ck_assert_int_eq(pthread_create(&t, NULL, grow_bins, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_gt(claimed_in_thread, 0);
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
}
END_TEST

START_TEST(full_check_keeps_bins_empty)
{
	void *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(5000);
	ck_assert_uint_eq(bin_for(5000)->count, 0);
	hak_free(p);
	ck_assert_uint_eq(bin_for(5000)->count, 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

FATAL_TEST(double_free_in_a_row_aborts, "hakmem: double free(0x")
{
	void *p;

	setenv("HAKMEM_CHECK", "fast", 1);
	p = hak_malloc(9000);
	hak_free(p);
	hak_free(p);
}

/* Not in a row: seen when the block gets back to its span. */
FATAL_TEST(double_free_reaching_the_span_aborts, "hakmem: double free(0x")
{
	void *p, *q;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(9000);
	q = hak_malloc(9000);
	hak_free(p);
	hak_free(q);
	hak_free(p);
}

FATAL_TEST(interior_pointer_aborts_under_full_check, "): not the start of a 9216 B block")
{
	char *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(9000);
	hak_free(p + 4096);
}

FATAL_TEST(use_after_free_is_caught_by_the_canary, "hakmem: heap corruption: free block 0x")
{
	char *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(3000);
	hak_free(p);
	p[100] = 1;
	for (int i = 0; i < 64; i++)	/* the block comes back out: checked */
		hak_malloc(3000);
}

enum { RN = 200 };
static void *remote_blocks[RN];

static void *free_remote_blocks(void *arg)
{
	(void)arg;
	for (int i = 0; i < RN; i++) {
		ck_assert(unit_verify(remote_blocks[i], 2000, i));
		hak_free(remote_blocks[i]);
	}
	return NULL;
}

/* Another thread's frees land in the owner's spans, which reuses them. */
START_TEST(remote_frees_are_collected_by_the_owner)
{
	void *again[RN];
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	for (int i = 0; i < RN; i++) {
		remote_blocks[i] = hak_malloc(2000);
		unit_fill(remote_blocks[i], 2000, i);
	}
	ck_assert_int_eq(pthread_create(&t, NULL, free_remote_blocks, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(class_stat(2000, "remote_frees "), RN);
	for (int i = 0; i < RN; i++)
		again[i] = hak_malloc(2000);
	ck_assert_int_gt(unit_count_in(again, RN, remote_blocks, RN), RN / 2);
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < RN; i++)
		hak_free(again[i]);
}
END_TEST

static void *alloc_and_exit(void *arg)
{
	void **p = arg;

	for (int i = 0; i < RN; i++) {
		p[i] = hak_malloc(1100 + (size_t)i * 200);
		unit_fill(p[i], 1100 + (size_t)i * 200, i);
	}
	return NULL;
}

static void *touch_pool(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(10000));
	return NULL;
}

/*
 * A thread exits with live blocks: its arena is orphaned; frees from other
 * threads reclaim it, and the next new thread adopts it instead of mapping.
 */
START_TEST(exited_threads_arena_is_reclaimed_then_adopted)
{
	void *p[RN];
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "0", 1);	/* bins do not grow: the frees overflow them */
	touch_pool(NULL);	/* this thread's own arena: its frees are remote */
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_and_exit, p), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(stat1("pool.arenas"), 2);
	for (int i = 0; i < RN; i++) {
		ck_assert(unit_verify(p[i], 1100 + (size_t)i * 200, i));
		hak_free(p[i]);
	}
	ck_assert_int_gt(stat1("pool.reclaims"), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_malloc_trim(0);	/* flush this thread's bins too */
	/* everything came back: the arenas hold no chunk any more */
	ck_assert_int_eq(stat1("pool.chunk_bytes"), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, touch_pool, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(stat1("pool.arenas"), 2);
	ck_assert_int_eq(stat1("pool.adoptions"), 1);
}
END_TEST

static void *touch_tiny(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(16));
	return NULL;
}

/*
 * A program that starts a thread per task: each thread adopts the last
 * one's arena with its empty chunk, mapped once (not once a thread); the
 * delay after, the decay at a thread's exit gives that chunk back.
 */
START_TEST(thread_per_task_keeps_one_chunk_for_the_delay)
{
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_SS_DELAY_MS", "1000", 1);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(pthread_create(&t, NULL, touch_pool, NULL), 0);
		pthread_join(t, NULL);
	}
	ck_assert_int_eq(stat1("pool.arenas"), 1);
	ck_assert_int_eq(stat1("pool.chunks_mapped"), 1);
	ck_assert_int_gt(stat1("pool.chunk_bytes"), 0);
	usleep(1100 * 1000);
	ck_assert_int_eq(pthread_create(&t, NULL, touch_tiny, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(stat1("pool.chunk_bytes"), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Allocate 52 KiB blocks until @chunks chunks exist; returns their bytes. */
static long grow_to(long chunks)
{
	long n = 0;

	while (stat1("pool.chunks_mapped") < chunks) {
		ck_assert_ptr_nonnull(hak_malloc(HAK_POOL_MAX));
		ck_assert_int_lt(++n, 10000);
	}
	return stat1("pool.chunk_bytes");
}

START_TEST(arena_chunks_grow_up_to_the_limit)
{
	char *first;

	setenv("HAKMEM_CHECK", "fast", 1);
	first = hak_malloc(HAK_POOL_MAX);
	ck_assert_int_eq(grow_to(6), (1 + 2 + 4 + 8 + 8 + 8) * MIB);
	ck_assert_int_eq(hak_self_check(), 0);
	/* the 1 MiB chunk's granule: the rest is inaccessible and not charged */
	first = (char *)((uintptr_t)first & ~(2 * MIB - 1));
	ck_assert_str_eq(unit_prot_at(first + MIB - 1), "rw-p");
	ck_assert(unit_charged_at(first));
	ck_assert_str_eq(unit_prot_at(first + MIB), "---p");
	ck_assert(!unit_charged_at(first + MIB));
}
END_TEST

START_TEST(arena_growth_follows_the_options)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_TLS_ARENA_MB_INIT", "2", 1);
	setenv("HAKMEM_POOL_TLS_ARENA_MB_MAX", "4", 1);
	setenv("HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS", "5", 1);
	ck_assert_int_eq(grow_to(4), (2 + 4 + 4 + 4) * MIB);
}
END_TEST

START_TEST(arena_without_growth_levels_keeps_its_size)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS", "0", 1);
	ck_assert_int_eq(grow_to(3), 3 * MIB);
}
END_TEST

/*
 * By default the share is 10 MiB of whole granules (the 2 and 4 MiB chunks,
 * half the first 8), asked for huge pages once the arena's spans cover 8 MiB.
 */
START_TEST(first_10_mib_on_huge_pages_by_default)
{
	char *p;

	setenv("HAKMEM_CHECK", "fast", 1);
	ck_assert_int_eq(grow_to(1), 1 * MIB);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), 0);	/* 1 MiB is no whole granule */
	ck_assert_int_eq(grow_to(3), (1 + 2 + 4) * MIB);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), (2 + 4) * MIB);
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), 0);	/* spans cover 3 MiB */
	ck_assert_int_eq(grow_to(5), (1 + 2 + 4 + 8 + 8) * MIB);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), (2 + 4 + 4) * MIB);
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), (2 + 4 + 4) * MIB);
	p = hak_malloc(HAK_POOL_MAX);
	memset(p, 7, HAK_POOL_MAX);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *grow_to_6(void *arg)
{
	(void)arg;
	grow_to(6);	/* counted over the process: 3 chunks of this thread's own */
	return NULL;
}

/* The share is the whole process's: a second thread gets what the first left. */
START_TEST(threads_share_the_huge_pages)
{
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	ck_assert_int_eq(grow_to(3), (1 + 2 + 4) * MIB);
	ck_assert_int_eq(pthread_create(&t, NULL, grow_to_6, NULL), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(stat1("pool.chunks_mapped"), 6);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), (2 + 4 + 2 + 2) * MIB);
}
END_TEST

START_TEST(thp_option_sets_the_share)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_THP_MB", "12", 1);
	ck_assert_int_eq(grow_to(5), (1 + 2 + 4 + 8 + 8) * MIB);
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), (2 + 4 + 6) * MIB);	/* part of the 8 */
}
END_TEST

START_TEST(thp_option_0_means_none)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_THP_MB", "0", 1);
	ck_assert_int_eq(grow_to(5), (1 + 2 + 4 + 8 + 8) * MIB);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), 0);
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), 0);
}
END_TEST

/* Does the kernel collapse a touched granule of a control mapping onto a huge page? */
static bool collapse_works(void)
{
	char *raw = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	bool ok;

	if (raw == MAP_FAILED)
		return false;
	p = (char *)(((uintptr_t)raw + 2 * MIB - 1) & ~(uintptr_t)(2 * MIB - 1));
	memset(p, 1, 2 * MIB);
	ok = !madvise(p, 2 * MIB, MADV_COLLAPSE) && unit_huge_kb_at(p) >= 2048;
	munmap(raw, 4 * MIB);
	return ok;
}

/*
 * A small heap's chunks stay on 4 KiB pages, its share too: a 2 MiB granule
 * costs it more than its TLB misses do. Once the arena's spans cover 8 MiB,
 * its share's dense granules are asked for huge pages and collapsed onto
 * them (where the kernel can: Linux 6.1 on, THP not "never").
 */
START_TEST(huge_pages_wait_for_a_large_dense_heap)
{
	char *second = NULL, *p;
	long n = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	while (stat1("pool.chunks_mapped") < 3) {	/* the 1 MiB and 2 MiB chunks full */
		p = hak_malloc(HAK_POOL_MAX);
		ck_assert_ptr_nonnull(p);
		memset(p, 1, HAK_POOL_MAX);
		if (!second && stat1("pool.chunks_mapped") == 2)	/* from the new chunk */
			second = hak_rmap_base(hak_rmap_lookup(p), p);
		ck_assert_int_lt(++n, 10000);
	}
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), (2 + 4) * MIB);
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), 0);
	ck_assert_uint_eq(unit_huge_kb_at(second), 0);
	ck_assert_ptr_null(strstr(unit_smaps_line(second, "VmFlags:"), " hg"));
	ck_assert_int_eq(grow_to(5), (1 + 2 + 4 + 8 + 8) * MIB);	/* spans cover 14 MiB */
	if (!stat1("pool.huge_claimed_bytes")) {	/* MADV_HUGEPAGE refused: the share went back */
		fprintf(stderr, "huge_pages_wait_for_a_large_dense_heap: no THP, not checked\n");
		return;
	}
	ck_assert_int_eq(stat1("sysmem.hugepage_bytes"), (2 + 4 + 4) * MIB);
	ck_assert_ptr_nonnull(strstr(unit_smaps_line(second, "VmFlags:"), " hg"));
	if (collapse_works())
		ck_assert_uint_ge(unit_huge_kb_at(second), 2048);
	else
		fprintf(stderr, "huge_pages_wait_for_a_large_dense_heap: no collapse for a control mapping, not checked\n");
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A new span goes to the oldest chunk with room, wherever the newer ones are mapped. */
START_TEST(spans_go_to_the_oldest_chunk_with_room)
{
	char *first, *small;

	setenv("HAKMEM_CHECK", "fast", 1);
	first = hak_malloc(HAK_POOL_MAX);	/* spans of 4 pages: 3 fill 15 of 16 */
	ck_assert_int_eq(grow_to(2), (1 + 2) * MIB);
	small = hak_malloc(8 << 10);		/* a span of 1 page */
	ck_assert_ptr_eq(hak_rmap_base(hak_rmap_lookup(small), small),
			 hak_rmap_base(hak_rmap_lookup(first), first));
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Empty chunks wait out HAKMEM_SS_DELAY_MS, then go back to the OS. */
START_TEST(empty_chunks_return_after_the_delay)
{
	enum { N = 400 };	/* 20 MiB of 52 KiB blocks */
	static void *p[N];
	long held;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_SS_DELAY_MS", "100", 1);
	for (int i = 0; i < N; i++)
		p[i] = hak_malloc(HAK_POOL_MAX);
	held = stat1("pool.chunk_bytes");
	ck_assert_int_ge(held, 20 * MIB);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	ck_assert_int_eq(stat1("pool.chunk_bytes"), held);	/* not yet */
	usleep(300 * 1000);
	hak_free(hak_malloc(2000));	/* a new span: the arena expires its chunks */
	ck_assert_int_le(stat1("pool.chunk_bytes"), 16 * MIB);	/* the chunks of blocks still binned */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* @n blocks of 52 KiB, written whole; all but the first and the last freed. */
static void fill_then_free_middle(char **p, int n)
{
	for (int i = 0; i < n; i++) {
		p[i] = hak_malloc(HAK_POOL_MAX);
		memset(p[i], 1, HAK_POOL_MAX);
	}
	for (int i = 1; i < n - 1; i++)
		hak_free(p[i]);
}

/*
 * The decay op: nothing before HAKMEM_SS_DELAY_MS; after it, the empty
 * chunks go back at most 4 a call.
 */
START_TEST(decay_is_bounded_and_waits_for_the_delay)
{
	enum { N = 800 };	/* 40 MiB of 52 KiB blocks: 8 chunks */
	static void *p[N];
	long held, unmapped;
	int calls = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_SS_DELAY_MS", "500", 1);
	for (int i = 0; i < N; i++)
		p[i] = hak_malloc(HAK_POOL_MAX);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	held = stat1("pool.chunk_bytes");
	ck_assert_uint_eq(hak_box_pool.decay(hak_sys_now_ms()), 0);
	ck_assert_int_eq(stat1("pool.chunk_bytes"), held);
	usleep(600 * 1000);
	for (;;) {
		unmapped = stat1("pool.chunks_unmapped");
		if (!hak_box_pool.decay(hak_sys_now_ms()))
			break;
		ck_assert_int_le(stat1("pool.chunks_unmapped") - unmapped, 4);
		calls++;
	}
	ck_assert_int_ge(calls, 2);
	ck_assert_int_le(stat1("pool.chunk_bytes"), 16 * MIB);	/* the chunks of blocks still binned */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* How many of @p[1..@n-2] (the freed ones) still have their first page resident. */
static int freed_resident(char *const *p, int n)
{
	unsigned char in_core;
	int resident = 0;

	for (int i = 1; i < n - 1; i++) {
		void *page = (void *)((uintptr_t)p[i] & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1));

		if (mincore(page, 1, &in_core)) {	/* its chunk went back whole */
			ck_assert_int_eq(errno, ENOMEM);
			continue;
		}
		resident += in_core & 1;
	}
	return resident;
}

/*
 * Freed spans in a chunk that still holds a live block: their pages go
 * back once free for HAKMEM_SS_DELAY_MS (@delay_ms), the addresses stay.
 * Returns how many of the freed blocks' first pages are still resident.
 */
static int resident_after_free(const char *delay_ms)
{
	enum { N = 60 };	/* 52 KiB blocks, 4 a span: 15 spans in 3 chunks */
	static char *p[N];
	int resident;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_THP_MB", "0", 1);	/* huge pages stay while the budget is not lowered */
	setenv("HAKMEM_POOL_CACHE_KB", "0", 1);	/* bins stay at their first 2 blocks */
	setenv("HAKMEM_SS_DELAY_MS", delay_ms, 1);
	fill_then_free_middle(p, N);
	for (int i = 0; i < 3; i++) {	/* the box's decay op: the caller's arena */
		usleep(2000);
		hak_box_pool.decay(hak_sys_now_ms());
	}
	resident = freed_resident(p, N);
	ck_assert_int_eq(hak_self_check(), 0);
	return resident;
}

START_TEST(freed_spans_of_a_chunk_in_use_go_back)
{
	ck_assert_int_le(resident_after_free("0"), 8);	/* the bin's 2, the spans of the live blocks */
	ck_assert_int_gt(stat1("pool.purged_pages"), 0);
}
END_TEST

/*
 * With no delay (the learner's, in a shrink) each flush gives back what
 * idles: a burst of frees within a millisecond leaves nothing behind
 * (decay at most once per millisecond kept all but the first flush's).
 */
START_TEST(with_no_delay_each_flush_gives_back)
{
	enum { N = 60 };	/* 52 KiB blocks, 4 a span: 15 spans in 3 chunks */
	static char *p[N];

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_LEARN", "0", 1);
	setenv("HAKMEM_POOL_THP_MB", "0", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "0", 1);	/* bins stay at their first 2 blocks */
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	fill_then_free_middle(p, N);
	ck_assert_int_le(freed_resident(p, N), 8);	/* the bin's 2, the spans of the live blocks */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(freed_spans_wait_for_the_delay)
{
	ck_assert_int_eq(resident_after_free("600000"), 60 - 2);
	ck_assert_int_eq(stat1("pool.purged_pages"), 0);
}
END_TEST

/*
 * A chunk that releases a span every few milliseconds still gives back the
 * pages that stayed free through two aging passes: one 8 MiB chunk, 15
 * spans of 4 blocks of 52 KiB, the middle blocks freed (spans 1-4 stay
 * idle, 5-13 go back), then 40 blocks taken and freed again and again:
 * the idle spans and 5 new ones on the lowest free pages, of which 4 go
 * back each time (the chunk is never a delay without a release). Spans
 * 10-13 are never carved again.
 */
START_TEST(idle_pages_of_a_busy_chunk_go_back)
{
	enum { N = 60, CHURN = 40 };
	static char *p[N], *q[CHURN];
	int resident = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_LEARN", "0", 1);
	setenv("HAKMEM_POOL_THP_MB", "0", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "0", 1);	/* bins stay at their first 2 blocks */
	setenv("HAKMEM_POOL_TLS_ARENA_MB_INIT", "8", 1);
	setenv("HAKMEM_SS_DELAY_MS", "100", 1);
	fill_then_free_middle(p, N);
	for (uint64_t end = hak_sys_now_ms() + 450; hak_sys_now_ms() < end;) {
		for (int i = 0; i < CHURN; i++)
			q[i] = hak_malloc(HAK_POOL_MAX);
		for (int i = 0; i < CHURN; i++)
			hak_free(q[i]);
		usleep(5000);
	}
	ck_assert_int_eq(stat1("pool.chunks_mapped"), 1);
	for (int i = 40; i < 56; i++) {
		unsigned char in_core;

		ck_assert_int_eq(mincore((void *)((uintptr_t)p[i] & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1)),
					 1, &in_core), 0);
		resident += in_core & 1;
	}
	ck_assert_int_eq(resident, 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * The learner lowered the budget (a heap that shrank) and no refill or
 * flush comes: the decay op alone makes the caller's bins give their
 * growth back, and purges freed spans on huge pages too.
 */
START_TEST(a_lowered_budget_returns_bins_and_huge_pages_at_decay)
{
	enum { N = 200 };	/* 52 KiB blocks: 10 MiB, the share on huge pages */
	static char *p[N];

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	fill_then_free_middle(p, N);
	ck_assert_int_gt(stat1("pool.bin_claimed_bytes"), 0);
	hak_pool_set_limits(0, 0);
	for (int i = 0; i < 3; i++)
		hak_box_pool.decay(hak_sys_now_ms());
	ck_assert_int_eq(stat1("pool.bin_claimed_bytes"), 0);
	ck_assert_int_le(freed_resident(p, N), 8);	/* the bin's 2, the spans of the live blocks */
	/* a granule with pages given back left huge pages: khugepaged would fill it again */
	for (int i = 1; i < N - 1; i++) {
		unsigned char in_core;

		if (!mincore((void *)((uintptr_t)p[i] & ~(uintptr_t)4095), 1, &in_core) &&
		    !(in_core & 1))
			ck_assert(!strstr(unit_smaps_line(p[i], "VmFlags:"), " hg"));
	}
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * 16 KiB blocks (4 a span) all freed but the first of each span, so no
 * span is free: with @shrink (the learner lowered the budget) the pages
 * inside the free blocks go back at the decay op, else they stay. Either
 * way the blocks are usable again. Returns how many freed blocks' first
 * pages are still resident.
 */
static int partial_spans_resident(bool shrink)
{
	enum { N = 64, SIZE = 16 << 10 };
	static char *p[N];
	int freed = 0, resident = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_LEARN", "0", 1);
	setenv("HAKMEM_POOL_THP_MB", "0", 1);
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	for (int i = 0; i < N; i++)
		memset(p[i] = hak_malloc(SIZE), 1, SIZE);
	for (int i = 0; i < N; i++)
		if ((uintptr_t)p[i] % (64 << 10)) {
			hak_free(p[i]);
			freed++;
		}
	ck_assert_int_eq(freed, N - N / 4);
	if (shrink)
		hak_pool_set_limits(0, 0);
	for (int i = 0; i < 3; i++)
		hak_box_pool.decay(hak_sys_now_ms());
	for (int i = 0; i < N; i++) {
		unsigned char in_core;

		if (!((uintptr_t)p[i] % (64 << 10)))
			continue;
		ck_assert_int_eq(mincore(p[i], 1, &in_core), 0);
		resident += in_core & 1;
	}
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < N; i++)	/* again: the freed ones, given back or not */
		if ((uintptr_t)p[i] % (64 << 10))
			memset(p[i] = hak_malloc(SIZE), 2, SIZE);
	ck_assert_int_eq(hak_self_check(), 0);
	return resident;
}

START_TEST(free_blocks_of_spans_in_use_go_back_in_a_shrink)
{
	ck_assert_int_le(partial_spans_resident(true), 4);	/* the bin's, back at its first cap */
	ck_assert_int_gt(stat1("pool.purged_block_bytes"), 0);
}
END_TEST

START_TEST(free_blocks_of_spans_in_use_stay_otherwise)
{
	ck_assert_int_eq(partial_spans_resident(false), 64 - 16);
	ck_assert_int_eq(stat1("pool.purged_block_bytes"), 0);
}
END_TEST

/*
 * While the budget is not lowered, the pages of freed spans on huge pages
 * stay (a purge would split the huge page); the others go back.
 */
START_TEST(freed_spans_on_huge_pages_stay)
{
	enum { N = 200 };	/* 52 KiB blocks: 10 MiB, the share on huge pages */
	static char *p[N];
	int huge = 0, small_resident = 0;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_POOL_CACHE_KB", "0", 1);	/* bins stay at their first 2 blocks */
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	fill_then_free_middle(p, N);
	for (int i = 0; i < 3; i++)
		hak_box_pool.decay(hak_sys_now_ms());
	if (!stat1("pool.huge_claimed_bytes")) {	/* MADV_HUGEPAGE refused: the share went back */
		fprintf(stderr, "freed_spans_on_huge_pages_stay: no THP, not checked\n");
		return;
	}
	for (int i = 1; i < N - 1; i++) {
		unsigned char in_core;

		if (mincore((void *)((uintptr_t)p[i] & ~(uintptr_t)4095), 1, &in_core))
			continue;	/* its chunk went back whole */
		if (strstr(unit_smaps_line(p[i], "VmFlags:"), " hg")) {
			ck_assert(in_core & 1);
			huge++;
		} else {
			small_resident += in_core & 1;
		}
	}
	ck_assert_int_gt(huge, 0);
	ck_assert_int_le(small_resident, 8);	/* the bin's 2, the spans of the live blocks */
	ck_assert_int_gt(stat1("pool.purged_pages"), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(malloc_trim_returns_empty_chunks_at_once)
{
	enum { N = 400 };
	static void *p[N];

	setenv("HAKMEM_CHECK", "fast", 1);
	for (int i = 0; i < N; i++)
		p[i] = hak_malloc(HAK_POOL_MAX);
	for (int i = 0; i < N; i++)
		hak_free(p[i]);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), 10 * MIB);
	hak_malloc_trim(0);
	ck_assert_int_eq(stat1("pool.chunk_bytes"), 0);
	ck_assert_int_eq(stat1("pool.huge_claimed_bytes"), 0);	/* the share is back */
	ck_assert_int_eq(hak_self_check(), 0);
	p[0] = hak_malloc(HAK_POOL_MAX);	/* usable again: the arena is adopted */
	ck_assert_ptr_nonnull(p[0]);
	hak_free(p[0]);
}
END_TEST

START_TEST(out_of_memory_is_enomem_and_recoverable)
{
	static void *p[4000];
	int n = 0;

	hak_free(hak_malloc(40000));
	hak_sys_fail_after = 0;
	for (errno = 0; n < 4000; n++) {
		p[n] = hak_malloc(40000);
		if (!p[n])
			break;
	}
	ck_assert_int_lt(n, 4000);
	ck_assert_int_eq(errno, ENOMEM);
	hak_sys_fail_after = -1;
	p[n] = hak_malloc(40000);
	ck_assert_ptr_nonnull(p[n]);
	for (int i = 0; i <= n; i++)
		hak_free(p[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * T threads pass blocks round a ring: each round every thread fills its own
 * slots, then checks and frees its neighbour's, so every block is freed by
 * another thread than the one that allocated it.
 */
#ifdef __SANITIZE_THREAD__	/* every byte filled and checked is instrumented */
enum { T = 4, SLOTS = 300, ROUNDS = 8 };
#else
enum { T = 4, SLOTS = 300, ROUNDS = 30 };
#endif
static void *ring[T][SLOTS];
static pthread_barrier_t ring_barrier;

static size_t ring_size(int t, int i, int r)
{
	return 1025 + (size_t)((t * 7919 + i * 104729 + r * 1299709) % (HAK_POOL_MAX - 1025));
}

static void *ring_thread(void *arg)
{
	int t = (int)(intptr_t)arg, from = (t + 1) % T;

	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < SLOTS; i++) {
			ring[t][i] = hak_malloc(ring_size(t, i, r));
			unit_fill(ring[t][i], ring_size(t, i, r), (unsigned)(t + i + r));
		}
		pthread_barrier_wait(&ring_barrier);
		for (int i = 0; i < SLOTS; i++) {
			ck_assert(unit_verify(ring[from][i], ring_size(from, i, r),
					      (unsigned)(from + i + r)));
			hak_free(ring[from][i]);
		}
		pthread_barrier_wait(&ring_barrier);
	}
	return NULL;
}

START_TEST(threads_free_each_others_blocks)
{
	pthread_t tid[T];

	setenv("HAKMEM_CHECK", "fast", 1);
	pthread_barrier_init(&ring_barrier, NULL, T);
	for (int t = 0; t < T; t++)
		ck_assert_int_eq(pthread_create(&tid[t], NULL, ring_thread, (void *)(intptr_t)t), 0);
	for (int t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	ck_assert_int_gt(class_stat(20000, "remote_frees "), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	/* every arena was orphaned at its thread's exit keeping one chunk at most */
	ck_assert_int_le(stat1("pool.chunks_mapped") - stat1("pool.chunks_unmapped"), T);
	hak_malloc_trim(0);
	ck_assert_int_eq(stat1("pool.chunk_bytes"), 0);
}
END_TEST

Suite *pool_suite(void)
{
	Suite *s = suite_create("pool_p1_p4");
	TCase *tc = tcase_create("bins");
	TCase *bad = tcase_create("bad input");
	TCase *arena = tcase_create("arenas");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, free_then_malloc_reuses_the_block);
	tcase_add_test(tc, refill_takes_half_a_bin);
	tcase_add_test(tc, bins_grow_to_2_mib_then_flush_half);
	tcase_add_test(tc, budget_bounds_the_bins_of_a_thread);
	tcase_add_test(tc, exiting_thread_returns_its_room);
	tcase_add_test(tc, spent_budget_is_taken_from_other_classes);
	tcase_add_test(tc, freeing_only_thread_does_not_grow);
	tcase_add_test(tc, others_blocks_do_not_grow_a_bin);
	tcase_add_test(tc, trim_returns_the_room_and_bins_grow_again);
	tcase_add_test(tc, fork_child_gets_back_other_threads_room);
	tcase_add_test(tc, fork_child_gets_back_other_threads_huge_pages);
	tcase_add_test(tc, unused_bins_shrink_after_the_delay);
	tcase_add_test(tc, bins_follow_a_lowered_budget);
	tcase_add_test(tc, full_check_keeps_bins_empty);
	suite_add_tcase(s, tc);

	tcase_set_timeout(bad, 30);	/* the hang guard of unit_run_fatal() fires first */
	tcase_add_test(bad, double_free_in_a_row_aborts);
	tcase_add_test(bad, double_free_reaching_the_span_aborts);
	tcase_add_test(bad, interior_pointer_aborts_under_full_check);
	tcase_add_test(bad, use_after_free_is_caught_by_the_canary);
	suite_add_tcase(s, bad);

	tcase_set_timeout(arena, 60);
	tcase_add_test(arena, remote_frees_are_collected_by_the_owner);
	tcase_add_test(arena, exited_threads_arena_is_reclaimed_then_adopted);
	tcase_add_test(arena, thread_per_task_keeps_one_chunk_for_the_delay);
	tcase_add_test(arena, arena_chunks_grow_up_to_the_limit);
	tcase_add_test(arena, arena_growth_follows_the_options);
	tcase_add_test(arena, arena_without_growth_levels_keeps_its_size);
	tcase_add_test(arena, first_10_mib_on_huge_pages_by_default);
	tcase_add_test(arena, threads_share_the_huge_pages);
	tcase_add_test(arena, thp_option_sets_the_share);
	tcase_add_test(arena, thp_option_0_means_none);
	tcase_add_test(arena, huge_pages_wait_for_a_large_dense_heap);
	tcase_add_test(arena, spans_go_to_the_oldest_chunk_with_room);
	tcase_add_test(arena, empty_chunks_return_after_the_delay);
	tcase_add_test(arena, decay_is_bounded_and_waits_for_the_delay);
	tcase_add_test(arena, freed_spans_of_a_chunk_in_use_go_back);
	tcase_add_test(arena, freed_spans_wait_for_the_delay);
	tcase_add_test(arena, idle_pages_of_a_busy_chunk_go_back);
	tcase_add_test(arena, a_lowered_budget_returns_bins_and_huge_pages_at_decay);
	tcase_add_test(arena, free_blocks_of_spans_in_use_go_back_in_a_shrink);
	tcase_add_test(arena, free_blocks_of_spans_in_use_stay_otherwise);
	tcase_add_test(arena, with_no_delay_each_flush_gives_back);
	tcase_add_test(arena, freed_spans_on_huge_pages_stay);
	tcase_add_test(arena, malloc_trim_returns_empty_chunks_at_once);
	tcase_add_test(arena, out_of_memory_is_enomem_and_recoverable);
	tcase_add_test(arena, threads_free_each_others_blocks);
	suite_add_tcase(s, arena);
	return s;
}
