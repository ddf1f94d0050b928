/* metrics.h — the metrics snapshot: one JSON document (schema in
 * netmon/netmon.h) built from the groups, the EC2 API counters and the
 * network monitor. The exporters render it: Prometheus text on /metrics
 * (netmon/prom.c), the control socket's "metrics" command, and from there
 * `vpc-failover metrics` (Prometheus, Mackerel, JSON). */
#ifndef VPCF_METRICS_H
#define VPCF_METRICS_H

#include <jansson.h>
#include <stddef.h>

#include "netmon/netmon.h"

#define MX_SNMP_PATH "/proc/net/snmp"
#define MX_SNMP_MAX  (64 * 1024) /* a longer file is refused */

/* One zone as the network monitor reports it. */
struct mx_zone {
	const char *name;
	struct nm_zone_counters nft;
	struct nm_tcp_counters tcp;
	double tcp_retrans_ratio; /* retrans / segs_out over the last interval, 0..1 */
};

/* The network monitor's part of a snapshot. */
struct mx_netmon {
	int enabled;
	uint64_t collections;	     /* completed collection rounds */
	uint64_t lost_events;	     /* netlink ENOBUFS seen (events lost, re-dumped) */
	const struct mx_zone *zones; /* owned by the provider, valid during the call */
	size_t nzones;
	int have_host_tcp; /* 0: metrics.c reads MX_SNMP_PATH itself */
	struct nm_host_tcp host_tcp;
};

struct grp_report;

/* Buckets (seconds) of vpc_failover_convergence_duration_seconds: from a
 * FIFO-driven pass on loopback (a few ms) to a minute of EC2 retries. */
#define MX_CONV_BUCKETS                                                                  \
	{                                                                                \
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60          \
	}
#define MX_CONV_GROUPS_MAX 1024 /* groups counted; more are left out */

/* A group observer (grp_set_observer): each converged failover goes into
 * the convergence-time histogram of its group. */
void mx_observe(const struct grp_report *r, void *arg);

/* Whether the daemon can act on a failover: it knows this instance's
 * identity (from metadata, or the configuration names the region and every
 * ENI). The snapshot's "up", vpc_failover_up; 0 until set. */
void mx_set_ready(int ready);

/* Fills *out (zeroed by the caller) with the monitor's current counters. */
typedef void (*mx_netmon_fn)(struct mx_netmon *out, void *arg);

/* The hook for the network monitor: fn is called for every snapshot (NULL:
 * no monitor, no zones). */
void mx_set_netmon(mx_netmon_fn fn, void *arg);
/* A new snapshot (caller decrefs). */
json_t *mx_snapshot(void);

#endif
