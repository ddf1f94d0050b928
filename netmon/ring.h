/* ring.h — the network monitor's recent past: a fixed ring of per-interval
 * samples (per zone: TCP segments, retransmissions, the RTT histogram,
 * bytes; for the host: EC2's allowance counters and the conntrack fill),
 * cumulative as collected, and the deltas between two moments of it: the
 * network in the minute before and after a failover (docs/netmon.md,
 * "Around a failover"). Pure: no I/O, no clock; unit-tested. */
#ifndef VPCF_NETMON_RING_H
#define VPCF_NETMON_RING_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ini.h"
#include "netmon/limits.h"
#include "netmon/netmon.h"

/* Slots of a ring at most: a window longer than this many intervals is
 * covered as far as the ring reaches (the delta says what it covered). */
#define NMR_SLOTS_MAX 128

/* One zone in one sample: cumulative values. */
struct nmr_zone {
	uint64_t segs, retrans; /* TCP segments sent, retransmitted */
	uint64_t bytes;		/* zone traffic, both directions (nftables) */
	struct nm_rtt_hist rtt;
};

/* The host in one sample. */
struct nmr_host {
	int have_allow;		       /* an interface has allowance counters */
	uint64_t allow[NML_NCOUNTERS]; /* allowance counters, summed over interfaces */
	int have_conntrack;
	uint64_t ct_count, ct_max; /* gauges */
};

struct nmr;

/* A ring of slots samples (1 .. NMR_SLOTS_MAX, clamped) of nzones zones. */
struct nmr *nmr_new(size_t slots, size_t nzones);
void nmr_free(struct nmr *r);
/* Slots for a window of window_ms sampled every interval_ms: the window,
 * the sample before it and one interval of slack, within NMR_SLOTS_MAX. */
size_t nmr_slots_for(unsigned window_ms, unsigned interval_ms);
/* Append a sample taken at at_us (nondecreasing; an older one is ignored):
 * zones[0..nzones), host; the oldest sample goes when the ring is full. */
void nmr_push(struct nmr *r, int64_t at_us, const struct nmr_zone *zones,
	      const struct nmr_host *host);
/* Samples held. */
size_t nmr_count(const struct nmr *r);

/* One zone over a window. */
struct nmr_zone_delta {
	char zone[INI_NAME_MAX]; /* filled by the caller (the ring knows no names) */
	uint64_t segs, retrans, bytes;
	struct nm_rtt_hist rtt;	     /* the window's observations */
	int traffic;		     /* any segment or byte in the window */
	double retrans_ratio;	     /* retrans / segs; 0 without segments */
	double rtt_p50_s, rtt_p90_s; /* -1: no RTT observed */
};

/* The deltas over a window. */
struct nmr_delta {
	int64_t from_us, to_us; /* the samples it runs between */
	size_t nzones;
	struct nmr_zone_delta *z;      /* nzones, owned (nmr_delta_free) */
	int have_allow;		       /* the later sample had allowance counters */
	uint64_t allow[NML_NCOUNTERS]; /* allowance exceeded during the window */
	int have_conntrack;
	double ct_peak_fill; /* the highest count / max of its samples, 0..1 */
};

/* The deltas between the latest sample at or before from_us (the oldest
 * held when none is that old) and the latest at or before to_us, into out
 * (freed with nmr_delta_free). 0, or -1 (fewer than two samples span it;
 * out is then empty). Counters that went back (a reset) count from 0. */
int nmr_delta(const struct nmr *r, int64_t from_us, int64_t to_us, struct nmr_delta *out);
void nmr_delta_free(struct nmr_delta *d);

/* The q-quantile (0..1) of h in seconds, as Prometheus' histogram_quantile
 * estimates it (linear within a bucket; the +Inf bucket answers the highest
 * finite bound); -1 without observations. */
double nmr_rtt_quantile(const struct nm_rtt_hist *h, double q);

#endif
