/* test_ring.c — the network monitor's ring of per-interval samples
 * (netmon/ring.c): wrap-around at its fixed size, the window between two
 * moments (the latest sample at or before each), the deltas of zones
 * (retransmission ratio, bytes, RTT histogram and its percentiles, no
 * traffic), of the allowance counters and the conntrack peak, counters that
 * went back, and too few samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "netmon/ring.h"

#define S 1000000 /* one second in us */

/* Zone 0 sends 100 segments a second, retransmitting r of them; zone 1 is
 * quiet. Each second one RTT observation of zone 0 in bucket b. */
struct feed {
	struct nmr_zone z[2];
	struct nmr_host h;
};

static void step(struct feed *f, uint64_t retrans, size_t bucket, uint64_t pps)
{
	f->z[0].segs += 100;
	f->z[0].retrans += retrans;
	f->z[0].bytes += 150000;
	f->z[0].rtt.count[bucket]++;
	f->h.allow[NML_PPS] += pps;
	f->h.have_allow = 1;
}

static void test_slots(void **state)
{
	assert_int_equal(nmr_slots_for(60000, 10000), 9);
	assert_int_equal(nmr_slots_for(60000, 1000), 63);
	assert_int_equal(nmr_slots_for(600000, 1000), NMR_SLOTS_MAX);
	assert_int_equal(nmr_slots_for(5000, 0), NMR_SLOTS_MAX);
	assert_int_equal(nmr_slots_for(0, 1000), 3);
}

/* A quiet minute before, a lossy minute after: before 0, after 5%. */
static void test_before_after(void **state)
{
	struct nmr *r = nmr_new(nmr_slots_for(60000, 1000), 2);
	struct feed f;
	struct nmr_delta b, a;

	memset(&f, 0, sizeof(f));
	f.h.have_conntrack = 1;
	f.h.ct_max = 1000;
	for (int t = 0; t <= 200; t++) {
		if (t > 100) /* the transition at t = 100 s */
			step(&f, 5, 3, 2);
		else
			step(&f, 0, 1, 0);
		f.h.ct_count = t == 130 ? 900 : t == 50 ? 300 : 100;
		nmr_push(r, (int64_t)t * S, f.z, &f.h);
		/* at the transition the minute before; a minute later the
		 * minute after, as daemon/traffic.c asks them */
		if (t == 100)
			assert_int_equal(nmr_delta(r, 40 * S, 100 * S, &b), 0);
		if (t == 160)
			assert_int_equal(nmr_delta(r, 100 * S, 160 * S, &a), 0);
	}
	/* the ring went on; the transition's sample is gone */
	assert_int_equal(nmr_count(r), 63);
	struct nmr_delta late;
	assert_int_equal(nmr_delta(r, 100 * S, 200 * S, &late), 0);
	assert_int_equal(late.from_us, 138 * S);
	nmr_delta_free(&late);

	assert_int_equal(b.from_us, 40 * S);
	assert_int_equal(b.to_us, 100 * S);
	assert_int_equal(b.nzones, 2);
	assert_int_equal(b.z[0].segs, 6000);
	assert_int_equal(b.z[0].retrans, 0);
	assert_true(b.z[0].traffic);
	assert_true(b.z[0].retrans_ratio == 0.0);
	assert_int_equal(b.z[0].bytes, 9000000);
	/* 60 observations in the 100..200 us bucket: p50 halfway, 150 us */
	assert_int_equal(b.z[0].rtt.count[1], 60);
	assert_true(b.z[0].rtt_p50_s > 149e-6 && b.z[0].rtt_p50_s < 151e-6);
	assert_true(b.z[0].rtt_p90_s > 189e-6 && b.z[0].rtt_p90_s < 191e-6);
	assert_false(b.z[1].traffic);
	assert_true(b.z[1].rtt_p50_s < 0);
	assert_int_equal(b.allow[NML_PPS], 0);
	assert_true(b.have_allow);
	assert_true(b.have_conntrack);
	assert_true(b.ct_peak_fill > 0.299 && b.ct_peak_fill < 0.301);

	assert_int_equal(a.from_us, 100 * S);
	assert_int_equal(a.to_us, 160 * S);
	assert_int_equal(a.z[0].segs, 6000);
	assert_int_equal(a.z[0].retrans, 300);
	assert_true(a.z[0].retrans_ratio > 0.0499 && a.z[0].retrans_ratio < 0.0501);
	/* in the 0.5..1 ms bucket now */
	assert_int_equal(a.z[0].rtt.count[3], 60);
	assert_int_equal(a.z[0].rtt.count[1], 0);
	assert_true(a.z[0].rtt_p50_s > 749e-6 && a.z[0].rtt_p50_s < 751e-6);
	assert_int_equal(a.allow[NML_PPS], 120);
	assert_int_equal(a.allow[NML_BW_IN], 0);
	assert_true(a.ct_peak_fill > 0.899 && a.ct_peak_fill < 0.901);
	assert_false(a.z[1].traffic);
	nmr_delta_free(&b);
	nmr_delta_free(&a);
	assert_null(a.z);
	nmr_free(r);
}

