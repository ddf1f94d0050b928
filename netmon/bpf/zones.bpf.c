/* zones.bpf.c — per-zone packet and byte counters at tc (clsact) ingress
 * and egress, the eBPF twin of nftables' prerouting/postrouting counters
 * (netmon/nft.c): ingress looks the source address up, egress the
 * destination, in a longest-prefix trie per family (prefix → slot), and adds
 * one packet and its L3 length (what netfilter counts: the network header
 * onwards) to a per-CPU counter. Loaded and attached by netmon/zbpf.c.
 *
 * Programs return TC_ACT_UNSPEC: "no opinion", the classifier chain goes on
 * to the next filter and, at its end, the packet passes unchanged. (TC_ACT_OK
 * would also pass it, but end the chain: filters after ours would never
 * run.) Nothing is dropped or written.
 *
 * The lookup, IPv4: up to ZB_NRANGE intervals (the zones' disjoint
 * intervals, nmz) are searched in place by bisection in arrays of the
 * program's .bss, without any map lookup (perf put most of the cost in the
 * lookups' helpers). Beyond that, and for IPv6: the zones' CIDRs (their disjoint
 * intervals cut into prefixes, so an address is in at most one) are in a hash map keyed
 * by (prefix length, masked address); the program tries each of the few prefix lengths in
 * use (AZ subnets: usually one) with one hash lookup each. A family with more than
 * ZB_NPLEN lengths, or more than ZB_HASHED prefixes, is looked up in a
 * longest-prefix-match trie instead, which holds the same prefixes (and serves while a
 * reload rewrites the hash map). A family without zones costs no lookup. The LPM trie's
 * walk was most of the cost (bench/netmon.sh, perf: trie_lookup_elem).
 *
 * Two variants per direction: link-layer header of 14 bytes (Ethernet) or
 * none (tunnels, tun, wireguard: the packet starts at the IP header). A
 * packet carrying a VLAN tag in its metadata is counted on the VLAN device,
 * not again on the device below it (nftables sees it once, on the VLAN
 * device). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "netmon/bpf/zones.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZB_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zb_key4);
	__type(value, __u32);
} zb_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZB_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zb_key6);
	__type(value, __u32);
} zb_lpm6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZB_HASHED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zb_key4);
	__type(value, __u32);
} zb_hash4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZB_HASHED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zb_key6);
	__type(value, __u32);
} zb_hash6 SEC(".maps");

/* Set by netmon/zbpf.c (the skeleton's mmapped .bss): per family the
 * number of prefix lengths in the hash map (0: no zones, ZB_TRIE: use the
 * trie) and the lengths. */
__u32 zb_n4, zb_n6;
/* IPv4 by bisection when zb_nr4 > 0: zb_nr4 sorted disjoint intervals
 * [zb_r4lo, zb_r4hi] (host order) and their slots. */
__u32 zb_nr4;
__u32 zb_r4lo[ZB_NRANGE], zb_r4hi[ZB_NRANGE], zb_r4slot[ZB_NRANGE];
__u8 zb_len4[ZB_NPLEN], zb_len6[ZB_NPLEN];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * ZB_SLOTS);
	__type(key, __u32);
	__type(value, struct zb_count);
} zb_counts SEC(".maps");

