/* cfg.c — the configuration file, parsed with libinih into a fresh struct cfg.
 *
 * inih does the INI syntax: sections, key = value, comments, whitespace. Four
 * things of Debian's build get in the way of reporting every error as
 * "file:line: message", so we feed it one line at a time instead of the
 * whole file:
 *  - the handler gets no line number (built without INI_HANDLER_LINENO);
 *  - ini_parse() reports only the first malformed line;
 *  - a section with no keys never reaches the handler, so an empty
 *    [group x] or an unknown [daemon] would pass unnoticed;
 *  - a line longer than its buffer is silently split in two.
 * We read the file ourselves with a hard cap per line and per file, and give
 * ini_parse_string() each line followed by a probe line ("\001 =") whose
 * handler call carries the section inih saw on that line. So each line has an
 * exact number, ini_parse_string() returning 1 means that very line is
 * malformed, and a "[section]" line shows up as a non-empty probe section.
 *
 * Keys are one table (section, key, parser, offset, default): adding a key is
 * one line there, adding a section one line in sections[] plus its struct.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <ini.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/util.h"

#define CFG_LINE_MAX 4096      /* longest line, newline excluded */
#define CFG_FILE_MAX (1 << 20) /* a config is a few KiB; refuse anything absurd */
#define INIH_SECTION 50	       /* inih's MAX_SECTION: it cuts longer names */
#define PROBE	     "\001"    /* key of the probe line; real lines hold no \001 */
#define SHOW	     "%.80s"   /* how much of a bad value goes into a message */
#define CFG_ERR_MAX  200       /* errors kept for the report; the rest counted */

/* What the keys being read belong to: nothing yet, a section whose line was
 * reported as an error (its keys are ignored), or one of sections[]. */
enum sect {
	S_NONE,
	S_SKIP,
	S_AWS,
	S_DAEMON,
	S_KEEPALIVED,
	S_NETMON,
	S_METRICS,
	S_MACKEREL,
	S_WEBHOOK,
	S_GROUP,
	S_COUNT
};

struct ctx;

struct key;
typedef int (*parse_fn)(struct ctx *, const struct key *, void *base, const char *v);

struct key {
	enum sect sect;
	const char *name;
	parse_fn parse;
	size_t off, size; /* the field in struct cfg_aws / struct cfg_group */
	const char *def;  /* default, parsed like a value; NULL = zero/empty */
	unsigned min, max, scale;
	int empty_off; /* "key =" turns the feature off instead of the default */
};

static int p_str(struct ctx *, const struct key *, void *, const char *);
static int p_word(struct ctx *, const struct key *, void *, const char *);
static int p_region(struct ctx *, const struct key *, void *, const char *);
static int p_url(struct ctx *, const struct key *, void *, const char *);
static int p_file(struct ctx *, const struct key *, void *, const char *);
static int p_uint(struct ctx *, const struct key *, void *, const char *);
static int p_eni(struct ctx *, const struct key *, void *, const char *);
static int p_cidrs(struct ctx *, const struct key *, void *, const char *);
static int p_rtbs(struct ctx *, const struct key *, void *, const char *);
static int p_path(struct ctx *, const struct key *, void *, const char *);
static int p_ifname(struct ctx *, const struct key *, void *, const char *);
static int p_bool(struct ctx *, const struct key *, void *, const char *);
static int p_listen(struct ctx *, const struct key *, void *, const char *);
static int p_unixgroup(struct ctx *, const struct key *, void *, const char *);
static int p_keyfile(struct ctx *, const struct key *, void *, const char *);
static int p_mkrname(struct ctx *, const struct key *, void *, const char *);
static int p_roles(struct ctx *, const struct key *, void *, const char *);
static int p_hookurl(struct ctx *, const struct key *, void *, const char *);
static int p_apiurl(struct ctx *, const struct key *, void *, const char *);

#define AWS(f) offsetof(struct cfg_aws, f), sizeof(((struct cfg_aws *)0)->f)
#define GRP(f) offsetof(struct cfg_group, f), sizeof(((struct cfg_group *)0)->f)
#define DMN(f) offsetof(struct cfg_daemon, f), sizeof(((struct cfg_daemon *)0)->f)
#define KAL(f) offsetof(struct cfg_keepalived, f), sizeof(((struct cfg_keepalived *)0)->f)
#define NMN(f) offsetof(struct cfg_netmon, f), sizeof(((struct cfg_netmon *)0)->f)
#define MET(f) offsetof(struct cfg_metrics, f), sizeof(((struct cfg_metrics *)0)->f)
#define MKR(f) offsetof(struct cfg_mackerel, f), sizeof(((struct cfg_mackerel *)0)->f)
#define WHK(f) offsetof(struct cfg_webhook, f), sizeof(((struct cfg_webhook *)0)->f)

/* Every key of the file: section, key, parser, field, default and, for
 * numbers, range and unit. An empty value ("region =") means the default,
 * except for empty_off keys, where it means off ("listen =", as documented). */
