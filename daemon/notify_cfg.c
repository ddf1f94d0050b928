/* notify_cfg.c — [mackerel] and [webhook] (see notify_cfg.h). Only libc and
 * lib/: a program that reads the configuration need not load libcurl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/notify_cfg.h"
#include "lib/util.h"

/* A file holding a secret: it must exist now. Whether it is private is
 * checked by the daemon that reads it (--check, start, reload), never here:
 * the CLI loads this file too, and a key file's mode must not stop the
 * notify hook from finding the daemon. */
static int p_keyfile(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct stat st;

	if (*v == '\0')
		return ini_str(x, k, base, v);
	if (*v != '/') {
		ini_err(x, 0, "%s: '" INI_SHOW "' is not an absolute path", k->name, v);
		return -1;
	}
	if (stat(v, &st) == -1) {
		ini_err(x, 0, "%s: '" INI_SHOW "': %s", k->name, v, strerror(errno));
		return -1;
	}
	((struct ntf_mackerel_cfg *)base)->key_line = ini_line(x);
	return ini_str(x, k, base, v);
}

/* Mackerel's rule for service and role names: 2 to 63 of A-Z a-z 0-9 _ -. */
static int valid_mkr_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-");
	return n >= 2 && n <= 63 && s[n] == '\0';
}

static int p_mkrname(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v != '\0' && !valid_mkr_name(v)) {
		ini_err(x, 0,
			"%s: '" INI_SHOW
			"' is not a Mackerel name (2 to 63 of A-Z a-z 0-9 _ -)",
			k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

/* Role names separated by spaces or commas. */
static int p_roles(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct ntf_mackerel_cfg *m = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	m->nroles = 0;
	for (w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		int dup = 0;

		if (!valid_mkr_name(w)) {
			ini_err(
			    x, 0,
			    "%s: '" INI_SHOW
			    "' is not a Mackerel role name (2 to 63 of A-Z a-z 0-9 _ -)",
			    k->name, w);
			rc = -1;
			continue;
		}
		for (size_t i = 0; i < m->nroles; i++)
			dup |= strcmp(m->roles[i], w) == 0;
		if (dup) {
			ini_err(x, 0, "%s: %s is listed twice", k->name, w);
			rc = -1;
			continue;
		}
		if (m->nroles == NTF_ROLES_MAX) {
			ini_err(x, 0, "%s: more than %d roles", k->name, NTF_ROLES_MAX);
			rc = -1;
			break;
		}
		snprintf(m->roles[m->nroles++], INI_NAME_MAX, "%s", w);
	}
	free(copy);
	return rc;
}

/* query: also refuse ?query and #fragment (a path is appended to the URL). */
static int notify_url(const char *url, int query, char *why, size_t whylen)
{
	struct url u;

	if (url_parse(url, &u, why, whylen) == -1)
		return -1;
	if (u.host[0] == '\0') {
		errf(why, whylen, "no host");
		return -1;
	}
	if (strcmp(u.scheme, "https") != 0 &&
	    (strcmp(u.scheme, "http") != 0 || !url_loopback(&u))) {
		errf(why, whylen,
		     "the scheme must be https (http only to 127.0.0.1, ::1 or "
		     "localhost)");
		return -1;
	}
	if (!query && (u.has_query || u.has_fragment)) {
		errf(why, whylen, "no ?query or #fragment: the API path is appended");
		return -1;
	}
	return 0;
}

int ntf_url_check(const char *url, char *why, size_t whylen)
{
	return notify_url(url, 1, why, whylen);
}

static int url_key(struct ini *x, const struct ini_key *k, void *base, const char *v,
		   int query)
{
	char why[160];

	if (*v != '\0' && notify_url(v, query, why, sizeof(why)) == -1) {
		/* The URL itself may hold a secret (webhook tokens live in the
		 * path): name the key, not the value. */
		ini_err(x, 0, "%s: not a usable URL: %s", k->name, why);
		return -1;
	}
	return ini_str(x, k, base, v);
}

static int p_hookurl(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	return url_key(x, k, base, v, 1);
}

static int p_apiurl(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	return url_key(x, k, base, v, 0);
}

#define MKR(f) INI_FIELD(struct ntf_mackerel_cfg, f)
#define WHK(f) INI_FIELD(struct ntf_webhook_cfg, f)

/* Both may change on reload: the next message uses the new values. */
/* clang-format off */
static const struct ini_key mackerel_keys[] = {
	{"api_key_file", p_keyfile, MKR(api_key_file), .def = NULL},
	{"service", p_mkrname, MKR(service), .def = NULL},
	{"roles", p_roles, MKR(roles), .def = NULL},
	{"api_url", p_apiurl, MKR(api_url), .def = "https://api.mackerelio.com"},
	{NULL},
};

static const struct ini_key webhook_keys[] = {
	{"url", p_hookurl, WHK(url), .def = NULL},
	{NULL},
};
/* clang-format on */

const struct ini_section ntf_mackerel_section = {.word = "mackerel",
						 .keys = mackerel_keys};
const struct ini_section ntf_webhook_section = {.word = "webhook", .keys = webhook_keys};

void ntf_mackerel_check(struct ini *x, const struct ntf_mackerel_cfg *m)
{
	if (m->api_key_file[0] && m->service[0] == '\0')
		ini_err(x, ini_first(x, "mackerel"),
			"[mackerel]: service is required with api_key_file");
}
