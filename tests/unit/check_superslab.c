/* check_superslab.c - carving, refill/flush, span life, self-check. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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
		unsigned k = hak_ss_refill(cls, n - got < 100 ? n - got : 100, &head);

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
	ck_assert_uint_eq(hak_ss_refill(HAK_SS_NSERVED - 3, 1, &head), 1);	/* a span change */
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
		unsigned k = hak_ss_refill(cls, 100, &head);

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

static void give_back_remotely(unsigned cls, void **all, unsigned n)
{
	struct remote_job j = { cls, n, all };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, remote_give_back, &j), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
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
	ck_assert_uint_eq(hak_ss_refill(SPAN_CLS, 10, &head), 10);
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
	ck_assert_uint_eq(hak_ss_refill(SPAN_CLS, 1, &head), 1);
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
		if (hak_ss_refill(cls, 1, &head) == 0)
			break;
	ck_assert_uint_lt(i, 2000);	/* a 2 MiB superslab holds 1984 */
	ck_assert_ptr_null(head);
	hak_sys_fail_after = -1;
	ck_assert_uint_eq(hak_ss_refill(cls, 1, &head), 1);
	ck_assert_int_eq(hak_self_check(), 0);
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
	tcase_add_test(tc, exit_gives_back_what_was_taken_from_remote_frees);
	tcase_add_test(tc, remote_push_never_touches_a_span_after_the_push);
	tcase_add_test(tc, out_of_memory_returns_zero_blocks);
	tcase_add_test(tc, bytes_live_never_wraps);
	suite_add_tcase(s, tc);
	return s;
}
