/*
 * check_sizeclass.c - the size classes of every tier (boxes/base/hak_sizeclass.h):
 * the rule, the waste bound, and the constant tables against the rule. No
 * test starts HAKMEM: the tables must be right before anything is set up.
 */
#include "../../boxes/base/hak_sizeclass.h"
#include "unit.h"

#define PAGE	((size_t)1 << HAK_CLASS_PAGE_SHIFT)

/* The block sizes: 16 B steps to 128 B, then 8 per doubling; whole pages above the small ones. */
START_TEST(class_bytes_follow_the_rule)
{
	for (unsigned c = 0; c < HAK_NCLASSES; c++) {
		uint32_t b = hak_class_bytes[c];

		ck_assert_uint_eq(b, HAK_CLASS_BYTES(c));
		ck_assert_uint_eq(b % HAK_MIN_ALIGN, 0);
		if (c < 8)
			ck_assert_uint_eq(b, 16 * (c + 1));
		else	/* a step of 1/8 of the power of two below */
			ck_assert_uint_eq((b - hak_class_bytes[c - 1]) * 8,
					  1u << (31 - __builtin_clz(b - 1)));
		if (c >= HAK_SMALL_NCLASSES)
			ck_assert_uint_eq(b % PAGE, 0);
	}
	ck_assert_uint_eq(hak_class_bytes[hak_class_by_size[HAK_CLASS_BY_SIZE_MAX]],
			  HAK_CLASS_BY_SIZE_MAX);
	ck_assert_uint_eq(hak_class_bytes[HAK_SMALL_NCLASSES - 1], HAK_SMALL_MAX);
	ck_assert_uint_eq(hak_class_bytes[HAK_NCLASSES - 1], HAK_CLASS_MAX);
}
END_TEST

/* The smallest class >= HAK_SMALL_NCLASSES that holds @size (whole pages). */
static unsigned page_class(size_t size)
{
	unsigned c = HAK_SMALL_NCLASSES;

	while (hak_class_bytes[c] < size)
		c++;
	return c;
}

/*
 * Every request up to 1 MiB gets the smallest class that holds it, with
 * little waste, from the function and from both tables alike. Plain tests
 * in the loop: Check records every ck_assert that passes.
 */
START_TEST(every_size_gets_the_smallest_class_that_holds_it)
{
	unsigned prev = 0;

	ck_assert_uint_eq(hak_size_class(0), 0);
	ck_assert_uint_eq(hak_class_by_size[0], 0);
	for (size_t size = 1; size <= HAK_CLASS_MAX; size++) {
		unsigned cls = hak_size_class(size);
		size_t bytes = hak_class_bytes[cls];

		if (cls >= HAK_NCLASSES || bytes < size || cls < prev ||
		    (cls && hak_class_bytes[cls - 1] >= size))
			ck_abort_msg("size %zu: class %u of %zu B", size, cls, bytes);
		if (size <= 128 ? bytes - size >= 16 : (bytes - size) * 8 >= size)
			ck_abort_msg("size %zu: class %u of %zu B wastes too much", size, cls, bytes);
		if (size <= HAK_CLASS_BY_SIZE_MAX && hak_class_by_size[size] != cls)
			ck_abort_msg("size %zu: table class %u, not %u", size,
				     hak_class_by_size[size], cls);
		if (hak_class_by_page[(size - 1) >> HAK_CLASS_PAGE_SHIFT] != page_class(size))
			ck_abort_msg("size %zu: page table class %u, not %u", size,
				     hak_class_by_page[(size - 1) >> HAK_CLASS_PAGE_SHIFT],
				     page_class(size));
		prev = cls;
	}
}
END_TEST

Suite *sizeclass_suite(void)
{
	Suite *s = suite_create("sizeclass");
	TCase *tc = tcase_create("classes");

	tcase_add_test(tc, class_bytes_follow_the_rule);
	tcase_add_test(tc, every_size_gets_the_smallest_class_that_holds_it);
	suite_add_tcase(s, tc);
	return s;
}
