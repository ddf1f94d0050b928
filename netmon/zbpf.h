/* zbpf.h — the zone packet/byte counters in eBPF (tc ingress/egress on every
 * interface but loopback, netmon/bpf/zones.bpf.c), the alternative to the
 * nftables table of nft.h: same zones, same counts. docs/netmon.md. */
#ifndef VPCF_NETMON_ZBPF_H
#define VPCF_NETMON_ZBPF_H

#include <stddef.h>

#include "netmon/netmon.h"

struct nmz;

/* Load the programs, fill their tries from z, attach them to every interface
 * of this network namespace (and, from the event loop, to interfaces that
 * appear later). 0, or -1 with why (a phrase for the log) filled; nothing
 * stays loaded or attached then. */
int nmb_init(const struct nmz *z, char *why, size_t whylen);
/* Count the zones of z from now on, updating the tries in place: zones of
 * the same name keep counting from their values, new zones start at 0. 0 or
 * -1 (logged; the previous zones stay). */
int nmb_apply(const struct nmz *z);
/* The counters of z's zones (the z given to the last nmb_apply), summed over
 * CPUs, into out[0 .. nmz_count(z) - 1] (cumulative). 0 or -1 (logged). */
int nmb_read(const struct nmz *z, struct nm_zone_counters *out);
/* Interfaces with the counters attached. */
size_t nmb_ifaces(void);
/* How they are attached: "tcx" (Linux 6.6+), "clsact", or "tcx and clsact". */
const char *nmb_hook(void);
/* Detach from every interface and unload. */
void nmb_fini(void);

/* Run the tc program prog_fd after the egress counters, for every packet
 * with a socket, in a tail call (netmon/tcpbpf.c's per-socket TCP counting:
 * one program at the hook, on whatever interfaces the counters are, as they
 * come and go). It must return TC_ACT_UNSPEC. A generation for
 * nmb_chained (nonzero; a new one with each nmb_init and nmb_unchain), or 0
 * when the counters are not loaded (errno ENOENT) or the kernel refused
 * (errno). */
unsigned nmb_chain(int prog_fd);
/* Is what nmb_chain set for gen still running (same counters, not undone)? */
int nmb_chained(unsigned gen);
/* Empty the slot, if gen's counters still run. */
void nmb_unchain(unsigned gen);

/* tcx (Linux 6.6) attach types, for bpf_link_create: libbpf 1.1 has no tcx
 * API and Debian 12's headers lack them (the bench's zbpf-probe uses them
 * too). */
#define NMB_TCX_INGRESS 46 /* BPF_TCX_INGRESS */
#define NMB_TCX_EGRESS	47 /* BPF_TCX_EGRESS */

#endif
