/*
 * check_api.c - the API edge cases of DESIGN.md promise 1 (ABI), through
 * the real malloc names: alignment, malloc(0), failure with ENOMEM,
 * overflow, calloc zeroing, realloc across the tiers, the aligned
 * allocators and malloc_usable_size.
 */
#include <limits.h>
#include <time.h>

#include "itest.h"

#define MiB (1024 * 1024ul)

/* Sizes on both sides of every tier boundary, and some in between. */
static const size_t tier_sizes[] = {
	1, 8, 15, 16, 17, 100, 511, 512, 1000, 1023, 1024, 1025, 1040, 2048,
	4096, 8191, 16384, 32768, 53247, 53248, 53249, 57344, 65536, 100000,
	MiB - 1, MiB, MiB + 1, 3 * MiB + 5,
};

#define NSIZES (sizeof(tier_sizes) / sizeof(tier_sizes[0]))

static bool aligned(const void *p, size_t a)
{
	return (uintptr_t)p % a == 0;
}

/* Allocate @n, check alignment, usable size and that both ends are writable. */
static void *check_block(size_t n)
{
	unsigned char *p = malloc(n);

	itest_check(p != NULL, "malloc(%zu) failed", n);
	itest_check(aligned(p, 16), "malloc(%zu) = %p not 16-byte aligned", n, (void *)p);
	itest_check(malloc_usable_size(p) >= n, "usable %zu < %zu",
		    malloc_usable_size(p), n);
	p[0] = 0x5a;
	p[n ? n - 1 : 0] = 0xa5;
	return p;
}

/* ------------------------------------------------------------ alignment */

START_TEST(align_every_size)
{
	enum { KEEP = 61 };
	void *live[KEEP] = { 0 };

	/* Keep a window of blocks alive so that not only one block is reused. */
	for (size_t n = 1; n <= 70000; n++) {
		size_t slot = n % KEEP;

		free(live[slot]);
		live[slot] = check_block(n);
	}
	for (size_t i = 0; i < KEEP; i++)
		free(live[i]);
}
END_TEST

START_TEST(align_powers_of_two)
{
	for (unsigned k = 0; k <= 26; k++) {
		size_t n = (size_t)1 << k;
		void *a = check_block(n), *b = check_block(n - 1 ? n - 1 : 1);
		unsigned char *c = check_block(n + 1);

		memset(c, 0x33, n + 1);	/* every byte of the largest is usable */
		itest_check(c[n] == 0x33, "byte %zu", n);
		free(a);
		free(b);
		free(c);
	}
}
END_TEST

START_TEST(align_kept_live)
{
	/* Many blocks alive at once, of every tier: all distinct and aligned. */
	enum { N = 3000 };
	static unsigned char *p[N];

	for (size_t i = 0; i < N; i++) {
		size_t n = i % 7 == 0 ? 60000 + i * 13 : i % 3 == 0 ? 1100 + i * 7 : 1 + i % 1024;

		p[i] = check_block(n);
		itest_fill(p[i], n, (uintptr_t)p[i] + n);
	}
	for (size_t i = 0; i < N; i++) {
		size_t n = i % 7 == 0 ? 60000 + i * 13 : i % 3 == 0 ? 1100 + i * 7 : 1 + i % 1024;

		itest_check(itest_verify(p[i], n, (uintptr_t)p[i] + n) == SIZE_MAX,
			    "block %zu (%zu B) overwritten", i, n);
		free(p[i]);
	}
}
END_TEST

/* ------------------------------------------------------------- malloc(0) */

START_TEST(malloc_zero)
{
	enum { N = 200 };
	void *p[N];

	for (int i = 0; i < N; i++) {
		p[i] = malloc(0);
		itest_check(p[i] && aligned(p[i], 16), "malloc(0) = %p", p[i]);
		for (int j = 0; j < i; j++)
			itest_check(p[i] != p[j], "malloc(0) returned %p twice", p[i]);
	}
	for (int i = 0; i < N; i += 2)
		free(p[i]);
	for (int i = 1; i < N; i += 2)
		free(p[i]);
	/* realloc(NULL, 0) is malloc(0) */
	p[0] = realloc(NULL, 0);
	ck_assert_ptr_nonnull(p[0]);
	free(p[0]);
}
END_TEST

