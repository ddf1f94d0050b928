/* guard_cfg.h — a group's role guard target (`guard = redis://…`,
 * `postgres://…`, `mysql://…`): the local service that must say it is the
 * primary before the group writes routes to this node (daemon/guard.h).
 * Parsed with libc alone: a program that only reads the configuration (the
 * notify hook) need not load the database clients. */
#ifndef VPCF_GUARD_CFG_H
#define VPCF_GUARD_CFG_H

#include <stddef.h>

#define GUARD_URL_MAX 256

enum guard_kind { GUARD_NONE, GUARD_REDIS, GUARD_POSTGRES, GUARD_MYSQL };

/* A guard URL, split. Hosts are IP literals: a name would need a DNS lookup,
 * which the libraries do blocking. */
struct guard_target {
	enum guard_kind kind;
	char host[64]; /* "127.0.0.1", "::1" (no brackets) */
	int port;      /* the service's default when not given */
	char user[64]; /* "" = none (Redis without ACL user) */
	char db[64];   /* PostgreSQL's database ("" = the user's name) */
};

/* Split SCHEME://[USER@]IP[:PORT][/DB] into *t; schemes redis, postgres
 * (postgresql), mysql (mariadb). 0, or -1 with the reason in why. */
int guard_target_parse(const char *url, struct guard_target *t, char *why, size_t whylen);
/* "redis", "postgres", "mysql". */
const char *guard_kind_name(enum guard_kind k);

#endif
