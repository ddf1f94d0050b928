/* test_ratelim.c — the adaptive client-side rate limiter, on explicit
 * times and scripted jitter: no clock, no sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/ratelim.h"

/* Throttle until pacing starts at t: three throttles, nothing else. */
static void evident(struct ratelim *r, uint64_t t)
{
	rl_throttled(r, t, 0.5);
	rl_throttled(r, t, 0.5);
	rl_throttled(r, t, 0.5);
	assert_true(r->limited);
}

static void unlimited_until_throttled(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rl_take(&r, 1000, 0.5, 0), 0);
	rl_success(&r, 1000);
	assert_false(r.limited);
	assert_int_equal(rl_delay(&r, 1000), 0);
}

static void occasional_throttles_do_not_pace(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	/* a storm throttling a third of the calls: 3 in 10, then 4 in 12 */
	for (int i = 0; i < 7; i++)
		rl_success(&r, 1000);
	for (int i = 0; i < 3; i++)
		rl_throttled(&r, 1000, 0.5);
	assert_false(r.limited);
	rl_success(&r, 1100);
	rl_throttled(&r, 1200, 0.5);
	assert_false(r.limited);
	/* two throttles, even alone, are not evidence yet */
	rl_init(&r, 0.1);
	rl_throttled(&r, 0, 0.5);
	rl_throttled(&r, 0, 0.5);
	assert_false(r.limited);
	/* stragglers of a storm: the burst's successes still count */
	rl_init(&r, 0.1);
	for (int i = 0; i < 7; i++)
		rl_success(&r, 0);
	for (int i = 0; i < 10; i++)
		rl_throttled(&r, 1000 + 900 * i, 0.5);
	assert_false(r.limited);
	/* the window is ten seconds: older successes are forgotten */
	rl_init(&r, 0.1);
	for (int i = 0; i < 10; i++)
		rl_success(&r, 0);
	rl_throttled(&r, 10000, 0.5);
	rl_throttled(&r, 10001, 0.5);
	rl_throttled(&r, 10002, 0.5);
	assert_true(r.limited);
}

