/* patroni.c — follow Patroni's leader key in etcd (see patroni.h).
 *
 * Per patroni group, on the daemon's loop through lib/http.c:
 *  - a range read (POST /v3/kv/range) every PAT_POLL_MS: the level-triggered
 *    backstop, and the reachability check (its answer or its failure);
 *  - after a good read, a watch (POST /v3/watch from the next revision), a
 *    long-lived response of newline-separated JSON objects streamed through
 *    http_req_stream, so a new leader is seen as soon as etcd has it;
 *  - on a failure, the next endpoint, after a backoff (lib/backoff.c);
 *  - with etcd_user, first POST /v3/auth/authenticate on the endpoint in
 *    use (etcd's simple tokens are the issuing member's own), and its
 *    token in the Authorization header of the read and the watch; when
 *    etcd says a token that worked is no longer valid (expired, the auth
 *    store changed), authenticate again at once; a token refused as soon
 *    as it was issued is a failure like any other (the backoff). The
 *    password is registered with the log redactor; the token is never put
 *    in a log line nor registered (the redactor's slots are few, and a
 *    rotating token would push out the AWS secrets);
 *  - with etcd_cert_file, the client certificate on every request, its key
 *    read once from a private file (creds_read_private) and handed to curl
 *    from memory, so the file checked is the file used.
 * Every answer becomes a KA_LEADER event addressed to the group by its own
 * name (source "patroni") on the path keepalived's events take; repeating
 * a state is a duplicate the groups ignore.
 *
 * With no answer from any endpoint for etcd_step_down_after, a group with
 * etcd_unreachable = step_down is told BACKUP; with keep (the default) it
 * keeps its state and is held (grp_hold: no pass, no write) after
 * PAT_HOLD_MS without an answer, until etcd answers again. The README's
 * "Leader sources: Patroni" argues both. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/patroni.h"
#include "lib/b64.h"
#include "lib/backoff.h"
#include "lib/ev.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/creds.h"

#define PAT_POLL_MS	  5000 /* the backstop read's period */
#define PAT_REQ_MS	  2000 /* a range read's deadline, connect included */
#define PAT_RETRY_BASE_MS 200
#define PAT_RETRY_CAP_MS  PAT_POLL_MS
#define PAT_BODY_MAX	  (64 * 1024)  /* a range answer: one key */
#define PAT_LINE_MAX	  (256 * 1024) /* one watch message */
#define PAT_VALUE_MAX	  256	       /* a member name */
/* keep: silent for a poll and a request's deadline = unreachable */
#define PAT_HOLD_MS (PAT_POLL_MS + PAT_REQ_MS)
#define PAT_KEY_MAX (CFG_PATRONI_NS_MAX + 2 * INI_NAME_MAX + 16)

struct pat {
	const struct cfg_group *cfg;
	char key[PAT_KEY_MAX];
	char key_b64[PAT_KEY_MAX * 4 / 3 + 8];
	size_t cur; /* the endpoint in use */
	struct http_req *range, *watch;
	uint64_t timer; /* the next range read */
	struct backoff retry;
	struct buf line;	    /* the watch stream's unfinished message */
	long long revision;	    /* etcd's, of the last read or event */
	int known;		    /* the key has been read at least once */
	char leader[PAT_VALUE_MAX]; /* "" = no leader */
	uint64_t last_ok;	    /* ev_now() of etcd's last answer */
	int64_t last_ok_wall, changed_wall;
	char endpoint[URL_MAX]; /* that answered last */
	char error[512];	/* the last failure, "" after an answer */
	int stepped_down;
	int held;     /* keep: the group is held (grp_hold) */
	int watching; /* the watch is established */
	unsigned long reads, events, errors, auths;
	unsigned long callbacks; /* Patroni's callbacks (patroni-callback) */
	struct pat_creds creds;
	struct http_req *auth;	   /* POST /v3/auth/authenticate under way */
	char token[PAT_TOKEN_MAX]; /* "" = none; valid on endpoint token_ep */
	size_t token_ep;
	int token_used; /* a read succeeded with it */
};

static struct pat **pats;
static size_t npats;
static pat_event_fn on_event;

static void range_start(struct pat *p);
static void watch_start(struct pat *p, long long from);

