/* addr.h — this host's own addresses (its network namespace's), so that
 * traffic to itself counts in no zone: the nftables counters skip loopback
 * by interface type, the TCP accounting by destination (a socket to one of
 * these addresses talks over loopback). See docs/netmon.md. */
#ifndef VPCF_NETMON_ADDR_H
#define VPCF_NETMON_ADDR_H

#include <stddef.h>

/* Read the addresses again (getifaddrs): 1 when the set changed, 0 when
 * not, -1 when unreadable (logged once; the old set stays). */
int nma_refresh(void);
/* Is addr (family AF_INET: 4 bytes, AF_INET6: 16, network order) one of
 * them? O(log n). */
int nma_is_local(int family, const void *addr);
/* The number of addresses held. */
size_t nma_count(void);
/* The i-th of them (family AF_INET: 4 bytes of addr used, AF_INET6: 16).
 * 0, or -1 when i is past the end. */
int nma_get(size_t i, int *family, unsigned char addr[16]);
/* Forget them. */
void nma_fini(void);

#endif
