/* test_probe.c — the active probe (daemon/probe.c): the interval's jitter
 * stays within its bounds and spreads over them; a probe runs only while
 * the group is not MASTER; a destination this host holds itself is skipped,
 * never probed over loopback (a real connect on the real event loop, a few
 * hundred ms). tests/integration/probe.sh probes through the namespace VPC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/probe.h"
#include "lib/cidr.h"
#include "lib/ev.h"
#include "lib/util.h"

/* Every wait within interval +- 20 %, both ends reached, the whole range
 * used (ten bins, none empty). */
static void jitter_bounds(void **state)
{
	static const uint64_t ivs[] = {1000, 2000, 10000, 3600000};

	for (size_t k = 0; k < sizeof(ivs) / sizeof(ivs[0]); k++) {
		uint64_t iv = ivs[k], lo = iv - iv / 5, hi = iv + iv / 5;
		uint64_t mn = UINT64_MAX, mx = 0;
		unsigned bins[10] = {0};

		assert_int_equal(prb_jitter(iv, 0), lo);
		assert_int_equal(prb_jitter(iv, 2 * (iv / 5)), hi);
		assert_int_equal(prb_jitter(iv, 2 * (iv / 5) + 1), lo);
		assert_int_equal(prb_jitter(iv, (unsigned long)-1) >= lo, 1);
		assert_int_equal(prb_jitter(iv, (unsigned long)-1) <= hi, 1);
		srandom(42);
		for (int i = 0; i < 100000; i++) {
			uint64_t j = prb_jitter(iv, (unsigned long)random());
			assert_true(j >= lo && j <= hi);
			mn = j < mn ? j : mn;
			mx = j > mx ? j : mx;
			bins[(j - lo) * 10 / (hi - lo + 1)]++;
		}
		assert_true(mn - lo <= (hi - lo) / 100);
		assert_true(hi - mx <= (hi - lo) / 100);
		for (int b = 0; b < 10; b++)
			assert_true(bins[b] > 100000 / 10 / 2);
	}
}

static struct cfg *one_group(struct cidr *dest, unsigned port)
{
	struct cfg *c = xcalloc(1, sizeof(*c));

	c->groups = xcalloc(1, sizeof(*c->groups));
	c->ngroups = 1;
	strlcpy_chk(c->groups[0].name, "g", sizeof(c->groups[0].name));
	c->groups[0].destinations = dest;
	c->groups[0].ndestinations = 1;
	c->groups[0].probe_port = port;
	c->groups[0].probe_interval_ms = 2000;
	c->groups[0].probe_timeout_ms = 1000;
	return c;
}

static void stop_loop(void *arg)
{
	ev_stop();
}

static void run_for(uint64_t ms)
{
	ev_timer_add(ms, stop_loop, NULL);
	assert_int_equal(ev_run(), 0);
}

static void report(enum ka_state st)
{
	struct grp_report r = {.kind = GRP_REPORT_TRANSITION, .group = "g", .state = st};
	prb_observe(&r, NULL);
}

static const char *field(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* 127.0.0.1, with a listener: the connect would stay on this host. The
 * probe says so and counts no probe; MASTER and an unknown state do not
 * probe at all. */
static void local_destination_skipped(void **state)
{
	struct cidr *d = xcalloc(1, sizeof(*d));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(cidr_parse("127.0.0.1/32", d), 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(ev_init(), 0);
	struct cfg *c = one_group(d, ntohs(sa.sin_port));
	prb_configure(c);
	prb_set_zone("az9");
	assert_null(prb_status("other"));

	json_t *st = prb_status("g");
	assert_false(json_is_true(json_object_get(st, "probing")));
	assert_string_equal(field(st, "why_not"), "no state yet");
	json_decref(st);

	report(KA_MASTER);
	run_for(PRB_AFTER_TRANSITION_MS + 100);
	st = prb_status("g");
	json_t *dst = json_array_get(json_object_get(st, "destinations"), 0);
	assert_string_equal(field(dst, "result"), "none");
	assert_string_equal(field(st, "zone"), "az9");
	json_decref(st);

	report(KA_BACKUP);
	run_for(PRB_AFTER_TRANSITION_MS + 100);
	st = prb_status("g");
	assert_true(json_is_true(json_object_get(st, "probing")));
	dst = json_array_get(json_object_get(st, "destinations"), 0);
	assert_string_equal(field(dst, "destination"), "127.0.0.1");
	assert_string_equal(field(dst, "result"), "local");
	assert_non_null(strstr(field(dst, "detail"), "loopback"));
	assert_int_equal(json_integer_value(json_object_get(dst, "probes")), 0);
	assert_false(json_is_true(json_object_get(dst, "in_flight")));
	json_decref(st);
	/* A skipped destination is no series. */
	json_t *m = prb_metrics();
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);

	prb_fini();
	ev_fini();
	close(l);
	cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jitter_bounds),
	    cmocka_unit_test(local_destination_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
