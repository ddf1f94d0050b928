/* nm_cfg.c — [netmon] and [metrics] (see nm_cfg.h). Only libc and lib/: a
 * program that reads the configuration need not load libnftnl or
 * libmicrohttpd. */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "netmon/nm_cfg.h"

/* zone.NAME = CIDR [CIDR ...] in [netmon]: one zone per key. */
static int set_zone(struct ini *x, void *base, const char *key, const char *v)
{
	struct nm_cfg *nm = base;
	struct nm_zone_cfg *z;
	const char *zname = key + strlen("zone.");
	char *copy, *save = NULL, *w, why[128];

	if (strncmp(key, "zone.", 5) != 0)
		return 0;
	if (!ini_valid_name(zname)) {
		ini_err(x, 0,
			"bad zone name '" INI_SHOW "': want 1 to 63 of A-Z a-z 0-9 _ . -",
			zname);
		return 1;
	}
	for (size_t i = 0; i < nm->nzones; i++)
		if (strcmp(nm->zones[i].name, zname) == 0) {
			ini_err(x, 0, "duplicate zone '%s' (first at line %d)", zname,
				nm->zones[i].line);
			return 1;
		}
	nm->zones = xgrow(nm->zones, nm->nzones, sizeof(*nm->zones));
	z = &nm->zones[nm->nzones++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", zname);
	z->line = ini_line(x);
	copy = xstrdup(v);
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct cidr c;
		if (cidr_parse_why(w, &c, why, sizeof(why)) == -1) {
			ini_err(x, 0, "zone.%s: bad CIDR '" INI_SHOW "': %s", zname, w,
				why);
			continue;
		}
		for (size_t i = 0; i < nm->nzones; i++)
			for (size_t j = 0; j < nm->zones[i].ncidrs; j++)
				if (strcmp(nm->zones[i].cidrs[j].text, c.text) == 0)
					ini_err(x, 0, "zone.%s: %s is already in zone %s",
						zname, c.text, nm->zones[i].name);
		z->cidrs = xgrow(z->cidrs, z->ncidrs, sizeof(*z->cidrs));
		z->cidrs[z->ncidrs++] = c;
	}
	free(copy);
	if (z->ncidrs == 0)
		ini_err(x, 0, "zone.%s: no CIDR", zname);
	return 1;
}

/* k's int field: the index of v among the n words, or an error naming
 * them (alts: "auto, yes or no"). */
static int set_word(struct ini *x, const struct ini_key *k, void *base, const char *v,
		    const char *const *words, size_t n, const char *alts)
{
	int *mode = (int *)((char *)base + k->off);

	for (size_t i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0) {
			*mode = (int)i;
			return 0;
		}
	ini_err(x, 0, "%s: '" INI_SHOW "' is not %s", k->name, v, alts);
	return -1;
}

/* bpf = auto | yes | no (nm_cfg.h: enum nm_bpf) */
static int set_bpf(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	static const char *const words[] = {
	    [NM_BPF_AUTO] = "auto", [NM_BPF_YES] = "yes", [NM_BPF_NO] = "no"};

	return set_word(x, k, base, v, words, 3, "auto, yes or no");
}

/* tcp_count = sent | walk (nm_cfg.h: enum nm_tcp_count) */
static int set_tcp_count(struct ini *x, const struct ini_key *k, void *base,
			 const char *v)
{
	static const char *const words[] = {
	    [NM_TCP_SENT] = "sent", [NM_TCP_WALK] = "walk"};

	return set_word(x, k, base, v, words, 2, "sent or walk");
}

#define NMN(f) INI_FIELD(struct nm_cfg, f)
#define MET(f) INI_FIELD(struct nmp_cfg, f)

/* clang-format off */
static const struct ini_key nm_keys[] = {
	{"enabled", ini_bool, NMN(enabled), .def = "yes"},
	{"interval", ini_uint, NMN(interval_ms), .def = "10", .min = 1, .max = 3600, .scale = 1000},
	{"watch_window", ini_uint, NMN(watch_window_ms), .def = "30", .min = 0, .max = 600, .scale = 1000},
	{"failover_window", ini_uint, NMN(failover_window_ms), .def = "60", .min = 0, .max = 600, .scale = 1000},
	{"misroute_packets", ini_uint, NMN(misroute_packets), .def = "10", .min = 1, .max = 1000000000, .scale = 1},
	{"bpf", set_bpf, NMN(bpf), .def = "auto", .flags = INI_RESTART},
	{"tcp_count", set_tcp_count, NMN(tcp_count), .def = "sent", .flags = INI_RESTART},
	{NULL},
};

/* The endpoint is bound, and its certificate, key and users read, at start:
 * a reload keeps them. An empty listen turns it off. */
static const struct ini_key nmp_keys[] = {
	{"listen", ini_listen, MET(listen), .def = "127.0.0.1:9641", .flags = INI_EMPTY_OFF | INI_RESTART},
	{"tls_cert_file", ini_file, MET(tls_cert_file), .def = NULL, .flags = INI_RESTART},
	{"tls_key_file", ini_file, MET(tls_key_file), .def = NULL, .flags = INI_RESTART},
	{"basic_auth_users_file", ini_file, MET(basic_auth_users_file), .def = NULL, .flags = INI_RESTART},
	{"web_config_file", ini_file, MET(web_config_file), .def = NULL, .flags = INI_RESTART},
	{"allow_insecure_remote", ini_bool, MET(allow_insecure_remote), .def = "no", .flags = INI_RESTART},
	{NULL},
};
/* clang-format on */

const struct ini_section nm_cfg_section = {
    .word = "netmon", .keys = nm_keys, .other = set_zone};
const struct ini_section nmp_cfg_section = {.word = "metrics", .keys = nmp_keys};

void nm_cfg_free(struct nm_cfg *nm)
{
	for (size_t i = 0; i < nm->nzones; i++)
		free(nm->zones[i].cidrs);
	free(nm->zones);
	nm->zones = NULL;
	nm->nzones = 0;
}

int nmp_cfg_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 || strncmp(listen, "[::1]:", 6) == 0;
}

/* A listener beyond loopback serves every metric to whoever reaches it:
 * only with TLS and basic authentication, or when explicitly allowed. What
 * a web_config_file holds is checked when it is read (nmp_secure). */
void nmp_cfg_check(struct ini *x, const struct nmp_cfg *m)
{
	int tls = m->tls_cert_file[0] && m->tls_key_file[0];
	int line = ini_first(x, "metrics");

	if (!m->tls_cert_file[0] != !m->tls_key_file[0])
		ini_err(x, line, "[metrics]: tls_cert_file and tls_key_file go together");
	if (m->web_config_file[0] &&
	    (m->tls_cert_file[0] || m->tls_key_file[0] || m->basic_auth_users_file[0]))
		ini_err(x, line,
			"[metrics]: web_config_file names the certificate, key and users "
			"itself: drop tls_cert_file, tls_key_file and "
			"basic_auth_users_file");
	if (m->listen[0] == '\0' || m->allow_insecure_remote || m->web_config_file[0] ||
	    (tls && m->basic_auth_users_file[0]))
		return;
	if (!nmp_cfg_loopback(m->listen))
		ini_err(x, line,
			"[metrics] listen = %s is not a loopback address: set "
			"web_config_file (or tls_cert_file, tls_key_file and "
			"basic_auth_users_file), or allow_insecure_remote = yes",
			m->listen);
}
