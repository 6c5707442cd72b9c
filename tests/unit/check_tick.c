/*
 * check_tick.c - the learner's clock (boxes/base/hak_tick.h): when the
 * tiers' net frees or net allocations bring a tick forward, and when not.
 */
#include "../../boxes/base/hak_tick.h"
#include "unit.h"

#define CREDIT	((size_t)8 << 20)
#define NOW	1000

static unsigned ticks;

static void count_tick(uint64_t now)
{
	(void)now;
	ticks++;
	hak_tick_credit((int64_t)CREDIT);
}

/* Register count_tick with a period no test reaches; its first tick grants the credit. */
static void start(void)
{
	hak_tick_register(count_tick, 1u << 30);
	hak_tick(NOW);
	ck_assert_uint_eq(ticks, 1);
}

/* Free @n bytes net in HAK_TICK_STEP pieces (taken, when @n < 0), then tick. */
static void move(long n)
{
	for (long left = labs(n); left > 0; left -= HAK_TICK_STEP) {
		size_t piece = (size_t)(left < HAK_TICK_STEP ? left : HAK_TICK_STEP);

		if (n > 0)
			hak_tick_freed(piece);
		else
			hak_tick_taken(piece);
	}
	hak_tick(NOW);
}

START_TEST(frees_of_a_credit_bring_a_tick)
{
	start();
	move((long)CREDIT - HAK_TICK_STEP);
	ck_assert_uint_eq(ticks, 1);
	move(HAK_TICK_STEP);
	ck_assert_uint_eq(ticks, 2);
}
END_TEST

/* A build that ends between two timed ticks is seen before its heap falls. */
START_TEST(allocations_of_a_credit_bring_a_tick)
{
	start();
	move(-(long)CREDIT + HAK_TICK_STEP);
	ck_assert_uint_eq(ticks, 1);
	move(-(long)HAK_TICK_STEP);
	ck_assert_uint_eq(ticks, 2);
}
END_TEST

START_TEST(churn_brings_no_tick)
{
	start();
	for (int i = 0; i < 1000; i++) {
		move((long)CREDIT * 3 / 4);
		move(-(long)CREDIT * 3 / 4);
	}
	ck_assert_uint_eq(ticks, 1);
}
END_TEST

Suite *tick_suite(void)
{
	Suite *s = suite_create("tick");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, frees_of_a_credit_bring_a_tick);
	tcase_add_test(tc, allocations_of_a_credit_bring_a_tick);
	tcase_add_test(tc, churn_brings_no_tick);
	suite_add_tcase(s, tc);
	return s;
}
