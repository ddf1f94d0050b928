/* tcp.bpf.c — per-zone TCP counting in the kernel (loaded by netmon/tcpbpf.c):
 * a tc program that the zone counters' egress program (zones.bpf.c) calls
 * for each packet with a socket adds, for each TCP packet the daemon's
 * network namespace sends, what its socket sent since last accounted to
 * the socket's destination zone. Where the zone counters do not run in
 * eBPF, an iter/tcp program run once per collection walks the namespace's TCP
 * sockets and does the same per socket (sockets quiet since the walk before
 * are passed by with one read); one walk is the baseline in either case.
 * A tp_btf/inet_sock_set_state program adds the remainder of a socket
 * going to TCP_CLOSE, so connections that open and close between two
 * collections count as well, and one on tcp_destroy_sock what a socket
 * sent after TCP_CLOSE. User space reads only the per-zone totals (.bss,
 * mmapped). Same rules as netmon/tcp.c's sock_diag path; see
 * docs/netmon.md, "TCP in eBPF".
 *
 * CO-RE against hand-written subsets of the kernel's structs (the fields
 * used, preserve_access_index): a few dozen lines instead of a multi-MB
 * vmlinux.h, and the build needs no BTF of the build host's kernel. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "netmon/bpf/tcp.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	    2
#define AF_INET6    10
#define TCP_CLOSE   7
#define IPPROTO_TCP 6
/* The sending states of netmon/tcp.c's NMT_STATES: ESTABLISHED, SYN_SENT,
 * SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING. */
#define NMTB_STATES                                                                      \
	((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 8) |         \
	 (1u << 9) | (1u << 11))

struct in6_addr {
	__u8 a[16];
};

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct {
		struct net *net;
	} skc_net;
	struct in6_addr skc_v6_daddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u64 tcp_mstamp; /* µs, CLOCK_MONOTONIC: the socket's last send or receive */
	__u32 segs_out;
	__u64 bytes_sent;
	__u32 srtt_us; /* smoothed RTT << 3, as tcpi_rtt reports it >> 3 */
	__u64 bytes_retrans;
	__u32 total_retrans;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	void *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NMTB_PREFIXES);
	__type(key, struct nmtb_key4);
	__type(value, __u32);
} zones4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, NMTB_PREFIXES);
	__type(key, struct nmtb_key6);
	__type(value, __u32);
} zones6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nmtb_sock);
} socks SEC(".maps");

/* Set by the loader before load: the daemon's network namespace (the close
 * tracepoint sees every namespace's sockets). */
const volatile __u32 net_inum = 0;

/* Written by user space through the mmapped .bss. */
__u32 zgen = 1;	     /* bumped: zones of sockets are looked up again */
__u32 bank = 0;	     /* counters in use; flipped (the other one zeroed) by a reload */
__u32 nzones = 0;    /* zone indices at or above are in none */
__u32 baseline = 0;  /* the iterator records sockets without adding */
__u64 active_us = 0; /* CLOCK_MONOTONIC: sockets quiet since are passed by */
__u32 interval = 0;  /* bumped by each collection: one RTT observation in each */
/* Written here: bookkeeping for nmt_stats. */
__u64 seen = 0;	  /* sockets the iterator visited, cumulative */
__u64 closed = 0; /* closes accounted */
__u64 unseen = 0; /* ... of sockets the iterator had not visited */
__u64 quiet = 0;  /* sockets the iterator passed by, quiet (cumulative) */

struct nmtb_zone zc[2][NMTB_ZONES_MAX];

static const __u32 rtt_le[NMTB_RTT_NBOUNDS] = NMTB_RTT_BOUNDS;

static __u32 zone_of(const struct sock_common *skc)
{
	__u32 *z = 0;

	if (skc->skc_family == AF_INET) {
		struct nmtb_key4 k = {.plen = 32};

		__builtin_memcpy(k.addr, &skc->skc_daddr, 4);
		z = bpf_map_lookup_elem(&zones4, &k);
	} else if (skc->skc_family == AF_INET6) {
		struct nmtb_key6 k = {.plen = 128};

		BPF_CORE_READ_INTO(&k.addr, skc, skc_v6_daddr);
		/* IPv4-mapped (::ffff:a.b.c.d): looked up as IPv4 */
		if (*(__u64 *)&k.addr[0] == 0 && *(__u32 *)&k.addr[8] == 0xffff0000u) {
			struct nmtb_key4 k4 = {.plen = 32};

			__builtin_memcpy(k4.addr, &k.addr[12], 4);
			z = bpf_map_lookup_elem(&zones4, &k4);
		} else {
			z = bpf_map_lookup_elem(&zones6, &k);
		}
	}
	if (z == 0 || *z >= nzones || *z >= NMTB_ZONES_MAX)
		return NMTB_ZONE_NONE;
	return *z;
}