static void on_timer(void *arg)
{
	struct pat *p = arg;

	p->timer = 0;
	range_start(p);
}

static void schedule(struct pat *p, uint64_t ms)
{
	if (p->timer)
		ev_timer_cancel(p->timer);
	p->timer = ev_timer_add(ms, on_timer, p);
}

/* Tell the group what the key says now (or, stepping down, BACKUP). */
static void emit(struct pat *p, enum ka_state st)
{
	struct ka_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = KA_LEADER;
	snprintf(ev.name, sizeof(ev.name), "%s", p->cfg->name);
	ev.state = st;
	ev.mono = ev_now();
	ev.wall = ev_wall();
	on_event(&ev, "patroni");
}

/* The key's value (NULL: no key, no leader) at revision rev. */
static void saw(struct pat *p, const char *value, long long rev, const char *how)
{
	const char *v = value ? value : "";

	if (!p->known || strcmp(p->leader, v) != 0) {
		log_info("group %s: Patroni leader %s%s%s (etcd revision %lld, %s %s)",
			 p->cfg->name, *v ? "'" : "", *v ? v : "none", *v ? "'" : "", rev,
			 how, p->endpoint);
		snprintf(p->leader, sizeof(p->leader), "%s", v);
		p->changed_wall = ev_wall();
	}
	p->known = 1;
	if (rev > p->revision)
		p->revision = rev;
	/* No leader: Patroni has no primary, and ours, if it was, has been or
	 * is being demoted; BACKUP stops re-asserting but writes nothing, so
	 * the routes stay where they are until the next leader takes them. */
	emit(p, strcmp(p->leader, p->cfg->member_name) == 0 ? KA_MASTER : KA_BACKUP);
	if (p->held) { /* after the event: a new leader is not re-checked first */
		p->held = 0;
		grp_hold(p->cfg->name, 0);
	}
}

static void contact(struct pat *p)
{
	p->last_ok = ev_now();
	p->last_ok_wall = ev_wall();
	snprintf(p->endpoint, sizeof(p->endpoint), "%s", p->cfg->etcd_endpoints[p->cur]);
	if (p->stepped_down || p->error[0])
		log_info("group %s: etcd answers again (%s)", p->cfg->name, p->endpoint);
	p->error[0] = '\0';
	p->stepped_down = 0;
}

static void watch_stop(struct pat *p)
{
	http_req_cancel(p->watch);
	p->watch = NULL;
	p->watching = 0;
	buf_reset(&p->line);
}

/* A failed exchange: the next endpoint, after a backoff; and, if etcd has
 * not answered for etcd_step_down_after, step down. */