/* --------------------------------------------------------- ENOMEM cases */

static void expect_enomem(void *p, const char *what)
{
	int e = errno;

	itest_check(p == NULL, "%s returned %p, expected NULL", what, p);
	itest_check(e == ENOMEM, "%s: errno %d, expected ENOMEM", what, e);
}

START_TEST(malloc_huge)
{
	static const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4095, SIZE_MAX - 65536,
		SIZE_MAX - 2 * MiB, SIZE_MAX / 2 + 1, (size_t)PTRDIFF_MAX,
		(size_t)PTRDIFF_MAX + 1, (size_t)1 << 62, (size_t)1 << 52,
	};
	char what[64];

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		snprintf(what, sizeof(what), "malloc(%#zx)", huge[i]);
		errno = 0;
		expect_enomem(malloc(huge[i]), what);
		snprintf(what, sizeof(what), "calloc(1, %#zx)", huge[i]);
		errno = 0;
		expect_enomem(calloc(1, huge[i]), what);
	}
	/* and the allocator still works */
	free(check_block(100));
	free(check_block(100000));
}
END_TEST

START_TEST(calloc_overflow)
{
	static const size_t pairs[][2] = {
		{ SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX, SIZE_MAX },
		{ (size_t)1 << 33, (size_t)1 << 33 }, { 2, SIZE_MAX / 2 + 1 },
		{ SIZE_MAX / 16 + 1, 16 }, { 65537, (size_t)1 << 48 },
	};
	char what[80];

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		snprintf(what, sizeof(what), "calloc(%#zx, %#zx)", pairs[i][0], pairs[i][1]);
		errno = 0;
		expect_enomem(calloc(pairs[i][0], pairs[i][1]), what);
	}
}
END_TEST

START_TEST(reallocarray_overflow)
{
	unsigned char *p = malloc(300), *q;

	itest_fill(p, 300, 7);
	errno = 0;
	expect_enomem(reallocarray(NULL, itest_opaque(SIZE_MAX / 2), 3), "reallocarray(NULL, ..)");
	errno = 0;
	expect_enomem(reallocarray(itest_launder(p), itest_opaque((size_t)1 << 40), (size_t)1 << 40),
		      "reallocarray(p, 1 << 40, 1 << 40)");
	errno = 0;
	expect_enomem(reallocarray(itest_launder(p), 3, itest_opaque(SIZE_MAX / 2)),
		      "reallocarray(p, 3, SIZE_MAX / 2)");
	/* p is untouched and still p's */
	ck_assert_uint_eq(itest_verify(p, 300, 7), SIZE_MAX);
	ck_assert_uint_ge(malloc_usable_size(p), 300);
	/* a valid reallocarray still works and keeps the contents */
	q = reallocarray(p, 100, 50);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(itest_verify(q, 300, 7), SIZE_MAX);
	ck_assert_uint_ge(malloc_usable_size(q), 5000);
	free(q);
}
END_TEST

/* memalign's alignment past SIZE_MAX / 2 + 1 cannot be rounded up: EINVAL, as glibc. */
START_TEST(memalign_einval)
{
	static const size_t bad[] = { SIZE_MAX / 2 + 2, SIZE_MAX - 4096, SIZE_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		itest_check(memalign(itest_opaque(bad[i]), 16) == NULL && errno == EINVAL,
			    "memalign(%#zx, 16): errno %d", bad[i], errno);
	}
}
END_TEST

