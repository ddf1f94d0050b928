/* group_cfg.c — [group NAME] (see group_cfg.h). Only libc, lib/ and the id
 * rule of vpc/aws_cfg.h: a program that reads the configuration need not
 * load the AWS client. */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "daemon/group_cfg.h"
#include "lib/util.h"

static int p_eni(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v != '\0' && !aws_valid_id(v, "eni")) {
		ini_err(x, 0,
			"%s: '" INI_SHOW
			"' is not an ENI id (eni- and 8 or 17 lowercase hex digits)",
			k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

static int has_cidr(const struct cfg_group *g, const struct cidr *c)
{
	for (size_t i = 0; i < g->ndestinations; i++) {
		const struct cidr *d = &g->destinations[i];

		if (d->family == c->family && d->plen == c->plen &&
		    memcmp(d->addr, c->addr, sizeof(d->addr)) == 0)
			return 1;
	}
	return 0;
}

static int has_rtb(const struct cfg_group *g, const char *id)
{
	for (size_t i = 0; i < g->nroute_tables; i++)
		if (strcmp(g->route_tables[i], id) == 0)
			return 1;
	return 0;
}

/* Whitespace-separated route table ids; each bad one is reported. */
static int p_rtbs(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	free(g->route_tables);
	g->route_tables = NULL;
	g->nroute_tables = 0;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!aws_valid_id(w, "rtb")) {
			ini_err(x, 0,
				"%s: '" INI_SHOW
				"' is not a route table id (rtb- and 8 or "
				"17 lowercase hex digits)",
				k->name, w);
			rc = -1;
			continue;
		}
		if (has_rtb(g, w)) {
			ini_err(x, 0, "%s: %s is listed twice", k->name, w);
			rc = -1;
			continue;
		}
		g->route_tables =
		    xgrow(g->route_tables, g->nroute_tables, sizeof(*g->route_tables));
		strlcpy_chk(g->route_tables[g->nroute_tables++], w, AWS_ID_MAX);
	}
	free(copy);
	return rc;
}

const char *grp_cfg_source_name(int source)
{
	switch (source) {
	case CFG_SRC_PATRONI:
		return "patroni";
	case CFG_SRC_SENTINEL:
		return "sentinel";
	}
	return "keepalived";
}

/* source = keepalived | patroni | sentinel */
static int p_source(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	int *src = (int *)((char *)base + k->off);

	if (strcmp(v, "keepalived") == 0)
		*src = CFG_SRC_KEEPALIVED;
	else if (strcmp(v, "patroni") == 0)
		*src = CFG_SRC_PATRONI;
	else if (strcmp(v, "sentinel") == 0)
		*src = CFG_SRC_SENTINEL;
	else {
		ini_err(x, 0, "%s: '" INI_SHOW "': want keepalived, patroni or sentinel",
			k->name, v);
		return -1;
	}
	return 0;
}

int grp_cfg_sentinel_parse(const char *w, struct cfg_sentinel *s, char *why,
			   size_t whylen)
{
	const char *host = w, *end, *port = NULL;
	unsigned char buf[16];
	int v6 = 0;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (*w == '[') {
		host = w + 1;
		if ((end = strchr(host, ']')) == NULL) {
			snprintf(why, whylen, "no ']' after an IPv6 address");
			return -1;
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			snprintf(why, whylen, "want [IPv6]:PORT");
			return -1;
		}
		v6 = 1;
	} else if ((end = strchr(w, ':')) != NULL) {
		if (strchr(end + 1, ':') != NULL) {
			snprintf(why, whylen,
				 "an IPv6 address goes in brackets: [IPv6]:PORT");
			return -1;
		}
		port = end + 1;
	} else
		end = w + strlen(w);
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(s->host)) {
		snprintf(why, whylen, "want IP:PORT");
		return -1;
	}
	memcpy(s->host, host, n);
	s->host[n] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, s->host, buf) != 1) {
		snprintf(why, whylen,
			 "'%s' is not an IP address (a sentinel is named by its "
			 "address: a name would be resolved blocking)",
			 s->host);
		return -1;
	}
	s->port = CFG_SENTINEL_PORT;
	if (port) {
		char *e;
		long p = strtol(port, &e, 10);
		if (*port == '\0' || *e != '\0' || p < 1 || p > 65535) {
			snprintf(why, whylen, "the port must be 1 to 65535");
			return -1;
		}
		s->port = (int)p;
	}
	snprintf(s->text, sizeof(s->text), v6 ? "[%s]:%d" : "%s:%d", s->host, s->port);
	return 0;
}