/* clang-format off */
static const struct key keys[] = {
	{S_AWS, "region", p_region, AWS(region), .def = NULL},
	{S_AWS, "endpoint", p_url, AWS(endpoint), .def = NULL},
	{S_AWS, "metadata_endpoint", p_url, AWS(metadata_endpoint), .def = "http://169.254.169.254"},
	{S_AWS, "credentials_file", p_file, AWS(credentials_file), .def = NULL},
	{S_AWS, "profile", p_word, AWS(profile), .def = "default"},
	{S_AWS, "ca_file", p_file, AWS(ca_file), .def = NULL},
	{S_AWS, "api_deadline", p_uint, AWS(api_deadline_ms), .def = "20", .min = 1, .max = 600, .scale = 1000},
	{S_AWS, "request_timeout", p_uint, AWS(request_timeout_ms), .def = "5", .min = 1, .max = 120, .scale = 1000},
	{S_AWS, "max_parallel", p_uint, AWS(max_parallel), .def = "50", .min = 1, .max = 256, .scale = 1},
	{S_GROUP, "vrrp_instance", p_word, GRP(vrrp_instance), .def = NULL},
	{S_GROUP, "vrrp_group", p_word, GRP(vrrp_group), .def = NULL},
	{S_GROUP, "destinations", p_cidrs, GRP(destinations), .def = NULL},
	{S_GROUP, "route_tables", p_rtbs, GRP(route_tables), .def = NULL},
	{S_GROUP, "network_interface", p_eni, GRP(network_interface), .def = NULL},
	{S_GROUP, "vip_device", p_ifname, GRP(vip_device), .def = NULL},
	{S_GROUP, "recheck_interval", p_uint, GRP(recheck_interval_ms), .def = "60", .min = 0, .max = 86400, .scale = 1000},
	{S_GROUP, "split_brain_flips", p_uint, GRP(split_brain_flips), .def = "3", .min = 1, .max = 1000, .scale = 1},
	{S_GROUP, "split_brain_window", p_uint, GRP(split_brain_window_ms), .def = "600", .min = 1, .max = 86400, .scale = 1000},
	{S_GROUP, "track_file", p_path, GRP(track_file), .def = NULL},
	{S_DAEMON, "control_socket", p_path, DMN(control_socket), .def = CFG_CONTROL_SOCKET_DEFAULT},
	{S_DAEMON, "state_dir", p_path, DMN(state_dir), .def = CFG_STATE_DIR_DEFAULT},
	{S_DAEMON, "control_group", p_unixgroup, DMN(control_group), .def = "root"},
	{S_KEEPALIVED, "notify_fifo", p_path, KAL(notify_fifo), .def = NULL},
	{S_KEEPALIVED, "pid_file", p_path, KAL(pid_file), .def = "/run/keepalived.pid"},
	{S_NETMON, "enabled", p_bool, NMN(enabled), .def = "yes"},
	{S_NETMON, "interval", p_uint, NMN(interval_ms), .def = "10", .min = 1, .max = 3600, .scale = 1000},
	{S_METRICS, "listen", p_listen, MET(listen), .def = "127.0.0.1:9641", .empty_off = 1},
	{S_METRICS, "tls_cert_file", p_file, MET(tls_cert_file), .def = NULL},
	{S_METRICS, "tls_key_file", p_file, MET(tls_key_file), .def = NULL},
	{S_METRICS, "basic_auth_users_file", p_file, MET(basic_auth_users_file), .def = NULL},
	{S_METRICS, "allow_insecure_remote", p_bool, MET(allow_insecure_remote), .def = "no"},
	{S_MACKEREL, "api_key_file", p_keyfile, MKR(api_key_file), .def = NULL},
	{S_MACKEREL, "service", p_mkrname, MKR(service), .def = NULL},
	{S_MACKEREL, "roles", p_roles, MKR(roles), .def = NULL},
	{S_MACKEREL, "api_url", p_apiurl, MKR(api_url), .def = "https://api.mackerelio.com"},
	{S_WEBHOOK, "url", p_hookurl, WHK(url), .def = NULL},
};
/* clang-format on */

/* The sections. An unnamed one ("[aws]") is one struct inside struct cfg at
 * off; a named one ("[group NAME]") is an array of them (open_group). */
static const struct section {
	const char *word;
	enum sect sect;
	int named;
	size_t off;
} sections[] = {
    {"aws", S_AWS, 0, offsetof(struct cfg, aws)},
    {"daemon", S_DAEMON, 0, offsetof(struct cfg, daemon)},
    {"keepalived", S_KEEPALIVED, 0, offsetof(struct cfg, keepalived)},
    {"netmon", S_NETMON, 0, offsetof(struct cfg, netmon)},
    {"metrics", S_METRICS, 0, offsetof(struct cfg, metrics)},
    {"mackerel", S_MACKEREL, 0, offsetof(struct cfg, mackerel)},
    {"webhook", S_WEBHOOK, 0, offsetof(struct cfg, webhook)},
    {"group", S_GROUP, 1, 0},
};

/* An error waiting to be logged: checks that need a whole group run at the
 * end, and the report is sorted by line. */
struct cfg_err {
	int line, seq;
	char *msg;
};

struct ctx {
	struct cfg *c;
	int line;		    /* number of the line being parsed */
	const char *raw;	    /* its text */
	int nerr;		    /* errors so far */
	int cut;		    /* the file could not be read to its end */
	struct cfg_err *errs;	    /* the first CFG_ERR_MAX of them, for the report */
	enum sect sect;		    /* what the keys being read belong to */
	char sname[80];		    /* "[aws]", "[group web]": for messages */
	int first[S_COUNT];	    /* where each unnamed section was, 0 = not yet */
	int seen[ARRAY_SIZE(keys)]; /* line where each key was set in this section */
	char probe[INIH_SECTION];
	int probed; /* the probe line named a section */
};