/* glibc: realloc(p, 0) frees p and returns NULL, errno untouched (check_wrong: freed). */
START_TEST(realloc_zero_frees)
{
	for (size_t s = 0; s < NSIZES; s++) {
		void *p = malloc(tier_sizes[s]);

		ck_assert_ptr_nonnull(p);
		errno = 4321;
		itest_check(realloc(p, 0) == NULL, "realloc(%zu B block, 0) did not return NULL",
			    tier_sizes[s]);
		itest_check(errno == 4321, "realloc(p, 0): errno %d", errno);
	}
}
END_TEST

/*
 * A malloc or free that succeeds leaves errno alone (glibc's does; programs
 * read errno after a call that may allocate), also when it runs the
 * learner's tick, whose reads of absent cgroup files fail. 300 ms of churn
 * over every tier takes several ticks.
 */
START_TEST(success_keeps_errno)
{
	enum { N = 2000 };
	static void *p[N];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (size_t i = 0; i < N; i++) {
			size_t size = tier_sizes[i % (NSIZES - 4)];	/* up to 100000 B */

			errno = EDOM;
			p[i] = malloc(size);
			ck_assert_ptr_nonnull(p[i]);
			itest_check(errno == EDOM, "malloc(%zu): errno %d", size, errno);
		}
		for (size_t i = 0; i < N; i++) {
			errno = EDOM;
			free(p[i]);
			itest_check(errno == EDOM, "free: errno %d", errno);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
}
END_TEST

/* --------------------------------------------------------------- calloc */

static void check_zero(const unsigned char *p, size_t n, const char *what)
{
	size_t i = itest_find_not(p, n, 0);

	itest_check(i == SIZE_MAX, "%s: byte %zu of %zu is %#x", what, i, n, p[i]);
}

START_TEST(calloc_zeroes_recycled)
{
	enum { N = 40 };
	unsigned char *p[N];
	char what[64];

	for (size_t s = 0; s < NSIZES; s++) {
		size_t n = tier_sizes[s];
		int nb = n <= ITEST_POOL_MAX ? N : 4;

		/* dirty N blocks (whole usable size), free them, calloc again */
		for (int i = 0; i < nb; i++) {
			p[i] = malloc(n);
			ck_assert_ptr_nonnull(p[i]);
			memset(p[i], 0xab, malloc_usable_size(p[i]));
		}
		for (int i = 0; i < nb; i++)
			free(p[i]);
		for (int i = 0; i < nb; i++) {
			p[i] = calloc(1, n);
			ck_assert_ptr_nonnull(p[i]);
			snprintf(what, sizeof(what), "calloc(1, %zu) #%d", n, i);
			check_zero(p[i], n, what);
			memset(p[i], 0xcd, n);
		}
		for (int i = 0; i < nb; i++)
			free(p[i]);
		/* the same through nmemb * size */
		for (int i = 0; i < 4; i++) {
			p[i] = calloc(n, 3);
			ck_assert_ptr_nonnull(p[i]);
			snprintf(what, sizeof(what), "calloc(%zu, 3)", n);
			check_zero(p[i], 3 * n, what);
			memset(p[i], 0xef, 3 * n);
		}
		for (int i = 0; i < 4; i++)
			free(p[i]);
	}
	/* calloc(0, x) and calloc(x, 0) are unique, freeable pointers */
	p[0] = calloc(0, 16);
	p[1] = calloc(16, 0);
	ck_assert_ptr_nonnull(p[0]);
	ck_assert_ptr_nonnull(p[1]);
	ck_assert_ptr_ne(p[0], p[1]);
	free(p[0]);
	free(p[1]);
}
END_TEST

/* ------------------------------------------------------------- realloc */

/* Grow or shrink a block of @from bytes to @to and back; contents kept. */
static void realloc_pair(size_t from, size_t to)
{
	uintptr_t seed = from * 31 + to;
	size_t keep = from < to ? from : to;
	unsigned char *p = malloc(from), *q;

	ck_assert_ptr_nonnull(p);
	itest_fill(p, from, seed);
	q = realloc(p, to);
	itest_check(q != NULL, "realloc(%zu -> %zu) failed", from, to);
	itest_check(aligned(q, 16), "realloc(%zu -> %zu) = %p", from, to, (void *)q);
	itest_check(malloc_usable_size(q) >= to, "realloc(%zu -> %zu): usable %zu",
		    from, to, malloc_usable_size(q));
	itest_check(itest_verify(q, keep, seed) == SIZE_MAX,
		    "realloc(%zu -> %zu) lost byte %zu", from, to, itest_verify(q, keep, seed));
	memset(q + keep, 0x77, to - keep);	/* the new part is writable */
	p = realloc(q, from);
	ck_assert_ptr_nonnull(p);
	itest_check(itest_verify(p, keep, seed) == SIZE_MAX,
		    "realloc(%zu -> %zu -> %zu) lost byte %zu", from, to, from,
		    itest_verify(p, keep, seed));
	ck_assert_uint_ge(malloc_usable_size(p), from);
	free(p);
}

START_TEST(realloc_every_pair)
{
	for (size_t i = 0; i < NSIZES; i++)
		for (size_t j = 0; j < NSIZES; j++)
			realloc_pair(tier_sizes[i], tier_sizes[j]);
}
END_TEST

/* One block walked up through every size and down again, refilled each step. */
START_TEST(realloc_walk)
{
	size_t cur = tier_sizes[0];
	uintptr_t seed = 1;
	unsigned char *p = malloc(cur);

	itest_fill(p, cur, seed);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 1; k < 2 * NSIZES - 1; k++) {
			size_t i = k < NSIZES ? k : 2 * NSIZES - 2 - k;
			size_t n = tier_sizes[i], keep = cur < n ? cur : n;

			p = realloc(p, n);
			ck_assert_ptr_nonnull(p);
			itest_check(itest_verify(p, keep, seed) == SIZE_MAX,
				    "walk %zu -> %zu lost byte %zu", cur, n,
				    itest_verify(p, keep, seed));
			itest_fill(p, n, ++seed);
			cur = n;
		}
	}
	free(p);
}
END_TEST