/* Comma- (or space-) separated sentinels, IP:PORT each. */
static int p_sentinels(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w, why[160];
	struct cfg_sentinel s;
	int rc = 0;

	free(g->sentinels);
	g->sentinels = NULL;
	g->nsentinels = 0;
	for (w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (grp_cfg_sentinel_parse(w, &s, why, sizeof(why)) == -1) {
			ini_err(x, 0, "%s: '" INI_SHOW "': %s", k->name, w, why);
			rc = -1;
			continue;
		}
		size_t i;
		for (i = 0; i < g->nsentinels; i++)
			if (strcmp(g->sentinels[i].text, s.text) == 0)
				break;
		if (i < g->nsentinels) {
			ini_err(x, 0, "%s: %s is listed twice", k->name, s.text);
			rc = -1;
			continue;
		}
		if (g->nsentinels == CFG_SENTINEL_MAX) {
			ini_err(x, 0, "%s: more than %d sentinels", k->name,
				CFG_SENTINEL_MAX);
			rc = -1;
			break;
		}
		g->sentinels = xgrow(g->sentinels, g->nsentinels, sizeof(*g->sentinels));
		g->sentinels[g->nsentinels++] = s;
	}
	free(copy);
	return rc;
}

/* sentinel_address: this node's address as the sentinels report it. */
static int p_ip(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	unsigned char buf[16];

	if (*v != '\0' && inet_pton(AF_INET, v, buf) != 1 &&
	    inet_pton(AF_INET6, v, buf) != 1) {
		ini_err(x, 0, "%s: '" INI_SHOW "' is not an IP address", k->name, v);
		return -1;
	}
	return ini_word(x, k, base, v);
}

/* etcd_unreachable = keep | step_down */
static int p_lost(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	int *lost = (int *)((char *)base + k->off);

	if (strcmp(v, "keep") == 0)
		*lost = CFG_ETCD_KEEP;
	else if (strcmp(v, "step_down") == 0)
		*lost = CFG_ETCD_STEP_DOWN;
	else {
		ini_err(x, 0, "%s: '" INI_SHOW "': want keep or step_down", k->name, v);
		return -1;
	}
	return 0;
}

/* One etcd client URL: http(s)://HOST[:PORT] with no path, query or user. */
static int etcd_url_ok(struct ini *x, const struct ini_key *k, const char *w)
{
	const char *path = strstr(w, "://");
	struct url u;
	char why[128];

	if (url_parse(w, &u, why, sizeof(why)) == -1)
		;
	else if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)
		snprintf(why, sizeof(why), "the scheme must be http or https");
	else if (strchr(w, '@') != NULL)
		snprintf(why, sizeof(why), "no user in the URL");
	else if (u.has_query || u.has_fragment ||
		 ((path = strchr(path + 3, '/')) != NULL && strcmp(path, "/") != 0))
		snprintf(why, sizeof(why),
			 "an endpoint is SCHEME://HOST[:PORT], without a path");
	else if (strlen(w) >= URL_MAX)
		snprintf(why, sizeof(why), "longer than %d characters", URL_MAX - 1);
	else
		return 0;
	ini_err(x, 0, "%s: '" INI_SHOW "' is not an etcd client URL (%s)", k->name, w,
		why);
	return -1;
}

