/* test_backoff.c — the retry schedule, on a fake clock and a scripted
 * random source: no sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/backoff.h"

/* Returns *ctx: lets a test probe the ceiling exactly. */
static uint64_t rand_fixed(void *ctx)
{
	return *(uint64_t *)ctx;
}

static uint64_t rand_max(void *ctx)
{
	return UINT64_MAX;
}

static uint64_t rand_zero(void *ctx)
{
	return 0;
}

static uint64_t rand_seq(void *ctx)
{
	uint64_t *x = ctx;
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 11;
}

static void ceiling_doubles_then_caps(void **state)
{
	struct backoff b;
	uint64_t draw;
	const uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};

	backoff_init(&b, 100, 1000, 1000000);
	b.rand = rand_fixed;
	b.rand_ctx = &draw;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* A draw equal to the ceiling comes back whole; one above it wraps
		 * to 0: together they pin the ceiling exactly. */
		b.attempt = i;
		draw = want[i];
		assert_int_equal(backoff_next(&b, 0), want[i]);
		assert_int_equal(b.attempt, i + 1);
		b.attempt = i;
		draw = want[i] + 1;
		assert_int_equal(backoff_next(&b, 0), 0);
	}
}

static void full_jitter_stays_in_range(void **state)
{
	struct backoff b;
	uint64_t seed = 42, now = 0, seen_small = 0, seen_large = 0;

	for (int run = 0; run < 200; run++) {
		backoff_init(&b, 100, 5000, UINT64_MAX / 2);
		b.rand = rand_seq;
		b.rand_ctx = &seed;
		for (unsigned i = 0; i < 10; i++) {
			uint64_t ceiling = 100ULL << i;
			if (ceiling > 5000)
				ceiling = 5000;
			uint64_t d = backoff_next(&b, now);
			assert_true(d <= ceiling);
			seen_small += d < ceiling / 4;
			seen_large += d > ceiling * 3 / 4;
		}
	}
	/* Jitter covers the whole range, not just the top (that would be plain
	 * exponential backoff). */
	assert_true(seen_small > 200);
	assert_true(seen_large > 200);
}

static void gives_up_after_deadline(void **state)
{
	struct backoff b;

	backoff_init(&b, 100, 5000, 1000);
	b.rand = rand_zero;
	assert_int_equal(backoff_next(&b, 0), 0);
	assert_int_equal(backoff_next(&b, 999), 0);
	assert_true(backoff_next(&b, 1000) == BACKOFF_GIVE_UP);
	assert_true(backoff_next(&b, 5000) == BACKOFF_GIVE_UP);
}

static void clamps_to_time_left(void **state)
{
	struct backoff b;

	backoff_init(&b, 4096, 65536, 10000);
	b.rand = rand_max;
	b.attempt = 4; /* ceiling 65536 */
	uint64_t d = backoff_next(&b, 9990);
	assert_true(d <= 10);
}

static void zero_base_is_sane(void **state)
{
	struct backoff b;

	backoff_init(&b, 0, 0, 100);
	assert_true(b.base_ms >= 1 && b.cap_ms >= b.base_ms);
	assert_true(backoff_next(&b, 0) <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ceiling_doubles_then_caps),
	    cmocka_unit_test(full_jitter_stays_in_range),
	    cmocka_unit_test(gives_up_after_deadline),
	    cmocka_unit_test(clamps_to_time_left),
	    cmocka_unit_test(zero_base_is_sane),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
