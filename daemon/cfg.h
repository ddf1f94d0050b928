/* cfg.h — the configuration file (INI, libinih), parsed into a fresh struct
 * that callers swap in only when it parsed cleanly. */
#ifndef VPCF_CFG_H
#define VPCF_CFG_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include "lib/cidr.h"

#define CFG_PATH_DEFAULT	   "/etc/vpc-failover/vpc-failover.conf"
#define CFG_CONTROL_SOCKET_DEFAULT "/run/vpc-failover/control.sock"
#define CFG_STATE_DIR_DEFAULT	   "/var/lib/vpc-failover"
#define CFG_NAME_MAX		   64
#define CFG_ID_MAX		   32 /* rtb-/eni- ids: "rtb-" + 8 or 17 hex digits */
#define CFG_URL_MAX		   512
/* Not PATH_MAX: a group is copied and zeroed per [group], and 4 KiB a group
 * made a config of many groups slow to parse. */
#define CFG_TRACK_PATH_MAX 256

struct cfg_group {
	char name[CFG_NAME_MAX];
	char vrrp_instance[CFG_NAME_MAX]; /* exactly one of these two is set */
	char vrrp_group[CFG_NAME_MAX];
	struct cidr *destinations;
	size_t ndestinations;
	char (*route_tables)[CFG_ID_MAX];
	size_t nroute_tables;
	char network_interface[CFG_ID_MAX]; /* "" = this instance's primary ENI */
	char vip_device[16];		    /* "" = do not hold the destinations */
	unsigned recheck_interval_ms;	    /* 0 = no re-verification while MASTER */
	unsigned split_brain_flips;	    /* routes lost this often while MASTER ... */
	unsigned split_brain_window_ms;	    /* ... within this window: stop fighting */
	/* keepalived track_file `failover` writes; "" = none */
	char track_file[CFG_TRACK_PATH_MAX];
	int line; /* where [group NAME] starts */
};

struct cfg_aws {
	char region[32];	    /* "" = from instance metadata */
	char endpoint[CFG_URL_MAX]; /* "" = https://ec2.<region>.amazonaws.com */
	char metadata_endpoint[CFG_URL_MAX];
	char credentials_file[PATH_MAX];
	char profile[CFG_NAME_MAX];  /* section of credentials_file, "default" */
	char ca_file[PATH_MAX];	     /* "" = system CAs */
	unsigned api_deadline_ms;    /* overall deadline of one convergence */
	unsigned request_timeout_ms; /* one HTTP request */
	unsigned max_parallel;	     /* concurrent EC2 requests */
};

struct cfg_daemon {
	char control_socket[PATH_MAX];
	char state_dir[PATH_MAX];
	char control_group[CFG_NAME_MAX]; /* owns the 0660 socket; "root" default */
};

struct cfg_keepalived {
	char notify_fifo[PATH_MAX]; /* "" = events come through the notify hook */
	char pid_file[PATH_MAX];    /* keepalived's; "" = no liveness check */
};

/* One availability zone of the network monitor: zone.NAME = CIDR [CIDR ...] */
struct cfg_zone {
	char name[CFG_NAME_MAX];
	struct cidr *cidrs;
	size_t ncidrs;
	int line;
};

struct cfg_netmon {
	int enabled;	      /* yes/no; default yes when zones are configured */
	unsigned interval_ms; /* between collections */
	struct cfg_zone *zones;
	size_t nzones;
};

struct cfg_metrics {
	char listen[128]; /* "127.0.0.1:9641", "[::1]:9641"; "" = no HTTP endpoint */
	char tls_cert_file[PATH_MAX]; /* PEM certificate (chain): https when set */
	char tls_key_file[PATH_MAX];  /* its PEM key; mode 0600/0400 */
	char basic_auth_users_file[PATH_MAX]; /* "user: bcrypt-hash" lines */
	int allow_insecure_remote; /* a non-loopback listen without TLS and auth */
};

/* Mackerel graph annotations on each failover; off when api_key_file is "". */
#define CFG_ROLES_MAX 16
struct cfg_mackerel {
	char api_key_file[PATH_MAX]; /* holds the API key; mode 0600/0400 */
	char service[CFG_NAME_MAX];  /* required with api_key_file */
	char roles[CFG_ROLES_MAX][CFG_NAME_MAX];
	size_t nroles;
	char api_url[CFG_URL_MAX]; /* default https://api.mackerelio.com */
	int key_line;		   /* where api_key_file was set, for messages */
};

/* A JSON webhook (Slack-compatible "text"); off when url is "". */
struct cfg_webhook {
	char url[CFG_URL_MAX];
};

struct cfg {
	char path[PATH_MAX];
	struct cfg_aws aws;
	struct cfg_daemon daemon;
	struct cfg_keepalived keepalived;
	struct cfg_netmon netmon;
	struct cfg_metrics metrics;
	struct cfg_mackerel mackerel;
	struct cfg_webhook webhook;
	struct cfg_group *groups;
	size_t ngroups;
};

/* Parse path into a new cfg; every error is logged as "path:line: message".
 * Returns NULL if there was any error. */
struct cfg *cfg_load(const char *path);
void cfg_free(struct cfg *c);
/* A URL as libcurl's parser sees it (daemon/cfgurl.c), for the
 * configuration's URL checks. The lean notify hook, which may not load
 * libcurl, links its own cfg_url_parse (hooks/front.c). */
struct cfg_url {
	char *scheme; /* "" when there is none */
	char *host;   /* "" when there is none */
	int query;    /* has a ?query */
	int fragment; /* has a #fragment */
};
/* 0 with *u filled, or -1 with why (a static string) and *u empty; either
 * way cfg_url_free(u) after. */
int cfg_url_parse(const char *url, struct cfg_url *u, const char **why);
void cfg_url_free(struct cfg_url *u);
/* The group called name, or NULL. */
const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name);
/* May a notification go to url: https, or http to a loopback host only
 * (127.0.0.0/8, ::1, localhost)? 0, or -1 with the reason in why. */
int cfg_notify_url(const char *url, char *why, size_t whylen);
/* Is s a well-formed AWS id with this prefix ("rtb", "eni", "i"): the prefix,
 * '-', then 8 or 17 lowercase hex digits? 1 or 0. */
int cfg_valid_id(const char *s, const char *prefix);

#endif