/* Comma- (or space-) separated etcd client URLs, as etcdctl --endpoints. */
static int p_etcd(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	free(g->etcd_endpoints);
	g->etcd_endpoints = NULL;
	g->netcd_endpoints = 0;
	for (w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
		if (etcd_url_ok(x, k, w) == -1) {
			rc = -1;
			continue;
		}
		if (g->netcd_endpoints == CFG_ETCD_MAX) {
			ini_err(x, 0, "%s: more than %d endpoints", k->name,
				CFG_ETCD_MAX);
			rc = -1;
			break;
		}
		size_t n = strlen(w);
		if (n > 0 && w[n - 1] == '/') /* requests append /v3/... */
			w[n - 1] = '\0';
		g->etcd_endpoints = xgrow(g->etcd_endpoints, g->netcd_endpoints,
					  sizeof(*g->etcd_endpoints));
		strlcpy_chk(g->etcd_endpoints[g->netcd_endpoints++], w, URL_MAX);
	}
	free(copy);
	return rc;
}

/* patroni_namespace: an absolute etcd key prefix, as Patroni's namespace. */
static int p_ns(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v != '\0' && (v[0] != '/' || strstr(v, "//") != NULL)) {
		ini_err(x, 0,
			"%s: '" INI_SHOW "': want an absolute key prefix like /service",
			k->name, v);
		return -1;
	}
	return ini_word(x, k, base, v);
}

/* A "[group NAME]" line: a new group, kept even when its name is bad so that
 * its keys are still checked. */
static void *open_group(struct ini *x, void *top, const char *name)
{
	struct cfg *c = top;
	struct cfg_group *g;

	if (*name == '\0')
		ini_err(x, 0, "[group] needs a name: [group NAME]");
	else if (!ini_valid_name(name))
		ini_err(x, 0,
			"bad group name '" INI_SHOW
			"': want 1 to 63 of A-Z a-z 0-9 _ . -",
			name);
	for (size_t i = 0; *name && i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0) {
			ini_err(x, 0, "duplicate group '%s' (first at line %d)", name,
				c->groups[i].line);
			break;
		}
	c->groups = xgrow(c->groups, c->ngroups, sizeof(*c->groups));
	g = &c->groups[c->ngroups++];
	memset(g, 0, sizeof(*g));
	strlcpy_chk(g->name, name, sizeof(g->name));
	g->line = ini_line(x);
	return g;
}

/* guard = URL (daemon/guard_cfg.h). */
static int p_guard(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct guard_target t;
	char why[200];

	if (*v != '\0' && guard_target_parse(v, &t, why, sizeof(why)) == -1) {
		ini_err(x, 0, "%s: '" INI_SHOW "': %s", k->name, v, why);
		return -1;
	}
	return ini_str(x, k, base, v);
}

/* probe = tcp:PORT (or empty: off). */
static int p_probe(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	unsigned *port = (unsigned *)((char *)base + k->off);
	size_t digits = strncmp(v, "tcp:", 4) == 0 ? strspn(v + 4, "0123456789") : 0;
	unsigned long n = digits && digits < 6 ? strtoul(v + 4, NULL, 10) : 0;

	if (*v == '\0') {
		*port = 0;
		return 0;
	}
	if (digits == 0 || v[4 + digits] != '\0' || n < 1 || n > 65535) {
		ini_err(x, 0, "%s: '" INI_SHOW "': want tcp:PORT (PORT 1..65535)",
			k->name, v);
		return -1;
	}
	*port = (unsigned)n;
	return 0;
}

#define GRP(f) INI_FIELD(struct cfg_group, f)