/* Growing by small steps through the boundaries (in-place paths). */
START_TEST(realloc_small_steps)
{
	static const size_t around[] = { 1024, 53248, 1 << 20 };
	unsigned char *p = NULL;
	size_t cur = 0;

	for (size_t b = 0; b < 3; b++) {
		for (size_t n = around[b] - 40; n <= around[b] + 40; n += 3) {
			p = realloc(p, n);
			ck_assert_ptr_nonnull(p);
			for (size_t i = 0; i < cur && i < n; i++)
				itest_check(p[i] == (unsigned char)(i * 7 + 3),
					    "step %zu -> %zu lost byte %zu", cur, n, i);
			for (size_t i = 0; i < n; i++)
				p[i] = (unsigned char)(i * 7 + 3);
			cur = n;
		}
	}
	/* and down again */
	for (size_t n = cur; n > 8; n = n / 2 + 1) {
		p = realloc(p, n);
		ck_assert_ptr_nonnull(p);
		for (size_t i = 0; i < n; i++)
			itest_check(p[i] == (unsigned char)(i * 7 + 3),
				    "shrink to %zu lost byte %zu", n, i);
	}
	free(p);
}
END_TEST

START_TEST(realloc_huge_keeps_block)
{
	static const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX - 2 * MiB, (size_t)PTRDIFF_MAX + 1,
		(size_t)1 << 62,
	};
	char what[80];

	for (size_t s = 0; s < NSIZES; s++) {
		size_t n = tier_sizes[s];
		unsigned char *p = malloc(n);

		ck_assert_ptr_nonnull(p);
		itest_fill(p, n, n);
		for (size_t h = 0; h < sizeof(huge) / sizeof(huge[0]); h++) {
			snprintf(what, sizeof(what), "realloc(%zu B block, %#zx)", n, huge[h]);
			errno = 0;
			expect_enomem(realloc(p, huge[h]), what);
			itest_check(itest_verify(p, n, n) == SIZE_MAX, "%s changed the block", what);
			ck_assert_uint_ge(malloc_usable_size(p), n);
		}
		p = realloc(p, n + 100);	/* still a valid block */
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(itest_verify(p, n, n), SIZE_MAX);
		free(p);
	}
}
END_TEST

