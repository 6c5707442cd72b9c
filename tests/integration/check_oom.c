/*
 * check_oom.c - out of memory as users meet it (issue 16, bug 2): under
 * RLIMIT_AS (the process's size + 512 MiB) one tier at a time allocates
 * until malloc fails, everything is freed, and then every tier - in this
 * thread and in a new one - must get memory again: what one tier freed is
 * given back (a failed mapping first makes HAKMEM return what it keeps
 * idle) and serves the others. Again with the process's mappings close to
 * vm.max_map_count too (filled by the test itself, so no sysctl changes;
 * 300 to spare): a mapping that needs a VMA of its own fails there, so do
 * the split of a large block's reserved tail (it is opened whole instead)
 * and an unmap that would split a VMA (its pages are given back instead). Also several threads exhausting together.
 *
 * Exhausting blocks are chained through their first word, so the test
 * needs no memory of its own while the limit is reached.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "itest.h"

#define MiB ((size_t)1 << 20)
/* Less when the allocator is the unoptimised debug build (full checks). */
#define HEADROOM (HAK_DEBUG ? 256 * MiB : 512 * MiB)
/* What every tier must get back after an exhaustion: a quarter of it. */
#define AGAIN (HEADROOM / 4)

static const size_t tiers[] = { 64, 16 << 10, 64 << 10, 256 << 10, MiB, 8 * MiB, 24 * MiB };
#define NTIERS (sizeof(tiers) / sizeof(tiers[0]))

/* Address space in use now (VmSize), from /proc/self/statm. */
static size_t vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static void limit_address_space(void)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = vm_size() + HEADROOM;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
}

/* Mappings (VMAs) the process has now. */
static long map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/*
 * Bring the process's mapping count to vm.max_map_count less @spare: one
 * inaccessible reservation whose every other page is made read-only, each
 * a VMA of its own, until the kernel refuses; then @spare are given back.
 */
static void fill_map_count(long spare)
{
	long max = 0, i;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages;
	char *r;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld", &max), 1);
	fclose(f);
	pages = 2 * (size_t)max + 16;
	r = mmap(NULL, pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(r, MAP_FAILED);
	for (i = 1; (size_t)i < pages; i += 2)
		if (mprotect(r + i * page, page, PROT_READ))
			break;
	ck_assert_msg((size_t)i < pages && errno == ENOMEM,
		      "vm.max_map_count %ld not reached (%ld mappings)", max, map_count());
	for (long k = 0; k < spare / 2; k++) {	/* merging back frees two */
		i -= 2;
		ck_assert_int_eq(mprotect(r + i * page, page, PROT_NONE), 0);
	}
}

struct chain {
	void *head;
	size_t n, bytes;
	int err;		/* errno of the failed malloc */
};

/* malloc(@size) until it fails or @limit bytes are out; chained in @c. */
static void take(struct chain *c, size_t size, size_t limit)
{
	c->head = NULL;
	c->n = c->bytes = 0;
	c->err = 0;
	while (c->bytes < limit) {
		void **p;

		errno = 0;
		p = malloc(size);
		if (!p) {
			c->err = errno;
			return;
		}
		p[0] = c->head;
		if (size > 4096)
			((char *)p)[size - 1] = 1;	/* the last page is usable too */
		c->head = p;
		c->n++;
		c->bytes += size;
	}
}

static void give_back(struct chain *c)
{
	for (void **p = c->head, **next; p; p = next) {
		next = p[0];
		free(p);
	}
	c->head = NULL;
}

/* Every tier gets AGAIN bytes (at least one block), then frees them; 0 or the failing size. */
static size_t every_tier_again(void)
{
	struct chain c;

	for (size_t t = 0; t < NTIERS; t++) {
		take(&c, tiers[t], AGAIN);
		give_back(&c);
		if (c.bytes < AGAIN)
			return tiers[t];
	}
	return 0;
}

static void *every_tier_thread(void *arg)
{
	(void)arg;
	return (void *)every_tier_again();
}

/*
 * A thread with a 256 KiB stack. Near the limit a default 8 MiB stack may
 * not fit beside what HAKMEM keeps idle, and glibc maps stacks itself:
 * HAKMEM cannot give its idle memory back for them (docs/RELIABILITY.md).
 * What the test checks is that the thread's mallocs recover.
 */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;

	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, 256 << 10), 0);
	ck_assert_int_eq(pthread_create(t, &attr, fn, arg), 0);
	pthread_attr_destroy(&attr);
}