static void perr(struct ctx *x, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Count one error and keep it for report_errors(). */
static void perr(struct ctx *x, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (x->nerr < CFG_ERR_MAX) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		x->errs = xgrow(x->errs, (size_t)x->nerr, sizeof(*x->errs));
		x->errs[x->nerr] = (struct cfg_err){line, x->nerr, xstrdup(msg)};
	}
	x->nerr++;
}

static int err_cmp(const void *a, const void *b)
{
	const struct cfg_err *e = a, *f = b;

	if (e->line != f->line)
		return e->line < f->line ? -1 : 1;
	return e->seq < f->seq ? -1 : e->seq > f->seq;
}

/* Log the kept errors as "path:line: message", in line order. */
static void report_errors(struct ctx *x)
{
	int kept = x->nerr < CFG_ERR_MAX ? x->nerr : CFG_ERR_MAX;

	if (kept > 0)
		qsort(x->errs, (size_t)kept, sizeof(*x->errs), err_cmp);
	for (int i = 0; i < kept; i++) {
		log_warnx("%s:%d: %s", x->c->path, x->errs[i].line, x->errs[i].msg);
		free(x->errs[i].msg);
	}
	if (x->nerr > kept)
		log_warnx("%s: %d more errors not shown", x->c->path, x->nerr - kept);
	free(x->errs);
	x->errs = NULL;
}

/* The struct the current section's keys go into. */
static void *sect_base(struct ctx *x)
{
	if (x->sect == S_GROUP)
		return &x->c->groups[x->c->ngroups - 1];
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (sections[i].sect == x->sect)
			return (char *)x->c + sections[i].off;
	return NULL;
}

static int p_str(struct ctx *x, const struct key *k, void *base, const char *v)
{
	if (strlcpy_chk((char *)base + k->off, v, k->size) == -1) {
		perr(x, x->line, "%s: '" SHOW "...' is too long (at most %zu characters)",
		     k->name, v, k->size - 1);
		return -1;
	}
	return 0;
}

/* One word of printable ASCII: keepalived names, a credentials profile. */
static int p_word(struct ctx *x, const struct key *k, void *base, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p <= ' ' || *p > '~' || *p == '"') {
			perr(x, x->line,
			     "%s: '" SHOW
			     "' must be one word of printable ASCII without '\"'",
			     k->name, v);
			return -1;
		}
	}
	return p_str(x, k, base, v);
}

