/* cfg.h — the configuration file: the sections its modules own (each parsed
 * by the INI engine, lib/ini.h, from the module's key table), in one fresh
 * struct that callers swap in only when it parsed cleanly. */
#ifndef VPCF_CFG_H
#define VPCF_CFG_H

#include <limits.h>
#include <stddef.h>

#include "daemon/daemon_cfg.h"
#include "daemon/group_cfg.h"
#include "daemon/notify_cfg.h"
#include "netmon/nm_cfg.h"
#include "vpc/aws_cfg.h"

#define CFG_PATH_DEFAULT "/etc/vpc-failover/vpc-failover.conf"

struct cfg {
	char path[PATH_MAX];
	struct aws_cfg aws;		  /* [aws]: vpc/aws_cfg.h */
	struct daemon_cfg daemon;	  /* [daemon]: daemon/daemon_cfg.h */
	struct ka_cfg keepalived;	  /* [keepalived]: daemon/daemon_cfg.h */
	struct nm_cfg netmon;		  /* [netmon]: netmon/nm_cfg.h */
	struct nmp_cfg metrics;		  /* [metrics]: netmon/nm_cfg.h */
	struct ntf_mackerel_cfg mackerel; /* [mackerel]: daemon/notify_cfg.h */
	struct ntf_webhook_cfg webhook;	  /* [webhook]: daemon/notify_cfg.h */
	struct cfg_group *groups;	  /* [group NAME]: daemon/group_cfg.h */
	size_t ngroups;
};

/* Parse path into a new cfg; every error is logged as "path:line: message".
 * Returns NULL if there was any error. */
struct cfg *cfg_load(const char *path);
void cfg_free(struct cfg *c);
/* The group called name, or NULL. */
const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name);
/* Reload: every restart-only key (INI_RESTART) whose value differs between
 * the running configuration and fresh is logged and set back to its running
 * value in fresh. Returns how many there were. */
int cfg_keep_restart(struct cfg *fresh, const struct cfg *running);

#endif
