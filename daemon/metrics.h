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

/* The hook for the network monitor: fn is called for every snapshot (NULL:
 * no monitor, no zones). */
void mx_set_netmon(nm_report_fn fn, void *arg);
/* A new snapshot (caller decrefs). */
json_t *mx_snapshot(void);

#endif