/* clang-format off */
static const struct ini_key keys[] = {
	{"vrrp_instance", ini_word, GRP(vrrp_instance), .def = NULL},
	{"vrrp_group", ini_word, GRP(vrrp_group), .def = NULL},
	{"destinations", ini_cidrs, GRP(destinations), .def = NULL, .noff = offsetof(struct cfg_group, ndestinations)},
	{"route_tables", p_rtbs, GRP(route_tables), .def = NULL},
	{"network_interface", p_eni, GRP(network_interface), .def = NULL},
	{"vip_device", ini_ifname, GRP(vip_device), .def = NULL},
	{"recheck_interval", ini_uint, GRP(recheck_interval_ms), .def = "60", .min = 0, .max = 86400, .scale = 1000},
	{"split_brain_flips", ini_uint, GRP(split_brain_flips), .def = "3", .min = 1, .max = 1000, .scale = 1},
	{"split_brain_window", ini_uint, GRP(split_brain_window_ms), .def = "600", .min = 1, .max = 86400, .scale = 1000},
	{"track_file", ini_path, GRP(track_file), .def = NULL},
	{"role_arn", aws_cfg_role_arn, GRP(role_arn), .def = NULL},
	{"external_id", aws_cfg_external_id, GRP(external_id), .def = NULL},
	{"guard", p_guard, GRP(guard), .def = NULL},
	{"guard_password_file", ini_path, GRP(guard_password_file), .def = NULL},
	{"guard_timeout_ms", ini_uint, GRP(guard_timeout_ms), .def = "1000", .min = 10, .max = 60000, .scale = 1},
	/* Who decides MASTER (keys per source: grp_cfg_check, docs/config.md). */
	{"source", p_source, GRP(source), .def = "keepalived"},
	/* source = patroni only */
	{"etcd_endpoints", p_etcd, GRP(etcd_endpoints), .def = NULL},
	{"patroni_namespace", p_ns, GRP(patroni_namespace), .def = NULL},
	{"patroni_scope", ini_word, GRP(patroni_scope), .def = NULL},
	{"member_name", ini_word, GRP(member_name), .def = NULL},
	{"etcd_unreachable", p_lost, GRP(etcd_unreachable), .def = "keep"},
	{"etcd_step_down_after", ini_uint, GRP(etcd_step_down_after_ms), .def = NULL, .min = 1, .max = 3600, .scale = 1000},
	{"etcd_ca_file", ini_file, GRP(etcd_ca_file), .def = NULL},
	{"etcd_cert_file", ini_file, GRP(etcd_cert_file), .def = NULL},
	{"etcd_key_file", ini_path, GRP(etcd_key_file), .def = NULL},
	{"etcd_user", ini_word, GRP(etcd_user), .def = NULL},
	{"etcd_password_file", ini_path, GRP(etcd_password_file), .def = NULL},
	/* The active probe from the node that is not MASTER (daemon/probe.h);
	 * interval and timeout get their defaults in check_probe. */
	{"probe", p_probe, GRP(probe_port), .def = NULL},
	{"probe_interval", ini_uint, GRP(probe_interval_ms), .def = NULL, .min = 1, .max = 3600, .scale = 1000},
	{"probe_timeout", ini_uint, GRP(probe_timeout_ms), .def = NULL, .min = 1, .max = 60, .scale = 1000},
	/* source = sentinel only */
	{"sentinels", p_sentinels, GRP(sentinels), .def = NULL},
	{"sentinel_master", ini_word, GRP(sentinel_master), .def = NULL},
	{"sentinel_quorum", ini_uint, GRP(sentinel_quorum), .def = NULL, .min = 1, .max = CFG_SENTINEL_MAX, .scale = 1},
	{"sentinel_password_file", ini_path, GRP(sentinel_password_file), .def = NULL},
	{"sentinel_address", p_ip, GRP(sentinel_address), .def = NULL},
	{"sentinel_unreachable", p_lost, GRP(sentinel_unreachable), .def = "keep"},
	{"sentinel_step_down_after", ini_uint, GRP(sentinel_step_down_after_ms), .def = NULL, .min = 1, .max = 3600, .scale = 1000},
	{NULL},
};
/* clang-format on */

const struct ini_section grp_cfg_section = {
    .word = "group", .keys = keys, .open = open_group};

/* Two groups that own one route would take it from each other on every
 * transition. */
static void check_overlap(struct ini *x, const struct cfg_group *g,
			  const struct cfg_group *h)
{
	if (strcmp(g->name, h->name) == 0) /* a duplicate group, reported already */
		return;
	for (size_t r = 0; r < g->nroute_tables; r++) {
		if (!has_rtb(h, g->route_tables[r]))
			continue;
		for (size_t d = 0; d < g->ndestinations; d++)
			if (has_cidr(h, &g->destinations[d]))
				ini_err(x, g->line,
					"group '%s': the route to %s in %s is also "
					"claimed by group '%s' (line %d)",
					g->name, g->destinations[d].text,
					g->route_tables[r], h->name, h->line);
	}
}

