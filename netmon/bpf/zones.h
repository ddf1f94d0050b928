/* zones.h — what netmon/bpf/zones.bpf.c and netmon/zbpf.c share: the keys of
 * the prefix tries, the counter slots and their layout. */
#ifndef VPCF_NETMON_BPF_ZONES_H
#define VPCF_NETMON_BPF_ZONES_H

#include <linux/types.h>

#define ZB_SLOTS    4096      /* zones the counters hold (slot = zone's place) */
#define ZB_PREFIXES (1 << 18) /* per family: zone intervals cut into CIDRs */
#define ZB_HASHED   (1 << 16) /* per family: at most this many in the hash maps */
#define ZB_NPLEN    8	      /* at most this many prefix lengths: hash lookups */
#define ZB_NRANGE   64	      /* IPv4: up to this many intervals, searched in place */
#define ZB_TRIE	    0xff      /* zb_n4/zb_n6: look up in the trie instead */

/* Keys of the tries and the hash maps: prefix length in bits, then the
 * address (network order; in the hash maps with the host bits cleared). */
struct zb_key4 {
	__u32 plen;
	__u8 addr[4];
};

struct zb_key6 {
	__u32 plen;
	__u8 addr[16];
};

/* One per-CPU counter: index slot * 2 + ZB_IN or ZB_OUT. */
struct zb_count {
	__u64 packets, bytes;
};

#define ZB_IN  0 /* ingress: source address in the zone */
#define ZB_OUT 1 /* egress: destination address in the zone */

#endif
