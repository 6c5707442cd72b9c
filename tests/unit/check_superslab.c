/* check_superslab.c - carving, refill/flush, span life, shards, self-check. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../boxes/superslab/superslab.h"
#include "../../boxes/sysmem/sysmem.h"
#include "unit.h"

/* Raw refill/flush bypass the HAKMEM_CHECK=full protocol: test in fast mode. */
static void start(void)
{
	setenv("HAKMEM_CHECK", "fast", 1);
	hak_free(hak_malloc(1));
}

static long stat1(const char *name)
{
	return unit_stat(name, " ");
}

/* Take @n blocks of @cls, check they are distinct, aligned and in place. */
static void **take(unsigned cls, unsigned n)
{
	void **all = calloc(n, sizeof(void *)), *head;
	unsigned got = 0, bytes = hak_class_bytes[cls];

	while (got < n) {
		unsigned want = n - got < 100 ? n - got : 100;
		unsigned k = hak_ss_refill(cls, want, want, &head);

		ck_assert_uint_gt(k, 0);
		for (void **b = head; b; b = b[0])
			all[got++] = b;
		ck_assert_uint_le(got, n);
	}
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq((uintptr_t)all[i] % HAK_MIN_ALIGN, 0);
		ck_assert_uint_eq(hak_rmap_class(all[i]), cls);
		unit_fill(all[i], bytes, i);
	}
	for (unsigned i = 0; i < n; i++)
		ck_assert(unit_verify(all[i], bytes, i));	/* no two blocks overlap */
	return all;
}

static void give_back(unsigned cls, void **all, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		((void **)all[i])[0] = i + 1 < n ? all[i + 1] : NULL;
	}
	hak_ss_flush(cls, all[0], n);
}

START_TEST(refill_and_flush_keep_counts_exact)
{
	unsigned classes[] = { 0, 7, 20, HAK_SS_NSERVED - 1 };

	start();
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		unsigned cls = classes[i], n = 3000;
		void **all = take(cls, n);

		ck_assert_int_eq(hak_self_check(), 0);
		give_back(cls, all, n / 2);
		ck_assert_int_eq(hak_self_check(), 0);
		give_back(cls, all + n / 2, n - n / 2);
		ck_assert_int_eq(hak_self_check(), 0);
		free(all);
	}
}
END_TEST

START_TEST(grows_past_many_superslabs_and_shrinks_back)
{
	unsigned cls = HAK_SS_NSERVED - 1, n = 100000;	/* 100000 x 1 KiB = 100 MiB */
	size_t before;
	void **all;

	setenv("HAKMEM_SS_DELAY_MS", "0", 1);	/* empties beyond SS_KEEP go at once */
	start();
	before = hak_sys_bytes_mapped();
	all = take(cls, n);
	ck_assert_uint_gt(hak_sys_bytes_mapped(), before + 90 * (1 << 20));
	give_back(cls, all, n);
	/* left: the kept empties and the superslab of this thread's active span */
	ck_assert_uint_le(hak_sys_bytes_mapped(), before + 10 * (1 << 20));
	ck_assert_int_eq(hak_self_check(), 0);
	free(all);
}
END_TEST

/* Empty superslabs beyond HAKMEM_SS_KEEP wait out the delay, then go back. */
START_TEST(empty_superslabs_return_after_the_delay)
{
	unsigned cls = HAK_SS_NSERVED - 1, n = 50000;	/* 50 MiB */
	size_t before, held;
	void **all, *head;

	setenv("HAKMEM_SS_DELAY_MS", "100", 1);
	start();
	before = hak_sys_bytes_mapped();
	all = take(cls, n);
	give_back(cls, all, n);
	held = hak_sys_bytes_mapped();
	ck_assert_uint_gt(held, before + 40 * (1 << 20));	/* kept for reuse */
	usleep(300 * 1000);
	ck_assert_uint_eq(hak_ss_refill(HAK_SS_NSERVED - 3, 1, 1, &head), 1);	/* a span change */
	/* its decay gives back a few superslabs (bounded work), the next ones the rest */
	ck_assert_uint_lt(hak_sys_bytes_mapped(), held);
	ck_assert_uint_ge(hak_sys_bytes_mapped(), held - 8 * HAK_SS_SIZE);
	while (hak_box_superslab.decay(hak_sys_now_ms()))
		;
	ck_assert_uint_le(hak_sys_bytes_mapped(), before + 10 * (1 << 20));
	ck_assert_int_eq(hak_self_check(), 0);
	free(all);
}
END_TEST

/*
 * The decay op: nothing before HAKMEM_SS_DELAY_MS; after it, at most 4
 * superslabs unmapped a call, down to the HAKMEM_SS_KEEP newest empty
 * ones, and the free pages of at most 4 in use purged.
 */
START_TEST(decay_is_bounded_and_waits_for_the_delay)
{
	unsigned cls = HAK_SS_NSERVED - 1, n = 24000;	/* 24 MiB: 12 superslabs */
	size_t before, held, bytes, total = 0;
	int calls = 0;
	void **all;

	setenv("HAKMEM_SS_DELAY_MS", "500", 1);
	start();
	before = hak_sys_bytes_mapped();
	all = take(cls, n);
	give_back(cls, all, n);
	held = hak_sys_bytes_mapped();
	ck_assert_uint_eq(hak_box_superslab.decay(hak_sys_now_ms()), 0);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), held);
	usleep(600 * 1000);
	while ((bytes = hak_box_superslab.decay(hak_sys_now_ms()))) {
		ck_assert_uint_le(bytes, 2 * 4 * HAK_SS_SIZE);
		total += bytes;
		calls++;
	}
	ck_assert_int_ge(calls, 2);
	ck_assert_uint_le(held - hak_sys_bytes_mapped(), total);	/* the rest was purged */
	ck_assert_uint_ge(held - hak_sys_bytes_mapped(), 8 * HAK_SS_SIZE);
	/* left: the 2 kept empties, the ones of this thread's active span and
	 * of the one idle span the class keeps */
	ck_assert_uint_le(hak_sys_bytes_mapped(), before + 4 * HAK_SS_SIZE);
	ck_assert_int_eq(hak_self_check(), 0);
	free(all);
}
END_TEST

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

