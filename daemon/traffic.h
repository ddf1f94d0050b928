/* traffic.h — the data-plane side of a failover: joins the groups' reports
 * (daemon/group.h) with the network monitor's overlay counters
 * (netmon/monitor.h). Tells the monitor each group's state (misrouted
 * traffic is traffic reaching a node that is not MASTER), starts the
 * first-traffic watch when a group becomes MASTER, and keeps per group the
 * last failover's timeline for `status` and the notifiers. */
#ifndef VPCF_TRAFFIC_H
#define VPCF_TRAFFIC_H

#include <jansson.h>

#include "daemon/cfg.h"
#include "daemon/group.h"

/* The groups' destinations to the monitor (before nm_init / nm_reload). */
void trf_configure(const struct cfg *cfg);
/* A group observer (grp_set_observer): state to the monitor, watch start,
 * the timeline. */
void trf_observe(const struct grp_report *r, void *arg);
/* "first traffic: az1 +12 ms, az2 none yet" for group, into buf ("" when
 * the group has no watch). */
void trf_note(const char *group, char *buf, size_t len);
/* Group name's timeline and overlay view for status (a new object). */
json_t *trf_status(const char *group);
/* When group last became MASTER (CLOCK_REALTIME us), 0 never. */
int64_t trf_transition_us(const char *group);
/* Cancel pending watch starts. */
void trf_fini(void);

#endif