static void every_tier_in_a_new_thread(const char *after)
{
	pthread_t t;
	void *failed;

	spawn(&t, every_tier_thread, NULL);
	ck_assert_int_eq(pthread_join(t, &failed), 0);
	ck_assert_msg(!failed, "after %s: a new thread could not get %zu MiB of %zu B blocks",
		      after, AGAIN >> 20, (size_t)failed);
}

/* Tiers exhausted again with the mapping count near vm.max_map_count (release only: time). */
static const size_t map_count_tiers[] = { 64, 16 << 10, MiB, 8 * MiB };
#define NMAPTIERS (HAK_DEBUG ? 0 : sizeof(map_count_tiers) / sizeof(map_count_tiers[0]))

/*
 * Tier _i exhausts the limit and frees: every tier gets memory again, here
 * and in a new thread; from _i = NTIERS on, one of map_count_tiers with the
 * mapping count at vm.max_map_count less 300 as well.
 */
START_TEST(exhaust_one_tier_then_all_recover)
{
	bool maps = _i >= (int)NTIERS;
	size_t size = maps ? map_count_tiers[_i - NTIERS] : tiers[_i], failed;
	char what[96];
	struct chain c;

	snprintf(what, sizeof(what), "exhausting %zu B blocks%s", size,
		 maps ? " at vm.max_map_count" : "");
	if (maps)
		fill_map_count(300);
	limit_address_space();
	take(&c, size, SIZE_MAX);
	give_back(&c);		/* first: Check's assertions allocate */
	ck_assert_msg(c.err == ENOMEM, "%s: malloc failed with errno %d", what, c.err);
	ck_assert_msg(c.bytes >= HEADROOM / 2, "%s: only %zu MiB before the limit",
		      what, c.bytes >> 20);
	failed = every_tier_again();
	ck_assert_msg(!failed, "%s: could not get %zu MiB of %zu B blocks again",
		      what, AGAIN >> 20, failed);
	every_tier_in_a_new_thread(what);
	itest_self_check();
}
END_TEST

#define NTHREADS 4

static void *exhaust_thread(void *arg)
{
	struct chain *c = arg;

	take(c, c->n, SIZE_MAX);	/* c->n: the block size */
	give_back(c);
	return NULL;
}

/* Four threads exhaust the limit together (tiny, then pool blocks), free and exit, three times. */
START_TEST(threads_exhaust_together_then_a_new_thread_recovers)
{
	static const size_t sizes[] = { 64, 1025 };

	limit_address_space();
	for (int round = 0; round < 3; round++) {
		pthread_t t[NTHREADS];
		struct chain c[NTHREADS];
		size_t total = 0;
		char what[64];

		for (int i = 0; i < NTHREADS; i++) {
			c[i].n = sizes[(round + i) % 2];
			spawn(&t[i], exhaust_thread, &c[i]);
		}
		for (int i = 0; i < NTHREADS; i++) {
			ck_assert_int_eq(pthread_join(t[i], NULL), 0);
			ck_assert_msg(c[i].err == ENOMEM, "thread %d: malloc failed with errno %d",
				      i, c[i].err);
			total += c[i].bytes;
		}
		ck_assert_msg(total >= HEADROOM / 2, "round %d: only %zu MiB in all", round,
			      total >> 20);
		snprintf(what, sizeof(what), "round %d of 4 threads exhausting", round);
		every_tier_in_a_new_thread(what);
	}
	itest_self_check();
}
END_TEST

static Suite *oom_suite(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = itest_tcase(s, "rlimit_as", 120);

	tcase_add_loop_test(tc, exhaust_one_tier_then_all_recover, 0, NTIERS + NMAPTIERS);
	tcase_add_test(tc, threads_exhaust_together_then_a_new_thread_recovers);
	return s;
}

int main(void)
{
	return itest_run(oom_suite());
}