static __u32 rtt_bucket(__u32 us)
{
	for (__u32 i = 0; i < NMTB_RTT_NBOUNDS; i++)
		if (us <= rtt_le[i])
			return i;
	return NMTB_RTT_NBOUNDS;
}

/* Take s for one account: 1, or 0 when another holds it. Sockets send
 * under their own lock, so two accounts of one socket meet only when a
 * packet a neighbour lookup held back leaves beside one sent under it:
 * rare, and short. A compare-and-swap, not bpf_spin_lock, whose helpers
 * and interrupts off cost a TCP segment counted where sent more than the
 * rest of its accounting (bench/netmon.sh, perf). tries: how often to try;
 * 1 where another account of the socket is sure to come (a packet: its
 * socket's next one, or its close, adds what this one would have). */
static __always_inline int take(struct nmtb_sock *s, int tries)
{
	for (int i = 0; i < 4096; i++) {
		if (i >= tries)
			return 0;
		if (__sync_val_compare_and_swap(&s->busy, 0, 1) == 0)
			return 1;
	}
	return 0;
}

/* Add what tp sent since s last saw it to s's zone; record = 1: only record
 * (the baseline). Called for every socket in a sending state, zoned or not,
 * so that a socket a reload puts in a zone counts from then on. The counts
 * are read and s moved on while s is taken (tries: take's). A socket that
 * sent, with an RTT sample, adds one observation per interval (a collection
 * bumps it). */
static __always_inline void account(struct tcp_sock *tp, const struct sock_common *skc,
				    struct nmtb_sock *s, int record, int tries)
{
	__u32 g = zgen, b = bank & 1, iv = interval;
	__u32 zone = s->zgen != g ? zone_of(skc) : 0;
	__u32 segs, retrans, dsegs, dretrans, rtt;
	__u64 bytes, bytes_retrans, dbytes, dbretrans;
	int observe = 0;

	if (!take(s, tries))
		return;
	segs = tp->segs_out;
	retrans = tp->total_retrans;
	bytes = tp->bytes_sent;
	bytes_retrans = tp->bytes_retrans;
	rtt = tp->srtt_us >> 3;
	dsegs = segs - s->segs_out;
	dretrans = retrans - s->retrans;
	dbytes = bytes - s->bytes_sent;
	dbretrans = bytes_retrans - s->bytes_retrans;
	/* tcp_disconnect() (connect(AF_UNSPEC), close() with SO_LINGER 0)
	 * zeroes the counts of a socket that may connect again: a 64-bit byte
	 * count going backwards says so, or a 32-bit count going backwards
	 * while its bytes stood still (a wrap takes 2^32 segments), and the
	 * socket counts from 0. */
	if (bytes < s->bytes_sent || bytes_retrans < s->bytes_retrans ||
	    (segs < s->segs_out && bytes == s->bytes_sent) ||
	    (retrans < s->retrans && bytes_retrans == s->bytes_retrans)) {
		dsegs = segs;
		dretrans = retrans;
		dbytes = bytes;
		dbretrans = bytes_retrans;
	}
	/* zgen only grows: a lookup made for g is the newest */
	if (s->zgen != g) {
		s->zone = zone;
		s->zgen = g;
	}
	zone = s->zone;
	s->segs_out = segs;
	s->retrans = retrans;
	s->bytes_sent = bytes;
	s->bytes_retrans = bytes_retrans;
	if (!record && dsegs && rtt && s->observed != iv) {
		s->observed = iv;
		observe = 1;
	}
	__sync_lock_test_and_set(&s->busy, 0); /* an exchange: release */
	if (record || zone >= NMTB_ZONES_MAX)
		return;
	struct nmtb_zone *z = &zc[b][zone & (NMTB_ZONES_MAX - 1)];
	if (dsegs)
		__sync_fetch_and_add(&z->segs_out, dsegs);
	if (dretrans)
		__sync_fetch_and_add(&z->retrans, dretrans);
	if (dbytes)
		__sync_fetch_and_add(&z->bytes_sent, dbytes);
	if (dbretrans)
		__sync_fetch_and_add(&z->bytes_retrans, dbretrans);
	if (observe) {
		__sync_fetch_and_add(&z->rtt[rtt_bucket(rtt) & 15], 1);
		__sync_fetch_and_add(&z->rtt_sum_us, rtt);
	}
}