/* ------------------------------------------------------ aligned allocators */

static void check_aligned(void *p, size_t align, size_t n, const char *fn)
{
	itest_check(p != NULL, "%s(%zu, %zu) failed", fn, align, n);
	itest_check(aligned(p, align), "%s(%zu, %zu) = %p", fn, align, n, p);
	itest_check(aligned(p, 16), "%s(%zu, %zu) = %p", fn, align, n, p);
	itest_check(malloc_usable_size(p) >= n, "%s(%zu, %zu): usable %zu", fn, align, n,
		    malloc_usable_size(p));
	itest_fill(p, n, align ^ n);
}

START_TEST(aligned_all)
{
	enum { N = 6 };

	for (size_t align = 16; align <= 4 * MiB; align *= 2) {
		const size_t sizes[N] = { 1, align - 1, align, align + 1,
					  align <= 65536 ? 3 * align : align / 2 + 8, 100000 };
		void *p[3][N];

		for (int i = 0; i < N; i++) {
			size_t n = sizes[i];

			ck_assert_int_eq(posix_memalign(&p[0][i], align, n), 0);
			check_aligned(p[0][i], align, n, "posix_memalign");
			p[1][i] = aligned_alloc(align, n);
			check_aligned(p[1][i], align, n, "aligned_alloc");
			p[2][i] = memalign(align, n);
			check_aligned(p[2][i], align, n, "memalign");
		}
		/* all alive together: nothing overwrote anything */
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < N; i++) {
				itest_check(itest_verify(p[k][i], sizes[i], align ^ sizes[i]) == SIZE_MAX,
					    "aligned block (%zu, %zu) overwritten", align, sizes[i]);
				free(p[k][i]);
			}
	}
}
END_TEST

/*
 * Every alignment from 16 B to 64 MiB with sizes 0, 1, align - 1, align and
 * align + 1: the block is aligned, all of its usable size is writable,
 * malloc_usable_size and free work (size 0 with 64 KiB alignment or more
 * used to abort in both: issue 16, bug 1).
 */
START_TEST(aligned_every_alignment_and_zero)
{
	for (size_t align = 16; align <= 64 * MiB; align *= 2) {
		const size_t sizes[] = { 0, 1, align - 1, align, align + 1 };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			void *p[3] = { NULL, NULL, NULL };

			itest_check(posix_memalign(&p[0], align, n) == 0,
				    "posix_memalign(%zu, %zu) failed", align, n);
			p[1] = aligned_alloc(align, n);
			p[2] = memalign(align, n);
			for (int k = 0; k < 3; k++) {
				unsigned char *c = p[k];
				size_t u;

				itest_check(c && aligned(c, align), "(%zu, %zu) #%d = %p", align, n, k, p[k]);
				u = malloc_usable_size(c);
				itest_check(u >= n, "(%zu, %zu) #%d: usable %zu", align, n, k, u);
				if (u) {
					c[0] = 1;
					c[u - 1] = 2;
				}
			}
			for (int k = 0; k < 3; k++)
				free(p[k]);
		}
	}
}
END_TEST

START_TEST(aligned_small_alignments)
{
	/* alignments below 16 still get 16 */
	for (size_t align = 1; align <= 8; align *= 2) {
		void *p = memalign(align, 24), *q = aligned_alloc(align, 40), *r = NULL;

		check_aligned(p, 16, 24, "memalign");
		check_aligned(q, 16, 40, "aligned_alloc");
		if (align == 8) {
			ck_assert_int_eq(posix_memalign(&r, align, 33), 0);
			check_aligned(r, 16, 33, "posix_memalign");
		}
		free(p);
		free(q);
		free(r);
	}
	/* memalign rounds a bad alignment up to a power of two, like glibc */
	for (size_t align = 24; align < 5000; align = align * 3 + 1) {
		size_t pow2 = 1;
		void *p = memalign(align, 100);

		while (pow2 < align)
			pow2 *= 2;
		check_aligned(p, pow2, 100, "memalign");
		free(p);
	}
}
END_TEST

