/* tcp.h — TCP retransmission accounting: host-wide from /proc/net/snmp and
 * /proc/net/netstat, per zone (destination address) from sock_diag dumps and
 * the TCP destroy multicast groups. One module instance per process; its
 * event socket is watched by daemon/ev. See docs/netmon.md, "TCP". */
#ifndef VPCF_NETMON_TCP_H
#define VPCF_NETMON_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "netmon/netmon.h"

struct nlmsghdr;

/* Zone of a destination address (family AF_INET: 4 bytes, AF_INET6: 16, network
 * order): index below the nzones given to nmt_init, or -1 for none. */
typedef int (*nmt_zone_fn)(void *ctx, int family, const void *daddr);

/* /proc/net/netstat TcpExt counters worth having beside Tcp: RetransSegs; 0
 * when the running kernel does not have the field. */
struct nmt_tcpext {
	uint64_t timeouts;	     /* TCPTimeouts: RTO expiries */
	uint64_t lost_retransmit;    /* TCPLostRetransmit: a retransmission lost too */
	uint64_t fast_retrans;	     /* TCPFastRetrans */
	uint64_t slow_start_retrans; /* TCPSlowStartRetrans: after an RTO */
	uint64_t syn_retrans;	     /* TCPSynRetrans */
	uint64_t loss_probes;	     /* TCPLossProbes: tail loss probes sent */
	uint64_t retrans_fail;	     /* TCPRetransFail: could not retransmit */
};

/* How the module got its numbers (for tests, logs and the "netmon" metrics). */
struct nmt_stats {
	uint64_t collections;	   /* nmt_collect calls */
	uint64_t dumps;		   /* complete sock_diag dumps (IPv4 + IPv6) */
	uint64_t redumps;	   /* of which done because events were lost */
	uint64_t destroy_events;   /* destroy messages accounted */
	uint64_t destroyed_unseen; /* ... for sockets no dump had listed */
	uint64_t lost_events;	   /* ENOBUFS (or truncation) on the event socket */
	uint64_t untracked;	   /* sightings of sockets not tracked: table full */
	uint64_t bad_messages;	   /* malformed sock_diag messages skipped */
	uint64_t slice_max_us;	   /* CPU time of the longest dump slice read on
				      the loop (nmt_collect_start) */
	uint64_t quiet;		   /* eBPF: sockets walks passed by, quiet since
				      the walk before */
	size_t sockets;		   /* sockets tracked now */
};

/* A socket as a sock_diag message describes it. */
struct nmt_sock {
	uint64_t cookie;
	int family;		 /* of daddr: AF_INET also for v4-mapped IPv6 */
	unsigned char daddr[16]; /* network order; 4 bytes used for AF_INET */
	int state;		 /* TCP_ESTABLISHED, ... (idiag_state) */
	unsigned have;		 /* NMT_HAVE_*: fields INET_DIAG_INFO carried */
	uint32_t segs_out;	 /* tcpi_segs_out (wraps) */
	uint32_t total_retrans;	 /* tcpi_total_retrans (wraps) */
	uint64_t bytes_sent;	 /* tcpi_bytes_sent */
	uint64_t bytes_retrans;	 /* tcpi_bytes_retrans */
	uint32_t rtt_us;	 /* tcpi_rtt: smoothed RTT, 0 before a sample */
};
#define NMT_HAVE_INFO	       0x01u /* an INET_DIAG_INFO attribute was there */
#define NMT_HAVE_TOTAL_RETRANS 0x02u
#define NMT_HAVE_SEGS_OUT      0x04u
#define NMT_HAVE_BYTES_SENT    0x08u
#define NMT_HAVE_BYTES_RETRANS 0x10u
#define NMT_HAVE_RTT	       0x20u

/* Open the sock_diag dump socket and the destroy-group socket (watched with
 * ev_fd_set: call after ev_init), take a baseline dump and the host counters.
 * Needs no privilege on current kernels. 0 or -1 (logged). */
int nmt_init(size_t nzones, nmt_zone_fn fn, void *ctx);
/* Dump all TCP sockets, add per-socket deltas to their zones, read the host
 * counters, and close the ratio interval, all before returning (a dump that
 * nmt_collect_start began is read to its end first). 0, or -1 if part of it
 * failed. */
int nmt_collect(void);
/* Called from the loop when a collection ended: rc 0, or -1 if part of it
 * failed. */
