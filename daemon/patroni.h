/* patroni.h — source = patroni: follow the leader key Patroni keeps in etcd
 * (<patroni_namespace>/<patroni_scope>/leader, v3 keyspace) through etcd's
 * v3 HTTP/JSON gateway, and turn what it says into group events: MASTER
 * when it names this node's member_name, BACKUP when it names another
 * member or no leader exists. Event-driven by a watch, with a periodic
 * range read as the level-triggered backstop; the README's "Leader sources:
 * Patroni". */
#ifndef VPCF_PATRONI_H
#define VPCF_PATRONI_H

#include <jansson.h>

#include "daemon/cfg.h"
#include "daemon/group.h"
#include "daemon/kaevent.h"

/* What one etcd answer says about the leader key. */
struct pat_msg {
	long long revision; /* etcd's (watch: the last event's mod_revision) */
	int has_value;	    /* range: always; watch: it had an event */
	int present;	    /* the key exists (range: a kv; watch: last is a PUT) */
	int bad;	    /* present, but its value is not a member name */
	char value[256];    /* the member name when present and not bad */
	int created;	    /* watch: the watch was created */
	int end;	    /* watch: etcd cancelled it (compaction, error) */
	unsigned nevents;   /* watch: events in the message */
	char reason[128];   /* end: etcd's cancel_reason */
};

/* Parse a POST /v3/kv/range answer (untrusted): 0, or -1 when it is not
 * etcd's JSON. */
int pat_parse_range(const char *body, size_t len, struct pat_msg *m);
/* Parse one message of a POST /v3/watch stream (untrusted): 0, or -1 when
 * it is not a watch response (an error object, not JSON). */
int pat_parse_watch(const char *line, size_t len, struct pat_msg *m);

/* What a group presents to etcd (etcd_cert_file/etcd_key_file,
 * etcd_user/etcd_password_file), read from the private files once. */
struct pat_creds {
	char *key_pem; /* the client key, NULL when none; wiped on free */
	size_t key_len;
	char *password;	 /* NULL when no etcd_user */
	char error[300]; /* why a file could not be used ("" = usable) */
};
#define PAT_TOKEN_MAX 2048 /* an etcd auth token (simple or JWT) */

/* Read g's private files into c (the password is registered with the log
 * redactor): 0, or -1 with c->error naming the file and what is wrong. */
int pat_creds_load(const struct cfg_group *g, struct pat_creds *c);
void pat_creds_free(struct pat_creds *c);
/* A POST to endpoint/path with body (a JSON text) carrying g's TLS
 * settings (CA, client certificate) and, when token is not "", the
 * Authorization header. */
struct http_req *pat_request(const struct cfg_group *g, const struct pat_creds *c,
			     const char *endpoint, const char *path, const char *body,
			     const char *token);
/* The body of POST /v3/auth/authenticate (a new string; the caller wipes
 * and frees it). */
char *pat_auth_body(const struct cfg_group *g, const struct pat_creds *c);
/* Parse its answer (untrusted): 0 with the token, or -1. */
int pat_parse_auth(const char *body, size_t len, char *token, size_t tokensz);
/* An etcd error answer (untrusted) as "what etcd said" into out; 1 when
 * it says the token is invalid or expired (authenticate again). */
int pat_etcd_error(const char *body, size_t len, char *out, size_t outsz);
/* What to do about what etcd said (a text to append, "" when none). */
const char *pat_error_hint(const struct cfg_group *g, const char *said);

/* How a follower hands its events on (main.c's on_event). */
typedef enum grp_verdict (*pat_event_fn)(const struct ka_event *ev, const char *source);

/* Follow the leader key of every patroni group of cfg; events go to fn. */
void pat_init(const struct cfg *cfg, pat_event_fn fn);
/* Re-bind to a new configuration: every follower starts again. */
void pat_reload(const struct cfg *cfg);
/* Stop following; groups keep their state. */
void pat_fini(void);
/* Patroni's callback (hooks/notify.c, patroni-callback): every group
 * following scope reads the leader key now; what names the caller, for the
 * log. Returns how many groups follow scope. */
int pat_recheck(const char *scope, const char *what);
/* What the source of group last said, for status (a new object), or NULL
 * when the group does not follow Patroni. */
json_t *pat_status(const char *group);
/* The group's gauges for metrics (a new object: "patroni_etcd_reachable",
 * "patroni_leader_is_self"), or NULL. */
json_t *pat_metrics(const char *group);

#endif
