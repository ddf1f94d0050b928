/* nm_cfg.h — the network monitor's configuration: [netmon] (on/off, the
 * interval, zone.NAME = CIDR ...) and [metrics] (the /metrics endpoint).
 * Parsed by the INI engine (lib/ini.h); daemon/cfg.c lists the sections. */
#ifndef VPCF_NM_CFG_H
#define VPCF_NM_CFG_H

#include <limits.h>
#include <stddef.h>

#include "lib/cidr.h"
#include "lib/ini.h"

/* One availability zone of the network monitor: zone.NAME = CIDR [CIDR ...] */
struct nm_zone_cfg {
	char name[INI_NAME_MAX];
	struct cidr *cidrs;
	size_t ncidrs;
	int line;
};

/* [netmon] bpf: where the kernel-side counting runs. auto: eBPF programs
 * where they load (CAP_BPF, BTF), else nftables and sock_diag, saying why;
 * yes: eBPF or the daemon does not start; no: never eBPF. */
enum nm_bpf { NM_BPF_AUTO, NM_BPF_YES, NM_BPF_NO };

/* [netmon] tcp_count: where the eBPF TCP counting takes each socket's
 * counts. sent: as its segments are sent (a collection copies totals; every
 * TCP segment pays); walk: a socket walk per collection (segments pay only
 * the zone counters). docs/netmon.md, "TCP in eBPF". */
enum nm_tcp_count { NM_TCP_SENT, NM_TCP_WALK };

struct nm_cfg {
	int enabled;	      /* yes/no; default yes when zones are configured */
	unsigned interval_ms; /* between collections */
	/* After becoming MASTER, overlay counters are read every NM_WATCH_MS
	 * for this long (first traffic per zone); 0 = no watch. */
	unsigned watch_window_ms;
	/* The network in this long before and after a transition to MASTER
	 * (retransmissions, RTT, allowance counters): status, notifications;
	 * 0 = off. */
	unsigned failover_window_ms;
	/* A node not MASTER receiving more packets than this for an overlay
	 * in one interval: misrouted traffic. */
	unsigned misroute_packets;
	int bpf;       /* enum nm_bpf: count in the kernel with eBPF (docs/netmon.md) */
	int tcp_count; /* enum nm_tcp_count */
	struct nm_zone_cfg *zones;
	size_t nzones;
};

struct nmp_cfg {
	char listen[128]; /* "127.0.0.1:9641", "[::1]:9641"; "" = no HTTP endpoint */
	char tls_cert_file[PATH_MAX]; /* PEM certificate (chain): https when set */
	char tls_key_file[PATH_MAX];  /* its PEM key; mode 0600/0400 */
	char basic_auth_users_file[PATH_MAX]; /* a web.config: basic_auth_users */
	char web_config_file[PATH_MAX];	      /* a Prometheus web.config: TLS and users */
	int allow_insecure_remote; /* a non-loopback listen without TLS and auth */
};

/* [netmon] and its keys (struct nm_cfg). */
extern const struct ini_section nm_cfg_section;
/* [metrics] and its keys (struct nmp_cfg). */
extern const struct ini_section nmp_cfg_section;

/* Free the zones of nm. */
void nm_cfg_free(struct nm_cfg *nm);
/* Is listen ("ADDRESS:PORT") on loopback (127.0.0.0/8, [::1])? */
int nmp_cfg_loopback(const char *listen);
/* The checks that need all of [metrics]: errors at its line (ini_first). */
void nmp_cfg_check(struct ini *x, const struct nmp_cfg *m);

#endif