/* One source's keys that are set in g, named ("" when none). */
struct src_key {
	const char *name;
	int set;
};

static void keys_set(const struct src_key *k, size_t n, char *out, size_t outlen)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (k[i].set && len < outlen)
			len += (size_t)snprintf(out + len, outlen - len, "%s%s",
						len ? ", " : "", k[i].name);
}

static const char *src_follows(int source)
{
	switch (source) {
	case CFG_SRC_PATRONI:
		return "Patroni";
	case CFG_SRC_SENTINEL:
		return "Redis Sentinel";
	}
	return "keepalived";
}

/* The keys of source src set in a group of another source: an error. */
static void wrong_keys(struct ini *x, const struct cfg_group *g, int src,
		       const struct src_key *k, size_t n)
{
	char set[300];

	if (g->source == src)
		return;
	keys_set(k, n, set, sizeof(set));
	if (*set == '\0')
		return;
	if (g->source == CFG_SRC_KEEPALIVED)
		ini_err(x, g->line,
			"group '%s': %s: only for source = %s; this group follows "
			"keepalived (set source = %s, or remove them)",
			g->name, set, grp_cfg_source_name(src), grp_cfg_source_name(src));
	else if (src == CFG_SRC_KEEPALIVED)
		ini_err(x, g->line,
			"group '%s': vrrp_instance, vrrp_group and track_file are for "
			"source = keepalived; this group follows %s (source = %s)",
			g->name, src_follows(g->source), grp_cfg_source_name(g->source));
	else
		ini_err(x, g->line,
			"group '%s': %s: only for source = %s; this group follows %s "
			"(source = %s)",
			g->name, set, grp_cfg_source_name(src), src_follows(g->source),
			grp_cfg_source_name(g->source));
}

static void check_patroni(struct ini *x, struct cfg_group *g)
{
	if (g->netcd_endpoints == 0)
		ini_err(x, g->line, "group '%s': source = patroni needs etcd_endpoints",
			g->name);
	if (*g->patroni_scope == '\0')
		ini_err(x, g->line,
			"group '%s': source = patroni needs patroni_scope (Patroni's "
			"scope)",
			g->name);
	if (*g->member_name == '\0')
		ini_err(x, g->line,
			"group '%s': source = patroni needs member_name (this node's "
			"Patroni name)",
			g->name);
	if (g->etcd_unreachable == CFG_ETCD_STEP_DOWN && !g->etcd_step_down_after_ms)
		ini_err(x, g->line,
			"group '%s': etcd_unreachable = step_down needs "
			"etcd_step_down_after (seconds)",
			g->name);
	if (g->etcd_unreachable == CFG_ETCD_KEEP && g->etcd_step_down_after_ms)
		ini_err(x, g->line,
			"group '%s': etcd_step_down_after is for etcd_unreachable = "
			"step_down",
			g->name);
	if (!*g->etcd_cert_file != !*g->etcd_key_file)
		ini_err(x, g->line,
			"group '%s': etcd_cert_file and etcd_key_file go together "
			"(etcd's client certificate and its private key)",
			g->name);
	if (!*g->etcd_user != !*g->etcd_password_file)
		ini_err(x, g->line,
			"group '%s': etcd_user and etcd_password_file go together "
			"(etcd's authentication: the user and a private file holding "
			"its password)",
			g->name);
	if (*g->patroni_namespace == '\0')
		strlcpy_chk(g->patroni_namespace, "/service",
			    sizeof(g->patroni_namespace));
	size_t n = strlen(g->patroni_namespace);
	if (n > 1 && g->patroni_namespace[n - 1] == '/') /* Patroni's "/service/" */
		g->patroni_namespace[n - 1] = '\0';
}

/* The probe connects to each host destination through the VPC: a
 * loopback destination would never leave this node. Fills the defaults of
 * probe_interval and probe_timeout. */
