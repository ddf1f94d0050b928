/* group.h — the failover groups and their reconciler. Level-triggered: each
 * group has a desired state (the latest keepalived state, numbered by a
 * generation) and an observed one (what DescribeRouteTables last said);
 * work is making them equal, and a newer generation supersedes work in
 * flight. Only MASTER ever writes routes; STOP, FAULT and BACKUP never do. */
#ifndef VPCF_GROUP_H
#define VPCF_GROUP_H

#include <jansson.h>
#include <stdint.h>

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

/* What an observer (daemon/notify.c) is told: a keepalived state change was
 * applied, or every route of a group points at this node and stayed there
 * through the settle checks (converged and settled). */
enum grp_report_kind { GRP_REPORT_TRANSITION, GRP_REPORT_CONVERGED };

/* One (route table, destination) of a CONVERGED report. */
struct grp_report_route {
	const char *table;
	const char *destination;
	const char *outcome; /* "replaced", "created", "unchanged" */
	const char *before;  /* its target before this generation wrote it; "" unknown */
	uint64_t ms;	     /* from the state change until written (or found right) */
};

/* Valid during the observer call only. */
struct grp_report {
	enum grp_report_kind kind;
	const char *group;
	enum ka_state state, previous; /* previous: before the last transition */
	const char *source;	       /* "notify", "fifo", "state", "pid-check" */
	uint64_t generation;
	int failover;	     /* CONVERGED: this generation began with a transition to
			      * MASTER (not a reload that moved routes) */
	int64_t event_wall;  /* unix seconds when the current state was entered */
	uint64_t event_mono; /* the same, in ev_now() time (ms) */
	int64_t wall;	     /* unix seconds of this report */
	const char *eni;     /* where this node's routes point while MASTER */
	size_t ntables;	     /* route tables of the group */
	const struct grp_report_route *routes; /* CONVERGED only, else none */
	size_t nroutes;
	uint64_t convergence_ms; /* CONVERGED: state change -> all tables written */
	uint64_t settle_ms;	 /* CONVERGED: state change -> settled; 0: the group
				  * left MASTER before its settle checks */
	unsigned late_writes;	 /* CONVERGED: other nodes' writes landing after
				  * ours, taken back while settling */
	const char *last_late;	 /* the last of them, "" if none */
	/* CONVERGED: what the overlay watch saw so far ("first traffic: az1
	 * +12 ms, ..."), filled in by daemon/traffic.c for the notifiers; NULL
	 * or "" when there is nothing to say. */
	const char *traffic;
};
typedef void (*grp_observer_fn)(const struct grp_report *r, void *arg);

/* Call fn (NULL: nobody) on every applied state change and every
 * convergence; fn runs inside the reconciler and must not block. */
void grp_set_observer(grp_observer_fn fn, void *arg);

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
/* Hold the group called name (on) or release it (off): a leader source
 * that cannot be reached (daemon/patroni.c, etcd_unreachable = keep) leaves
 * the routes as they are: no pass, no re-check, no write; its state stays.
 * Released, a MASTER re-checks its routes. */
void grp_hold(const char *name, int on);
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
