/* group_cfg.h — [group NAME]: one set of addresses that moves together,
 * following one keepalived VRRP instance or group, Patroni's leader key
 * in etcd (source = patroni) or Redis Sentinel's master (source = sentinel). Parsed by
 * the INI engine (lib/ini.h); cfg.c lists the section. */
#ifndef VPCF_GROUP_CFG_H
#define VPCF_GROUP_CFG_H

#include <stddef.h>

#include "lib/cidr.h"
#include "daemon/guard_cfg.h"
#include "lib/ini.h"
#include "lib/url.h"
#include "vpc/aws_cfg.h"

/* Not PATH_MAX: a group is copied and zeroed per [group], and 4 KiB a group
 * made a config of many groups slow to parse. */
#define CFG_TRACK_PATH_MAX 256
#define CFG_ETCD_MAX	   8   /* etcd_endpoints */
#define CFG_PATRONI_NS_MAX 128 /* patroni_namespace */
#define CFG_SENTINEL_MAX   9   /* sentinels */
#define CFG_SENTINEL_PORT  26379

/* The active probe (daemon/probe.h): host destinations one group's probe
 * connects to, at most; probe_interval's and probe_timeout's defaults. */
#define CFG_PROBE_DESTS_MAX   16
#define CFG_PROBE_INTERVAL_MS 10000
#define CFG_PROBE_TIMEOUT_MS  1000

/* Who says whether this node is MASTER (source =). */
enum cfg_source { CFG_SRC_KEEPALIVED, CFG_SRC_PATRONI, CFG_SRC_SENTINEL };
/* What a patroni group does while no etcd endpoint answers (and a sentinel
 * group while no quorum of sentinels agrees). */
enum cfg_etcd_lost { CFG_ETCD_KEEP, CFG_ETCD_STEP_DOWN };

/* One sentinel: an IP literal (no name: hiredis would resolve it blocking)
 * and its port. */
struct cfg_sentinel {
	char host[64]; /* "10.0.0.1", "fd00::1" (no brackets) */
	int port;
	char text[72]; /* "10.0.0.1:26379", "[fd00::1]:26379" */
};

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
	/* The role guard (daemon/guard.h): guard = "" is none. */
	char guard[GUARD_URL_MAX];
	char guard_password_file[CFG_TRACK_PATH_MAX];
	unsigned guard_timeout_ms;
	/* source = patroni (docs/config.md): the leader key in etcd decides */
	int source; /* enum cfg_source */
	char (*etcd_endpoints)[URL_MAX];
	size_t netcd_endpoints;
	char patroni_namespace[CFG_PATRONI_NS_MAX]; /* "" until checked: /service */
	char patroni_scope[INI_NAME_MAX];
	char member_name[INI_NAME_MAX];
	int etcd_unreachable;		       /* enum cfg_etcd_lost */
	unsigned etcd_step_down_after_ms;      /* step_down: after this long */
	char etcd_ca_file[CFG_TRACK_PATH_MAX]; /* "" = the system's CAs */
	/* etcd's client-certificate TLS: both or neither; the key file is a
	 * private file (vpc/creds.h creds_read_private), read at start */
	char etcd_cert_file[CFG_TRACK_PATH_MAX];
	char etcd_key_file[CFG_TRACK_PATH_MAX];
	/* etcd's user/password authentication: both or neither; the password
	 * file is private like etcd_key_file */
	char etcd_user[INI_NAME_MAX];
	char etcd_password_file[CFG_TRACK_PATH_MAX];

	/* The active probe (daemon/probe.h): probe = tcp:PORT, 0 = off */
	unsigned probe_port;
	unsigned probe_interval_ms, probe_timeout_ms; /* 0 until checked */
	/* source = sentinel (docs/config.md): a quorum of sentinels decides */
	struct cfg_sentinel *sentinels;
	size_t nsentinels;
	char sentinel_master[INI_NAME_MAX]; /* the monitored master's name */
	unsigned sentinel_quorum;	    /* 0 until checked: a majority */
	char sentinel_password_file[CFG_TRACK_PATH_MAX];
	char sentinel_address[64]; /* "" = any address of this node */
	int sentinel_unreachable;  /* enum cfg_etcd_lost */
	unsigned sentinel_step_down_after_ms;
	int line; /* where [group NAME] starts */
};

/* [group NAME] and its keys; its open() adds a group to struct cfg. */
extern const struct ini_section grp_cfg_section;

/* The checks that need a whole group, or all groups (two groups claiming one
 * route): errors at the groups' lines. */
void grp_cfg_check(struct ini *x, struct cfg_group *groups, size_t n);
/* Split "IP[:PORT]" or "[IPv6][:PORT]" (port default CFG_SENTINEL_PORT)
 * into *s: 0, or -1 with the reason in why. */
int grp_cfg_sentinel_parse(const char *w, struct cfg_sentinel *s, char *why,
			   size_t whylen);
/* The group's source as configured: "keepalived", "patroni", "sentinel". */
const char *grp_cfg_source_name(int source);
/* Free groups[0..n) and the array. */
void grp_cfg_free(struct cfg_group *groups, size_t n);

#endif