SEC("iter/tcp")
int nmtb_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct nmtb_sock *s;
	struct tcp_sock *tp;
	int fresh;

	if (skc == 0 || !((1u << skc->skc_state) & NMTB_STATES))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp == 0)
		return 0;
	seen++; /* one walk at a time: no other writer */
	/* A socket that neither sent nor received since the previous walk
	 * began (most of them) has nothing to add: every walk accounts what a
	 * socket sent before it took the socket's lock, and whatever sends
	 * after refreshes tcp_mstamp first (tcp_write_xmit, the receive path,
	 * the retransmit, delayed-ACK and keepalive timers). Passed by with
	 * one read, not the three cache misses of its storage and counts. */
	if (tp->tcp_mstamp < active_us) {
		quiet++;
		return 0;
	}
	s = bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s == 0)
		return 0;
	/* Active but sent nothing (received only): segs_out, which every
	 * segment sent moves, is as last seen; its other counts lie on other
	 * cache lines: not read. */
	if (s->zgen == zgen && tp->segs_out == s->segs_out)
		return 0;
	fresh = s->zgen == 0;
	account(tp, skc, s, fresh && baseline, 4096);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(nmtb_close, struct sock *sk, int oldstate, int newstate)
{
	struct nmtb_sock *s;
	struct tcp_sock *tp;

	if (newstate != TCP_CLOSE || oldstate < 0 || oldstate > 31 ||
	    !((1u << oldstate) & NMTB_STATES))
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != net_inum)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp == 0)
		return 0;
	s = bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s == 0)
		return 0;
	__sync_fetch_and_add(&closed, 1);
	if (s->zgen == 0)
		__sync_fetch_and_add(&unseen, 1);
	/* The storage stays with the socket: a socket connected again after
	 * its close counts only what it sends from then on. */
	account(tp, &sk->__sk_common, s, 0, 4096);
	return 0;
}

/* A socket being destroyed (tcp_v4_destroy_sock, which IPv6 sockets pass
 * too): what it sent after its TCP_CLOSE, such as the RST close() sends
 * after the state change when data was left unread, counts, as the
 * sock_diag destroy event sent about then counted it. Only sockets with
 * storage: ours, seen before. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(nmtb_destroy, struct sock *sk)
{
	struct nmtb_sock *s;
	struct tcp_sock *tp;

	tp = bpf_skc_to_tcp_sock(sk);
	if (tp == 0)
		return 0;
	s = bpf_sk_storage_get(&socks, tp, 0, 0);
	if (s == 0 || s->zgen == 0)
		return 0;
	account(tp, &sk->__sk_common, s, 0, 4096);
	return 0;
}

/* Counting where segments are sent: tail-called by the zone counters'
 * egress program on every interface they are on (tcx links or clsact
 * filters), the socket of each TCP packet this namespace sends accounts
 * what it sent since last accounted, the packet included (the counts move
 * before the packet leaves TCP). Put in their slot after the baseline walk;
 * the collections then walk nothing. A socket with storage is this namespace's
 * (nothing makes storage for another's): the namespace is compared only
 * for a socket without, not for every packet. Returns "no opinion"
 * (TC_ACT_UNSPEC, TCX_NEXT), as the zone counters would: whatever else is
 * attached runs as before. */
SEC("tc")
int nmtb_tx(struct __sk_buff *skb)
{
	struct bpf_sock *bsk = skb->sk;
	struct nmtb_sock *s;
	struct tcp_sock *tp;

	if (bsk == 0)
		return -1;
	bsk = bpf_sk_fullsock(bsk);
	if (bsk == 0 || bsk->protocol != IPPROTO_TCP || bsk->state > 31 ||
	    !((1u << bsk->state) & NMTB_STATES))
		return -1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (tp == 0)
		return -1;
	const struct sock *sk = (const struct sock *)tp;
	s = bpf_sk_storage_get(&socks, tp, 0, 0);
	if (s == 0) {
		if (BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != net_inum)
			return -1;
		s = bpf_sk_storage_get(&socks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (s == 0)
			return -1;
	}
	account(tp, &sk->__sk_common, s, 0, 1);
	return -1;
}
