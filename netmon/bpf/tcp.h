/* tcp.h — what netmon/bpf/tcp.bpf.c and its loader (netmon/tcpbpf.c) share:
 * the zone tries' keys, the per-socket storage and the per-zone counters the
 * kernel adds to. Included by BPF C (with <linux/types.h>) and by user space.
 * See docs/netmon.md, "TCP in eBPF". */
#ifndef VPCF_NETMON_BPF_TCP_H
#define VPCF_NETMON_BPF_TCP_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

#define NMTB_ZONES_MAX	 1024  /* zones the eBPF counters hold */
#define NMTB_PREFIXES	 16384 /* entries per zone trie (prefixes + own addresses) */
#define NMTB_ZONE_NONE	 0xffffffffu /* trie value: counts in no zone (own address) */
#define NMTB_RTT_NBOUNDS 13	     /* = NM_RTT_NBUCKETS (checked in tcpbpf.c) */
#define NMTB_RTT_BOUNDS                                                                  \
	{                                                                                \
		100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000,    \
		    500000, 1000000                                                      \
	}

/* LPM trie keys: prefix length, then the address in network order. */
struct nmtb_key4 {
	__u32 plen;
	__u8 addr[4];
};
struct nmtb_key6 {
	__u32 plen;
	__u8 addr[16];
};

/* Per socket (BPF_MAP_TYPE_SK_STORAGE, freed with the socket): the counts
 * already added and the zone they go to, looked up again when zgen is not
 * the current one (a reload, a changed set of own addresses). zgen 0: just
 * created, nothing added yet. Moved on by one account at a time (busy,
 * taken by compare-and-swap): a packet sent outside the socket's lock (one
 * a neighbour lookup held back) may be accounted beside one sent under
 * it. */
struct nmtb_sock {
	__u64 bytes_sent;
	__u64 bytes_retrans;
	__u32 segs_out;
	__u32 retrans;
	__u32 zone; /* NMTB_ZONE_NONE: in none */
	__u32 zgen;
	__u32 observed; /* the interval of its last RTT observation */
	__u32 busy;	/* 1 while an account moves it on */
};

/* Per zone, cumulative, added to atomically by the iterator and the close
 * tracepoint. */
struct nmtb_zone {
	__u64 segs_out;
	__u64 retrans;
	__u64 bytes_sent;
	__u64 bytes_retrans;
	__u64 rtt[NMTB_RTT_NBOUNDS + 1]; /* [NMTB_RTT_NBOUNDS]: +Inf */
	__u64 rtt_sum_us;
};

#endif