/* Egress hands a packet with a socket, unless it is UDP or ICMP (maybe_tcp),
 * on to the program in slot 0, if netmon/tcpbpf.c put one there (its
 * per-socket TCP counting, nmtb_tx): a tail call, so that one program runs at
 * the hook instead of two (each program the hook runs costs a dispatch about
 * as dear as our counting: bench/netmon.sh). It returns TC_ACT_UNSPEC as we
 * do. An empty slot: the call falls through. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} zb_then SEC(".maps");

/* Copy len bytes at off: straight from the linear data when it holds them,
 * else through the helper (headers in a paged fragment). */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + off + len <= end) {
		__builtin_memcpy(to, data + off, len);
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* Whether a packet with a socket may carry a TCP socket's segments, and so
 * goes on to the TCP counting: not when its IP header says UDP or ICMP (DNS,
 * NTP, statsd; the benchmark's 64-byte UDP), which would pay for the tail call
 * and the socket's lookup only to be turned away there. Anything else goes on:
 * TCP, and TCP inside ESP or a tunnel protocol, whose socket may still be the
 * TCP one. The one loss: TCP in UDP-encapsulated ESP (IPsec NAT traversal,
 * transport mode) is not counted where sent; its socket's counts are added
 * at its close, or by the walk if the zone counters stop (nothing is lost,
 * only late). */
static __always_inline int maybe_tcp(struct __sk_buff *skb, __u32 l2)
{
	__u8 p;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (load(skb, l2 + 9, &p, 1) != 0)
			return 1;
		return p != IPPROTO_UDP && p != IPPROTO_ICMP;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (load(skb, l2 + 6, &p, 1) != 0)
			return 1;
		return p != IPPROTO_UDP && p != IPPROTO_ICMPV6;
	}
	return 0;
}

static __always_inline __u32 *find4(__u32 addr)
{
	struct zb_key4 k;
	__u32 n = zb_n4;

	if (n > ZB_NPLEN) {
		k.plen = 32;
		__builtin_memcpy(k.addr, &addr, 4);
		return bpf_map_lookup_elem(&zb_lpm4, &k);
	}
	for (__u32 i = 0; i < ZB_NPLEN && i < n; i++) {
		__u32 plen = zb_len4[i], m, *slot;

		m = plen == 0 ? 0 : addr & bpf_htonl(~0u << (32 - plen));
		k.plen = plen;
		__builtin_memcpy(k.addr, &m, 4);
		if ((slot = bpf_map_lookup_elem(&zb_hash4, &k)))
			return slot;
	}
	return 0;
}

/* The slot of a (host order) among the zb_nr4 intervals, or -1. */
static __always_inline int range4(__u32 a)
{
	__u32 lo = 0, hi = zb_nr4 < ZB_NRANGE ? zb_nr4 : ZB_NRANGE;

	/* lo ends as the number of intervals starting at or before a: 7
	 * halvings of at most 64 */
	for (int i = 0; i < 7; i++) {
		__u32 mid = (lo + hi) >> 1;
		if (lo >= hi)
			break;
		if (zb_r4lo[mid & (ZB_NRANGE - 1)] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	lo = (lo - 1) & (ZB_NRANGE - 1);
	return a <= zb_r4hi[lo] ? (int)zb_r4slot[lo] : -1;
}

/* The first plen bits of 64, in network order. */
static __always_inline __u64 mask64(__u32 plen)
{
	return plen == 0 ? 0 : plen >= 64 ? ~0ull : bpf_cpu_to_be64(~0ull << (64 - plen));
}

static __always_inline __u32 *find6(__u64 hi, __u64 lo)
{
	struct zb_key6 k;
	__u32 n = zb_n6;

	if (n > ZB_NPLEN) {
		k.plen = 128;
		__builtin_memcpy(k.addr, &hi, 8);
		__builtin_memcpy(k.addr + 8, &lo, 8);
		return bpf_map_lookup_elem(&zb_lpm6, &k);
	}
	for (__u32 i = 0; i < ZB_NPLEN && i < n; i++) {
		__u32 plen = zb_len6[i], *slot;
		__u64 h = hi & mask64(plen), l = plen > 64 ? lo & mask64(plen - 64) : 0;

		k.plen = plen;
		__builtin_memcpy(k.addr, &h, 8);
		__builtin_memcpy(k.addr + 8, &l, 8);
		if ((slot = bpf_map_lookup_elem(&zb_hash6, &k)))
			return slot;
	}
	return 0;
}

static __always_inline void count(struct __sk_buff *skb, __u32 l2, __u32 dir)
{
	__u32 *slot = 0, key, s;
	struct zb_count *c;

	if (skb->vlan_present)
		return;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u32 a;
		/* saddr at 12, daddr at 16 of the IPv4 header */
		if ((zb_n4 == 0 && zb_nr4 == 0) ||
		    load(skb, l2 + (dir == ZB_IN ? 12 : 16), &a, 4) != 0)
			return;
		if (zb_nr4) {
			int r = range4(bpf_ntohl(a));
			if (r < 0)
				return;
			s = (__u32)r;
			slot = &s;
		} else {
			slot = find4(a);
		}
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		__u64 a[2];
		/* saddr at 8, daddr at 24 of the IPv6 header */
		if (zb_n6 == 0 || load(skb, l2 + (dir == ZB_IN ? 8 : 24), a, 16) != 0)
			return;
		slot = find6(a[0], a[1]);
	}
	if (slot == 0 || *slot >= ZB_SLOTS)
		return;
	key = *slot * 2 + dir;
	c = bpf_map_lookup_elem(&zb_counts, &key);
	if (c == 0 || skb->len < l2)
		return;
	c->packets++;
	c->bytes += skb->len - l2;
}

SEC("tc")
int zb_in_eth(struct __sk_buff *skb)
{
	count(skb, ETH_HLEN, ZB_IN);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int zb_out_eth(struct __sk_buff *skb)
{
	count(skb, ETH_HLEN, ZB_OUT);
	if (skb->sk && maybe_tcp(skb, ETH_HLEN))
		bpf_tail_call(skb, &zb_then, 0);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int zb_in_raw(struct __sk_buff *skb)
{
	count(skb, 0, ZB_IN);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int zb_out_raw(struct __sk_buff *skb)
{
	count(skb, 0, ZB_OUT);
	if (skb->sk && maybe_tcp(skb, 0))
		bpf_tail_call(skb, &zb_then, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
