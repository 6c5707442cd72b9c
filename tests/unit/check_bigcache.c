/*
 * check_bigcache.c - large blocks (above 1 MiB: smaller ones are medium):
 * alignment, reuse, bounds, trim, resize. Segment runs: check_medium.c.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../../boxes/bigcache/bigcache.h"
#include "../../boxes/bigcache/segment.h"
#include "../../boxes/frontend/frontend_internal.h"
#include "../../boxes/regionmap/regionmap.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

#define MiB ((size_t)1 << 20)

static void *base_of(void *p)
{
	return hak_rmap_base(hak_rmap_lookup(p), p);
}

/*
 * realloc grows a large block by moving its pages into a new mapping. The
 * new range needs a region-map leaf if it lies in 256 GiB nobody used yet
 * (below a big reservation, here), and that leaf's mapping fails once, at
 * each system call in turn: whatever fails, the block stays valid (moved or
 * not), keeps its contents and can be freed.
 */
START_TEST(grow_survives_every_failure)
{
	size_t n = 3 * MiB, big = 40 * MiB;
	char *p = hak_malloc(n), *q;
	void *hole;

	unit_fill(p, n, 5);
	hole = mmap(NULL, (size_t)256 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (hole == MAP_FAILED)	/* valgrind: no such reservation; the other runs test it */
		return;
	hak_sys_fail_after = _i;
	q = hak_realloc(p, big);
	hak_sys_fail_after = -1;
	if (q) {
		ck_assert_uint_ge(hak_malloc_usable_size(q), big);
		memset(q + n, 7, big - n);
	} else {
		q = p;	/* failed: the block is untouched */
		ck_assert_uint_ge(hak_malloc_usable_size(q), n);
	}
	ck_assert(unit_verify(q, n, 5));
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(freed_block_is_reused_then_trimmed)
{
	void *p = hak_malloc(3 * MiB / 2), *q;

	ck_assert_uint_eq((uintptr_t)p % 64, 0);
	ck_assert_uint_ge(hak_malloc_usable_size(p), 3 * MiB / 2);
	memset(p, 1, 3 * MiB / 2);
	hak_free(p);
	ck_assert_uint_ge(hak_bc_cached_bytes(), MiB);
	q = hak_malloc(3 * MiB / 2 - 4096);	/* within the reuse window */
	ck_assert_ptr_eq(q, p);
	hak_free(q);
	ck_assert_uint_ge(hak_bc_trim(), MiB);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);	/* really returned */
}
END_TEST

START_TEST(entries_bound_is_honoured)
{
	void *p[6], *spacer[6];

	setenv("HAKMEM_BIGCACHE_ENTRIES", "2", 1);
	for (int i = 0; i < 6; i++) {
		p[i] = hak_malloc(1100000 + (size_t)i * 70000);
		spacer[i] = hak_malloc(1100000);	/* live: keeps freed blocks apart */
	}
	for (int i = 0; i < 6; i++)
		hak_free(p[i]);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * 2 * MiB);	/* two granules */
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < 6; i++)
		hak_free(spacer[i]);
}
END_TEST

START_TEST(zero_bytes_option_disables_the_cache)
{
	void *p;

	setenv("HAKMEM_BIGCACHE_MB", "0", 1);
	p = hak_malloc(4 * MiB);
	hak_free(p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);
}
END_TEST

START_TEST(large_alignments)
{
	for (size_t a = 4096; a <= 64 * MiB; a <<= 1) {
		void *p = hak_memalign(a, 100000);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % a, 0);
		memset(p, 2, 100000);
		hak_free(p);
	}
}
END_TEST