START_TEST(posix_memalign_einval)
{
	static const size_t bad[] = {
		0, 1, 2, 3, 4, 12, 24, 48, 96, 100, 4097, 3 * 4096, SIZE_MAX, SIZE_MAX / 2,
	};
	void *sentinel = (void *)0x1234, *p;

	/* glibc returns EINVAL and leaves errno alone */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = sentinel;
		errno = 1234;
		itest_check(posix_memalign(&p, bad[i], 64) == EINVAL,
			    "posix_memalign(%zu) did not return EINVAL", bad[i]);
		itest_check(p == sentinel, "posix_memalign(%zu) changed *memptr", bad[i]);
		itest_check(errno == 1234, "posix_memalign(%zu): errno %d", bad[i], errno);
	}
	/* a good alignment with an impossible size: ENOMEM, *memptr kept, and
	 * errno is ENOMEM too, as glibc sets it (issue 16, bug 4) */
	p = sentinel;
	errno = 0;
	ck_assert_int_eq(posix_memalign(&p, 64, SIZE_MAX), ENOMEM);
	ck_assert_ptr_eq(p, sentinel);
	ck_assert_int_eq(errno, ENOMEM);
	p = sentinel;
	errno = 0;
	ck_assert_int_eq(posix_memalign(&p, (size_t)1 << 63, 16), ENOMEM);
	ck_assert_ptr_eq(p, sentinel);
	ck_assert_int_eq(errno, ENOMEM);
	p = sentinel;
	errno = 0;
	ck_assert_int_eq(posix_memalign(&p, 2 * MiB, itest_opaque(SIZE_MAX - MiB)), ENOMEM);
	ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(aligned_alloc_einval)
{
	static const size_t bad[] = { 0, 3, 24, 48, 100, 4097 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		itest_check(aligned_alloc(bad[i], 64) == NULL,
			    "aligned_alloc(%zu, 64) did not fail", bad[i]);
		itest_check(errno == EINVAL, "aligned_alloc(%zu): errno %d", bad[i], errno);
	}
}
END_TEST

/* Alignment round-ups never overflow: huge sizes fail cleanly. */
START_TEST(aligned_huge)
{
	static const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 4095, SIZE_MAX - 4 * MiB,
		SIZE_MAX / 2 + 1, (size_t)1 << 62,
	};
	static const size_t aligns[] = { 32, 4096, 65536, 2 * MiB, 4 * MiB };
	char what[80];
	void *p;

	for (size_t h = 0; h < sizeof(huge) / sizeof(huge[0]); h++)
		for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
			snprintf(what, sizeof(what), "memalign(%zu, %#zx)", aligns[a], huge[h]);
			errno = 0;
			expect_enomem(memalign(aligns[a], huge[h]), what);
			snprintf(what, sizeof(what), "aligned_alloc(%zu, %#zx)", aligns[a], huge[h]);
			errno = 0;
			expect_enomem(aligned_alloc(aligns[a], huge[h]), what);
			p = NULL;
			errno = 0;
			itest_check(posix_memalign(&p, aligns[a], huge[h]) == ENOMEM && errno == ENOMEM,
				    "posix_memalign(%zu, %#zx): errno %d", aligns[a], huge[h], errno);
		}
	/* a huge alignment with a small size */
	errno = 0;
	expect_enomem(memalign(itest_opaque((size_t)1 << 62), 16), "memalign(1 << 62, 16)");
	errno = 0;
	expect_enomem(valloc(itest_opaque(SIZE_MAX)), "valloc(SIZE_MAX)");
	errno = 0;
	expect_enomem(valloc(itest_opaque(SIZE_MAX - 4096)), "valloc(SIZE_MAX - 4096)");
	errno = 0;
	expect_enomem(pvalloc(itest_opaque(SIZE_MAX)), "pvalloc(SIZE_MAX)");
	errno = 0;
	expect_enomem(pvalloc(itest_opaque(SIZE_MAX - 4095)), "pvalloc(SIZE_MAX - 4095)");
}
END_TEST