static void failed(struct pat *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void failed(struct pat *p, const char *fmt, ...)
{
	char msg[sizeof(p->error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (strcmp(msg, p->error) != 0)
		log_warnx("group %s: etcd %s: %s", p->cfg->name,
			  p->cfg->etcd_endpoints[p->cur], msg);
	snprintf(p->error, sizeof(p->error), "%s", msg);
	p->cur = (p->cur + 1) % p->cfg->netcd_endpoints;
	watch_stop(p);
	uint64_t silent = ev_now() - p->last_ok;
	if (p->cfg->etcd_unreachable == CFG_ETCD_KEEP && !p->held &&
	    silent >= PAT_HOLD_MS) {
		p->held = 1;
		grp_hold(p->cfg->name, 1);
	}
	if (p->cfg->etcd_unreachable == CFG_ETCD_STEP_DOWN && !p->stepped_down &&
	    silent >= p->cfg->etcd_step_down_after_ms) {
		log_warnx("group %s: no etcd endpoint has answered for %llu s "
			  "(etcd_unreachable = step_down): stepping down to BACKUP; "
			  "routes are left as they are",
			  p->cfg->name, (unsigned long long)silent / 1000);
		p->stepped_down = 1;
		emit(p, KA_BACKUP);
	}
	uint64_t d = backoff_next(&p->retry, ev_now());
	schedule(p, d < PAT_RETRY_CAP_MS ? d : PAT_RETRY_CAP_MS);
}

/* etcd's int64 fields are JSON strings; 0 when absent. */
static long long i64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* A kv's value decoded into m->value; m->bad if it is not a member name
 * (printable, no NUL). */
static void kv_value(json_t *kv, struct pat_msg *m)
{
	const char *v = json_string_value(json_object_get(kv, "value"));
	int n = v ? b64_decode(v, m->value, sizeof(m->value)) : -1;

	m->present = 1;
	m->bad = n <= 0 || memchr(m->value, '\0', (size_t)n) != NULL;
	for (int i = 0; !m->bad && i < n; i++)
		if ((unsigned char)m->value[i] < ' ' ||
		    (unsigned char)m->value[i] == 0x7f)
			m->bad = 1;
	if (m->bad)
		m->value[0] = '\0';
}

int pat_parse_range(const char *body, size_t len, struct pat_msg *m)
{
	json_t *o = json_loadb(body, len, 0, NULL), *kvs;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(json_object_get(o, "header")))
		goto out;
	m->revision = i64(json_object_get(o, "header"), "revision");
	kvs = json_object_get(o, "kvs");
	m->has_value = 1;
	if (json_array_size(kvs) > 0)
		kv_value(json_array_get(kvs, 0), m);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int pat_parse_watch(const char *line, size_t len, struct pat_msg *m)
{
	json_t *o = json_loadb(line, len, 0, NULL), *res, *e;
	size_t i;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	res = json_object_get(o, "result");
	if (!json_is_object(res))
		goto out;
	rc = 0;
	m->revision = i64(json_object_get(res, "header"), "revision");
	if (json_is_true(json_object_get(res, "canceled")) ||
	    i64(res, "compact_revision") != 0) {
		const char *why =
		    json_string_value(json_object_get(res, "cancel_reason"));
		m->end = 1;
		snprintf(m->reason, sizeof(m->reason), "%s",
			 why && *why ? why : "compacted or cancelled");
		goto out;
	}
	m->created = json_is_true(json_object_get(res, "created"));
	/* Only the last event matters: it is the key's value now. */
	json_array_foreach(json_object_get(res, "events"), i, e)
	{
		json_t *kv = json_object_get(e, "kv");
		const char *type = json_string_value(json_object_get(e, "type"));

		m->nevents++;
		m->has_value = 1;
		m->revision = i64(kv, "mod_revision");
		m->present = m->bad = 0;
		m->value[0] = '\0';
		/* PUT is the enum's zero: the gateway leaves it out. */
		if (!type || strcmp(type, "DELETE") != 0)
			kv_value(kv, m);
	}
out:
	json_decref(o);
	return rc;
}

int pat_creds_load(const struct cfg_group *g, struct pat_creds *c)
{
	memset(c, 0, sizeof(*c));
	if (g->etcd_key_file[0]) {
		if (creds_read_private(g->etcd_key_file, "etcd_key_file", &c->key_pem,
				       c->error, sizeof(c->error)) == -1)
			goto fail;
		c->key_len = strlen(c->key_pem);
	}
	if (g->etcd_password_file[0] &&
	    creds_read_password(g->etcd_password_file, "etcd_password_file", &c->password,
				c->error, sizeof(c->error)) == -1)
		goto fail;
	return 0;
fail:
	pat_creds_free(c);
	return -1;
}

void pat_creds_free(struct pat_creds *c)
{
	if (c->key_pem) {
		explicit_bzero(c->key_pem, c->key_len);
		free(c->key_pem);
	}
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	c->key_pem = c->password = NULL;
	c->key_len = 0;
}

struct http_req *pat_request(const struct cfg_group *g, const struct pat_creds *c,
			     const char *endpoint, const char *path, const char *body,
			     const char *token)
{
	char url[URL_MAX + 32];

	snprintf(url, sizeof(url), "%s%s", endpoint, path);
	struct http_req *r = http_req_new("POST", url);
	http_req_header(r, "Content-Type: application/json");
	if (token && *token) {
		/* etcd's gateway takes the bare token, not "Bearer ..." */
		char *h = xasprintf("Authorization: %s", token);
		http_req_header(r, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	http_req_body(r, body, strlen(body));
	if (g->etcd_ca_file[0])
		http_req_ca(r, g->etcd_ca_file);
	if (g->etcd_cert_file[0] && c->key_pem)
		http_req_client_cert(r, g->etcd_cert_file, c->key_pem, c->key_len);
	return r;
}

char *pat_auth_body(const struct cfg_group *g, const struct pat_creds *c)
{
	json_t *o = json_pack("{s:s, s:s}", "name", g->etcd_user, "password",
			      c->password ? c->password : "");
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (text == NULL)
		fatalx("json_dumps failed");
	return text;
}

int pat_parse_auth(const char *body, size_t len, char *token, size_t tokensz)
{
	json_t *o = json_loadb(body, len, 0, NULL);
	const char *t = json_string_value(json_object_get(o, "token"));
	int rc = -1;

	*token = '\0';
	/* it goes into a header: one printable word, capped */
	if (t == NULL || *t == '\0' || strlen(t) >= tokensz)
		goto out;
	for (const char *q = t; *q; q++)
		if (*q <= ' ' || *q > '~')
			goto out;
	snprintf(token, tokensz, "%s", t);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int pat_etcd_error(const char *body, size_t len, char *out, size_t outsz)
{
	json_t *o = json_loadb(body, len, 0, NULL);
	const char *msg = json_string_value(json_object_get(o, "message"));
	json_t *code = json_object_get(o, "code");
	int again = 0;
	size_t i;

	if (msg == NULL)
		msg = json_string_value(json_object_get(o, "error"));
	if (msg == NULL) /* not etcd's error object: the start of the body */
		snprintf(out, outsz, "%.*s", (int)(len < 160 ? len : 160), body);
	else
		snprintf(out, outsz, "%s", msg);
	for (i = 0; out[i]; i++) /* a log line stays one line */
		if ((unsigned char)out[i] < ' ' || (unsigned char)out[i] == 0x7f)
			out[i] = '?';
	/* gRPC's Unauthenticated: "invalid auth token"; or the auth store
	 * changed under the token ("revision of auth store is old") */
	if (msg && ((json_is_integer(code) && json_integer_value(code) == 16) ||
		    strstr(msg, "invalid auth token") != NULL ||
		    strstr(msg, "auth store is old") != NULL))
		again = 1;
	json_decref(o);
	return again;
}

static struct http_req *request(struct pat *p, const char *path, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct http_req *r =
	    pat_request(p->cfg, &p->creds, p->cfg->etcd_endpoints[p->cur], path, text,
			p->token[0] && p->token_ep == p->cur ? p->token : "");

	free(text);
	json_decref(body);
	return r;
}

const char *pat_error_hint(const struct cfg_group *g, const char *said)
{
	if (!g->etcd_user[0] && strstr(said, "user name is empty"))
		return " (etcd has authentication enabled: set etcd_user and "
		       "etcd_password_file)";
	if (strstr(said, "CommonName of client"))
		return " (with authentication enabled, etcd's gateway refuses a "
		       "client certificate that has a CommonName: use one without a "
		       "CommonName for etcd_cert_file)";
	return "";
}

/* Why an HTTP answer that is not 200 was refused: etcd's message, and
 * what to do when it asks for a user we were not given. */
static void refused(struct pat *p, const char *what, struct http_req *r)
{
	char said[240];
	size_t len;
	const char *text = http_req_body_text(r, &len);

	pat_etcd_error(text, len, said, sizeof(said));
	failed(p, "%s: HTTP %ld: %s%s", what, http_req_status(r), said,
	       pat_error_hint(p->cfg, said));
}

static void auth_done(struct http_req *r, void *arg)
{
	struct pat *p = arg;
	const char *text;
	size_t len;

	p->auth = NULL;
	p->auths++;
	text = http_req_body_text(r, &len);
	if (http_req_error(r)[0])
		failed(p, "authentication: %s", http_req_error(r));
	else if (http_req_status(r) != 200) {
		char what[INI_NAME_MAX + 64];
		snprintf(what, sizeof(what), "authentication as '%s' refused",
			 p->cfg->etcd_user);
		refused(p, what, r);
	} else if (pat_parse_auth(text, len, p->token, sizeof(p->token)) == -1)
		failed(p, "authentication: the answer has no token etcd's way");
	else {
		p->token_ep = p->cur;
		p->token_used = 0;
		log_debug("group %s: authenticated to etcd %s as '%s'", p->cfg->name,
			  p->cfg->etcd_endpoints[p->cur], p->cfg->etcd_user);
		range_start(p);
	}
	http_req_free(r);
}

static void auth_start(struct pat *p)
{
	char *body = pat_auth_body(p->cfg, &p->creds);

	p->token[0] = '\0';
	p->auth = pat_request(p->cfg, &p->creds, p->cfg->etcd_endpoints[p->cur],
			      "/v3/auth/authenticate", body, "");
	explicit_bzero(body, strlen(body));
	free(body);
	http_req_limit(p->auth, PAT_BODY_MAX);
	http_req_timeout(p->auth, PAT_REQ_MS);
	if (http_req_start(p->auth, auth_done, p) == -1) {
		http_req_free(p->auth);
		p->auth = NULL;
		failed(p, "authentication: cannot start the request");
	}
}

/* A token etcd no longer takes: 1 when it had worked (authenticate again
 * at once), 0 when it was fresh (a failure: the backoff bounds the
 * loop). Either way it is dropped. */
static int token_lost(struct pat *p, const char *where, const char *said)
{
	int again = p->token_used;

	p->token[0] = '\0';
	p->token_used = 0;
	if (again)
		log_info("group %s: etcd %s: the auth token is no longer valid "
			 "(%s: %s); authenticating again",
			 p->cfg->name, p->cfg->etcd_endpoints[p->cur], where, said);
	return again;
}

static void range_done(struct http_req *r, void *arg)
{
	struct pat *p = arg;
	struct pat_msg m;
	const char *text;
	size_t len;

	p->range = NULL;
	p->reads++;
	if (http_req_status(r) != 200) {
		char said[240];
		text = http_req_body_text(r, &len);
		if (http_req_error(r)[0])
			failed(p, "range read: %s", http_req_error(r));
		else if (p->token[0] &&
			 pat_etcd_error(text, len, said, sizeof(said)) == 1 &&
			 token_lost(p, "range read", said))
			range_start(p); /* authenticates first */
		else
			refused(p, "range read", r);
		goto out;
	}
	p->token_used = p->token[0] != '\0';
	text = http_req_body_text(r, &len);
	if (pat_parse_range(text, len, &m) == -1) {
		failed(p, "range read: the answer is not etcd's JSON");
		goto out;
	}
	if (m.bad) {
		failed(p, "range read: the leader key's value is not a member name");
		goto out;
	}
	contact(p);
	backoff_init(&p->retry, PAT_RETRY_BASE_MS, PAT_RETRY_CAP_MS, UINT64_MAX);
	saw(p, m.present ? m.value : NULL, m.revision, "read from");
	if (p->watch == NULL)
		watch_start(p, m.revision + 1);
	schedule(p, PAT_POLL_MS);
out:
	http_req_free(r);
}

static void range_start(struct pat *p)
{
	if (p->range || p->auth)
		return;
	if (p->creds.error[0]) { /* a file that cannot be used: nothing to send */
		failed(p, "%s", p->creds.error);
		return;
	}
	if (p->cfg->etcd_user[0] && (!p->token[0] || p->token_ep != p->cur)) {
		auth_start(p); /* then the read */
		return;
	}
	p->range = request(p, "/v3/kv/range", json_pack("{s:s}", "key", p->key_b64));
	http_req_limit(p->range, PAT_BODY_MAX);
	http_req_timeout(p->range, PAT_REQ_MS);
	if (http_req_start(p->range, range_done, p) == -1) {
		http_req_free(p->range);
		p->range = NULL;
		failed(p, "range read: cannot start the request");
	}
}

/* One watch message; -1 ends the watch (cancelled, compacted, an error). */
static int watch_message(struct pat *p, const char *line, size_t len)
{
	struct pat_msg m;

	if (pat_parse_watch(line, len, &m) == -1) {
		log_warnx("group %s: etcd watch: %.200s", p->cfg->name, line);
		return -1;
	}
	if (m.end) {
		if (p->token[0] && (strstr(m.reason, "invalid auth token") ||
				    strstr(m.reason, "auth store is old"))) {
			if (!token_lost(p, "watch", m.reason))
				log_warnx("group %s: etcd %s refused the watch with a "
					  "new token: %s",
					  p->cfg->name, p->cfg->etcd_endpoints[p->cur],
					  m.reason);
		} else
			log_info("group %s: etcd ended the watch (%s); reading again",
				 p->cfg->name, m.reason);
		return -1;
	}
	if (m.created) {
		p->watching = 1;
		log_debug("group %s: watching %s on %s", p->cfg->name, p->key,
			  p->cfg->etcd_endpoints[p->cur]);
	}
	contact(p);
	p->events += m.nevents;
	if (!m.has_value)
		return 0;
	if (m.bad)
		log_warnx("group %s: etcd watch: the leader key's value is not a "
			  "member name; ignored",
			  p->cfg->name);
	else
		saw(p, m.present ? m.value : NULL, m.revision, "watch on");
	return 0;
}

static int watch_chunk(struct http_req *r, const char *data, size_t len, void *arg)
{
	struct pat *p = arg;
	char *nl;

	if (http_req_status_now(r) != 200)
		return buf_append(&p->line, data, len) == -1 ? -1 : 0;
	if (buf_append(&p->line, data, len) == -1) {
		log_warnx("group %s: etcd watch: a message over %d bytes", p->cfg->name,
			  PAT_LINE_MAX);
		return -1;
	}
	while (p->line.len > 0 && (nl = memchr(p->line.data, '\n', p->line.len))) {
		size_t n = (size_t)(nl - p->line.data);
		int rc = n ? watch_message(p, p->line.data, n) : 0;
		memmove(p->line.data, nl + 1, p->line.len - n - 1);
		p->line.len -= n + 1;
		if (rc == -1)
			return -1;
	}
	return 0;
}

static void watch_done(struct http_req *r, void *arg)
{
	struct pat *p = arg;
	long st = http_req_status(r);

	p->watch = NULL;
	p->watching = 0;
	if (http_req_error(r)[0] && st == 0)
		log_info("group %s: etcd watch on %s ended: %s; reading again",
			 p->cfg->name, p->cfg->etcd_endpoints[p->cur], http_req_error(r));
	else if (st != 200) {
		char said[240];
		if (pat_etcd_error(p->line.data ? p->line.data : "", p->line.len, said,
				   sizeof(said)) == 1 &&
		    p->token[0])
			token_lost(p, "watch", said);
		log_warnx("group %s: etcd watch on %s: HTTP %ld: %s", p->cfg->name,
			  p->cfg->etcd_endpoints[p->cur], st, said);
	}
	buf_reset(&p->line);
	http_req_free(r);
	/* The backstop read restarts it, at once if nothing was wrong. */
	uint64_t d = backoff_next(&p->retry, ev_now());
	schedule(p, d < PAT_RETRY_CAP_MS ? d : PAT_RETRY_CAP_MS);
}

static void watch_start(struct pat *p, long long from)
{
	p->watch = request(p, "/v3/watch",
			   json_pack("{s:{s:s, s:I}}", "create_request", "key",
				     p->key_b64, "start_revision", (json_int_t)from));
	http_req_stream(p->watch, watch_chunk);
	buf_reset(&p->line);
	if (http_req_start(p->watch, watch_done, p) == -1) {
		http_req_free(p->watch);
		p->watch = NULL;
	}
}

static void start(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct cfg_group *g = &cfg->groups[i];
		if (g->source != CFG_SRC_PATRONI)
			continue;
		struct pat *p = xcalloc(1, sizeof(*p));
		p->cfg = g;
		snprintf(p->key, sizeof(p->key), "%s/%s/leader",
			 strcmp(g->patroni_namespace, "/") == 0 ? ""
								: g->patroni_namespace,
			 g->patroni_scope);
		b64_encode(p->key, strlen(p->key), p->key_b64, sizeof(p->key_b64));
		buf_init(&p->line, PAT_LINE_MAX);
		backoff_init(&p->retry, PAT_RETRY_BASE_MS, PAT_RETRY_CAP_MS, UINT64_MAX);
		p->last_ok = ev_now(); /* step_down counts from the start */
		if (pat_creds_load(g, &p->creds) == -1)
			log_warnx("group %s: %s: the group cannot reach etcd", g->name,
				  p->creds.error);
		pats = xgrow(pats, npats, sizeof(*pats));
		pats[npats++] = p;
		log_info("group %s: following Patroni's leader key %s in etcd (%zu "
			 "endpoints) as member '%s'",
			 g->name, p->key, g->netcd_endpoints, g->member_name);
		range_start(p);
	}
}

void pat_init(const struct cfg *cfg, pat_event_fn fn)
{
	on_event = fn;
	start(cfg);
}

/* Stop every follower; release its group's hold when release is set. */
static void stop(int release)
{
	for (size_t i = 0; i < npats; i++) {
		struct pat *p = pats[i];
		if (p->held && release)
			grp_hold(p->cfg->name, 0);
		if (p->timer)
			ev_timer_cancel(p->timer);
		http_req_cancel(p->range);
		http_req_cancel(p->auth);
		watch_stop(p);
		pat_creds_free(&p->creds);
		explicit_bzero(p->token, sizeof(p->token));
		buf_free(&p->line);
		free(p);
	}
	free(pats);
	pats = NULL;
	npats = 0;
}

void pat_fini(void)
{
	stop(1);
}

void pat_reload(const struct cfg *cfg)
{
	char(*held)[INI_NAME_MAX] = NULL;
	size_t nheld = 0, i, j;

	/* A held group stays held across a reload until etcd answers: a
	 * release in between would re-check (and write) blind. */
	for (i = 0; i < npats; i++)
		if (pats[i]->held) {
			held = xgrow(held, nheld, sizeof(*held));
			snprintf(held[nheld++], INI_NAME_MAX, "%s", pats[i]->cfg->name);
		}
	stop(0);
	start(cfg);
	for (i = 0; i < nheld; i++) {
		for (j = 0; j < npats && strcmp(pats[j]->cfg->name, held[i]) != 0; j++)
			;
		if (j < npats)
			pats[j]->held = 1;
		else
			grp_hold(held[i], 0);
	}
	free(held);
}

int pat_recheck(const char *scope, const char *what)
{
	int n = 0;

	for (size_t i = 0; i < npats; i++) {
		struct pat *p = pats[i];
		if (strcmp(p->cfg->patroni_scope, scope) != 0)
			continue;
		log_info("group %s: %s: reading the leader key now", p->cfg->name, what);
		p->callbacks++;
		range_start(p); /* nothing when a read is already under way */
		n++;
	}
	return n;
}

json_t *pat_metrics(const char *group)
{
	for (size_t i = 0; i < npats; i++) {
		const struct pat *p = pats[i];
		if (strcmp(p->cfg->name, group) == 0)
			return json_pack(
			    "{s:i, s:o}", "patroni_etcd_reachable",
			    p->known && p->error[0] == '\0', "patroni_leader_is_self",
			    p->known ? json_integer(
					   strcmp(p->leader, p->cfg->member_name) == 0)
				     : json_null());
	}
	return NULL;
}

json_t *pat_status(const char *group)
{
	for (size_t i = 0; i < npats; i++) {
		const struct pat *p = pats[i];
		if (strcmp(p->cfg->name, group) != 0)
			continue;
		json_t *o = json_pack(
		    "{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s, s:I, s:I, s:I, s:b}",
		    "key", p->key, "member_name", p->cfg->member_name, "endpoint",
		    p->endpoint, "revision", (json_int_t)p->revision, "last_answer",
		    (json_int_t)p->last_ok_wall, "leader_since",
		    (json_int_t)p->changed_wall, "error", p->error, "watching",
		    p->watching, "etcd_unreachable",
		    p->cfg->etcd_unreachable == CFG_ETCD_KEEP ? "keep" : "step_down",
		    "reads", (json_int_t)p->reads, "events", (json_int_t)p->events,
		    "errors", (json_int_t)p->errors, "stepped_down", p->stepped_down);
		json_object_set_new(o, "held", json_boolean(p->held));
		json_object_set_new(o, "etcd_user", json_string(p->cfg->etcd_user));
		json_object_set_new(o, "client_cert",
				    json_boolean(p->cfg->etcd_cert_file[0] != '\0'));
		json_object_set_new(o, "authentications",
				    json_integer((json_int_t)p->auths));
		json_object_set_new(o, "callbacks",
				    json_integer((json_int_t)p->callbacks));
		json_object_set_new(o, "leader",
				    !p->known	   ? json_null()
				    : p->leader[0] ? json_string(p->leader)
						   : json_string(""));
		return o;
	}
	return NULL;
}
