/* probe.h — the optional active probe of a group (probe = tcp:PORT): while
 * this node is not MASTER, a non-blocking TCP connect to each of the group's
 * host destinations (the overlay IPs) goes out through the VPC, following
 * this zone's route table to whoever is MASTER; reachability and connect
 * latency are kept per destination for status and the metrics. Every
 * probe_interval (jittered), and soon after each transition. Never on
 * loopback: a destination this node holds itself is skipped, with the
 * reason. See docs/probe.md. */
#ifndef VPCF_PROBE_H
#define VPCF_PROBE_H

#include <jansson.h>
#include <stdint.h>

#include "daemon/cfg.h"
#include "daemon/group.h"

/* First probe after the group leaves MASTER or becomes BACKUP, and the one
 * after it, which sees the peer's route writes landed (ms). */
#define PRB_AFTER_TRANSITION_MS 200
#define PRB_FOLLOW_UP_MS	2000
/* The interval's jitter: each wait is interval +- interval / PRB_JITTER_DIV
 * (20 %), so that the nodes of many pairs do not probe in step. */
#define PRB_JITTER_DIV 5

/* (Re)bind to cfg's groups; results are kept by group and destination. */
void prb_configure(const struct cfg *cfg);
/* A group observer (grp_set_observer): transitions start and stop probing. */
void prb_observe(const struct grp_report *r, void *arg);
/* This node's zone (its availability zone), the probes' zone label. */
void prb_set_zone(const char *zone);
/* Group name's probe for status (a new object); NULL when it has none. */
json_t *prb_status(const char *group);
/* Per group and destination, for the metrics snapshot (netmon/netmon.h,
 * "probes"). A new array. */
json_t *prb_metrics(void);
/* The wait before the next periodic probe: interval_ms +- 20 %, from r (a
 * random number). */
uint64_t prb_jitter(uint64_t interval_ms, unsigned long r);
/* Abort probes in flight, cancel timers, free everything. */
void prb_fini(void);

#endif