START_TEST(valloc_pvalloc)
{
	static const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 53249, 100000, 3 * MiB };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], rounded = n ? (n + page - 1) / page * page : page;
		unsigned char *v = valloc(n), *pv = pvalloc(n);

		itest_check(v != NULL && aligned(v, page), "valloc(%zu) = %p", n, (void *)v);
		ck_assert_uint_ge(malloc_usable_size(v), n);
		memset(v, 0x11, n);
		itest_check(pv != NULL && aligned(pv, page), "pvalloc(%zu) = %p", n, (void *)pv);
		itest_check(malloc_usable_size(pv) >= rounded, "pvalloc(%zu): usable %zu < %zu",
			    n, malloc_usable_size(pv), rounded);
		memset(pv, 0x22, rounded);	/* the whole rounded size is ours */
		itest_check(itest_find_not(v, n, 0x11) == SIZE_MAX, "valloc(%zu) block changed", n);
		free(v);
		free(pv);
	}
}
END_TEST

/* ---------------------------------------------------- malloc_usable_size */

START_TEST(usable_size_all_writable)
{
	unsigned char *p[3];
	size_t u[3];

	ck_assert_uint_eq(malloc_usable_size(NULL), 0);
	for (size_t n = 0; n <= 140000; n = n < 2100 ? n + 1 : n * 9 / 8) {
		for (int i = 0; i < 3; i++) {
			p[i] = malloc(n);
			itest_check(p[i] != NULL, "malloc(%zu) failed", n);
			u[i] = malloc_usable_size(p[i]);
			itest_check(u[i] >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, u[i]);
			itest_fill(p[i], u[i], (uintptr_t)p[i]);
		}
		/* writing all usable bytes of the middle one harmed no neighbour */
		memset(p[1], 0xee, u[1]);
		itest_check(itest_verify(p[0], u[0], (uintptr_t)p[0]) == SIZE_MAX &&
			    itest_verify(p[2], u[2], (uintptr_t)p[2]) == SIZE_MAX,
			    "malloc(%zu): writing all usable bytes of one block hit another", n);
		for (int i = 0; i < 3; i++)
			free(p[i]);
	}
}
END_TEST

static void check_waste(size_t n)
{
	void *p = malloc(n);
	size_t u = malloc_usable_size(p), lim = n <= 128 ? n + 15 : n + n / 8;

	if (lim < 16)
		lim = 16;
	itest_check(u <= lim, "malloc(%zu): usable %zu wastes too much", n, u);
	free(p);
}

START_TEST(usable_size_bounded_waste)
{
	unsigned x = 1;

	/*
	 * DESIGN.md: waste under 16 B up to 128 B and under 1/8 above, in
	 * the tiny and pool tiers. The smallest request of each class wastes
	 * the most: walk from class to class, plus a sample of other sizes.
	 */
	for (size_t n = 1; n <= ITEST_POOL_MAX; ) {
		void *p = malloc(n);
		size_t u = malloc_usable_size(p);

		free(p);
		check_waste(n);
		itest_check(u >= n, "malloc(%zu): usable %zu", n, u);
		n = u + 1;
	}
	for (int i = 0; i < 3000; i++) {
		x = x * 1103515245 + 12345;
		check_waste(1 + (x >> 8) % ITEST_POOL_MAX);
	}
}
END_TEST

/* ------------------------------------------------------- glibc's extras */

/*
 * The old mallinfo() (int fields, deprecated but still called) must be
 * HAKMEM's: glibc's own would report its idle arena, nothing in use.
 * Its fields are mallinfo2's, clamped to INT_MAX.
 */
