/* netmon.h — the network monitor's shared data model.
 *
 * Modules (each owns its file; prefixes say where a symbol lives):
 *   zone.c  nmz_  zones from [netmon] zone.NAME, flattened to non-overlapping
 *                 intervals by longest prefix; address -> zone lookup
 *   nft.c   nmf_  the daemon's own nftables table: counters per zone and
 *                 direction, created/replaced atomically/removed, read back
 *                 over netlink (libmnl + libnftnl)
 *   tcp.c   nmt_  TCP retransmissions: host-wide (/proc/net/snmp,
 *                 /proc/net/netstat) and per zone (sock_diag, destroy groups)
 *   prom.c  nmp_  exporters: the metrics snapshot (JSON) rendered as
 *                 Prometheus text 0.0.4, the /metrics HTTP endpoint
 *   ring.c  nmr_  the last [netmon] failover_window of per-interval samples
 *                 and the deltas between two moments: the network before
 *                 and after a failover
 *
 * Everything the exporters show is one JSON document, the metrics snapshot,
 * built by the daemon and handed out on the control socket ("metrics"):
 *
 * {"time": <unix s>, "up": 1,
 *  "zones": [{"zone": "az1", "packets_in": N, "bytes_in": N,
 *             "packets_out": N, "bytes_out": N,
 *             "tcp_segments_out": N, "tcp_retrans_segments": N,
 *             "tcp_retrans_ratio": 0.0123,            (ratio: last interval, 0..1)
 *             "tcp_rtt": {"buckets": [[0.0001, N], ..., [null, N]],
 *                         "sum": S, "count": N}}],     (seconds, cumulative)
 *  "tcp": {"segments_out": N, "retrans_segments": N},  (host-wide)
 *  "groups": [{"group": "redis", "state": "MASTER",
 *              "transitions": {"MASTER": N, "BACKUP": N, "FAULT": N, "STOP": N},
 *              "route_updates": {"ok": N, "failed": N},
 *              "convergence_seconds": 0.023}],
 *  "api_requests": [{"action": "ReplaceRoute", "code": "OK", "count": N}],
 *  "netmon": {"collections": N, "lost_events": N, "enabled": true},
 *  "interfaces": [{"interface": "eth0",                 (ENA allowance statistics)
 *                  "bw_in_allowance_exceeded": N, ..., "conntrack_allowance_available":
 * N}], "conntrack": {"count": N, "max": N},                 (absent without conntrack)
 *  "overlay": [{"group": "redis", "zone": "az1", "packets": N, "bytes": N,
 *               "misrouted": 0, "misroute_episodes": N,
 *               "first_traffic_seconds": 0.061}]}   (absent: no traffic seen
 *                                                     in the last watch)
 *  ("overlay" only when groups are counted: zones configured, netmon on.)
 *  "probes": [{"group": "redis", "destination": "198.19.255.10", "zone":
 *              "us-east-1a", "probes": N, "failures": N,
 *              "up": 1, "connect_seconds": 0.0004}]   (up, connect_seconds: only
 *              while this node probes, i.e. is not MASTER; connect_seconds
 *              only when up; daemon/probe.h)
 */
#ifndef VPCF_NETMON_H
#define VPCF_NETMON_H

#include <stddef.h>
#include <stdint.h>

#include "netmon/limits.h"
struct cidr;

/* Counters of one zone, cumulative and monotonic since the daemon started. */
struct nm_zone_counters {
	uint64_t packets_in, bytes_in;	 /* source address in the zone */
	uint64_t packets_out, bytes_out; /* destination address in the zone */
};

/* A failover group's destinations (the overlay IPs), whose arriving packets
 * are counted by source zone. */
struct nm_overlay {
	const char *name;	  /* the group */
	const struct cidr *dests; /* lib/cidr.h; the caller's */
	size_t ndests;
};

/* Packets and bytes to an overlay from one source zone, cumulative. */
struct nm_ov_counters {
	uint64_t packets, bytes;
};

/* TCP of one zone (destination address in the zone), cumulative. */
struct nm_tcp_counters {
	uint64_t segs_out;     /* tcpi_segs_out deltas (retransmissions included) */
	uint64_t retrans_segs; /* tcpi_total_retrans deltas */
	uint64_t bytes_sent;
	uint64_t bytes_retrans;
};