static void check_probe(struct ini *x, struct cfg_group *g)
{
	size_t hosts = 0;

	if (g->probe_port == 0) {
		if (g->probe_interval_ms || g->probe_timeout_ms)
			ini_err(x, g->line,
				"group '%s': probe_interval and probe_timeout are for "
				"the probe: set probe = tcp:PORT, or remove them",
				g->name);
		return;
	}
	if (g->probe_interval_ms == 0)
		g->probe_interval_ms = CFG_PROBE_INTERVAL_MS;
	if (g->probe_timeout_ms == 0)
		g->probe_timeout_ms = CFG_PROBE_TIMEOUT_MS;
	if (g->probe_timeout_ms >= g->probe_interval_ms)
		ini_err(x, g->line,
			"group '%s': probe_timeout (%u s) must be shorter than "
			"probe_interval (%u s)",
			g->name, g->probe_timeout_ms / 1000, g->probe_interval_ms / 1000);
	for (size_t i = 0; i < g->ndestinations; i++) {
		const struct cidr *d = &g->destinations[i];
		int v4 = d->family == AF_INET;

		if (d->plen != (v4 ? 32 : 128))
			continue;
		hosts++;
		if ((v4 && d->addr[0] == 127) ||
		    (!v4 && memcmp(d->addr, in6addr_loopback.s6_addr, 16) == 0))
			ini_err(x, g->line,
				"group '%s': probe: destination %s is a loopback "
				"address; the probe goes through the VPC, never "
				"loopback",
				g->name, d->text);
	}
	if (g->ndestinations && hosts == 0)
		ini_err(x, g->line,
			"group '%s': probe: no host destination (/32 or /128) to "
			"connect to",
			g->name);
	if (hosts > CFG_PROBE_DESTS_MAX)
		ini_err(x, g->line,
			"group '%s': probe: %zu host destinations; the probe takes "
			"at most %d",
			g->name, hosts, CFG_PROBE_DESTS_MAX);
}

/* A quorum must be a majority: two disagreeing halves must never each make
 * one, or two nodes could both be told MASTER. */
static void check_sentinel(struct ini *x, struct cfg_group *g)
{
	size_t n = g->nsentinels;

	if (n == 0)
		ini_err(x, g->line,
			"group '%s': source = sentinel needs sentinels (IP:PORT, ...)",
			g->name);
	if (*g->sentinel_master == '\0')
		ini_err(x, g->line,
			"group '%s': source = sentinel needs sentinel_master (the "
			"master's name in sentinel.conf)",
			g->name);
	if (g->sentinel_quorum == 0 && n > 0)
		g->sentinel_quorum = (unsigned)(n / 2 + 1);
	else if (n > 0 && g->sentinel_quorum > n)
		ini_err(x, g->line,
			"group '%s': sentinel_quorum %u is more than the %zu sentinels",
			g->name, g->sentinel_quorum, n);
	else if (n > 0 && 2 * (size_t)g->sentinel_quorum <= n)
		ini_err(x, g->line,
			"group '%s': sentinel_quorum %u of %zu sentinels is not a "
			"majority: two disagreeing halves could each make one (want "
			"%zu to %zu)",
			g->name, g->sentinel_quorum, n, n / 2 + 1, n);
	if (g->sentinel_unreachable == CFG_ETCD_STEP_DOWN &&
	    !g->sentinel_step_down_after_ms)
		ini_err(x, g->line,
			"group '%s': sentinel_unreachable = step_down needs "
			"sentinel_step_down_after (seconds)",
			g->name);
	if (g->sentinel_unreachable == CFG_ETCD_KEEP && g->sentinel_step_down_after_ms)
		ini_err(x, g->line,
			"group '%s': sentinel_step_down_after is for "
			"sentinel_unreachable = step_down",
			g->name);
}

/* Which keys go with which source: keepalived groups name a VRRP instance
 * or group (and may have a track_file); patroni groups name the etcd
 * cluster, the Patroni scope and this node's member; sentinel groups the
 * sentinels and the master's name. A key of another source is an error,
 * not silently ignored. Fills the defaults that depend on other keys. */
