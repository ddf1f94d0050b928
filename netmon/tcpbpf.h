/* tcpbpf.h — per-zone TCP counting in the kernel with eBPF
 * (netmon/bpf/tcp.bpf.c): loading it, the zone tries, and collections run
 * on a worker thread so that the event loop never waits for one. Used by
 * netmon/tcp.c when [netmon] bpf allows it; see docs/netmon.md, "TCP in
 * eBPF". Prefix nmtb_. One instance per process. */
#ifndef VPCF_NETMON_TCPBPF_H
#define VPCF_NETMON_TCPBPF_H

#include <stddef.h>
#include <stdint.h>

#include "netmon/netmon.h"
#include "netmon/tcp.h"

/* Load and attach the programs for this process's network namespace. 0, or
 * -1 with the reason in why (not logged: the caller decides how loud). */
int nmtb_open(char *why, size_t whylen);
/* Zones: p[0..n) prefix -> p[i].zone (longest prefix wins), nzones of them
 * (at most NMTB_ZONES_MAX), this host's own addresses (netmon/addr.c) in
 * none. Every socket's zone is looked up again; reload: the counters
 * restart at 0. 0 or -1 (logged). */
int nmtb_zones(const struct nmt_prefix *p, size_t n, size_t nzones, int reload);
/* Own addresses changed: the tries again, every socket re-zoned. */
void nmtb_rezone(void);
/* Zones the eBPF counters can hold. */
size_t nmtb_zones_max(void);
/* How TCP is counted now, for the log: where sent (after the zone
 * counters' egress program; a collection walks nothing), or by a socket
 * walk per collection, and why when [netmon] tcp_count asked for it. */
const char *nmtb_how(void);
/* walk 1: a socket walk per collection even where the TCP program could
 * count where sent ([netmon] tcp_count = walk); read when the counting
 * starts (nmtb_zones, after the baseline). */
void nmtb_set_walk(int walk);
/* Walk every socket here and now; baseline: sockets not seen before are
 * recorded, not counted. 0 or -1 (logged). */
int nmtb_run(int baseline);
/* Called on the loop when a collection on the worker ended (rc 0 or -1). */
typedef void (*nmtb_done_fn)(int rc);
/* The same walk on the worker thread; done on the loop afterwards (never
 * from inside this call). 0 started, -1 failed (logged). */
int nmtb_start(nmtb_done_fn done);
/* Is a walk on the worker under way? */
int nmtb_busy(void);
/* Wait for the walk on the worker (its done is called here). */
void nmtb_wait(void);
/* Cumulative counters and RTT histogram of zone (zeroes beyond nzones). */
void nmtb_zone(size_t zone, struct nm_tcp_counters *c, struct nm_rtt_hist *h);
/* Bookkeeping: sockets the last walk visited; closes accounted by the
 * tracepoint, and of those, sockets no walk had visited; sockets walks
 * passed by, quiet since the walk before (cumulative). */
void nmtb_stats(size_t *visited, uint64_t *closes, uint64_t *closes_unseen,
		uint64_t *quiet);
/* Detach and unload (waits for a walk under way; its done is not called). */
void nmtb_close(void);

#endif