static int p_region(struct ctx *x, const struct key *k, void *base, const char *v)
{
	/* us-east-1, ap-northeast-1, us-gov-west-1, us-isob-east-1 */
	static const char re_text[] = "^[a-z]{2}(-[a-z]+){1,3}-[0-9]{1,2}$";
	regex_t re;
	int bad;

	if (*v == '\0')
		return p_str(x, k, base, v);
	if (regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("cfg: cannot compile %s", re_text);
	bad = regexec(&re, v, 0, NULL, 0) != 0;
	regfree(&re);
	if (bad) {
		perr(x, x->line,
		     "region: '" SHOW "' is not an AWS region (like us-east-1)", v);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* http:// or https:// URL with a host, checked by libcurl's URL parser
 * (cfg_url_parse, daemon/cfgurl.c). */
static int p_url(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct cfg_url u;
	const char *why = NULL;

	if (*v == '\0')
		return p_str(x, k, base, v);
	if (cfg_url_parse(v, &u, &why) == -1)
		;
	else if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0)
		why = "the scheme must be http or https";
	else if (*u.host == '\0')
		why = "no host";
	cfg_url_free(&u);
	if (why != NULL) {
		perr(x, x->line, "%s: '" SHOW "' is not an http:// or https:// URL (%s)",
		     k->name, v, why);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* A file that must exist now; whether its mode is safe is its user's call. */
static int p_file(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct stat st;

	if (*v != '\0' && stat(v, &st) == -1) {
		perr(x, x->line, "%s: '" SHOW "': %s", k->name, v, strerror(errno));
		return -1;
	}
	return p_str(x, k, base, v);
}

/* An absolute path; it need not exist yet (the daemon creates it). */
static int p_path(struct ctx *x, const struct key *k, void *base, const char *v)
{
	if (*v != '\0' && *v != '/') {
		perr(x, x->line, "%s: '" SHOW "' is not an absolute path", k->name, v);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* A group of this system (/etc/group or NSS), by name. */
static int p_unixgroup(struct ctx *x, const struct key *k, void *base, const char *v)
{
	if (getgrnam(v) == NULL) {
		perr(x, x->line, "%s: no group '" SHOW "' on this system", k->name, v);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* A network interface name as the kernel allows it (IFNAMSIZ - 1). */
static int p_ifname(struct ctx *x, const struct key *k, void *base, const char *v)
{
	size_t n = strlen(v);

	if (n >= k->size || strcspn(v, " \t/:") != n || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0) {
		perr(x, x->line,
		     "%s: '" SHOW "' is not an interface name (1 to %zu "
		     "characters, no space, '/' or ':')",
		     k->name, v, k->size - 1);
		return -1;
	}
	return p_str(x, k, base, v);
}

static int p_bool(struct ctx *x, const struct key *k, void *base, const char *v)
{
	int b;

	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		b = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		b = 0;
	else {
		perr(x, x->line, "%s: '" SHOW "' is not yes or no", k->name, v);
		return -1;
	}
	*(int *)((char *)base + k->off) = b;
	return 0;
}

/* HOST:PORT with a numeric IPv4 or bracketed IPv6 host ("" = off). */
static int p_listen(struct ctx *x, const struct key *k, void *base, const char *v)
{
	char host[64];
	unsigned char a[16];
	const char *colon = strrchr(v, ':');
	size_t hl;
	int ok = colon != NULL;

	if (*v == '\0')
		return p_str(x, k, base, v);
	if (ok) {
		hl = (size_t)(colon - v);
		ok = hl > 0 && hl < sizeof(host);
	}
	if (ok) {
		memcpy(host, v, hl);
		host[hl] = '\0';
		if (host[0] == '[' && host[hl - 1] == ']') {
			host[hl - 1] = '\0';
			ok = inet_pton(AF_INET6, host + 1, a) == 1;
		} else {
			ok = inet_pton(AF_INET, host, a) == 1;
		}
		size_t pd = strspn(colon + 1, "0123456789");
		ok = ok && pd > 0 && pd <= 5 && colon[1 + pd] == '\0' &&
		     atoi(colon + 1) > 0 && atoi(colon + 1) < 65536;
	}
	if (!ok) {
		perr(x, x->line,
		     "%s: '" SHOW
		     "' is not ADDRESS:PORT (like 127.0.0.1:9641 or [::1]:9641)",
		     k->name, v);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* A file holding a secret: it must exist now. Whether it is private is
 * checked by the daemon that reads it (--check, start, reload), never here:
 * the CLI loads this file too, and a key file's mode must not stop the
 * notify hook from finding the daemon. */
static int p_keyfile(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct stat st;

	if (*v == '\0')
		return p_str(x, k, base, v);
	if (*v != '/') {
		perr(x, x->line, "%s: '" SHOW "' is not an absolute path", k->name, v);
		return -1;
	}
	if (stat(v, &st) == -1) {
		perr(x, x->line, "%s: '" SHOW "': %s", k->name, v, strerror(errno));
		return -1;
	}
	((struct cfg_mackerel *)base)->key_line = x->line;
	return p_str(x, k, base, v);
}

/* Mackerel's rule for service and role names: 2 to 63 of A-Z a-z 0-9 _ -. */
static int valid_mkr_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-");
	return n >= 2 && n <= 63 && s[n] == '\0';
}

static int p_mkrname(struct ctx *x, const struct key *k, void *base, const char *v)
{
	if (*v != '\0' && !valid_mkr_name(v)) {
		perr(x, x->line,
		     "%s: '" SHOW "' is not a Mackerel name (2 to 63 of A-Z a-z 0-9 _ -)",
		     k->name, v);
		return -1;
	}
	return p_str(x, k, base, v);
}

/* Role names separated by spaces or commas. */
static int p_roles(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct cfg_mackerel *m = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	m->nroles = 0;
	for (w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		int dup = 0;

		if (!valid_mkr_name(w)) {
			perr(x, x->line,
			     "%s: '" SHOW
			     "' is not a Mackerel role name (2 to 63 of A-Z a-z 0-9 _ -)",
			     k->name, w);
			rc = -1;
			continue;
		}
		for (size_t i = 0; i < m->nroles; i++)
			dup |= strcmp(m->roles[i], w) == 0;
		if (dup) {
			perr(x, x->line, "%s: %s is listed twice", k->name, w);
			rc = -1;
			continue;
		}
		if (m->nroles == CFG_ROLES_MAX) {
			perr(x, x->line, "%s: more than %d roles", k->name,
			     CFG_ROLES_MAX);
			rc = -1;
			break;
		}
		snprintf(m->roles[m->nroles++], CFG_NAME_MAX, "%s", w);
	}
	free(copy);
	return rc;
}

static int loopback_host(const char *host)
{
	unsigned char a[4];

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

/* Checked by libcurl's URL parser (cfg_url_parse). query: also refuse
 * ?query and #fragment (a path is appended to the URL). */
static int notify_url(const char *url, int query, char *why, size_t whylen)
{
	struct cfg_url u;
	const char *e;
	int ret = -1;

	if (cfg_url_parse(url, &u, &e) == -1) {
		errf(why, whylen, "%s", e);
		goto out;
	}
	if (*u.scheme == '\0' || *u.host == '\0') {
		errf(why, whylen, "no host");
		goto out;
	}
	if (strcmp(u.scheme, "https") != 0 &&
	    (strcmp(u.scheme, "http") != 0 || !loopback_host(u.host))) {
		errf(why, whylen,
		     "the scheme must be https (http only to 127.0.0.1, ::1 or "
		     "localhost)");
		goto out;
	}
	if (!query && (u.query || u.fragment)) {
		errf(why, whylen, "no ?query or #fragment: the API path is appended");
		goto out;
	}
	ret = 0;
out:
	cfg_url_free(&u);
	return ret;
}

int cfg_notify_url(const char *url, char *why, size_t whylen)
{
	return notify_url(url, 1, why, whylen);
}

static int url_key(struct ctx *x, const struct key *k, void *base, const char *v,
		   int query)
{
	char why[160];

	if (*v != '\0' && notify_url(v, query, why, sizeof(why)) == -1) {
		/* The URL itself may hold a secret (webhook tokens live in the
		 * path): name the key, not the value. */
		perr(x, x->line, "%s: not a usable URL: %s", k->name, why);
		return -1;
	}
	return p_str(x, k, base, v);
}

static int p_hookurl(struct ctx *x, const struct key *k, void *base, const char *v)
{
	return url_key(x, k, base, v, 1);
}

static int p_apiurl(struct ctx *x, const struct key *k, void *base, const char *v)
{
	return url_key(x, k, base, v, 0);
}

static int valid_group_name(const char *s);

/* zone.NAME = CIDR [CIDR ...] in [netmon]: one zone per key. */
static void set_zone(struct ctx *x, const char *zname, const char *v)
{
	struct cfg_netmon *nm = &x->c->netmon;
	struct cfg_zone *z;
	char *copy, *save = NULL, *w, why[128];

	if (!valid_group_name(zname)) {
		perr(x, x->line,
		     "bad zone name '" SHOW "': want 1 to 63 of A-Z a-z 0-9 _ . -",
		     zname);
		return;
	}
	for (size_t i = 0; i < nm->nzones; i++)
		if (strcmp(nm->zones[i].name, zname) == 0) {
			perr(x, x->line, "duplicate zone '%s' (first at line %d)", zname,
			     nm->zones[i].line);
			return;
		}
	nm->zones = xgrow(nm->zones, nm->nzones, sizeof(*nm->zones));
	z = &nm->zones[nm->nzones++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", zname);
	z->line = x->line;
	copy = xstrdup(v);
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct cidr c;
		if (cidr_parse_why(w, &c, why, sizeof(why)) == -1) {
			perr(x, x->line, "zone.%s: bad CIDR '" SHOW "': %s", zname, w,
			     why);
			continue;
		}
		for (size_t i = 0; i < nm->nzones; i++)
			for (size_t j = 0; j < nm->zones[i].ncidrs; j++)
				if (strcmp(nm->zones[i].cidrs[j].text, c.text) == 0)
					perr(x, x->line,
					     "zone.%s: %s is already in zone %s", zname,
					     c.text, nm->zones[i].name);
		z->cidrs = xgrow(z->cidrs, z->ncidrs, sizeof(*z->cidrs));
		z->cidrs[z->ncidrs++] = c;
	}
	free(copy);
	if (z->ncidrs == 0)
		perr(x, x->line, "zone.%s: no CIDR", zname);
}

/* A decimal number in [min, max], stored times scale (seconds → ms). */
static int p_uint(struct ctx *x, const struct key *k, void *base, const char *v)
{
	size_t digits = strspn(v, "0123456789");
	unsigned long n;

	/* Digits only: strtoul would take " 5", "+5", "-5" and "0x5". */
	if (digits == 0 || v[digits] != '\0') {
		perr(x, x->line, "%s: '" SHOW "' is not a number", k->name, v);
		return -1;
	}
	n = digits > 9 ? ULONG_MAX : strtoul(v, NULL, 10);
	if (n < k->min || n > k->max) {
		perr(x, x->line, "%s: " SHOW " is out of range %u..%u", k->name, v,
		     k->min, k->max);
		return -1;
	}
	*(unsigned *)((char *)base + k->off) = (unsigned)n * k->scale;
	return 0;
}

static int p_eni(struct ctx *x, const struct key *k, void *base, const char *v)
{
	if (*v != '\0' && !cfg_valid_id(v, "eni")) {
		perr(x, x->line,
		     "%s: '" SHOW
		     "' is not an ENI id (eni- and 8 or 17 lowercase hex digits)",
		     k->name, v);
		return -1;
	}
	return p_str(x, k, base, v);
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

/* Whitespace-separated CIDRs; each bad one is reported. */
static int p_cidrs(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	char why[128];
	int rc = 0;

	free(g->destinations);
	g->destinations = NULL;
	g->ndestinations = 0;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		struct cidr cidr;

		if (cidr_parse_why(w, &cidr, why, sizeof(why)) == -1) {
			perr(x, x->line, "%s: bad CIDR '" SHOW "': %s", k->name, w, why);
			rc = -1;
			continue;
		}
		if (has_cidr(g, &cidr)) {
			perr(x, x->line, "%s: %s is listed twice", k->name, cidr.text);
			rc = -1;
			continue;
		}
		g->destinations =
		    xgrow(g->destinations, g->ndestinations, sizeof(*g->destinations));
		g->destinations[g->ndestinations++] = cidr;
	}
	free(copy);
	return rc;
}

/* Whitespace-separated route table ids; each bad one is reported. */
static int p_rtbs(struct ctx *x, const struct key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	free(g->route_tables);
	g->route_tables = NULL;
	g->nroute_tables = 0;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!cfg_valid_id(w, "rtb")) {
			perr(x, x->line,
			     "%s: '" SHOW "' is not a route table id (rtb- and 8 or 17 "
			     "lowercase hex digits)",
			     k->name, w);
			rc = -1;
			continue;
		}
		if (has_rtb(g, w)) {
			perr(x, x->line, "%s: %s is listed twice", k->name, w);
			rc = -1;
			continue;
		}
		g->route_tables =
		    xgrow(g->route_tables, g->nroute_tables, sizeof(*g->route_tables));
		strlcpy_chk(g->route_tables[g->nroute_tables++], w, CFG_ID_MAX);
	}
	free(copy);
	return rc;
}

static const struct key *key_find(enum sect s, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].sect == s && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Fill a fresh section struct with the table's defaults. */
static void apply_defaults(struct ctx *x, enum sect s, void *base)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].sect == s && keys[i].def != NULL &&
		    keys[i].parse(x, &keys[i], base, keys[i].def) == -1)
			fatalx("cfg: bad default %s = %s", keys[i].name, keys[i].def);
}

static int valid_group_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_.-");
	return n >= 1 && n <= 63 && s[n] == '\0';
}

/* A "[group NAME]" line: a new group, kept even when its name is bad so that
 * its keys are still checked. */
static void open_group(struct ctx *x, const char *name)
{
	struct cfg *c = x->c;
	struct cfg_group *g;

	if (*name == '\0')
		perr(x, x->line, "[group] needs a name: [group NAME]");
	else if (!valid_group_name(name))
		perr(x, x->line,
		     "bad group name '" SHOW "': want 1 to 63 of A-Z a-z 0-9 _ . -",
		     name);
	for (size_t i = 0; *name && i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0) {
			perr(x, x->line, "duplicate group '%s' (first at line %d)", name,
			     c->groups[i].line);
			break;
		}
	c->groups = xgrow(c->groups, c->ngroups, sizeof(*c->groups));
	g = &c->groups[c->ngroups++];
	memset(g, 0, sizeof(*g));
	strlcpy_chk(g->name, name, sizeof(g->name));
	g->line = x->line;
	apply_defaults(x, S_GROUP, g);
	x->sect = S_GROUP;
	snprintf(x->sname, sizeof(x->sname), "[group %s]", g->name);
}

/* A "[...]" line; section is what inih read between the brackets. */
static void open_section(struct ctx *x, const char *section)
{
	char bracketed[INIH_SECTION + 2], s[INIH_SECTION], *name;
	const struct section *sec = NULL;
	size_t wlen;

	memset(x->seen, 0, sizeof(x->seen));
	x->sect = S_SKIP;
	/* inih keeps only INIH_SECTION - 1 characters of a section name: when
	 * "[name]" is not on the line, the name was cut. */
	snprintf(bracketed, sizeof(bracketed), "[%s]", section);
	if (strstr(x->raw, bracketed) == NULL) {
		perr(x, x->line,
		     "section name longer than %d characters (group names: at most %d)",
		     INIH_SECTION - 1, INIH_SECTION - 1 - (int)strlen("group "));
		return;
	}
	/* "[ group  web ]" is [group web] */
	snprintf(s, sizeof(s), "%s", section + strspn(section, " \t"));
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
		s[n - 1] = '\0';
	wlen = strcspn(s, " \t");
	name = s + wlen + strspn(s + wlen, " \t");
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (strlen(sections[i].word) == wlen &&
		    strncmp(sections[i].word, s, wlen) == 0)
			sec = &sections[i];
	if (sec == NULL) {
		perr(x, x->line, "unknown section [%s]", s);
		return;
	}
	if (sec->named) {
		open_group(x, name);
		return;
	}
	if (*name != '\0') {
		perr(x, x->line, "[%s] takes no name: [%s]", sec->word, sec->word);
		return;
	}
	if (x->first[sec->sect] != 0) {
		perr(x, x->line, "duplicate section [%s] (first at line %d)", sec->word,
		     x->first[sec->sect]);
		return;
	}
	x->first[sec->sect] = x->line;
	x->sect = sec->sect;
	snprintf(x->sname, sizeof(x->sname), "[%s]", sec->word);
}

static void set_key(struct ctx *x, const char *name, const char *value)
{
	const struct key *k;
	size_t i;

	if (x->sect == S_SKIP) /* the section line was already reported */
		return;
	if (*name == '\0') {
		perr(x, x->line, "missing key name before '='");
		return;
	}
	if (x->sect == S_NONE) {
		perr(x, x->line, "'" SHOW "' is outside any section", name);
		return;
	}
	if (x->sect == S_NETMON && strncmp(name, "zone.", 5) == 0) {
		set_zone(x, name + 5, value);
		return;
	}
	if ((k = key_find(x->sect, name)) == NULL) {
		perr(x, x->line, "unknown key '" SHOW "' in %s", name, x->sname);
		return;
	}
	i = (size_t)(k - keys);
	if (x->seen[i] != 0) {
		/* Still parse it below, so that a bad value is reported too. */
		perr(x, x->line, "duplicate key '%s' in %s (first at line %d)", name,
		     x->sname, x->seen[i]);
	}
	x->seen[i] = x->line;
	if (*value == '\0' && !k->empty_off)
		value = k->def != NULL ? k->def : "";
	k->parse(x, k, sect_base(x), value);
}

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *x = user;

	if (strcmp(name, PROBE) == 0) {
		/* The probe is line 2 of what we gave inih: a non-empty section
		 * here means line 1 was a "[section]" line. */
		if (*section != '\0') {
			snprintf(x->probe, sizeof(x->probe), "%s", section);
			x->probed = 1;
		}
		return 1;
	}
	set_key(x, name, value);
	return 1; /* errors are counted in x, never stop inih */
}

enum { LINE_LONG = 1, LINE_CTRL = 2 };

/* The next line of fp into buf without its line ending; -1 at end of file.
 * A line that does not fit is cut and flagged, and the rest of it skipped. */
static int read_line(FILE *fp, char *buf, size_t size, size_t *total, int *flags)
{
	size_t n = 0;
	int ch;

	*flags = 0;
	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (++*total > CFG_FILE_MAX)
			return -1;
		if ((ch < ' ' && ch != '\t' && ch != '\r') || ch == 0x7f)
			*flags |= LINE_CTRL;
		if (n + 1 < size)
			buf[n++] = (char)ch;
		else
			*flags |= LINE_LONG;
	}
	if (ch == EOF && n == 0 && *flags == 0)
		return -1;
	++*total;
	if (n > 0 && buf[n - 1] == '\r') /* CRLF file */
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\r', n) != NULL)
		*flags |= LINE_CTRL;
	return (int)n;
}

/* The Debian libinih globals we change, saved so that other users of inih in
 * this process (the credentials file) see its defaults. */
struct ini_opts {
	bool use_stack, allow_realloc, allow_multiline, allow_no_value,
	    stop_on_first_error;
	int initial_alloc;
	char *inline_comment_prefixes, *start_comment_prefixes;
};

static void ini_opts_swap(struct ini_opts *o)
{
	struct ini_opts old = {ini_use_stack,
			       ini_allow_realloc,
			       ini_allow_multiline,
			       ini_allow_no_value,
			       ini_stop_on_first_error,
			       ini_initial_alloc,
			       ini_inline_comment_prefixes,
			       ini_start_comment_prefixes};

	ini_use_stack = o->use_stack;
	ini_allow_realloc = o->allow_realloc;
	ini_allow_multiline = o->allow_multiline;
	ini_allow_no_value = o->allow_no_value;
	ini_stop_on_first_error = o->stop_on_first_error;
	ini_initial_alloc = o->initial_alloc;
	ini_inline_comment_prefixes = o->inline_comment_prefixes;
	ini_start_comment_prefixes = o->start_comment_prefixes;
	*o = old;
}

/* Feed fp to inih line by line; see the top of the file for why. */
static void parse_lines(struct ctx *x, FILE *fp)
{
	static char semicolon_hash[] = ";#";
	/* A heap line buffer of initial_alloc bytes, never grown: room for the
	 * line and its "\r\n\0", sized for each line below (4 KiB a line
	 * made many short lines slow under ASan, which fills each block). */
	struct ini_opts o = {
	    .use_stack = false,
	    .allow_realloc = false,
	    .allow_multiline = false,
	    .allow_no_value = false,
	    .stop_on_first_error = false,
	    .initial_alloc = CFG_LINE_MAX + 8,
	    .inline_comment_prefixes = semicolon_hash,
	    .start_comment_prefixes = semicolon_hash,
	};
	char line[CFG_LINE_MAX + 1], text[CFG_LINE_MAX + 16];
	size_t total = 0;
	int flags, rc;

	ini_opts_swap(&o);
	while (read_line(fp, line, sizeof(line), &total, &flags) != -1) {
		x->line++;
		x->raw = line;
		if (flags & LINE_LONG) {
			perr(x, x->line, "line longer than %d characters", CFG_LINE_MAX);
			continue;
		}
		if (flags & LINE_CTRL) {
			perr(x, x->line, "control character in line");
			continue;
		}
		x->probed = 0;
		snprintf(text, sizeof(text), "%s\n" PROBE " =\n", line);
		ini_initial_alloc = (int)strlen(line) + (int)sizeof(PROBE " =") + 8;
		rc = ini_parse_string(text, ini_cb, x);
		if (rc == -2)
			fatalx("cfg: out of memory");
		if (rc != 0) {
			const char *t = line + strspn(line, " \t");

			perr(x, x->line,
			     "syntax error: want [section], key = value or a comment: "
			     "'" SHOW "'",
			     t);
			/* Keys under a broken section line would otherwise land
			 * in the section before it, with confusing errors. */
			if (*t == '[')
				x->sect = S_SKIP;
		} else if (x->probed)
			open_section(x, x->probe);
	}
	if (total > CFG_FILE_MAX) {
		perr(x, x->line + 1, "file longer than %d bytes", CFG_FILE_MAX);
		x->cut = 1;
	} else if (ferror(fp)) {
		perr(x, x->line + 1, "read error: %s", strerror(errno));
		x->cut = 1;
	}
	ini_opts_swap(&o);
}

/* Two groups that own one route would take it from each other on every
 * transition. */
static void check_overlap(struct ctx *x, const struct cfg_group *g,
			  const struct cfg_group *h)
{
	if (strcmp(g->name, h->name) == 0) /* a duplicate group, reported already */
		return;
	for (size_t r = 0; r < g->nroute_tables; r++) {
		if (!has_rtb(h, g->route_tables[r]))
			continue;
		for (size_t d = 0; d < g->ndestinations; d++)
			if (has_cidr(h, &g->destinations[d]))
				perr(x, g->line,
				     "group '%s': the route to %s in %s is also "
				     "claimed by group '%s' (line %d)",
				     g->name, g->destinations[d].text, g->route_tables[r],
				     h->name, h->line);
	}
}

/* [mackerel] needs a service to annotate once it has a key. */
static void check_mackerel(struct ctx *x)
{
	const struct cfg_mackerel *m = &x->c->mackerel;

	if (m->api_key_file[0] && m->service[0] == '\0')
		perr(x, x->first[S_MACKEREL],
		     "[mackerel]: service is required with api_key_file");
}

/* A listener beyond loopback serves every metric to whoever reaches it:
 * only with TLS and basic authentication, or when explicitly allowed. */
static void check_metrics(struct ctx *x)
{
	const struct cfg_metrics *m = &x->c->metrics;
	int tls = m->tls_cert_file[0] && m->tls_key_file[0];

	if (!m->tls_cert_file[0] != !m->tls_key_file[0])
		perr(x, x->first[S_METRICS],
		     "[metrics]: tls_cert_file and tls_key_file go together");
	if (m->listen[0] == '\0' || m->allow_insecure_remote ||
	    (tls && m->basic_auth_users_file[0]))
		return;
	if (strncmp(m->listen, "127.", 4) != 0 && strncmp(m->listen, "[::1]:", 6) != 0)
		perr(
		    x, x->first[S_METRICS],
		    "[metrics] listen = %s is not a loopback address: set tls_cert_file, "
		    "tls_key_file and basic_auth_users_file, or allow_insecure_remote = "
		    "yes",
		    m->listen);
}

/* Checks that need the whole group, or all groups. */
static void check_groups(struct ctx *x)
{
	struct cfg *c = x->c;

	for (size_t i = 0; i < c->ngroups; i++) {
		const struct cfg_group *g = &c->groups[i];

		if (*g->name == '\0') /* "[group]", reported already */
			continue;
		if (*g->vrrp_instance == '\0' && *g->vrrp_group == '\0')
			perr(x, g->line, "group '%s': set vrrp_instance or vrrp_group",
			     g->name);
		if (*g->vrrp_instance != '\0' && *g->vrrp_group != '\0')
			perr(x, g->line,
			     "group '%s': set vrrp_instance or vrrp_group, not both",
			     g->name);
		if (g->ndestinations == 0)
			perr(x, g->line, "group '%s': no destinations", g->name);
		if (g->nroute_tables == 0)
			perr(x, g->line, "group '%s': no route_tables", g->name);
		for (size_t j = 0; j < i; j++)
			check_overlap(x, g, &c->groups[j]);
	}
}

struct cfg *cfg_load(const char *path)
{
	struct ctx x;
	struct cfg *c = xcalloc(1, sizeof(*c));
	struct stat st;
	FILE *fp;

	memset(&x, 0, sizeof(x));
	x.c = c;
	strlcpy_chk(c->path, path, sizeof(c->path));
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (!sections[i].named)
			apply_defaults(&x, sections[i].sect, (char *)c + sections[i].off);
	if ((fp = fopen(path, "re")) == NULL) {
		log_warn("%s: cannot open", path);
		x.nerr++;
		goto out;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		log_warnx("%s: cannot open: %s", path, strerror(EISDIR));
		x.nerr++;
		fclose(fp);
		goto out;
	}
	/* The file decides where routes point and which endpoints get our
	 * credentials: only its owner (root or us) and root's group may
	 * change it. */
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		log_warnx("%s: refused: %s (mode %04o, owner uid %u, group gid %u); "
			  "chown root and chmod go-w it",
			  path,
			  (st.st_mode & S_IWOTH) ? "writable by anyone"
			  : (st.st_mode & S_IWGRP) && st.st_gid != 0
			      ? "writable by a group other than root"
			      : "owned by another user",
			  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			  (unsigned)st.st_gid);
		x.nerr++;
		fclose(fp);
		goto out;
	}
	parse_lines(&x, fp);
	fclose(fp);
	check_groups(&x);
	check_mackerel(&x);
	check_metrics(&x);
	report_errors(&x);
	if (c->ngroups == 0 && !x.cut) {
		log_warnx("%s: no [group NAME] section: nothing to fail over", path);
		x.nerr++;
	}
out:
	if (x.nerr > 0) {
		cfg_free(c);
		return NULL;
	}
	return c;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ngroups; i++) {
		free(c->groups[i].destinations);
		free(c->groups[i].route_tables);
	}
	free(c->groups);
	for (size_t i = 0; i < c->netmon.nzones; i++)
		free(c->netmon.zones[i].cidrs);
	free(c->netmon.zones);
	free(c);
}

const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

int cfg_valid_id(const char *s, const char *prefix)
{
	size_t plen, n;

	if (s == NULL || prefix == NULL)
		return 0;
	plen = strlen(prefix);
	if (strncmp(s, prefix, plen) != 0 || s[plen] != '-')
		return 0;
	s += plen + 1;
	n = strspn(s, "0123456789abcdef");
	return s[n] == '\0' && (n == 8 || n == 17);
}
