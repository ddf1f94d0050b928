/* monitor.h — the network monitor inside the daemon: zones, the nftables
 * counters and the TCP accounting, collected every [netmon] interval on the
 * event loop. It never stands in the way of failover: a part that cannot
 * start is reported and left out. */
#ifndef VPCF_NETMON_MONITOR_H
#define VPCF_NETMON_MONITOR_H

#include "netmon/netmon.h"
#include "netmon/nm_cfg.h"
#include "netmon/ring.h"

/* Start per nm (after ev_init); 0, -1 if nothing could start, or -2 when
 * [netmon] bpf = yes and eBPF cannot count the zones or the TCP sockets
 * (logged; the daemon must not start). */
int nm_init(const struct nm_cfg *nm);
/* New zones: the table is replaced atomically, counters of zones that stay
 * keep counting. */
void nm_reload(const struct nm_cfg *nm);
/* Remove the table, close the sockets. */
void nm_fini(void);
/* The overlays' counter reads after a group became MASTER, this far apart. */
#define NM_WATCH_MS 10

/* The failover groups' destinations to count by source zone (before nm_init
 * and before each nm_reload, which applies them); ov is copied. */
void nm_set_overlays(const struct nm_overlay *ov, size_t n);
/* A group's keepalived state: master 1 MASTER, 0 another known state (then
 * overlay traffic arriving here is misrouted), -1 unknown. */
void nm_overlay_state(const char *group, const char *state, int master);
/* The group became MASTER: read its overlay counters every NM_WATCH_MS for
 * [netmon] watch_window, noting when packets from each zone first arrive.
 * 0, or -1 (no such overlay, no counters, watch_window 0). */
int nm_watch_start(const char *group);
/* The network between two moments (CLOCK_REALTIME us) from the monitor's
 * per-interval samples ([netmon] failover_window of them, ring.h): 0, or
 * -1 (off, or too few samples). out is freed with nmr_delta_free. */
int nm_net_window(int64_t from_us, int64_t to_us, struct nmr_delta *out);
/* [netmon] failover_window in ms; 0: off (or the monitor is not running). */
unsigned nm_net_window_ms(void);
/* The monitor's part of the metrics snapshot (an nm_report_fn, netmon.h). */
void nm_metrics(struct nm_report *out, void *arg);
/* What counts the zones' packets: "ebpf", "nftables" or "none" (no zones,
 * or neither started); NULL when the monitor is not running. */
const char *nm_packet_counter(void);
/* What counts TCP per zone: "ebpf", "sock_diag" or "none"; NULL when the
 * monitor is not running. */
const char *nm_tcp_counter(void);

#endif
