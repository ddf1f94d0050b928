/* nft.h — the daemon's own nftables table "inet vpc_failover": one named
 * counter per zone and direction, fed by interval maps from base chains that
 * only count (policy accept, no verdicts). Netlink only (libmnl + libnftnl).
 * Layout and what is counted where: docs/netmon.md. */
#ifndef VPCF_NETMON_NFT_H
#define VPCF_NETMON_NFT_H

#include <stddef.h>

#include "netmon/netmon.h"

#define NMF_TABLE "vpc_failover" /* family inet */

struct nmz;

/* Create the table for the zones of z, or replace the one there in one
 * transaction. Counters of zones that were in the table this process made
 * before keep counting from their values (a reload resets nothing); new zones
 * start at 0; a table left by another process is replaced from 0. 0 or -1. */
int nmf_apply(const struct nmz *z);
/* Read every counter in one dump into out[0 .. nmz_count(z) - 1] (cumulative).
 * -1 if the table or any of z's counters is missing (flushed by someone:
 * nmf_apply again restores it from the values read last). */
int nmf_read(const struct nmz *z, struct nm_zone_counters *out);
/* The overlays (failover groups' destinations) to count by source zone from
 * the next nmf_apply on: counters "<group>@<zone>" and "<group>@*" (no zone);
 * ov is copied. Needs zones: without any nothing is counted. */
void nmf_set_overlays(const struct nm_overlay *ov, size_t n);
/* The overlays' counters of the table applied, as the last nmf_read (or
 * nmf_apply) left them: *n overlays in nmf_set_overlays order, each with
 * nmz_count(z) + 1 slots (zones, then no zone). Owned here, valid until the
 * next nmf_apply or nmf_remove. */
const struct nm_ov_counters *nmf_overlays(size_t *n);
/* Whether the next nmf_apply adds the rules that count zones (default 1):
 * 0 when eBPF counts them (netmon/zbpf.h) and the table is there for the
 * overlays only; the zones' counters then exist but stay as they were. */
void nmf_zone_rules(int on);
/* Delete the table; a missing table is fine. Logged on failure. */
void nmf_remove(void);

#endif
