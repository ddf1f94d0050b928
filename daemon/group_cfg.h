/* group_cfg.h — [group NAME]: one set of addresses that moves together,
 * following one keepalived VRRP instance or group. Parsed by the INI engine
 * (lib/ini.h); cfg.c lists the section. */
#ifndef VPCF_GROUP_CFG_H
#define VPCF_GROUP_CFG_H

#include <stddef.h>

#include "lib/cidr.h"
#include "lib/ini.h"
#include "vpc/aws_cfg.h"

/* Not PATH_MAX: a group is copied and zeroed per [group], and 4 KiB a group
 * made a config of many groups slow to parse. */
#define CFG_TRACK_PATH_MAX 256

struct cfg_group {
	char name[INI_NAME_MAX];
	char vrrp_instance[INI_NAME_MAX]; /* exactly one of these two is set */
	char vrrp_group[INI_NAME_MAX];
	struct cidr *destinations;
	size_t ndestinations;
	char (*route_tables)[AWS_ID_MAX];
	size_t nroute_tables;
	char network_interface[AWS_ID_MAX]; /* "" = this instance's primary ENI */
	char vip_device[16];		    /* "" = do not hold the destinations */
	unsigned recheck_interval_ms;	    /* 0 = no re-verification while MASTER */
	unsigned split_brain_flips;	    /* routes lost this often while MASTER ... */
	unsigned split_brain_window_ms;	    /* ... within this window: stop fighting */
	/* keepalived track_file `failover` writes; "" = none */
	char track_file[CFG_TRACK_PATH_MAX];
	/* a role of its own for this group's tables; "" = [aws] role_arn */
	char role_arn[AWS_ROLE_ARN_MAX];
	char external_id[AWS_EXTERNAL_ID_MAX];
	int line; /* where [group NAME] starts */
};

/* [group NAME] and its keys; its open() adds a group to struct cfg. */
extern const struct ini_section grp_cfg_section;

/* The checks that need a whole group, or all groups (two groups claiming one
 * route): errors at the groups' lines. */
void grp_cfg_check(struct ini *x, const struct cfg_group *groups, size_t n);
/* Free groups[0..n) and the array. */
void grp_cfg_free(struct cfg_group *groups, size_t n);

#endif