static size_t as_int(size_t v)
{
	return v < INT_MAX ? v : INT_MAX;
}

START_TEST(mallinfo_is_hakmems)
{
	void *keep = malloc(100000);
	struct mallinfo2 m2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	struct mallinfo m = mallinfo();
#pragma GCC diagnostic pop

	ck_assert_ptr_nonnull(keep);
	itest_check(m2.uordblks >= 100000, "mallinfo2: %zu B in use", m2.uordblks);
	itest_check(m.uordblks > 0 && (size_t)m.uordblks == as_int(m2.uordblks),
		    "mallinfo: %d B in use, mallinfo2: %zu", m.uordblks, m2.uordblks);
	itest_check((size_t)m.arena == as_int(m2.arena),
		    "mallinfo: arena %d, mallinfo2: %zu", m.arena, m2.arena);
	free(keep);
}
END_TEST

/*
 * glibc's meanings, as LTP's mallinfo tests read them: blocks of their own
 * mapping (HAKMEM's large blocks) count in hblks and hblkhd while in use,
 * not in uordblks.
 */
START_TEST(mallinfo2_counts_large_blocks_as_mapped)
{
	struct mallinfo2 before = mallinfo2(), in_use, after;
	char *small = malloc(20480), *big = malloc(8 << 20);

	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(big);
	big[0] = big[(8 << 20) - 1] = 1;
	in_use = mallinfo2();
	itest_check(in_use.hblks == before.hblks + 1, "hblks %zu -> %zu", before.hblks, in_use.hblks);
	itest_check(in_use.hblkhd >= before.hblkhd + (8 << 20), "hblkhd %zu -> %zu",
		    before.hblkhd, in_use.hblkhd);
	itest_check(in_use.uordblks < before.uordblks + (8 << 20), "uordblks %zu -> %zu",
		    before.uordblks, in_use.uordblks);
	free(big);
	after = mallinfo2();
	itest_check(after.hblks == before.hblks && after.hblkhd == before.hblkhd,
		    "after free: hblks %zu, hblkhd %zu", after.hblks, after.hblkhd);
	free(small);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc;

	tc = itest_tcase(s, "alignment", 60);
	tcase_add_test(tc, align_every_size);
	tcase_add_test(tc, align_powers_of_two);
	tcase_add_test(tc, align_kept_live);
	tcase_add_test(tc, malloc_zero);

	tc = itest_tcase(s, "failure", 30);
	tcase_add_test(tc, malloc_huge);
	tcase_add_test(tc, calloc_overflow);
	tcase_add_test(tc, reallocarray_overflow);
	tcase_add_test(tc, realloc_huge_keeps_block);
	tcase_add_test(tc, aligned_huge);
	tcase_add_test(tc, memalign_einval);
	tcase_add_test(tc, realloc_zero_frees);
	tcase_add_test(tc, success_keeps_errno);

	tc = itest_tcase(s, "contents", 60);
	tcase_add_test(tc, calloc_zeroes_recycled);
	tcase_add_test(tc, realloc_every_pair);
	tcase_add_test(tc, realloc_walk);
	tcase_add_test(tc, realloc_small_steps);

	tc = itest_tcase(s, "aligned", 60);
	tcase_add_test(tc, aligned_all);
	tcase_add_test(tc, aligned_every_alignment_and_zero);
	tcase_add_test(tc, aligned_small_alignments);
	tcase_add_test(tc, posix_memalign_einval);
	tcase_add_test(tc, aligned_alloc_einval);
	tcase_add_test(tc, valloc_pvalloc);

	tc = itest_tcase(s, "usable_size", 60);
	tcase_add_test(tc, usable_size_all_writable);
	tcase_add_test(tc, usable_size_bounded_waste);

	tc = itest_tcase(s, "extras", 30);
	tcase_add_test(tc, mallinfo_is_hakmems);
	tcase_add_test(tc, mallinfo2_counts_large_blocks_as_mapped);
	return s;
}

int main(void)
{
	return itest_run(api_suite());
}
