/* guard_cfg.c — guard URLs (see guard_cfg.h). Strict: an IP literal for
 * the host, no password (it goes in guard_password_file, a private file, not
 * in a configuration file others may read), no query. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/guard_cfg.h"
#include "lib/util.h"

static const struct {
	const char *scheme;
	enum guard_kind kind;
	int port;
} schemes[] = {
    {"redis", GUARD_REDIS, 6379},	  {"postgres", GUARD_POSTGRES, 5432},
    {"postgresql", GUARD_POSTGRES, 5432}, {"mysql", GUARD_MYSQL, 3306},
    {"mariadb", GUARD_MYSQL, 3306},
};

const char *guard_kind_name(enum guard_kind k)
{
	switch (k) {
	case GUARD_REDIS:
		return "redis";
	case GUARD_POSTGRES:
		return "postgres";
	case GUARD_MYSQL:
		return "mysql";
	case GUARD_NONE:
		break;
	}
	return "none";
}

/* Role, user and database names: what the three services accept unquoted. */
static int valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	return 1;
}

int guard_target_parse(const char *url, struct guard_target *t, char *why, size_t whylen)
{
	const char *p = strstr(url, "://"), *host, *end, *at, *slash;
	size_t i, hl;
	unsigned char buf[16];
	int v6 = 0;

	memset(t, 0, sizeof(*t));
	if (p == NULL) {
		errf(why, whylen, "want redis://, postgres:// or mysql://IP[:PORT]");
		return -1;
	}
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].scheme) == (size_t)(p - url) &&
		    strncmp(url, schemes[i].scheme, (size_t)(p - url)) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		errf(why, whylen,
		     "unknown scheme '%.*s': want redis, postgres (postgresql) or "
		     "mysql (mariadb)",
		     (int)(p - url) > 20 ? 20 : (int)(p - url), url);
		return -1;
	}
	t->kind = schemes[i].kind;
	t->port = schemes[i].port;
	p += 3;
	if (strpbrk(p, "?#")) {
		errf(why, whylen, "no query or fragment is taken");
		return -1;
	}
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		if (memchr(p, ':', (size_t)(at - p))) {
			errf(why, whylen,
			     "no password in the URL: put it in guard_password_file "
			     "(a file of mode 0600 or 0400)");
			return -1;
		}
		if (!valid_name(p, (size_t)(at - p))) {
			errf(why, whylen,
			     "bad user name: want 1 to 63 of A-Z a-z 0-9 _ . -");
			return -1;
		}
		memcpy(t->user, p, (size_t)(at - p));
		p = at + 1;
	}
	host = p;
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		if (rb == NULL) {
			errf(why, whylen, "an IPv6 address needs its closing ']'");
			return -1;
		}
		hl = (size_t)(rb - host - 1);
		p = rb + 1;
		host++;
		v6 = 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		p = colon ? colon : end;
		hl = (size_t)(p - host);
	}
	if (hl == 0 || hl >= sizeof(t->host)) {
		errf(why, whylen, "no host: want SCHEME://[USER@]IP[:PORT]");
		return -1;
	}
	memcpy(t->host, host, hl);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, t->host, buf) != 1) {
		errf(why, whylen,
		     "host '%s' is not an IP address (%s): a name would need a DNS "
		     "lookup, which would block the daemon",
		     t->host, v6 ? "IPv6 in [ ]" : "IPv4, or IPv6 in [ ]");
		return -1;
	}
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || e != end || port < 1 || port > 65535 || p[1] == '+' ||
		    p[1] == '-') {
			errf(why, whylen, "bad port: want 1 to 65535");
			return -1;
		}
		t->port = (int)port;
	} else if (p != end) {
		errf(why, whylen, "unexpected '%c' after the host", *p);
		return -1;
	}
	if (slash && slash[1] != '\0') {
		if (t->kind != GUARD_POSTGRES) {
			errf(why, whylen, "%s takes no path (a database) in the URL",
			     guard_kind_name(t->kind));
			return -1;
		}
		if (!valid_name(slash + 1, strlen(slash + 1))) {
			errf(why, whylen,
			     "bad database name: want 1 to 63 of A-Z a-z 0-9 _ . -");
			return -1;
		}
		strlcpy_chk(t->db, slash + 1, sizeof(t->db));
	}
	if (t->kind != GUARD_REDIS && t->user[0] == '\0') {
		errf(why, whylen,
		     "%s needs a user: %s://USER@%s (a role that may log in; it needs "
		     "no privileges)",
		     guard_kind_name(t->kind), guard_kind_name(t->kind), t->host);
		return -1;
	}
	return 0;
}
