/* zone.h — the network monitor's zones: [netmon] zone.NAME CIDRs flattened
 * into sorted, non-overlapping address intervals per family, each interval
 * belonging to the zone of the longest prefix that covers it (nftables
 * interval maps refuse overlaps). Built once per configuration, read-only. */
#ifndef VPCF_NETMON_ZONE_H
#define VPCF_NETMON_ZONE_H

#include <stddef.h>

struct nm_cfg;
struct nmz;

/* One interval: every address from lo to hi (inclusive) is in zone. */
struct nmz_range {
	unsigned char lo[16]; /* network byte order; IPv4 uses the first 4 bytes */
	unsigned char hi[16];
	int zone; /* index of the zone in configuration order */
};

/* Zones of nm (validated by cfg_load); never NULL. Free with nmz_free. */
struct nmz *nmz_build(const struct nm_cfg *nm);
/* Free z (NULL is fine). */
void nmz_free(struct nmz *z);
/* Number of zones; zone indices are 0 .. nmz_count() - 1, config order. */
size_t nmz_count(const struct nmz *z);
/* Name of zone i (i < nmz_count). */
const char *nmz_name(const struct nmz *z, size_t i);
/* Index of the zone called name, or -1. */
int nmz_find(const struct nmz *z, const char *name);
/* The intervals of family (AF_INET or AF_INET6): sorted, disjoint, adjacent
 * intervals of one zone merged; their number in *n. Owned by z. */
const struct nmz_range *nmz_ranges(const struct nmz *z, int family, size_t *n);
/* Zone index of addr (4 or 16 bytes, network byte order), or -1. O(log n). */
int nmz_lookup(const struct nmz *z, int family, const void *addr);

/* An address of 4 or 16 bytes (network byte order) as a number, and back. */
typedef unsigned __int128 nmz_u128;
nmz_u128 nmz_addr_get(const unsigned char *a, size_t bytes);
void nmz_addr_put(unsigned char *a, size_t bytes, nmz_u128 v);
/* The CIDR blocks covering lo..hi (addresses of 4 or 16 bytes) exactly, the
 * fewest: each the largest aligned block that starts where the one before
 * ended and stays within hi; out(network, prefix length, arg) for each, in
 * order. For the eBPF tries (zbpf.c) and nftables' hash maps (nft.c). */
void nmz_cut(size_t bytes, nmz_u128 lo, nmz_u128 hi,
	     void (*out)(nmz_u128 net, unsigned plen, void *arg), void *arg);

#endif
