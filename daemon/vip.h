/* vip.h — hold a group's destinations as local addresses on a device while
 * MASTER (vip_device), through rtnetlink (libnl-route). Idempotent. */
#ifndef VPCF_VIP_H
#define VPCF_VIP_H

#include <stddef.h>

#include "daemon/cfg.h"

int vip_init(void);
void vip_fini(void);
/* Add (present = 1) or remove every destination on ifname. 0, or -1 after
 * logging what failed (the others are still attempted). */
int vip_set(const char *ifname, const struct cidr *dests, size_t n, int present);

#endif
