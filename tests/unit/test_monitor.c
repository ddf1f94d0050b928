/* test_monitor.c — the netmon collection schedule, with the loop's clock and
 * timers and the nftables/sock_diag parts replaced (chrony style: the
 * module's .c is included and its I/O swapped by macros). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* nftables: a table that "applies", and overlay counters the test sets. */
static struct nm_ov_counters fake_ov[4]; /* 1 group x (2 zones + other) */
static size_t fake_nov;
static int fake_nmf_apply(const struct nmz *z)
{
	return 0;
}
static int fake_nmf_read(const struct nmz *z, struct nm_zone_counters *out)
{
	return 0;
}
static void fake_nmf_set_overlays(const struct nm_overlay *ov, size_t n)
{
	fake_nov = n;
}
static const struct nm_ov_counters *fake_nmf_overlays(size_t *n)
{
	*n = fake_nov;
	return fake_ov;
}
static void fake_nmf_remove(void)
{
}
#define nmf_apply	 fake_nmf_apply
#define nmf_read	 fake_nmf_read
#define nmf_set_overlays fake_nmf_set_overlays
#define nmf_overlays	 fake_nmf_overlays
#define nmf_remove	 fake_nmf_remove

static void fake_nmf_zone_rules(int on)
{
}
#define nmf_zone_rules fake_nmf_zone_rules

/* eBPF: a kernel where it does not load ([netmon] bpf = auto falls back to
 * the fake table above); nothing is loaded or attached by a unit test. */
static int fake_nmb_init(const struct nmz *z, char *why, size_t whylen)
{
	snprintf(why, whylen, "not in unit tests");
	return -1;
}
static int fake_nmb_apply(const struct nmz *z)
{
	return -1;
}
static int fake_nmb_read(const struct nmz *z, struct nm_zone_counters *out)
{
	return -1;
}
static void fake_nmb_fini(void)
{
}
#define nmb_init  fake_nmb_init
#define nmb_apply fake_nmb_apply
#define nmb_read  fake_nmb_read
#define nmb_fini  fake_nmb_fini

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

/* A group's overlay traffic on a node that is not MASTER: one episode per
 * stretch of traffic, a one-interval gap does not split it, two quiet
 * intervals or becoming MASTER end it; a catch-up collection right after a
 * late one says nothing. */
static void misrouted_traffic_episodes(void **state)
{
	struct cidr dst, za, zb;
	struct nm_zone_cfg zc[2] = {{.name = "az1", .cidrs = &za, .ncidrs = 1},
				    {.name = "az2", .cidrs = &zb, .ncidrs = 1}};
	struct nm_cfg nm = {.enabled = 1,
			    .interval_ms = 1000,
			    .zones = zc,
			    .nzones = 2,
			    .watch_window_ms = 30000,
			    .misroute_packets = 10};
	struct nm_overlay ov = {"g", &dst, 1};
	struct nm_report rep;

	assert_int_equal(cidr_parse("198.19.255.10/32", &dst), 0);
	assert_int_equal(cidr_parse("198.18.100.0/24", &za), 0);
	assert_int_equal(cidr_parse("198.18.101.0/24", &zb), 0);
	memset(fake_ov, 0, sizeof(fake_ov));
	clock_ms = 0;
	nm_set_overlays(&ov, 1);
	assert_int_equal(nm_init(&nm), 0);
	nm_overlay_state("g", "BACKUP", 0);
#define TICK(pk_az1)                                                                     \
	do {                                                                             \
		fake_ov[0].packets += (pk_az1);                                          \
		clock_ms += timer_delay;                                                 \
		timer_fn(NULL);                                                          \
		memset(&rep, 0, sizeof(rep));                                            \
		nm_metrics(&rep, NULL);                                                  \
	} while (0)
	TICK(0);  /* primes */
	TICK(10); /* at the threshold: not more than it */
	assert_int_equal(rep.overlays[0].zones[0].misrouted, 0);
	TICK(11);
	assert_int_equal(rep.noverlays, 1);
	assert_int_equal(rep.overlays[0].nzones, 3);
	assert_string_equal(rep.overlays[0].zones[0].zone, "az1");
	assert_string_equal(rep.overlays[0].zones[2].zone, "other");
	assert_int_equal(rep.overlays[0].zones[0].misrouted, 1);
	assert_int_equal(rep.overlays[0].zones[0].misroute_episodes, 1);
	assert_int_equal(rep.overlays[0].zones[1].misrouted, 0);
	TICK(0); /* one quiet interval: same episode, traffic stopped */
	assert_int_equal(rep.overlays[0].zones[0].misrouted, 1);
	assert_int_equal(rep.overlays[0].zones[0].receiving, 0);
	assert_true(rep.overlays[0].zones[0].stopped_us > 0);
	TICK(50);
	assert_int_equal(rep.overlays[0].zones[0].misroute_episodes, 1);
	assert_int_equal(rep.overlays[0].zones[0].receiving, 1);
	assert_int_equal(rep.overlays[0].zones[0].stopped_us, 0);
	TICK(0);
	TICK(0); /* two quiet intervals end it */
	assert_int_equal(rep.overlays[0].zones[0].misrouted, 0);
	TICK(20);
	assert_int_equal(rep.overlays[0].zones[0].misroute_episodes, 2);
	/* A catch-up collection 100 ms after a late one: not evaluated. */
	fake_ov[0].packets += 20;
	clock_ms += timer_delay + 900;
	timer_fn(NULL);
	fake_ov[0].packets += 0;
	clock_ms += timer_delay;
	timer_fn(NULL);
	memset(&rep, 0, sizeof(rep));
	nm_metrics(&rep, NULL);
	assert_int_equal(rep.overlays[0].zones[0].receiving, 1);
	/* MASTER: the episode ends at the next collection. */
	nm_overlay_state("g", "MASTER", 1);
	TICK(100);
	assert_int_equal(rep.overlays[0].zones[0].misrouted, 0);
	assert_int_equal(rep.overlays[0].zones[0].misroute_episodes, 2);
	assert_string_equal(rep.overlays[0].state, "MASTER");
#undef TICK
	nm_fini();
	nm_set_overlays(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(collections_stay_on_the_interval_grid),
	    cmocka_unit_test(a_stall_skips_ticks_instead_of_bursting),
	    cmocka_unit_test(a_new_interval_starts_a_new_grid),
	    cmocka_unit_test(misrouted_traffic_episodes),
	};
	log_init("test_monitor", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