/* Half-used spans in several superslabs: refills find them (nonempty_mask) before mapping more. */
START_TEST(refill_reuses_partial_spans_first)
{
	unsigned cls = HAK_SS_NSERVED - 1, n = 6000, half = n / 2, got = 0, fresh = 0;
	void **all, **odd, *head;
	size_t mapped;

	start();
	all = take(cls, n);
	odd = malloc(half * sizeof(*odd));
	for (unsigned i = 0; i < half; i++)
		odd[i] = all[2 * i + 1];
	give_back(cls, odd, half);
	ck_assert_int_eq(hak_self_check(), 0);	/* masks match the partial flags */
	qsort(odd, half, sizeof(*odd), cmp_ptr);
	mapped = hak_sys_bytes_mapped();
	while (got < half) {
		unsigned k = hak_ss_refill(cls, 100, 100, &head);

		ck_assert_uint_gt(k, 0);
		for (void **b = head; b; b = b[0])
			fresh += !bsearch(&b, odd, half, sizeof(*odd), cmp_ptr);
		got += k;
	}
	/* only the active span's uncarved rest (64 blocks) is new */
	ck_assert_uint_le(fresh, 64);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
	ck_assert_int_eq(hak_self_check(), 0);
	free(odd);
	free(all);
}
END_TEST

START_TEST(self_check_sees_a_corrupt_free_list)
{
	unsigned cls = 3, n = 64;
	void **all;

	start();
	all = take(cls, n);
	give_back(cls, all, n);
	ck_assert_int_eq(hak_self_check(), 0);
	/* The first block given back is now inside a span's free list. */
	((void **)all[0])[0] = (char *)all[0] + 8;
	ck_assert_int_eq(hak_self_check(), 1);
	free(all);
}
END_TEST

/* Another thread gives back all of class @cls's @n blocks @all (remote frees). */
struct remote_job {
	unsigned cls, n;
	void **all;
};

static void *remote_give_back(void *arg)
{
	struct remote_job *j = arg;

	give_back(j->cls, j->all, j->n);
	return NULL;
}

/* Run @fn(@arg) in a thread of its own, to its end. */
static void in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

static void give_back_remotely(unsigned cls, void **all, unsigned n)
{
	struct remote_job j = { cls, n, all };

	in_thread(remote_give_back, &j);
}

/* The 1 KiB class: 64 blocks, one span of one page. */
#define SPAN_CLS	(HAK_SS_NSERVED - 1)
#define SPAN_BLOCKS	64u

/*
 * The owner's exhausted span gets its blocks back from another thread's
 * flush (one push for the run) and hands out exactly those, taken whole
 * from the remote list, before it carves or maps anything new.
 */
