/* ring.c — the ring of per-interval samples and the deltas between two of
 * them (ring.h). The ring holds cumulative values, so a window's delta is
 * one subtraction per value, whatever its length: O(zones) per sample
 * pushed, O(slots + zones) per window asked (the conntrack peak looks at
 * the samples in between). */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "netmon/ring.h"

struct slot {
	int64_t at_us;
	struct nmr_host host;
	struct nmr_zone *z; /* nzones */
};

struct nmr {
	size_t nslots, nzones;
	size_t head, n; /* the next slot written; samples held */
	struct slot *s;
};

struct nmr *nmr_new(size_t slots, size_t nzones)
{
	struct nmr *r = xcalloc(1, sizeof(*r));

	if (slots < 1)
		slots = 1;
	if (slots > NMR_SLOTS_MAX)
		slots = NMR_SLOTS_MAX;
	r->nslots = slots;
	r->nzones = nzones;
	r->s = xcalloc(slots, sizeof(*r->s));
	for (size_t i = 0; i < slots; i++)
		r->s[i].z = xcalloc(nzones + 1, sizeof(*r->s[i].z));
	return r;
}

void nmr_free(struct nmr *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nslots; i++)
		free(r->s[i].z);
	free(r->s);
	free(r);
}

size_t nmr_slots_for(unsigned window_ms, unsigned interval_ms)
{
	size_t n;

	if (interval_ms == 0)
		interval_ms = 1;
	n = window_ms / interval_ms + 3;
	return n > NMR_SLOTS_MAX ? NMR_SLOTS_MAX : n;
}

size_t nmr_count(const struct nmr *r)
{
	return r ? r->n : 0;
}

/* The i-th oldest sample held (i < r->n). */
static const struct slot *nth(const struct nmr *r, size_t i)
{
	return &r->s[(r->head + r->nslots - r->n + i) % r->nslots];
}

void nmr_push(struct nmr *r, int64_t at_us, const struct nmr_zone *zones,
	      const struct nmr_host *host)
{
	struct slot *s;

	if (r == NULL || (r->n && at_us < nth(r, r->n - 1)->at_us))
		return;
	s = &r->s[r->head];
	s->at_us = at_us;
	s->host = *host;
	memcpy(s->z, zones, r->nzones * sizeof(*s->z));
	r->head = (r->head + 1) % r->nslots;
	if (r->n < r->nslots)
		r->n++;
}

/* The index of the latest sample at or before t, or -1. */
static long latest_by(const struct nmr *r, int64_t t)
{
	long k = -1;

	for (size_t i = 0; i < r->n; i++)
		if (nth(r, i)->at_us <= t)
			k = (long)i;
	return k;
}

static uint64_t sub(uint64_t b, uint64_t a)
{
	return b >= a ? b - a : b;
}

double nmr_rtt_quantile(const struct nm_rtt_hist *h, double q)
{
	static const uint64_t le_us[NM_RTT_NBUCKETS] = NM_RTT_BUCKETS_US;
	uint64_t total = 0, below = 0;
	double rank;
	size_t i;

	for (i = 0; i <= NM_RTT_NBUCKETS; i++)
		total += h->count[i];
	if (total == 0)
		return -1;
	rank = q * (double)total;
	for (i = 0; i < NM_RTT_NBUCKETS; i++) {
		if ((double)(below + h->count[i]) >= rank && h->count[i] > 0)
			break;
		below += h->count[i];
	}
	if (i == NM_RTT_NBUCKETS)
		return (double)le_us[NM_RTT_NBUCKETS - 1] / 1e6;
	double lo = i == 0 ? 0 : (double)le_us[i - 1], hi = (double)le_us[i];
	return (lo + (hi - lo) * (rank - (double)below) / (double)h->count[i]) / 1e6;
}

int nmr_delta(const struct nmr *r, int64_t from_us, int64_t to_us, struct nmr_delta *out)
{
	long a, b;

	memset(out, 0, sizeof(*out));
	if (r == NULL || r->n < 2)
		return -1;
	b = latest_by(r, to_us);
	a = latest_by(r, from_us);
	if (a < 0)
		a = 0;
	if (b <= a)
		return -1;
	const struct slot *sa = nth(r, (size_t)a), *sb = nth(r, (size_t)b);
	out->from_us = sa->at_us;
	out->to_us = sb->at_us;
	out->nzones = r->nzones;
	out->z = xcalloc(r->nzones + 1, sizeof(*out->z));
	for (size_t k = 0; k < r->nzones; k++) {
		const struct nmr_zone *x = &sa->z[k], *y = &sb->z[k];
		struct nmr_zone_delta *d = &out->z[k];
		d->segs = sub(y->segs, x->segs);
		d->retrans = sub(y->retrans, x->retrans);
		d->bytes = sub(y->bytes, x->bytes);
		for (size_t j = 0; j <= NM_RTT_NBUCKETS; j++)
			d->rtt.count[j] = sub(y->rtt.count[j], x->rtt.count[j]);
		d->rtt.sum_us = sub(y->rtt.sum_us, x->rtt.sum_us);
		d->traffic = d->segs > 0 || d->bytes > 0;
		d->retrans_ratio = d->segs ? (double)d->retrans / (double)d->segs : 0.0;
		if (d->retrans_ratio > 1.0)
			d->retrans_ratio = 1.0;
		d->rtt_p50_s = nmr_rtt_quantile(&d->rtt, 0.5);
		d->rtt_p90_s = nmr_rtt_quantile(&d->rtt, 0.9);
	}
	out->have_allow = sb->host.have_allow;
	for (size_t c = 0; c < NML_NCOUNTERS; c++)
		out->allow[c] = sub(sb->host.allow[c], sa->host.allow[c]);
	for (long i = a; i <= b; i++) {
		const struct nmr_host *h = &nth(r, (size_t)i)->host;
		if (!h->have_conntrack || h->ct_max == 0)
			continue;
		double f = (double)h->ct_count / (double)h->ct_max;
		out->have_conntrack = 1;
		if (f > out->ct_peak_fill)
			out->ct_peak_fill = f;
	}
	return 0;
}

void nmr_delta_free(struct nmr_delta *d)
{
	if (d == NULL)
		return;
	free(d->z);
	memset(d, 0, sizeof(*d));
}