/* Upper bounds (microseconds) of the per-zone smoothed-RTT histogram, +Inf
 * beyond: intra-region latencies, from a same-zone peer (~0.1 ms) to a
 * struggling cross-zone path (1 s). */
#define NM_RTT_BUCKETS_US                                                                \
	{                                                                                \
		100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000,    \
		    500000, 1000000                                                      \
	}
#define NM_RTT_NBUCKETS 13

/* Smoothed RTT (tcpi_rtt) of a zone's sockets: one observation per socket
 * and collection interval in which it sent segments. Counts per bucket, not
 * cumulative; [NM_RTT_NBUCKETS] is +Inf. */
struct nm_rtt_hist {
	uint64_t count[NM_RTT_NBUCKETS + 1];
	uint64_t sum_us;
};

/* Host-wide TCP, from /proc/net/snmp (Tcp: OutSegs excludes retransmits). */
struct nm_host_tcp {
	uint64_t out_segs;
	uint64_t retrans_segs;
};

/* The monitor's part of the metrics snapshot (daemon/metrics.h builds the
 * rest): what nm_report_fn fills. */

/* One zone as the network monitor reports it. */
struct nm_zone_report {
	const char *name;
	struct nm_zone_counters nft;
	struct nm_tcp_counters tcp;
	double tcp_retrans_ratio; /* retrans / segs_out over the last interval, 0..1 */
	struct nm_rtt_hist rtt;	  /* cumulative */
};

/* One source zone of an overlay ("other": in no zone) on this node. Times
 * are CLOCK_REALTIME microseconds, 0 = never. */
struct nm_ov_zone {
	const char *zone;
	uint64_t packets, bytes; /* cumulative, arriving at this node */
	int receiving;		 /* packets arrived in the last interval */
	int64_t last_us;	 /* the collection that last saw packets arrive */
	int64_t stopped_us;	 /* the first collection after that saw none */
	int misrouted;		 /* not MASTER and receiving: an episode is open */
	uint64_t misroute_episodes;
	int64_t misroute_us; /* the current (or last) episode began */
	unsigned quiet;	     /* intervals at or below the threshold in an episode */
	/* The last watch after becoming MASTER: the read that first saw packets
	 * and the read before it (the first packet arrived in between). */
	int64_t first_us, first_prev_us;
};

/* One overlay (failover group) on this node. */
struct nm_ov_report {
	const char *group;
	const char *dest;		      /* its first destination, for messages */
	const char *state;		      /* as the daemon last said ("" unknown) */
	int watching;			      /* the watch after becoming MASTER runs */
	int64_t watch_start_us, watch_end_us; /* 0: no watch yet; end 0: running */
	unsigned window_ms;
	uint64_t polls;			/* counter reads of the last watch */
	uint64_t poll_ns;		/* their CPU time (thread), total */
	uint64_t poll_max_gap_us;	/* the longest time between two of its reads */
	const struct nm_ov_zone *zones; /* nzones + 1: zones, then "other" */
	size_t nzones;
};

struct nm_report {
	int enabled;
	uint64_t collections; /* completed collection rounds */
	uint64_t lost_events; /* netlink ENOBUFS seen (events lost, re-dumped) */
	/* What counts the zones' packets: "ebpf", "nftables" or "none" (no
	 * zones, or neither could start); NULL: not running. */
	const char *packet_counter;
	/* What counts TCP per zone: "ebpf", "sock_diag" or "none"; NULL: not
	 * running. */
	const char *tcp_counter;
	const struct nm_zone_report
	    *zones; /* owned by the provider, valid during the call */
	size_t nzones;
	int have_host_tcp; /* 0: the snapshot reads /proc/net/snmp itself */
	const struct nm_ov_report *overlays; /* owned by the provider */
	size_t noverlays;
	struct nm_host_tcp host_tcp;
	/* EC2's network limits (netmon/limits.h) */
	const struct nml_iface *ifaces; /* owned by the provider */
	size_t nifaces;
	int have_conntrack; /* 0: no conntrack in this namespace */
	uint64_t conntrack_count, conntrack_max;
};

/* Fills *out (zeroed by the caller) with the monitor's current counters. */
typedef void (*nm_report_fn)(struct nm_report *out, void *arg);

#endif