/* A window older than the ring reaches: from its oldest sample; a moment
 * between samples: the latest before it. */
static void test_coverage(void **state)
{
	struct nmr *r = nmr_new(5, 1);
	struct nmr_zone z;
	struct nmr_host h;
	struct nmr_delta d;

	memset(&z, 0, sizeof(z));
	memset(&h, 0, sizeof(h));
	for (int t = 0; t < 10; t++) {
		z.segs = (uint64_t)t * 10;
		nmr_push(r, (int64_t)t * S, &z, &h);
	}
	assert_int_equal(nmr_count(r), 5);
	assert_int_equal(nmr_delta(r, 0, 9 * S, &d), 0);
	assert_int_equal(d.from_us, 5 * S); /* the oldest held */
	assert_int_equal(d.z[0].segs, 40);
	assert_false(d.have_allow);
	assert_false(d.have_conntrack);
	nmr_delta_free(&d);
	assert_int_equal(nmr_delta(r, 6 * S + S / 2, 8 * S + S / 2, &d), 0);
	assert_int_equal(d.from_us, 6 * S);
	assert_int_equal(d.to_us, 8 * S);
	assert_int_equal(d.z[0].segs, 20);
	assert_false(d.z[0].traffic == 0);
	nmr_delta_free(&d);
	/* no two samples in between */
	assert_int_equal(nmr_delta(r, 7 * S, 7 * S + 1, &d), -1);
	assert_int_equal(d.nzones, 0);
	/* a sample older than the newest is ignored */
	z.segs = 0;
	nmr_push(r, 3 * S, &z, &h);
	assert_int_equal(nmr_count(r), 5);
	nmr_free(r);
}

/* Too few samples; counters that went back (a reset) count from zero. */
static void test_edges(void **state)
{
	struct nmr *r = nmr_new(4, 1);
	struct nmr_zone z;
	struct nmr_host h;
	struct nmr_delta d;

	memset(&z, 0, sizeof(z));
	memset(&h, 0, sizeof(h));
	assert_int_equal(nmr_delta(r, 0, 10 * S, &d), -1);
	assert_int_equal(nmr_delta(NULL, 0, 10 * S, &d), -1);
	z.segs = 1000;
	z.retrans = 10;
	h.have_allow = 1;
	h.allow[NML_LINKLOCAL] = 50;
	nmr_push(r, 1 * S, &z, &h);
	assert_int_equal(nmr_delta(r, 0, 10 * S, &d), -1);
	z.segs = 30;
	z.retrans = 3;
	h.allow[NML_LINKLOCAL] = 7;
	nmr_push(r, 2 * S, &z, &h);
	assert_int_equal(nmr_delta(r, 0, 10 * S, &d), 0);
	assert_int_equal(d.z[0].segs, 30);
	assert_int_equal(d.z[0].retrans, 3);
	assert_true(d.z[0].retrans_ratio > 0.0999 && d.z[0].retrans_ratio < 0.1001);
	assert_int_equal(d.allow[NML_LINKLOCAL], 7);
	nmr_delta_free(&d);
	nmr_free(r);
	nmr_free(NULL);
}

/* The percentile estimate as Prometheus' histogram_quantile makes it. */
static void test_quantile(void **state)
{
	struct nm_rtt_hist h;

	memset(&h, 0, sizeof(h));
	assert_true(nmr_rtt_quantile(&h, 0.5) < 0);
	h.count[0] = 10; /* 0..100 us */
	assert_true(nmr_rtt_quantile(&h, 0.5) > 49e-6 &&
		    nmr_rtt_quantile(&h, 0.5) < 51e-6);
	h.count[0] = 1;
	h.count[NM_RTT_NBUCKETS] = 9; /* beyond 1 s: the highest finite bound */
	assert_true(nmr_rtt_quantile(&h, 0.5) == 1.0);
	assert_true(nmr_rtt_quantile(&h, 0.05) > 49e-6 &&
		    nmr_rtt_quantile(&h, 0.05) < 51e-6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slots),    cmocka_unit_test(test_before_after),
	    cmocka_unit_test(test_coverage), cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_quantile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
