/* test_monitor.c — the netmon collection schedule, with the loop's clock and
 * timers and the nftables/sock_diag parts replaced (chrony style: the
 * module's .c is included and its I/O swapped by macros). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "netmon/nft.h"
#include "netmon/tcp.h"

static uint64_t clock_ms;
static uint64_t fake_now(void)
{
	return clock_ms;
}
#define ev_now fake_now

#include "tests/unit/fake_timer.h"

/* No nftables, no sock_diag: TCP accounting "starts" and counts nothing. */
static int fake_nmt_init(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	return 0;
}
static int fake_nmt_collect(void)
{
	return 0;
}
static int fake_nmt_collect_start(nmt_done_fn done, void *arg)
{
	return 0;
}
static void fake_nmt_set_filter(const struct nmt_prefix *p, size_t n)
{
}
static int fake_nmt_reload(size_t nzones, nmt_zone_fn fn, void *ctx)
{
	return 0;
}
static void fake_nmt_fini(void)
{
}
#define nmt_init	  fake_nmt_init
#define nmt_collect	  fake_nmt_collect
#define nmt_collect_start fake_nmt_collect_start
#define nmt_set_filter	  fake_nmt_set_filter
#define nmt_reload	  fake_nmt_reload
#define nmt_fini	  fake_nmt_fini

#include "netmon/monitor.c"

/* Let time pass to at, firing the timer whenever it is due. */
static void run_until(uint64_t at, uint64_t *due)
{
	for (int guard = 0; guard < 100000 && timer_fn && clock_ms + timer_delay <= at;
	     guard++) {
		clock_ms += timer_delay;
		*due = clock_ms;
		timer_fn(NULL);
	}
	clock_ms = at;
}

static void collections_stay_on_the_interval_grid(void **state)
{
	struct nm_cfg nm = {.enabled = 1, .interval_ms = 10000};
	uint64_t due = 0;

	clock_ms = 1000000;
	assert_int_equal(nm_init(&nm), 0);
	assert_int_equal(timer_delay, 10000);
	/* Woken 3 s late, the next collection is still at the next 10 s mark. */
	clock_ms += 13000;
	timer_fn(NULL);
	assert_int_equal(collections, 1);
	assert_int_equal(timer_delay, 7000);
	/* A day of collections, each one woken 2 s late: 8640 of them. */
	for (int i = 0; i < 8639; i++) {
		clock_ms += timer_delay + 2000;
		timer_fn(NULL);
	}
	assert_int_equal(collections, 8640);
	assert_int_equal(clock_ms, 1000000 + 86400000 + 2000);
	run_until(clock_ms + 60000, &due);
	assert_int_equal(collections, 8646);
	assert_int_equal((due - 1000000) % 10000, 0);
	nm_fini();
}

static void a_stall_skips_ticks_instead_of_bursting(void **state)
{
	struct nm_cfg nm = {.enabled = 1, .interval_ms = 10000};

	clock_ms = 0;
	collections = 0;
	assert_int_equal(nm_init(&nm), 0);
	/* Stopped for 35 s: one collection clock_ms, the next at the 40 s mark. */
	clock_ms = 45000;
	timer_fn(NULL);
	assert_int_equal(collections, 1);
	assert_int_equal(timer_delay, 5000);
	/* Exactly on a grid point: the next is a whole interval away. */
	clock_ms = 50000;
	timer_fn(NULL);
	assert_int_equal(timer_delay, 10000);
	nm_fini();
}

static void a_new_interval_starts_a_new_grid(void **state)
{
	struct nm_cfg nm = {.enabled = 1, .interval_ms = 10000};

	clock_ms = 0;
	collections = 0;
	assert_int_equal(nm_init(&nm), 0);
	clock_ms = 4000;
	nm.interval_ms = 3000;
	nm_reload(&nm);
	assert_int_equal(timer_delay, 3000);
	clock_ms = 7500;
	timer_fn(NULL);
	assert_int_equal(timer_delay, 2500);
	nm_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(collections_stay_on_the_interval_grid),
	    cmocka_unit_test(a_stall_skips_ticks_instead_of_bursting),
	    cmocka_unit_test(a_new_interval_starts_a_new_grid),
	};
	log_init("test_monitor", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
