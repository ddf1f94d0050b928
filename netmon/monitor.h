/* monitor.h — the network monitor inside the daemon: zones, the nftables
 * counters and the TCP accounting, collected every [netmon] interval on the
 * event loop. It never stands in the way of failover: a part that cannot
 * start is reported and left out. */
#ifndef VPCF_NETMON_MONITOR_H
#define VPCF_NETMON_MONITOR_H

#include "netmon/netmon.h"
#include "netmon/nm_cfg.h"

/* Start per nm (after ev_init); 0, or -1 if nothing could start. */
int nm_init(const struct nm_cfg *nm);
/* New zones: the table is replaced atomically, counters of zones that stay
 * keep counting. */
void nm_reload(const struct nm_cfg *nm);
/* Remove the table, close the sockets. */
void nm_fini(void);
/* The monitor's part of the metrics snapshot (an nm_report_fn, netmon.h). */
void nm_metrics(struct nm_report *out, void *arg);

#endif