START_TEST(owner_reuses_remote_frees_before_new_memory)
{
	void **first, **again;
	size_t mapped;

	start();
	first = take(SPAN_CLS, SPAN_BLOCKS);
	give_back_remotely(SPAN_CLS, first, SPAN_BLOCKS);
	ck_assert_int_eq(hak_self_check(), 0);
	mapped = hak_sys_bytes_mapped();
	again = take(SPAN_CLS, SPAN_BLOCKS);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
	qsort(first, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	qsort(again, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(first, again, SPAN_BLOCKS * sizeof(void *));
	ck_assert_int_eq(hak_self_check(), 0);
	give_back(SPAN_CLS, again, SPAN_BLOCKS);
	ck_assert_int_eq(hak_self_check(), 0);
	free(first);
	free(again);
}
END_TEST

/* Another thread's flushes of @all in pieces of @sizes (0-ended): one run each. */
static void give_back_remotely_in_runs(unsigned cls, void **all, const unsigned *sizes)
{
	for (unsigned at = 0; *sizes; at += *sizes++)
		give_back_remotely(cls, all + at, *sizes);
}

/* A refill of @want, up to @most, of @cls must give @expect blocks; they go to @out. */
static unsigned refill_exactly(unsigned cls, unsigned want, unsigned most, unsigned expect,
			       void **out)
{
	void *head;
	unsigned n = 0;

	ck_assert_uint_eq(hak_ss_refill(cls, want, most, &head), expect);
	for (void **b = head; b; b = b[0])
		out[n++] = b;
	ck_assert_uint_eq(n, expect);
	ck_assert_int_eq(hak_self_check(), 0);
	return n;
}

/* @again holds the span's blocks that @first held, each once: give them back, checked. */
static void all_came_back(void **first, void **again)
{
	qsort(first, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	qsort(again, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(first, again, SPAN_BLOCKS * sizeof(void *));
	give_back(SPAN_CLS, again, SPAN_BLOCKS);
	ck_assert_int_eq(hak_self_check(), 0);
	free(first);
}

/*
 * Remote frees reach the owner as runs (one per flush): a refill takes a
 * run whole when @most allows, and cuts it at @want when it does not, the
 * rest staying a run. Every block comes back once.
 */
START_TEST(remote_runs_are_taken_whole_or_cut_at_want)
{
	static const unsigned runs[] = { 20, 20, 24, 0 };	/* the owner sees 24, 20, 20 */
	void **first, *again[SPAN_BLOCKS];
	unsigned n = 0;

	start();
	first = take(SPAN_CLS, SPAN_BLOCKS);
	give_back_remotely_in_runs(SPAN_CLS, first, runs);
	n += refill_exactly(SPAN_CLS, 10, 10, 10, again + n);	/* 24 cut: 14 left */
	n += refill_exactly(SPAN_CLS, 10, 40, 14, again + n);	/* the 14 whole */
	n += refill_exactly(SPAN_CLS, 30, 30, 30, again + n);	/* 20 whole, 20 cut */
	n += refill_exactly(SPAN_CLS, 10, 10, 10, again + n);	/* the last 10 */
	ck_assert_uint_eq(n, SPAN_BLOCKS);
	all_came_back(first, again);
}
END_TEST

/*
 * The owner's own frees go onto its span's free list as runs as well (one
 * per flush): a refill takes a run whole, without walking it, when @most
 * allows, and cuts it at @want when it does not.
 */
START_TEST(own_frees_are_taken_back_as_runs)
{
	void **first, *again[SPAN_BLOCKS];
	unsigned n = 0;

	start();
	first = take(SPAN_CLS, SPAN_BLOCKS);	/* the active span, used up */
	give_back(SPAN_CLS, first, 24);
	give_back(SPAN_CLS, first + 24, SPAN_BLOCKS - 24);	/* on top: 40, then 24 */
	n += refill_exactly(SPAN_CLS, 10, 50, 40, again + n);	/* the 40 whole */
	n += refill_exactly(SPAN_CLS, 10, 10, 10, again + n);	/* 24 cut: 14 left */
	n += refill_exactly(SPAN_CLS, 10, 20, 14, again + n);	/* the 14 whole */
	ck_assert_uint_eq(n, SPAN_BLOCKS);
	all_came_back(first, again);
}
END_TEST

/*
 * A flush that interleaves the blocks of two spans other threads own
 * pushes one run per span, not one per change of span: each owner then
 * takes its half back in one refill. Each owner's span is used up first,
 * so that the refill turns to the remote frees.
 */
#define HALF	(SPAN_BLOCKS / 2)

static struct {
	pthread_barrier_t took, flushed;
	void **theirs;
} two;

/* Give back the half of @all the flush left, then the @back half it took again. */
static void give_back_both_halves(void **all, void **back)
{
	give_back(SPAN_CLS, all + HALF, HALF);
	give_back(SPAN_CLS, back, HALF);
	ck_assert_int_eq(hak_self_check(), 0);
	free(all);
}

static void *own_a_span_then_take_half_back(void *arg)
{
	void *back[SPAN_BLOCKS];

	(void)arg;
	two.theirs = take(SPAN_CLS, SPAN_BLOCKS);
	pthread_barrier_wait(&two.took);
	pthread_barrier_wait(&two.flushed);
	refill_exactly(SPAN_CLS, 1, SPAN_BLOCKS, HALF, back);
	give_back_both_halves(two.theirs, back);
	return NULL;
}

START_TEST(a_flush_pushes_one_run_per_span)
{
	void **mine, *mixed[SPAN_BLOCKS], *back[SPAN_BLOCKS];
	pthread_t t;

	start();
	ck_assert_int_eq(pthread_barrier_init(&two.took, NULL, 2), 0);
	ck_assert_int_eq(pthread_barrier_init(&two.flushed, NULL, 2), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, own_a_span_then_take_half_back, NULL), 0);
	mine = take(SPAN_CLS, SPAN_BLOCKS);
	pthread_barrier_wait(&two.took);
	ck_assert_uint_ne((uintptr_t)mine[0] >> HAK_SS_PAGE_SHIFT,
			  (uintptr_t)two.theirs[0] >> HAK_SS_PAGE_SHIFT);
	for (unsigned i = 0; i < SPAN_BLOCKS; i++)	/* mine, theirs, mine, ... */
		mixed[i] = (i % 2 ? two.theirs : mine)[i / 2];
	give_back_remotely(SPAN_CLS, mixed, SPAN_BLOCKS);
	pthread_barrier_wait(&two.flushed);
	ck_assert_int_eq(pthread_join(t, NULL), 0);	/* its self-checks see my span */
	refill_exactly(SPAN_CLS, 1, SPAN_BLOCKS, HALF, back);
	give_back_both_halves(mine, back);
	pthread_barrier_destroy(&two.took);
	pthread_barrier_destroy(&two.flushed);
}
END_TEST

/* A span's blocks freed by another thread, then each written after free over a run's mark. */
static void **freed_remotely_then_written(void)
{
	void **all = take(SPAN_CLS, SPAN_BLOCKS);

	give_back_remotely(SPAN_CLS, all, SPAN_BLOCKS);
	for (unsigned i = 0; i < SPAN_BLOCKS; i++)
		memset((char *)all[i] + sizeof(void *), 0x5a, sizeof(void *));
	return all;
}

/* A write after free over a run's mark is caught when the owner takes the run... */
FATAL_TEST(a_run_written_after_free_is_reported, "heap corruption")
{
	void *head;

	start();
	freed_remotely_then_written();
	hak_ss_refill(SPAN_CLS, 1, 1, &head);
}

/* ... and when its span is disowned (thread exit), once the shard's lock is dropped. */
static void *write_after_free_then_exit(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(1));	/* arms this thread's exit hook */
	freed_remotely_then_written();
	return NULL;
}

FATAL_TEST(a_run_written_after_free_is_reported_at_disown, "heap corruption")
{
	start();
	in_thread(write_after_free_then_exit, NULL);
}

/* The counter @name of class @cls, summed over the shards. */
static long class_stat(unsigned cls, const char *name)
{
	char line[64];
	long n;

	snprintf(line, sizeof(line), "superslab.class%u(%uB)", cls, hak_class_bytes[cls]);
	n = unit_stat(line, name);
	return n < 0 ? 0 : n;	/* a class not used yet has no line */
}

/* Blocks of @cls other threads pushed onto remote lists (lock-free) so far. */
static long remote_frees(unsigned cls)
{
	return class_stat(cls, " remote_frees ");
}

/* Take two spans' blocks: the first span runs dry and retires. */
static void take_two_spans(void ***a, void ***b)
{
	*a = take(SPAN_CLS, SPAN_BLOCKS);
	*b = take(SPAN_CLS, SPAN_BLOCKS);
	ck_assert_ptr_ne((void *)((uintptr_t)(*a)[0] >> HAK_SS_PAGE_SHIFT),
			 (void *)((uintptr_t)(*b)[0] >> HAK_SS_PAGE_SHIFT));
}

/*
 * A dry span the owner moved on from stays its own ("retired"): other
 * threads' frees reach it lock-free, and the owner's next refill that its
 * active span cannot serve takes them back from it, no new memory.
 */
START_TEST(a_retired_span_takes_its_remote_frees_back)
{
	void **a, **b, **again;
	long pushed;
	size_t mapped;

	start();
	pushed = remote_frees(SPAN_CLS);
	take_two_spans(&a, &b);
	give_back_remotely(SPAN_CLS, a, SPAN_BLOCKS);
	ck_assert_int_eq(remote_frees(SPAN_CLS) - pushed, SPAN_BLOCKS);
	mapped = hak_sys_bytes_mapped();
	again = take(SPAN_CLS, SPAN_BLOCKS);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
	qsort(a, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	qsort(again, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(a, again, SPAN_BLOCKS * sizeof(void *));
	give_back(SPAN_CLS, again, SPAN_BLOCKS);
	give_back(SPAN_CLS, b, SPAN_BLOCKS);
	ck_assert_int_eq(hak_self_check(), 0);
	free(a);
	free(again);
	free(b);
}
END_TEST

/*
 * A give-back of @all (by another thread if @remotely) went under a lock:
 * the span had no owner.
 */
static void give_back_to_no_owner(void **all, bool remotely)
{
	long pushed = remote_frees(SPAN_CLS);

	(remotely ? give_back_remotely : give_back)(SPAN_CLS, all, SPAN_BLOCKS);
	ck_assert_int_eq(remote_frees(SPAN_CLS), pushed);
	ck_assert_int_eq(hak_self_check(), 0);
}

/* A thread that exits disowns its retired spans too, or their blocks would be stranded. */
static void **exited_a, **exited_b;

static void *retire_one_then_exit(void *arg)
{
	(void)arg;
	hak_free(hak_malloc(1));	/* arms this thread's exit hook */
	take_two_spans(&exited_a, &exited_b);
	return NULL;
}

START_TEST(exit_disowns_the_retired_spans)
{
	pthread_t t;

	start();
	ck_assert_int_eq(pthread_create(&t, NULL, retire_one_then_exit, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* here, not in a new thread: its owner token may be where the dead one's was */
	give_back_to_no_owner(exited_a, false);
	give_back_to_no_owner(exited_b, false);
	free(exited_a);
	free(exited_b);
}
END_TEST

/* ... and at the owner's frees, for a heap that shrinks refills nothing. */
START_TEST(a_span_retired_past_the_delay_is_disowned_at_frees)
{
	void **a, **b;

	start();
	hak_ss_set_delay(20);
	take_two_spans(&a, &b);
	usleep(40 * 1000);
	for (unsigned i = 0; i < SPAN_BLOCKS; i++)	/* one flush each, into the active span */
		give_back(SPAN_CLS, b + i, 1);
	give_back_to_no_owner(a, true);
	free(a);
	free(b);
}
END_TEST

/* ... and at the decay op (the learner's tick), run by the owner. */
START_TEST(a_span_retired_past_the_delay_is_disowned_at_decay)
{
	void **a, **b;

	start();
	hak_ss_set_delay(20);
	take_two_spans(&a, &b);
	usleep(40 * 1000);
	hak_box_superslab.decay(hak_sys_now_ms());
	give_back_to_no_owner(a, true);
	give_back(SPAN_CLS, b, SPAN_BLOCKS);
	free(a);
	free(b);
}
END_TEST

/*
 * At a delay of 0 (the learner's shrink) the owner's frees disown its
 * active span once a few pages' worth of its blocks are free, so that
 * those pages can be parked: the rest of its blocks, freed by another
 * thread, go under a lock. With a delay the span stays the owner's.
 */
static void active_span_after_frees(uint64_t delay, bool owned)
{
	unsigned half = SPAN_BLOCKS / 2;
	long pushed;
	void **b;

	start();
	hak_ss_set_delay(delay);
	b = take(SPAN_CLS, SPAN_BLOCKS);
	for (unsigned i = 0; i < half; i++)	/* one flush each: the sweep looks every 16th */
		give_back(SPAN_CLS, b + i, 1);
	pushed = remote_frees(SPAN_CLS);
	give_back_remotely(SPAN_CLS, b + half, SPAN_BLOCKS - half);
	ck_assert_int_eq(remote_frees(SPAN_CLS) - pushed, owned ? SPAN_BLOCKS - half : 0);
	ck_assert_int_eq(hak_self_check(), 0);
	free(b);
}

START_TEST(a_shrink_disowns_an_active_span_with_free_pages)
{
	active_span_after_frees(0, false);
}
END_TEST

START_TEST(with_a_delay_the_active_span_stays_owned)
{
	active_span_after_frees(1000, true);
}
END_TEST

/* A thread that allocates at a delay of 0 keeps its active spans: its refills sweep only retirees. */
START_TEST(a_refill_keeps_the_active_spans)
{
	unsigned half = SPAN_BLOCKS / 2;
	long pushed;
	void **b, **other;

	start();
	hak_ss_set_delay(0);
	b = take(SPAN_CLS, SPAN_BLOCKS);
	give_back(SPAN_CLS, b, half);	/* one flush: no sweep */
	other = take(SPAN_CLS - 1, 4);	/* the first refill of its class: locked */
	pushed = remote_frees(SPAN_CLS);
	give_back_remotely(SPAN_CLS, b + half, SPAN_BLOCKS - half);
	ck_assert_int_eq(remote_frees(SPAN_CLS) - pushed, SPAN_BLOCKS - half);
	give_back(SPAN_CLS - 1, other, 4);
	ck_assert_int_eq(hak_self_check(), 0);
	free(other);
	free(b);
}
END_TEST

/*
 * Carved blocks come out of a refill in address order, so blocks made
 * together sit together across refills.
 */
START_TEST(carved_blocks_come_out_in_address_order)
{
	unsigned cls = 5, n = (unsigned)(((size_t)1 << HAK_SS_PAGE_SHIFT) / hak_class_bytes[cls]);
	void **all;

	start();
	all = take(cls, n);	/* refills of 100: one fresh span */
	for (unsigned i = 1; i < n; i++)
		ck_assert_ptr_eq((char *)all[i - 1] + hak_class_bytes[cls], all[i]);
	give_back(cls, all, n);
	free(all);
}
END_TEST

/*
 * A refill cuts no further than the end of the page its first block starts
 * on, and the next refill goes on in the same span: a class used a little
 * faults in few pages.
 */
START_TEST(carving_stops_at_a_page_end)
{
	unsigned cls = hak_size_class(700);	/* 6 blocks start on a 4 KiB page, the 6th crossing it */
	size_t page = (size_t)sysconf(_SC_PAGESIZE), bsize = hak_class_bytes[cls];
	void *head, *next;
	unsigned got, more;

	start();
	got = hak_ss_refill(cls, 32, 32, &head);
	ck_assert_uint_eq(got, (unsigned)((page - (uintptr_t)head % page + bsize - 1) / bsize));
	ck_assert_uint_lt(got, 32);
	more = hak_ss_refill(cls, 32, 32, &next);
	ck_assert_uint_eq(more, (unsigned)((page - (uintptr_t)next % page + bsize - 1) / bsize));
	ck_assert_ptr_eq(next, (char *)head + got * bsize);	/* the same span, carried on */
	hak_ss_flush(cls, next, more);
	hak_ss_flush(cls, head, got);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A program that frees a batch of blocks and takes it again reuses the
 * batch's spans: an empty span stays partial for the delay (it went back
 * to its superslab at once, and the next batch cut every span anew, under
 * the shard's locks); the decay after the delay gives it back.
 */
START_TEST(empty_spans_wait_out_the_delay)
{
	unsigned n = 10 * SPAN_BLOCKS;
	void **all;
	long cut, freed;

	setenv("HAKMEM_SS_DELAY_MS", "500", 1);	/* long enough for a slow run (valgrind) */
	start();
	all = take(SPAN_CLS, n);
	give_back(SPAN_CLS, all, n);
	free(all);
	cut = class_stat(SPAN_CLS, " spans_new ");
	freed = class_stat(SPAN_CLS, " spans_freed ");
	all = take(SPAN_CLS, n);	/* the same spans */
	ck_assert_int_eq(class_stat(SPAN_CLS, " spans_new "), cut);
	give_back(SPAN_CLS, all, n);
	free(all);
	ck_assert_int_eq(class_stat(SPAN_CLS, " spans_freed "), freed);
	ck_assert_int_eq(hak_box_superslab.decay(hak_sys_now_ms()), 0);
	ck_assert_int_eq(class_stat(SPAN_CLS, " spans_freed "), freed);
	usleep(700 * 1000);
	while (hak_box_superslab.decay(hak_sys_now_ms()))
		;
	/* all but the class's one partial span, this thread's active and retired ones */
	ck_assert_int_ge(class_stat(SPAN_CLS, " spans_freed "), freed + 10 - 3);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * Empty spans kept for the delay do not make a program that moves on to
 * another class map new memory: a refill gives them back to their
 * superslabs before it maps one.
 */
START_TEST(a_new_class_takes_the_pages_of_empty_spans)
{
	unsigned a = SPAN_CLS, b = hak_size_class(512), na = 8192, nb = 16384;	/* 8 MiB each */
	void **all;
	long mapped;

	setenv("HAKMEM_SS_DELAY_MS", "10000", 1);
	start();
	all = take(a, na);
	give_back(a, all, na);	/* empty spans, kept for the delay */
	free(all);
	mapped = stat1("superslab.mapped");
	all = take(b, nb);
	ck_assert_int_le(stat1("superslab.mapped"), mapped + 1);	/* 4 without */
	give_back(b, all, nb);
	free(all);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* A span cut again from pages another span used is carved in whole batches: nothing to fault in. */
START_TEST(carving_used_pages_takes_whole_batches)
{
	unsigned cls = hak_size_class(700), n = (unsigned)(((size_t)1 << HAK_SS_PAGE_SHIFT) / hak_class_bytes[cls]);
	void **a, **b, **c, *head;

	setenv("HAKMEM_SS_DELAY_MS", "0", 1);	/* a dry span is disowned at once, not retired */
	start();
	a = take(cls, n);	/* one whole span */
	b = take(cls, n);	/* the next: the first one disowned */
	c = take(cls, n);
	hak_ss_set_delay(100);
	give_back(cls, b, 1);	/* b partial: a is not the class's last partial span */
	give_back(cls, a, n);	/* back whole: stays partial for the delay */
	usleep(150 * 1000);
	hak_box_superslab.decay(hak_sys_now_ms());	/* a goes back, its pages purged at the next call */
	/* b's free block, then a span cut where a was, in one batch */
	ck_assert_uint_eq(hak_ss_refill(cls, 32, 32, &head), 32);
	ck_assert_ptr_eq(head, a[0]);
	ck_assert_ptr_eq(((void **)a[30])[0], b[0]);
	hak_ss_flush(cls, head, 32);
	give_back(cls, b + 1, n - 1);
	give_back(cls, c, n);
	free(a);
	free(b);
	free(c);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A retired span whose blocks all came back to its owner goes back at
 * once: another thread's next refill finds it on the partial list.
 */
static void *take_a_span(void *arg)
{
	*(void ***)arg = take(SPAN_CLS, SPAN_BLOCKS);
	return NULL;
}

START_TEST(a_retired_span_all_freed_by_its_owner_goes_back)
{
	void **a, **b, **theirs;

	start();
	take_two_spans(&a, &b);
	give_back(SPAN_CLS, a, SPAN_BLOCKS);
	in_thread(take_a_span, &theirs);
	qsort(a, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	qsort(theirs, SPAN_BLOCKS, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(a, theirs, SPAN_BLOCKS * sizeof(void *));
	give_back(SPAN_CLS, theirs, SPAN_BLOCKS);
	give_back(SPAN_CLS, b, SPAN_BLOCKS);
	ck_assert_int_eq(hak_self_check(), 0);
	free(a);
	free(b);
	free(theirs);
}
END_TEST

/* A span retired longer than the empty delay is disowned at a later slow refill. */
START_TEST(a_span_retired_past_the_delay_is_disowned)
{
	void **a, **b, **other;

	start();
	hak_ss_set_delay(20);
	take_two_spans(&a, &b);
	usleep(40 * 1000);
	other = take(SPAN_CLS - 1, 8);	/* a new span of another class: a slow refill */
	give_back(SPAN_CLS - 1, other, 8);
	give_back_to_no_owner(a, true);
	give_back(SPAN_CLS, b, SPAN_BLOCKS);
	free(a);
	free(b);
	free(other);
}
END_TEST

/*
 * A thread exits while blocks it took from its span's remote list are
 * still unhanded: disowning counts them back, so the span is whole again
 * (the self-check finds no "taken" block on a span nobody owns).
 */
static void *take_some_then_exit(void *arg)
{
	void **all, *head;

	(void)arg;
	hak_free(hak_malloc(1));	/* arms this thread's exit hook */
	all = take(SPAN_CLS, SPAN_BLOCKS);
	give_back_remotely(SPAN_CLS, all, SPAN_BLOCKS);
	ck_assert_uint_eq(hak_ss_refill(SPAN_CLS, 10, 10, &head), 10);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_ss_flush(SPAN_CLS, head, 10);
	free(all);
	return NULL;
}

START_TEST(exit_gives_back_what_was_taken_from_remote_frees)
{
	pthread_t t;

	start();
	ck_assert_int_eq(pthread_create(&t, NULL, take_some_then_exit, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/*
 * A pusher preempted right after its push (the test hook) while the span's
 * owner exits and the span and its superslab go back to the OS: the pusher
 * must not read the span after its push (it would fault: unmapped).
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *block;
	bool go;
	pthread_t owner;
} push_race = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *own_one_block_then_exit(void *arg)
{
	void *head;

	(void)arg;
	ck_assert_uint_eq(hak_ss_refill(SPAN_CLS, 1, 1, &head), 1);
	pthread_mutex_lock(&push_race.lock);
	push_race.block = head;
	pthread_cond_broadcast(&push_race.cond);
	while (!push_race.go)
		pthread_cond_wait(&push_race.cond, &push_race.lock);
	pthread_mutex_unlock(&push_race.lock);
	hak_box_superslab.thread_exit();	/* disowns the span: its block is back */
	return NULL;
}

static void owner_exits_and_superslab_goes(void)
{
	hak_ss_pushed_hook = NULL;
	pthread_mutex_lock(&push_race.lock);
	push_race.go = true;
	pthread_cond_broadcast(&push_race.cond);
	pthread_mutex_unlock(&push_race.lock);
	ck_assert_int_eq(pthread_join(push_race.owner, NULL), 0);
	hak_box_superslab.reclaim();
	ck_assert_int_eq(stat1("superslab.live"), 0);	/* unmapped */
}

START_TEST(remote_push_never_touches_a_span_after_the_push)
{
	start();
	hak_malloc_trim(0);	/* no superslab left: the owner maps a fresh one */
	ck_assert_int_eq(stat1("superslab.live"), 0);
	ck_assert_int_eq(pthread_create(&push_race.owner, NULL, own_one_block_then_exit, NULL), 0);
	pthread_mutex_lock(&push_race.lock);
	while (!push_race.block)
		pthread_cond_wait(&push_race.cond, &push_race.lock);
	pthread_mutex_unlock(&push_race.lock);
	hak_ss_pushed_hook = owner_exits_and_superslab_goes;
	((void **)push_race.block)[0] = NULL;
	hak_ss_flush(SPAN_CLS, push_race.block, 1);
	ck_assert_ptr_null(hak_ss_pushed_hook);	/* the hook ran */
	ck_assert_int_eq(stat1("superslab.unmapped"), 2);	/* start()'s, the owner's */
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

START_TEST(out_of_memory_returns_zero_blocks)
{
	unsigned cls = HAK_SS_NSERVED - 1, i;
	void *head;

	start();
	hak_sys_fail_after = 0;	/* what is mapped already is still handed out */
	for (i = 0; i < 5000; i++)
		if (hak_ss_refill(cls, 1, 1, &head) == 0)
			break;
	ck_assert_uint_lt(i, 2000);	/* a 2 MiB superslab holds 1984 */
	ck_assert_ptr_null(head);
	hak_sys_fail_after = -1;
	ck_assert_uint_eq(hak_ss_refill(cls, 1, 1, &head), 1);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* ------------------------------------------------------------- shards */

/* The thread's shard, and that of the superslab its first block comes from. */
static void *note_shards(void *arg)
{
	unsigned *shard = arg;
	void *head;

	ck_assert_uint_eq(hak_ss_refill(SPAN_CLS, 1, 1, &head), 1);
	shard[0] = hak_ss_thread_shard();
	shard[1] = hak_ss_shard_of(head);
	return NULL;	/* keeps its block and span: nothing for the next to take */
}

/* Threads take the shards round robin, and cut spans from their own shard's superslabs. */
START_TEST(threads_take_shards_round_robin)
{
	unsigned n, shard[2];

	start();	/* the first thread: shard 0 */
	n = hak_ss_nshards();
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_le(n, 8);
	ck_assert_uint_eq(n & (n - 1), 0);
	ck_assert_uint_eq(hak_ss_thread_shard(), 0);
	for (unsigned k = 1; k <= 2 * n; k++) {
		in_thread(note_shards, shard);
		ck_assert_uint_eq(shard[0], k % n);
		ck_assert_uint_eq(shard[1], k % n);
	}
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* Blocks of another shard's span, and the count of them to give back. */
struct shard_job {
	void **blocks;
	unsigned n;
};

static void *give_back_in_shard_1(void *arg)
{
	struct shard_job *j = arg;

	ck_assert_uint_eq(hak_ss_thread_shard(), 1);
	ck_assert_uint_eq(hak_ss_shard_of(j->blocks[0]), 0);
	give_back(SPAN_CLS, j->blocks, j->n);
	return NULL;
}

/*
 * A thread of shard 1 frees blocks of a span of shard 0 nobody owns: they
 * go back under shard 0's lock onto shard 0's partial list (the
 * self-check knows each list's shard), where shard 0's next refill takes
 * exactly them.
 */
START_TEST(unowned_span_takes_blocks_back_from_another_shard)
{
	struct shard_job j;
	void **first, **again;
	size_t mapped;

	start();
	first = take(SPAN_CLS, SPAN_BLOCKS);	/* one whole span */
	hak_box_superslab.thread_exit();	/* nobody owns it now */
	j = (struct shard_job){ first, SPAN_BLOCKS / 2 };
	in_thread(give_back_in_shard_1, &j);
	ck_assert_int_eq(hak_self_check(), 0);
	mapped = hak_sys_bytes_mapped();
	again = take(SPAN_CLS, SPAN_BLOCKS / 2);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
	qsort(first, SPAN_BLOCKS / 2, sizeof(void *), cmp_ptr);
	qsort(again, SPAN_BLOCKS / 2, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(first, again, SPAN_BLOCKS / 2 * sizeof(void *));
	ck_assert_int_eq(hak_self_check(), 0);
	free(first);
	free(again);
}
END_TEST

static void *take_in_shard_1(void *arg)
{
	struct shard_job *j = arg;
	void **got;

	ck_assert_uint_eq(hak_ss_thread_shard(), 1);
	got = take(SPAN_CLS, j->n);
	qsort(got, j->n, sizeof(void *), cmp_ptr);
	ck_assert_mem_eq(got, j->blocks, j->n * sizeof(void *));
	ck_assert_int_eq(hak_self_check(), 0);
	give_back(SPAN_CLS, got, j->n);
	hak_box_superslab.thread_exit();
	free(got);
	return NULL;
}

/*
 * Shard 1 has no superslab; shard 0 has two half-used spans nobody owns.
 * A refill in shard 1 takes them (trylock on shard 0's lock) rather
 * than mapping a superslab of its own.
 */
START_TEST(refill_steals_partial_spans_from_another_shard)
{
	unsigned n = 2 * SPAN_BLOCKS, half = n / 2;
	struct shard_job j;
	void **all, **odd;
	long mapped;
	size_t bytes;

	start();
	all = take(SPAN_CLS, n);	/* two whole spans */
	hak_box_superslab.thread_exit();
	odd = malloc(half * sizeof(*odd));
	for (unsigned i = 0; i < half; i++)
		odd[i] = all[2 * i + 1];
	give_back(SPAN_CLS, odd, half);
	qsort(odd, half, sizeof(*odd), cmp_ptr);
	mapped = stat1("superslab.mapped");
	bytes = hak_sys_bytes_mapped();
	j = (struct shard_job){ odd, half };
	in_thread(take_in_shard_1, &j);
	ck_assert_int_eq(stat1("superslab.mapped"), mapped);
	ck_assert_uint_eq(hak_sys_bytes_mapped(), bytes);
	ck_assert_int_eq(hak_self_check(), 0);
	free(odd);
	free(all);
}
END_TEST

/* Five superslabs' worth of blocks, all given back, the thread's spans disowned. */
static void *fill_and_empty(void *arg)
{
	unsigned n = 5 * HAK_SS_PAGES * SPAN_BLOCKS;
	void **all = take(SPAN_CLS, n);

	(void)arg;
	give_back(SPAN_CLS, all, n);
	hak_box_superslab.thread_exit();
	free(all);
	return NULL;
}

/* HAKMEM_SS_KEEP empty superslabs are kept in all, not in each shard. */
START_TEST(shards_split_the_empty_superslabs_kept)
{
	setenv("HAKMEM_SS_KEEP", "2", 1);
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	start();
	for (unsigned k = 1; k <= hak_ss_nshards(); k++)	/* one thread in each shard */
		in_thread(fill_and_empty, NULL);
	while (hak_box_superslab.decay(hak_sys_now_ms()))
		;
	ck_assert_int_le(stat1("superslab.empty"), 2);
	ck_assert_int_eq(hak_self_check(), 0);
}
END_TEST

/* The shards' locks are never initialised: zero bytes must be an unlocked default mutex (hak_lock.h). */
START_TEST(a_zeroed_lock_is_an_initialised_one)
{
	static const pthread_mutex_t init = PTHREAD_MUTEX_INITIALIZER, zero;
	static pthread_mutex_t zeroed;

	ck_assert_mem_eq(&init, &zero, sizeof(init));
	ck_assert_int_eq(pthread_mutex_trylock(&zeroed), 0);
	ck_assert_int_eq(pthread_mutex_trylock(&zeroed), EBUSY);
	ck_assert_int_eq(pthread_mutex_unlock(&zeroed), 0);
}
END_TEST

/* 16 threads hand tiny blocks to each other through shared slots. */
#define XT_THREADS	16
#define XT_SLOTS	64
#define XT_ROUNDS	4000

static _Atomic(unsigned char *) xt_slots[XT_SLOTS];
static _Atomic unsigned xt_shards;	/* bit s: a thread of shard s ran */

/* A block: its size and a tag in its first 4 bytes, a pattern from the tag after them. */
static unsigned char *xt_new(uint64_t x)
{
	unsigned size = 4 + (unsigned)(x >> 20) % (hak_class_bytes[HAK_SS_NSERVED - 1] - 3);
	unsigned tag = (unsigned)(x >> 40) & 0xffff;
	unsigned char *p = hak_malloc(size);

	ck_assert_ptr_nonnull(p);
	memcpy(p, &(uint16_t){ (uint16_t)size }, 2);
	memcpy(p + 2, &(uint16_t){ (uint16_t)tag }, 2);
	unit_fill(p + 4, size - 4, tag);
	return p;
}

static void xt_check_free(unsigned char *p)
{
	uint16_t size, tag;

	memcpy(&size, p, 2);
	memcpy(&tag, p + 2, 2);
	ck_assert_uint_ge(size, 4);
	ck_assert(unit_verify(p + 4, size - 4u, tag));
	hak_free(p);
}

static void *xt_worker(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	for (int r = 0; r < XT_ROUNDS; r++) {
		unsigned char *old;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		old = atomic_exchange(&xt_slots[x % XT_SLOTS], xt_new(x));
		if (old)
			xt_check_free(old);
	}
	atomic_fetch_or(&xt_shards, 1u << hak_ss_thread_shard());
	return NULL;
}

static void cross_free(void)
{
	pthread_t t[XT_THREADS];

	hak_free(hak_malloc(1));
	for (uintptr_t i = 0; i < XT_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, xt_worker, (void *)(i + 1)), 0);
	for (int i = 0; i < XT_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	ck_assert_uint_eq(xt_shards, (1u << hak_ss_nshards()) - 1);	/* every shard */
	for (int i = 0; i < XT_SLOTS; i++)
		if (xt_slots[i])
			xt_check_free(xt_slots[i]);
	ck_assert_int_eq(hak_self_check(), 0);
	hak_malloc_trim(0);
	ck_assert_int_eq(hak_self_check(), 0);
}

START_TEST(threads_cross_free_tiny_blocks_contents_verified)
{
	cross_free();
}
END_TEST

/* The same with no decay delay: pages park and come back under the threads' feet. */
START_TEST(threads_cross_free_while_pages_park)
{
	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	setenv("HAKMEM_CHECK", "fast", 1);	/* full checks keep canaries: nothing parks */
	cross_free();
	ck_assert_int_gt(stat1("superslab.parked_pages"), 0);
}
END_TEST

/* Resident system pages of [@p, @p + @len). */
static unsigned resident_pages(const void *p, size_t len)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = len / ps;
	unsigned char vec[64];
	unsigned r = 0;

	ck_assert_uint_le(n, sizeof(vec));
	ck_assert_int_eq(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

/*
 * A span whose blocks are all free but those of its first system page:
 * once no block came back for a decay round, its other pages are purged
 * (the live blocks untouched), and its owner gets every block back later
 * without new memory. Odd sizes, so blocks straddle pages and the last
 * page holds the span's slack past its last block.
 */
START_TEST(free_pages_inside_partial_spans_are_purged_and_come_back)
{
	unsigned classes[] = { 2, 13, HAK_SS_NSERVED - 1 };
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), span = (size_t)1 << HAK_SS_PAGE_SHIFT;

	setenv("HAKMEM_SS_DELAY_MS", "0", 1);
	start();
	for (unsigned k = 0; k < 3; k++) {
		unsigned cls = classes[k], bytes = hak_class_bytes[cls];
		unsigned n = 4 * (unsigned)(span / bytes), nkept = 0, nfreed = 0;
		void **all = take(cls, n), **kept = calloc(n, sizeof(void *));
		void **freed = calloc(n, sizeof(void *)), **again;
		char *first = (char *)((uintptr_t)all[0] & ~(span - 1));
		long parked = stat1("superslab.parked_pages");
		size_t mapped;

		for (unsigned i = 0; i < n; i++) {
			size_t off = (uintptr_t)all[i] & (span - 1);

			if (off < ps)	/* starts on its span's first page: stays */
				kept[nkept++] = all[i];
			else
				freed[nfreed++] = all[i];
		}
		give_back(cls, freed, nfreed);
		hak_box_superslab.decay(hak_sys_now_ms());
		ck_assert_int_ge(stat1("superslab.parked_pages") - parked, 2 * (long)(span / ps - 2));
		/* the first page and the one its last kept block runs into: not the tail page */
		ck_assert_uint_le(resident_pages(first, span), 2);
		for (unsigned i = 0; i < n; i++)	/* the kept blocks are whole */
			if ((uintptr_t)all[i] % span < ps)
				ck_assert(unit_verify(all[i], bytes, i));
		ck_assert_int_eq(hak_self_check(), 0);
		mapped = hak_sys_bytes_mapped();
		again = take(cls, nfreed);	/* distinct, writable, no overlap with each other */
		ck_assert_uint_eq(hak_sys_bytes_mapped(), mapped);
		ck_assert_int_eq(unit_count_in(again, (int)nfreed, kept, (int)nkept), 0);
		for (unsigned i = 0; i < n; i++)
			if ((uintptr_t)all[i] % span < ps)
				ck_assert(unit_verify(all[i], bytes, i));
		ck_assert_int_eq(hak_self_check(), 0);
		give_back(cls, again, nfreed);
		give_back(cls, kept, nkept);
		ck_assert_int_eq(hak_self_check(), 0);
		free(again);
		free(freed);
		free(kept);
		free(all);
	}
}
END_TEST

/* A sink that keeps bytes_out and bytes_live. */
static uint64_t got_out, got_live;

static void keep_value(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	(void)s;
	if (strcmp(name, "bytes_out") == 0)
		got_out = v;
	else if (strcmp(name, "bytes_live") == 0)
		got_live = v;
}

/* Read while threads run, a class's blocks_in can pass its blocks_out: no wrap. */
START_TEST(bytes_live_never_wraps)
{
	struct hak_stats_sink sink = { .value = keep_value };
	struct { hak_counter_t blocks_out, pad, blocks_in; } c[2] = {
		{ .blocks_out = 2, .blocks_in = 3 }, { .blocks_out = 5, .blocks_in = 1 },
	};
	const uint32_t bytes[2] = { 16, 32 };

	hak_stat_bytes_live(&sink, &c[0].blocks_out, &c[0].blocks_in, sizeof(c[0]), bytes, 2);
	ck_assert_uint_eq(got_out, 2 * 16 + 5 * 32);
	ck_assert_uint_eq(got_live, 4 * 32);
}
END_TEST

Suite *superslab_suite(void)
{
	Suite *s = suite_create("superslab");
	TCase *tc = tcase_create("spans");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, refill_and_flush_keep_counts_exact);
	tcase_add_test(tc, grows_past_many_superslabs_and_shrinks_back);
	tcase_add_test(tc, empty_superslabs_return_after_the_delay);
	tcase_add_test(tc, decay_is_bounded_and_waits_for_the_delay);
	tcase_add_test(tc, refill_reuses_partial_spans_first);
	tcase_add_test(tc, self_check_sees_a_corrupt_free_list);
	tcase_add_test(tc, owner_reuses_remote_frees_before_new_memory);
	tcase_add_test(tc, remote_runs_are_taken_whole_or_cut_at_want);
	tcase_add_test(tc, own_frees_are_taken_back_as_runs);
	tcase_add_test(tc, a_flush_pushes_one_run_per_span);
	tcase_add_test(tc, a_run_written_after_free_is_reported);
	tcase_add_test(tc, a_run_written_after_free_is_reported_at_disown);
	tcase_add_test(tc, a_retired_span_takes_its_remote_frees_back);
	tcase_add_test(tc, exit_disowns_the_retired_spans);
	tcase_add_test(tc, a_span_retired_past_the_delay_is_disowned);
	tcase_add_test(tc, a_span_retired_past_the_delay_is_disowned_at_frees);
	tcase_add_test(tc, a_span_retired_past_the_delay_is_disowned_at_decay);
	tcase_add_test(tc, a_retired_span_all_freed_by_its_owner_goes_back);
	tcase_add_test(tc, a_shrink_disowns_an_active_span_with_free_pages);
	tcase_add_test(tc, with_a_delay_the_active_span_stays_owned);
	tcase_add_test(tc, a_refill_keeps_the_active_spans);
	tcase_add_test(tc, carved_blocks_come_out_in_address_order);
	tcase_add_test(tc, carving_stops_at_a_page_end);
	tcase_add_test(tc, carving_used_pages_takes_whole_batches);
	tcase_add_test(tc, empty_spans_wait_out_the_delay);
	tcase_add_test(tc, a_new_class_takes_the_pages_of_empty_spans);
	tcase_add_test(tc, exit_gives_back_what_was_taken_from_remote_frees);
	tcase_add_test(tc, remote_push_never_touches_a_span_after_the_push);
	tcase_add_test(tc, out_of_memory_returns_zero_blocks);
	tcase_add_test(tc, bytes_live_never_wraps);
	tcase_add_test(tc, free_pages_inside_partial_spans_are_purged_and_come_back);
	suite_add_tcase(s, tc);
	tc = tcase_create("shards");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, threads_take_shards_round_robin);
	tcase_add_test(tc, unowned_span_takes_blocks_back_from_another_shard);
	tcase_add_test(tc, refill_steals_partial_spans_from_another_shard);
	tcase_add_test(tc, shards_split_the_empty_superslabs_kept);
	tcase_add_test(tc, a_zeroed_lock_is_an_initialised_one);
	suite_add_tcase(s, tc);
	tc = tcase_create("stress");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, threads_cross_free_tiny_blocks_contents_verified);
	tcase_add_test(tc, threads_cross_free_while_pages_park);
	suite_add_tcase(s, tc);
	return s;
}
