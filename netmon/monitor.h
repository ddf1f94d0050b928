/* monitor.h — the network monitor inside the daemon: zones, the nftables
 * counters and the TCP accounting, collected every [netmon] interval on the
 * event loop. It never stands in the way of failover: a part that cannot
 * start is reported and left out. */
#ifndef VPCF_NETMON_MONITOR_H
#define VPCF_NETMON_MONITOR_H

#include "daemon/cfg.h"
#include "daemon/metrics.h"

/* Start per nm (after ev_init); 0, or -1 if nothing could start. */
int nm_init(const struct cfg_netmon *nm);
/* New zones: the table is replaced atomically, counters of zones that stay
 * keep counting. */
void nm_reload(const struct cfg_netmon *nm);
/* Remove the table, close the sockets. */
void nm_fini(void);
/* The monitor's part of the metrics snapshot (an mx_netmon_fn). */
void nm_metrics(struct mx_netmon *out, void *arg);

#endif