START_TEST(resize_keeps_contents_without_copying)
{
	void *p = hak_malloc(2 * MiB), *q;

	unit_fill(p, 2 * MiB, 5);
	q = hak_bc_resize(base_of(p), p, 200 * MiB);
	ck_assert_ptr_nonnull(q);
	ck_assert(unit_verify(q, 2 * MiB, 5));
	ck_assert_uint_ge(hak_malloc_usable_size(q), 200 * MiB);
	memset((char *)q + 2 * MiB, 3, 198 * MiB);
	p = hak_bc_resize(base_of(q), q, MiB);
	ck_assert_ptr_eq(p, q);
	ck_assert(unit_verify(p, MiB, 5));
	ck_assert_uint_lt(hak_malloc_usable_size(p), 2 * MiB);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A block cut by more than half keeps its tail as a cached mapping right
 * after it; grown again, it takes those pages back in place, as they were,
 * with no system call.
 */
START_TEST(a_trimmed_tail_is_cached_and_grown_back_in_place)
{
	char *p = hak_malloc(16 * MiB), *q;	/* 18 MiB of whole granules */
	size_t mapped;

	unit_fill(p, 3 * MiB, 5);
	memset(p + 3 * MiB, 6, 13 * MiB);
	q = hak_realloc(p, 3 * MiB);		/* keeps 4 MiB: 14 MiB cached */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 14 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
	mapped = hak_sys_bytes_mapped();
	q = hak_realloc(p, 15 * MiB);		/* takes 12 MiB of them back */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * MiB);
	ck_assert(unit_verify(q, 3 * MiB, 5));
	ck_assert_int_eq(q[15 * MiB - 1], 6);
	memset(q, 7, 15 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A block that cannot grow where it is moves to a new mapping whose part
 * past its old end is made of cached pages (faulted in already), not fresh
 * ones.
 */
START_TEST(a_block_grown_elsewhere_takes_cached_pages)
{
	char *p = hak_malloc(2 * MiB), *a = hak_malloc(10 * MiB), *q;

	memset(a, 'a', 10 * MiB);
	hak_free(a);				/* 12 MiB: too big for a slot */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 12 * MiB);
	unit_fill(p, 2 * MiB, 5);
	q = hak_realloc(p, 6 * MiB);		/* 8 MiB: its last 4 MiB were a's */
	ck_assert(unit_verify(q, 2 * MiB, 5));
	ck_assert_uint_eq(hak_bc_cached_bytes(), 8 * MiB);
	ck_assert_int_eq(q[6 * MiB - 1], 'a');
	memset(q, 7, 6 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(usable_tells_invalid_from_double)
{
	char *p = hak_malloc(3 * MiB / 2);
	const char *why = NULL;

	ck_assert_uint_eq(hak_bc_usable(base_of(p), p + 16, &why), 0);
	ck_assert_str_eq(why, "invalid");
	hak_free(p);
	ck_assert_uint_eq(hak_bc_usable(base_of(p), p, &why), 0);
	ck_assert_str_eq(why, "double");
}
END_TEST

/* A freed block merged into a cached neighbour is still seen as freed. */
START_TEST(usable_sees_double_free_after_merge)
{
	char *a = hak_malloc(1200000), *b = hak_malloc(1200000);
	const char *why = NULL;

	hak_free(b);
	hak_free(a);
	ck_assert_uint_eq(hak_bc_usable(base_of(a), a, &why), 0);
	ck_assert_str_eq(why, "double");
	ck_assert_uint_eq(hak_bc_usable(base_of(b), b, &why), 0);
	ck_assert_str_eq(why, "double");
}
END_TEST

START_TEST(out_of_memory_is_enomem)
{
	void *p;

	hak_free(hak_malloc(1));
	hak_sys_fail_after = 0;
	errno = 0;
	ck_assert_ptr_null(hak_malloc(3 * MiB));
	ck_assert_int_eq(errno, ENOMEM);
	hak_sys_fail_after = -1;
	p = hak_malloc(3 * MiB);
	ck_assert_ptr_nonnull(p);
	hak_free(p);
}
END_TEST

/* Freed blocks are found again by best fit, the newest of equals first. */
START_TEST(hits_misses_and_chaining)
{
	size_t small = 1200000, big = 7 * MiB;
	void *spacer[3], *a, *b, *c;

	a = hak_malloc(small);
	spacer[0] = hak_malloc(small);	/* live spacers keep the blocks from merging */
	b = hak_malloc(big);
	spacer[1] = hak_malloc(small);
	c = hak_malloc(small);
	spacer[2] = hak_malloc(small);
	hak_free(a);
	hak_free(b);
	hak_free(c);
	ck_assert_int_eq(hak_self_check(), 0);	/* a and c chained in one bucket */
	ck_assert_ptr_eq(hak_malloc(small), c);	/* newest of the best fits */
	ck_assert_ptr_eq(hak_malloc(small), a);
	ck_assert_ptr_eq(hak_malloc(big), b);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_ptr_nonnull(hak_malloc(small));	/* a miss maps afresh */
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
}
END_TEST

/*
 * A thread that frees a block of up to 8 MiB and asks for the same size
 * again gets it back from its slots, never touching the locked cache. A
 * request no slot or cached block fits first moves the slots' blocks into
 * the cache, where it gathers them.
 */
START_TEST(a_thread_takes_back_its_freed_block_from_a_slot)
{
	char *a, *b;

	setenv("HAKMEM_CHECK", "fast", 1);	/* full: no slots, every tail closed */
	a = hak_malloc(3 * MiB);
	memset(a, 1, 3 * MiB);
	hak_free(a);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 1);
	ck_assert_int_eq(unit_stat("bigcache.cached_blocks", " "), 0);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 4 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
	b = hak_malloc(3 * MiB + 4096);		/* the same two granules */
	ck_assert_ptr_eq(b, a);
	ck_assert_int_eq(unit_stat("bigcache.slot_hits", " "), 1);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 0);
	memset(b, 2, 3 * MiB + 4096);		/* opened whole while slotted */
	hak_free(b);
	b = hak_malloc(5 * MiB);		/* three granules */
	ck_assert_int_eq(unit_stat("bigcache.slot_hits", " "), 1);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 0);
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 1);
	hak_free(b);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A slotted mapping serves, whole and with no lock, a request that needs
 * half of it or more: the smallest such, so a mapping of two granules
 * is not cut for a request of one (and stays whole for the next of two).
 */
START_TEST(a_slot_serves_requests_of_half_its_size_or_more)
{
	char *a, *b, *c, *d;

	setenv("HAKMEM_CHECK", "fast", 1);
	a = hak_malloc(3 * MiB);		/* two granules */
	b = hak_malloc(MiB + MiB / 2);		/* one */
	hak_free(a);
	hak_free(b);
	c = hak_malloc(MiB + MiB / 4);		/* one granule: b's, the smaller */
	ck_assert_ptr_eq(c, b);
	d = hak_malloc(MiB + MiB / 4);		/* then a's, whole */
	ck_assert_ptr_eq(d, a);
	ck_assert_int_eq(unit_stat("bigcache.slot_hits", " "), 2);
	ck_assert_int_eq(unit_stat("bigcache.splits", " "), 0);
	ck_assert_uint_ge(hak_malloc_usable_size(d), 4 * MiB - 64);
	memset(d, 1, 4 * MiB - 64);
	hak_free(d);
	hak_free(c);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A freed block that touches a cached one merges with it in the cache
 * rather than waiting in a slot beside it: a request of their joint size
 * then takes them whole instead of splitting another cached block, and
 * that block is still whole for the request of its size, which would
 * otherwise gather.
 */
START_TEST(a_freed_block_merges_with_its_cached_neighbour)
{
	void *spacer[3], *q, *a, *b;
	long misses;

	setenv("HAKMEM_CHECK", "fast", 1);
	spacer[0] = hak_malloc(1200000);	/* live: keep q and a apart */
	q = hak_malloc(12 * MiB - 64);		/* six granules */
	spacer[1] = hak_malloc(1200000);
	a = hak_malloc(10 * MiB - 64);		/* five */
	spacer[2] = hak_malloc(1200000);
	hak_free(q);				/* both too big for a slot */
	hak_free(a);
	b = hak_malloc(4 * MiB - 64);		/* a's first two granules */
	ck_assert_ptr_eq(b, a);
	hak_free(b);				/* the rest of a is cached */
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 0);
	misses = unit_stat("bigcache.misses", " ");
	ck_assert_ptr_eq(hak_malloc(10 * MiB - 64), a);
	ck_assert_ptr_eq(hak_malloc(12 * MiB - 64), q);
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 0);
	ck_assert_int_eq(unit_stat("bigcache.misses", " "), misses);	/* nothing mapped afresh */
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
}
END_TEST

static void *free_block(void *p)
{
	hak_free(p);
	return NULL;
}

/*
 * A request no slot or cached block fits moves the slotted blocks of every
 * thread into the cache, where they merge, before it gathers: here another
 * thread's freed block and this thread's, side by side, hold it.
 */