/* A fixed-seed PRNG (xorshift64*): the same dice on every run. */
static uint64_t dice_state = 20261204;
static double dice(void)
{
	dice_state ^= dice_state >> 12;
	dice_state ^= dice_state << 25;
	dice_state ^= dice_state >> 27;
	return (double)((dice_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* One failover of the fault test's storm: the group enters MASTER (reset),
 * sends its ten writes at once, EC2 throttles each call with probability
 * 0.3 by dice; the throttled answers come back first (the worst order for
 * the detector), each throttled write is retried after a backoff until it
 * goes through. 1 if the limiter started pacing. */
static int storm_run(struct ratelim *r, uint64_t *t)
{
	int left = 10, paced = 0;

	rl_reset(r);
	for (int round = 0; left > 0 && round < 50; round++) {
		int thr = 0;
		for (int i = 0; i < left; i++) {
			rl_sent(r, *t);
			if (dice() < 0.3)
				thr++;
		}
		*t += 30;
		for (int i = 0; i < thr; i++)
			rl_throttled(r, *t, 0.5);
		paced |= r->limited;
		for (int i = thr; i < left; i++)
			rl_success(r, *t);
		left = thr;
		*t += 200; /* the backoff before the retries */
	}
	*t += 1000; /* the test's checks between runs */
	return paced;
}

static void random_throttling_does_not_pace(void **state)
{
	struct ratelim r;
	uint64_t t = 0;
	int paced = 0;

	rl_init(&r, 0.1);
	for (int run = 0; run < 1000; run++)
		paced += storm_run(&r, &t);
	/* Pacing needs 8 of a run's first 10 writes throttled (P = 0.0016),
	 * or as many of the retries: 3 of these 1000 runs. Counting throttles against
	 * answers alone (the rule before) paced 602 of them: whenever 3 throttles came
	 * back first. */
	print_message("storm runs paced: %d of 1000\n", paced);
	assert_true(paced <= 5);
}

static void an_empty_bucket_paces_the_first_burst(void **state)
{
	struct ratelim r;

	/* An AZ outage: a failover's four writes all come back throttled. */
	rl_init(&r, 0.1);
	rl_reset(&r);
	for (int i = 0; i < 4; i++)
		rl_sent(&r, 1000);
	rl_throttled(&r, 1040, 0.5);
	rl_throttled(&r, 1040, 0.5);
	assert_false(r.limited);
	rl_throttled(&r, 1041, 0.5); /* 3 of 4 */
	assert_true(r.limited);
	assert_true(rl_delay(&r, 1041) > 0);
	/* one of the four went through: still an empty bucket */
	rl_init(&r, 0.1);
	for (int i = 0; i < 4; i++)
		rl_sent(&r, 1000);
	rl_success(&r, 1030);
	for (int i = 0; i < 3; i++)
		rl_throttled(&r, 1040, 0.5);
	assert_true(r.limited);
	/* two of four went through: not yet; the backoff's retries decide */
	rl_init(&r, 0.1);
	for (int i = 0; i < 4; i++)
		rl_sent(&r, 1000);
	rl_success(&r, 1030);
	rl_success(&r, 1030);
	rl_throttled(&r, 1040, 0.5);
	rl_throttled(&r, 1040, 0.5);
	assert_false(r.limited);
	/* a bucket that stays empty: every retry throttled, round after round */
	for (int round = 0; round < 10 && !r.limited; round++) {
		rl_sent(&r, 1500 + 500 * round);
		rl_sent(&r, 1500 + 500 * round);
		rl_throttled(&r, 1540 + 500 * round, 0.5);
		rl_throttled(&r, 1540 + 500 * round, 0.5);
	}
	/* 2 ok, then 2 + 2k throttled of 4 + 2k calls: 3 in 4 at k = 2 */
	assert_true(r.limited);
	assert_int_equal(r.win_thr, 6);
}

static void an_empty_bucket_paces_at_first_rate(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	rl_success(&r, 1000); /* one of four went through, three did not */
	evident(&r, 1000);    /* gap 1 / 0.1 s times (0.5 + 0.5) */
	assert_int_equal(rl_delay(&r, 1000), 10000);
	/* Before the slot: wait, nothing taken; asking again is one wait. */
	assert_int_equal(rl_take(&r, 1000, 0.5, 0), 10000);
	assert_int_equal(rl_take(&r, 1000, 0.5, 0), 10000);
	assert_int_equal(rl_take(&r, 5000, 0.5, 1), 6000);
	assert_int_equal(r.waits, 2);
	/* At the slot: one call takes it, the next slot is a gap (jittered
	 * 0.5..1.5) later; the other waits for that one. */
	assert_int_equal(rl_take(&r, 11000, 0.0, 1), 0);
	assert_int_equal(rl_take(&r, 11000, 0.5, 1), 5000);
	/* A success meanwhile triples the rate: the slot already fixed
	 * stays, the one after it is a third as far. */
	rl_success(&r, 12000);
	assert_int_equal(rl_take(&r, 16000, 0.0, 1), 0);
	assert_int_equal(rl_delay(&r, 16000), 1666);
	assert_int_equal(rl_take(&r, 17666, 0.99, 1), 0);
	assert_int_equal(rl_delay(&r, 17666), 4966);
}

static void a_burst_of_throttles_is_one_signal(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	evident(&r, 1000);
	rl_throttled(&r, 1005, 0.5);
	rl_throttled(&r, 1900, 0.5);
	assert_true(r.rate == 0.1);
	assert_int_equal(r.throttles, 5);
	/* A throttle after the burst's second cuts the rate by 0.7 */
	rl_throttled(&r, 2500, 0.5);
	assert_true(r.rate > 0.0699 && r.rate < 0.0701);
	/* and pushes the next slot at least one new gap out. */
	assert_true(rl_delay(&r, 2500) >= 14285);
}

static void after_a_cut_a_success_pulls_the_next_slot_in(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	evident(&r, 0);
	/* Before any cut a success leaves the slot fixed (the crowd would
	 * come back together): the slot at 10000 stays. */
	assert_int_equal(rl_success(&r, 2000), 0);
	assert_true(r.rate > 0.2999 && r.rate < 0.3001);
	assert_int_equal(rl_delay(&r, 2000), 8000);
	assert_int_equal(rl_take(&r, 10000, 0.5, 1), 0); /* next: 10000 + 3333 */
	/* Throttled later, near the end: 0.3 * 0.7 = 0.21/s, the next slot
	 * a gap at that rate (4761 ms, u = 0.5) after the throttle. */
	rl_throttled(&r, 12000, 0.5);
	assert_true(r.rate > 0.2099 && r.rate < 0.2101);
	assert_int_equal(rl_delay(&r, 12000), 4761);
	/* The next answer is a success: 0.63/s, and the slot moves to one
	 * gap at the new rate after the throttle (1587 ms), not 4761. */
	assert_int_equal(rl_success(&r, 12500), 1);
	assert_int_equal(rl_delay(&r, 12500), 1087);
	/* A slot taken after that is a gap at the current rate, and a
	 * further success pulls it in again (0.63 -> 1.89/s). */
	assert_int_equal(rl_take(&r, 13587, 0.5, 1), 0);
	assert_int_equal(rl_delay(&r, 13587), 1587);
	assert_int_equal(rl_success(&r, 13600), 1);
	assert_int_equal(rl_delay(&r, 13600), 516); /* 13587 + 529 */
	/* Never before now: a success after the pulled-in instant makes the
	 * slot now. */
	rl_throttled(&r, 14000, 0.5); /* 1.89 * 0.7 = 1.323/s: 755 ms */
	assert_int_equal(rl_delay(&r, 14000), 755);
	assert_int_equal(rl_success(&r, 14700), 1); /* 3.969/s: 14000 + 251 */
	assert_int_equal(rl_delay(&r, 14700), 0);
	/* A success that raises nothing earlier than the slot moves nothing:
	 * a slot taken at the current rate is as near as it gets. */
	assert_int_equal(rl_take(&r, 14700, 0.5, 1), 0); /* 3.969/s: 251 ms */
	rl_throttled(&r, 14710, 0.5);			 /* 2.778/s: 359 ms */
	assert_int_equal(rl_delay(&r, 14710), 359);
	r.grow = 1; /* a success that leaves the rate as it is */
	assert_int_equal(rl_success(&r, 14720), 0);
	assert_int_equal(rl_delay(&r, 14720), 349);
	/* A new event (reset) forgets the cut: successes do not pull in. */
	r.grow = 3;
	rl_reset(&r);
	evident(&r, 20000);
	assert_int_equal(rl_success(&r, 21000), 0);
	assert_int_equal(rl_delay(&r, 21000), 9000);
}

static void pacing_that_ends_wakes_the_waiting(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	evident(&r, 0);
	r.rate = 8.1; /* the next success reaches 20/s: pacing ends */
	assert_true(rl_delay(&r, 100) > 0);
	assert_int_equal(rl_success(&r, 100), 1); /* a call waited: ask again */
	assert_false(r.limited);
	assert_int_equal(rl_delay(&r, 100), 0);
	/* with nothing waiting for a slot, there is nobody to wake */
	evident(&r, 200);
	r.rate = 8.1;
	assert_int_equal(rl_take(&r, 20000, 0.5, 0), 0);
	r.next = 20000;
	assert_int_equal(rl_success(&r, 20000), 0);
	assert_false(r.limited);
}

static void successes_speed_up_then_end_pacing(void **state)
{
	struct ratelim r;
	int n = 0;

	rl_init(&r, 0.1);
	evident(&r, 0);
	while (r.limited && n < 100) {
		double before = r.rate;
		rl_success(&r, 100);
		n++;
		if (r.limited)
			assert_true(r.rate > before * 2.99);
	}
	/* 0.1 * 3^n reaches max_rate (20/s) after 5 successes */
	assert_int_equal(n, 5);
	assert_false(r.limited);
	assert_int_equal(rl_take(&r, 100, 0.5, 0), 0);
}

static void rate_never_below_minimum(void **state)
{
	struct ratelim r;
	uint64_t t = 0;

	rl_init(&r, 0.1);
	evident(&r, t);
	for (int i = 0; i < 100; i++) {
		t += 2000;
		rl_throttled(&r, t, 0.5);
	}
	assert_true(r.rate >= r.min_rate);
	/* at 0.02/s the gap is 50 s (jitter 0.5 => times 1.0) */
	assert_int_equal(rl_delay(&r, t), 50000);
}

static void slots_in_the_past_are_now(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	evident(&r, 0);
	/* long after the planned slot: sent at once, the next one a gap later */
	assert_int_equal(rl_take(&r, 20000, 0.5, 0), 0);
	assert_int_equal(rl_delay(&r, 20000), 10000);
}

static void quiet_ends_pacing_and_reset_too(void **state)
{
	struct ratelim r;

	rl_init(&r, 0.1);
	evident(&r, 1000);
	assert_int_equal(rl_delay(&r, 30999), 0); /* the slot at 11000 passed */
	assert_int_equal(rl_take(&r, 30999, 0.5, 0), 0);
	assert_true(r.limited);
	assert_int_equal(rl_delay(&r, 30999), 10000);
	assert_int_equal(rl_delay(&r, 31000), 0); /* 30 s without a throttle */
	assert_int_equal(rl_take(&r, 31000, 0.5, 0), 0);
	assert_false(r.limited);
	evident(&r, 40000);
	rl_reset(&r);
	assert_false(r.limited);
	assert_int_equal(rl_take(&r, 40000, 0.5, 0), 0);
	assert_int_equal(r.throttles, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unlimited_until_throttled),
	    cmocka_unit_test(occasional_throttles_do_not_pace),
	    cmocka_unit_test(random_throttling_does_not_pace),
	    cmocka_unit_test(an_empty_bucket_paces_the_first_burst),
	    cmocka_unit_test(an_empty_bucket_paces_at_first_rate),
	    cmocka_unit_test(a_burst_of_throttles_is_one_signal),
	    cmocka_unit_test(after_a_cut_a_success_pulls_the_next_slot_in),
	    cmocka_unit_test(pacing_that_ends_wakes_the_waiting),
	    cmocka_unit_test(successes_speed_up_then_end_pacing),
	    cmocka_unit_test(rate_never_below_minimum),
	    cmocka_unit_test(slots_in_the_past_are_now),
	    cmocka_unit_test(quiet_ends_pacing_and_reset_too),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