typedef void (*nmt_done_fn)(int rc, void *arg);
/* The same collection, read on the event loop a few datagrams per callback
 * so that it never holds the loop for long; done(rc, arg) when it ended
 * (never from inside this call). 0 started, 1 the previous collection is
 * still running (nothing started, done not called), -1 failed (logged). */
int nmt_collect_start(nmt_done_fn done, void *arg);
/* New zones: counters restart at 0, tracked sockets are re-zoned. 0 or -1. */
int nmt_reload(size_t nzones, nmt_zone_fn fn, void *ctx);
/* Close the sockets and forget everything. */
void nmt_fini(void);

/* Cumulative counters of zone (zeroes for an unknown zone). */
void nmt_zone(size_t zone, struct nm_tcp_counters *out);
/* Cumulative smoothed-RTT histogram of zone: each socket towards it adds
 * its tcpi_rtt once per collection in which it sent segments (and once when
 * it is destroyed, if it sent since); zeroes for an unknown zone. */
void nmt_rtt(size_t zone, struct nm_rtt_hist *out);
/* Which bucket of NM_RTT_BUCKETS_US holds us (NM_RTT_NBUCKETS: +Inf). */
size_t nmt_rtt_bucket(uint32_t us);
/* Zones of sockets are looked up again when they are next seen (the set of
 * local addresses, which count in no zone, changed). */
void nmt_rezone(void);
/* Retransmitted / sent segments of zone between the last two collections
 * (nmt_init counts as one); 0 when nothing was sent. */
double nmt_ratio(size_t zone);
/* Host-wide counters as of the last collection (the kernel's own). */
void nmt_host(struct nm_host_tcp *out);
/* TcpExt counters as of the last collection. */
void nmt_host_ext(struct nmt_tcpext *out);
/* Times the event socket overflowed (each lost one or more destroy events). */
uint64_t nmt_lost_events(void);
/* Bookkeeping counters. */
void nmt_stats(struct nmt_stats *out);
/* A destination prefix of the dump filter. */
struct nmt_prefix {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order */
	int plen;
	int zone; /* the zone it is in (the eBPF path looks zones up by it) */
};
/* Dumps list only sockets whose destination is in one of p[0..n) (IPv4
 * prefixes also match IPv4-mapped IPv6 destinations), n == 0: none; the
 * kernel runs the filter, so sockets in no zone cost no tcp_info. Without a
 * call every socket is listed; past 1024 prefixes too. From the next dump;
 * sockets a changed filter lets through count from that dump on. */
void nmt_set_filter(const struct nmt_prefix *p, size_t n);
/* The inet_diag bytecode of that filter into bc (cap bytes): its length, or
 * 0 if it does not fit. (For tests.) */
size_t nmt_filter_build(const struct nmt_prefix *p, size_t n, unsigned char *bc,
			size_t cap);
/* Where per-zone counts come from (enum nm_bpf, default NM_BPF_AUTO): eBPF
 * (netmon/tcpbpf.c: zones from the prefixes of nmt_set_filter, the longest
 * match winning, and this host's own addresses (netmon/addr.c) in none;
 * the zone function is not called) or sock_diag. auto: eBPF where it loads
 * and nmt_set_filter was called, said at info with the reason; yes: nmt_init
 * fails without it. Before nmt_init. */
void nmt_set_bpf(int mode);
/* Where the eBPF counting takes each socket's counts (enum nm_tcp_count,
 * default NM_TCP_SENT), read when nmt_init starts it. */
void nmt_set_tcp_count(int where);
/* 1 when the per-zone counts come from eBPF, 0 from sock_diag. */
int nmt_bpf_active(void);
/* Receive buffer of the event socket (default 4 MiB); before nmt_init. */
void nmt_set_event_rcvbuf(int bytes);

/* Parse one SOCK_DIAG_BY_FAMILY message; nlh->nlmsg_len bytes must be
 * readable (nlmsg_ok checked). have == 0 when it had no INET_DIAG_INFO
 * (e.g. a TIME_WAIT socket). 0, or -1 when malformed. */
int nmt_parse_diag_msg(const struct nlmsghdr *nlh, struct nmt_sock *out);
/* Parse /proc/net/snmp text (len bytes, NUL not needed) for Tcp: OutSegs and
 * RetransSegs. 0, or -1 when they are missing or malformed. */
int nmt_parse_snmp(const char *text, size_t len, struct nm_host_tcp *out);
/* Parse /proc/net/netstat text for the TcpExt fields above (absent ones 0).
 * 0, or -1 when there is no well-formed TcpExt pair of lines. */
int nmt_parse_netstat(const char *text, size_t len, struct nmt_tcpext *out);

#endif