START_TEST(a_miss_merges_the_slotted_blocks_of_other_threads)
{
	void *spacer[2], *whole, *b, *c, *d;
	pthread_t t;

	setenv("HAKMEM_CHECK", "fast", 1);
	spacer[0] = hak_malloc(1200000);	/* live: nothing else merges */
	whole = hak_malloc(12 * MiB - 64);
	spacer[1] = hak_malloc(1200000);
	hak_free(whole);			/* cached: six granules */
	b = hak_malloc(4 * MiB - 64);		/* two granules each, side by side */
	c = hak_malloc(4 * MiB - 64);
	d = hak_malloc(4 * MiB - 64);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, free_block, b), 0);	/* another set */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	hak_free(c);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 2);
	ck_assert_ptr_eq(hak_malloc(8 * MiB - 64), b);
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 0);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(d);
	for (int i = 0; i < 2; i++)
		hak_free(spacer[i]);
}
END_TEST

/* A block waiting in a slot is free: a second free of it is reported. */
START_TEST(a_slotted_block_freed_twice_aborts)
{
	void *p;

	setenv("HAKMEM_CHECK", "fast", 1);
	p = hak_malloc(2 * MiB);
	hak_free(p);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 1);
	hak_free(p);
}
END_TEST

/*
 * Slots hold no more than the cache's byte bound: a freed block too big
 * for what is left may only replace a slotted one at least as big, else it
 * goes to the cache, which (full of slots) gives it back.
 */
START_TEST(slots_stay_within_the_byte_bound)
{
	void *small[4], *big[2], *spacer[6];

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_BIGCACHE_MB", "8", 1);
	for (int i = 0; i < 4; i++) {
		small[i] = hak_malloc(MiB + 4096);	/* one granule each */
		spacer[i] = hak_malloc(MiB + 4096);	/* live: no merging */
	}
	for (int i = 0; i < 2; i++) {
		big[i] = hak_malloc(7 * MiB);		/* four granules each */
		spacer[4 + i] = hak_malloc(MiB + 4096);
	}
	for (int i = 0; i < 4; i++)
		hak_free(small[i]);
	ck_assert_int_eq(unit_stat("bigcache.slot_bytes", " "), 8 * (long)MiB);
	for (int i = 0; i < 2; i++) {
		hak_free(big[i]);
		ck_assert_int_le(unit_stat("bigcache.slot_bytes", " "), 8 * (long)MiB);
		ck_assert_uint_le(hak_bc_cached_bytes(), 8 * MiB);
		ck_assert_uint_eq(hak_rmap_lookup(big[i]), 0);	/* given back */
	}
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 0; i < 6; i++)
		hak_free(spacer[i]);
}
END_TEST

/* A large malloc and free (cache operations), then whether block @arg is still mapped (before the exit's decay). */
static void *alloc_free_6_mib(void *arg)
{
	hak_free(hak_malloc(6 * MiB));
	return (void *)(uintptr_t)hak_rmap_lookup(arg);
}

/* A block idle in one thread's slot goes back at another thread's cache operation. */
START_TEST(idle_slots_go_back_at_any_cache_operation)
{
	pthread_t t;
	void *a, *mapped;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	a = hak_malloc(2 * MiB);
	hak_free(a);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 1);
	usleep(150 * 1000);
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_free_6_mib, a), 0);	/* another set */
	ck_assert_int_eq(pthread_join(t, &mapped), 0);
	ck_assert_ptr_null(mapped);
	ck_assert_uint_eq(hak_rmap_lookup(a), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* The decay op gives slotted blocks back once idle for the delay, as trim does at once. */
START_TEST(slotted_blocks_go_back_at_decay_and_trim)
{
	void *a, *b;

	setenv("HAKMEM_CHECK", "fast", 1);
	setenv("HAKMEM_BIGCACHE_DELAY_MS", "100", 1);
	a = hak_malloc(2 * MiB);
	b = hak_malloc(2 * MiB);
	hak_free(a);
	ck_assert_uint_eq(hak_box_bigcache.decay(hak_sys_now_ms()), 0);
	ck_assert_uint_ne(hak_rmap_lookup(a), 0);
	ck_assert_uint_eq(hak_box_bigcache.decay(hak_sys_now_ms() + 200), 4 * MiB);
	ck_assert_uint_eq(hak_rmap_lookup(a), 0);
	hak_free(b);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 1);
	ck_assert_uint_ge(hak_bc_trim(), 4 * MiB);
	ck_assert_uint_eq(hak_rmap_lookup(b), 0);
	ck_assert_int_eq(unit_stat("bigcache.slot_blocks", " "), 0);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Three separate freed 4 MiB blocks, each filled with its index. */
static void cache_three_blocks(void *spacer[3])
{
	void *p[3];

	for (int i = 0; i < 3; i++) {
		p[i] = hak_malloc(4 * MiB - 64);	/* exactly two granules */
		memset(p[i], 'a' + i, 4 * MiB - 64);
		spacer[i] = hak_malloc(1200000);	/* live: keeps them apart */
	}
	for (int i = 0; i < 3; i++) {
		hak_free(p[i]);
		usleep(40 * 1000);	/* slots tell ages apart in 32 ms steps */
	}
	ck_assert_uint_eq(hak_bc_cached_bytes(), 12 * MiB);
}

/*
 * No cached block holds 10 MiB: the request takes the three cached ones'
 * pages by moving them (no copy, no fault), and the unused 2 MiB stay cached.
 */
START_TEST(a_miss_gathers_cached_blocks)
{
	void *spacer[3];
	size_t mapped;
	char *p;

	cache_three_blocks(spacer);
	mapped = hak_sys_bytes_mapped();
	p = hak_malloc(10 * MiB - 64);
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 1);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * MiB);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);	/* nothing new kept */
	/* newest first: the third block's pages, then the second's, then half the first's */
	ck_assert_int_eq(p[4 * MiB - 64 - 1], 'c');
	ck_assert_int_eq(p[8 * MiB - 64 - 1], 'b');
	ck_assert_int_eq(p[10 * MiB - 64 - 1], 'a');
	memset(p, 7, 10 * MiB - 64);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(p);
	p = hak_calloc(1, 10 * MiB - 64);	/* gathered pages are not zero: calloc clears */
	for (size_t i = 0; i < 10 * MiB - 64; i += 4093)
		ck_assert_int_eq(p[i], 0);
	hak_free(p);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A gathered block is several VMAs (older kernels cannot move such a
 * range in one call): reused again by gathering or merging, every page of
 * it still arrives with its contents.
 */