static void check_source(struct ini *x, struct cfg_group *g)
{
	const struct src_key ka[] = {
	    {"vrrp_instance", *g->vrrp_instance != '\0'},
	    {"vrrp_group", *g->vrrp_group != '\0'},
	    {"track_file", *g->track_file != '\0'},
	};
	const struct src_key pk[] = {
	    {"etcd_endpoints", g->netcd_endpoints > 0},
	    {"patroni_namespace", *g->patroni_namespace != '\0'},
	    {"patroni_scope", *g->patroni_scope != '\0'},
	    {"member_name", *g->member_name != '\0'},
	    {"etcd_unreachable", g->etcd_unreachable != CFG_ETCD_KEEP},
	    {"etcd_step_down_after", g->etcd_step_down_after_ms != 0},
	    {"etcd_ca_file", *g->etcd_ca_file != '\0'},
	    {"etcd_cert_file", *g->etcd_cert_file != '\0'},
	    {"etcd_key_file", *g->etcd_key_file != '\0'},
	    {"etcd_user", *g->etcd_user != '\0'},
	    {"etcd_password_file", *g->etcd_password_file != '\0'},
	};
	const struct src_key sk[] = {
	    {"sentinels", g->nsentinels > 0},
	    {"sentinel_master", *g->sentinel_master != '\0'},
	    {"sentinel_quorum", g->sentinel_quorum != 0},
	    {"sentinel_password_file", *g->sentinel_password_file != '\0'},
	    {"sentinel_address", *g->sentinel_address != '\0'},
	    {"sentinel_unreachable", g->sentinel_unreachable != CFG_ETCD_KEEP},
	    {"sentinel_step_down_after", g->sentinel_step_down_after_ms != 0},
	};

	wrong_keys(x, g, CFG_SRC_KEEPALIVED, ka, ARRAY_SIZE(ka));
	wrong_keys(x, g, CFG_SRC_PATRONI, pk, ARRAY_SIZE(pk));
	wrong_keys(x, g, CFG_SRC_SENTINEL, sk, ARRAY_SIZE(sk));
	switch (g->source) {
	case CFG_SRC_KEEPALIVED:
		if (*g->vrrp_instance == '\0' && *g->vrrp_group == '\0')
			ini_err(x, g->line, "group '%s': set vrrp_instance or vrrp_group",
				g->name);
		if (*g->vrrp_instance != '\0' && *g->vrrp_group != '\0')
			ini_err(x, g->line,
				"group '%s': set vrrp_instance or vrrp_group, not both",
				g->name);
		break;
	case CFG_SRC_PATRONI:
		check_patroni(x, g);
		break;
	case CFG_SRC_SENTINEL:
		check_sentinel(x, g);
		break;
	}
}

void grp_cfg_check(struct ini *x, struct cfg_group *groups, size_t n)
{
	size_t nroles = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cfg_group *g = &groups[i];
		size_t j;

		if (*g->external_id && *g->role_arn == '\0')
			ini_err(x, g->line,
				"group '%s': external_id is set but role_arn is not: "
				"set the group's role_arn, or put external_id in [aws]",
				g->name);
		for (j = 0; j < i && *g->role_arn; j++)
			if (strcmp(groups[j].role_arn, g->role_arn) == 0 &&
			    strcmp(groups[j].external_id, g->external_id) == 0)
				break;
		if (*g->role_arn && j == i && ++nroles == AWS_ROLES_MAX)
			ini_err(x, g->line,
				"group '%s': more than %d different role_arn in the "
				"groups",
				g->name, AWS_ROLES_MAX - 1);

		if (*g->name == '\0') /* "[group]", reported already */
			continue;
		check_source(x, &groups[i]);
		check_probe(x, &groups[i]);
		if (*g->guard_password_file && *g->guard == '\0')
			ini_err(x, g->line,
				"group '%s': guard_password_file is set but guard is not",
				g->name);
		if (g->ndestinations == 0)
			ini_err(x, g->line, "group '%s': no destinations", g->name);
		if (g->nroute_tables == 0)
			ini_err(x, g->line, "group '%s': no route_tables", g->name);
		for (j = 0; j < i; j++)
			check_overlap(x, g, &groups[j]);
	}
}

void grp_cfg_free(struct cfg_group *groups, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(groups[i].destinations);
		free(groups[i].route_tables);
		free(groups[i].etcd_endpoints);
		free(groups[i].sentinels);
	}
	free(groups);
}
