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
 * Two variants per direction: link-layer header of 14 bytes (Ethernet) or
 * none (tunnels, tun, wireguard: the packet starts at the IP header). A
 * packet carrying a VLAN tag in its metadata is counted on the VLAN device,
 * not again on the device below it (nftables sees it once, on the VLAN
 * device). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * ZB_SLOTS);
	__type(key, __u32);
	__type(value, struct zb_count);
} zb_counts SEC(".maps");

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

static __always_inline void count(struct __sk_buff *skb, __u32 l2, __u32 dir)
{
	__u32 *slot = 0, key;
	struct zb_count *c;

	if (skb->vlan_present)
		return;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct zb_key4 k = {.plen = 32};
		/* saddr at 12, daddr at 16 of the IPv4 header */
		if (load(skb, l2 + (dir == ZB_IN ? 12 : 16), k.addr, 4) != 0)
			return;
		slot = bpf_map_lookup_elem(&zb_lpm4, &k);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct zb_key6 k = {.plen = 128};
		/* saddr at 8, daddr at 24 of the IPv6 header */
		if (load(skb, l2 + (dir == ZB_IN ? 8 : 24), k.addr, 16) != 0)
			return;
		slot = bpf_map_lookup_elem(&zb_lpm6, &k);
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
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