START_TEST(a_gathered_block_can_be_gathered_again)
{
	void *spacer[3];
	size_t page = 4096, n_p = 0, n_a = 0;
	char *p;

	cache_three_blocks(spacer);	/* 4 MiB each of 'a', 'b', 'c' */
	p = hak_malloc(8 * MiB - 64);	/* gathered from 'c' and 'b' */
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 1);
	memset(p, 'p', 8 * MiB - 64);
	hak_free(p);			/* cached with 'a': 12 MiB in all */
	p = hak_malloc(12 * MiB - 64);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	for (size_t off = 1000; off < 12 * MiB - 64; off += page) {
		n_p += p[off] == 'p';
		n_a += p[off] == 'a';
	}
	ck_assert_uint_eq(n_p, 8 * MiB / page);
	ck_assert_uint_eq(n_a, 4 * MiB / page);
	memset(p, 9, 12 * MiB - 64);
	hak_free(p);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* calloc maps fresh zero pages instead of gathering pages it would clear. */
START_TEST(calloc_does_not_gather)
{
	void *spacer[3];
	char *p;

	cache_three_blocks(spacer);
	p = hak_calloc(1, 10 * MiB - 64);
	ck_assert_int_eq(unit_stat("bigcache.gathers", " "), 0);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 12 * MiB);
	for (size_t i = 0; i < 10 * MiB - 64; i += 4093)
		ck_assert_int_eq(p[i], 0);
	hak_free(p);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
}
END_TEST

/* Out of memory halfway through a gather: ENOMEM, nothing leaks, usable after. */
START_TEST(a_failed_gather_is_enomem_and_recoverable)
{
	void *spacer[3], *p;

	cache_three_blocks(spacer);
	hak_sys_fail_after = 0;
	errno = 0;
	ck_assert_ptr_null(hak_malloc(10 * MiB - 64));
	ck_assert_int_eq(errno, ENOMEM);
	hak_sys_fail_after = 1;		/* the new mapping works, the first move fails */
	p = hak_malloc(10 * MiB - 64);
	hak_sys_fail_after = -1;
	if (p) {
		memset(p, 1, 10 * MiB - 64);
		hak_free(p);
	}
	ck_assert_int_eq(hak_self_check(), 0);
	p = hak_malloc(10 * MiB - 64);
	ck_assert_ptr_nonnull(p);
	memset(p, 2, 10 * MiB - 64);
	hak_free(p);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* HAKMEM_LARGE_THP=1 asks for huge pages on the granules a block fills, and only those. */
START_TEST(thp_option_covers_whole_granules)
{
	char *p;

	setenv("HAKMEM_LARGE_THP", "1", 1);
	hak_free(hak_malloc(3 * MiB / 2));	/* fills no granule */
	ck_assert_int_eq(unit_stat("sysmem.hugepage_bytes", " "), 0);
	p = hak_malloc(5 * MiB);		/* header + 5 MiB: two whole granules */
	ck_assert_int_eq(unit_stat("sysmem.hugepage_bytes", " "), 4 * MiB);
	memset(p, 3, 5 * MiB);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * Whether a 2 MiB-aligned mapping that asks for huge pages gets one here and
 * now: the kernel's THP mode, its defrag setting and free memory decide.
 */
static bool thp_works(void)
{
	char *raw = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;
	bool ok;

	if (raw == MAP_FAILED)
		return false;
	p = (char *)HAK_ALIGN_UP((uintptr_t)raw, 2 * MiB);
	ok = !madvise(p, 2 * MiB, MADV_HUGEPAGE);
	if (ok) {
		p[0] = 1;
		ok = unit_huge_kb_at(p) >= 2048;
	}
	munmap(raw, 4 * MiB);
	return ok;
}

/*
 * The advice comes before the header is written: a granule with a 4 KiB
 * page in it stays on small pages.
 */
START_TEST(thp_block_is_huge_from_its_first_granule)
{
	char *p;

	setenv("HAKMEM_LARGE_THP", "1", 1);
	p = hak_malloc(5 * MiB);	/* fresh: the cache is empty */
	memset(p, 3, 5 * MiB);
	if (thp_works())
		ck_assert_uint_eq(unit_huge_kb_at(p), 4 * MiB >> 10);
	else
		fprintf(stderr, "thp_block_is_huge_from_its_first_granule: "
			"no huge page for a control mapping, not checked\n");
	hak_free(p);
}
END_TEST

/* A bigger freed block serves smaller requests; freed neighbours merge again. */
START_TEST(cached_blocks_split_and_coalesce)
{
	char *a = hak_malloc(8 * MiB), *base = base_of(a), *b, *c;

	memset(a, 1, 8 * MiB);
	hak_free(a);	/* 8 MiB + header: 10 MiB of whole granules */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 10 * MiB);
	b = hak_malloc(2 * MiB);	/* takes 4 MiB */
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);
	c = hak_malloc(3 * MiB);	/* takes 4 MiB of the rest */
	ck_assert_ptr_eq(base_of(c), base + 4 * MiB);
	ck_assert_ptr_eq(base_of(b + 2 * MiB - 1), base);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * MiB);
	memset(b, 2, 2 * MiB);
	memset(c, 3, 3 * MiB);
	ck_assert_int_eq(c[0], 3);
	ck_assert_int_eq(b[2 * MiB - 1], 2);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(b);
	hak_free(c);	/* merges with b before it and the 2 MiB after it */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 10 * MiB);
	ck_assert_ptr_eq(hak_malloc(9 * MiB), a);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(oldest_is_evicted_first)
{
	void *p[3], *spacer[3];

	setenv("HAKMEM_BIGCACHE_ENTRIES", "2", 1);
	for (int i = 0; i < 3; i++) {
		p[i] = hak_malloc(3 * MiB / 2);
		spacer[i] = hak_malloc(3 * MiB / 2);	/* live: keeps freed blocks from merging */
	}
	for (int i = 0; i < 3; i++)
		hak_free(p[i]);
	ck_assert_uint_eq(hak_rmap_lookup(p[0]), 0);	/* returned to the OS */
	ck_assert_uint_ne(hak_rmap_lookup(p[1]), 0);
	ck_assert_uint_ne(hak_rmap_lookup(p[2]), 0);
	for (int i = 0; i < 3; i++)
		hak_free(spacer[i]);
}
END_TEST

