/* group.h — the failover groups and their reconciler. Level-triggered: each
 * group has a desired state (the latest keepalived state, numbered by a
 * generation) and an observed one (what DescribeRouteTables last said);
 * work is making them equal, and a newer generation supersedes work in
 * flight. Only MASTER ever writes routes; STOP, FAULT and BACKUP never do. */
#ifndef VPCF_GROUP_H
#define VPCF_GROUP_H

#include <jansson.h>

#include "daemon/cfg.h"
#include "daemon/kaevent.h"
#include "vpc/imds.h"

/* What happened to an event. */
enum grp_verdict {
	GRP_APPLIED,   /* a group changed state (or re-asserts) */
	GRP_DUPLICATE, /* same state again: nothing new */
	GRP_STALE,     /* older than the event already applied */
	GRP_NO_GROUP,  /* no group uses this keepalived name */
};

/* Create the groups of cfg (idle until grp_set_identity). */
void grp_init(const struct cfg *cfg);
/* Re-bind to a new config: groups keep their state by name; a group whose
 * tables, destinations or ENI changed converges again. */
void grp_reload(const struct cfg *cfg);
/* Cancel all work and release held addresses; routes are left as they are. */
void grp_fini(void);
/* This instance's identity is known: convergence may start. */
void grp_set_identity(const struct imds_identity *id);
/* Apply a keepalived event to every group that uses its name. */
enum grp_verdict grp_event(const struct ka_event *ev, const char *source);
/* The state of every group, for `vpc-failover status`. */
json_t *grp_status(void);
const char *grp_verdict_name(enum grp_verdict v);
/* A group's keepalived state and the ENI it points routes at (eni "" before
 * the instance identity is known). 0, or -1 when no group has that name. */
int grp_info(const char *name, enum ka_state *state, char *eni, size_t n);
/* Per group, for the metrics snapshot (netmon/netmon.h): state, transitions
 * per state, route updates ok/failed, convergence_seconds of the last
 * failover (null before the first). A new array. */
json_t *grp_metrics(void);

#endif