START_TEST(idle_blocks_expire)
{
	void *a, *b, *spacer;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	a = hak_malloc(3 * MiB / 2);
	spacer = hak_malloc(3 * MiB / 2);
	b = hak_malloc(2 * MiB);
	hak_free(a);
	ck_assert_uint_ne(hak_rmap_lookup(a), 0);
	usleep(150 * 1000);
	hak_free(b);	/* any cache operation expires what is stale */
	ck_assert_uint_eq(hak_rmap_lookup(a), 0);
	ck_assert_uint_ne(hak_rmap_lookup(b), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(spacer);
}
END_TEST

START_TEST(huge_alignment_does_not_pin_the_gap)
{
	/* region-map leaves (entries and page classes) for up to two new 256 GiB ranges */
	size_t leaves = 2 * (HAK_RMAP_LEAF_SIZE * sizeof(uint32_t) + HAK_RMAP_CLASS_LEAF_SIZE);
	size_t before;
	void *p;

	hak_free(hak_malloc(1));
	before = hak_sys_bytes_mapped();
	p = hak_memalign((size_t)1 << 30, MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq((uintptr_t)p % ((size_t)1 << 30), 0);
	memset(p, 1, MiB);
	ck_assert_uint_lt(hak_sys_bytes_mapped(), before + 3 * MiB + leaves);
	hak_free(p);
	ck_assert_uint_le(hak_sys_bytes_mapped(), before + leaves);	/* all back but leaves */
}
END_TEST

/* One byte in every 509 (prime: crosses every page at a new offset). */
static void fill_sparse(char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i += 509)
		p[i] = (char)(i * 7 + 1);
}

static int verify_sparse(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 509)
		if (p[i] != (char)(i * 7 + 1))
			return 0;
	return 1;
}

/* The gap before an over-aligned block stays reserved: nothing else lands in it. */
START_TEST(aligned_gap_stays_reserved)
{
	char *p = hak_memalign(8 * MiB, MiB), *gap = p - 4 * MiB;
	void *q = mmap(gap, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	/* Refused (EEXIST), or placed elsewhere where NOREPLACE is only a hint
	 * (valgrind): either way not in the gap. */
	ck_assert_ptr_ne(q, gap);
	if (q != MAP_FAILED)
		munmap(q, 4096);
	ck_assert_ptr_eq(base_of(gap), base_of(p));
	hak_free(p);
	ck_assert_uint_eq(hak_rmap_lookup(gap), 0);
}
END_TEST

START_TEST(realloc_to_256_mib_keeps_contents)
{
	char *p = NULL;
	size_t prev = 0, n;

	for (n = 64 << 10; n <= 256 * MiB; n = n * 3 / 2) {
		p = hak_realloc(p, n);
		ck_assert_ptr_nonnull(p);
		ck_assert(verify_sparse(p, prev));
		fill_sparse(p, prev - prev % 509 + (prev % 509 ? 509 : 0), n);
		prev = n;
	}
	for (n = prev; n >= 64 << 10; n /= 3) {
		p = hak_realloc(p, n);
		ck_assert(verify_sparse(p, n));
	}
	hak_free(p);
}
END_TEST

enum { SLOTS = 64, ROUNDS = 400 };
static _Atomic(char *) slots[SLOTS];

/* Take a block from a random slot (allocated by anyone), check it, put a new one. */
static void *large_worker(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg * 2654435761u + 1;

	for (int r = 0; r < ROUNDS; r++) {
		size_t size;
		char *mine, *old;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size = (64 << 10) + x % (4 * MiB);
		mine = hak_malloc(size);
		ck_assert_ptr_nonnull(mine);
		memcpy(mine, &size, sizeof(size));
		mine[size - 1] = (char)size;
		old = atomic_exchange(&slots[x % SLOTS], mine);
		if (old) {
			memcpy(&size, old, sizeof(size));
			ck_assert_int_eq(old[size - 1], (char)size);
			hak_free(old);
		}
	}
	return NULL;
}

START_TEST(threads_free_each_others_large_blocks)
{
	pthread_t t[4];

	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, large_worker, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		hak_free(slots[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * By default a fresh mapping is read-write to the block's last page; taken
 * from the cache, or grown by realloc, a block uses its whole granules.
 */
START_TEST(fresh_block_ends_at_its_last_page)
{
	size_t open = (64 + 1200000 + 4095) & ~(size_t)4095;
	char *p, *h, *q;

	setenv("HAKMEM_CHECK", "fast", 1);
	p = hak_malloc(1200000);
	h = base_of(p);
	ck_assert_uint_eq(hak_malloc_usable_size(p), open - 64);
	ck_assert_str_eq(unit_prot_at(h + open - 1), "rw-p");
	ck_assert(unit_charged_at(h));
	ck_assert_str_eq(unit_prot_at(h + open), "---p");
	ck_assert(!unit_charged_at(h + open));		/* no commit charge */
	memset(p, 1, open - 64);
	hak_free(p);
	ck_assert_str_eq(unit_prot_at(h + open), "rw-p");	/* cached whole */
	ck_assert(unit_charged_at(h + open));
	q = hak_malloc(1200000);			/* a hit: no mprotect */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_malloc_usable_size(q), 2 * MiB - 64);
	memset(q, 2, 2 * MiB - 64);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A fresh mapping that cannot be split (vm.max_map_count) is served whole. */
START_TEST(fresh_block_without_a_vma_to_spare_is_whole)
{
	char *keep, *p;

	setenv("HAKMEM_CHECK", "fast", 1);
	keep = hak_malloc(600000);	/* init, region map leaves */
	hak_sys_fail_split = true;
	p = hak_malloc(3 * MiB);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(hak_malloc_usable_size(p), 4 * MiB - 64);
	memset(p, 1, 4 * MiB - 64);
	hak_free(p);
	hak_free(keep);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(realloc_opens_a_fresh_block_whole)
{
	char *p, *h, *q;

	setenv("HAKMEM_CHECK", "fast", 1);
	p = hak_malloc(1200000);
	h = base_of(p);
	memset(p, 1, 1200000);
	q = hak_realloc(p, 3 * MiB / 2);		/* same granule: opened in place */
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(q[1199999], 1);
	ck_assert_uint_eq(hak_malloc_usable_size(q), 2 * MiB - 64);
	ck_assert_str_eq(unit_prot_at(h + 2 * MiB - 1), "rw-p");
	memset(q, 2, 2 * MiB - 64);
	q = hak_realloc(q, 700000);			/* shrinks in place, stays open */
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_malloc_usable_size(q), 2 * MiB - 64);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* HAKMEM_CHECK=full: read-write up to the block's last page; the rest of the granule faults. */
START_TEST(block_ends_at_its_last_page)
{
	char *p, *h, *q;
	size_t open = (64 + 1200000 + 4095) & ~(size_t)4095;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(1200000);
	h = base_of(p);
	ck_assert_uint_eq(hak_malloc_usable_size(p), open - 64);
	ck_assert_str_eq(unit_prot_at(h + open - 1), "rw-p");
	ck_assert_str_eq(unit_prot_at(h + open), "---p");
	memset(p, 1, open - 64);
	q = hak_realloc(p, 3 * MiB / 2);	/* same granule: opened in place */
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(q[1199999], 1);
	memset(q, 2, 3 * MiB / 2);
	q = hak_realloc(p, 700 << 10);		/* less than half: closed again */
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(q[(700 << 10) - 1], 2);
	ck_assert_str_eq(unit_prot_at(h + (704 << 10)), "---p");
	hak_free(q);
	ck_assert_str_eq(unit_prot_at(h + (704 << 10)), "rw-p");	/* cached whole */
	q = hak_malloc(2 * MiB - 64);		/* a hit that fills it */
	ck_assert_ptr_eq(q, p);
	memset(q, 3, 2 * MiB - 64);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Full checks: a tail that can neither be closed nor opened again counts as closed. */
START_TEST(tail_that_cannot_close_counts_as_closed)
{
	char *p, *q;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(3 * MiB / 2);
	memset(p, 1, 3 * MiB / 2);
	hak_sys_fail_after = 0;		/* close, then its repair, fail */
	q = hak_realloc(p, 700 << 10);
	hak_sys_fail_after = -1;
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_malloc_usable_size(q), (704 << 10) - 64);
	ck_assert_int_eq(q[(700 << 10) - 1], 1);
	hak_free(q);				/* opened whole again, cached */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* The guarded end cannot be opened again (ENOMEM): the block is not cached, but returned. */
START_TEST(block_that_cannot_reopen_is_released)
{
	char *p, *keep;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(1200000);
	keep = hak_malloc(1200000);

	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	hak_sys_fail_after = 0;
	hak_free(p);
	hak_sys_fail_after = -1;
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);
	hak_free(keep);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 2 * MiB);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

static void *nothing_much(void *arg)
{
	hak_free(hak_malloc(48));	/* a slow path: the thread's exit is watched */
	return arg;
}

/*
 * Idle large blocks go back even if only small requests follow: not at a
 * small refill (another tier's), but when any thread exits (every box's
 * decay runs then).
 */
START_TEST(idle_blocks_expire_at_thread_exit)
{
	pthread_t t;
	char *big;
	void *small;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	big = hak_malloc(4 * MiB);
	memset(big, 1, 4 * MiB);
	hak_free(big);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);	/* granules */
	usleep(150 * 1000);
	small = hak_malloc(48);		/* its class's first: a refill */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);
	ck_assert_int_eq(pthread_create(&t, NULL, nothing_much, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	/* counted, not looked up: a refill may map the same address */
	ck_assert_int_eq(unit_stat("bigcache.expired", " "), 1);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_free(small);
}
END_TEST

/* ... and at the medium tier's run refills, which are bigcache's own slow paths. */
START_TEST(idle_blocks_expire_at_medium_refills)
{
	char *big;
	void *medium;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	big = hak_malloc(4 * MiB);
	hak_free(big);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);
	usleep(150 * 1000);
	medium = hak_malloc(100 << 10);	/* its class's first: runs from a segment */
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_eq(unit_stat("bigcache.expired", " "), 1);
	hak_free(medium);
}
END_TEST

/*
 * The decay op gives back only what idled past the delay, and at most 4
 * mappings a call; calls in a row give back the rest.
 */
START_TEST(decay_is_bounded_and_waits_for_the_delay)
{
	void *blocks[12];
	size_t cached, bytes, total = 0;
	int calls = 0;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "500", 1);
	setenv("HAKMEM_BIGCACHE_MB", "256", 1);
	for (int i = 0; i < 12; i++)
		blocks[i] = hak_malloc(3 * MiB);	/* a 4 MiB mapping each */
	for (int i = 0; i < 12; i += 2)
		hak_free(blocks[i]);	/* live neighbours: no merge */
	cached = hak_bc_cached_bytes();
	ck_assert_uint_eq(cached, 6 * 4 * MiB);
	ck_assert_uint_eq(hak_box_bigcache.decay(hak_sys_now_ms()), 0);
	ck_assert_uint_eq(hak_bc_cached_bytes(), cached);
	usleep(600 * 1000);
	while ((bytes = hak_box_bigcache.decay(hak_sys_now_ms()))) {
		ck_assert_uint_le(bytes, 4 * 4 * MiB);
		total += bytes;
		calls++;
	}
	ck_assert_int_eq(calls, 2);
	ck_assert_uint_eq(total, cached);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_eq(hak_self_check(), 0);
	for (int i = 1; i < 12; i += 2)
		hak_free(blocks[i]);
}
END_TEST

/* ------------------------------------------------ runs of large segments */

static bool in_large_segment(void *p)
{
	uint32_t e = hak_rmap_lookup(p);

	return hak_rmap_kind(e) == HAK_RMAP_LARGE_RUNS && *(uint64_t *)base_of(p) == SEG_MAGIC;
}

static long sys_calls(void)
{
	return unit_stat("sysmem.map_calls", " ") + unit_stat("sysmem.unmap_calls", " ") +
	       unit_stat("sysmem.remap_calls", " ") + unit_stat("sysmem.decommit_calls", " ");
}

/* A block of 1-32 MiB is a run of 128 KiB pages; its free keeps the pages for the next. */
START_TEST(a_large_block_is_a_run_of_a_large_segment)
{
	char *p = hak_malloc(3 * MiB + 1), *q;

	ck_assert(in_large_segment(p));
	ck_assert_uint_eq((uintptr_t)p % SEG_LARGE_ALIGN, 0);
	ck_assert_uint_eq(hak_malloc_usable_size(p), 3 * MiB + SEG_LARGE_ALIGN);
	unit_fill(p, 3 * MiB + 1, 3);
	hak_free(p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 3 * MiB + SEG_LARGE_ALIGN);
	q = hak_malloc(3 * MiB);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), SEG_LARGE_ALIGN);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
	ck_assert_uint_ge(hak_bc_trim(), 3 * MiB);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_uint_eq(hak_rmap_lookup(p), 0);	/* the empty segment went back */
}
END_TEST

/* Freed neighbours are one free range at once: a block of both sizes takes it, with no system call. */
START_TEST(freed_neighbour_runs_merge_at_once)
{
	char *a = hak_malloc(4 * MiB), *b = hak_malloc(4 * MiB), *c = hak_malloc(2 * MiB), *p;
	long calls;

	ck_assert_ptr_eq(b, a + 4 * MiB);
	ck_assert_ptr_eq(c, b + 4 * MiB);
	hak_free(a);
	hak_free(b);
	calls = sys_calls();
	p = hak_malloc(8 * MiB);
	ck_assert_ptr_eq(p, a);
	ck_assert_int_eq(sys_calls(), calls);
	hak_free(p);
	hak_free(c);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * Eight live blocks of 4-16 MiB, each step freeing one and allocating
 * another size: once the segments have grown to the mix, no system call.
 * (With a mapping each, a request that no freed one fits gathers: an mmap
 * and mremaps.)
 */
START_TEST(a_steady_mix_of_sizes_makes_no_system_call)
{
	char *ring[8] = { 0 };
	size_t size[8] = { 0 };
	unsigned x = 12345;
	long calls = 0;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "100000", 1);
	for (int step = 0; step < 3000; step++) {
		int i = step % 8;

		if (step == 1000)
			calls = sys_calls();
		if (ring[i]) {
			ck_assert_int_eq(ring[i][0], (char)size[i]);
			ck_assert_int_eq(ring[i][size[i] - 1], (char)~size[i]);
			hak_free(ring[i]);
		}
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size[i] = 4 * MiB + x % (12 * MiB);
		ck_assert_ptr_nonnull(ring[i] = hak_malloc(size[i]));
		ring[i][0] = (char)size[i];
		ring[i][size[i] - 1] = (char)~size[i];
	}
	ck_assert_int_eq(sys_calls(), calls);
	for (int i = 0; i < 8; i++)
		hak_free(ring[i]);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* calloc: a run on pages never handed out reads zero as it is; one on used pages is cleared. */
START_TEST(calloc_clears_a_run_only_on_used_pages)
{
	size_t n = 5 * MiB;
	unsigned char *p = hak_calloc(1, n), *q;

	ck_assert(in_large_segment(p));
	for (size_t i = 0; i < n; i += 4096)
		ck_assert_uint_eq(p[i] | p[i + 4095], 0);
	memset(p, 0xa5, n);
	hak_free(p);
	q = hak_calloc(n, 1);
	ck_assert_ptr_eq(q, p);
	for (size_t i = 0; i < n; i += 512)
		ck_assert_uint_eq(q[i] | q[i + 511], 0);
	hak_free(q);
}
END_TEST

/* realloc grows a run over the free pages after it; with none, the block moves (copied). */
START_TEST(realloc_grows_a_run_in_place)
{
	char *p = hak_malloc(2 * MiB), *q, *after;

	unit_fill(p, 2 * MiB, 9);
	q = hak_realloc(p, 5 * MiB);
	ck_assert_ptr_eq(q, p);
	ck_assert(unit_verify(q, 2 * MiB, 9));
	ck_assert_uint_ge(hak_malloc_usable_size(q), 5 * MiB);
	unit_fill(q, 5 * MiB, 10);
	after = hak_malloc(MiB + 1);
	ck_assert_ptr_eq(after, q + 5 * MiB);
	p = hak_realloc(q, 9 * MiB);
	ck_assert_ptr_ne(p, q);
	ck_assert(unit_verify(p, 5 * MiB, 10));
	hak_free(after);
	hak_free(p);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Over-aligned and bigger blocks get a mapping of their own. */
START_TEST(over_aligned_and_bigger_blocks_get_mappings)
{
	void *a = hak_memalign(MiB, 3 * MiB), *b = hak_malloc(40 * MiB), *c = hak_memalign(64 << 10, 3 * MiB);

	ck_assert_uint_eq((uintptr_t)a % MiB, 0);
	ck_assert(!in_large_segment(a));
	ck_assert(!in_large_segment(b));
	ck_assert(in_large_segment(c));
	hak_free(a);
	hak_free(b);
	hak_free(c);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(a_run_freed_twice_aborts)
{
	void *p = hak_malloc(2 * MiB), *guard = hak_malloc(2 * MiB);

	(void)guard;
	hak_free(p);
	hak_free(p);
}
END_TEST

/*
 * The free pages of a segment with no free for the delay go back at the
 * decay op; a segment that stays busy keeps them (within the learner's
 * bound on them).
 */
START_TEST(idle_runs_go_back)
{
	void *p, *q;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	setenv("HAKMEM_LEARN", "0", 1);	/* the delay stays the option's */
	p = hak_malloc(6 * MiB);
	q = hak_malloc(2 * MiB);
	hak_free(p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);
	ck_assert_uint_eq(hak_registry_decay(hak_sys_now_ms()), 0);	/* not idle yet */
	usleep(100 * 1000);
	ck_assert_uint_ge(hak_registry_decay(hak_sys_now_ms()), 6 * MiB);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 0);
	ck_assert_int_ge(unit_stat("bigcache.seg_purged_pages", " "), 6 * MiB / 4096);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A segment in use still gives back what idled in it for the delay: a
 * block comes and goes every millisecond over the first pages of 6 MiB
 * freed once, and the pages it never takes go back.
 */
START_TEST(idle_pages_of_a_busy_segment_go_back)
{
	char *p, *q, *r;
	uint64_t end;

	setenv("HAKMEM_BIGCACHE_DELAY_MS", "50", 1);
	setenv("HAKMEM_LEARN", "0", 1);	/* the delay stays the option's */
	p = hak_malloc(6 * MiB);
	q = hak_malloc(2 * MiB);
	memset(p, 1, 6 * MiB);
	hak_free(p);
	ck_assert_uint_eq(hak_bc_cached_bytes(), 6 * MiB);
	for (end = hak_sys_now_ms() + 400; hak_sys_now_ms() < end; usleep(1000)) {
		r = hak_malloc(MiB + 1);
		ck_assert_ptr_eq(r, p);	/* the warm pages first */
		r[MiB] = 2;
		hak_free(r);
	}
	ck_assert_uint_eq(hak_bc_cached_bytes(), MiB + SEG_LARGE_ALIGN);
	ck_assert_int_eq(unit_stat("bigcache.seg_purged_pages", " "), (5 * MiB - SEG_LARGE_ALIGN) / 4096);
	hak_free(q);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* HAKMEM_LARGE_THP: a large segment is on huge pages past the granule of its header. */
START_TEST(thp_option_covers_large_segments)
{
	char *p;

	setenv("HAKMEM_LARGE_THP", "1", 1);
	p = hak_malloc(5 * MiB);
	ck_assert(in_large_segment(p));
	ck_assert_int_eq(unit_stat("sysmem.hugepage_bytes", " "), 126 * MiB);
	memset(p, 3, 5 * MiB);
	if (thp_works())
		ck_assert_uint_ge(unit_huge_kb_at(p + 4 * MiB), 2 * MiB >> 10);
	hak_free(p);
}
END_TEST

/* Every large block gets its full checks: runs would have no closed tail. */
START_TEST(full_checks_give_every_block_a_mapping)
{
	void *p;

	setenv("HAKMEM_CHECK", "full", 1);
	p = hak_malloc(3 * MiB);
	ck_assert(!in_large_segment(p));
	hak_free(p);
}
END_TEST

/* The mapping cache's tests: every large block gets a mapping of its own. */
static void mappings_only(void)
{
	setenv("HAKMEM_LARGE_RUNS_MB", "0", 1);
}

/* The runs' tests: as in a release build (debug ones check fully: mappings only). */
static void runs_on(void)
{
	setenv("HAKMEM_CHECK", "fast", 1);
}

Suite *bigcache_suite(void)
{
	Suite *s = suite_create("bigcache");
	TCase *tc = tcase_create("large");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, mappings_only, NULL);
	tcase_add_test(tc, freed_block_is_reused_then_trimmed);
	tcase_add_test(tc, entries_bound_is_honoured);
	tcase_add_test(tc, zero_bytes_option_disables_the_cache);
	tcase_add_test(tc, large_alignments);
	tcase_add_test(tc, resize_keeps_contents_without_copying);
	tcase_add_test(tc, a_trimmed_tail_is_cached_and_grown_back_in_place);
	tcase_add_test(tc, a_block_grown_elsewhere_takes_cached_pages);
	tcase_add_loop_test(tc, grow_survives_every_failure, 0, 6);
	tcase_add_test(tc, usable_tells_invalid_from_double);
	tcase_add_test(tc, usable_sees_double_free_after_merge);
	tcase_add_test(tc, out_of_memory_is_enomem);
	tcase_add_test(tc, hits_misses_and_chaining);
	tcase_add_test(tc, a_thread_takes_back_its_freed_block_from_a_slot);
	tcase_add_test(tc, a_slot_serves_requests_of_half_its_size_or_more);
	tcase_add_test(tc, slotted_blocks_go_back_at_decay_and_trim);
	tcase_add_test(tc, slots_stay_within_the_byte_bound);
	tcase_add_test(tc, idle_slots_go_back_at_any_cache_operation);
	tcase_add_test(tc, a_freed_block_merges_with_its_cached_neighbour);
	tcase_add_test(tc, a_miss_merges_the_slotted_blocks_of_other_threads);
	tcase_add_test_raise_signal(tc, a_slotted_block_freed_twice_aborts, SIGABRT);
	tcase_add_test(tc, cached_blocks_split_and_coalesce);
	tcase_add_test(tc, a_miss_gathers_cached_blocks);
	tcase_add_test(tc, a_failed_gather_is_enomem_and_recoverable);
	tcase_add_test(tc, a_gathered_block_can_be_gathered_again);
	tcase_add_test(tc, calloc_does_not_gather);
	tcase_add_test(tc, thp_option_covers_whole_granules);
	tcase_add_test(tc, thp_block_is_huge_from_its_first_granule);
	tcase_add_test(tc, oldest_is_evicted_first);
	tcase_add_test(tc, idle_blocks_expire);
	tcase_add_test(tc, idle_blocks_expire_at_thread_exit);
	tcase_add_test(tc, idle_blocks_expire_at_medium_refills);
	tcase_add_test(tc, decay_is_bounded_and_waits_for_the_delay);
	tcase_add_test(tc, huge_alignment_does_not_pin_the_gap);
	tcase_add_test(tc, aligned_gap_stays_reserved);
	tcase_add_test(tc, realloc_to_256_mib_keeps_contents);
	tcase_add_test(tc, threads_free_each_others_large_blocks);
	tcase_add_test(tc, fresh_block_ends_at_its_last_page);
	tcase_add_test(tc, realloc_opens_a_fresh_block_whole);
	tcase_add_test(tc, fresh_block_without_a_vma_to_spare_is_whole);
	tcase_add_test(tc, block_ends_at_its_last_page);
	tcase_add_test(tc, block_that_cannot_reopen_is_released);
	tcase_add_test(tc, tail_that_cannot_close_counts_as_closed);
	suite_add_tcase(s, tc);

	tc = tcase_create("large_runs");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, runs_on, NULL);
	tcase_add_test(tc, a_large_block_is_a_run_of_a_large_segment);
	tcase_add_test(tc, freed_neighbour_runs_merge_at_once);
	tcase_add_test(tc, a_steady_mix_of_sizes_makes_no_system_call);
	tcase_add_test(tc, calloc_clears_a_run_only_on_used_pages);
	tcase_add_test(tc, realloc_grows_a_run_in_place);
	tcase_add_test(tc, over_aligned_and_bigger_blocks_get_mappings);
	tcase_add_test_raise_signal(tc, a_run_freed_twice_aborts, SIGABRT);
	tcase_add_test(tc, idle_runs_go_back);
	tcase_add_test(tc, idle_pages_of_a_busy_segment_go_back);
	tcase_add_test(tc, thp_option_covers_large_segments);
	tcase_add_test(tc, full_checks_give_every_block_a_mapping);
	tcase_add_test(tc, threads_free_each_others_large_blocks);
	suite_add_tcase(s, tc);
	return s;
}
